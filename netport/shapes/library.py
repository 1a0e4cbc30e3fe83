"""Models of the library calls training scripts make: Python builtins, argparse, numpy, Chainer,
torch and netport's MNIST loader. Each model says what a call returns in the shape domain; a call
that has no model returns UNKNOWN and leaves one note per API (for the ML libraries).
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, replace

from netport.shapes import layers
from netport.shapes.values import (
    UNKNOWN, Array, Container, FlowStep, Instance, Layer, LibraryObject, LibraryRef, Partial, Site, is_known,
)

# Libraries whose unmodelled calls deserve a note; the standard library's are simply unknown.
NOTED_LIBRARIES = ("chainer", "torch", "numpy", "cupy", "netport", "sklearn", "mlxtend")

# Names that mean the same thing (re-exports, v1 module paths).
ALIASES = {
    "cupy": "numpy",
    "chainer.cuda.cupy": "numpy",
    "chainer.backends.cuda.cupy": "numpy",
    "chainer.cuda": "chainer.cuda",
    "chainer.backends.cuda": "chainer.cuda",
    "torch.nn.functional": "torch.nn.functional",
    "netport.data.mnist.load_mnist": "netport.data.load_mnist",
}


def ref(qualified: str) -> LibraryRef:
    return LibraryRef(ALIASES.get(qualified, qualified))


def canonical(qualified: str) -> str:
    if qualified in ALIASES:
        return ALIASES[qualified]
    for prefix, replacement in (("chainer.links.", "chainer.links."), ("chainer.functions.", "chainer.functions.")):
        if qualified.startswith(prefix):
            return prefix + qualified.rsplit(".", 1)[-1]  # chainer.links.connection.linear.Linear
    if qualified.startswith("cupy."):
        return "numpy." + qualified[len("cupy."):]
    return qualified


def library_attribute(owner: LibraryRef, name: str):
    qualified = canonical(f"{owner.qualified}.{name}")
    constant = CONSTANTS.get(qualified)
    if constant is not None:
        return constant
    return LibraryRef(qualified)


CONSTANTS = {"numpy.float32": LibraryRef("numpy.float32"), "numpy.newaxis": None}


@dataclass(eq=False)
class Builtin:
    name: str
    function: object


@dataclass(eq=False)
class BoundLibraryMethod:
    """A method the checked program calls on a chain/module that its own class does not define."""

    owner: object
    name: str
    via_super: bool = False


@dataclass(eq=False)
class ArrayMethod:
    array: Array
    name: str


@dataclass(eq=False)
class ObjectMethod:
    owner: LibraryObject
    name: str


@dataclass(eq=False)
class ValueMethod:
    """A method of a concrete value (str.split, list.append...)."""

    value: object
    name: str


# ----------------------------------------------------------------- helpers

def concrete(*values) -> bool:
    return all(is_known(v) and not isinstance(v, (Array, LibraryObject, LibraryRef)) for v in values)


def as_shape(value):
    """A shape argument (int, tuple or list of ints, possibly UNKNOWN entries) as a tuple, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return (value,)
    if isinstance(value, (tuple, list)):
        dims = []
        for d in value:
            if isinstance(d, int) and not isinstance(d, bool):
                dims.append(d)
            elif d is UNKNOWN or d is None:
                dims.append(None)
            else:
                return None
        return tuple(dims)
    return None


def new_array(shape, site: Site, description: str, raw_input: bool = False) -> Array:
    return Array(tuple(shape) if shape is not None else None, (FlowStep(site, description),), raw_input)


def arg(args, kwargs, index, name, default=UNKNOWN):
    if name in kwargs:
        return kwargs[name]
    if index is not None and len(args) > index:
        return args[index]
    return default


def reshape(array: Array, shape, site, interp=None, how: str = "numpy") -> Array:
    target = as_shape(shape)
    if target is None:
        return array.with_shape(None)
    if interp is not None and array.shape is not None and all(d is not None for d in array.shape) \
            and all(d is not None and d >= 0 for d in target) and math.prod(array.shape) != math.prod(target):
        layers.reshape_mismatch(interp, array, target, site, how)
        return array.with_shape(None)
    if -1 in target and array.shape is not None and all(d is not None for d in array.shape) \
            and all(d is not None for d in target):
        known = math.prod(d for d in target if d != -1)
        total = math.prod(array.shape)
        if known and total % known == 0:
            target = tuple(total // known if d == -1 else d for d in target)
        elif known and interp is not None and target.count(-1) == 1 and all(d == -1 or d > 0 for d in target):
            layers.reshape_mismatch(interp, array, target, site, how)  # no whole number of rows
            return array.with_shape(None)
    elif -1 in target and array.shape is not None and array.shape and target and target[0] == -1 \
            and len(target) == 2 and target[1] is not None:
        target = (None, target[1])  # x.reshape(-1, 784): the batch stays unknown
    elif -1 in target and len(target) == 2 and target[1] == -1 and array.shape is not None:
        rest = array.shape[1:]
        target = (target[0], math.prod(rest) if all(d is not None for d in rest) else None)
    target = tuple(None if d == -1 else d for d in target)
    return _remember_unflattened(array, array.with_shape(target).then(site, "reshaped"))


def flatten_shape(shape, start: int = 0, end: int = -1):
    if shape is None:
        return None
    n = len(shape)
    start, end = start % n if n else 0, end % n if n else 0
    middle = shape[start:end + 1]
    size = math.prod(middle) if all(d is not None for d in middle) else None
    return tuple(shape[:start]) + (size,) + tuple(shape[end + 1:])


def flatten(array: Array, start=0, end=-1) -> Array:
    if array.shape is None or not isinstance(start, int) or not isinstance(end, int) or not array.shape:
        return array.with_shape(None)
    return _remember_unflattened(array, array.with_shape(flatten_shape(array.shape, start, end)))


def _remember_unflattened(before: Array, after: Array) -> Array:
    """Feature maps flattened for a Linear keep their (N, C, H, W) shape, for the fix hint."""
    if before.shape is not None and len(before.shape) == 4 and after.shape is not None and len(after.shape) == 2:
        return replace(after, unflattened=before.shape)
    return after


def broadcast(a, b):
    if a is None or b is None:
        return None
    result = []
    for x, y in zip(reversed((None,) * (len(b) - len(a)) + tuple(a) if len(b) > len(a) else a),
                    reversed((None,) * (len(a) - len(b)) + tuple(b) if len(a) > len(b) else b)):
        if x == 1:
            result.append(y)
        elif y == 1 or y is None:
            result.append(x)
        else:
            result.append(y if x is None else x)
    return tuple(reversed(result))


def array_binary(interp, op, left, right, site):
    if isinstance(left, Array) and isinstance(right, Array):
        if op is ast.MatMult:
            return matmul(left, right, site)
        return left.with_shape(broadcast(left.shape, right.shape))
    array = left if isinstance(left, Array) else right
    if op is ast.MatMult:
        return array.with_shape(None)
    return array.with_shape(array.shape)


def matmul(a: Array, b: Array, site) -> Array:
    if a.shape is None or b.shape is None or len(a.shape) < 1 or len(b.shape) < 1:
        return a.with_shape(None)
    if len(b.shape) == 1:
        return a.with_shape(a.shape[:-1])
    return a.with_shape(a.shape[:-1] + b.shape[-1:])


# ----------------------------------------------------------------- builtins

def _range(interp, args, kwargs, site):
    if concrete(*args) and all(isinstance(a, int) for a in args):
        try:
            return range(*args)
        except Exception:
            return UNKNOWN
    return ("range-unknown",)


def _len(interp, args, kwargs, site):
    value = args[0] if args else UNKNOWN
    if isinstance(value, Array):
        return value.shape[0] if value.shape and value.shape[0] is not None else UNKNOWN
    if isinstance(value, (list, tuple)):
        return UNKNOWN if id(value) in interp.inexact_lists else len(value)
    if isinstance(value, (str, dict, range)):
        return len(value)
    if isinstance(value, Container) or isinstance(value, Instance) and value.sequence:
        return UNKNOWN if value.inexact else len(value.children)
    if isinstance(value, LibraryObject) and value.kind == "TupleDataset":
        return value.fields["rows"] if value.fields["rows"] is not None else UNKNOWN
    return UNKNOWN


def _enumerate(interp, args, kwargs, site):
    items = interp.iterate(args[0], site) if args else UNKNOWN
    start = arg(args, kwargs, 1, "start", 0)
    if isinstance(items, list) and isinstance(start, int):
        return [(start + i, item) for i, item in enumerate(items)]
    if isinstance(items, tuple) and items and items[0] == "once":
        return ("once-items", (UNKNOWN, items[1]), items[2])
    return UNKNOWN


def _zip(interp, args, kwargs, site):
    lists = [interp.iterate(a, site) for a in args]
    if all(isinstance(x, list) for x in lists):
        return list(zip(*lists))
    return UNKNOWN


def _reversed(interp, args, kwargs, site):
    items = interp.iterate(args[0], site) if args else UNKNOWN
    return list(reversed(items)) if isinstance(items, list) else UNKNOWN


def _list(interp, args, kwargs, site):
    if not args:
        return []
    items = interp.iterate(args[0], site)
    return list(items) if isinstance(items, list) else UNKNOWN


def _tuple(interp, args, kwargs, site):
    items = _list(interp, args, kwargs, site)
    return tuple(items) if isinstance(items, list) else UNKNOWN


def _pure(function):
    def model(interp, args, kwargs, site):
        if not concrete(*args, *kwargs.values()):
            if function in (int, float) and args and isinstance(args[0], Array):
                return UNKNOWN
            return UNKNOWN
        try:
            return function(*args, **kwargs)
        except Exception:
            return UNKNOWN
    return model


def _map(interp, args, kwargs, site):
    if len(args) < 2:
        return UNKNOWN
    lists = [interp.iterate(a, site) for a in args[1:]]
    if not all(isinstance(x, list) for x in lists):
        return UNKNOWN
    return [interp.call(args[0], list(items), {}, site) for items in zip(*lists)]


def _print(interp, args, kwargs, site):
    return None


def _super(interp, args, kwargs, site):
    from netport.shapes.values import SuperProxy

    frame = interp.frames[-1] if interp.frames else None
    if args and len(args) >= 2:
        return SuperProxy(args[0], args[1])
    if frame is not None and frame.cls is not None:
        return SuperProxy(frame.cls, frame.self_value)
    return UNKNOWN


def _isinstance(interp, args, kwargs, site):
    return UNKNOWN


def _getattr(interp, args, kwargs, site):
    if len(args) >= 2 and isinstance(args[1], str):
        value = interp.get_attribute(args[0], args[1], site)
        return value
    return UNKNOWN


def _setattr(interp, args, kwargs, site):
    if len(args) == 3 and isinstance(args[1], str):
        interp.set_attribute(args[0], args[1], args[2])
    return None


def _sorted(interp, args, kwargs, site):
    items = interp.iterate(args[0], site) if args else UNKNOWN
    if isinstance(items, list) and concrete(*items) and not kwargs:
        try:
            return sorted(items)
        except Exception:
            return UNKNOWN
    return UNKNOWN


BUILTINS = {
    "range": Builtin("range", _range), "len": Builtin("len", _len), "enumerate": Builtin("enumerate", _enumerate),
    "zip": Builtin("zip", _zip), "reversed": Builtin("reversed", _reversed), "list": Builtin("list", _list),
    "tuple": Builtin("tuple", _tuple), "map": Builtin("map", _map), "print": Builtin("print", _print),
    "super": Builtin("super", _super), "isinstance": Builtin("isinstance", _isinstance),
    "getattr": Builtin("getattr", _getattr), "setattr": Builtin("setattr", _setattr),
    "sorted": Builtin("sorted", _sorted),
    "True": True, "False": False, "None": None,
    "object": LibraryRef("builtins.object"),
    "exit": LibraryRef("sys.exit"), "quit": LibraryRef("sys.exit"),
}
for _name, _function in {"int": int, "float": float, "str": str, "bool": bool, "abs": abs, "min": min,
                         "max": max, "sum": sum, "round": round, "divmod": divmod, "pow": pow, "dict": dict}.items():
    BUILTINS[_name] = Builtin(_name, _pure(_function))


# ----------------------------------------------------------------- attributes, subscripts, iteration

_VALUE_METHODS = {
    str: {"split", "strip", "lower", "upper", "format", "join", "replace", "startswith", "endswith", "rstrip",
          "lstrip", "partition", "rsplit"},
    list: {"append", "extend", "insert", "pop", "index", "count", "copy"},
    tuple: {"index", "count"},
    dict: {"get", "keys", "values", "items", "copy", "update", "setdefault"},
}


def attribute(interp, owner, name, site):
    if isinstance(owner, Array):
        return array_attribute(owner, name, site)
    if isinstance(owner, Container) and name in SEQUENCE_METHODS:
        return BoundLibraryMethod(owner, name)
    if isinstance(owner, (Layer, Container)):
        return layers.layer_attribute(interp, owner, name, site)
    if isinstance(owner, LibraryObject):
        if name in owner.fields:
            return owner.fields[name]
        if owner.kind == "TupleDataset" and name == "_datasets":  # the arrays a TupleDataset holds
            return tuple(owner.fields["arrays"])
        return ObjectMethod(owner, name)
    if isinstance(owner, (str, list, tuple, dict)):
        for kind, names in _VALUE_METHODS.items():
            if isinstance(owner, kind) and name in names:
                return ValueMethod(owner, name)
    return UNKNOWN


def array_attribute(array: Array, name: str, site):
    if name == "shape":
        return tuple(UNKNOWN if d is None else d for d in array.shape) if array.shape is not None else UNKNOWN
    if name in ("data", "array"):
        return array
    if name == "ndim":
        return array.ndim
    if name == "T":
        if array.shape is not None and len(array.shape) == 2:
            return Array(tuple(reversed(array.shape)), array.flow, False, owner=("transposed", array.owner))
        return array.with_shape(tuple(reversed(array.shape)) if array.shape is not None else None)
    if name == "size":
        shape = array.shape
        return math.prod(shape) if shape is not None and all(d is not None for d in shape) else UNKNOWN
    if name in ("dtype", "grad", "device", "requires_grad"):
        return UNKNOWN
    return ArrayMethod(array, name)


def subscript(interp, owner, key, site):
    if owner is UNKNOWN:
        return UNKNOWN
    if isinstance(owner, Array):
        return index_array(owner, key, site)
    if isinstance(owner, (list, tuple, str, dict, range)):
        if not is_known(key) or isinstance(key, tuple) and key and key[0] == "slice":
            return UNKNOWN
        if isinstance(owner, (list, tuple)) and id(owner) in interp.inexact_lists:
            return UNKNOWN
        try:
            return owner[key]
        except Exception:
            return UNKNOWN
    if isinstance(owner, Container) or isinstance(owner, Instance) and owner.sequence:
        return sequence_item(owner, key)
    if isinstance(owner, LibraryObject) and owner.kind == "TupleDataset":
        return dataset_rows(owner, key)
    if isinstance(owner, LibraryObject) and owner.kind == "MNIST":
        return UNKNOWN
    return UNKNOWN


def sequence_item(sequence, key):
    """seq[i] and seq[a:b] of a ChainList/ModuleList/Sequential. A slice of a torch container is a
    container of the same kind (a Sequential slice is callable); of a ChainList, a list."""
    if sequence.inexact:
        return UNKNOWN
    if isinstance(key, int) and not isinstance(key, bool):
        try:
            return sequence.children[key]
        except IndexError:
            return UNKNOWN
    if isinstance(key, slice):
        children = list(sequence.children[key])
        if isinstance(sequence, Container) and sequence.framework == "torch":
            return Container(sequence.kind, children, sequence.framework)
        return children
    return UNKNOWN


def rows_selected(n, key):
    """How many rows x[key] keeps out of n (None when not known)."""
    if isinstance(key, slice):
        if n is None:
            if key.start in (None, 0) and isinstance(key.stop, int) and key.stop >= 0 and key.step in (None, 1):
                return None  # at most key.stop; unknown
            return None
        return len(range(*key.indices(n)))
    if isinstance(key, Array):
        if key.shape is not None and len(key.shape) == 1:
            return key.shape[0]
        return None
    if isinstance(key, (list,)):
        return len(key)
    return None


def index_array(array: Array, key, site):
    shape = array.shape
    if shape is None:
        return array.with_shape(None)
    keys = key if isinstance(key, tuple) and not (key and key[0] == "slice") else (key,)
    result = []
    axis = 0
    keep_raw = True
    for k in keys:
        if k is Ellipsis:
            remaining = len(shape) - axis - (len(keys) - 1 - keys.index(k))
            result.extend(shape[axis:axis + remaining])
            axis += remaining
            continue
        if k is None:
            result.append(1)
            continue
        if axis >= len(shape):
            return array.with_shape(None)
        if isinstance(k, int) and not isinstance(k, bool):
            axis += 1
            keep_raw = False
            continue
        if isinstance(k, (slice, Array, list)) or (isinstance(k, tuple) and k and k[0] == "slice"):
            if isinstance(k, Array) and k.shape is not None and len(k.shape) > 1:
                return array.with_shape(None)
            result.append(rows_selected(shape[axis], k) if not isinstance(k, tuple) else None)
            if axis > 0:
                keep_raw = False
            axis += 1
            continue
        # an unknown index: an int (drops the axis) or an array/slice (keeps it); say so
        return array.with_shape(None)
    result.extend(shape[axis:])
    out = array.with_shape(result, keep_raw=keep_raw)
    return out


def iterate(interp, value, site):
    if isinstance(value, tuple) and value and value[0] == "once-items":
        return ("once", value[1], value[2])
    if isinstance(value, tuple) and value == ("range-unknown",):
        return ("once", UNKNOWN, None)
    if isinstance(value, Container) or isinstance(value, Instance) and value.sequence:
        return ("once", UNKNOWN, None) if value.inexact else list(value.children)
    if isinstance(value, Array):
        if value.shape:
            return ("once", value.with_shape(value.shape[1:]), value.shape[0])
        return ("once", UNKNOWN, None)
    if isinstance(value, LibraryObject):
        if value.kind == "TupleDataset":
            items = tuple(a.with_shape(a.shape[1:] if a.shape else None) for a in value.fields["arrays"])
            return ("once", items, value.fields["rows"])
        if value.kind == "Iterator":
            return ("once", value, None)
        if value.kind == "DataLoader":
            return ("once", loader_batch(value, site), None)
    return ("once", UNKNOWN, None)


def dataset_rows(dataset: LibraryObject, key):
    rows = rows_selected(dataset.fields["rows"], key)
    if isinstance(key, int):
        return tuple(a.with_shape(a.shape[1:]) if a.shape else a for a in dataset.fields["arrays"])
    arrays = [index_array(a, key, None) for a in dataset.fields["arrays"]]
    return LibraryObject("TupleDataset", {"arrays": arrays, "rows": rows})


# ----------------------------------------------------------------- calls

def call(interp, function, args, kwargs, site):
    if isinstance(function, Builtin):
        return function.function(interp, args, kwargs, site)
    if isinstance(function, (Layer, Container)):
        return layers.call_layer(interp, function, args, kwargs, site)
    if isinstance(function, ArrayMethod):
        return array_method(interp, function.array, function.name, args, kwargs, site)
    if isinstance(function, ValueMethod):
        return value_method(interp, function, args, kwargs, site)
    if isinstance(function, BoundLibraryMethod):
        return chain_method(interp, function, args, kwargs, site)
    if isinstance(function, ObjectMethod):
        return object_method(interp, function.owner, function.name, args, kwargs, site)
    if isinstance(function, LibraryObject):
        return call_object(interp, function, args, kwargs, site)
    if isinstance(function, LibraryRef):
        qualified = canonical(function.qualified)
        model = MODELS.get(qualified) or layers.MODELS.get(qualified)
        if model is None and qualified.startswith(QUIET_PREFIXES):
            return UNKNOWN
        if model is None:
            for prefix, shape_preserving in layers.SHAPE_PRESERVING_PREFIXES:
                if qualified.startswith(prefix) and qualified[len(prefix):] in shape_preserving:
                    return layers.preserve(args, site)
            if qualified.split(".")[0] in NOTED_LIBRARIES:
                interp.note(qualified, site)
            return UNKNOWN
        return model(interp, args, kwargs, site)
    return UNKNOWN


# APIs and arguments that only Chainer v1 has (all removed in v2): a program using them runs on v1,
# so its errors are predicted in v1's words unless --chainer-version says otherwise.
CHAINER_V1_APIS = {"chainer.FunctionSet", "chainer.functions.Linear", "chainer.functions.Convolution2D",
                   "chainer.cuda.init"}
CHAINER_V1_KEYWORDS = {"volatile", "use_cudnn", "wscale"}
CHAINER_V1_MODE_KEYWORDS = {"chainer.functions.dropout": "train", "chainer.functions.batch_normalization": "test"}


def chainer_v1_idiom(function, kwargs) -> str | None:
    """What in this call only Chainer v1 has, if anything."""
    if isinstance(function, LibraryRef):
        qualified = canonical(function.qualified)
        if not qualified.startswith("chainer"):
            return None
        if qualified in CHAINER_V1_APIS:
            return qualified.replace("chainer.functions.", "F.")
        mode = CHAINER_V1_MODE_KEYWORDS.get(qualified)
    elif isinstance(function, Layer) and function.framework == "chainer":
        mode = "test" if function.kind == "L.BatchNormalization" else None
    elif isinstance(function, ObjectMethod):
        return "optimizer.zero_grads()" if (function.owner.kind, function.name) == ("Optimizer", "zero_grads") \
            else None
    else:
        return None
    keyword = next((k for k in kwargs if k in CHAINER_V1_KEYWORDS or k == mode), None)
    return f"{keyword}=" if keyword else None


def value_method(interp, method: ValueMethod, args, kwargs, site):
    owner, name = method.value, method.name
    if name in ("append", "extend", "insert") and isinstance(owner, list):
        if name == "append":
            owner.append(args[0] if args else UNKNOWN)
        elif name == "extend":
            items = interp.iterate(args[0], site) if args else []
            if isinstance(items, list):
                owner.extend(items)
            else:
                interp.inexact_lists.add(id(owner))
        else:
            if len(args) == 2 and isinstance(args[0], int):
                owner.insert(args[0], args[1])
        if interp.multipliers:
            interp.inexact_lists.add(id(owner))  # appended in a loop interpreted once
        return None
    if not concrete(*args, *kwargs.values()) and name not in ("get", "items", "values", "keys", "pop"):
        return UNKNOWN
    try:
        result = getattr(owner, name)(*args, **kwargs)
    except Exception:
        return UNKNOWN
    if name in ("keys", "values", "items"):
        return list(result)
    return result


def chain_method(interp, method: BoundLibraryMethod, args, kwargs, site):
    owner, name = method.owner, method.name
    if name == "__init__" and isinstance(owner, Instance):
        return chain_init(interp, owner, args, kwargs, site)
    if isinstance(owner, Container) or isinstance(owner, Instance) and owner.sequence:
        if name in SEQUENCE_METHODS:
            return sequence_method(interp, owner, name, args, site)
    if not isinstance(owner, Instance):
        return UNKNOWN
    if name == "add_link" and len(args) >= 2 and isinstance(args[0], str):
        owner.attributes[args[0]] = args[1]
        layers.register_child(owner, args[0], args[1])
        return None
    if name == "add_module" and len(args) == 2 and isinstance(args[0], str):
        owner.attributes[args[0]] = args[1]
        layers.register_child(owner, args[0], args[1])
        return None
    if name in ("init_scope", "to_gpu", "to_cpu", "cuda", "cpu", "to", "eval", "train", "cleargrads",
                "zerograds", "zero_grad", "add_param", "add_persistent", "register_buffer", "copy"):
        return owner if name in ("to_gpu", "to_cpu", "cuda", "cpu", "to", "eval", "train") else UNKNOWN
    if name in ("parameters", "params", "namedparams", "children", "modules"):
        return UNKNOWN
    return UNKNOWN


SEQUENCE_METHODS = ("append", "add_link", "add_module", "extend", "insert")


def sequence_method(interp, sequence, name, args, site):
    """ChainList.append/add_link, ModuleList.append/extend/insert, Sequential.add_module/append."""
    if interp.multipliers:
        sequence.inexact = True  # appended in a loop interpreted once: how many is not known
    if name in ("append", "add_link", "add_module"):
        layers.append_child(sequence, args[-1] if args else UNKNOWN)
    elif name == "extend":
        items = interp.iterate(args[0], site) if args else UNKNOWN
        if isinstance(items, list):
            for item in items:
                layers.append_child(sequence, item)
        else:
            sequence.inexact = True
    elif len(args) == 2 and isinstance(args[0], int) and not sequence.inexact:
        sequence.children.insert(args[0], args[1])
        for index, child in enumerate(sequence.children):
            if isinstance(child, (Layer, Container, Instance)) and child.parent is sequence:
                child.name_in_parent = str(index)
        layers.set_parent(args[1], sequence, str(sequence.children.index(args[1])))
    else:
        sequence.inexact = True
    return None


def container_kind(bases: list[str]):
    """(framework, is a sequence) for user classes derived from a Chain/Module class."""
    for base in bases:
        base = canonical(base)
        if base in ("chainer.ChainList", "chainer.link.ChainList", "torch.nn.ModuleList", "torch.nn.Sequential"):
            return ("chainer" if base.startswith("chainer") else "torch"), True
        if base in ("chainer.Chain", "chainer.link.Chain", "chainer.Link", "chainer.link.Link"):
            return "chainer", False
        if base in ("torch.nn.Module", "torch.nn.modules.module.Module"):
            return "torch", False
    return None


def chain_init(interp, instance: Instance, args, kwargs, site):
    """Chain.__init__(**links) (v1), ChainList.__init__(*links), nn.ModuleList(modules),
    nn.Sequential(*modules)."""
    if instance.framework == "chainer" and not instance.sequence:
        for name, value in kwargs.items():
            instance.attributes[name] = value
            layers.register_child(instance, name, value)
        return None
    if instance.sequence:
        items = args
        if instance.framework == "torch" and len(args) == 1 and not layers.is_layer(args[0]):
            items = interp.iterate(args[0], site)
            if not isinstance(items, list):
                instance.inexact = True
                return None
        for item in items:
            layers.append_child(instance, item)
    return None


# ----------------------------------------------------------------- array methods

def array_method(interp, array: Array, name, args, kwargs, site):
    if name in ("astype", "copy", "detach", "cpu", "cuda", "numpy", "to", "float", "double", "clone",
                "contiguous", "get", "unchain_backward", "requires_grad_", "__array__", "long", "int", "half",
                "bool", "byte", "short", "type", "type_as", "pin_memory"):  # copies, devices and dtypes
        return array
    if name in ("reshape", "view"):
        shape = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else tuple(args)
        return reshape(array, shape, site, interp, "torch" if name == "view" else "array")
    if name == "flatten":  # numpy's flatten() and torch's Tensor.flatten(start_dim=0, end_dim=-1)
        return flatten(array, arg(args, kwargs, 0, "start_dim", 0), arg(args, kwargs, 1, "end_dim", -1))
    if name == "size":
        if array.shape is None:
            return UNKNOWN
        if args and isinstance(args[0], int):
            try:
                d = array.shape[args[0]]
            except IndexError:
                return UNKNOWN
            return UNKNOWN if d is None else d
        return tuple(UNKNOWN if d is None else d for d in array.shape)
    if name in REDUCTIONS:
        if name in ("max", "min") and (args or "dim" in kwargs):
            return UNKNOWN  # torch's x.max(dim) is a (values, indices) pair
        axis = kwargs.get("axis", kwargs.get("dim", args[0] if args else None))
        return reduce(array, axis, kwargs.get("keepdims", kwargs.get("keepdim", False)))
    if name in ("item", "tolist"):
        return UNKNOWN
    if name in ("backward", "zero_", "fill_"):
        return None
    if name == "t" or name == "transpose" and not args and array.shape is not None and len(array.shape) == 2:
        return _transpose_function(interp, [array], {}, site)  # a weight's transpose stays its own (tied decoders)
    if name in ("transpose", "permute"):
        axes = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else tuple(args)
        if name == "transpose" and len(axes) == 2 and array.shape is not None and len(array.shape) != 2:
            return swap_axes(array, *axes)  # torch's x.transpose(a, b) (numpy's takes all the axes)
        return permute(array, axes or None)
    if name == "squeeze":
        return squeeze(array, kwargs.get("axis", kwargs.get("dim", args[0] if args else None)))
    if name == "unsqueeze":
        return expand_dims(array, kwargs.get("dim", args[0] if args else UNKNOWN))
    interp.note(f"`.{name}()` of an array is not modelled: its result is unknown and not checked", site)
    return UNKNOWN


REDUCTIONS = ("sum", "mean", "max", "min", "argmax", "argmin", "std", "var", "prod", "any", "all")


def _axis_list(axis, ndim):
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    if not all(isinstance(a, int) and not isinstance(a, bool) and -ndim <= a < ndim for a in axes):
        return None
    return {a % ndim for a in axes}


def reduce(array: Array, axis, keepdims) -> Array:
    """x.sum(axis), np.mean(x, axis=...), F.sum(x, axis): the reduced axes dropped (kept as 1)."""
    if array.shape is None or not isinstance(keepdims, bool):
        return array.with_shape(None)
    if axis is None:
        return array.with_shape((1,) * len(array.shape) if keepdims else ())
    axes = _axis_list(axis, len(array.shape))
    if axes is None:
        return array.with_shape(None)
    return array.with_shape(tuple(1 if i in axes else d for i, d in enumerate(array.shape)
                                  if keepdims or i not in axes))


def permute(array: Array, axes) -> Array:
    if array.shape is None:
        return array.with_shape(None)
    if axes is None:
        return array.with_shape(tuple(reversed(array.shape)))
    if _axis_list(axes, len(array.shape)) is None or len(axes) != len(array.shape) \
            or len({a % len(array.shape) for a in axes}) != len(axes):
        return array.with_shape(None)
    return array.with_shape(tuple(array.shape[a] for a in axes))


def swap_axes(array: Array, a, b) -> Array:
    if array.shape is None or _axis_list((a, b), len(array.shape)) is None:
        return array.with_shape(None)
    shape = list(array.shape)
    shape[a], shape[b] = shape[b], shape[a]
    return array.with_shape(shape)


def squeeze(array: Array, axis) -> Array:
    if array.shape is None:
        return array.with_shape(None)
    if axis is None:
        if any(d is None for d in array.shape):
            return array.with_shape(None)  # a batch of 1 would go too
        return array.with_shape(tuple(d for d in array.shape if d != 1))
    axes = _axis_list(axis, len(array.shape))
    if axes is None or any(array.shape[a] not in (1, None) for a in axes):
        return array.with_shape(None) if axes is None else array.with_shape(array.shape)
    if any(array.shape[a] is None for a in axes):
        return array.with_shape(None)
    return array.with_shape(tuple(d for i, d in enumerate(array.shape) if i not in axes))


def expand_dims(array: Array, axis) -> Array:
    if array.shape is None or not isinstance(axis, int) or isinstance(axis, bool) \
            or not -len(array.shape) - 1 <= axis <= len(array.shape):
        return array.with_shape(None)
    shape = list(array.shape)
    shape.insert(axis % (len(shape) + 1), 1)
    return array.with_shape(shape)


def _reduction_function(axis_name, keepdims_name, pair_with_dim=False):
    """np.mean(a, axis=None, ..., keepdims), torch.sum(input, dim, keepdim), F.sum(x, axis, keepdims)."""
    def model(interp, args, kwargs, site):
        x = args[0] if args else UNKNOWN
        if not isinstance(x, Array):
            return UNKNOWN
        axis = arg(args, kwargs, 1, axis_name, None)
        if pair_with_dim and axis is not None:
            return UNKNOWN  # torch.max(x, dim) is a (values, indices) pair
        return reduce(x, axis, kwargs.get(keepdims_name, False))
    return model


def _axis_function(operation, axis_name):
    def model(interp, args, kwargs, site):
        x = args[0] if args else UNKNOWN
        if not isinstance(x, Array):
            return UNKNOWN
        return operation(x, arg(args, kwargs, 1, axis_name, None))
    return model


# ----------------------------------------------------------------- objects (optimizers, datasets...)

def object_method(interp, owner: LibraryObject, name, args, kwargs, site):
    handler = OBJECT_METHODS.get((owner.kind, name))
    if handler is None:
        return UNKNOWN
    return handler(interp, owner, args, kwargs, site)


def call_object(interp, owner: LibraryObject, args, kwargs, site):
    if owner.kind == "Classifier":
        predictor = owner.fields["predictor"]
        interp.call(predictor, args[:1], {}, site)
        return new_array((), site, "loss")
    if owner.kind == "Iterator":
        return UNKNOWN
    return UNKNOWN


def _optimizer_setup(interp, owner, args, kwargs, site):
    owner.fields["target"] = args[0] if args else UNKNOWN
    return None


def _optimizer_update(interp, owner, args, kwargs, site):
    lossfun = arg(args, kwargs, 0, "lossfun", None)
    rest = args[1:]
    if lossfun is None:
        interp.count_update()
        return None
    interp.call(lossfun, list(rest), {k: v for k, v in kwargs.items() if k != "lossfun"}, site)
    interp.count_update()
    return None


def _optimizer_step(interp, owner, args, kwargs, site):
    interp.count_update()
    return None


def _iterator_next(interp, owner, args, kwargs, site):
    return owner


def _trainer_extend(interp, owner, args, kwargs, site):
    extension = args[0] if args else UNKNOWN
    if isinstance(extension, LibraryObject) and extension.kind == "Evaluator":
        owner.fields.setdefault("evaluators", []).append(extension)
    return None


def _trainer_run(interp, owner, args, kwargs, site):
    updater = owner.fields.get("updater")
    if isinstance(updater, LibraryObject):
        iterator = updater.fields.get("iterator")
        optimizer = updater.fields.get("optimizer")
        target = optimizer.fields.get("target") if isinstance(optimizer, LibraryObject) else UNKNOWN
        lossfun = updater.fields.get("loss_func")
        if lossfun is None or lossfun is UNKNOWN:
            lossfun = target
        batch = batch_arrays(iterator, site)
        if batch is not None:
            interp.multipliers.append(None)
            try:
                interp.call(lossfun, list(batch), {}, site)
                interp.count_update()
            finally:
                interp.multipliers.pop()
    for evaluator in owner.fields.get("evaluators", []):
        batch = batch_arrays(evaluator.fields.get("iterator"), site)
        if batch is not None:
            interp.call(evaluator.fields.get("target"), list(batch), {}, site)
    return None


def batch_arrays(iterator, site):
    """What concat_examples makes of one batch of an iterator: a tuple of arrays."""
    if not isinstance(iterator, LibraryObject) or iterator.kind != "Iterator":
        return None
    dataset = iterator.fields.get("dataset")
    batch = iterator.fields.get("batch_size")
    rows = batch if isinstance(batch, int) else None
    if isinstance(dataset, LibraryObject) and dataset.kind == "TupleDataset":
        return tuple(a.with_shape((rows,) + tuple(a.shape[1:]) if a.shape else None, keep_raw=True)
                     .then(site, "a minibatch") for a in dataset.fields["arrays"])
    if isinstance(dataset, Array) and dataset.shape:
        return (dataset.with_shape((rows,) + tuple(dataset.shape[1:]), keep_raw=True).then(site, "a minibatch"),)
    return None


def loader_batch(loader: LibraryObject, site):
    dataset = loader.fields.get("dataset")
    rows = loader.fields.get("batch_size") if isinstance(loader.fields.get("batch_size"), int) else None
    if isinstance(dataset, LibraryObject) and dataset.kind == "TupleDataset":
        return [a.with_shape((rows,) + tuple(a.shape[1:]) if a.shape else None, keep_raw=True)
                for a in dataset.fields["arrays"]]
    return UNKNOWN


OBJECT_METHODS = {
    ("Optimizer", "setup"): _optimizer_setup,
    ("Optimizer", "update"): _optimizer_update,
    ("Optimizer", "step"): _optimizer_step,
    ("Iterator", "next"): _iterator_next,
    ("Iterator", "__next__"): _iterator_next,
    ("Trainer", "extend"): _trainer_extend,
    ("Trainer", "run"): _trainer_run,
}


# ----------------------------------------------------------------- argparse

def _argument_parser(interp, args, kwargs, site):
    return LibraryObject("ArgumentParser", {"arguments": [], "defaults": {}})


def _add_argument(interp, parser, args, kwargs, site):
    flags = [a for a in args if isinstance(a, str)]
    if not flags:
        return None
    long_flags = [f for f in flags if f.startswith("--")]
    dest = kwargs.get("dest")
    if not isinstance(dest, str):
        dest = (long_flags[0] if long_flags else flags[0]).lstrip("-").replace("-", "_")
    action = kwargs.get("action", "store")
    if action == "store_true":
        default = kwargs.get("default", False)
    elif action == "store_false":
        default = kwargs.get("default", True)
    else:
        default = kwargs.get("default", None)
    kind = kwargs.get("type")
    if isinstance(default, str) and isinstance(kind, Builtin) and kind.name in ("int", "float"):
        default = kind.function(interp, [default], {}, site)
    parser.fields["arguments"].append({"flags": flags, "dest": dest, "default": default, "type": kind,
                                       "action": action, "positional": not flags[0].startswith("-"),
                                       "nargs": kwargs.get("nargs"), "const": kwargs.get("const")})
    return None


def _convert(interp, value: str, kind, site):
    if isinstance(kind, Builtin):
        return kind.function(interp, [value], {}, site)
    if kind is None:
        return value
    return UNKNOWN


def _parse_args(interp, parser, args, kwargs, site):
    """What argparse makes of the script arguments (after `--`) and the --set overrides."""
    arguments = parser.fields["arguments"]
    values = {a["dest"]: a["default"] for a in arguments}
    values.update(parser.fields["defaults"])
    by_flag = {flag: a for a in arguments for flag in a["flags"] if flag.startswith("-")}
    positionals = [a for a in arguments if a["positional"]]
    tokens = list(interp.script_args)
    position = 0
    while tokens:
        token = tokens.pop(0)
        value = None
        if token.startswith("-") and "=" in token:
            token, value = token.split("=", 1)
        spec = by_flag.get(token)
        if spec is None:
            if not token.startswith("-") and position < len(positionals):
                spec = positionals[position]
                position += 1
                values[spec["dest"]] = _convert(interp, token, spec["type"], site)
            elif token.startswith("-") and not _is_number(token):
                interp.note(f"script argument {token}: the script has no such option", site)
            continue
        dest, action, nargs = spec["dest"], spec["action"], spec["nargs"]
        if action in ("store_true", "store_false", "store_const"):
            values[dest] = {"store_true": True, "store_false": False}.get(action, spec.get("const"))
        elif action == "count":
            values[dest] = (values[dest] or 0) + 1 if isinstance(values[dest], int) or values[dest] is None else UNKNOWN
        elif nargs in ("+", "*") or isinstance(nargs, int) and not isinstance(nargs, bool):
            texts = [] if value is None else [value]
            while tokens and (not tokens[0].startswith("-") or _is_number(tokens[0])) \
                    and not (isinstance(nargs, int) and len(texts) >= nargs):
                texts.append(tokens.pop(0))
            values[dest] = [_convert(interp, text, spec["type"], site) for text in texts]
        else:
            if value is None and tokens and (nargs != "?" or not tokens[0].startswith("-")):
                value = tokens.pop(0)
            converted = _convert(interp, value, spec["type"], site) if value is not None else \
                (spec.get("const") if nargs == "?" else UNKNOWN)
            if action == "append":
                converted = (list(values[dest]) if isinstance(values[dest], list) else []) + [converted]
            values[dest] = converted
    interp.options_seen.extend(a["dest"] for a in arguments if a["dest"] not in interp.options_seen)
    for name, text in interp.overrides.items():
        spec = next((a for a in arguments if a["dest"] == name), None)
        if spec is None:
            continue  # a usage error unless another parser of the script has it (Interpreter.run)
        interp.overrides_used.add(name)
        if spec["action"] in ("store_true", "store_false"):
            values[name] = text.lower() in ("1", "true", "yes", "on")
        elif spec["nargs"] in ("+", "*") or isinstance(spec["nargs"], int) or spec["action"] == "append":
            # --set units=784,250,10 (or space-separated): the list the option's words make
            values[name] = [_convert(interp, part, spec["type"], site) for part in text.replace(",", " ").split()]
        else:
            values[name] = _convert(interp, text, spec["type"], site)
    for a in positionals:
        if values.get(a["dest"]) is None and a["nargs"] not in ("?", "*"):
            values[a["dest"]] = UNKNOWN
    return LibraryObject("Namespace", values)


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _parse_known_args(interp, parser, args, kwargs, site):
    return (_parse_args(interp, parser, args, kwargs, site), [])


def _set_defaults(interp, parser, args, kwargs, site):
    parser.fields["defaults"].update(kwargs)
    return None


def _same_parser(interp, parser, args, kwargs, site):
    return parser


OBJECT_METHODS.update({
    ("ArgumentParser", "add_argument"): _add_argument,
    ("ArgumentParser", "parse_args"): _parse_args,
    ("ArgumentParser", "parse_known_args"): _parse_known_args,
    ("ArgumentParser", "set_defaults"): _set_defaults,
    ("ArgumentParser", "add_argument_group"): _same_parser,
    ("ArgumentParser", "add_mutually_exclusive_group"): _same_parser,
})


# ----------------------------------------------------------------- data sources

MNIST_EMBEDDED = (4000, 1000)  # netport.data's embedded subset: train, test rows


MNIST_ITEM = {1: (784,), 2: (28, 28), 3: (1, 28, 28)}


def _load_mnist(interp, args, kwargs, site):
    path = arg(args, kwargs, 0, "path", None)
    ndim = kwargs.get("ndim", 1)
    item = MNIST_ITEM.get(ndim) if isinstance(ndim, int) else None
    train_rows, test_rows = MNIST_EMBEDDED if path is None else (None, None)
    where = "the embedded subset" if path is None else "a file"
    item_text = ", ".join(map(str, item)) if item else "?"

    def images(rows, name):
        shape = (rows,) + item if item else None
        return new_array(shape, site, f"load_mnist(ndim={ndim}) ({where}): {name} (N, {item_text})", raw_input=True)

    fields = {
        "x_train": images(train_rows, "x_train"),
        "y_train": new_array((train_rows,), site, "load_mnist(): y_train"),
        "x_test": images(test_rows, "x_test"),
        "y_test": new_array((test_rows,), site, "load_mnist(): y_test"),
        "source": UNKNOWN,
    }
    return LibraryObject("MNIST", fields)


def _get_mnist(interp, args, kwargs, site):
    withlabel = arg(args, kwargs, 0, "withlabel", True)
    ndim = arg(args, kwargs, 1, "ndim", 1)
    item = {1: (784,), 2: (28, 28), 3: (1, 28, 28)}.get(ndim) if isinstance(ndim, int) else None
    datasets = []
    for rows, split in ((60000, "train"), (10000, "test")):
        x = new_array((rows,) + item if item else None, site,
                      f"get_mnist(ndim={ndim}) {split} images {('(N, ' + ', '.join(map(str, item)) + ')') if item else ''}",
                      raw_input=True)
        if withlabel is False:
            datasets.append(x)
        else:
            datasets.append(LibraryObject("TupleDataset", {"arrays": [x, new_array((rows,), site, "labels")],
                                                           "rows": rows}))
    return tuple(datasets)


def _tuple_dataset(interp, args, kwargs, site):
    """TupleDataset(x, t) / TensorDataset(x, y): a member the checker does not know stays an array
    of unknown shape, and the others are still followed."""
    if not args or not any(isinstance(a, Array) for a in args):
        return UNKNOWN
    arrays = [a if isinstance(a, Array) else new_array(None, site, "a dataset member not followed") for a in args]
    rows = next((a.shape[0] for a in arrays if a.shape), None)
    return LibraryObject("TupleDataset", {"arrays": arrays, "rows": rows})


def _serial_iterator(interp, args, kwargs, site):
    return LibraryObject("Iterator", {"dataset": arg(args, kwargs, 0, "dataset"),
                                      "batch_size": arg(args, kwargs, 1, "batch_size")})


def _concat_examples(interp, args, kwargs, site):
    batch = arg(args, kwargs, 0, "batch")
    arrays = batch_arrays(batch, site)
    if arrays is None:
        return UNKNOWN
    return arrays if len(arrays) > 1 else arrays[0]


def _updater(interp, args, kwargs, site):
    return LibraryObject("Updater", {"iterator": arg(args, kwargs, 0, "iterator"),
                                     "optimizer": arg(args, kwargs, 1, "optimizer"),
                                     "loss_func": kwargs.get("loss_func")})


def _trainer(interp, args, kwargs, site):
    return LibraryObject("Trainer", {"updater": arg(args, kwargs, 0, "updater")})


def _evaluator(interp, args, kwargs, site):
    return LibraryObject("Evaluator", {"iterator": arg(args, kwargs, 0, "iterator"),
                                       "target": arg(args, kwargs, 1, "target")})


def _optimizer(interp, args, kwargs, site):
    return LibraryObject("Optimizer", {"target": None})


def _classifier(interp, args, kwargs, site):
    predictor = arg(args, kwargs, 0, "predictor")
    classifier = LibraryObject("Classifier", {"predictor": predictor})
    if layers.is_layer(predictor):
        layers.set_parent(predictor, classifier, "predictor")
    return classifier


def _bare_chain(framework: str, sequence: bool, name: str):
    """chainer.Chain() / FunctionSet(**links) / nn.Module() made directly, links set as attributes."""
    from netport.shapes.values import ClassValue

    def model(interp, args, kwargs, site):
        instance = Instance(ClassValue(name, [], {}, site.path), framework=framework, sequence=sequence)
        chain_init(interp, instance, args, kwargs, site)
        return instance
    return model


def _quiet(interp, args, kwargs, site):
    """An API with no bearing on shapes (initialisers, saving, devices, config scopes)."""
    return UNKNOWN


QUIET_PREFIXES = ("torch.nn.init.", "chainer.initializers.", "chainer.serializers.", "chainer.optimizer_hooks.",
                  "chainer.optimizer.", "torch.save", "torch.load", "torch.device", "torch.no_grad",
                  "torch.enable_grad", "torch.backends.", "torch.cuda.", "chainer.using_config", "chainer.no_backprop_mode",
                  "chainer.force_backprop_mode", "chainer.cuda.get_device", "chainer.backends.cuda.get_device",
                  "chainer.Parameter", "torch.nn.Parameter", "torch.set_num_threads", "torch.use_deterministic",
                  "chainer.config", "chainer.set_debug", "chainer.training.extensions.", "torch.full",
                  "chainer.cuda.check_cuda_available", "numpy.random.RandomState", "numpy.savez", "numpy.save",
                  "chainer.training.triggers.")


def _data_loader(interp, args, kwargs, site):
    return LibraryObject("DataLoader", {"dataset": arg(args, kwargs, 0, "dataset"),
                                        "batch_size": arg(args, kwargs, 1, "batch_size", 1)})


def _tensor_dataset(interp, args, kwargs, site):
    return _tuple_dataset(interp, args, kwargs, site)


def _partial(interp, args, kwargs, site):
    if not args:
        return UNKNOWN
    return Partial(args[0], list(args[1:]), dict(kwargs))


def _passthrough(interp, args, kwargs, site):
    value = args[0] if args else UNKNOWN
    return value if isinstance(value, Array) else UNKNOWN


def _array_from(interp, args, kwargs, site):
    value = args[0] if args else UNKNOWN
    if isinstance(value, Array):
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, Array) for v in value):
        first = value[0]
        if first.shape is not None and all(v.shape == first.shape for v in value):
            rows = None if id(value) in interp.inexact_lists else len(value)
            return first.with_shape((rows,) + first.shape)
        return first.with_shape(None)
    return UNKNOWN


def _creation(interp, args, kwargs, site):
    shape = as_shape(arg(args, kwargs, 0, "shape"))
    return new_array(shape, site, "a new array") if shape is not None else UNKNOWN


def _creation_dims(interp, args, kwargs, site):
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        shape = as_shape(args[0])
    else:
        shape = as_shape(tuple(args))
    if "size" in kwargs:
        shape = as_shape(kwargs["size"])
    return new_array(shape, site, "a new array") if shape is not None else UNKNOWN


def _randint(interp, args, kwargs, site):
    """torch.randint(high, size) / torch.randint(low, high, size)."""
    size = kwargs.get("size", args[-1] if len(args) in (2, 3) else UNKNOWN)
    shape = as_shape(size) if isinstance(size, (tuple, list)) else None
    return new_array(shape, site, "random integers") if shape is not None else UNKNOWN


def _random_sized(interp, args, kwargs, site):
    shape = as_shape(kwargs.get("size", args[2] if len(args) > 2 else UNKNOWN))
    return new_array(shape, site, "a random array") if shape is not None else UNKNOWN


def _permutation(interp, args, kwargs, site):
    n = args[0] if args else UNKNOWN
    if isinstance(n, int):
        return new_array((n,), site, "a permutation")
    if isinstance(n, Array) and n.shape:
        return n.with_shape(n.shape)
    return new_array((None,), site, "a permutation")


def _array_sequence(interp, value):
    """(arrays, exact) for the sequence argument of concatenate/stack, or None when not all arrays."""
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(a, Array) for a in value):
        return None
    return list(value), id(value) not in interp.inexact_lists


def concatenate_shapes(arrays, axis, exact, site):
    shapes = [a.shape for a in arrays]
    if any(s is None for s in shapes) or len({len(s) for s in shapes}) != 1 or not shapes[0] \
            or not isinstance(axis, int) or isinstance(axis, bool) or not -len(shapes[0]) <= axis < len(shapes[0]):
        return arrays[0].with_shape(None)
    n = len(shapes[0])
    axis %= n
    result = []
    for i in range(n):
        dims = [s[i] for s in shapes]
        if i == axis:
            result.append(sum(dims) if exact and all(d is not None for d in dims) else None)
        else:
            known = [d for d in dims if d is not None]
            result.append(known[0] if known else None)
    return arrays[0].with_shape(result, keep_raw=False).then(site, "concatenated")


def _concatenation(sequence_name, axis_name, default_axis, promote=None):
    """np.concatenate(arrays, axis=0), np.vstack/hstack/column_stack (which first promote 0-D and
    1-D arrays), torch.cat(tensors, dim=0), F.concat(xs, axis=1)."""
    def model(interp, args, kwargs, site):
        found = _array_sequence(interp, arg(args, kwargs, 0, sequence_name))
        axis = arg(args, kwargs, 1, axis_name, default_axis)
        if found is None:
            return UNKNOWN
        arrays, exact = found
        if promote is not None:
            if any(a.shape is None for a in arrays):
                return arrays[0].with_shape(None)
            arrays, axis = promote(arrays)
        return concatenate_shapes(arrays, axis, exact, site)
    return model


def _vstack_promote(arrays):  # np.atleast_2d: (n,) -> (1, n)
    return [a.with_shape((1,) * (2 - len(a.shape)) + tuple(a.shape)) if len(a.shape) < 2 else a
            for a in arrays], 0


def _hstack_promote(arrays):  # 1-D arrays are joined end to end, others along axis 1
    arrays = [a.with_shape((1,)) if len(a.shape) == 0 else a for a in arrays]
    return arrays, 0 if all(len(a.shape) == 1 for a in arrays) else 1


def _column_stack_promote(arrays):  # 1-D arrays become columns
    return [a.with_shape((a.shape[0], 1)) if len(a.shape) == 1 else a for a in arrays], 1


def _stacking(sequence_name, axis_name):
    """np.stack(arrays, axis=0), torch.stack(tensors, dim=0), F.stack(xs, axis=0): a new axis."""
    def model(interp, args, kwargs, site):
        found = _array_sequence(interp, arg(args, kwargs, 0, sequence_name))
        axis = arg(args, kwargs, 1, axis_name, 0)
        if found is None:
            return UNKNOWN
        arrays, exact = found
        shapes = {a.shape for a in arrays}
        first = arrays[0]
        if None in shapes or len(shapes) != 1 or not isinstance(axis, int) or isinstance(axis, bool) \
                or not -len(first.shape) - 1 <= axis <= len(first.shape):
            return first.with_shape(None)
        axis %= len(first.shape) + 1
        shape = list(first.shape)
        shape.insert(axis, len(arrays) if exact else None)
        return first.with_shape(shape).then(site, "stacked")
    return model


def _reshape_function(how):
    """F.reshape(x, shape) ("function": Chainer's message), np.reshape(a, newshape), torch.reshape(input, shape)."""
    def model(interp, args, kwargs, site):
        x = arg(args, kwargs, 0, "x", arg(args, kwargs, None, "a", arg(args, kwargs, None, "input")))
        shape = arg(args, kwargs, 1, "shape", arg(args, kwargs, None, "newshape"))
        if isinstance(x, Array):
            return reshape(x, shape, site, interp, how)
        return UNKNOWN
    return model


def _transpose_function(interp, args, kwargs, site):
    x = args[0] if args else UNKNOWN
    axes = arg(args, kwargs, 1, "axes", None)
    if isinstance(x, Array) and x.shape is not None:
        if axes is None:
            return Array(tuple(reversed(x.shape)), x.flow, False, owner=("transposed", x.owner))
        if isinstance(axes, (tuple, list)) and all(isinstance(a, int) for a in axes) and len(axes) == len(x.shape):
            return x.with_shape(tuple(x.shape[a] for a in axes))
    return UNKNOWN


def _torch_transpose(interp, args, kwargs, site):
    x = args[0] if args else UNKNOWN
    if isinstance(x, Array) and x.shape is not None and len(args) == 3 and all(isinstance(a, int) for a in args[1:]):
        shape = list(x.shape)
        a, b = args[1], args[2]
        shape[a], shape[b] = shape[b], shape[a]
        return Array(tuple(shape), x.flow, False, owner=("transposed", x.owner) if len(shape) == 2 else None)
    return UNKNOWN


def _torch_flatten(interp, args, kwargs, site):
    x = args[0] if args else UNKNOWN
    start = arg(args, kwargs, 1, "start_dim", 0)
    end = arg(args, kwargs, 2, "end_dim", -1)
    return flatten(x, start, end) if isinstance(x, Array) else UNKNOWN


def _chainer_flatten(interp, args, kwargs, site):
    x = args[0] if args else UNKNOWN
    return flatten(x) if isinstance(x, Array) else UNKNOWN


def _scalar_loss(interp, args, kwargs, site):
    return new_array((), site, "a loss")


def _dot(interp, args, kwargs, site):
    if len(args) >= 2 and isinstance(args[0], Array) and isinstance(args[1], Array):
        return matmul(args[0], args[1], site)
    return UNKNOWN


def _train_test_split(interp, args, kwargs, site):
    return UNKNOWN


def _split(interp, args, kwargs, site):
    x = args[0] if args else UNKNOWN
    sections = arg(args, kwargs, 1, "indices_or_sections")
    axis = arg(args, kwargs, 2, "axis", 0)
    if not isinstance(x, Array) or x.shape is None or not isinstance(axis, int):
        return UNKNOWN
    n = x.shape[axis]
    if isinstance(sections, int) and n is not None and n % sections == 0:
        size = n // sections
        return [x.with_shape(x.shape[:axis] + (size,) + x.shape[axis + 1:], keep_raw=True) for _ in range(sections)]
    if isinstance(sections, (list, tuple)) and all(isinstance(s, int) for s in sections):
        bounds = [0, *sections, n]
        parts = []
        for start, stop in zip(bounds, bounds[1:]):
            size = (stop - start) if stop is not None else None
            parts.append(x.with_shape(x.shape[:axis] + (size,) + x.shape[axis + 1:], keep_raw=True))
        return parts
    return UNKNOWN


def _as_tensor(interp, args, kwargs, site):
    value = args[0] if args else UNKNOWN
    return value if isinstance(value, Array) else UNKNOWN


MODELS = {
    "argparse.ArgumentParser": _argument_parser,
    "functools.partial": _partial,
    "netport.data.load_mnist": _load_mnist,
    "chainer.datasets.get_mnist": _get_mnist,
    "chainer.datasets.mnist.get_mnist": _get_mnist,
    "chainer.datasets.TupleDataset": _tuple_dataset,
    "chainer.iterators.SerialIterator": _serial_iterator,
    "chainer.iterators.MultiprocessIterator": _serial_iterator,
    "chainer.dataset.concat_examples": _concat_examples,
    "chainer.dataset.convert.concat_examples": _concat_examples,
    "chainer.training.StandardUpdater": _updater,
    "chainer.training.updaters.StandardUpdater": _updater,
    "chainer.training.updater.StandardUpdater": _updater,
    "chainer.training.Trainer": _trainer,
    "chainer.training.extensions.Evaluator": _evaluator,
    "chainer.links.Classifier": _classifier,
    "chainer.Variable": _passthrough,
    "chainer.Chain": _bare_chain("chainer", False, "Chain"),
    "chainer.FunctionSet": _bare_chain("chainer", False, "FunctionSet"),
    "torch.nn.Module": _bare_chain("torch", False, "Module"),
    "chainer.cuda.to_cpu": _passthrough,
    "chainer.cuda.to_gpu": _passthrough,
    "chainer.backends.cuda.to_cpu": _passthrough,
    "chainer.as_variable": _passthrough,
    "chainer.functions.reshape": _reshape_function("function"),
    "chainer.functions.transpose": _transpose_function,
    "chainer.functions.flatten": _chainer_flatten,
    "chainer.functions.mean_squared_error": _scalar_loss,
    "chainer.functions.softmax_cross_entropy": _scalar_loss,
    "chainer.functions.sigmoid_cross_entropy": _scalar_loss,
    "chainer.functions.accuracy": _scalar_loss,
    "torch.utils.data.DataLoader": _data_loader,
    "torch.utils.data.TensorDataset": _tensor_dataset,
    "torch.as_tensor": _as_tensor,
    "torch.tensor": _as_tensor,
    "torch.from_numpy": _as_tensor,
    "torch.flatten": _torch_flatten,
    "torch.reshape": _reshape_function("torch"),
    "torch.transpose": _torch_transpose,
    "torch.t": _transpose_function,
    "torch.zeros": _creation_dims,
    "torch.ones": _creation_dims,
    "torch.randn": _creation_dims,
    "torch.rand": _creation_dims,
    "torch.randint": _randint,
    "torch.empty": _creation_dims,
    "torch.nn.functional.mse_loss": _scalar_loss,
    "torch.nn.functional.cross_entropy": _scalar_loss,
    "torch.nn.functional.binary_cross_entropy": _scalar_loss,
    "numpy.asarray": _array_from,
    "numpy.array": _array_from,
    "numpy.ascontiguousarray": _array_from,
    "numpy.zeros": _creation,
    "numpy.ones": _creation,
    "numpy.empty": _creation,
    "numpy.full": _creation,
    "numpy.zeros_like": _passthrough,
    "numpy.ones_like": _passthrough,
    "numpy.random.rand": _creation_dims,
    "numpy.random.randn": _creation_dims,
    "numpy.random.random": _creation,
    "numpy.random.uniform": _random_sized,
    "numpy.random.normal": _random_sized,
    "numpy.random.binomial": _random_sized,
    "numpy.random.permutation": _permutation,
    "numpy.concatenate": _concatenation("arrays", "axis", 0),
    "numpy.vstack": _concatenation("tup", None, 0, _vstack_promote),
    "numpy.row_stack": _concatenation("tup", None, 0, _vstack_promote),
    "numpy.hstack": _concatenation("tup", None, 0, _hstack_promote),
    "numpy.column_stack": _concatenation("tup", None, 0, _column_stack_promote),
    "numpy.stack": _stacking("arrays", "axis"),
    "torch.cat": _concatenation("tensors", "dim", 0),
    "torch.concat": _concatenation("tensors", "dim", 0),
    "torch.stack": _stacking("tensors", "dim"),
    "chainer.functions.concat": _concatenation("xs", "axis", 1),
    "chainer.functions.stack": _stacking("xs", "axis"),
    "numpy.reshape": _reshape_function("array"),
    "numpy.transpose": _transpose_function,
    "numpy.dot": _dot,
    "numpy.matmul": _dot,
    "numpy.split": _split,
    "numpy.array_split": _split,
    "numpy.random.seed": lambda interp, args, kwargs, site: None,
    "torch.manual_seed": lambda interp, args, kwargs, site: None,
    "sklearn.model_selection.train_test_split": _train_test_split,
}

for _name in ("sum", "mean", "max", "min", "std", "var", "prod", "argmax", "argmin", "amax", "amin"):
    MODELS[f"numpy.{_name}"] = _reduction_function("axis", "keepdims")
for _name in ("sum", "mean", "max", "min", "prod", "argmax", "argmin"):
    MODELS[f"chainer.functions.{_name}"] = _reduction_function("axis", "keepdims")
for _name in ("sum", "mean", "std", "var", "prod", "argmax", "argmin", "amax", "amin"):
    MODELS[f"torch.{_name}"] = _reduction_function("dim", "keepdim")
MODELS["torch.max"] = MODELS["torch.min"] = _reduction_function("dim", "keepdim", pair_with_dim=True)
MODELS["numpy.squeeze"] = MODELS["chainer.functions.squeeze"] = _axis_function(squeeze, "axis")
MODELS["torch.squeeze"] = _axis_function(squeeze, "dim")
MODELS["numpy.expand_dims"] = MODELS["chainer.functions.expand_dims"] = _axis_function(expand_dims, "axis")
MODELS["torch.unsqueeze"] = _axis_function(expand_dims, "dim")

for _name in ("Adam", "MomentumSGD", "SGD", "AdaGrad", "AdaDelta", "RMSprop", "NesterovAG", "RMSpropGraves"):
    MODELS[f"chainer.optimizers.{_name}"] = _optimizer
for _name in ("Adam", "SGD", "Adagrad", "Adadelta", "RMSprop", "AdamW"):
    MODELS[f"torch.optim.{_name}"] = _optimizer
