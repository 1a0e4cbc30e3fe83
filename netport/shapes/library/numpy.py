"""numpy, and the arrays of all three libraries.

A numpy ndarray, a Chainer Variable and a torch Tensor are one Array value: their attributes
(x.shape, x.T), methods (x.reshape, x.view, x.sum, x.size()) and arithmetic are modelled here. So are
the array functions torch and Chainer share with numpy (concatenate/cat/concat, stack, reductions,
reshape, transpose): each library registers them under its own names with the factories below.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass

from netport.shapes import layers
from netport.shapes.arrays import (
    as_shape, broadcast, expand_dims, flatten, matmul, new_array, permute, reduce, remember_unflattened, squeeze,
    swap_axes,
)
from netport.shapes.library.registry import argument, register_models, register_quiet
from netport.shapes.values import UNKNOWN, Array


@dataclass(eq=False)
class ArrayMethod:
    array: Array
    name: str


# ----------------------------------------------------------------- arrays: attributes, methods, arithmetic

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


def array_method(interp, array: Array, name, args, kwargs, site):
    if name in ("astype", "copy", "detach", "cpu", "cuda", "numpy", "to", "float", "double", "clone",
                "contiguous", "get", "unchain_backward", "requires_grad_", "__array__", "long", "int", "half",
                "bool", "byte", "short", "type", "type_as", "pin_memory"):  # copies, devices and dtypes
        return array
    if name in ("reshape", "view"):
        shape = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else tuple(args)
        return reshape(array, shape, site, interp, "torch" if name == "view" else "array")
    if name == "flatten":  # numpy's flatten() and torch's Tensor.flatten(start_dim=0, end_dim=-1)
        return flatten(array, argument(args, kwargs, 0, "start_dim", 0), argument(args, kwargs, 1, "end_dim", -1))
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
        return transpose_function(interp, [array], {}, site)  # a weight's transpose stays its own (tied decoders)
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


def array_binary(interp, op, left, right, site):
    if isinstance(left, Array) and isinstance(right, Array):
        if op is ast.MatMult:
            return matmul(left, right, site)
        return left.with_shape(broadcast(left.shape, right.shape))
    array = left if isinstance(left, Array) else right
    if op is ast.MatMult:
        return array.with_shape(None)
    return array.with_shape(array.shape)


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
    return remember_unflattened(array, array.with_shape(target).then(site, "reshaped"))


# ----------------------------------------------------------------- array functions

def passthrough(interp, args, kwargs, site):
    """np.zeros_like(x), chainer.Variable(x), to_cpu(x), torch.tensor(x)...: an array of the same shape."""
    value = args[0] if args else UNKNOWN
    return value if isinstance(value, Array) else UNKNOWN


def _literal_shape(value):
    """The shape of nested lists or tuples of numbers (np.array([[1, 2], [3, 4]])), or None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) or isinstance(value, bool):
        return ()
    if not isinstance(value, (list, tuple)) or not value:
        return None
    inner = {_literal_shape(item) for item in value}
    if len(inner) != 1 or None in inner:
        return None
    return (len(value),) + inner.pop()


def _array_from(interp, args, kwargs, site):
    value = args[0] if args else UNKNOWN
    if isinstance(value, Array):
        return value
    if isinstance(value, (list, tuple)) and id(value) not in interp.inexact_lists:
        literal = _literal_shape(value)
        if literal is not None:
            return new_array(literal, site, "an array of literal numbers")
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, Array) for v in value):
        first = value[0]
        if first.shape is not None and all(v.shape == first.shape for v in value):
            rows = None if id(value) in interp.inexact_lists else len(value)
            return first.with_shape((rows,) + first.shape)
        return first.with_shape(None)
    return UNKNOWN


def _creation(interp, args, kwargs, site):
    shape = as_shape(argument(args, kwargs, 0, "shape"))
    return new_array(shape, site, "a new array") if shape is not None else UNKNOWN


def creation_dims(interp, args, kwargs, site):
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        shape = as_shape(args[0])
    else:
        shape = as_shape(tuple(args))
    if "size" in kwargs:
        shape = as_shape(kwargs["size"])
    return new_array(shape, site, "a new array") if shape is not None else UNKNOWN


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


def concatenation(sequence_name, axis_name, default_axis, promote=None):
    """np.concatenate(arrays, axis=0), np.vstack/hstack/column_stack (which first promote 0-D and
    1-D arrays), torch.cat(tensors, dim=0), F.concat(xs, axis=1)."""
    def model(interp, args, kwargs, site):
        found = _array_sequence(interp, argument(args, kwargs, 0, sequence_name))
        axis = argument(args, kwargs, 1, axis_name, default_axis)
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


def stacking(sequence_name, axis_name):
    """np.stack(arrays, axis=0), torch.stack(tensors, dim=0), F.stack(xs, axis=0): a new axis."""
    def model(interp, args, kwargs, site):
        found = _array_sequence(interp, argument(args, kwargs, 0, sequence_name))
        axis = argument(args, kwargs, 1, axis_name, 0)
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


def reshape_function(how):
    """F.reshape(x, shape) ("function": Chainer's message), np.reshape(a, newshape), torch.reshape(input, shape)."""
    def model(interp, args, kwargs, site):
        x = argument(args, kwargs, 0, "x", argument(args, kwargs, None, "a", argument(args, kwargs, None, "input")))
        shape = argument(args, kwargs, 1, "shape", argument(args, kwargs, None, "newshape"))
        if isinstance(x, Array):
            return reshape(x, shape, site, interp, how)
        return UNKNOWN
    return model


def transpose_function(interp, args, kwargs, site):
    x = args[0] if args else UNKNOWN
    axes = argument(args, kwargs, 1, "axes", None)
    if isinstance(x, Array) and x.shape is not None:
        if axes is None:
            return Array(tuple(reversed(x.shape)), x.flow, False, owner=("transposed", x.owner))
        if isinstance(axes, (tuple, list)) and all(isinstance(a, int) for a in axes) and len(axes) == len(x.shape):
            return x.with_shape(tuple(x.shape[a] for a in axes))
    return UNKNOWN


def reduction_function(axis_name, keepdims_name, pair_with_dim=False):
    """np.mean(a, axis=None, ..., keepdims), torch.sum(input, dim, keepdim), F.sum(x, axis, keepdims)."""
    def model(interp, args, kwargs, site):
        x = args[0] if args else UNKNOWN
        if not isinstance(x, Array):
            return UNKNOWN
        axis = argument(args, kwargs, 1, axis_name, None)
        if pair_with_dim and axis is not None:
            return UNKNOWN  # torch.max(x, dim) is a (values, indices) pair
        return reduce(x, axis, kwargs.get(keepdims_name, False))
    return model


def axis_function(operation, axis_name):
    def model(interp, args, kwargs, site):
        x = args[0] if args else UNKNOWN
        if not isinstance(x, Array):
            return UNKNOWN
        return operation(x, argument(args, kwargs, 1, axis_name, None))
    return model


def _dot(interp, args, kwargs, site):
    if len(args) >= 2 and isinstance(args[0], Array) and isinstance(args[1], Array):
        return matmul(args[0], args[1], site)
    return UNKNOWN


def split_function(interp, args, kwargs, site):
    """np.split / np.array_split(x, indices_or_sections, axis=0), F.split_axis(x, indices_or_sections, axis)."""
    x = args[0] if args else UNKNOWN
    sections = argument(args, kwargs, 1, "indices_or_sections")
    axis = argument(args, kwargs, 2, "axis", 0)
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


def _scalar_type(convert):
    """np.int32(x), np.float32(x)...: an array keeps its shape; a number is converted."""
    def model(interp, args, kwargs, site):
        value = args[0] if args else 0
        if isinstance(value, Array):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool) or isinstance(value, bool):
            try:
                return convert(value)
            except (OverflowError, ValueError):
                return UNKNOWN
        return UNKNOWN
    return model


def _arange(interp, args, kwargs, site):
    """np.arange(stop) / (start, stop[, step]): a 1-D array of that many numbers."""
    bounds = [argument(args, kwargs, 0, "start"), argument(args, kwargs, 1, "stop", None),
              argument(args, kwargs, 2, "step", 1)]
    if bounds[1] is None:
        bounds = [0, bounds[0], bounds[2]]
    if all(isinstance(b, int) and not isinstance(b, bool) for b in bounds) and bounds[2] != 0:
        return new_array((len(range(*bounds)),), site, "np.arange()")
    return new_array((None,), site, "np.arange()")


def _randint(interp, args, kwargs, site):
    """np.random.randint(low, high=None, size=None): an int, or an array of `size`."""
    size = argument(args, kwargs, 2, "size", None)
    if size is None:
        return UNKNOWN
    shape = as_shape(size)
    return new_array(shape, site, "random integers") if shape is not None else UNKNOWN


def _append(interp, args, kwargs, site):
    """np.append(arr, values, axis=None): flattened and joined without an axis, else concatenated."""
    arr, values = argument(args, kwargs, 0, "arr"), argument(args, kwargs, 1, "values")
    axis = argument(args, kwargs, 2, "axis", None)
    if not isinstance(arr, Array):
        return UNKNOWN
    if axis is None:
        sizes = [math.prod(v.shape) if isinstance(v, Array) and v.shape is not None and None not in v.shape
                 else None for v in (arr, values)]
        return arr.with_shape((None if None in sizes else sum(sizes),))
    if isinstance(values, Array):
        return concatenate_shapes([arr, values], axis, True, site)
    return arr.with_shape(None)


def _from_file(interp, args, kwargs, site):
    """np.load / np.loadtxt: an array whose shape is the file's, which the checker does not read."""
    return new_array(None, site, "read from a file (its shape is not known)")


def _linspace(interp, args, kwargs, site):
    num = argument(args, kwargs, 2, "num", 50)
    return new_array((num if isinstance(num, int) and not isinstance(num, bool) else None,), site, "np.linspace()")


def _elementwise(interp, args, kwargs, site):
    """np.logical_and(a, b), np.where(c, x, y)...: the broadcast shape of the arrays given."""
    arrays = [a for a in args if isinstance(a, Array)]
    if not arrays:
        return UNKNOWN
    shape = arrays[0].shape
    for other in arrays[1:]:
        shape = broadcast(shape, other.shape)
    return arrays[0].with_shape(shape)


def _where(interp, args, kwargs, site):
    """np.where(condition, x, y) broadcasts; np.where(condition) is a tuple of index arrays."""
    if len(args) == 3:
        return _elementwise(interp, args, kwargs, site)
    return UNKNOWN


register_models({
    "numpy.asarray": _array_from,
    "numpy.array": _array_from,
    "numpy.ascontiguousarray": _array_from,
    "numpy.zeros": _creation,
    "numpy.ones": _creation,
    "numpy.empty": _creation,
    "numpy.full": _creation,
    "numpy.zeros_like": passthrough,
    "numpy.ones_like": passthrough,
    "numpy.random.rand": creation_dims,
    "numpy.random.randn": creation_dims,
    "numpy.random.random": _creation,
    "numpy.random.uniform": _random_sized,
    "numpy.random.normal": _random_sized,
    "numpy.random.binomial": _random_sized,
    "numpy.random.permutation": _permutation,
    "numpy.concatenate": concatenation("arrays", "axis", 0),
    "numpy.vstack": concatenation("tup", None, 0, _vstack_promote),
    "numpy.row_stack": concatenation("tup", None, 0, _vstack_promote),
    "numpy.hstack": concatenation("tup", None, 0, _hstack_promote),
    "numpy.column_stack": concatenation("tup", None, 0, _column_stack_promote),
    "numpy.stack": stacking("arrays", "axis"),
    "numpy.reshape": reshape_function("array"),
    "numpy.transpose": transpose_function,
    "numpy.dot": _dot,
    "numpy.matmul": _dot,
    "numpy.split": split_function,
    "numpy.array_split": split_function,
    "numpy.random.seed": lambda interp, args, kwargs, site: None,
    "numpy.squeeze": axis_function(squeeze, "axis"),
    "numpy.expand_dims": axis_function(expand_dims, "axis"),
    "numpy.ndarray": _creation,
    "numpy.append": _append,
    "numpy.arange": _arange,
    "numpy.random.randint": _randint,
    "numpy.load": _from_file,
    "numpy.loadtxt": _from_file,
    "numpy.genfromtxt": _from_file,
    "numpy.linspace": _linspace,
    "numpy.where": _where,
    "numpy.logical_and": _elementwise,
    "numpy.logical_or": _elementwise,
    "numpy.asnumpy": passthrough,  # cupy.asnumpy
})
register_models({f"numpy.{name}": _scalar_type(int) for name in ("int8", "int16", "int32", "int64", "uint8", "intc")})
register_models({f"numpy.{name}": _scalar_type(float) for name in ("float16", "float32", "float64")})
register_models({f"numpy.{name}": reduction_function("axis", "keepdims")
                 for name in ("sum", "mean", "max", "min", "std", "var", "prod", "argmax", "argmin", "amax", "amin")})
register_quiet(("numpy.random.RandomState", "numpy.savez", "numpy.save"))
