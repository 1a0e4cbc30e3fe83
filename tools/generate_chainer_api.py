"""Generate netport/migrate/chainer/api_v*.json from installed Chainer versions.

The migrator needs two facts about every Chainer version it reads or writes, and both are taken
from the library itself rather than typed by hand (tf_upgrade_v2 does the same for its reorder
tables):

* the call signature of every public callable in the namespaces user code touches, so that
  positional arguments can be normalised to keywords with the *source* version's meaning;
* which public names and which methods of the core classes exist, so the residual sweep can list
  what is left that the target version lacks;
* where each public class and function is defined, so that one reached through its defining module
  (``chainer.links.connection.convolution_2d.Convolution2D``) is known by its public name.

Run it once per environment, from the repository root:

    .venv-legacy/bin/python   tools/generate_chainer_api.py   # writes api_v1_24.json
    .venv-chainer5/bin/python tools/generate_chainer_api.py   # writes api_v5_4.json
    .venv/bin/python          tools/generate_chainer_api.py   # writes api_v7_8.json
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
import warnings
from pathlib import Path

warnings.simplefilter("ignore")
import chainer  # noqa: E402

NAMESPACES = [
    "chainer", "chainer.functions", "chainer.links", "chainer.optimizers", "chainer.optimizer",
    "chainer.initializers", "chainer.serializers", "chainer.cuda", "chainer.backends.cuda",
    "chainer.optimizer_hooks", "chainer.training", "chainer.training.extensions",
    "chainer.iterators", "chainer.datasets", "chainer.dataset", "chainer.function_hooks",
    "chainer.utils", "chainer.reporter", "chainer.variable", "chainer.link",
]
CLASSES = {
    "Variable": "chainer.Variable", "Link": "chainer.Link", "Chain": "chainer.Chain",
    "ChainList": "chainer.ChainList", "Optimizer": "chainer.Optimizer",
    "GradientMethod": "chainer.optimizer.GradientMethod",
}


def parameters(obj):
    target = obj.__init__ if inspect.isclass(obj) else obj
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return None
    params = []
    for index, param in enumerate(signature.parameters.values()):
        if inspect.isclass(obj) and index == 0 and param.name == "self":
            continue
        params.append([param.name, param.kind.name, param.default is not inspect.Parameter.empty])
    return params


def resolve(dotted):
    module, _, attr = dotted.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def main() -> int:
    version = chainer.__version__
    names, modules, signatures = {}, {}, {}
    defined_at = {}  # where a public class or function is defined -> the public name (the first namespace)
    for namespace in NAMESPACES:
        try:
            module = importlib.import_module(namespace)
        except Exception:  # the namespace does not exist in this version
            continue
        public = sorted(n for n in dir(module) if not n.startswith("_"))
        names[namespace] = public
        modules[namespace] = [n for n in public if inspect.ismodule(getattr(module, n))]
        for name in public:
            obj = getattr(module, name)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and getattr(obj, "__module__", None):
                definition = f"{obj.__module__}.{obj.__qualname__}"
                if definition != f"{namespace}.{name}" and definition.startswith("chainer."):
                    # the namespace that holds the defining module wins (chainer.links over the
                    # chainer.functions alias of a link); else the first that exports it
                    current = defined_at.get(definition)
                    if current is None or (definition.startswith(namespace + ".")
                                           and not definition.startswith(current.rpartition(".")[0] + ".")):
                        defined_at[definition] = f"{namespace}.{name}"
            if callable(obj) and not inspect.ismodule(obj):
                params = parameters(obj)
                if params is not None:
                    signatures[f"{namespace}.{name}"] = params
    methods = {}
    for short, dotted in CLASSES.items():
        try:
            cls = resolve(dotted)
        except Exception:
            continue
        methods[short] = sorted(n for n in dir(cls) if not n.startswith("_"))
        for name in methods[short]:
            attr = getattr(cls, name)
            if inspect.isfunction(attr):
                params = parameters(attr)
                signatures[f"{dotted}.{name}"] = params[1:] if params and params[0][0] == "self" else params
    tag = "_".join(version.split(".")[:2])
    out = Path(__file__).resolve().parents[1] / "netport" / "migrate" / "chainer" / f"api_v{tag}.json"
    out.write_text(json.dumps({"version": version, "names": names, "modules": modules, "methods": methods,
                               "signatures": signatures, "defined_at": defined_at}, indent=0, sort_keys=True) + "\n")
    print(f"wrote {out} ({len(signatures)} signatures)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
