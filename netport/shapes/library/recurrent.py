"""Recurrent and embedding layers, Chainer's and torch's, and Chainer's deconvolution and MLP convolution.

Chainer: L.EmbedID (and v1's F.EmbedID), L.LSTM, L.StatelessLSTM, L.NStepLSTM/NStepBiLSTM/NStepGRU/
NStepBiGRU, L.GRU (stateless in v1: GRU(n_units, n_inputs)(h, x); stateful from v2: GRU(in, out)(x)),
L.StatefulGRU, L.StatelessGRU, F.lstm and F.embed_id. Their input goes through a Linear, so a wrong width
fails with the Linear's message (Chainer 7's n-step layers have their own). torch: nn.Embedding,
nn.LSTM/GRU/RNN (batch_first, bidirectional, num_layers, proj_size) and nn.LSTMCell/GRUCell/RNNCell. The
messages were checked on Chainer 1.24 and 7.8 and torch 2.13.
"""

from __future__ import annotations

from netport.shapes import findings as F_
from netport.shapes.layers import (
    CALL_MODELS, SIZE_WORDS, WEIGHTED_KINDS, construction, finding_flow, finding_stack, layer_output, linear,
    mismatch,
)
from netport.shapes.library.registry import argument, register_models
from netport.shapes.values import UNKNOWN, Array, Layer, describe_shape


def _int(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _known(value) -> bool:
    return isinstance(value, Array) and value.shape is not None


def _described(args, kwargs) -> str:
    parts = [str(a) if isinstance(a, (int, float, type(None))) else "?" for a in args]
    parts += [f"{k}={v}" for k, v in kwargs.items() if isinstance(v, (int, float, bool, type(None)))]
    return ", ".join(parts)


def _layer(interp, kind, site, args, kwargs, in_size, out_size, framework, **options) -> Layer:
    lazy = in_size is None and framework == "chainer" and options.pop("lazy", False)
    return Layer(kind, _int(in_size), _int(out_size), construction(interp, kind, site, _described(args, kwargs)),
                 framework, lazy=lazy, options=options)


# ----------------------------------------------------------------- embeddings

def _embed_id(kind):
    def model(interp, args, kwargs, site):
        return _layer(interp, kind, site, args, kwargs, argument(args, kwargs, 0, "in_size"),
                      argument(args, kwargs, 1, "out_size"), "chainer")
    return model


def _torch_embedding(interp, args, kwargs, site):
    return _layer(interp, "nn.Embedding", site, args, kwargs, argument(args, kwargs, 0, "num_embeddings"),
                  argument(args, kwargs, 1, "embedding_dim"), "torch")


def _call_embedding(interp, layer, args, kwargs, site):
    """An id array of any shape: each id becomes a row of the table, a vector of out_size."""
    ids = args[0] if args else UNKNOWN
    if not isinstance(ids, Array):
        return UNKNOWN
    if ids.shape is None or layer.out_size is None:
        return ids.with_shape(None)
    return layer_output(ids.with_shape(ids.shape + (layer.out_size,)), layer, site)


def _embed_id_function(interp, args, kwargs, site):
    """F.embed_id(x, W): like L.EmbedID with the table W (in_size, out_size)."""
    ids, table = argument(args, kwargs, 0, "x"), argument(args, kwargs, 1, "W")
    if not _known(ids) or not _known(table) or len(table.shape) != 2:
        return ids.with_shape(None) if isinstance(ids, Array) else UNKNOWN
    return ids.with_shape(ids.shape + (table.shape[1],))


# ----------------------------------------------------------------- Chainer's recurrent links

def _chainer_lstm(kind):
    """L.LSTM(in_size, out_size=None) and L.StatelessLSTM: L.LSTM(out) is lazy from v2 (v1 needs both)."""
    def model(interp, args, kwargs, site):
        in_size = argument(args, kwargs, 0, "in_size")
        out_size = argument(args, kwargs, 1, "out_size", None)
        if out_size is None:
            in_size, out_size = None, in_size
        return _layer(interp, kind, site, args, kwargs, in_size, out_size, "chainer", lazy=True)
    return model


def _chainer_gru(kind):
    """L.GRU's arguments mean (n_units, n_inputs=None) in v1 and (in_size, out_size) from v2; which, the
    call says (v1's takes (h, x), v2's x alone), so the raw sizes are kept until then."""
    def model(interp, args, kwargs, site):
        first = argument(args, kwargs, 0, "in_size", argument(args, kwargs, None, "n_units"))
        second = argument(args, kwargs, 1, "out_size", argument(args, kwargs, None, "n_inputs", None))
        if kind == "L.GRU":
            return _layer(interp, kind, site, args, kwargs, first, second, "chainer", raw=(first, second))
        return _layer(interp, kind, site, args, kwargs, first, second, "chainer")
    return model


def _input_check(interp, layer, x, site):
    """The input goes through the layer's upward Linear: the Linear's check and message."""
    check = Layer(layer.kind, layer.in_size, layer.out_size, layer.built, "chainer", lazy=layer.lazy)
    check.weight_of, check.parent, check.name_in_parent = _owner(layer), layer.parent, layer.name_in_parent
    out = linear(interp, check, x, site, "chainer")
    if layer.lazy and layer.in_size is None and check.in_size is not None:
        layer.in_size, layer.bound_at = check.in_size, check.bound_at
    return out


def _hidden_check(interp, layer, h, site):
    """A hidden state goes through the lateral Linear (out_size -> 4 * out_size): it must be out_size wide."""
    if not _known(h) or len(h.shape) != 2 or h.shape[1] is None or layer.out_size is None:
        return
    interp.checked_calls += 1
    if h.shape[1] != layer.out_size:
        mismatch(interp, _view(layer, layer.out_size), h, h.shape[1], layer.out_size, site)


def _view(layer, in_size):
    """The layer as the Linear that checks one of its inputs (in_size wide), named as the layer."""
    view = Layer(layer.kind, in_size, layer.out_size, layer.built, layer.framework)
    view.weight_of, view.parent, view.name_in_parent = _owner(layer), layer.parent, layer.name_in_parent
    return view


def _owner(layer):
    """The layer of the program a view stands for (views of views included)."""
    return getattr(layer, "weight_of", None) or layer


def _rows(x):
    return x.shape[0] if _known(x) and x.shape else None


def _state(layer, x, site, width=None):
    width = layer.out_size if width is None else width
    if not isinstance(x, Array) or width is None:
        return x.with_shape(None) if isinstance(x, Array) else UNKNOWN
    return layer_output(x.with_shape((_rows(x), width)), layer, site)


def _call_chainer_lstm(interp, layer, args, kwargs, site):
    """L.LSTM(x) -> h; L.StatelessLSTM(c, h, x) -> (c, h)."""
    if layer.kind == "L.StatelessLSTM":
        c, h, x = (list(args) + [UNKNOWN] * 3)[:3]
        if h is not None:
            _hidden_check(interp, layer, h, site)
        out = _input_check(interp, layer, x, site)
        return (_state(layer, out, site), _state(layer, out, site)) if isinstance(out, Array) else (UNKNOWN, UNKNOWN)
    out = _input_check(interp, layer, args[0] if args else UNKNOWN, site)
    return _state(layer, out, site) if isinstance(out, Array) else UNKNOWN


def _call_chainer_gru(interp, layer, args, kwargs, site):
    if layer.kind == "L.GRU" and len(args) == 2:  # v1's stateless GRU(n_units, n_inputs)(h, x)
        n_units, n_inputs = layer.options["raw"]
        view = Layer(layer.kind, _int(n_inputs if n_inputs is not None else n_units), _int(n_units), layer.built,
                     "chainer")
        view.weight_of, view.parent, view.name_in_parent = layer, layer.parent, layer.name_in_parent
        h, x = args
        _hidden_check(interp, view, h, site)
        out = _input_check(interp, view, x, site)
        return _state(view, out, site) if isinstance(out, Array) else UNKNOWN
    if layer.kind == "L.StatelessGRU" and len(args) == 2:
        h, x = args
        _hidden_check(interp, layer, h, site)
        out = _input_check(interp, layer, x, site)
    else:
        out = _input_check(interp, layer, args[0] if args else UNKNOWN, site)
    return _state(layer, out, site) if isinstance(out, Array) else UNKNOWN


def _n_step(kind, bidirectional, has_cell):
    """L.NStepLSTM(n_layers, in_size, out_size, dropout) and its kin: called (hx, cx, xs) or (hx, xs) with xs
    a list of (T_i, in_size) sequences; they return (hy, cy, ys) or (hy, ys)."""
    def model(interp, args, kwargs, site):
        return _layer(interp, kind, site, args, kwargs, argument(args, kwargs, 1, "in_size"),
                      argument(args, kwargs, 2, "out_size"), "chainer",
                      n_layers=_int(argument(args, kwargs, 0, "n_layers")), directions=2 if bidirectional else 1,
                      cell=has_cell)
    return model


def _call_n_step(interp, layer, args, kwargs, site):
    xs = args[2] if layer.options["cell"] and len(args) > 2 else args[1] if len(args) > 1 else UNKNOWN
    directions, n_layers = layer.options["directions"], layer.options["n_layers"]
    outputs = UNKNOWN
    if isinstance(xs, (list, tuple)) and xs and all(isinstance(x, Array) for x in xs) \
            and id(xs) not in interp.inexact_lists:
        outputs = []
        for x in xs:
            if _known(x) and len(x.shape) == 2 and x.shape[1] is not None and layer.in_size is not None:
                interp.checked_calls += 1
                if x.shape[1] != layer.in_size:
                    def message(version, actual=x.shape[1], expected=layer.in_size):
                        if version[0] >= 5:
                            return (f"ValueError: Inconsistent input size in input values and weight parameters: "
                                    f"{actual} != {expected}")
                        return F_.chainer_linear_message(version, actual, expected)
                    mismatch(interp, layer, x, x.shape[1], layer.in_size, site,
                             framework_message=message(interp.chainer_version), expr="xs[i].shape[1]",
                             rephrase=message)
                    return UNKNOWN
            width = None if layer.out_size is None else layer.out_size * directions
            outputs.append(layer_output(x.with_shape((_rows(x), width)), layer, site) if _known(x) else UNKNOWN)
    batch = len(xs) if isinstance(outputs, list) else None
    layers = None if n_layers is None else n_layers * directions
    state = Array((layers, batch, layer.out_size)) if layer.out_size is not None else UNKNOWN
    return (state, state, outputs) if layer.options["cell"] else (state, outputs)


def _lstm_function(interp, args, kwargs, site):
    """F.lstm(c_prev, x): x carries the four gates, 4 * c_prev.shape[1] wide; it returns (c, h)."""
    c, x = argument(args, kwargs, 0, "c_prev"), argument(args, kwargs, 1, "x")
    units = c.shape[1] if _known(c) and len(c.shape) >= 2 else None
    width = x.shape[1] if _known(x) and len(x.shape) >= 2 else None
    if units is not None and width is not None:
        interp.checked_calls += 1
        if width != 4 * units:
            def message(version, width=width, units=units):
                expect = "in_types[1].shape[1] == 4 * in_types[0].shape[1]" if version[0] <= 4 else \
                    "x.shape[1] == 4 * c.shape[1]"
                return (f"InvalidType: Invalid operation is performed in: LSTM (Forward) Expect: {expect} "
                        f"Actual: {width} != {4 * units}")
            finding = F_.Finding(
                rule=F_.RULE_FUNCTION, severity="error", path=site.path, line=site.line, col=site.col,
                message=f"F.lstm is given x of shape {describe_shape(x.shape)} and c_prev of shape "
                        f"{describe_shape(c.shape)}: x must be 4 * {units} = {4 * units} wide (the four gates)",
                expected={"expr": f"x.shape[1] == 4 * c.shape[1] == {4 * units}", "value": 4 * units},
                actual={"expr": f"x.shape == {describe_shape(x.shape)}", "value": width},
                value_flow=finding_flow(interp, x), called_from=finding_stack(interp, site),
                framework_message=message(interp.chainer_version), raised_by="Chainer",
                hint=f"the Linear that makes x must output 4 * {units} = {4 * units} (the gates of {units} units)")
            finding.rephrase = message
            interp.add_finding(finding)
            return (UNKNOWN, UNKNOWN)
    if units is None and width is not None and width % 4 == 0:
        units = width // 4
    rows = _rows(x) if _known(x) else _rows(c)
    if units is None or not isinstance(x, Array):
        return (UNKNOWN, UNKNOWN)
    return (x.with_shape((rows, units)), x.with_shape((rows, units)))


# ----------------------------------------------------------------- torch's recurrent modules

def _torch_rnn(kind):
    """nn.LSTM/GRU/RNN(input_size, hidden_size, num_layers=1, ..., batch_first=False, bidirectional=False)."""
    def model(interp, args, kwargs, site):
        return _layer(interp, kind, site, args, kwargs, argument(args, kwargs, 0, "input_size"),
                      argument(args, kwargs, 1, "hidden_size"), "torch",
                      num_layers=argument(args, kwargs, 2, "num_layers", 1),
                      batch_first=kwargs.get("batch_first", False), bidirectional=kwargs.get("bidirectional", False),
                      proj_size=kwargs.get("proj_size", 0))
    return model


def _torch_cell(kind):
    def model(interp, args, kwargs, site):
        return _layer(interp, kind, site, args, kwargs, argument(args, kwargs, 0, "input_size"),
                      argument(args, kwargs, 1, "hidden_size"), "torch")
    return model


def _torch_input_check(interp, layer, x, site, message) -> bool:
    """The last axis of the input against input_size; True when it fits or is not known."""
    width = x.shape[-1] if x.shape else None
    if width is None or layer.in_size is None:
        return True
    interp.checked_calls += 1
    if width != layer.in_size:
        mismatch(interp, layer, x, width, layer.in_size, site, framework_message=message(width, layer.in_size),
                 expr="x.shape[-1]")
        return False
    return True


def _call_torch_rnn(interp, layer, args, kwargs, site):
    x = argument(args, kwargs, 0, "input")
    if not _known(x):
        return UNKNOWN
    name = layer.kind[3:]
    if len(x.shape) not in (2, 3):
        finding_text = f"ValueError: {name}: Expected input to be 2D or 3D, got {len(x.shape)}D instead"
        mismatch(interp, layer, x, len(x.shape), 3, site, what="axes", framework_message=finding_text,
                 expr="x.ndim")
        return UNKNOWN
    if not _torch_input_check(interp, layer, x, site, lambda got, want: (
            f"RuntimeError: input.size(-1) must be equal to input_size. Expected {want}, got {got}")):
        return UNKNOWN
    options = layer.options
    directions = 2 if options["bidirectional"] is True else 1 if options["bidirectional"] is False else None
    layers = _int(options["num_layers"])
    projected = _int(options["proj_size"]) if options["proj_size"] else layer.out_size
    width = None if None in (directions, projected) else directions * projected
    if len(x.shape) == 3:
        batch = x.shape[0] if options["batch_first"] is True else x.shape[1] if options["batch_first"] is False \
            else None
        output = x.with_shape(x.shape[:2] + (width,))
        state_rows = (None if None in (directions, layers) else directions * layers, batch)
    else:  # unbatched (L, H_in)
        output = x.with_shape((x.shape[0], width))
        state_rows = (None if None in (directions, layers) else directions * layers,)
    output = layer_output(output, layer, site)
    h = x.with_shape(state_rows + (projected,))
    if name == "LSTM":
        return (output, (h, x.with_shape(state_rows + (layer.out_size,))))
    return (output, h)


def _call_torch_cell(interp, layer, args, kwargs, site):
    x = argument(args, kwargs, 0, "input")
    if not _known(x) or len(x.shape) not in (1, 2):
        return UNKNOWN
    if not _torch_input_check(interp, layer, x, site, lambda got, want: (
            f"RuntimeError: input has inconsistent input_size: got {got} expected {want}")):
        return UNKNOWN
    h = layer_output(x.with_shape(x.shape[:-1] + (layer.out_size,)), layer, site)
    return (h, x.with_shape(h.shape)) if layer.kind == "nn.LSTMCell" else h


# ----------------------------------------------------------------- Chainer's deconvolution and MLP convolution

def _deconvolution(interp, args, kwargs, site):
    """L.Deconvolution2D(in_channels, out_channels, ksize, stride=1, pad=0, ..., outsize=None); the
    two-argument form (out_channels, ksize) is lazy (v2+)."""
    in_channels = argument(args, kwargs, 0, "in_channels")
    out_channels = argument(args, kwargs, 1, "out_channels")
    ksize = argument(args, kwargs, 2, "ksize", None)
    lazy = False
    if ksize is None and not isinstance(in_channels, type(None)) and len(args) == 2:
        in_channels, out_channels, ksize, lazy = None, in_channels, out_channels, True
    from netport.shapes.layers import _pair  # the geometry helpers of the convolutions

    layer = Layer("L.Deconvolution2D", _int(in_channels), _int(out_channels),
                  construction(interp, "L.Deconvolution2D", site, _described(args, kwargs)), "chainer",
                  lazy=lazy or in_channels is None, ksize=_pair(ksize),
                  stride=_pair(argument(args, kwargs, 3, "stride", 1)), pad=_pair(argument(args, kwargs, 4, "pad", 0)),
                  options={"outsize": kwargs.get("outsize")})
    return layer


def _call_deconvolution(interp, layer, args, kwargs, site):
    x = args[0] if args else UNKNOWN
    if not _known(x) or len(x.shape) != 4:
        return x.with_shape(None) if isinstance(x, Array) else UNKNOWN
    channels = x.shape[1]
    if channels is not None:
        interp.checked_calls += 1
        if layer.in_size is None and layer.lazy:
            layer.in_size, layer.bound_at = channels, site
        elif layer.in_size is not None and channels != layer.in_size:
            def message(version, actual=channels, expected=layer.in_size):
                return (f"InvalidType: Invalid operation is performed in: Deconvolution2DFunction (Forward) Expect: "
                        f"in_types[0].shape[1] == in_types[1].shape[0] Actual: {actual} != {expected}")
            mismatch(interp, layer, x, channels, layer.in_size, site, what="channels",
                     framework_message=message(interp.chainer_version), rephrase=message)
            return x.with_shape(None)
    outsize = layer.options.get("outsize")
    if isinstance(outsize, (tuple, list)) and len(outsize) == 2 and all(_int(d) is not None for d in outsize):
        spatial = tuple(outsize)
    elif None not in (layer.ksize, layer.stride, layer.pad):
        spatial = tuple(None if size is None else s * (size - 1) + k - 2 * p
                        for size, k, s, p in zip(x.shape[2:], layer.ksize, layer.stride, layer.pad))
    else:
        spatial = (None, None)
    return layer_output(x.with_shape((x.shape[0], layer.out_size) + spatial), layer, site)


def _mlp_convolution(interp, args, kwargs, site):
    """L.MLPConvolution2D(in_channels, out_channels (a tuple), ksize, stride, pad): a convolution then 1x1
    convolutions; it checks the input's channels and outputs the last of out_channels."""
    from netport.shapes.layers import _chainer_convolution

    channels = argument(args, kwargs, 1, "out_channels")
    last = channels[-1] if isinstance(channels, (tuple, list)) and channels else None
    first = channels[0] if isinstance(channels, (tuple, list)) and channels else None
    layer = _chainer_convolution(None)(interp, [argument(args, kwargs, 0, "in_channels"), first,
                                                argument(args, kwargs, 2, "ksize", None),
                                                argument(args, kwargs, 3, "stride", 1),
                                                argument(args, kwargs, 4, "pad", 0)], {}, site)
    layer.kind, layer.options = "L.MLPConvolution2D", {"out": _int(last)}
    return layer


def _call_mlp_convolution(interp, layer, args, kwargs, site):
    from netport.shapes.layers import convolution

    out = convolution(interp, layer, args[0] if args else UNKNOWN, site)
    if isinstance(out, Array) and out.shape is not None and len(out.shape) == 4:
        return out.with_shape((out.shape[0], layer.options["out"]) + tuple(out.shape[2:]))
    return out


WEIGHTED_KINDS.extend(["EmbedID", "Embedding", "LSTM", "GRU", "NStepBiLSTM", "NStepBiGRU", "LSTMCell", "GRUCell",
                       "RNN", "RNNCell", "Deconvolution2D", "MLPConvolution2D"])
SIZE_WORDS.update({f"nn.{name}": "input_size" for name in ("LSTM", "GRU", "RNN", "LSTMCell", "GRUCell", "RNNCell")})
CALL_MODELS.update({
    "L.EmbedID": _call_embedding, "nn.Embedding": _call_embedding,
    "L.LSTM": _call_chainer_lstm, "L.StatelessLSTM": _call_chainer_lstm,
    "L.GRU": _call_chainer_gru, "L.StatefulGRU": _call_chainer_gru, "L.StatelessGRU": _call_chainer_gru,
    "L.NStepLSTM": _call_n_step, "L.NStepBiLSTM": _call_n_step, "L.NStepGRU": _call_n_step,
    "L.NStepBiGRU": _call_n_step,
    "nn.LSTM": _call_torch_rnn, "nn.GRU": _call_torch_rnn, "nn.RNN": _call_torch_rnn,
    "nn.LSTMCell": _call_torch_cell, "nn.GRUCell": _call_torch_cell, "nn.RNNCell": _call_torch_cell,
    "L.Deconvolution2D": _call_deconvolution, "L.MLPConvolution2D": _call_mlp_convolution,
})
register_models({
    "chainer.links.EmbedID": _embed_id("L.EmbedID"),
    "chainer.functions.EmbedID": _embed_id("L.EmbedID"),  # v1's function-set era name of the same link
    "chainer.functions.embed_id": _embed_id_function,
    "chainer.links.LSTM": _chainer_lstm("L.LSTM"),
    "chainer.links.StatelessLSTM": _chainer_lstm("L.StatelessLSTM"),
    "chainer.links.GRU": _chainer_gru("L.GRU"),
    "chainer.links.StatefulGRU": _chainer_gru("L.StatefulGRU"),
    "chainer.links.StatelessGRU": _chainer_gru("L.StatelessGRU"),
    "chainer.links.NStepLSTM": _n_step("L.NStepLSTM", False, True),
    "chainer.links.NStepBiLSTM": _n_step("L.NStepBiLSTM", True, True),
    "chainer.links.NStepGRU": _n_step("L.NStepGRU", False, False),
    "chainer.links.NStepBiGRU": _n_step("L.NStepBiGRU", True, False),
    "chainer.functions.lstm": _lstm_function,
    "chainer.links.Deconvolution2D": _deconvolution,
    "chainer.links.MLPConvolution2D": _mlp_convolution,
    "torch.nn.Embedding": _torch_embedding,
    "torch.nn.LSTM": _torch_rnn("nn.LSTM"),
    "torch.nn.GRU": _torch_rnn("nn.GRU"),
    "torch.nn.RNN": _torch_rnn("nn.RNN"),
    "torch.nn.LSTMCell": _torch_cell("nn.LSTMCell"),
    "torch.nn.GRUCell": _torch_cell("nn.GRUCell"),
    "torch.nn.RNNCell": _torch_cell("nn.RNNCell"),
})
