"""Shape arithmetic on arrays: what reshaping, flattening, indexing, reducing, broadcasting and matrix
products do to an Array's shape. Pure functions of Array values, which the layer models (layers.py)
and the library models (library/) build on; they raise no findings.
"""

from __future__ import annotations

import math
from dataclasses import replace

from netport.shapes.values import UNKNOWN, Array, FlowStep, Site


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
    return remember_unflattened(array, array.with_shape(flatten_shape(array.shape, start, end)))


def remember_unflattened(before: Array, after: Array) -> Array:
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


def matmul(a: Array, b: Array, site) -> Array:
    if a.shape is None or b.shape is None or len(a.shape) < 1 or len(b.shape) < 1:
        return a.with_shape(None)
    if len(b.shape) == 1:
        return a.with_shape(a.shape[:-1])
    return a.with_shape(a.shape[:-1] + b.shape[-1:])


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
