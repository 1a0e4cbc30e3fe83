"""Runs a training script a few dozen optimizer steps, on CPU, collecting training statistics.

Executed by path in the interpreter that has the script's framework: `python _doctor_runner.py CONFIG.json`.
It imports no netport package; the argument, data and layer hooks are check-shapes' (its runner module,
netport/shapes/_dynamic_runner.py, is imported from its directory). Added here: activation statistics
(sigmoid/tanh/relu, as modules or functions), per-parameter gradient norms at each optimizer step, the
losses backward() is called on, and the first NaN/Inf. The run stops after `max_steps` optimizer steps.
Raw numbers only: netport/doctor/runtime.py judges them.
"""

import json
import math
import os
import runpy
import sys
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "shapes"))
import _dynamic_runner as shapes_runner  # noqa: E402 -- found through the path set just above

HERE = os.path.abspath(__file__)
_shapes_library_frame = shapes_runner._is_library_frame


def _is_library_frame(filename):
    return _shapes_library_frame(filename) or os.path.abspath(filename) == HERE


# this runner's frames are no more the program's than the shapes runner's are (its helpers look this name up)
shapes_runner._is_library_frame = _is_library_frame

SATURATION_MARGIN = 1e-3  # an output this close to a bound counts as saturated (see runtime.py)
BOUNDS = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


class StopRun(BaseException):
    """The step limit is reached: the run has what it needs (BaseException: the program's `except Exception`
    must not swallow it)."""


class Statistics:
    def __init__(self, max_steps):
        self.max_steps = max_steps
        self.steps = 0
        self.activations = {}  # key -> record
        self.order = []
        self.parameters = {}  # id(param) -> record
        self.losses = []
        self.loss_site = None  # where backward() was first called on a loss
        self.first_nonfinite = None
        self.depth = 0  # > 0 inside an activation already being recorded (nn.ReLU calling F.relu)
        self.last_layer = None  # the weighted layer whose forward finished last
        self.optimizers = []  # Chainer: the optimizer whose update(lossfun, ...) is running

    def activation(self, key, kind, zero_inputs, after, layer=None):
        """Record one call of an activation: `zero_inputs` is the count of its inputs exactly 0, taken before the
        call (an in-place ReLU overwrites them)."""
        record = self.activations.get(key)
        if record is None:
            frames = shapes_runner._user_frames(traceback.extract_stack())
            site = frames[-1] if frames else {"file": "?", "line": 1}
            record = {"kind": kind, "layer": layer, "after": self.last_layer, "file": site["file"],
                      "line": site["line"], "calls": 0, "elements": 0, "saturated": 0, "zero_pre": 0,
                      "units": None, "active": None}
            self.activations[key] = record
            self.order.append(key)
        record["calls"] += 1
        out = _as_float64(after)
        if out is None:
            return
        record["elements"] += out.size
        if kind in BOUNDS:
            low, high = BOUNDS[kind]
            record["saturated"] += int(((out - low < SATURATION_MARGIN) | (high - out < SATURATION_MARGIN)).sum())
        else:
            record["zero_pre"] += zero_inputs or 0
            active = (out > 0).reshape(out.shape[0], out.shape[1], -1).any(axis=(0, 2)) if out.ndim >= 2 \
                else (out > 0)
            record["active"] = active if record["active"] is None or record["active"].shape != active.shape \
                else record["active"] | active
        if not _finite(out):
            self.nonfinite("output of " + kind, record["after"], record["file"], record["line"])

    def nonfinite(self, what, layer, file, line):
        if self.first_nonfinite is None:
            self.first_nonfinite = {"what": what, "layer": layer, "step": self.steps + 1, "file": file, "line": line}

    def gradient(self, key, name, layer, grad, built):
        record = self.parameters.setdefault(key, {"name": name, "layer": layer, "norms": [], "nonzero": False,
                                                  "built": built})
        values = _as_float64(grad)
        if values is None:
            record["norms"].append(0.0)
            return
        norm = float(math.sqrt(float((values * values).sum()))) if values.size else 0.0
        record["norms"].append(norm)
        record["nonzero"] = record["nonzero"] or bool((values != 0).any())
        if not _finite(values):
            self.nonfinite("gradient of " + name, layer, (built or {}).get("file", "?"), (built or {}).get("line", 1))

    def loss(self, value):
        array = _as_float64(value)
        if array is None or array.size != 1:
            return
        number = float(array.reshape(-1)[0])
        self.losses.append(number)
        if self.loss_site is None or not math.isfinite(number):
            frames = shapes_runner._user_frames(traceback.extract_stack())
            site = frames[-1] if frames else {"file": "?", "line": 1}
            self.loss_site = self.loss_site or {"file": site["file"], "line": site["line"]}
            if not math.isfinite(number):
                self.nonfinite("loss", None, site["file"], site["line"])

    def step(self):
        if self.steps >= self.max_steps:
            raise StopRun()
        self.steps += 1


def _as_float64(value):
    """A numpy float64 copy of a tensor, Variable or array (None for what is none of them)."""
    import numpy

    if value is None:
        return None
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # torch
        return value.detach().cpu().double().numpy()
    if type(value).__module__.startswith("chainer"):  # a Variable (Chainer 1 has no .array, only .data)
        value = value.data
    if type(value).__module__.startswith("cupy"):
        value = value.get()
    if not isinstance(value, (numpy.ndarray, numpy.generic, float, int)):
        return None  # never numpy.asarray on an object: it would index it as a sequence
    return numpy.asarray(value, dtype=numpy.float64)


def _zero_count(value):
    values = _as_float64(value)
    return None if values is None else int((values == 0).sum())


def _finite(values):
    import numpy

    return bool(numpy.isfinite(values).all())


STATS = None


# ----------------------------------------------------------------- torch

def install_torch(stats):
    try:
        import torch
        import torch.nn.functional as functional
        from torch.nn.modules import module as torch_module
    except Exception:
        return None
    kinds = {torch.nn.Sigmoid: "sigmoid", torch.nn.Tanh: "tanh", torch.nn.ReLU: "relu"}

    pending_zeros = []  # per activation module call in progress: its inputs exactly 0

    def pre_hook(module, args):
        if type(module) in kinds:
            stats.depth += 1
            pending_zeros.append(_zero_count(args[0]) if args and kinds[type(module)] == "relu" else None)

    def post_hook(module, args, out):
        kind = kinds.get(type(module))
        if kind is not None:
            stats.depth -= 1
            if stats.depth == 0:
                stats.activation(id(module), kind, pending_zeros.pop(), out, layer=module)
            else:
                pending_zeros.pop()
        elif shapes_runner._weighted(module):
            stats.last_layer = module
            if isinstance(out, torch.Tensor) and out.is_floating_point() and not bool(torch.isfinite(out).all()) \
                    and all(bool(torch.isfinite(a).all()) for a in args if isinstance(a, torch.Tensor)
                            and a.is_floating_point()):
                built = shapes_runner.BUILT.get(id(module)) or {"file": "?", "line": 1}
                stats.nonfinite("output of a layer", module, built["file"], built["line"])

    torch_module.register_module_forward_pre_hook(pre_hook)
    torch_module.register_module_forward_hook(post_hook)

    def wrap(owner, name, kind):
        original = getattr(owner, name, None)
        if original is None:
            return

        def activation(*args, **kwargs):
            if stats.depth:
                return original(*args, **kwargs)
            zeros = _zero_count(args[0]) if args and kind == "relu" else None
            stats.depth += 1
            try:
                out = original(*args, **kwargs)
            finally:
                stats.depth -= 1
            site = traceback.extract_stack(limit=2)[0]
            stats.activation((kind, site.filename, site.lineno), kind, zeros, out)
            return out

        setattr(owner, name, activation)

    for kind in ("sigmoid", "tanh", "relu"):
        wrap(torch, kind, kind)
        wrap(torch.Tensor, kind, kind)
        wrap(functional, kind, kind)
    original_backward = torch.Tensor.backward

    def backward(self, *args, **kwargs):
        if self.numel() == 1:
            stats.loss(self)
        return original_backward(self, *args, **kwargs)

    torch.Tensor.backward = backward

    def step_pre_hook(optimizer, args, kwargs):
        stats.step()
        for group in optimizer.param_groups:
            for param in group["params"]:
                name, layer = _torch_parameter_name(param)
                built = shapes_runner.BUILT.get(id(layer)) if layer is not None else None
                stats.gradient(id(param), name, layer, param.grad, built)

    from torch.optim.optimizer import register_optimizer_step_pre_hook

    register_optimizer_step_pre_hook(step_pre_hook)
    return torch.__version__


_TORCH_NAMES = {}


def _torch_parameter_name(param):
    """(name, owning module) of a parameter: `model.hidden.weight`, the root named by the program's
    variable (searched once per unknown parameter)."""
    if id(param) not in _TORCH_NAMES:
        import torch

        scopes = _stack_scopes()
        names = shapes_runner.layer_names(scopes)
        import gc
        for module in (o for o in gc.get_objects() if isinstance(o, torch.nn.Module)):
            for short, owned in module.named_parameters(recurse=False):
                info = names.get(id(module))
                if info is not None:
                    _TORCH_NAMES.setdefault(id(owned), (f"{info['name']}.{short}", module))
        _TORCH_NAMES.setdefault(id(param), (f"parameter{tuple(param.shape)}", None))
    return _TORCH_NAMES[id(param)]


def _stack_scopes():
    scopes = []
    frame = sys._getframe(1)
    while frame is not None:
        if not shapes_runner._is_library_frame(frame.f_code.co_filename):
            scopes += [frame.f_locals, frame.f_globals]
        frame = frame.f_back
    return scopes


# ----------------------------------------------------------------- Chainer

def install_chainer(stats):
    try:
        import chainer
        import chainer.functions as functions
    except Exception:
        return None
    for kind in ("sigmoid", "tanh", "relu"):
        original = getattr(functions, kind, None)
        if original is None:
            continue

        def activation(x, *args, _original=original, _kind=kind, **kwargs):
            zeros = _zero_count(x) if _kind == "relu" else None
            out = _original(x, *args, **kwargs)
            site = traceback.extract_stack(limit=2)[0]
            stats.activation((_kind, site.filename, site.lineno), _kind, zeros, out)
            return out

        setattr(functions, kind, activation)
    if hasattr(chainer, "LinkHook"):
        class LastLayer(chainer.LinkHook):
            name = "NetportDoctorHook"

            def forward_postprocess(self, args):
                if getattr(args.link, "W", None) is not None:
                    stats.last_layer = args.link

        LastLayer().__enter__()
    original_backward = chainer.Variable.backward

    def backward(self, *args, **kwargs):
        stats.loss(self)
        result = original_backward(self, *args, **kwargs)
        if stats.optimizers:  # update(lossfun, ...): its backward has just filled the gradients
            _chainer_gradients(stats, stats.optimizers[-1])
        return result

    chainer.Variable.backward = backward
    gradient_method = getattr(chainer.optimizer, "GradientMethod", chainer.Optimizer)
    original_update = gradient_method.update

    def update(self, lossfun=None, *args, **kwargs):
        stats.step()
        if lossfun is None:
            _chainer_gradients(stats, self)
            return original_update(self)
        stats.optimizers.append(self)
        try:
            return original_update(self, lossfun, *args, **kwargs)
        finally:
            stats.optimizers.pop()

    gradient_method.update = update
    return chainer.__version__


def _chainer_gradients(stats, optimizer):
    target = optimizer.target
    top = shapes_runner._variable_name(target, _stack_scopes()) or type(target).__name__
    links = dict(target.namedlinks())
    for path, param in target.namedparams():
        owner_path, _, short = path.rpartition("/")
        layer = links.get(owner_path or "/")
        name = top + owner_path.replace("/", ".") + "." + short
        built = shapes_runner.BUILT.get(id(layer)) if layer is not None else None
        stats.gradient(id(param), name, layer, param.grad, built)


# ----------------------------------------------------------------- the run

def _layer_text(layer, names):
    if layer is None:
        return None
    info = names.get(id(layer))
    return {"name": info["name"] if info else type(layer).__name__, "kind": type(layer).__name__}


def main():
    global STATS
    config = json.load(open(sys.argv[1]))
    script = os.path.abspath(config["script"])
    STATS = stats = Statistics(config.get("max_steps", 30))
    result = {"status": "completed", "frameworks": {}}
    shapes_runner.patch_arguments({})
    shapes_runner.patch_data()
    frameworks = config.get("frameworks", ["chainer", "torch"])
    if "chainer" in frameworks:
        result["frameworks"]["chainer"] = shapes_runner.install_chainer_hooks()
        install_chainer(stats)
    if "torch" in frameworks:
        result["frameworks"]["torch"] = shapes_runner.install_torch_hooks()
        install_torch(stats)
    sys.argv = [script] + list(config.get("args", []))
    sys.path[0] = os.path.dirname(script)
    scopes = []
    try:
        scopes = [runpy.run_path(script, run_name="__main__")]
    except StopRun as exc:
        result["status"] = "step_limit"
        scopes = shapes_runner._user_scopes(exc.__traceback__)
    except SystemExit as exc:
        result["status"] = "exited"
        result["exit_code"] = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:  # what the program raised: reported, with the statistics gathered before
        result["status"] = "error"
        result["exception"] = f"{type(exc).__module__}.{type(exc).__name__}"
        result["message"] = str(exc)[:500]
        frames = shapes_runner._user_frames(exc.__traceback__)
        result["frame"] = frames[-1] if frames else None
        scopes = shapes_runner._user_scopes(exc.__traceback__)
    names = shapes_runner.layer_names(scopes)
    activations = []
    for key in stats.order:
        record = stats.activations[key]
        active = record.pop("active")
        layer = _layer_text(record.pop("layer"), names)
        after = _layer_text(record.pop("after"), names)
        record.update(units=None if active is None else int(active.size),
                      dead_units=None if active is None else int((~active).sum()))
        record["name"] = layer["name"] if layer else (f"{record['kind']} after {after['name']}" if after
                                                      else f"{record['kind']} at line {record['line']}")
        record["after"] = after
        activations.append(record)
    parameters = []
    for record in stats.parameters.values():
        layer = record.pop("layer")
        record["layer"] = _layer_text(layer, names)
        parameters.append(record)
    first = stats.first_nonfinite
    if first is not None:
        first["layer"] = _layer_text(first["layer"], names)
    result.update(steps=stats.steps, activations=activations, parameters=parameters, losses=stats.losses,
                  loss_site=stats.loss_site,
                  first_nonfinite=first)
    with open(config["result"], "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
