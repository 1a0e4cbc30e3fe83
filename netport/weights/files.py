"""Reading and writing weight files for the converter: Chainer ``.npz`` and torch ``.pt``."""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

import numpy as np

from netport.atomic import write_atomic
from netport.weights.convert import WeightConversionError, chainer_to_torch, check_against, torch_to_chainer


def read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise WeightConversionError(f"{path}: not a readable Chainer .npz ({' '.join(str(exc).split())})") from None


def read_state_dict(path: Path) -> dict[str, np.ndarray]:
    torch = _torch()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        raise WeightConversionError(f"{path}: not a readable torch file ({' '.join(str(exc).split())})") from None
    for key in ("state_dict", "model", "model_state_dict"):  # common checkpoint layouts
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(hasattr(v, "shape") for v in state.values()):
        raise WeightConversionError(f"{path}: holds no state_dict (a mapping of names to tensors)")
    return {k: v.detach().cpu().numpy() for k, v in state.items()}


def convert_file(source: Path, output: Path, to: str = "torch", template: Path | None = None) -> dict[str, tuple]:
    """Convert ``source`` (npz for ``to='torch'``, pt for ``to='chainer'``) into ``output``.

    With ``template`` (a file of the target format saved from the target model) the result must
    have exactly its keys and shapes. Returns key -> shape of what was written."""
    if to == "torch":
        converted = chainer_to_torch(read_npz(source))
        if template is not None:
            check_against(converted, {k: v.shape for k, v in read_state_dict(template).items()}, str(template))
        torch = _torch()
        buffer = io.BytesIO()
        torch.save({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in converted.items()}, buffer)
        write_atomic(output, buffer.getvalue())
    elif to == "chainer":
        converted = torch_to_chainer(read_state_dict(source))
        if template is not None:
            check_against(converted, {k: v.shape for k, v in read_npz(template).items()}, str(template))
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **converted)
        write_atomic(output, buffer.getvalue())
    else:
        raise ValueError(f"to must be 'torch' or 'chainer', not {to!r}")
    return {k: tuple(v.shape) for k, v in converted.items()}


def _torch():
    try:
        import torch
    except ImportError:
        raise WeightConversionError("PyTorch is not installed: pip install 'netport[torch]'") from None
    return torch
