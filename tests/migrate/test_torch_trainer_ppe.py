"""`netport migrate --to torch --trainer ppe`: Trainer programs on pytorch-pfn-extras.

The differential test runs legacy_examples/mnist_mlp_trainer on Chainer 1.24 and its two torch forms (the
written-out loop, the default, and the ppe ExtensionsManager) from the same initial weights on the same
batches; the others check what the ppe form keeps of a Trainer (custom extensions, triggers, the learning
rate schedule, a resumed snapshot) against Chainer 1.24 running the same program.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from netport.migrate import Severity, migrate_source
from tests.conftest import REPO, environment_python, run_python

pytest.importorskip("torch")
pytest.importorskip("pytorch_pfn_extras")

EXAMPLE = REPO / "legacy_examples" / "mnist_mlp_trainer" / "train_mnist_trainer.py"
ARGS = ["--epoch", "5", "--n_train", "80", "--batchsize", "20", "--unit", "100"]  # 4 steps an epoch: 20 steps

# Test harness lines put into the programs (not part of what is compared): Chainer saves its initial weights,
# the torch forms load them (converted by netport.weights), and all three record the loss of every step.
CHAINER_HOOK = """\
    chainer.serializers.save_npz('init.npz', model)
    STEPS = []
    _update = optimizer.update
    def _recorded(*args, **kwargs):
        _update(*args, **kwargs)
        STEPS.append(float(model.loss.data))
    optimizer.update = _recorded
    __import__('atexit').register(lambda: __import__('json').dump(STEPS, open('steps.json', 'w')))
"""
TORCH_LOAD = """\
    with np.load('../chainer/init.npz') as _archive:
        from netport.weights import chainer_to_torch
        model.load_state_dict({k: torch.from_numpy(v) for k, v in
                               chainer_to_torch({k: _archive[k] for k in _archive.files}).items()})
"""
TORCH_HOOK = """\
    STEPS = []
    _step = optimizer.step
    def _recorded(*args, **kwargs):
        _step(*args, **kwargs)
        STEPS.append(model.loss.item())
    optimizer.step = _recorded
    __import__('atexit').register(lambda: __import__('json').dump(STEPS, open('steps.json', 'w')))
"""


def _insert_after(text: str, pattern: str, lines: str) -> str:
    match = re.search(pattern, text, re.M)
    assert match, pattern
    end = text.index("\n", match.end()) + 1
    return text[:end] + lines + text[end:]


def test_mnist_mlp_trainer_loop_and_ppe_agree_with_chainer_to_1e_4(tmp_path):
    """20 training steps (5 epochs of 4 batches of 20 digits, in order: shuffle=False is the one change to the
    program) and an evaluation on the 1,000 test digits after each epoch, on Chainer 1.24 and on both torch
    forms, from Chainer's initial weights (saved, converted by netport.weights.chainer_to_torch, loaded);
    migrated with --adam-eps chainer, whose ChainerAdam is Chainer's update exactly (the default torch Adam
    drifts by 4e-4 in 20 steps, see test_torch_equivalence).

    Why 1e-4 relative holds on any CPU: the three compute the same float32 operations on the same numbers;
    only the order of additions inside the matrix products and reductions differs (NumPy's BLAS, torch's
    kernels), about sqrt(784) * 2**-24 = 1.7e-6 relative per product. This MLP has no parameter whose
    gradient is pure rounding noise (a dead ReLU unit gets an exact zero in both, and Adam moves it by
    exactly 0), so 20 Adam steps carry the error of each step forward without amplifying it (measured: 2.4e-7
    at most, on the steps, the log's means and the evaluation); the means add sums of at most 10 numbers
    (ppe sums them in float32, Chainer 1.24 in float64: 10 * 2**-24 = 6e-7 at most)."""
    source = EXAMPLE.read_text()
    source = source.replace("SerialIterator(train, args.batchsize)", "SerialIterator(train, args.batchsize, "
                            "shuffle=False)")
    assert "shuffle=False)\n    test_iter" in source
    programs = {"chainer": _insert_after(source, r"^    optimizer\.setup\(model\)$", CHAINER_HOOK)}
    for form in ("loop", "ppe"):
        result = migrate_source(source, "train_mnist_trainer.py", target="torch", adam_eps="chainer", trainer=form)
        assert result.error is None
        assert [f for f in result.findings if f.severity is Severity.ERROR] == []
        migrated = result.migrated
        assert "import chainer" not in migrated and ("ExtensionsManager" in migrated) == (form == "ppe")
        migrated = _insert_after(migrated, r"^    model = Classifier\(MLP\(.*\)\)$", TORCH_LOAD)
        programs[form] = _insert_after(migrated, r"^    optimizer = ChainerAdam\(.*\)$", TORCH_HOOK)
    outputs = {}
    for form, program in programs.items():  # Chainer first: it writes init.npz
        (tmp_path / form).mkdir()
        (tmp_path / form / "train.py").write_text(program)
        python = environment_python("legacy" if form == "chainer" else "main")
        result = run_python(python, ["-W", "ignore", "train.py", *ARGS, "--out", "result"], cwd=tmp_path / form)
        assert result.returncode == 0, f"{form}:\n{result.stderr[-3000:]}"
        steps = json.loads((tmp_path / form / "steps.json").read_text())
        log = json.loads((tmp_path / form / "result" / "log").read_text())
        outputs[form] = (steps, log)
    steps, log = outputs["chainer"]
    assert len(steps) == 20 and steps[-1] < steps[0]
    assert [entry["iteration"] for entry in log] == [4, 8, 12, 16, 20]
    for form in ("loop", "ppe"):
        form_steps, form_log = outputs[form]
        np.testing.assert_allclose(form_steps, steps, rtol=1e-4, atol=0, err_msg=form)
        for key in ("main/loss", "main/accuracy", "validation/main/loss", "validation/main/accuracy", "epoch",
                    "iteration"):
            np.testing.assert_allclose([e[key] for e in form_log], [e[key] for e in log], rtol=1e-4, atol=0,
                                       err_msg=f"{form} {key}")
    # ppe's snapshot at the last epoch is the manager's state_dict, which a resumed run loads
    assert (tmp_path / "ppe" / "result" / "snapshot_iter_20").exists()


# A Trainer program with what the written-out loop cannot convert: a custom extension and an Extension class
# reading the trainer, a MinValueTrigger, an ExponentialShift of SGD's lr with observe_lr, an iteration
# stop trigger, a snapshot and a resumed run. Each prints what it sees; both runs print the same lines.
PROGRAM = """\
import sys
import numpy as np
import chainer
import chainer.functions as F
import chainer.links as L
from chainer import training
from chainer.training import extensions


class Net(chainer.Chain):
    def __init__(self):
        super(Net, self).__init__(l1=L.Linear(4, 3))

    def __call__(self, x, t):
        loss = F.softmax_cross_entropy(self.l1(x), t)
        chainer.report({'loss': loss}, self)
        return loss


@training.make_extension(trigger=(2, 'iteration'), priority=training.PRIORITY_READER)
def show(trainer):
    print('show', trainer.updater.iteration, trainer.updater.epoch, trainer.updater.epoch_detail)


class Best(training.Extension):
    trigger = 1, 'epoch'

    def __call__(self, trainer):
        print('best', trainer.updater.iteration, round(float(trainer.observation['main/loss'].data), 4))


def main():
    np.random.seed(0)
    rng = np.random.RandomState(1)
    x = rng.randn(12, 4).astype(np.float32)
    t = rng.randint(0, 3, 12).astype(np.int32)
    model = Net()
    optimizer = chainer.optimizers.SGD(lr=0.5)
    optimizer.setup(model)
    train = chainer.datasets.TupleDataset(x, t)
    train_iter = chainer.iterators.SerialIterator(train, 4, shuffle=False)
    updater = training.StandardUpdater(train_iter, optimizer)
    trainer = training.Trainer(updater, (int(sys.argv[2]), 'iteration'), out=sys.argv[1])
    trainer.extend(show)
    trainer.extend(Best(), trigger=training.triggers.MinValueTrigger('main/loss', trigger=(1, 'epoch')))
    trainer.extend(extensions.ExponentialShift('lr', 0.5), trigger=(2, 'epoch'))
    trainer.extend(extensions.observe_lr(), trigger=(1, 'iteration'))
    trainer.extend(extensions.LogReport(trigger=(3, 'iteration')))
    trainer.extend(extensions.snapshot(filename='snapshot_{.updater.iteration}'), trigger=(6, 'iteration'))
    if len(sys.argv) > 3:
        chainer.serializers.load_npz(sys.argv[3], trainer)
    trainer.run()
    print('lr', optimizer.lr)


main()
"""


def test_ppe_keeps_custom_extensions_triggers_and_schedules(tmp_path):
    """The same printed lines (iteration, epoch, epoch_detail of a make_extension function every 2 iterations;
    an Extension class under a MinValueTrigger; the final lr after ExponentialShift every 2 epochs) and the same
    log (loss means every 3 iterations, lr observed), on Chainer 1.24 and on the ppe form; then the ppe form
    resumes from its own snapshot and ends where a run without the break ends."""
    result = migrate_source(PROGRAM, "prog.py", target="torch", trainer="ppe")
    assert result.error is None, result.error
    errors = [f for f in result.findings if f.severity is Severity.ERROR]
    assert errors == [], errors
    migrated = result.migrated
    assert "import chainer" not in migrated
    assert "ppe.training.make_extension(trigger=(2, 'iteration'), priority=ppe.training.PRIORITY_READER)" in migrated
    assert "ppe.training.triggers.MinValueTrigger('main/loss', trigger=(1, 'epoch'))" in migrated
    assert "LRScheduler(torch.optim.lr_scheduler.ExponentialLR(optimizer, 0.5), trigger=(1, 'iteration'))" \
        in migrated
    assert "trainer.load_state_dict(torch.load(sys.argv[3]))" in migrated
    programs = {"chainer": _insert_after(PROGRAM, r"^    model = Net\(\)$", "    chainer.serializers.save_npz("
                                         "'../init.npz', model)\n"),
                "ppe": _insert_after(migrated, r"^    model = Net\(\)$", TORCH_LOAD.replace("../chainer/", "../"))}
    for form, text in programs.items():
        (tmp_path / form).mkdir()
        (tmp_path / form / "prog.py").write_text(text)
    printed, logs = {}, {}
    for form in ("chainer", "ppe"):
        python = environment_python("legacy" if form == "chainer" else "main")
        result = run_python(python, ["-W", "ignore", "prog.py", "result", "12"], cwd=tmp_path / form)
        assert result.returncode == 0, f"{form}:\n{result.stderr[-3000:]}"
        printed[form] = [line for line in result.stdout.splitlines() if line.split(" ")[0] in ("show", "best", "lr")]
        logs[form] = json.loads((tmp_path / form / "result" / "log").read_text())
    assert printed["ppe"] == printed["chainer"] and len(printed["chainer"]) > 6
    assert [e["iteration"] for e in logs["ppe"]] == [e["iteration"] for e in logs["chainer"]] == [3, 6, 9, 12]
    for key in ("main/loss", "lr", "epoch"):
        np.testing.assert_allclose([e[key] for e in logs["ppe"]], [e[key] for e in logs["chainer"]], rtol=1e-5)
    # resumed from the snapshot at iteration 6, it ends as the uninterrupted run did
    assert (tmp_path / "ppe" / "result" / "snapshot_6").exists()
    result = run_python(environment_python("main"), ["-W", "ignore", "prog.py", "resumed", "12",
                                                     "result/snapshot_6"], cwd=tmp_path / "ppe")
    assert result.returncode == 0, result.stderr[-3000:]
    resumed = [line for line in result.stdout.splitlines() if line.split(" ")[0] in ("show", "best", "lr")]
    assert resumed[-1] == printed["ppe"][-1] and resumed[0].startswith("show 8 ")
    log = json.loads((tmp_path / "ppe" / "resumed" / "log").read_text())
    np.testing.assert_allclose(log[-1]["main/loss"], logs["ppe"][-1]["main/loss"], rtol=1e-6)


def test_ppe_is_the_default_and_loop_an_option(tmp_path, run_netport):
    source = EXAMPLE.read_text()
    assert "ExtensionsManager" in migrate_source(source, "t.py", target="torch").migrated
    assert "ExtensionsManager" not in migrate_source(source, "t.py", target="torch", trainer="loop").migrated
    (tmp_path / "t.py").write_text(source)
    result = run_netport("migrate", "--to", "torch", "--no-cache", str(tmp_path / "t.py"))
    assert result.returncode == 0, result.stderr
    assert "+    trainer = ppe.training.ExtensionsManager(" in result.stdout
    result = run_netport("migrate", "--to", "torch", "--trainer", "loop", "--no-cache", str(tmp_path / "t.py"))
    assert result.returncode == 0 and "ExtensionsManager" not in result.stdout, result.stderr
    for trainer in ("ppe", "loop"):
        result = run_netport("migrate", "--trainer", trainer, str(tmp_path / "t.py"))
        assert result.returncode == 2 and "--trainer applies to --to torch only" in result.stderr


CUSTOM_UPDATER = """\
import chainer
from chainer import training


class GANUpdater(training.StandardUpdater):
    def update_core(self):
        batch = self.get_iterator('main').next()
        self.get_optimizer('gen').update(self.loss, batch)


def main(dataset, optimizers):
    train_iter = chainer.iterators.SerialIterator(dataset, 10)
    updater = GANUpdater(train_iter, optimizers)
    trainer = training.Trainer(updater, (5, 'epoch'))
    trainer.run()
"""


def test_an_updater_of_the_program_is_rebased_and_a_trainer_it_cannot_follow_left_whole():
    """The class converts on its own (PT100); the Trainer around it cannot, since the optimizers come in as a
    parameter whose models the file does not show, so each of its statements is marked and none converted."""
    result = migrate_source(CUSTOM_UPDATER, "gan.py", target="torch", trainer="ppe")
    lines = result.migrated.splitlines()
    assert "class GANUpdater(ChainerStandardUpdater):" in lines and "class ChainerStandardUpdater:" in lines
    marked = {line.split("#")[0].strip() for line in lines if "TODO(PT042)" in line or "TODO(PT101)" in line}
    assert "updater = GANUpdater(train_iter, optimizers)  # netport: TODO(PT101): an updater whose optimizers " \
        "are not one optimizer or a dict" in result.migrated
    assert {"train_iter = chainer.iterators.SerialIterator(dataset, 10)",
            "trainer = training.Trainer(updater, (5, 'epoch'))", "trainer.run()"} <= marked
    assert "ppe.training.ExtensionsManager(" not in result.migrated and "DataLoader" not in result.migrated


def test_an_extension_without_equivalent_is_marked_and_the_rest_converts():
    source = EXAMPLE.read_text().replace(
        "    # Write a log", "    trainer.extend(extensions.dump_graph('main/accuracy'))\n\n    # Write a log")
    result = migrate_source(source, "t.py", target="torch", trainer="ppe")
    assert "ExtensionsManager" in result.migrated
    (marked,) = [line for line in result.migrated.splitlines() if "TODO(" in line]
    # (the graph of 'main/loss' converts, PT092; the accuracy's is not the loss the loop computes)
    assert marked.startswith("    trainer.extend(extensions.dump_graph('main/accuracy'))  # netport: TODO(PT092)")
    assert [f.rule for f in result.findings if f.severity is Severity.ERROR] == ["PT092"]
