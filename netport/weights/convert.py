"""Chainer npz <-> PyTorch state_dict, by name and layout.

Chainer serialises a link tree as ``child/child/param`` keys; torch as ``child.child.param``.
Link and module attribute names are kept by netport's torch migration, so the conversion is a
table of parameter-name pairs per layer kind plus the layouts that differ:

* Linear, Convolution2D, Deconvolution2D, EmbedID, PReLU: identical layouts, ``W``/``b`` ->
  ``weight``/``bias``;
* BatchNormalization: ``gamma``/``beta``/``avg_mean``/``avg_var``/``N`` -> ``weight``/``bias``/
  ``running_mean``/``running_var``/``num_batches_tracked``; without ``gamma`` (``use_gamma=False``) the
  weight is ones, without ``beta`` the bias zeros (what the migration keeps fixed), unless both are
  missing (``affine=False``);
* L.LSTM (``upward/W``, ``upward/b``, ``lateral/W``) -> nn.LSTMCell: Chainer interleaves the four
  gates per unit as (a, i, f, o); torch stacks blocks (i, f, g, o): torch row ``g*H + u`` is
  Chainer row ``4u + [1, 2, 0, 3][g]``; ``bias_hh`` is zero;
* L.NStepLSTM (``<layer>/w0..w7``, ``b0..b7``) -> nn.LSTM: ``weight_ih_l<k>`` is
  ``w0..w3`` stacked, ``weight_hh_l<k>`` is ``w4..w7`` (the cuDNN order i, f, g, o: no permutation);
  L.NStepBiLSTM numbers its links ``2k + d`` for layer k and direction d: ``_l<k>`` / ``_l<k>_reverse``
  (told from an NStepLSTM of twice the layers by the input widths: a bidirectional layer above the
  first takes both directions' outputs, 2 * hidden wide);
* Trainer snapshots' ``updater/model:main/`` prefix is removed.

Anything else keeps its name (``decoder_bias`` made with ``add_param`` stays ``decoder_bias``).
"""

from __future__ import annotations

import re
import warnings
from typing import Mapping

import numpy as np

SNAPSHOT_PREFIXES = ("updater/model:main/",)
PARAM_NAMES = {"W": "weight", "b": "bias", "gamma": "weight", "beta": "bias", "avg_mean": "running_mean",
               "avg_var": "running_var", "N": "num_batches_tracked"}
TORCH_TO_CHAINER_BN = {"weight": "gamma", "bias": "beta", "running_mean": "avg_mean",
                       "running_var": "avg_var", "num_batches_tracked": "N"}
LSTM_GATES = [1, 2, 0, 3]  # torch gate block g (i, f, g, o) holds Chainer gate LSTM_GATES[g] (a, i, f, o)
_NSTEP = re.compile(r"^(?P<prefix>(?:.+/)?)(?P<layer>\d+)/(?P<kind>[wb])(?P<index>[0-7])$")


class WeightConversionError(ValueError):
    """Weights that do not fit the requested layout; the message lists every offending key."""


def chainer_to_torch(arrays: Mapping[str, np.ndarray], bidirectional: bool | None = None) -> dict[str, np.ndarray]:
    """A torch-style state_dict (numpy arrays, dotted keys) from the arrays of a Chainer npz.

    ``bidirectional`` says whether an even number of NStepLSTM links under one prefix is an
    L.NStepBiLSTM; None: tell from the widths, and warn (taking an NStepLSTM) where they cannot tell."""
    arrays = strip_snapshot_prefix(arrays)
    out: dict[str, np.ndarray] = {}
    done: set[str] = set()
    # L.LSTM: three arrays under one prefix become an nn.LSTMCell
    for key in arrays:
        if key.endswith("lateral/W"):
            prefix = key[: -len("lateral/W")]
            upward_w, upward_b = arrays.get(prefix + "upward/W"), arrays.get(prefix + "upward/b")
            if upward_w is None or upward_b is None:
                continue
            name = _dotted(prefix)
            out[name + "weight_ih"] = _interleaved_to_blocks(upward_w)
            out[name + "bias_ih"] = _interleaved_to_blocks(upward_b)
            out[name + "weight_hh"] = _interleaved_to_blocks(arrays[key])
            out[name + "bias_hh"] = np.zeros_like(upward_b)
            done |= {key, prefix + "upward/W", prefix + "upward/b"}
    # L.NStepLSTM: per layer w0..w7/b0..b7 become nn.LSTM's stacked matrices
    layers: dict[tuple[str, int], dict[str, np.ndarray]] = {}
    for key, value in arrays.items():
        match = _NSTEP.match(key)
        if match and key not in done:
            layers.setdefault((match["prefix"], int(match["layer"])), {})[match["kind"] + match["index"]] = value
    directions = _nstep_directions({key: params for key, params in layers.items() if len(params) == 16},
                                   bidirectional)
    for (prefix, layer), params in sorted(layers.items()):
        if len(params) != 16:
            continue
        name, stack = _dotted(prefix), np.concatenate
        suffix = f"l{layer}"
        if directions.get(prefix, 1) == 2:  # NStepBiLSTM: link 2k + d is layer k, direction d
            suffix = f"l{layer // 2}" + ("_reverse" if layer % 2 else "")
        out[f"{name}weight_ih_{suffix}"] = stack([params[f"w{i}"] for i in range(4)])
        out[f"{name}weight_hh_{suffix}"] = stack([params[f"w{i}"] for i in range(4, 8)])
        out[f"{name}bias_ih_{suffix}"] = stack([params[f"b{i}"] for i in range(4)])
        out[f"{name}bias_hh_{suffix}"] = stack([params[f"b{i}"] for i in range(4, 8)])
        done |= {f"{prefix}{layer}/{k}" for k in params}
    for key, value in arrays.items():
        if key in done:
            continue
        path, _, param = key.rpartition("/")
        torch_param = PARAM_NAMES.get(param, param)
        if param == "N":
            value = np.asarray(value, dtype=np.int64)
        out[_dotted(path + "/" if path else "") + torch_param] = np.asarray(value)
    # L.BatchNormalization(use_gamma=False) has no gamma (use_beta=False no beta): netport's migration keeps
    # the module's weight fixed at 1 (bias at 0), and takes affine=False only when both are missing
    for key, value in arrays.items():
        if key == "avg_mean" or key.endswith("/avg_mean"):
            prefix = key[: -len("avg_mean")]
            has_gamma, has_beta = prefix + "gamma" in arrays, prefix + "beta" in arrays
            if has_gamma != has_beta:
                fixed = _dotted(prefix) + ("bias" if has_gamma else "weight")
                out[fixed] = np.zeros_like(value) if has_gamma else np.ones_like(value)
    return out


def torch_to_chainer(state: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays of a Chainer npz from a torch state_dict (values as numpy arrays)."""
    state = {k: np.asarray(v) for k, v in state.items()}
    out: dict[str, np.ndarray] = {}
    done: set[str] = set()
    bn_modules = {k[: -len("running_mean")] for k in state if k.endswith("running_mean")}
    for key in state:
        if key.endswith("weight_ih") and key[: -len("weight_ih")] + "weight_hh" in state:
            prefix = key[: -len("weight_ih")]
            bias_hh = state.get(prefix + "bias_hh")
            if bias_hh is not None and np.any(bias_hh):
                raise WeightConversionError(f"{prefix}bias_hh is not zero: Chainer's L.LSTM has no hidden-side bias "
                                            "(fold it into bias_ih before converting)")
            path = prefix.replace(".", "/")
            out[path + "upward/W"] = _blocks_to_interleaved(state[key])
            out[path + "upward/b"] = _blocks_to_interleaved(state[prefix + "bias_ih"])
            out[path + "lateral/W"] = _blocks_to_interleaved(state[prefix + "weight_hh"])
            done |= {key, prefix + "weight_hh", prefix + "bias_ih", prefix + "bias_hh"}
    for key in state:
        match = re.match(r"^(?P<prefix>(?:.+\.)?)weight_ih_l(?P<layer>\d+)(?P<reverse>_reverse)?$", key)
        if not match:
            continue
        prefix, layer, reverse = match["prefix"], match["layer"], match["reverse"] or ""
        bidirectional = f"{prefix}weight_ih_l0_reverse" in state
        link = 2 * int(layer) + bool(reverse) if bidirectional else int(layer)
        path = prefix.replace(".", "/") + str(link) + "/"
        for kind, names in (("weight", ("w0", "w4")), ("bias", ("b0", "b4"))):
            for side, first in zip(("ih", "hh"), names):
                source = f"{prefix}{kind}_{side}_l{layer}{reverse}"
                if source not in state:
                    raise WeightConversionError(f"{source} is missing (needed to rebuild {path}{first[0]}0..7)")
                start = int(first[1])
                for i, block in enumerate(np.split(state[source], 4)):
                    out[f"{path}{first[0]}{start + i}"] = block
                done.add(source)
    for key, value in state.items():
        if key in done:
            continue
        module, _, param = key.rpartition(".")
        prefix = module + "." if module else ""
        if prefix in bn_modules and param in TORCH_TO_CHAINER_BN:
            name = TORCH_TO_CHAINER_BN[param]
        else:
            name = {"weight": "W", "bias": "b"}.get(param, param)
        out[(module.replace(".", "/") + "/" if module else "") + name] = value
    return out


def _nstep_directions(layers, bidirectional: bool | None) -> dict[str, int]:
    """Per prefix of NStepLSTM links (``(prefix, index) -> {w0: .., ...}``), 2 for an NStepBiLSTM, else 1."""
    directions: dict[str, int] = {}
    for prefix in {prefix for prefix, _ in layers}:
        links = sorted(index for p, index in layers if p == prefix)
        if len(links) % 2 or links != list(range(len(links))):
            directions[prefix] = 1
            continue
        if bidirectional is not None:
            directions[prefix] = 2 if bidirectional else 1
            continue
        hidden = layers[(prefix, 0)]["w4"].shape[0]
        width = lambda index: layers[(prefix, index)]["w0"].shape[1]  # noqa: E731 - input width of a link
        if len(links) >= 4:  # a second bidirectional layer takes both directions: 2 * hidden
            directions[prefix] = 2 if width(2) == 2 * hidden != hidden else 1
        elif width(1) != hidden:  # two links: a second layer would take hidden; a reverse direction the input
            directions[prefix] = 2
        elif width(0) != hidden:  # ... which is not hidden wide here
            directions[prefix] = 1
        else:
            directions[prefix] = 1
            warnings.warn(f"{prefix or 'the model'}: two NStepLSTM links whose input is as wide as their state could "
                          "be a 2-layer NStepLSTM or a 1-layer NStepBiLSTM; converted as the NStepLSTM (give a "
                          "template, or bidirectional=True, for the other)", stacklevel=3)
    return directions


def strip_snapshot_prefix(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Trainer snapshots keep the model under ``updater/model:main/``; keep just the model."""
    for prefix in SNAPSHOT_PREFIXES:
        if any(k.startswith(prefix) for k in arrays):
            return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
    return dict(arrays)


def check_against(converted: Mapping[str, np.ndarray], template: Mapping[str, tuple], what: str) -> None:
    """Raise listing every missing, unexpected or misshapen key compared to ``template`` (key -> shape)."""
    missing = sorted(set(template) - set(converted))
    unexpected = sorted(set(converted) - set(template))
    shapes = sorted(f"{k}: {tuple(converted[k].shape)} vs {tuple(template[k])}" for k in set(template) & set(converted)
                    if tuple(converted[k].shape) != tuple(template[k]))
    problems = []
    if missing:
        problems.append(f"missing in the weights: {', '.join(missing)}")
    if unexpected:
        problems.append(f"not in {what}: {', '.join(unexpected)}")
    if shapes:
        problems.append(f"shape mismatch (weights vs {what}): {'; '.join(shapes)}")
    if problems:
        raise WeightConversionError("; ".join(problems))


def _dotted(chainer_prefix: str) -> str:
    return chainer_prefix.replace("/", ".")


def _interleaved_to_blocks(array: np.ndarray) -> np.ndarray:
    hidden = array.shape[0] // 4
    gates = array.reshape(hidden, 4, *array.shape[1:])  # [u, chainer gate]
    return np.concatenate([gates[:, g] for g in LSTM_GATES])


def _blocks_to_interleaved(array: np.ndarray) -> np.ndarray:
    hidden = array.shape[0] // 4
    blocks = array.reshape(4, hidden, *array.shape[1:])  # [torch gate, u]
    gates = np.empty((hidden, 4, *array.shape[1:]), dtype=array.dtype)
    for g, chainer_gate in enumerate(LSTM_GATES):
        gates[:, chainer_gate] = blocks[g]
    return gates.reshape(array.shape)
