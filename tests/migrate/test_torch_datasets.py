"""PT080-PT084 (netport/migrate/torch/datasets.py): a hand-written loop over SerialIterator and concat_examples,
and get_mnist/get_cifar10, run on Chainer 1.24 and, migrated, on torch (+ torchvision, on fake files written in
the formats both read: no network), give the same batches, order and arrays."""

from __future__ import annotations

import json
import os
import pickle
import struct
import subprocess
import sys

import numpy as np
import pytest

from netport.migrate.api import migrate_source
from tests.conftest import environment_python

pytest.importorskip("torch")

# torchvision 0.28's .data/.targets, built from the raw files as its mnist.py and cifar.py build them: the stand-in
# for a machine whose torchvision does not load (the registry's 0.28.0 wheel is the CUDA build, which needs
# libtorch_cuda; torch here is the CPU build). Where torchvision loads, the test runs on it.
TORCHVISION_STANDIN = {
    "__init__.py": "from . import datasets\n",
    "datasets/cifar.py": "check_integrity = None\n",
    "datasets/__init__.py": '''import os
import pickle
import numpy as np
import torch


class MNIST:
    def __init__(self, root, train=True, download=False):
        raw = os.path.join(root, 'MNIST', 'raw')
        prefix = 'train' if train else 't10k'
        with open(os.path.join(raw, prefix + '-images-idx3-ubyte'), 'rb') as f:
            self.data = torch.from_numpy(np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28).copy())
        with open(os.path.join(raw, prefix + '-labels-idx1-ubyte'), 'rb') as f:
            self.targets = torch.from_numpy(np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64))


class CIFAR10:
    def __init__(self, root, train=True, download=False):
        names = ['data_batch_%d' % i for i in range(1, 6)] if train else ['test_batch']
        data, self.targets = [], []
        for name in names:
            with open(os.path.join(root, 'cifar-10-batches-py', name), 'rb') as f:
                entry = pickle.load(f, encoding='latin1')
            data.append(entry['data'])
            self.targets.extend(entry['labels'] if 'labels' in entry else entry['fine_labels'])
        self.data = np.vstack(data).reshape(-1, 3, 32, 32).transpose((0, 2, 3, 1))


CIFAR100 = None
'''}


def torchvision_path(tmp_path) -> dict:
    """PYTHONPATH for the torch side: nothing where torchvision imports, else the stand-in."""
    if subprocess.run([sys.executable, "-c", "import torchvision"], capture_output=True).returncode == 0:
        return {}
    for name, text in TORCHVISION_STANDIN.items():
        (tmp_path / "standin" / "torchvision" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "standin" / "torchvision" / name).write_text(text)
    return {"PYTHONPATH": str(tmp_path / "standin")}

LOOP = '''
import json
import numpy as np
import chainer
from chainer.dataset import convert

np.random.seed(3)
x = np.arange(23 * 3, dtype=np.float32).reshape(23, 3)
t = np.arange(23, dtype=np.int32) % 5
train = chainer.datasets.TupleDataset(x, t)
test = [(x[i], t[i]) for i in range(10)]
train_iter = chainer.iterators.SerialIterator(train, 5)
test_iter = chainer.iterators.SerialIterator(test, 4, repeat=False, shuffle=False)
out = []
while train_iter.epoch < 4:
    batch = train_iter.next()
    x_array, t_array = convert.concat_examples(batch, -1)
    out.append([x_array.tolist(), t_array.tolist(), str(t_array.dtype).replace('torch.', ''), train_iter.epoch,
                train_iter.is_new_epoch, train_iter.epoch_detail])
    if train_iter.is_new_epoch:
        for b in test_iter:
            xb, tb = chainer.dataset.concat_examples(b)
            out.append([xb.tolist(), tb.tolist(), len(b)])
        test_iter.reset()
print(json.dumps(out))
'''

DATASETS = '''
import sys
import numpy as np
import chainer

arrays = {}
for name, (train, test) in [('mnist', chainer.datasets.get_mnist(ndim=3, scale=2.)),
                            ('mnist1', chainer.datasets.get_mnist()),
                            ('cifar', chainer.datasets.get_cifar10()),
                            ('cifar1', chainer.datasets.get_cifar10(ndim=1, scale=255.))]:
    for split, data in (('train', train), ('test', test)):
        assert type(data[1:3]) is list and type(data[1]) is tuple and len(data) == len(data[:])
        arrays[name + split + 'x'] = np.stack([example[0] for example in data])
        arrays[name + split + 't'] = np.array([example[1] for example in data])
images, _ = chainer.datasets.get_mnist(withlabel=False, ndim=2)
arrays['images'] = images
np.savez(sys.argv[1], **arrays)
'''


def migrated(source: str) -> str:
    result = migrate_source(source, "program.py", target="torch")
    assert result.error is None
    assert "TODO" not in result.migrated, result.migrated
    assert "chainer" not in result.migrated.replace("chainer_", "").replace("Chainer", "")
    return result.migrated


def run(python, path, *args, env=None):
    process = subprocess.run([str(python), str(path), *map(str, args)], capture_output=True, text=True, timeout=300,
                             env=dict(os.environ, PYTHONHASHSEED="0", **(env or {})))
    assert process.returncode == 0, process.stderr
    return process.stdout


def test_loop_matches_chainer_1_24(tmp_path):
    """Shuffled epochs of 23 examples in batches of 5 (the last batch filled from the next epoch's order), a
    non-repeating unshuffled iterator with a partial last batch, reset(), epoch/is_new_epoch/epoch_detail."""
    (tmp_path / "chainer_loop.py").write_text(LOOP)
    source = migrated(LOOP)
    assert "ChainerSerialIterator(train, 5)" in source and "chainer_concat_examples(" in source
    (tmp_path / "torch_loop.py").write_text(source)
    expected = json.loads(run(environment_python("legacy"), tmp_path / "chainer_loop.py"))
    got = json.loads(run(sys.executable, tmp_path / "torch_loop.py"))
    assert got == expected
    assert len(expected) > 20  # 4 epochs and the evaluations


def _fake_files(tmp_path):
    """The same random pixels as torchvision's raw files and as Chainer 1.24's npz caches."""
    rng = np.random.RandomState(0)
    mnist = {split: (rng.randint(0, 256, (n, 784)).astype(np.uint8), rng.randint(0, 10, n).astype(np.uint8))
             for split, n in (("train", 7), ("t10k", 4))}
    cifar = {split: (rng.randint(0, 256, (n, 3072)).astype(np.uint8), rng.randint(0, 10, n).astype(np.uint8))
             for split, n in (("train", 6), ("test", 3))}
    chainer_root, torch_root = tmp_path / "chainer", tmp_path / "torch"
    (chainer_root / "pfnet/chainer/mnist").mkdir(parents=True)
    (chainer_root / "pfnet/chainer/cifar").mkdir(parents=True)
    raw = torch_root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for split, (x, y) in mnist.items():
        np.savez_compressed(chainer_root / "pfnet/chainer/mnist" / ("train.npz" if split == "train" else "test.npz"),
                            x=x, y=y)
        (raw / f"{split}-images-idx3-ubyte").write_bytes(struct.pack(">iiii", 0x803, len(x), 28, 28) + x.tobytes())
        (raw / f"{split}-labels-idx1-ubyte").write_bytes(struct.pack(">ii", 0x801, len(y)) + y.tobytes())
    np.savez_compressed(chainer_root / "pfnet/chainer/cifar/cifar-10.npz", train_x=cifar["train"][0],
                        train_y=cifar["train"][1], test_x=cifar["test"][0], test_y=cifar["test"][1])
    batches = torch_root / "cifar-10-batches-py"
    batches.mkdir()
    x, y = cifar["train"]
    for i, rows in enumerate(np.array_split(np.arange(len(x)), 5)):
        with open(batches / f"data_batch_{i + 1}", "wb") as f:
            pickle.dump({"data": x[rows], "labels": y[rows].tolist()}, f)
    with open(batches / "test_batch", "wb") as f:
        pickle.dump({"data": cifar["test"][0], "labels": cifar["test"][1].tolist()}, f)
    with open(batches / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [str(i) for i in range(10)]}, f)
    return chainer_root, torch_root


def test_get_mnist_and_cifar_match_chainer_1_24(tmp_path):
    chainer_root, torch_root = _fake_files(tmp_path)
    (tmp_path / "chainer_data.py").write_text(DATASETS)
    source = migrated(DATASETS)
    assert "torchvision.datasets.MNIST(" in source
    # the fake CIFAR files cannot have the official MD5 sums that torchvision checks
    (tmp_path / "torch_data.py").write_text(
        "import torchvision.datasets.cifar\ntorchvision.datasets.cifar.check_integrity = lambda *a, **k: True\n"
        + source)
    run(environment_python("legacy"), tmp_path / "chainer_data.py", tmp_path / "chainer.npz",
        env={"CHAINER_DATASET_ROOT": str(chainer_root)})
    run(sys.executable, tmp_path / "torch_data.py", tmp_path / "torch.npz",
        env={"TORCH_DATASET_ROOT": str(torch_root), **torchvision_path(tmp_path)})
    expected, got = np.load(tmp_path / "chainer.npz"), np.load(tmp_path / "torch.npz")
    assert sorted(expected.files) == sorted(got.files)
    for name in expected.files:
        assert expected[name].dtype == got[name].dtype and expected[name].shape == got[name].shape, name
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)


@pytest.mark.parametrize("source, marker", [
    ("import chainer\nit = chainer.iterators.SerialIterator(d, 5, shuffle=None)\n", "TODO(PT081)"),
    ("import chainer\na, b = chainer.datasets.get_mnist(*args)\n", "TODO(PT080)"),
    ("import chainer\na, b = chainer.datasets.get_mnist(rgb_format=True)\n", "TODO(PT080)"),
    ("import chainer\nx = chainer.dataset.concat_examples(batch, **kw)\n", "TODO(PT082)"),
    ("import chainer\n\n\nclass D(chainer.dataset.DatasetMixin):\n    def __getitem__(self, i):\n"
     "        return i\n", "TODO(PT084)"),
])
def test_marked(source, marker):
    assert marker in migrate_source(source, "p.py", target="torch").migrated


def test_trainer_iterators_are_left_to_the_trainer():
    """An iterator handed to an updater or an Evaluator is the Trainer's: not converted here."""
    source = ("import chainer\nfrom chainer import training\nit = chainer.iterators.MultiprocessIterator(d, 5)\n"
              "updater = training.updaters.ParallelUpdater(it, opt, devices={'main': 0})\n")
    out = migrate_source(source, "p.py", target="torch").migrated
    assert "ChainerSerialIterator" not in out


def test_multiprocess_iterator_and_dataset_mixin():
    source = ("import chainer\n\n\nclass D(chainer.dataset.DatasetMixin):\n    def __len__(self):\n"
              "        return 5\n\n    def get_example(self, i):\n        return (i, i * 2)\n\n\n"
              "it = chainer.iterators.MultiprocessIterator(D(), 2, repeat=False, shuffle=False, n_processes=4)\n"
              "batches = [b for b in it]\nprint(D()[1:3], D()[[0, 4]], D()[2])\n")
    out = migrate_source(source, "p.py", target="torch").migrated
    assert "ChainerSerialIterator(D(), 2, repeat=False, shuffle=False)" in out
    namespace = {}
    exec(compile(out, "p.py", "exec"), namespace)
    assert namespace["batches"] == [[(0, 0), (1, 2)], [(2, 4), (3, 6)], [(4, 8)]]
