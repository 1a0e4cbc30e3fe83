"""What the source (Chainer 1.24) and target (Chainer 5.4 and 7.8) APIs look like.

Signatures and public names come from ``api_v*.json``, generated from the installed libraries by
``tools/generate_chainer_api.py``; the hand-written tables below hold only what no signature
says (renames and the meaning of removed arguments).
"""

from __future__ import annotations

import functools
import json
from importlib import resources

SOURCE_VERSION = "1_24"
TARGET_VERSIONS = ("5_4", "7_8")  # migrated code must run on both

# v1 parameterised-function aliases and moved classes: old qualified name -> new qualified name.
RENAMES = {
    **{f"chainer.functions.{name}": f"chainer.links.{name}" for name in (
        "Linear", "Convolution2D", "DilatedConvolution2D", "Deconvolution2D", "EmbedID",
        "BatchNormalization", "Bilinear", "PReLU", "Inception", "InceptionBN", "NegativeSampling",
        "BinaryHierarchicalSoftmax", "LSTM", "GRU", "Maxout", "MLPConvolution2D")},
    **{f"chainer.optimizer.{name}": f"chainer.optimizer_hooks.{name}" for name in (
        "WeightDecay", "Lasso", "GradientClipping", "GradientHardClipping", "GradientNoise")},
    "chainer.FunctionSet": "chainer.Chain",
    "chainer.function_set.FunctionSet": "chainer.Chain",
}
# Modules that moved; every name under them moves with them.
MODULE_RENAMES = {"chainer.cuda": "chainer.backends.cuda", "chainer.functions.caffe": "chainer.links.caffe"}

# Keyword arguments removed in v2 whose value only chose cuDNN, or that Chainer 5 took over
# into a configuration entry; handled by the keyword rules.
CONFIG_KEYWORDS = {"use_cudnn": "use_cudnn", "deterministic": "cudnn_deterministic"}

# Keywords that Chainer 2+ callables taking **kwargs reject (argument.check_unexpected_kwargs
# raises ValueError for them, or they fall through to a TypeError).
KWARGS_REJECTED = {"train", "test", "volatile", "use_cudnn", "wscale", "bias", "deterministic"}

# v1 modules removed in Chainer 2 (module listings depend on import order, so they are named
# here): the volatile flags and FunctionSet. (The Caffe importer's old home moved: MODULE_RENAMES.)
REMOVED_MODULES = ("chainer.flag", "chainer.function_set")

# Method names that exist on v1 Optimizer/Link/Variable objects but not in Chainer 5+, and that
# no other library commonly uses (so a call by that name is a v1 call). Derived from the
# 'methods' tables of the JSON files, minus internal hooks of custom optimizers.
V1_ONLY_METHODS = {
    "zero_grads": "optimizer.target.cleargrads()",
    "weight_decay": "optimizer.add_hook(chainer.optimizer_hooks.WeightDecay(rate)) once after setup",
    "clip_grads": "optimizer.add_hook(chainer.optimizer_hooks.GradientClipping(threshold)) once after setup",
    "accumulate_grads": "link.addgrads(other_link)",
    "compute_grads_norm": "compute the norm over link.params() by hand",
    "collect_parameters": "pass the link itself (optimizer.setup(model))",
    "add_uninitialized_param": "chainer.Parameter(initializer) inside init_scope, then param.initialize(shape)",
    "has_uninitialized_params": "check param.array is None for the link's params()",
}


@functools.lru_cache(maxsize=None)
def api(version: str) -> dict:
    with resources.files(__package__).joinpath(f"api_v{version}.json").open() as handle:
        return json.load(handle)


def public_name(qualified_name: str) -> str:
    """The public v1 name of a class or function reached through the module that defines it
    (``chainer.links.connection.convolution_2d.Convolution2D`` is ``chainer.links.Convolution2D``),
    as Chainer 1.24 itself says (``defined_at``, from the generator); any other name is its own."""
    return api(SOURCE_VERSION)["defined_at"].get(qualified_name, qualified_name)


def removal_hint(qualified_name: str) -> str:
    """What to write instead of a public v1 name that Chainer 5+ lacks, for the residual sweep's marker."""
    defined = {public: definition for definition, public in api(SOURCE_VERSION)["defined_at"].items()}
    module = defined.get(qualified_name, "").rpartition(".")[0]
    namespace, _, leaf = qualified_name.rpartition(".")
    function = module.rpartition(".")[2]
    if namespace == "chainer.functions" and leaf[:1].isupper() and all(
            function in api(version)["names"].get(namespace, ()) for version in TARGET_VERSIONS):
        # a v1 Function object (`F.MaxPooling2D(2)(x)`): Chainer 5+ exports the function beside it
        return (f"call the function `F.{function}(x, ...)` with the object's arguments (less `use_cudnn`) instead "
                f"of the Function object; code that reads the object's state needs `{module}.{leaf}(...).apply((x,))`")
    return "rewrite this use by hand"


def renamed(qualified_name: str) -> str:
    """The target-version name of a v1 qualified name (unchanged when it did not move)."""
    if qualified_name in RENAMES:
        return RENAMES[qualified_name]
    for old, new in MODULE_RENAMES.items():
        if qualified_name.startswith(old + "."):
            return new + qualified_name[len(old):]
    return qualified_name


def signature(version: str, qualified_name: str) -> list[tuple[str, str, bool]] | None:
    params = api(version)["signatures"].get(qualified_name)
    return [tuple(p) for p in params] if params is not None else None


def positional_names(version: str, qualified_name: str) -> list[str] | None:
    params = signature(version, qualified_name)
    if params is None:
        return None
    return [name for name, kind, _ in params if kind in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")]


def keyword_names(version: str, qualified_name: str) -> tuple[set[str], bool] | None:
    """(accepted keyword names, takes **kwargs) for a callable in a version."""
    params = signature(version, qualified_name)
    if params is None:
        return None
    names = {name for name, kind, _ in params if kind in ("POSITIONAL_OR_KEYWORD", "KEYWORD_ONLY")}
    return names, any(kind == "VAR_KEYWORD" for _, kind, _ in params)


def removed_keywords(qualified_name: str) -> set[str]:
    """v1 parameters of a callable that no target version declares (v2+ rejects them, often
    through **kwargs with a ValueError, which a signature alone does not show)."""
    source = keyword_names(SOURCE_VERSION, qualified_name)
    if source is None:
        return set()
    target_name = renamed(qualified_name)
    removed = set()
    for version in TARGET_VERSIONS:
        target = keyword_names(version, target_name)
        if target is not None:
            gone = source[0] - target[0]
            # Behind **kwargs a v2+ callable still takes some undeclared keywords (Variable's
            # name=, grad=); only the ones Chainer 2 is known to reject count there.
            removed |= gone & KWARGS_REJECTED if target[1] else gone
    return removed


def exists_in_target(qualified_name: str) -> bool:
    """False only for a public Chainer 1.24 API that a target version no longer has.

    Names the v1.24 table does not list (private helpers, CuPy-dependent names, submodules not
    imported by their package) are given the benefit of the doubt: the sweep reports only what
    it knows was removed."""
    removed = _removed_name(qualified_name)
    return removed is None


def _removed_name(qualified_name: str) -> str | None:
    for module in REMOVED_MODULES:
        if qualified_name == module or qualified_name.startswith(module + "."):
            return module
    source = api(SOURCE_VERSION)
    parts = qualified_name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        namespace, name = ".".join(parts[:cut]), parts[cut]
        if namespace not in source["names"]:
            continue
        if name not in source["names"][namespace] or name in source["modules"].get(namespace, ()):
            return None
        for version in TARGET_VERSIONS:
            target = api(version)["names"].get(renamed(namespace + ".x")[:-2])
            if target is not None and name not in target:
                return f"{namespace}.{name}"
        return None
    return None
