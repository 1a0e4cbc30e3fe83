"""`--to torch --trainer ppe` of a ParallelUpdater (PT130).

Chainer 1.24's ParallelUpdater splits each batch between its devices (the i-th device takes batch[i::n]), runs a
copy of the model on each, sums the gradients into the main model and updates it once. The ppe form runs the parts
one after another with the one model, accumulating their gradients: the same sums. Chainer runs ParallelUpdater
on the CPU too (devices -1), which makes the differential test possible without GPUs.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from netport.migrate import Severity, migrate_source
from tests.conftest import environment_python, run_python
from tests.migrate.test_ppe_updaters import TORCH_LOAD, _insert_after

pytest.importorskip("torch")
pytest.importorskip("pytorch_pfn_extras")

PROGRAM = """\
import sys
import numpy as np
import chainer
import chainer.functions as F
import chainer.links as L
from chainer import training
from chainer.training import extensions


class MLP(chainer.Chain):
    def __init__(self):
        super(MLP, self).__init__(l1=L.Linear(4, 5), l2=L.Linear(5, 3))

    def __call__(self, x):
        return self.l2(F.relu(self.l1(x)))


def main():
    rng = np.random.RandomState(0)
    x = rng.randn(24, 4).astype(np.float32)
    t = rng.randint(0, 3, 24).astype(np.int32)
    model = L.Classifier(MLP())
    optimizer = chainer.optimizers.MomentumSGD(lr=0.1)
    optimizer.setup(model)
    train = chainer.datasets.TupleDataset(x, t)
    train_iter = chainer.iterators.SerialIterator(train, 6, shuffle=False)
    updater = training.ParallelUpdater(train_iter, optimizer, devices={'main': -1, 'second': -1, 'third': -1})
    trainer = training.Trainer(updater, (3, 'epoch'), out=sys.argv[1])
    trainer.extend(extensions.LogReport(trigger=(1, 'iteration')))
    trainer.run()


main()
"""

CHAINER_SAVE = "    chainer.serializers.save_npz('../model.npz', model)\n"
TORCH_LOAD_MODEL = TORCH_LOAD.replace("((gen, '../gen.npz'), (dis, '../dis.npz'))", "((model, '../model.npz'),)")


def test_parallel_updater_agrees_with_chainer_to_1e_4(tmp_path):
    """12 iterations (3 epochs of 4 batches of 6, in order, each split in 3 parts of 2) on Chainer 1.24 and on the
    ppe form from the same initial weights: each iteration's main/loss and main/accuracy (the main part's) agree to
    1e-4 relative. Both compute the same float32 operations on a few numbers; only the order of additions differs
    (three parts' gradients summed in another order), about 1e-7 relative per step over 12 MomentumSGD steps."""
    result = migrate_source(PROGRAM, "par.py", target="torch", trainer="ppe")
    assert result.error is None, result.error
    assert [f for f in result.findings if f.severity is Severity.ERROR] == []
    assert any(f.rule == "PT130" and f.severity is Severity.WARNING for f in result.findings)
    migrated = result.migrated
    assert "import chainer" not in migrated
    assert "torch.device(" not in migrated and "model.to(" not in migrated  # (devices -1: the CPU, where all stays)
    assert "for part in reversed(range(3)):\n                    loss = model(*[a[part::3] for a in batch])\n" \
        "                    loss.backward()\n                optimizer.step()\n" in migrated
    programs = {"chainer": _insert_after(PROGRAM, r"^    model = L.Classifier\(MLP\(\)\)$", CHAINER_SAVE),
                "ppe": _insert_after(migrated, r"^    model = Classifier\(MLP\(\)\)$", TORCH_LOAD_MODEL)}
    logs = {}
    for form in ("chainer", "ppe"):  # Chainer first: it writes the initial weights
        (tmp_path / form).mkdir()
        (tmp_path / form / "par.py").write_text(programs[form])
        python = environment_python("legacy" if form == "chainer" else "main")
        run = run_python(python, ["-W", "ignore", "par.py", "result"], cwd=tmp_path / form)
        assert run.returncode == 0, f"{form}:\n{run.stderr[-3000:]}"
        logs[form] = json.loads((tmp_path / form / "result" / "log").read_text())
    assert [e["iteration"] for e in logs["ppe"]] == [e["iteration"] for e in logs["chainer"]] == list(range(1, 13))
    for key in ("main/loss", "main/accuracy"):
        np.testing.assert_allclose([e[key] for e in logs["ppe"]], [e[key] for e in logs["chainer"]], rtol=1e-4,
                                   atol=0, err_msg=key)
    # the summed gradients matter: the main part's loss is not what one update on that part alone would give
    assert logs["chainer"][-1]["main/loss"] != logs["chainer"][0]["main/loss"]
    assert "second/loss" in logs["chainer"][0] and "second/loss" not in logs["ppe"][0]  # (the warning's point)


def test_keys_of_the_other_devices_are_warned_of():
    """A PrintReport of 'second/loss' reads what only Chainer's copy on 'second' reported: WARNING at the updater."""
    source = PROGRAM.replace("trainer.run()", "trainer.extend(extensions.PrintReport(['main/loss', 'second/loss']))"
                             "\n    trainer.run()")
    result = migrate_source(source, "par.py", target="torch", trainer="ppe")
    warned = [f for f in result.findings if f.rule == "PT130" and "'second/loss'" in f.message]
    assert len(warned) == 1 and warned[0].severity is Severity.WARNING and warned[0].line == 27


@pytest.mark.parametrize("devices", ["devices=gpus", "devices={'second': 1}", "models=models, devices={'main': 0}"])
def test_a_parallel_updater_netport_cannot_read_stays_marked(devices):
    source = PROGRAM.replace("devices={'main': -1, 'second': -1, 'third': -1}", devices)
    result = migrate_source(source, "par.py", target="torch", trainer="ppe")
    assert any(f.rule == "PT042" and f.severity is Severity.ERROR and "ParallelUpdater" in f.message
               for f in result.findings)
    assert "training.ParallelUpdater(" in result.migrated
