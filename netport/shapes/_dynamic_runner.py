"""Runs a training script tiny, on CPU, recording every layer call; stops at the first shape error.

Executed by path in the interpreter that has the script's framework (Chainer 1.24, 5, 7 or torch),
so it imports nothing from netport: `python _dynamic_runner.py CONFIG.json`. It writes a JSON
result to the path given in the config. The data entry points (netport.data.load_mnist,
chainer.datasets.get_mnist) return synthetic arrays of the real shapes and a few batches, and
every argparse option whose name says epoch is set to 1, so the run is seconds long.
"""

import argparse
import gc
import json
import os
import runpy
import sys
import traceback

TRAIN_ROWS, TEST_ROWS = 256, 128
HERE = os.path.abspath(__file__)
EPOCH_WORDS = ("epoch",)
ITERATION_WORDS = ("iteration", "n_iter", "max_iter")


def _is_library_frame(filename):
    if filename.startswith("<"):
        return True
    filename = os.path.abspath(filename)
    return (filename == HERE or "site-packages" in filename or "dist-packages" in filename
            or filename.startswith(sys.prefix) or filename.startswith(sys.base_prefix) or filename.startswith("<"))


def _user_frames(tb_or_stack):
    frames = traceback.extract_tb(tb_or_stack) if not isinstance(tb_or_stack, list) else tb_or_stack
    return [{"file": f.filename, "line": f.lineno, "col": (getattr(f, "colno", None) or 0) + 1, "function": f.name,
             "code": (f.line or "").strip()}
            for f in frames if not _is_library_frame(f.filename)]


def _user_scopes(tb):
    """The variables of the program's frames at the failure, outermost first (to name the models)."""
    scopes = []
    while tb is not None:
        frame = tb.tb_frame
        if not _is_library_frame(frame.f_code.co_filename):
            scopes += [frame.f_globals, frame.f_locals]
        tb = tb.tb_next
    return scopes


def _variable_name(value, scopes):
    for scope in scopes:
        for name, held in scope.items():
            if held is value and not name.startswith("_") and name != "self":
                return name
    return None


def _shape(value):
    array = getattr(value, "array", None)
    if array is None:
        array = getattr(value, "data", value)
    shape = getattr(array, "shape", None)
    return list(shape) if shape is not None else None


class Recorder:
    """Layer calls, one entry per layer in the order first called, with a call count."""

    def __init__(self):
        self.layers = {}  # id(layer) -> record
        self.pending = None  # the layer call in progress (pre-hook ran, post-hook not yet)

    def pre(self, layer, kind, args):
        if not any(getattr(layer, name, None) is not None for name in WEIGHT_NAMES):
            return  # a chain of links; its links report themselves
        self.pending = {"layer": layer, "kind": kind, "in_shape": _shape(args[0]) if args else None}

    def post(self, layer, out):
        if self.pending is None or self.pending["layer"] is not layer:
            return
        record = self.layers.setdefault(id(layer), dict(self.pending, calls=0))
        record.update(in_shape=self.pending["in_shape"], out_shape=_shape(out))
        record["calls"] += 1
        self.pending = None


WEIGHT_NAMES = ("W", "weight", "weight_ih_l0", "weight_ih")  # links, modules, torch's RNN modules and cells
# the sizes a layer was built with: (input size, output size) attribute names of Chainer's and torch's layers
SIZE_NAMES = [("in_features", "out_features"), ("in_channels", "out_channels"), ("input_size", "hidden_size"),
              ("num_embeddings", "embedding_dim"), ("in_size", "out_size")]


def _sizes(layer):
    for in_name, out_name in SIZE_NAMES:
        in_size, out_size = getattr(layer, in_name, None), getattr(layer, out_name, None)
        if isinstance(in_size, int) or isinstance(out_size, int):
            return (in_size if isinstance(in_size, int) else None, out_size if isinstance(out_size, int) else None)
    return None


def _weight_shape(layer):
    for name in WEIGHT_NAMES:
        weight = getattr(layer, name, None)
        if weight is None:
            continue
        data = getattr(weight, "array", None)
        if data is None:
            data = getattr(weight, "data", None)
        shape = getattr(data, "shape", None)
        if shape is not None:
            return list(shape)
    return None


RECORDER = Recorder()
BUILT = {}  # id(layer) -> innermost user frame that constructed it


def _remember_construction(layer):
    frames = _user_frames(traceback.extract_stack()[:-2])
    if frames:
        BUILT[id(layer)] = frames[-1]


# ----------------------------------------------------------------- synthetic data

def _images(rows, ndim, numpy):
    shape = {1: (784,), 2: (28, 28), 3: (1, 28, 28)}[ndim]
    return numpy.random.RandomState(rows).uniform(0, 1, (rows,) + shape).astype(numpy.float32)


def _labels(rows, numpy):
    return numpy.random.RandomState(rows + 1).randint(0, 10, rows).astype(numpy.int32)


def patch_data():
    import numpy

    try:
        import netport.data as netport_data
        import netport.data.mnist as netport_mnist
    except Exception:
        netport_data = None
    if netport_data is not None:
        def load_mnist(path=None, *, ndim=1):
            return netport_mnist.MNIST(_images(TRAIN_ROWS, ndim, numpy), _labels(TRAIN_ROWS, numpy),
                                       _images(TEST_ROWS, ndim, numpy), _labels(TEST_ROWS, numpy),
                                       "synthetic data (netport check-shapes --run)")

        netport_mnist.load_mnist = load_mnist
        netport_data.load_mnist = load_mnist
    try:
        import chainer.datasets
        import chainer.datasets.mnist as chainer_mnist
    except Exception:
        return

    def get_mnist(withlabel=True, ndim=1, scale=1.0, dtype=None, label_dtype=None, rgb_format=False):
        splits = []
        for rows in (TRAIN_ROWS, TEST_ROWS):
            x = _images(rows, ndim, numpy) * scale
            if withlabel:
                splits.append(chainer.datasets.TupleDataset(x, _labels(rows, numpy)))
            else:
                splits.append(x)
        return tuple(splits)

    chainer_mnist.get_mnist = get_mnist
    chainer.datasets.get_mnist = get_mnist


PARSED = []  # the argument parsers the program used


class UsageError(Exception):
    """A --set override names no option of the script's parser: the run stops before it starts."""


def patch_arguments(overrides):
    original = argparse.ArgumentParser.parse_known_args

    def parse_known_args(self, args=None, namespace=None):
        PARSED.append(self)
        options = [action.dest for action in self._actions if action.dest != "help"]
        unknown = [name for name in overrides if name not in options]
        if unknown:
            raise UsageError({"name": unknown[0], "options": options})
        namespace, rest = original(self, args, namespace)
        for action in self._actions:
            dest = action.dest
            if not hasattr(namespace, dest):
                continue
            value = getattr(namespace, dest)
            if dest in overrides:
                text = overrides[dest]
                convert = action.type if callable(action.type) else str
                if action.const is not None and action.nargs == 0:
                    value = text.lower() in ("1", "true", "yes", "on")
                elif action.nargs in ("+", "*") or isinstance(action.nargs, int) and action.nargs > 1:
                    # a list, written as static mode reads it: --set units=784,250
                    value = [convert(item.strip()) for item in text.split(",") if item.strip()]
                else:
                    value = convert(text)
            elif isinstance(value, int) and not isinstance(value, bool):
                lowered = dest.lower()
                if any(word in lowered for word in EPOCH_WORDS):
                    value = min(value, 1)
                elif any(word in lowered for word in ITERATION_WORDS):
                    value = min(value, 2)
                elif lowered in ("gpu", "device") and value >= 0:
                    value = -1
            setattr(namespace, dest, value)
        return namespace, rest

    argparse.ArgumentParser.parse_known_args = parse_known_args


# ----------------------------------------------------------------- layer hooks

def install_chainer_hooks():
    try:
        import chainer
        import chainer.links as L
    except Exception:
        return None
    weight_links = [cls for cls in vars(L).values()
                    if isinstance(cls, type) and issubclass(cls, chainer.Link)]
    for cls in weight_links:
        original_init = cls.__init__

        def init(self, *args, _original=original_init, **kwargs):
            _original(self, *args, **kwargs)
            if id(self) not in BUILT:
                _remember_construction(self)

        cls.__init__ = init
    if hasattr(chainer, "LinkHook"):  # Chainer 5+: the framework's own hook, before the type check
        class ShapeHook(chainer.LinkHook):
            name = "NetportShapeHook"

            def forward_preprocess(self, args):
                RECORDER.pre(args.link, type(args.link).__name__, args.args)

            def forward_postprocess(self, args):
                RECORDER.post(args.link, args.out)

        hook = ShapeHook()
        hook.__enter__()
        return chainer.__version__
    for cls in weight_links:  # Chainer 1-4: no LinkHook; wrap the links' own __call__
        if "__call__" not in vars(cls):
            continue
        original_call = cls.__call__

        def call(self, *args, _original=original_call, **kwargs):
            RECORDER.pre(self, type(self).__name__, args)
            out = _original(self, *args, **kwargs)
            RECORDER.post(self, out)
            return out

        cls.__call__ = call
    return chainer.__version__


def install_torch_hooks():
    try:
        import torch
        from torch.nn.modules import module as torch_module
    except Exception:
        return None
    torch_module.register_module_forward_pre_hook(
        lambda module, args: RECORDER.pre(module, type(module).__name__, args) if _weighted(module) else None)
    torch_module.register_module_forward_hook(
        lambda module, args, out: RECORDER.post(module, out) if _weighted(module) else None)
    for cls in (torch.nn.Linear, torch.nn.Conv2d, torch.nn.LazyLinear, torch.nn.Embedding, torch.nn.LSTM,
                torch.nn.GRU, torch.nn.RNN, torch.nn.LSTMCell, torch.nn.GRUCell, torch.nn.RNNCell):
        original_init = cls.__init__

        def init(self, *args, _original=original_init, **kwargs):
            _original(self, *args, **kwargs)
            _remember_construction(self)

        cls.__init__ = init
    return torch.__version__


def _weighted(module):
    # (a loss module's class weights are `weight` too, None unless given: it is no layer)
    return any(getattr(module, name, None) is not None for name in WEIGHT_NAMES[1:]) and not list(module.children())


def layer_names(scopes=()):
    """id(layer) -> its path from the outermost chain/module, found among the live objects, named
    by the program's variable that holds it where there is one (`model[1].encoder`)."""
    names = {}
    roots = []
    try:
        import chainer
        links = [o for o in gc.get_objects() if isinstance(o, chainer.Link)]
        children = set()
        for link in links:
            for _, child in link.namedlinks(skipself=True):
                children.add(id(child))
        roots += [(link, "chainer") for link in links if id(link) not in children]
    except Exception:
        pass
    try:
        import torch
        modules = [o for o in gc.get_objects() if isinstance(o, torch.nn.Module)]
        children = set()
        for module in modules:
            for _, child in module.named_modules():
                if child is not module:
                    children.add(id(child))
        roots += [(module, "torch") for module in modules if id(module) not in children]
    except Exception:
        pass
    for root, framework in roots:
        top = _variable_name(root, scopes) or type(root).__name__
        items = root.namedlinks() if framework == "chainer" else root.named_modules()
        for path, child in items:
            if framework == "chainer":
                parts = [p for p in path.split("/") if p]
            else:
                parts = [p for p in path.split(".") if p]
            text = top + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in parts)
            names.setdefault(id(child), {"name": text, "parts": parts})
    return names


def describe(layer, names):
    info = names.get(id(layer), {"name": type(layer).__name__, "parts": []})
    return {"name": info["name"], "parts": info["parts"], "kind": type(layer).__name__,
            "weight": _weight_shape(layer), "sizes": _sizes(layer), "built": BUILT.get(id(layer))}


# what the frameworks (and numpy inside them) say when arrays of the wrong shapes or sizes meet: a
# layer's input width, a loss's prediction against its target, a class label past the output's width
SHAPE_MESSAGES = ("shapes cannot be multiplied", "must match the size of tensor", "Using a target size",
                  "must be the same as input size", "must be equal to input_size", "has inconsistent input_size",
                  "has inconsistent hidden_size", "Expected hidden", "Expected input batch_size", "is out of bounds",
                  "could not be broadcast", "cannot be broadcast", "cannot broadcast", "Inconsistent input size",
                  "index out of range in self", "Expected input to be 2D or 3D")


def _framework_entry(tb):
    """(module file, function) of the first library frame after the program's last frame: the API the
    program called when it failed, or None when the failure is in the program's own code."""
    frames = traceback.extract_tb(tb)
    last_user = max((i for i, f in enumerate(frames) if not _is_library_frame(f.filename)), default=None)
    if last_user is None or last_user + 1 >= len(frames):
        return None
    entry = frames[last_user + 1]
    # the library's functions down to the failure: the loss a Trainer or a Classifier called is among them
    return {"file": entry.filename, "function": entry.name, "inner": [f.name for f in frames[last_user + 1:]][-40:]}


def _record_exception(exc, result):
    """What the program raised, where, and the layer being called (a shape error); the layer names."""
    message = str(exc)
    is_reshape = ("is invalid for input of size" in message or "cannot reshape array of size" in message
                  or type(exc).__name__ == "InvalidType" and "performed in: Reshape" in message)
    entry = _framework_entry(exc.__traceback__)
    in_framework = entry is not None and any(f"{os.sep}{name}{os.sep}" in entry["file"]
                                             for name in ("chainer", "torch"))
    # the messages shared with plain numpy count only inside a framework call: the program's own
    # indexing of synthetic data (fewer rows than the real set) is not a shape error of its network
    is_shape = (is_reshape or type(exc).__name__ == "InvalidType" or "shapes cannot be multiplied" in message
                or "expected input" in message and "channels" in message
                or in_framework and any(text in message for text in SHAPE_MESSAGES))
    result["status"] = "shape_error" if is_shape else "error"
    if entry is not None:
        result["entry"] = entry
    if is_reshape:
        result["shape_kind"] = "reshape"
    result["exception"] = f"{type(exc).__module__}.{type(exc).__name__}"
    result["message"] = message
    result["frames"] = _user_frames(exc.__traceback__)
    names = layer_names(_user_scopes(exc.__traceback__))
    if is_shape and RECORDER.pending is not None:
        failing = RECORDER.pending
        result["failing_layer"] = dict(describe(failing["layer"], names), in_shape=failing["in_shape"])
    return names


def main():
    config = json.load(open(sys.argv[1]))
    script = os.path.abspath(config["script"])
    result = {"status": "completed", "frameworks": {}}
    patch_arguments(config.get("overrides", {}))
    patch_data()
    result["frameworks"]["chainer"] = install_chainer_hooks()
    result["frameworks"]["torch"] = install_torch_hooks()
    try:
        import chainer
        chainer.config.type_check = True  # without it a mismatch is a bare numpy error
    except Exception:
        pass
    sys.argv = [script] + list(config.get("args", []))
    sys.path[0] = os.path.dirname(script)
    names = None
    program_globals = {}
    try:
        program_globals = runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        result["status"] = "exited"
        result["exit_code"] = exc.code if isinstance(exc.code, int) else 1
    except UsageError as exc:
        result["status"] = "usage_error"
        result["usage"] = exc.args[0]
    except SyntaxError as exc:
        names = _record_exception(exc, result)
        if exc.filename and os.path.isfile(exc.filename) and not _is_library_frame(exc.filename):
            # the script or a module it imports does not parse: nothing ran
            result["status"] = "syntax_error"
            result["syntax"] = {"file": exc.filename, "line": exc.lineno or 1, "col": exc.offset or 1,
                                "msg": exc.msg}
    except BaseException as exc:  # the point of the run: what the program raised, and where
        names = _record_exception(exc, result)
    if config.get("overrides") and not PARSED and result["status"] != "shape_error":
        result["status"] = "usage_error"
        result["usage"] = {"name": next(iter(config["overrides"])), "options": []}
    if names is None:
        names = layer_names([program_globals])
    result["executed"] = [dict(describe(c["layer"], names), in_shape=c["in_shape"], out_shape=c["out_shape"],
                               calls=c["calls"]) for c in RECORDER.layers.values()]
    result["data"] = {"train_rows": TRAIN_ROWS, "test_rows": TEST_ROWS}
    with open(config["result"], "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
