"""The legacy examples run on real Chainer 1.24 (tiny settings) and learn; the bug example fails
with Chainer's own message; the Python 2 example is Python 2."""

from __future__ import annotations

import math
import re
import subprocess
import warnings

import numpy as np
import pytest

from tests.conftest import REPO, run_python

EXAMPLES = REPO / "legacy_examples"
FLOAT = r"([-+0-9.eE]+|nan|inf)"


def run_example(legacy_python, example: str, script: str, *args: str) -> subprocess.CompletedProcess:
    return run_python(legacy_python, [script, *args], cwd=EXAMPLES / example)


def losses(stdout: str, pattern: str) -> list[float]:
    return [float(m) for m in re.findall(pattern, stdout)]


def assert_finite_and_decreasing(values: list[float], what: str, epochs: int):
    assert len(values) == epochs, f"{what}: expected {epochs} epochs, got {values}"
    assert all(math.isfinite(v) for v in values), f"{what}: non-finite loss in {values}"
    assert values[-1] < values[0], f"{what}: loss did not decrease: {values}"


def test_legacy_environment_is_chainer_1_24(legacy_python):
    result = run_python(legacy_python, ["-c", "import chainer, numpy; print(chainer.__version__, numpy.__version__)"],
                        cwd=REPO)
    assert result.returncode == 0, result.stderr
    chainer_version, numpy_version = result.stdout.split()
    assert chainer_version == "1.24.0" and numpy_version.startswith("1.")


SAE_TINY = ["--unit", "128,32,2", "--epoch_pre", "3", "--epoch_fine", "3", "--n_train", "1000"]


@pytest.mark.parametrize("variant", [
    [],
    ["--untied", "--optimizer", "momentumsgd"],
    ["--activation", "relu", "--dropout", "0.2"],
], ids=["tied-adam", "untied-momentumsgd", "relu-dropout"])
def test_mnist_sae_pretrains_fine_tunes_and_saves(legacy_python, tmp_path, variant):
    result = run_example(legacy_python, "mnist_sae", "train_mnist_sae.py", *SAE_TINY, *variant, "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "units: 784-128-32-2" in out
    for layer, (n_in, n_out) in enumerate([(784, 128), (128, 32), (32, 2)], start=1):
        assert f"pretraining layer {layer}: {n_in} -> {n_out}" in out
        assert_finite_and_decreasing(
            losses(out, rf"pretrain layer {layer} epoch \d+ loss {FLOAT} \(\d+ samples/sec\)"), f"layer {layer}", 3)
    assert_finite_and_decreasing(losses(out, rf"finetune epoch \d+ loss {FLOAT}"), "fine-tuning", 3)
    (test_loss,) = losses(out, rf"test loss {FLOAT}")
    assert math.isfinite(test_loss)

    with np.load(tmp_path / "sae.model") as saved:
        shapes = {key: saved[key].shape for key in saved.files}
    assert shapes["0/encoder/W"] == (128, 784) and shapes["0/decoder_bias"] == (784,)
    assert shapes["2/encoder/W"] == (2, 32)
    assert ("0/decoder/W" in shapes) == ("--untied" in variant)


def test_mnist_sae_runs_with_the_units_that_crash_the_bug_example(legacy_python, tmp_path):
    """The correct program feeds layer 2 the 250-wide codes of layer 1, so the bug example's
    configuration trains through; only the broken data flow makes it crash."""
    result = run_example(legacy_python, "mnist_sae", "train_mnist_sae.py", "--unit", "250,100,2", "--epoch_pre", "2",
                         "--epoch_fine", "1", "--n_train", "500", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert len(losses(result.stdout, rf"pretrain layer 2 epoch \d+ loss {FLOAT}")) == 2
    assert (tmp_path / "sae.model").exists()


def test_pretrain_bug_example_fails_after_layer_one_with_chainers_message(legacy_python, tmp_path):
    result = run_example(legacy_python, "mnist_sae_pretrain_bug", "train_mnist_sae.py",
                         "--epoch_pre", "2", "--n_train", "500", "--out", str(tmp_path))
    assert result.returncode != 0
    assert "units: 784-250-100-2" in result.stdout
    # Layer 1 trained all its epochs before the crash; layer 2 never finished a batch.
    assert len(losses(result.stdout, rf"pretrain layer 1 epoch \d+ loss {FLOAT}")) == 2
    assert "pretraining layer 2: 250 -> 100" in result.stdout
    assert "pretrain layer 2 epoch" not in result.stdout
    stderr = result.stderr.rstrip()
    assert "chainer.utils.type_check.InvalidType" in stderr
    assert stderr.endswith(
        "Invalid operation is performed in: LinearFunction (Forward)\n\n"
        "Expect: prod(in_types[0].shape[1:]) == in_types[1].shape[1]\n"
        "Actual: 784 != 250"
    )
    assert not (tmp_path / "sae.model").exists()


def test_mnist_mlp_functionset(legacy_python):
    result = run_example(legacy_python, "mnist_mlp_functionset", "train_mnist_mlp.py",
                         "--epoch", "3", "--unit", "100", "--n_train", "1000")
    assert result.returncode == 0, result.stderr
    train = losses(result.stdout, rf"train mean loss={FLOAT}, accuracy=")
    test = losses(result.stdout, rf"test  mean loss={FLOAT}, accuracy=")
    assert_finite_and_decreasing(train, "train loss", 3)
    assert_finite_and_decreasing(test, "test loss", 3)
    accuracy = losses(result.stdout, rf"test  mean loss=[^,]+, accuracy={FLOAT}")
    assert accuracy[-1] > 0.3  # ten classes: chance is 0.1


def test_mnist_convnet(legacy_python, tmp_path):
    result = run_example(legacy_python, "mnist_convnet", "train_mnist_convnet.py",
                         "--epoch", "3", "--n_train", "1000", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    train = losses(result.stdout, rf"epoch \d+ train mean loss={FLOAT}")
    test = losses(result.stdout, rf"epoch \d+ test  mean loss={FLOAT}")
    assert_finite_and_decreasing(train, "train loss", 3)
    assert_finite_and_decreasing(test, "test loss", 3)
    accuracy = losses(result.stdout, rf"epoch 3 test  mean loss=[^,]+, accuracy={FLOAT}")
    assert accuracy[0] > 0.5
    with np.load(tmp_path / "convnet.model") as saved:
        assert saved["predictor/conv2/W"].shape == (32, 16, 5, 5)
        assert saved["predictor/bn1/avg_mean"].shape == (16,)


def test_mnist_mlp_trainer(legacy_python, tmp_path):
    """The Trainer example on Chainer 1.24: LogReport's log, PrintReport's table, the final snapshot."""
    import json

    result = run_example(legacy_python, "mnist_mlp_trainer", "train_mnist_trainer.py",
                         "--epoch", "3", "--unit", "100", "--n_train", "1000", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    log = json.loads((tmp_path / "log").read_text())
    assert [(e["epoch"], e["iteration"]) for e in log] == [(1, 10), (2, 20), (3, 30)]
    assert_finite_and_decreasing([e["main/loss"] for e in log], "train loss", 3)
    assert_finite_and_decreasing([e["validation/main/loss"] for e in log], "test loss", 3)
    assert log[-1]["validation/main/accuracy"] > 0.3  # ten classes: chance is 0.1
    assert "main/loss   validation/main/loss  main/accuracy  validation/main/accuracy" in result.stdout
    with np.load(tmp_path / "snapshot_iter_30") as snapshot:  # the whole trainer, model included
        assert snapshot["updater/model:main/predictor/l1/W"].shape == (100, 784)


PY2_SOURCE = EXAMPLES / "py2_mlp" / "train_mnist_py2.py"


def test_py2_example_is_rejected_by_python3():
    with pytest.raises(SyntaxError):
        compile(PY2_SOURCE.read_text(), str(PY2_SOURCE), "exec")


def test_py2_example_is_valid_python2():
    """Parse with a Python 2 grammar (the stdlib's lib2to3 here; fissix once the migrator uses it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (DeprecationWarning, PendingDeprecationWarning))
        from lib2to3 import pygram, pytree
        from lib2to3.pgen2 import driver

    grammar_driver = driver.Driver(pygram.python_grammar, convert=pytree.convert)
    tree = grammar_driver.parse_string(PY2_SOURCE.read_text())
    source = str(tree)
    assert source == PY2_SOURCE.read_text()  # lossless round trip
    for construct in ("print 'epoch', epoch", "xrange(", "import cPickle as pickle", "except IOError, e:",
                      "print >> sys.stderr"):
        assert construct in source


def test_every_example_has_a_readme():
    for example in sorted(p for p in EXAMPLES.iterdir() if p.is_dir()):
        readme = example / "README.md"
        assert readme.exists(), f"{example.name} has no README.md"
        assert "Chainer" in readme.read_text()
