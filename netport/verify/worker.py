"""Run a model factory inside one interpreter (any Chainer version, or torch) and record what
each layer outputs for a given input. ``netport verify`` starts one worker per side.

    python -m netport.verify.worker FACTORY INPUT.npy OUT_DIR [--weights W.npz]

FACTORY is ``path/to/file.py:function`` or ``package.module:function``; the function takes no
arguments and returns a Chainer link or a torch module, or ``(model, forward)`` where ``forward(x)``
runs inference (how a Chainer v1 model is told ``train=False``). Without ``--weights`` the worker
saves the model's weights as a Chainer npz for the other side; with it, it loads them (converting
to a torch state_dict when the model is a torch module). It writes ``outputs.npz``: the final
output under ``__output__`` and each layer's last output under its path (``0.encoder``).

Only numpy and the framework are needed here, so it runs in ``.venv-legacy`` as well.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np

OUTPUT_KEY = "__output__"
EXIT_FACTORY = 2  # the worker's exit status for a FactoryError, whose one-line message is its last stderr line


class FactoryError(Exception):
    """A factory that cannot be found, or weights that do not fit its model: the user's to fix, in one line
    (an error inside the factory's own code keeps its traceback)."""


def load_factory(spec: str):
    target, _, function = spec.rpartition(":")
    if not target or not function:
        raise FactoryError("a factory must look like file.py:function or module:function")
    if target.endswith(".py"):
        path = Path(target).resolve()
        if not path.is_file():
            raise FactoryError(f"{target}: no such file")
        sys.path.insert(0, str(path.parent))  # so that `import net` next to it works
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError as exc:
            if exc.name is None or not (target == exc.name or target.startswith(exc.name + ".")):
                raise  # a module the factory's module imports: its traceback says where
            raise FactoryError(f"no module named {target} (from {os.getcwd()})") from None
    if not callable(getattr(module, function, None)):
        raise FactoryError(f"{target} has no function {function!r}")
    return getattr(module, function)


def _misfit(problems) -> FactoryError:
    return FactoryError(f"the legacy weights do not fit this model: {problems}")


def _array(value):
    while isinstance(value, (tuple, list)) and value:
        value = value[0]
    for attribute in ("array", "data"):  # chainer Variable (v1 has only .data)
        if hasattr(value, attribute) and not isinstance(value, np.ndarray):
            inner = getattr(value, attribute)
            if isinstance(inner, np.ndarray):
                return inner
    if hasattr(value, "detach"):  # torch tensor
        return value.detach().cpu().numpy()
    return np.asarray(value)


def run_chainer(model, forward, x, weights, out_dir):
    import chainer

    from netport.weights.convert import WeightConversionError, check_against

    if weights is not None:
        with np.load(weights) as archive:
            arrays = {k: archive[k] for k in archive.files}
        parameters = {path.lstrip("/"): param.data.shape for path, param in model.namedparams()
                      if getattr(param, "data", None) is not None}  # a lazy layer's parameter has no shape yet
        try:  # other arrays are persistent values (BatchNorm statistics), which load_npz checks below
            check_against({k: v for k, v in arrays.items() if k in parameters}, parameters, "the model")
            chainer.serializers.load_npz(weights, model)
        except WeightConversionError as exc:
            raise _misfit(exc) from None
        except (KeyError, ValueError) as exc:  # Chainer's words for a missing or misshapen persistent value
            raise _misfit(exc.args[0] if exc.args else exc) from None
    else:
        chainer.serializers.save_npz(os.path.join(out_dir, "weights.npz"), model)
    paths = {id(link): path.strip("/").replace("/", ".") for path, link in model.namedlinks()}
    outputs = {}
    patched = {}
    for link in {type(link): link for _, link in model.namedlinks()}.values():
        cls = type(link)
        original = cls.__call__

        def recording(self, *args, __original=original, **kwargs):
            result = __original(self, *args, **kwargs)
            if id(self) in paths and paths[id(self)]:
                outputs[paths[id(self)]] = _array(result)
            return result

        patched[cls] = original if "__call__" in cls.__dict__ else None
        cls.__call__ = recording
    try:
        if hasattr(chainer, "using_config"):
            with chainer.using_config("train", False), chainer.no_backprop_mode():
                result = forward(x)
        else:  # Chainer v1: the factory's forward passes train=False itself
            result = forward(x)
    finally:
        for cls, original in patched.items():
            if original is None:
                del cls.__call__  # it was inherited
            else:
                cls.__call__ = original
    outputs[OUTPUT_KEY] = _array(result)
    return outputs


def run_torch(model, forward, x, weights, out_dir):
    import torch

    # numpy only: no LibCST in this interpreter
    from netport.weights.convert import WeightConversionError, chainer_to_torch, check_against

    if weights is None:
        raise FactoryError("a torch model needs weights from the other side (the legacy side must be Chainer)")
    with np.load(weights) as archive:
        try:
            state = chainer_to_torch({k: archive[k] for k in archive.files})
            check_against(state, {k: tuple(v.shape) for k, v in model.state_dict().items()}, "the model")
        except WeightConversionError as exc:
            raise _misfit(exc) from None
    model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}, strict=True)
    model.eval()
    outputs = {}
    hooks = [module.register_forward_hook(lambda m, i, o, name=name: outputs.__setitem__(name, _array(o)))
             for name, module in model.named_modules() if name]
    try:
        with torch.no_grad():
            result = forward(torch.from_numpy(x))
    finally:
        for hook in hooks:
            hook.remove()
    outputs[OUTPUT_KEY] = _array(result)
    return outputs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m netport.verify.worker")
    parser.add_argument("factory")
    parser.add_argument("input")
    parser.add_argument("out_dir")
    parser.add_argument("--weights")
    args = parser.parse_args(argv)
    try:
        built = load_factory(args.factory)()
        model, forward = built if isinstance(built, tuple) else (built, built)
        x = np.load(args.input)
        framework = "torch" if type(model).__module__.startswith("torch") or hasattr(model, "named_modules") \
            else "chainer"
        run = run_torch if framework == "torch" else run_chainer
        outputs = run(model, forward, x, args.weights, args.out_dir)
    except FactoryError as exc:
        print(exc, file=sys.stderr)
        return EXIT_FACTORY
    np.savez(os.path.join(args.out_dir, "outputs.npz"), **outputs)
    print(framework)
    return 0


if __name__ == "__main__":
    sys.exit(main())
