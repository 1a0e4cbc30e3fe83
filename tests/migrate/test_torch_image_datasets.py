"""PT105-PT107 (netport/migrate/torch/datasets.py): ImageDataset/LabeledImageDataset, iterators of the program's own
(chainer.dataset.Iterator subclasses, their serialize() as state_dict()/load_state_dict()), SubDataset and the
splits. Each migrated program runs on torch and gives the arrays Chainer gave: Chainer 1.24's own image_dataset.py
(Pillow is not in .venv-legacy, so its module runs here, on .venv's Pillow) and Chainer 7.8's; the iterator and the
splits on Chainer 1.24 itself."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from netport.migrate.api import migrate_source
from tests.conftest import ENVIRONMENTS, REPO, environment_python

pytest.importorskip("torch")


def migrated(source: str) -> str:
    result = migrate_source(source, "program.py", target="torch")
    assert result.error is None
    assert "TODO" not in result.migrated, result.migrated
    assert "chainer" not in result.migrated.replace("chainer_", "").replace("Chainer", ""), result.migrated
    return result.migrated


def run(python, path, *args):
    process = subprocess.run([str(python), str(path), *map(str, args)], capture_output=True, text=True, timeout=300,
                             env=dict(os.environ, PYTHONHASHSEED="0"))
    assert process.returncode == 0, process.stderr
    return process.stdout


IMAGES = '''
import os
import numpy as np
import chainer


class Flipped(chainer.datasets.ImageDataset):
    def get_example(self, i):
        return np.asarray(os.path.join(self._root, self._paths[i]))


def read(root, listing, pairs_file):
    out = {}
    images = chainer.datasets.ImageDataset(listing, root=root)
    for i in range(len(images)):
        out['image%d' % i] = images[i]
    for k, image in enumerate(images[1:3] + images[[2, 0]]):
        out['indexed%d' % k] = image
    as_uint8 = chainer.datasets.ImageDataset(paths=['rgb.png', 'gray.png'], root=root, dtype=np.uint8)
    out['uint8'] = as_uint8[0]
    out['gray_uint8'] = as_uint8[1]
    labeled = chainer.datasets.LabeledImageDataset(pairs_file, root, np.float64)
    for i in range(len(labeled)):
        out['labeled%d' % i], out['label%d' % i] = labeled[i]
    pairs = chainer.datasets.LabeledImageDataset([('rgba.png', 7)], root=root, label_dtype=np.int64)
    out['pair_image'], out['pair_label'] = pairs[0]
    out['path'] = Flipped(['gray.png'], root)[0]
    return out
'''


def _images(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    rng = np.random.RandomState(0)
    Image.fromarray(rng.randint(0, 256, (5, 4, 3)).astype(np.uint8), "RGB").save(tmp_path / "rgb.png")
    Image.fromarray(rng.randint(0, 256, (3, 6)).astype(np.uint8), "L").save(tmp_path / "gray.png")
    Image.fromarray(rng.randint(0, 256, (2, 3, 4)).astype(np.uint8), "RGBA").save(tmp_path / "rgba.png")
    (tmp_path / "list.txt").write_text("rgb.png\ngray.png\n  rgba.png  \n")
    (tmp_path / "pairs.txt").write_text("rgb.png 3\ngray.png   -1\n")


def _legacy_image_dataset():
    """Chainer 1.24's chainer/datasets/image_dataset.py, loaded as a module of this interpreter."""
    path = REPO / ENVIRONMENTS["legacy"] / "lib" / "python3.11" / "site-packages" / "chainer" / "datasets" / \
        "image_dataset.py"
    if not path.exists():
        pytest.skip(f"{path} is missing")
    spec = importlib.util.spec_from_file_location("chainer_1_24_image_dataset", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_image_datasets_match_chainer(tmp_path, monkeypatch):
    _images(tmp_path)
    chainer = pytest.importorskip("chainer")
    args = (str(tmp_path), str(tmp_path / "list.txt"), str(tmp_path / "pairs.txt"))
    source = migrated(IMAGES)
    assert "class Flipped(ChainerImageDataset)" in source
    namespace = {}
    exec(compile(source, "torch_program.py", "exec"), namespace)
    got = namespace["read"](*args)
    import torch
    assert isinstance(namespace["ChainerImageDataset"]([]), torch.utils.data.Dataset)

    expected = {}
    legacy = _legacy_image_dataset()
    for version, classes in (("7.8", (chainer.datasets.ImageDataset, chainer.datasets.LabeledImageDataset)),
                             ("1.24", (legacy.ImageDataset, legacy.LabeledImageDataset))):
        monkeypatch.setattr(chainer.datasets, "ImageDataset", classes[0])
        monkeypatch.setattr(chainer.datasets, "LabeledImageDataset", classes[1])
        namespace = {}
        exec(compile(IMAGES, "chainer_program.py", "exec"), namespace)
        expected[version] = namespace["read"](*args)
    for version, arrays in expected.items():
        assert sorted(arrays) == sorted(got)
        for name, array in arrays.items():
            message = f"{name} (Chainer {version})"
            assert got[name].dtype == array.dtype and got[name].shape == array.shape, message
            assert got[name].strides == array.strides, message  # the same (transposed) layout
            np.testing.assert_array_equal(got[name], array, err_msg=message)
    assert got["image1"].shape == (1, 3, 6) and got["label1"] == -1 and got["pair_label"].dtype == np.int64


ITERATOR = '''
import json
import sys
import numpy as np
import chainer
from chainer import serializers


class Windows(chainer.dataset.Iterator):
    def __init__(self, data, batch_size):
        self.data = data
        self.batch_size = batch_size
        self.epoch = 0
        self.is_new_epoch = False
        self.position = 0
        self.order = np.random.permutation(len(data))
        self.history = [1, 2]
        self.scale = np.float32(0.5)

    def __next__(self):
        batch = [self.data[k] * float(self.scale) for k in self.order[self.position:self.position + self.batch_size]]
        self.position += self.batch_size
        self.is_new_epoch = self.position >= len(self.data)
        if self.is_new_epoch:
            self.epoch += 1
            self.position = 0
            np.random.shuffle(self.order)
        self.history.append(len(batch))
        return batch

    @property
    def epoch_detail(self):
        return self.epoch + self.position / len(self.data)

    def serialize(self, serializer):
        self.position = serializer('position', self.position)
        self.epoch = serializer('epoch', self.epoch)
        self.is_new_epoch = serializer('is_new_epoch', self.is_new_epoch)
        serializer('order', self.order)
        self.history = serializer['log']('history', self.history)
        self.scale = serializer('scale', self.scale)


np.random.seed(1)
it = Windows(list(range(10)), 3)
out = [it.next(), next(iter(it)), it.__next__()]
saved_order = it.order
SAVE
for _ in range(5):
    out.append([it.next(), it.epoch, it.is_new_epoch, it.epoch_detail])
LOAD
assert it.order is saved_order  # loaded in place
out.append([it.position, it.epoch, it.is_new_epoch, it.order.tolist(), [type(h).__name__ for h in it.history],
            type(it.scale).__name__, str(it.scale.dtype)])
for _ in range(5):
    out.append([it.next(), it.epoch, it.is_new_epoch, it.epoch_detail])
it.finalize()
print(json.dumps(out, default=float))
'''


def test_iterator_subclass_matches_chainer_1_24(tmp_path):
    """Batches, next()/iter(), and a snapshot restored (Chainer: save_npz/load_npz of the iterator; torch: its
    state_dict()/load_state_dict() through torch.save/torch.load): ints, a bool, an array loaded in place, a list
    through a child serializer, a NumPy scalar."""
    snapshot = tmp_path / "snapshot"
    chainer_source = ITERATOR.replace("SAVE", f"serializers.save_npz({str(snapshot) + '.npz'!r}, it)").replace(
        "LOAD", f"serializers.load_npz({str(snapshot) + '.npz'!r}, it)")
    torch_source = ITERATOR.replace("SAVE", "state = it.state_dict()\ntorch.save(state, %r)" % str(snapshot)).replace(
        "LOAD", "it.load_state_dict(torch.load(%r))" % str(snapshot))
    torch_source = migrated(torch_source)
    assert "class Windows(ChainerIterator)" in torch_source
    (tmp_path / "chainer_it.py").write_text(chainer_source)
    (tmp_path / "torch_it.py").write_text("import torch\n" + torch_source)
    expected = json.loads(run(environment_python("legacy"), tmp_path / "chainer_it.py"))
    got = json.loads(run(sys.executable, tmp_path / "torch_it.py"))
    assert got == expected
    assert expected[8][4] == ["int64", "int64", "int64", "int64", "int64"]  # list(numpy.asarray(...)), as Chainer


SPLITS = '''
import json
import numpy as np
import chainer

data = [(i, -i) for i in range(11)]
out = []
a, b = chainer.datasets.split_dataset(data, 4)
out.append([a[0], a[-1], b[1:3], b[[0, 2]], len(a), len(b)])
a, b = chainer.datasets.split_dataset(data, 6, order=list(range(10, -1, -1)))
out.append([list(a), a[-2], b[:], len(b)])
a, b = chainer.datasets.split_dataset_random(data, 3, seed=5)
out.append([a[:], b[:]])
out.append([part[:] for part in chainer.datasets.split_dataset_n(data, 3)])
out.append([part[:] for part in chainer.datasets.split_dataset_n_random(data, 4, seed=2)])
sub = chainer.datasets.SubDataset(data, 2, 9, np.arange(11)[::-1])
out.append([sub[:], sub[-1], sub[np.array([1, 3])], len(sub)])
for train, test in chainer.datasets.get_cross_validation_datasets_random(data, 3, seed=0):
    out.append([train[:], test[:]])
for train, test in chainer.datasets.get_cross_validation_datasets(data, 4):
    out.append([train[:], test[:]])
np.random.seed(3)
# seed None: a RandomState seeded by the OS (an order of its own), numpy.random's stream left alone
out.append([len(chainer.datasets.split_dataset_random(data, 2)[0]), np.random.randint(100)])
errors = []
for bad in (lambda: chainer.datasets.split_dataset(data, 11), lambda: sub[7],
            lambda: chainer.datasets.SubDataset(data, 0, 12)):
    try:
        bad()
    except (ValueError, IndexError) as e:
        errors.append(type(e).__name__)
out.append(errors)
print(json.dumps(out, default=int))
'''


def test_splits_match_chainer_1_24(tmp_path):
    source = migrated(SPLITS)
    assert "chainer_split_dataset_random(data, 3, seed=5)" in source
    (tmp_path / "chainer_splits.py").write_text(SPLITS)
    (tmp_path / "torch_splits.py").write_text(source)
    expected = json.loads(run(environment_python("legacy"), tmp_path / "chainer_splits.py"))
    got = json.loads(run(sys.executable, tmp_path / "torch_splits.py"))
    assert got == expected


@pytest.mark.parametrize("source, marker", [
    ("import chainer\nd = chainer.datasets.ImageDataset(*paths)\n", "TODO(PT105)"),
    ("import chainer\nd = chainer.datasets.LabeledImageDataset(pairs, root, shuffle=True)\n", "TODO(PT105)"),
    ("import chainer\na, b = chainer.datasets.split_dataset(d, **kw)\n", "TODO(PT107)"),
])
def test_marked(source, marker):
    out = migrate_source(source, "p.py", target="torch").migrated
    assert marker in out
    assert "class Chainer" not in out  # nothing written in for a call left to the user


def test_imports_and_other_references():
    source = ("from chainer.datasets import ImageDataset, split_dataset\n\n\ndef make(paths):\n"
              "    d = ImageDataset(paths)\n    return split_dataset(d, 2), isinstance(d, ImageDataset)\n")
    out = migrate_source(source, "p.py", target="torch").migrated
    assert "chainer" not in out.replace("chainer_", "").replace("Chainer", ""), out
    assert "d = ChainerImageDataset(paths)" in out and "isinstance(d, ChainerImageDataset)" in out
    assert "return chainer_split_dataset(d, 2)" in out
    assert migrate_source(out, "p.py", target="torch").migrated == out  # idempotent
