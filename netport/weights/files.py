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
        uninitialised = _object_arrays(path)
        if uninitialised:  # Chainer saves a parameter without a shape yet (L.Linear(None, n)) as a pickled None
            raise WeightConversionError(
                f"{path}: {', '.join(uninitialised)} {'is an' if len(uninitialised) == 1 else 'are'} uninitialised "
                "parameter(s) (saved as None, before a first forward pass gave them a shape): there are no weights "
                "to convert for them; save the model after a forward pass")
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise WeightConversionError(f"{path}: not a readable Chainer .npz ({' '.join(str(exc).split())})") from None


def _object_arrays(path: Path) -> list[str]:
    """Keys of an npz whose arrays hold Python objects (read from the .npy headers: nothing is unpickled)."""
    found = []
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if not name.endswith(".npy"):
                continue
            with archive.open(name) as member:
                version = np.lib.format.read_magic(member)
                header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                    np.lib.format.read_array_header_2_0
                _, _, dtype = header(member)
                if dtype.hasobject:
                    found.append(name[:-len(".npy")])
    return found


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
        arrays = read_npz(source)
        if template is not None:
            shapes = {k: v.shape for k, v in read_state_dict(template).items()}
            bidirectional = any(k.endswith("_reverse") for k in shapes)  # the template says which NStep link it is
            converted = chainer_to_torch(arrays, bidirectional=bidirectional)
            check_against(converted, shapes, str(template))
        else:
            converted = chainer_to_torch(arrays)
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
