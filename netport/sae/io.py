"""Saving and loading a stacked autoencoder: torch ``state_dict`` and the Chainer npz layout.

The state_dict keys are those of netport's torch migration of the seed program
(``0.encoder.weight``, ``0.decoder_bias``, ``0.decoder.weight`` untied); the npz keys those of
Chainer's ``serializers.save_npz`` of the seed's ``StackedAutoEncoder`` ChainList (``0/encoder/W``,
``0/encoder/b``, ``0/decoder_bias``, ``0/decoder/W``), converted by :mod:`netport.weights`. The
units list and tying are read back from the arrays; activations are not stored in weights, so
they are given when loading (``save_model`` keeps them in a JSON file beside the weights).
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import torch

from netport.atomic import write_atomic
from netport.sae.model import StackedAutoencoder
from netport.sae.training import SAEError
from netport.weights import WeightConversionError, chainer_to_torch, torch_to_chainer
from netport.weights.files import read_npz, read_state_dict

_ENCODER_WEIGHT = re.compile(r"^(\d+)\.encoder\.weight$")
MODEL_FILE, ARCHITECTURE_FILE = "sae.pt", "sae.json"


def save_state_dict(model: StackedAutoencoder, path: str | Path) -> None:
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buffer)
    write_atomic(Path(path), buffer.getvalue())


def load_state_dict(path: str | Path, **architecture) -> StackedAutoencoder:
    """A model from a state_dict file; ``architecture``: activation, linear_code, output_activation, dropout."""
    try:
        state = read_state_dict(Path(path))
    except WeightConversionError as exc:
        raise SAEError(str(exc)) from None
    return from_arrays(state, str(path), **architecture)


def export_chainer_npz(model: StackedAutoencoder, path: str | Path) -> None:
    """Write the npz that the seed program's Chainer ``StackedAutoEncoder`` reads with ``load_npz``."""
    arrays = torch_to_chainer({k: v.detach().cpu().numpy() for k, v in model.state_dict().items()})
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    write_atomic(Path(path), buffer.getvalue())


def import_chainer_npz(path: str | Path, **architecture) -> StackedAutoencoder:
    """A model from a Chainer npz of the seed's ``StackedAutoEncoder`` (or a Trainer snapshot of it)."""
    try:
        arrays = chainer_to_torch(read_npz(Path(path)))
    except WeightConversionError as exc:
        raise SAEError(str(exc)) from None
    return from_arrays(arrays, str(path), **architecture)


def from_arrays(state: dict[str, np.ndarray], source: str = "weights", **architecture) -> StackedAutoencoder:
    """Rebuild the units list and tying from the arrays' shapes, then load them (strictly)."""
    layers = sorted(int(m.group(1)) for key in state if (m := _ENCODER_WEIGHT.match(key)))
    if not layers or layers != list(range(len(layers))):
        raise SAEError(f"{source}: no stacked-autoencoder layers found (expected keys 0.encoder.weight, "
                       f"1.encoder.weight, ...; got {', '.join(sorted(state)[:6])}{' ...' if len(state) > 6 else ''})")
    units = [int(state["0.encoder.weight"].shape[1])]
    for i in layers:
        weight = state[f"{i}.encoder.weight"]
        if weight.shape[1] != units[-1]:
            raise SAEError(f"{source}: layer {i + 1} takes {weight.shape[1]} inputs but layer {i} gives "
                           f"{units[-1]}: not one stack")
        units.append(int(weight.shape[0]))
    untied = {f"{i}.decoder.weight" in state for i in layers}
    if len(untied) != 1:
        raise SAEError(f"{source}: some layers have decoder weights of their own and some do not")
    unknown = set(architecture) - {"activation", "linear_code", "output_activation", "dropout"}
    if unknown:
        raise TypeError(f"unknown architecture setting(s): {', '.join(sorted(unknown))}")
    model = StackedAutoencoder(units, tied=not untied.pop(), **architecture)
    try:
        model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}, strict=True)
    except RuntimeError as exc:
        raise SAEError(f"{source}: {' '.join(str(exc).split())}") from None
    return model


def save_model(model: StackedAutoencoder, directory: str | Path) -> Path:
    """``sae.pt`` (state_dict) and ``sae.json`` (architecture) in ``directory``; returns the .pt path."""
    directory = Path(directory)
    save_state_dict(model, directory / MODEL_FILE)
    write_atomic(directory / ARCHITECTURE_FILE, json.dumps(model.architecture(), indent=2) + "\n")
    return directory / MODEL_FILE


def load_model(directory: str | Path) -> StackedAutoencoder:
    directory = Path(directory)
    try:
        architecture = json.loads((directory / ARCHITECTURE_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise SAEError(f"{directory / ARCHITECTURE_FILE}: {exc}") from None
    architecture.pop("units", None)
    architecture.pop("tied", None)
    return load_state_dict(directory / MODEL_FILE, **architecture)
