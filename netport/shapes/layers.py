"""Layers: how they are built, what they check when called, and the findings they raise.

Chainer's Linear flattens every axis after the first (prod(x.shape[1:]) must equal in_size; the
same rule from v1 to v7), a lazy ``L.Linear(out)`` / ``L.Linear(None, out)`` binds in_size on its
first call; torch's ``nn.Linear`` multiplies the last axis only.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace

from netport.shapes import findings as F_
from netport.shapes.arrays import flatten
from netport.shapes.library.registry import argument, register_models
from netport.shapes.values import (
    UNKNOWN, Array, Construction, Container, FlowStep, Instance, Layer, LibraryObject, Site, describe_shape,
)

SHAPE_PRESERVING = {
    "relu", "sigmoid", "tanh", "leaky_relu", "elu", "softplus", "softmax", "log_softmax", "dropout", "identity",
    "clipped_relu", "hard_sigmoid", "selu", "gelu", "swish", "local_response_normalization", "batch_normalization",
    "fixed_batch_normalization", "exp", "log", "sqrt", "square", "absolute", "gaussian_noise", "copy", "cast",
}
SHAPE_PRESERVING_PREFIXES = [
    ("chainer.functions.", SHAPE_PRESERVING),
    ("torch.nn.functional.", SHAPE_PRESERVING | {"dropout2d", "silu", "hardtanh", "normalize", "batch_norm"}),
    ("torch.", {"relu", "sigmoid", "tanh", "exp", "log", "sqrt", "softmax", "log_softmax", "dropout", "bernoulli",
                "clamp", "rand_like", "randn_like", "zeros_like", "ones_like", "abs"}),
    ("numpy.", {"exp", "log", "sqrt", "tanh", "abs", "clip", "float32", "maximum", "minimum", "isnan", "isinf",
                "logical_not", "sign", "floor", "ceil", "square", "negative", "round", "rint", "absolute"}),
]
# torch modules that keep the shape of their input
TORCH_SHAPE_PRESERVING_MODULES = {"ReLU", "Sigmoid", "Tanh", "Dropout", "Identity", "LeakyReLU", "ELU", "Softmax",
                                  "LogSoftmax", "GELU", "SiLU", "BatchNorm1d", "BatchNorm2d", "Dropout2d",
                                  "LayerNorm"}


def preserve(args, site):
    value = args[0] if args else UNKNOWN
    if not isinstance(value, Array):
        return UNKNOWN
    return replace(value.with_shape(value.shape, keep_raw=True), produced_by=value.produced_by,
                   unflattened=value.unflattened)


def is_layer(value) -> bool:
    return isinstance(value, (Layer, Container)) or (isinstance(value, Instance) and value.framework is not None) \
        or (isinstance(value, LibraryObject) and value.kind in ("Classifier", "Module"))


def set_parent(child, parent, name) -> None:
    if isinstance(child, (Layer, Container, Instance)) and child.parent is None:
        child.parent, child.name_in_parent = parent, name


def register_child(parent, name, child) -> None:
    if not is_layer(child):
        return
    if isinstance(parent, (Instance, Container)):
        if child not in parent.children:
            parent.children.append(child)
    set_parent(child, parent, name)


def layer_name(interp, layer) -> str:
    """A path such as `model[1].encoder`, from the parents up to a variable of the entry script (or
    of a function being run), or an element of a list held in one (`aes[1].enc`)."""
    parts = []
    node = layer
    while node is not None:
        parent = getattr(node, "parent", None)
        if parent is None:
            break
        name = node.name_in_parent
        sequence = isinstance(parent, Container) or (isinstance(parent, Instance) and parent.sequence)
        parts.append(f"[{name}]" if sequence and name is not None and name.isdigit() else f".{name}")
        node = parent
    root = _root_name(interp, node)
    if root is None:
        root = node.cls.name if isinstance(node, Instance) else getattr(node, "kind", "layer")
    return root + "".join(reversed(parts))


def _program_scopes(interp):
    """The entry script's globals, then the locals of the functions being run, outermost first."""
    scopes = [m.namespace for m in interp.modules.values() if m.name == "__main__"]
    return scopes + [frame.scope() for frame in interp.frames if frame.local is not None]


def _root_name(interp, node) -> str | None:
    scopes = _program_scopes(interp)
    for scope in scopes:  # an element of a list names its place in the stack; a loop variable would not
        for key, value in scope.items():
            if isinstance(value, list) and not key.startswith("_"):
                for index, item in enumerate(value):
                    if item is node:
                        return f"{key}[{index}]"
    for scope in scopes:
        for key, value in scope.items():
            if value is node and not key.startswith("_") and key != "self":
                return key
    return None


_NUMBERED = re.compile(r"^([A-Za-z_]*?)_?(\d+)$")


def position_in_stack(interp, layer):
    """(index, stages, stage) when the layer belongs to a stack of layers, directly or one or two
    chains down (each autoencoder of a stack owns its encoder): a Sequential/ChainList/ModuleList, a
    plain list of models held in a variable, or a chain of numbered layers (l1, l2, ...). Stages
    without weights (activations in a Sequential) are not counted."""
    node = layer
    for _ in range(3):
        siblings = _siblings(interp, node)
        if siblings is not None:
            stages = [stage for stage in siblings if first_layer(stage) is not None]
            if node in stages and len(stages) > 1:
                return stages.index(node), stages, node
        node = getattr(node, "parent", None)
        if node is None:
            return None
    return None


def _siblings(interp, node):
    parent = getattr(node, "parent", None)
    if isinstance(parent, Container) or (isinstance(parent, Instance) and parent.sequence):
        return parent.children
    if isinstance(parent, Instance) and isinstance(node, Layer):
        numbered = [(int(_NUMBERED.match(name).group(2)), child) for name, child in parent.attributes.items()
                    if _NUMBERED.match(name) and isinstance(child, Layer) and child.parent is parent]
        if any(child is node for _, child in numbered):
            return [child for _, child in sorted(numbered, key=lambda pair: pair[0])]
        return None
    if parent is None:
        for scope in _program_scopes(interp):
            for value in scope.values():
                if isinstance(value, list) and any(item is node for item in value) \
                        and all(is_layer(item) for item in value):
                    return value
    return None


def _is_linear(layer) -> bool:
    return isinstance(layer, Layer) and layer.kind.endswith("Linear")


WEIGHTED_KINDS = ["Linear", "Convolution2D", "Conv2d"]  # kind suffixes; library/recurrent.py adds its own


def has_weights(layer) -> bool:
    return layer.kind.endswith(tuple(WEIGHTED_KINDS))


def first_layer(value):
    """The first weight layer inside a chain (for 'what does the previous stage output')."""
    if isinstance(value, Layer):
        return value if has_weights(value) else None
    for child in getattr(value, "children", []):
        found = first_layer(child)
        if found is not None:
            return found
    return None


def previous_layer(siblings, index):
    """The weight layer of the nearest stage before siblings[index] that has one (activations and
    pooling in a Sequential have none)."""
    for sibling in reversed(siblings[:index]):
        found = first_layer(sibling)
        if found is not None:
            return found
    return None


def construction(interp, kind: str, site: Site, args_text: str) -> Construction:
    stack = [(record.site, record.source, record.loop_vars) for record in interp.calls[:-1]]
    here = interp.calls[-1].loop_vars if interp.calls else {}
    return Construction(site, f"{kind}({args_text})", stack, dict(here))


def _describe_args(args, kwargs) -> str:
    parts = [str(a) if isinstance(a, (int, float, type(None))) else "?" for a in args]
    parts += [f"{k}={v}" for k, v in kwargs.items() if isinstance(v, (int, float, bool, type(None)))]
    return ", ".join(parts)


def _int_or_none(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _pair(value):
    """An (h, w) pair for an int or a pair of ints, else None (not concrete: the size stays unknown)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        return tuple(value)
    return None


def _padding(value):
    """A padding pair, or "same" (output size = input size), or None when not concrete."""
    if value == "valid":
        return (0, 0)
    if value == "same":
        return "same"
    return _pair(value)


# ----------------------------------------------------------------- construction models

def _chainer_linear(interp, args, kwargs, site):
    in_size = argument(args, kwargs, 0, "in_size", UNKNOWN)
    out_size = argument(args, kwargs, 1, "out_size", None)
    lazy = False
    if out_size is None:  # L.Linear(out): the one-argument form
        in_size, out_size, lazy = None, in_size, True
    elif in_size is None:
        lazy = True
    if (in_size is UNKNOWN) or out_size is UNKNOWN:
        return _unknown_layer(interp, "L.Linear", site, args, kwargs)
    return Layer("L.Linear", _int_or_none(in_size), _int_or_none(out_size),
                 construction(interp, "L.Linear", site, _describe_args(args, kwargs)), "chainer", lazy=lazy)


def _torch_linear(interp, args, kwargs, site):
    in_size = argument(args, kwargs, 0, "in_features", UNKNOWN)
    out_size = argument(args, kwargs, 1, "out_features", UNKNOWN)
    return Layer("nn.Linear", _int_or_none(in_size), _int_or_none(out_size),
                 construction(interp, "nn.Linear", site, _describe_args(args, kwargs)), "torch",
                 lazy=False) if isinstance(in_size, int) else _unknown_layer(interp, "nn.Linear", site, args, kwargs)


def _torch_lazy_linear(interp, args, kwargs, site):
    out_size = argument(args, kwargs, 0, "out_features", UNKNOWN)
    return Layer("nn.LazyLinear", None, _int_or_none(out_size),
                 construction(interp, "nn.LazyLinear", site, _describe_args(args, kwargs)), "torch", lazy=True)


def _chainer_convolution(dilate_position):
    """L.Convolution2D(in, out, ksize, stride, pad, ..., dilate=) (dilate keyword-only, v5+) and
    L.DilatedConvolution2D(in, out, ksize, stride, pad, dilate)."""
    def model(interp, args, kwargs, site):
        in_channels = argument(args, kwargs, 0, "in_channels", UNKNOWN)
        out_channels = argument(args, kwargs, 1, "out_channels", UNKNOWN)
        ksize = argument(args, kwargs, 2, "ksize", None)
        stride = argument(args, kwargs, 3, "stride", 1)
        pad = argument(args, kwargs, 4, "pad", 0)
        dilate = argument(args, kwargs, dilate_position, "dilate", 1)
        lazy = False
        if ksize is None:  # Convolution2D(out_channels, ksize): v2+ two-argument form
            in_channels, out_channels, ksize, lazy = None, in_channels, out_channels, True
        elif in_channels is None:
            lazy = True
        return Layer("L.Convolution2D", _int_or_none(in_channels), _int_or_none(out_channels),
                     construction(interp, "L.Convolution2D", site, _describe_args(args, kwargs)), "chainer",
                     lazy=lazy, ksize=_pair(ksize), stride=_pair(stride), pad=_pair(pad), dilation=_pair(dilate))
    return model


def _torch_conv(interp, args, kwargs, site):
    in_channels = argument(args, kwargs, 0, "in_channels", UNKNOWN)
    out_channels = argument(args, kwargs, 1, "out_channels", UNKNOWN)
    ksize = argument(args, kwargs, 2, "kernel_size", UNKNOWN)
    stride = argument(args, kwargs, 3, "stride", 1)
    pad = argument(args, kwargs, 4, "padding", 0)
    dilation = argument(args, kwargs, 5, "dilation", 1)
    return Layer("nn.Conv2d", _int_or_none(in_channels), _int_or_none(out_channels),
                 construction(interp, "nn.Conv2d", site, _describe_args(args, kwargs)), "torch",
                 ksize=_pair(ksize), stride=_pair(stride), pad=_padding(pad), dilation=_pair(dilation))


def _unknown_layer(interp, kind, site, args, kwargs):
    return Layer(kind, None, None, construction(interp, kind, site, _describe_args(args, kwargs)),
                 "chainer" if kind.startswith("L.") else "torch", lazy=False)


def _identity_layer(kind):
    def model(interp, args, kwargs, site):
        return Layer(kind, None, None, construction(interp, kind, site, ""), "torch" if kind.startswith("nn.") else
                     "chainer")
    return model


def _torch_flatten_module(interp, args, kwargs, site):
    start = argument(args, kwargs, 0, "start_dim", 1)
    end = argument(args, kwargs, 1, "end_dim", -1)
    return Layer("nn.Flatten", None, None, construction(interp, "nn.Flatten", site, ""), "torch",
                 options={"start": start, "end": end})


def _torch_pool_module(kind):
    """nn.MaxPool2d(kernel_size, stride, padding, dilation, return_indices, ceil_mode) and
    nn.AvgPool2d(kernel_size, stride, padding, ceil_mode, ...)."""
    def model(interp, args, kwargs, site):
        ksize, stride, pad, dilation, ceil = _torch_pool_arguments(kind, args, kwargs, 0)
        return Layer(kind, None, None, construction(interp, kind, site, _describe_args(args, kwargs)), "torch",
                     ksize=ksize, stride=stride, pad=pad, dilation=dilation, options={"ceil_mode": ceil})
    return model


def _torch_pool_arguments(kind, args, kwargs, first):
    """(ksize, stride, pad, dilation, ceil_mode) of a torch pooling call whose kernel size is args[first]."""
    def get(offset, name, default):
        return argument(args, kwargs, first + offset, name, default)

    ksize = _pair(get(0, "kernel_size", UNKNOWN))
    stride_value = get(1, "stride", None)
    stride = ksize if stride_value is None else _pair(stride_value)
    pad = _pair(get(2, "padding", 0))
    if kind.endswith("MaxPool2d"):
        dilation, ceil = _pair(get(3, "dilation", 1)), get(5 if first == 0 else 4, "ceil_mode", False)
        if get(4 if first == 0 else 5, "return_indices", False) is not False:
            ceil = UNKNOWN  # (output, indices): not an array
    else:
        dilation, ceil = (1, 1), get(3, "ceil_mode", False)
    return ksize, stride, pad, dilation, ceil


def _torch_adaptive_pool_module(kind):
    def model(interp, args, kwargs, site):
        size = argument(args, kwargs, 0, "output_size", UNKNOWN)
        return Layer(kind, None, None, construction(interp, kind, site, _describe_args(args, kwargs)), "torch",
                     options={"output_size": size})
    return model


def _container(kind: str, framework: str):
    """nn.Sequential(*modules), chainer.ChainList(*links), chainer.Sequential(*links)."""
    def model(interp, args, kwargs, site):
        container = Container(kind, [], framework)
        for child in args:
            append_child(container, child)
        return container
    return model


def _module_list(interp, args, kwargs, site):
    container = Container("nn.ModuleList", [], "torch")
    items = interp.iterate(args[0], site) if args else []
    if isinstance(items, list):
        for child in items:
            append_child(container, child)
    else:
        container.inexact = True
    return container


def append_child(sequence, child) -> None:
    """The next element of a Sequential/ChainList/ModuleList. Elements the checker does not model (a
    lambda, a module it has no model of, an unknown value) are kept too: a Sequential calls them in
    turn and indexes count them."""
    sequence.children.append(child)
    set_parent(child, sequence, str(len(sequence.children) - 1))


def replace_child(sequence, key, child) -> None:
    """`sequence[key] = child` (a ModuleList/Sequential item replaced)."""
    if isinstance(key, int) and not isinstance(key, bool) and not sequence.inexact \
            and -len(sequence.children) <= key < len(sequence.children):
        index = key % len(sequence.children)
        sequence.children[index] = child
        if isinstance(child, (Layer, Container, Instance)):
            child.parent, child.name_in_parent = sequence, str(index)
    else:
        sequence.inexact = True


# ----------------------------------------------------------------- calls

# layer kind -> model(interp, layer, args, kwargs, site) of its call, for the kinds modelled in library/
CALL_MODELS: dict = {}

def call_layer(interp, layer, args, kwargs, site):
    if isinstance(layer, Container):
        if layer.kind == "nn.Sequential":
            return apply_sequence(interp, layer, args, site)
        return UNKNOWN
    x = args[0] if args else UNKNOWN
    if layer.kind in ("L.Linear", "nn.Linear", "nn.LazyLinear"):
        batch_axes = argument(args, kwargs, 1, "n_batch_axes", 1)
        return linear(interp, layer, x, site, layer.framework,
                      batch_axes=batch_axes if layer.framework == "chainer" else 1)
    if layer.kind in ("L.Convolution2D", "nn.Conv2d"):
        return convolution(interp, layer, x, site)
    if layer.kind in CALL_MODELS:  # recurrent and embedding layers, deconvolutions (library/recurrent.py...)
        return CALL_MODELS[layer.kind](interp, layer, args, kwargs, site)
    if not isinstance(x, Array):
        return UNKNOWN
    if layer.kind == "nn.Flatten":
        return flatten(x, layer.options["start"], layer.options["end"])
    if layer.kind in ("nn.MaxPool2d", "nn.AvgPool2d"):
        return torch_pool(x, layer.ksize, layer.stride, layer.pad, layer.dilation, layer.options["ceil_mode"])
    if layer.kind in ("nn.AdaptiveAvgPool2d", "nn.AdaptiveMaxPool2d"):
        return adaptive_pool(x, layer.options["output_size"])
    if layer.kind.startswith("nn.") and layer.kind[3:] in TORCH_SHAPE_PRESERVING_MODULES or layer.kind in (
            "L.BatchNormalization", "L.Dropout"):
        return preserve(args, site)
    return UNKNOWN


def apply_sequence(interp, sequence, args, site):
    if sequence.inexact:
        return UNKNOWN
    value = args[0] if args else UNKNOWN
    for child in sequence.children:
        value = interp.call(child, [value], {}, site)
    return value


def linear(interp, layer: Layer, x, site, framework, weight_text: str | None = None, batch_axes=1):
    """Chainer flattens the axes after the first `n_batch_axes` ones; torch multiplies the last axis."""
    if not isinstance(x, Array) or x.shape is None:
        return _linear_output(x, layer, framework, batch_axes, site=site)
    if framework == "chainer":
        if not isinstance(batch_axes, int) or isinstance(batch_axes, bool) or not 0 < batch_axes < len(x.shape):
            return x.with_shape(None)
        rest = x.shape[batch_axes:]
        width = math.prod(rest) if all(d is not None for d in rest) else None
    else:
        width = x.shape[-1] if x.shape else None
    if width is None:
        return _linear_output(x, layer, framework, batch_axes, site=site)
    interp.checked_calls += 1
    if layer.in_size is None and layer.lazy:
        layer.in_size, layer.bound_at = width, site
        check_lazy_binding(interp, layer, x, site)
    elif layer.in_size is not None and width != layer.in_size:
        mismatch(interp, layer, x, width, layer.in_size, site, weight_text=weight_text)
        return _linear_output(x, layer, framework, batch_axes, failed=True)
    return _linear_output(x, layer, framework, batch_axes, site=site)


def _linear_output(x, layer, framework, batch_axes=1, failed=False, site=None):
    if not isinstance(x, Array):
        return UNKNOWN
    if failed or x.shape is None or layer.out_size is None or not x.shape:
        return x.with_shape(None)
    if framework == "chainer":
        shape = tuple(x.shape[:batch_axes]) + (layer.out_size,)
    else:
        shape = tuple(x.shape[:-1]) + (layer.out_size,)
    return layer_output(x.with_shape(shape), layer, site)


def layer_output(y: Array, layer, site) -> Array:
    """`y`, the output of `layer` called at `site`: the layer made it (for the hints), and its value
    flow names the call."""
    y = replace(y, produced_by=layer)
    return y.then(site, f"output {describe_shape(y.shape)}", layer=layer) if site is not None else y


def convolution(interp, layer: Layer, x, site):
    if not isinstance(x, Array) or x.shape is None or len(x.shape) != 4:
        return x.with_shape(None) if isinstance(x, Array) else UNKNOWN
    channels = x.shape[1]
    if channels is not None:
        interp.checked_calls += 1
        if layer.in_size is None and layer.lazy:
            layer.in_size, layer.bound_at = channels, site
        elif layer.in_size is not None and channels != layer.in_size:
            mismatch(interp, layer, x, channels, layer.in_size, site, what="channels")
            return x.with_shape(None)
    spatial = [None, None]
    if layer.pad == "same":
        spatial = list(x.shape[2:]) if layer.stride == (1, 1) else spatial
    elif None not in (layer.ksize, layer.stride, layer.pad, layer.dilation):
        spatial = [None if size is None else (size + 2 * p - (d * (k - 1) + 1)) // s + 1
                   for size, k, s, p, d in zip(x.shape[2:], layer.ksize, layer.stride, layer.pad, layer.dilation)]
    return layer_output(x.with_shape((x.shape[0], layer.out_size, *spatial)), layer, site)


def chainer_pool(x: Array, ksize, stride, pad, cover_all):
    """Chainer's pooling output size (get_conv_outsize): cover_all adds the partial last window."""
    if x.shape is None or len(x.shape) != 4 or None in (ksize, stride, pad) or not isinstance(cover_all, bool):
        return x.with_shape(None)
    spatial = []
    for size, k, s, p in zip(x.shape[2:], ksize, stride, pad):
        if size is None:
            spatial.append(None)
        elif cover_all:
            spatial.append((size + 2 * p - k + s - 1) // s + 1)
        else:
            spatial.append((size + 2 * p - k) // s + 1)
    return x.with_shape(x.shape[:2] + tuple(spatial))


def torch_pool(x: Array, ksize, stride, pad, dilation, ceil_mode):
    """torch's pooling output size: with ceil_mode, a last window that would start in the right
    padding is dropped."""
    if x.shape is None or len(x.shape) not in (3, 4) or None in (ksize, stride, pad, dilation) \
            or not isinstance(ceil_mode, bool):
        return x.with_shape(None)
    spatial = []
    for size, k, s, p, d in zip(x.shape[-2:], ksize, stride, pad, dilation):
        if size is None:
            spatial.append(None)
            continue
        span = size + 2 * p - d * (k - 1) - 1
        out = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (out - 1) * s >= size + p:
            out -= 1
        spatial.append(out)
    return x.with_shape(x.shape[:-2] + tuple(spatial))


def adaptive_pool(x: Array, output_size):
    if x.shape is None or len(x.shape) not in (3, 4):
        return x.with_shape(None)
    if isinstance(output_size, int) and not isinstance(output_size, bool):
        output_size = (output_size, output_size)
    if not (isinstance(output_size, (tuple, list)) and len(output_size) == 2
            and all(d is None or isinstance(d, int) and not isinstance(d, bool) for d in output_size)):
        return x.with_shape(None)
    spatial = tuple(size if wanted is None else wanted for size, wanted in zip(x.shape[-2:], output_size))
    return x.with_shape(x.shape[:-2] + spatial)


def _functional_linear(framework):
    def model(interp, args, kwargs, site):
        x = argument(args, kwargs, 0, "x", argument(args, kwargs, None, "input"))
        W = argument(args, kwargs, 1, "W", argument(args, kwargs, None, "weight"))
        batch_axes = argument(args, kwargs, 3, "n_batch_axes", 1)
        if not isinstance(W, Array) or W.shape is None or len(W.shape) != 2:
            return x.with_shape(None) if isinstance(x, Array) else UNKNOWN
        out_size, in_size = W.shape
        owner = W.owner
        transposed = isinstance(owner, tuple) and owner[0] == "transposed"
        source = owner[1] if transposed else owner
        if isinstance(source, Layer):
            built = source.built
            kind = ("F.linear" if framework == "chainer" else "nn.functional.linear") + \
                   (f" with {'the transposed ' if transposed else ''}weight of {source.kind}")
        else:
            built = construction(interp, "F.linear", site, "")
            kind = "F.linear" if framework == "chainer" else "nn.functional.linear"
        layer = Layer(kind, in_size, out_size, built, framework)
        layer.parent, layer.name_in_parent = (source.parent, source.name_in_parent) if isinstance(source, Layer) \
            else (None, None)
        layer.weight_of = source if isinstance(source, Layer) else None
        return linear(interp, layer, x, site, framework, batch_axes=batch_axes if framework == "chainer" else 1)
    return model


def _chainer_pool(cover_all_default):
    """F.max_pooling_2d(x, ksize, stride=None, pad=0, cover_all=True) and
    F.average_pooling_2d(x, ksize, stride=None, pad=0)."""
    def model(interp, args, kwargs, site):
        x = args[0] if args else UNKNOWN
        ksize = _pair(argument(args, kwargs, 1, "ksize", None))
        stride_value = argument(args, kwargs, 2, "stride", None)
        stride = ksize if stride_value is None else _pair(stride_value)
        pad = _pair(argument(args, kwargs, 3, "pad", 0))
        cover_all = argument(args, kwargs, 4, "cover_all", True) if cover_all_default else False
        if kwargs.get("return_indices", False) is not False:
            return UNKNOWN
        if not isinstance(x, Array):
            return UNKNOWN
        return chainer_pool(x, ksize, stride, pad, cover_all)
    return model


def _torch_pool_function(kind):
    """F.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices) and
    F.avg_pool2d(input, kernel_size, stride, padding, ceil_mode, ...)."""
    def model(interp, args, kwargs, site):
        x = argument(args, kwargs, 0, "input", UNKNOWN)
        if not isinstance(x, Array):
            return UNKNOWN
        ksize, stride, pad, dilation, ceil = _torch_pool_arguments(kind, args, kwargs, 1)
        return torch_pool(x, ksize, stride, pad, dilation, ceil)
    return model


def _torch_adaptive_pool_function(interp, args, kwargs, site):
    x = argument(args, kwargs, 0, "input", UNKNOWN)
    size = argument(args, kwargs, 1, "output_size", UNKNOWN)
    return adaptive_pool(x, size) if isinstance(x, Array) else UNKNOWN


def layer_attribute(interp, layer, name, site):
    if isinstance(layer, Container):
        return UNKNOWN
    if name in ("W", "weight") and layer.in_size is not None and layer.out_size is not None \
            and layer.kind.endswith("Linear"):
        return Array((layer.out_size, layer.in_size), (FlowStep(layer.built.site, f"{layer.kind}.{name}"),),
                     owner=layer)
    if name in ("b", "bias") and layer.out_size is not None:
        return Array((layer.out_size,), (FlowStep(layer.built.site, f"{layer.kind}.{name}"),), owner=layer)
    if name in ("in_size", "in_features"):
        return layer.in_size if layer.in_size is not None else UNKNOWN
    if name in ("out_size", "out_features"):
        return layer.out_size if layer.out_size is not None else UNKNOWN
    return UNKNOWN


register_models({
    "chainer.links.Linear": _chainer_linear,
    "chainer.functions.Linear": _chainer_linear,  # v1's function-set era name of the same link
    "chainer.functions.Convolution2D": _chainer_convolution(None),
    "chainer.links.Convolution2D": _chainer_convolution(None),
    "chainer.links.DilatedConvolution2D": _chainer_convolution(5),
    "chainer.links.BatchNormalization": _identity_layer("L.BatchNormalization"),
    "chainer.ChainList": _container("chainer.ChainList", "chainer"),
    "chainer.Sequential": _container("nn.Sequential", "chainer"),
    "chainer.functions.linear": _functional_linear("chainer"),
    "chainer.functions.max_pooling_2d": _chainer_pool(True),
    "chainer.functions.average_pooling_2d": _chainer_pool(False),
    "torch.nn.Linear": _torch_linear,
    "torch.nn.LazyLinear": _torch_lazy_linear,
    "torch.nn.Conv2d": _torch_conv,
    "torch.nn.Sequential": _container("nn.Sequential", "torch"),
    "torch.nn.ModuleList": _module_list,
    "torch.nn.Flatten": _torch_flatten_module,
    "torch.nn.MaxPool2d": _torch_pool_module("nn.MaxPool2d"),
    "torch.nn.AvgPool2d": _torch_pool_module("nn.AvgPool2d"),
    "torch.nn.AdaptiveAvgPool2d": _torch_adaptive_pool_module("nn.AdaptiveAvgPool2d"),
    "torch.nn.AdaptiveMaxPool2d": _torch_adaptive_pool_module("nn.AdaptiveMaxPool2d"),
    "torch.nn.functional.linear": _functional_linear("torch"),
    "torch.nn.functional.max_pool2d": _torch_pool_function("nn.MaxPool2d"),
    "torch.nn.functional.avg_pool2d": _torch_pool_function("nn.AvgPool2d"),
    "torch.nn.functional.adaptive_avg_pool2d": _torch_adaptive_pool_function,
    "torch.nn.functional.adaptive_max_pool2d": _torch_adaptive_pool_function,
})
register_models({f"torch.nn.{module}": _identity_layer(f"nn.{module}") for module in TORCH_SHAPE_PRESERVING_MODULES})


# ----------------------------------------------------------------- findings

def finding_flow(interp, x: Array) -> list[dict]:
    return [{"file": step.site.path, "line": step.site.line, "desc": _step_text(interp, step)} for step in x.flow]


def _step_text(interp, step) -> str:
    """A step of a value flow; a layer call names the layer and where it was built."""
    if step.layer is None:
        return step.description
    layer = step.layer
    name = layer_name(interp, getattr(layer, "weight_of", None) or layer)
    return f"through {name}, {layer.label()} built at {layer.built.site}: {step.description}"


def finding_stack(interp, site) -> list[dict]:
    frames = []
    for record in interp.calls[:-1]:
        loops = ", ".join(f"{k}={v}" for k, v in record.loop_vars.items() if isinstance(v, (int, str)))
        frames.append({"file": record.site.path, "line": record.site.line,
                       "desc": record.source + (f"  ({loops})" if loops else "")})
    return frames


def _loop_text(loops: dict) -> str:
    text = ", ".join(f"{k}={v}" for k, v in loops.items() if isinstance(v, (int, str)))
    return f" with {text}" if text else ""


def _built(layer: Layer) -> tuple[str, list[str]]:
    built = layer.built
    lines = [f"{built.source} at {built.site}{_loop_text(built.loop_vars)}"]
    for call_site, source, loops in reversed(built.stack):
        lines.append(f"from {source} at {call_site}{_loop_text(loops)}")
    return str(built.site), lines


def mismatch(interp, layer: Layer, x: Array, actual: int, expected: int, site: Site, what="features",
             weight_text=None, framework_message=None, expr=None, rephrase=None):
    """An NPS001 finding: `layer` is fed `actual` features (channels) where it takes `expected`. The
    framework's message and the expression checked default to those of a Linear or a convolution."""
    name = layer_name(interp, getattr(layer, "weight_of", None) or layer)
    built_at, built_lines = _built(layer)
    if framework_message is None and layer.framework == "chainer":
        framework_message = _chainer_message(layer.kind, interp.chainer_version, actual, expected)
    elif framework_message is None:
        batch = x.shape[0] if x.shape else None
        framework_message = (F_.torch_linear_message(batch, actual, expected, layer.out_size)
                             if "inear" in layer.kind else
                             f"RuntimeError: expected input to have {expected} channels, but got {actual} channels")
    if expr is None:
        expr = ("prod(x.shape[1:])" if layer.framework == "chainer" else "x.shape[-1]") if what == "features" \
            else "x.shape[1]"
    finding = F_.Finding(
        rule=F_.RULE_MISMATCH, severity="error", path=site.path, line=site.line, col=site.col,
        message=F_.mismatch_message(name, layer.label(), actual, expected, what),
        expected={"expr": f"{expr} == {expected}", "value": expected},
        actual={"expr": f"x.shape == {describe_shape(x.shape)}", "value": actual},
        layer={"name": name, "kind": layer.kind, "in": layer.in_size, "out": layer.out_size, "built_at": built_at,
               "built_from": built_lines},
        value_flow=finding_flow(interp, x), called_from=finding_stack(interp, site),
        framework_message=framework_message, raised_by="Chainer" if layer.framework == "chainer" else "torch",
        hint=hint(interp, layer, x, actual, expected, what),
    )
    if rephrase is not None:
        finding.rephrase = rephrase  # its words in another Chainer version (decided after the run)
    if interp.updates:
        finding.context = (f"the real program reaches this only after about {int(interp.updates):,} optimizer "
                           f"updates with these settings")
    interp.add_finding(finding)


def _chainer_message(kind: str, version, actual: int, expected: int) -> str:
    if kind.startswith(("L.Convolution", "L.MLPConvolution", "L.DilatedConvolution")):
        return F_.chainer_convolution_message(version, actual, expected)
    return F_.chainer_linear_message(version, actual, expected)


def predict_chainer_message(finding, version) -> bool:
    """The Chainer message of an NPS001 finding, in the dialect of `version`; False if it has none."""
    if finding.rule != F_.RULE_MISMATCH or not (finding.framework_message or "").startswith("InvalidType"):
        return False
    finding.framework_message = _chainer_message(finding.layer["kind"], version, finding.actual["value"],
                                                 finding.expected["value"])
    return True


def check_lazy_binding(interp, layer: Layer, x: Array, site: Site):
    """A lazy layer adopts whatever it is first fed; say so when that is not what the stack implies."""
    position = position_in_stack(interp, layer)
    implied = None
    if position is not None:
        index, siblings, _ = position
        if index > 0:
            previous = previous_layer(siblings, index)
            # only a Linear's out_size is the width it hands on; a convolution's is its channel count
            if previous is not None and previous.out_size is not None and _is_linear(previous):
                implied = (previous.out_size, f"the output width of the layer before it "
                                              f"({layer_name(interp, previous)}, {previous.label()})")
    if implied is None or implied[0] == layer.in_size:
        return
    name = layer_name(interp, layer)
    built_at, built_lines = _built(layer)
    finding = F_.Finding(
        rule=F_.RULE_LAZY_BINDING, severity="warning", path=site.path, line=site.line, col=site.col,
        message=f"lazy {name} ({layer.kind}, in_size=None) binds in_size={layer.in_size} on its first call, "
                f"but {implied[1]} is {implied[0]}",
        expected={"expr": f"in_size == {implied[0]}", "value": implied[0]},
        actual={"expr": f"in_size bound to {layer.in_size} by x.shape == {describe_shape(x.shape)}",
                "value": layer.in_size},
        layer={"name": name, "kind": layer.kind, "in": None, "out": layer.out_size, "built_at": built_at,
               "built_from": built_lines},
        value_flow=finding_flow(interp, x), called_from=finding_stack(interp, site),
        hint=(f"the layer is fed the raw {layer.in_size}-wide input; feed it the {implied[0]}-wide codes of the "
              f"layer before it" if x.raw_input else
              f"give the layer its in_size explicitly ({implied[0]}) so a wrong input fails at once"),
    )
    interp.add_finding(finding)


def hint(interp, layer: Layer, x: Array, actual: int, expected: int, what: str) -> str | None:
    """A fix suggestion for a definite mismatch, from the first pattern that explains it."""
    weighted = getattr(layer, "weight_of", None) or layer
    position = position_in_stack(interp, weighted)
    index, stages = (position[0], position[1]) if position is not None else (None, None)
    previous = previous_layer(stages, index) if index else None
    stack_input = first_layer(stages[0]).in_size if stages else None
    fed_by_previous = previous is not None and x.produced_by is previous  # what it should be fed: not the stack
    if what == "features" and index and previous is not None and not fed_by_previous \
            and (x.raw_input or actual == stack_input):
        # a deeper layer of the stack fed the stack's input instead of what the layer before it makes
        made = "codes" if stages[index] is not weighted else "output"
        fed = f"the raw {actual}-wide input" if x.raw_input else \
            f"{actual} features, the width of the stack's input (what layer 1 takes)"
        text = f"layer {index + 1} of the stack is fed {fed}; feed it the {made} of layer {index}"
        if previous.out_size == expected:
            text += f" ({expected} wide)"
        candidate = _variable_holding(interp, expected)
        if candidate is not None:
            name, where = candidate
            text += f", e.g. `{name}` (assigned at {where}), instead of the {'raw data' if x.raw_input else 'input'}"
        return text
    maker = x.produced_by
    if isinstance(maker, Layer) and maker is not weighted and maker.out_size == actual and has_weights(maker):
        verdict = _blame(interp, maker, layer, actual, expected)
        if verdict is not None:
            return verdict
    if what == "features" and layer.out_size == actual and layer.in_size == expected and expected != actual \
            and not _taken_by_another(interp, weighted, actual):
        return (f"{layer.kind}({expected}, {actual}) looks built with its sizes swapped: it is fed {actual} "
                f"features; build it as {layer.kind}({actual}, {expected})")
    if isinstance(maker, Layer) and maker is not weighted and maker.out_size == actual and has_weights(maker):
        size = SIZE_WORDS.get(layer.kind, "in_size" if what == "features" else "in_channels")
        return (f"its input is the {actual}-{'wide' if what == 'features' else 'channel'} output of "
                f"{layer_name(interp, maker)} ({maker.label()}): build {layer_name(interp, weighted)} with "
                f"{size} {actual}, or {layer_name(interp, maker)} with {expected} outputs")
    if x.raw_input and what == "features" and not index:
        return (f"the layer is fed the raw {actual}-wide input but was built for {expected}: check the first entry "
                f"of the units list")
    maps = x.shape if x.shape is not None and len(x.shape) == 4 else x.unflattened
    if what == "features" and layer.kind.endswith("Linear") and maps is not None and len(maps) == 4:
        lazy = f"L.Linear(None, {layer.out_size})" if layer.framework == "chainer" else \
            f"nn.LazyLinear({layer.out_size})"
        return (f"the convolutional features flatten to {describe_shape(maps[1:])} = {actual} values; build the "
                f"Linear with in_size {actual} (or {lazy}, which takes its size from its first input)")
    if what == "channels":
        return _channel_hint(layer, x, actual, expected)
    if stages is not None:
        for other_index, stage in enumerate(stages[1:], 1):
            other = first_layer(stage)
            if other is not weighted and other.in_size == actual:
                return (f"layer {other_index + 1} of the stack takes {actual} features: the units list order looks "
                        f"wrong (layer {index + 1} is built for {expected})")
    return None


def _taken_by_another(interp, layer, width) -> bool:
    """Whether another layer takes `width` inputs: then `layer`'s output width (the same) fits the network,
    and swapping its sizes would break that layer."""
    return any(other is not layer and other.in_size == width for other in interp.layers_built)


SIZE_WORDS: dict = {}  # layer kind -> the name of its input size where not in_size (torch's input_size...)


def _blame(interp, producer: Layer, consumer: Layer, actual: int, expected: int) -> str | None:
    """Which of the two layers is wrong when `producer` makes `actual` and `consumer` takes `expected`:
    the one whose sizes nothing else in the program supports (no other layer built with them or their
    mirror, not neighbours in a units list) while its corrected sizes are supported. None if undecided."""
    pair = {producer, consumer, getattr(consumer, "weight_of", None)}  # neither may vouch for itself or the other
    producer_fixed = _support(interp, (producer.in_size, expected), producer, pair)
    producer_now = _support(interp, (producer.in_size, actual), producer, pair)
    consumer_fixed = _support(interp, (actual, consumer.out_size), consumer, pair)
    consumer_now = _support(interp, (expected, consumer.out_size), consumer, pair)
    made_by = layer_name(interp, producer)
    fed = layer_name(interp, getattr(consumer, "weight_of", None) or consumer)
    if producer_fixed and not producer_now and (consumer_now or not consumer_fixed):
        return (f"{fed} is fed the {actual}-wide output of {made_by} ({producer.label()}, built at "
                f"{producer.built.site}); it is {made_by} that looks wrong: built {producer.in_size} -> {expected} "
                f"it would fit the rest of the network ({producer_fixed}), and nothing else has {producer.in_size} "
                f"next to {actual}{f'; {fed} fits as built ({consumer_now})' if consumer_now else ''}; build "
                f"{made_by} as {producer.kind}({producer.in_size}, {expected})")
    if consumer_fixed and not consumer_now and (producer_now or not producer_fixed):
        return (f"{fed} ({consumer.label()}) looks built for the wrong input: built {actual} -> {consumer.out_size} "
                f"it would fit the rest of the network ({consumer_fixed}), and nothing else has {expected} next to "
                f"{consumer.out_size}{f'; {made_by} fits as built ({producer_now})' if producer_now else ''}; build "
                f"{fed} as {consumer.kind}({actual}, {consumer.out_size})")
    return None


def _family(layer) -> str | None:
    """Layers whose sizes are comparable: widths of Linear layers, channel counts of convolutions, the
    sizes of recurrent layers."""
    if layer.kind.endswith("Linear") or layer.kind.startswith("F.linear") or "functional.linear" in layer.kind:
        return "linear"
    if "onv" in layer.kind:
        return "convolution"
    if any(word in layer.kind for word in ("LSTM", "GRU", "RNN")):
        return "recurrent"
    return None


def _support(interp, sizes: tuple, layer: Layer, exclude: set) -> str | None:
    """What in the program supports a layer like `layer` built with `sizes` (in, out): another layer of
    its family built with those sizes or their mirror (an autoencoder's decoder mirrors its encoder), or
    the two sizes next to each other in a units list; None when nothing does."""
    first, second = sizes
    if first is None or second is None:
        return None
    family = _family(layer)
    for other in interp.layers_built if family is not None else ():
        if other in exclude or _family(other) != family:
            continue
        if (other.in_size, other.out_size) in ((second, first), (first, second)):
            relation = "mirrors it" if (other.in_size, other.out_size) == (second, first) else "has the same sizes"
            return f"{layer_name(interp, other)}, {other.label()} built at {other.built.site}, {relation}"
    for name, units in _units_lists(interp):
        for a, b in zip(units, units[1:]):
            if (a, b) in ((first, second), (second, first)):
                return f"the units list `{name}` {list(units)} has {a} next to {b}"
    return None


def _units_lists(interp):
    """(name, list) of the lists of three or more sizes the program holds: the units lists."""
    def sizes(value):
        return isinstance(value, (list, tuple)) and len(value) >= 3 and id(value) not in interp.inexact_lists \
            and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)

    for scope in _program_scopes(interp):
        for key, value in scope.items():
            if sizes(value):
                yield key, value
            elif isinstance(value, LibraryObject) and value.kind == "Namespace":  # argparse's args.units
                for field_name, field_value in value.fields.items():
                    if sizes(field_value):
                        yield f"{key}.{field_name}", field_value


def _channel_hint(layer: Layer, x: Array, actual: int, expected: int) -> str:
    if x.shape is not None and x.shape[-1] == expected:
        permute = "x.permute(0, 3, 1, 2)" if layer.framework == "torch" else "x.transpose(0, 3, 1, 2)"
        return (f"the input {describe_shape(x.shape)} looks channels-last (N, H, W, C): the layer takes "
                f"(N, C, H, W); transpose it, e.g. {permute}")
    return (f"the input has {actual} channel(s) on axis 1: build the layer with {actual} input channels "
            f"({layer.kind}({actual}, {layer.out_size}, ...)) or feed it {expected}-channel images")


def _variable_holding(interp, width: int):
    """A variable in the active frames that holds a non-raw array of the expected width."""
    for frame in reversed(interp.frames + [None]):
        scope = frame.scope() if frame is not None else next(
            (m.namespace for m in interp.modules.values() if m.name == "__main__"), {})
        assigned = frame.assigned_at if frame is not None else {}
        for name, value in scope.items():
            if isinstance(value, Array) and not value.raw_input and value.features() == width and value.flow:
                where = assigned.get(name) or value.flow[-1].site
                return name, str(where)
    return None


def reshape_mismatch(interp, array: Array, target: tuple, site: Site, how: str):
    """A reshape to a hard-coded shape whose size differs from the array's (typically the last,
    shorter minibatch reshaped with the batch size written out), or with a -1 that the other
    dimensions do not divide."""
    size = math.prod(array.shape)
    inferred = -1 in target
    known = math.prod(d for d in target if d != -1)
    target_text = describe_shape(target)
    if how == "torch":
        message = f"RuntimeError: shape '{list(target)}' is invalid for input of size {size}"
    elif interp.chainer_version and how == "function":
        expect = (f"prod(x.shape) % known_size(={known}) == 0 Actual: {size % known} != 0" if inferred else
                  f"prod(x.shape) == prod({tuple(target)}) Actual: {size} != {known}")
        message = f"InvalidType: Invalid operation is performed in: Reshape (Forward) Expect: {expect}"
    else:  # numpy leaves the -1 out of the shape it prints
        printed = "(" + ",".join(str(d) for d in target if d != -1) + ")"
        message = f"ValueError: cannot reshape array of size {size} into shape {printed}"
    hint_text = None
    if not inferred and array.shape and target and array.shape[0] != target[0] \
            and math.prod(array.shape[1:]) == math.prod(target[1:]):
        hint_text = (f"this batch has {array.shape[0]} rows, not {target[0]}: the last minibatch of an epoch is "
                     f"shorter when the data size is not a multiple of the batch size; reshape with -1 for the "
                     f"batch axis, e.g. reshape(-1, {', '.join(map(str, target[1:]))})")
    elif inferred and array.unflattened is None and len(array.shape) == 4:
        hint_text = (f"the feature maps {describe_shape(array.shape[1:])} hold {math.prod(array.shape[1:])} values "
                     f"per example; flatten them with x.reshape(x.shape[0], -1) (or the width "
                     f"{math.prod(array.shape[1:])})")
    wanted_text = f"a multiple of {known}" if inferred else f"{known}"
    finding = F_.Finding(
        rule=F_.RULE_RESHAPE, severity="error", path=site.path, line=site.line, col=site.col,
        message=f"reshape of a {describe_shape(array.shape)} array ({size} elements) to {target_text} "
                f"({wanted_text} elements)",
        expected={"expr": f"prod(x.shape) % {known} == 0" if inferred else f"prod(x.shape) == {known}",
                  "value": known},
        actual={"expr": f"x.shape == {describe_shape(array.shape)}", "value": size},
        value_flow=finding_flow(interp, array), called_from=finding_stack(interp, site),
        framework_message=message, hint=hint_text,
    )
    if interp.updates:
        finding.context = (f"the real program reaches this only after about {int(interp.updates):,} optimizer "
                           f"updates with these settings")
    interp.add_finding(finding)
