"""Reading and writing weight files for the converter: Chainer ``.npz`` and torch ``.pt``."""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

import numpy as np

from netport.atomic import write_atomic
from netport.weights.convert import WeightConversionError, chainer_to_torch, check_against, torch_to_chainer


TORCH_SUFFIXES = (".pt", ".pth")
TARGET_OF = {"torch": "chainer", "npz": "torch"}  # what each source format converts to
WRITES = {"torch": "torch state_dict", "chainer": "Chainer .npz"}  # what each target writes


def detect_format(path: Path) -> str | None:
    """``'torch'`` for a file ``torch.save`` wrote, ``'npz'`` for numpy's ``savez`` (Chainer's ``save_npz``),
    None when the content says neither (unreadable, or something else).

    Both are zip archives, told apart by their members: torch's holds ``<name>/data.pkl``, an npz ``.npy``
    arrays."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
            if any(name == "data.pkl" or name.endswith("/data.pkl") for name in names):
                return "torch"
            return "npz" if all(name.endswith(".npy") for name in names) else None
        with open(path, "rb") as handle:
            head = handle.read(1)
    except (OSError, zipfile.BadZipFile):
        return None
    # torch's legacy format (_use_new_zipfile_serialization=False) is a pickle: protocol 2+ starts with 0x80
    return "torch" if head == b"\x80" else None


def infer_target(source: Path) -> str:
    """The format ``source`` converts to: ``'chainer'`` for a torch file, ``'torch'`` for an npz. The content
    decides; the suffix (``.pt``/``.pth`` for torch) only when the content says neither, so that reading
    the file then says what is wrong with it in the words of its format."""
    detected = detect_format(source)
    if detected is None:
        detected = "torch" if source.suffix.lower() in TORCH_SUFFIXES else "npz"
    return TARGET_OF[detected]


def read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with zipfile.ZipFile(path) as archive:
            others = [name for name in archive.namelist() if not name.endswith(".npy")]
        if others:  # np.load would hand them out as raw bytes
            raise WeightConversionError(
                f"{path}: not a Chainer .npz (it holds {others[0]}, which is not an .npy array"
                f"{'; it is a torch file' if detect_format(path) == 'torch' else ''})")
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


def convert_file(source: Path, output: Path, to: str | None = None,
                 template: Path | None = None) -> dict[str, tuple]:
    """Convert ``source`` (npz for ``to='torch'``, a torch file for ``to='chainer'``) into ``output``.

    Without ``to`` the direction follows the source's format (:func:`infer_target`); a ``to`` that the
    source already is raises. With ``template`` (a file of the target format saved from the target model)
    the result must have exactly its keys and shapes. Returns key -> shape of what was written."""
    detected = detect_format(source)
    if to is None:
        to = infer_target(source)
    elif to in WRITES and detected is not None and TARGET_OF[detected] != to:
        is_, needs, other = ("a torch file", "a Chainer .npz", "chainer") if to == "torch" else \
            ("a Chainer .npz", "a torch file", "torch")
        raise WeightConversionError(f"{source}: is {is_} already; --to {to} converts {needs} "
                                    f"(leave --to out to convert it to {other})")
    suffix = output.suffix.lower()
    if (to == "chainer" and suffix in TORCH_SUFFIXES) or (to == "torch" and suffix == ".npz"):
        written, other = ("a Chainer .npz", ".npz") if to == "chainer" else ("a torch state_dict", ".pt")
        raise WeightConversionError(f"{output}: the name says {'torch' if to == 'chainer' else 'npz'}, but "
                                    f"converting {source} writes {written}; name the output "
                                    f"{output.with_suffix(other).name}")
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
        # np.require, not np.ascontiguousarray: that makes a 0-d array (BatchNormalization's N, torch's 0-d
        # num_batches_tracked) 1-d, which load_state_dict refuses
        torch.save({k: torch.from_numpy(np.require(v, requirements='C')) for k, v in converted.items()}, buffer)
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
