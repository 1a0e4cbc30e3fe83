"""Differential tests: each runnable legacy example on real Chainer 1.24 against its migrated form
on Chainer 5.4 and 7.8.1, same seed, same data, same arguments.

No saved weights are needed: initialisers, dropout masks and shuffles draw from NumPy's global
generator in the same order in all three versions (the migrated `wscale` is LeCunNormal(sqrt(w)),
v1's exact distribution), so the runs start from identical weights.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.conftest import REPO, environment_python, run_python

LOSS = re.compile(r"loss[ =]+([-+0-9.eE]+)")
TARGETS = ["chainer5", "main"]  # Chainer 5.4.0 and 7.8.1


def losses(example: str, script: str, environment: str, args: list[str], tmp_path) -> list[float]:
    root = REPO / ("legacy_examples" if environment == "legacy" else "migrated_examples/chainer") / example
    extra = ["--out", str(tmp_path / environment)] if "--out" in open(root / script).read() else []
    result = run_python(environment_python(environment), ["-W", "ignore", script, *args, *extra], cwd=root)
    assert result.returncode == 0, f"{example} on {environment}:\n{result.stderr[-3000:]}"
    values = [float(v) for line in result.stdout.splitlines() for v in LOSS.findall(line)]
    assert values and all(np.isfinite(values))
    return values


CASES = {
    "mnist_sae": ("train_mnist_sae.py", ["--unit", "128,32,2", "--epoch_pre", "2", "--epoch_fine", "2",
                                         "--n_train", "1000", "--dropout", "0.1"]),
    "mnist_sae-untied-momentumsgd": ("train_mnist_sae.py", ["--unit", "64,2", "--epoch_pre", "2", "--epoch_fine", "2",
                                                           "--n_train", "800", "--untied", "--optimizer",
                                                           "momentumsgd", "--activation", "relu"]),
    "mnist_mlp_functionset": ("train_mnist_mlp.py", ["--epoch", "3", "--unit", "100", "--n_train", "1000"]),
}


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_per_epoch_losses_agree_to_1e_5(case, target, tmp_path):
    example = case.split("-")[0]
    script, args = CASES[case]
    legacy = losses(example, script, "legacy", args, tmp_path)
    migrated = losses(example, script, target, args, tmp_path)
    assert len(legacy) == len(migrated)
    np.testing.assert_allclose(migrated, legacy, rtol=1e-5, atol=0)


# Why the convnet's numbers are compared the way they are. Its convolution biases feed batch
# normalization, which cancels them: their true gradient is zero and what backward computes for them is
# float32 rounding noise, whose sign depends on the order of operations (Chainer 1.24's batch-norm backward
# is written differently from 5+'s, and BLAS kernels differ between CPUs). Adam divides a gradient by its
# own magnitude, so each step moves those biases by about lr in a direction set by the noise. Training
# in train mode does not see them (batch statistics cancel them again), so two minibatches agree to
# rounding; the running mean that evaluation uses does, and after a few steps the evaluation loss of
# Chainer 1.24 itself differs between CPUs by 1e-3 (2.0407 on an AMD EPYC, 2.0438 on an Intel Xeon). So
# training is compared over two minibatches, evaluation on the same weights (v1's trained model loaded into
# the migrated one), and the running statistics' update, where v1 added eps, on its own below.
CONVNET_EVALUATION = """import sys
sys.path.insert(0, '')  # the migrated example's directory (the working directory): its net.py
import chainer
import chainer.links as L
from chainer import serializers
from netport.data import load_mnist
import net

model = L.Classifier(net.ConvNet())
serializers.load_npz(sys.argv[1], model)
x_test, y_test = load_mnist(None, ndim=3).x_test, load_mnist(None, ndim=3).y_test
total = 0.0
with chainer.using_config('train', False), chainer.no_backprop_mode():
    for i in range(0, len(x_test), 100):
        total += float(model(x_test[i:i + 100], y_test[i:i + 100]).data) * len(x_test[i:i + 100])
print('test loss=%.9f' % (total / len(x_test)))
"""


@pytest.mark.parametrize("target", TARGETS)
def test_convnet_training_and_evaluation_agree_to_1e_5(target, tmp_path):
    """Training: one epoch of two minibatches; the first runs on identical weights and data, the second
    after one Adam step, whose size lr * g / (|g| + eps) is well conditioned wherever the gradient is more
    than rounding noise (the noise-driven biases are cancelled by batch normalization in train mode).
    Evaluation: Chainer 1.24's trained model (weights and running statistics) evaluated by the migrated
    network on the 1,000 test digits must give the loss v1 printed. In both, only the order of float32
    additions can differ: for sums of at most 512 terms (fc1) the rounding error is about sqrt(n) * u =
    1.4e-6 relative (u = 2**-24; Higham & Mary 2019's probabilistic bound), plus 5e-7 / 2 for the six
    printed decimals, well inside 1e-5 on any IEEE-754 CPU."""
    args = ["--epoch", "1", "--n_train", "200"]
    legacy = losses("mnist_convnet", "train_mnist_convnet.py", "legacy", args, tmp_path)
    migrated = losses("mnist_convnet", "train_mnist_convnet.py", target, args, tmp_path)
    (legacy_train, legacy_test), (train, _) = legacy, migrated
    np.testing.assert_allclose(train, legacy_train, rtol=1e-5)
    root = REPO / "migrated_examples/chainer/mnist_convnet"
    (tmp_path / "evaluate.py").write_text(CONVNET_EVALUATION)
    result = run_python(environment_python(target), ["-W", "ignore", str(tmp_path / "evaluate.py"),
                                                     str(tmp_path / "legacy" / "convnet.model")], cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    (evaluated,) = [float(v) for v in LOSS.findall(result.stdout)]
    np.testing.assert_allclose(evaluated, legacy_test, rtol=1e-5)


BATCH_NORMALIZATION_PROGRAM = """import numpy as np
import chainer
import chainer.links as L


class Net(chainer.Chain):
    def __init__(self):
        super(Net, self).__init__(bn=L.BatchNormalization(4))
        self.train = True

    def __call__(self, x):
        return self.bn(x, test=not self.train)


model = Net()
rng = np.random.RandomState(0)
for i in range(20):
    model(chainer.Variable((rng.randn(7, 4, 3, 3) * 0.01 * (i + 1)).astype(np.float32)))
print(' '.join('%.9g' % v for v in model.bn.avg_var))
model.train = False
print(' '.join('%.9g' % v for v in model(chainer.Variable((rng.randn(2, 4, 3, 3) * 0.01).astype(np.float32))).data.ravel()))
"""


@pytest.mark.parametrize("target", TARGETS)
def test_batch_normalization_running_variance_is_v1s(target, tmp_path):
    """Chainer 1.24 on the CPU averaged the batch variance plus eps into the running variance, Chainer 5+
    the variance alone; CH017's BatchNormalizationV1 adds eps back. With batch variances near 1e-2 the plain
    link's running variance is 1e-3 off after 20 updates; v1's and the migration's differ only by the
    rounding of the few float32 operations of each update (at most about 4 * 20 * u = 4.8e-6 relative)."""
    from netport.migrate import migrate_source

    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "prog.py").write_text(BATCH_NORMALIZATION_PROGRAM)
    migrated = migrate_source(BATCH_NORMALIZATION_PROGRAM, "prog.py")
    assert "BatchNormalizationV1(4, initial_avg_var=0)" in migrated.migrated
    (tmp_path / target).mkdir()
    (tmp_path / target / "prog.py").write_text(migrated.migrated)
    printed = {}
    for environment in ("legacy", target):
        result = run_python(environment_python(environment), ["-W", "ignore", "prog.py"], cwd=tmp_path / environment)
        assert result.returncode == 0, result.stderr[-3000:]
        printed[environment] = [[float(v) for v in line.split()] for line in result.stdout.splitlines()]
    assert len(printed["legacy"]) == len(printed[target]) == 2
    for line, reference in zip(printed[target], printed["legacy"]):
        np.testing.assert_allclose(line, reference, rtol=1e-5)


@pytest.mark.parametrize("target", TARGETS)
def test_migrated_pretrain_bug_still_fails_with_the_v5_message(target, tmp_path):
    root = REPO / "migrated_examples/chainer/mnist_sae_pretrain_bug"
    result = run_python(environment_python(target), ["-W", "ignore", "train_mnist_sae.py", "--epoch_pre", "1",
                                                     "--n_train", "300", "--out", str(tmp_path)], cwd=root)
    assert result.returncode != 0
    assert "pretrain layer 1 epoch 1 loss" in result.stdout
    assert result.stderr.rstrip().endswith(
        "Invalid operation is performed in: LinearFunction (Forward)\n\n"
        "Expect: x.shape[1] == W.shape[1]\nActual: 784 != 250")


@pytest.mark.parametrize("target", TARGETS)
def test_migrated_python2_example_runs(target, tmp_path):
    root = REPO / "migrated_examples/chainer/py2_mlp"
    result = run_python(environment_python(target), ["-W", "ignore", "train_mnist_py2.py", "--epoch", "2",
                                                     "--unit", "50", "--model", str(tmp_path / "m.pkl")], cwd=root)
    assert result.returncode == 0, result.stderr[-2000:]
    train = [float(v) for v in re.findall(r"train mean loss=([0-9.]+)", result.stdout)]
    assert len(train) == 2 and train[1] < train[0]


def report_rows(stdout: str) -> list[list[float]]:
    """The rows PrintReport printed (each after an erase-line escape), as numbers."""
    return [[float(v) for v in line.split()] for line in stdout.replace("\x1b[J", "\n").splitlines()
            if re.match(r"\d+\s+[0-9.]", line)]


@pytest.mark.parametrize("target", TARGETS)
def test_trainer_example_first_epoch_agrees_to_1e_5(target, tmp_path):
    """The Trainer program: model, SerialIterator order, updates, Evaluator, LogReport and
    PrintReport agree to 1e-5 in the first epoch. From the second epoch the batches differ by
    design: at an epoch's end Chainer 1.24's SerialIterator reshuffles its order array in place
    (numpy.random.shuffle(self._order)), Chainer 5+ draws a fresh numpy.random.permutation(N)."""
    import json

    args = ["--epoch", "2", "--unit", "50", "--n_train", "500"]
    rows, logs = {}, {}
    for environment in ("legacy", target):
        root = REPO / ("legacy_examples" if environment == "legacy" else "migrated_examples/chainer") / \
            "mnist_mlp_trainer"
        result = run_python(environment_python(environment), ["-W", "ignore", "train_mnist_trainer.py", *args, "--out",
                                                               str(tmp_path / environment)], cwd=root)
        assert result.returncode == 0, f"{environment}:\n{result.stderr[-3000:]}"
        rows[environment] = report_rows(result.stdout)
        logs[environment] = json.loads((tmp_path / environment / "log").read_text())
        assert (tmp_path / environment / "snapshot_iter_10").exists()
    legacy, migrated = rows["legacy"], rows[target]
    assert [r[0] for r in legacy] == [r[0] for r in migrated] == [1, 2]
    assert migrated[0] == legacy[0]  # the printed table: epoch, loss, val loss, accuracy, val accuracy
    keys = ["main/loss", "validation/main/loss", "main/accuracy", "validation/main/accuracy"]
    np.testing.assert_allclose([logs[target][0][k] for k in keys], [logs["legacy"][0][k] for k in keys], rtol=1e-5)
    assert [e["iteration"] for e in logs[target]] == [e["iteration"] for e in logs["legacy"]] == [5, 10]
    assert migrated[1][1] < migrated[0][1] and legacy[1][1] < legacy[0][1]
