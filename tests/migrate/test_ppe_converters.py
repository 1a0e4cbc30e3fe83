"""`--to torch --trainer ppe` of a StandardUpdater with a converter over an iterator of the program's own, and of an
Evaluator with a converter (PT131, PT132).

The updater becomes the written-in ChainerStandardUpdater with the same arguments (Chainer 1.24's update_core: the
iterator's next() through the converter, the arrays to the model); the manager's epoch is the iterator's first
epoch, counted on a deep copy of it (chainer_iters_per_epoch), the updater raising if a later one is not as long;
the Evaluator becomes ChainerEvaluator, which iterates a shallow copy of a Chainer iterator without reset() as
Chainer 1.24's did. The differential test runs a program of that shape on Chainer 1.24 and its ppe form from the
same initial weights and compares the LogReport entries.
"""

from __future__ import annotations

import copy
import json
import random

import numpy as np
import pytest

from netport.migrate import Severity, migrate_source
from tests.conftest import environment_python, run_python
from tests.migrate.test_ppe_updaters import TORCH_LOAD, _insert_after

torch = pytest.importorskip("torch")
pytest.importorskip("pytorch_pfn_extras")

# An iterator like word2vec's WindowIterator: positions 2 .. n - 3 in an order drawn from NumPy, shuffled in place at
# each epoch's end, a random window width in each batch; an epoch is ceil((n - 4) / batch_size) batches, not
# ceil(n / batch_size). Its validation copy does not repeat and has no reset(): Chainer's Evaluator iterates a
# shallow copy, whose shuffle at the end reorders the shared order array.
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
        super(Net, self).__init__(l1=L.Linear(6, 3))

    def __call__(self, x, t):
        loss = F.softmax_cross_entropy(self.l1(x), t)
        chainer.report({'loss': loss}, self)
        return loss


class Windows(chainer.dataset.Iterator):
    def __init__(self, x, t, batch_size, repeat=True):
        self.x, self.t, self.batch_size, self._repeat = x, t, batch_size, repeat
        self.order = np.random.permutation(len(x) - 4).astype(np.int32) + 2
        self.current_position = 0
        self.epoch = 0
        self.is_new_epoch = False

    def __next__(self):
        if not self._repeat and self.epoch > 0:
            raise StopIteration
        i = self.current_position
        i_end = i + self.batch_size
        position = self.order[i:i_end]
        w = np.random.randint(2) + 1
        x = np.concatenate([self.x[position - w], self.x[position + w]], axis=1)
        t = self.t[position]
        if i_end >= len(self.order):
            np.random.shuffle(self.order)
            self.epoch += 1
            self.is_new_epoch = True
            self.current_position = 0
        else:
            self.is_new_epoch = False
            self.current_position = i_end
        return x, t

    @property
    def epoch_detail(self):
        return self.epoch + float(self.current_position) / len(self.order)


def convert(batch, device):
    x, t = batch
    return x * 2, t


def main():
    np.random.seed(0)  # (Chainer's initial weights; the torch run loads them)
    rng = np.random.RandomState(1)
    x = rng.randn(14, 3).astype(np.float32)
    t = rng.randint(0, 3, 14).astype(np.int32)
    model = Net()
    optimizer = chainer.optimizers.MomentumSGD(lr=0.1)
    optimizer.setup(model)
    np.random.seed(3)  # (after Chainer's initialisation of the weights drew from NumPy's generator)
    train_iter = Windows(x[:11], t[:11], 3)
    val_iter = Windows(x[5:], t[5:], 3, repeat=False)
    updater = training.StandardUpdater(train_iter, optimizer, converter=convert, device=-1)
    trainer = training.Trainer(updater, (4, 'epoch'), out=sys.argv[1])
    trainer.extend(extensions.Evaluator(val_iter, model, converter=convert, device=-1))
    trainer.extend(extensions.LogReport(trigger=(1, 'iteration'), log_name='iterations'))
    trainer.extend(extensions.LogReport())
    trainer.run()


main()
"""

CHAINER_SAVE = "    chainer.serializers.save_npz('../net.npz', model)\n"
TORCH_LOAD_NET = TORCH_LOAD.replace("((gen, '../gen.npz'), (dis, '../dis.npz'))", "((model, '../net.npz'),)")


def _migrate(source: str, name: str = "windows.py"):
    result = migrate_source(source, name, target="torch", trainer="ppe")
    assert result.error is None, result.error
    return result


def test_converter_and_own_iterator_agree_with_chainer_to_1e_4(tmp_path):
    """4 epochs of 3 updates (7 positions in batches of 3: not ceil(11 / 3) = 4) with a converter over the program's
    iterator, and an Evaluator with the converter over a non-repeating one, on Chainer 1.24 and on the ppe form:
    every iteration's 'main/loss', every epoch's mean of it and 'validation/main/loss', and the epochs and
    iterations the entries were written at agree. Both compute the same float32 operations on a few numbers (a
    6x3 layer, MomentumSGD, 12 steps), only the order of additions in sums of at most 6 terms differing: each
    logit a few float32 roundings (about 1e-7 relative) apart per step. A softmax cross entropy carries that as
    an absolute error, so its smallest losses (0.11 here, the weights and data seeded) are the furthest apart
    relatively, about 1e-7 * |logit| / loss, some 1e-6 at most: 1e-4 holds with margin. The NumPy draws (the
    orders, the window widths, the validation copy's shuffle of the order it shares) are the same numbers in
    both."""
    result = _migrate(PROGRAM)
    assert [f for f in result.findings if f.severity is Severity.ERROR] == []
    migrated = result.migrated
    assert "import chainer" not in migrated
    assert "updater = ChainerStandardUpdater(train_iter, optimizer, converter=convert, device=-1)" in migrated
    assert "    updater.iters_per_epoch = chainer_iters_per_epoch(train_iter)\n" in migrated
    assert "iters_per_epoch=updater.iters_per_epoch" in migrated
    assert "trainer.extend(ChainerEvaluator(val_iter, model, converter=convert, device=-1))" in migrated
    assert {f.rule for f in result.findings} >= {"PT131", "PT132"}
    assert _migrate(migrated).migrated == migrated  # (idempotent)
    programs = {"chainer": _insert_after(PROGRAM, r"^    model = Net\(\)$", CHAINER_SAVE),
                "ppe": _insert_after(migrated, r"^    model = Net\(\)$", TORCH_LOAD_NET)}
    logs = {}
    for form in ("chainer", "ppe"):  # Chainer first: it writes the initial weights
        (tmp_path / form).mkdir()
        (tmp_path / form / "windows.py").write_text(programs[form])
        python = environment_python("legacy" if form == "chainer" else "main")
        run = run_python(python, ["-W", "ignore", "windows.py", "result"], cwd=tmp_path / form)
        assert run.returncode == 0, f"{form}:\n{run.stderr[-3000:]}"
        logs[form] = {name: json.loads((tmp_path / form / "result" / name).read_text())
                      for name in ("iterations", "log")}
    chainer, ppe = logs["chainer"], logs["ppe"]
    assert [e["iteration"] for e in ppe["iterations"]] == [e["iteration"] for e in chainer["iterations"]] == \
        list(range(1, 13))
    assert [(e["epoch"], e["iteration"]) for e in ppe["log"]] == \
        [(e["epoch"], e["iteration"]) for e in chainer["log"]] == [(1, 3), (2, 6), (3, 9), (4, 12)]
    np.testing.assert_allclose([e["main/loss"] for e in ppe["iterations"]],
                               [e["main/loss"] for e in chainer["iterations"]], rtol=1e-4, atol=0)
    for key in ("main/loss", "validation/main/loss"):
        np.testing.assert_allclose([e[key] for e in ppe["log"]], [e[key] for e in chainer["log"]], rtol=1e-4,
                                   atol=0, err_msg=key)
    assert chainer["log"][-1]["main/loss"] != chainer["log"][0]["main/loss"]  # (it trains)


def _helpers():
    """The definitions PT131 writes into a file, executed."""
    result = _migrate(PROGRAM)
    source = result.migrated[:result.migrated.index("class Net(")]
    namespace: dict = {}
    exec(compile(source, "helpers.py", "exec"), namespace)  # noqa: S102 (what netport wrote)
    return namespace


class Uneven:
    """Epochs of 2, 3, 2, 3 ... batches, drawing from NumPy's and Python's generators."""

    def __init__(self):
        self.epoch, self.position, self.is_new_epoch, self.epoch_detail = 0, 0, False, 0.0

    def next(self):
        np.random.rand()
        random.random()
        self.position += 1
        if self.position == (2 if self.epoch % 2 == 0 else 3):
            self.epoch, self.position = self.epoch + 1, 0
        return (np.float32([1.0]),)


def test_the_epoch_is_counted_on_a_copy_and_checked_at_each_update():
    """chainer_iters_per_epoch counts the first epoch's batches on a copy, leaving the iterator and the
    generators as they were (the run draws the same numbers); the updater raises where an epoch is longer."""
    helpers = _helpers()
    iterator = Uneven()
    np.random.seed(5)
    random.seed(5)
    expected = copy.deepcopy((np.random.get_state(), random.getstate()))
    assert helpers["chainer_iters_per_epoch"](iterator) == 2
    assert helpers["chainer_iters_per_epoch"](iterator, limit=0) == 1  # (an iteration stop inside the first epoch)
    assert iterator.epoch == 0 and iterator.position == 0
    np.random.set_state(expected[0])
    random.setstate(expected[1])
    expected_draws = np.random.rand(), random.random()
    np.random.set_state(expected[0])
    random.setstate(expected[1])
    assert helpers["chainer_iters_per_epoch"](iterator) == 2
    assert (np.random.rand(), random.random()) == expected_draws
    weight = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([weight], lr=0.1)
    updater = helpers["ChainerStandardUpdater"](iterator, optimizer, converter=lambda batch, device: batch)
    updater.targets = {"main": lambda x: (weight * x).sum()}
    updater.iters_per_epoch = 2
    for _ in range(3):  # epoch 1 (2 updates) and the first of the 3 of epoch 2
        updater.update()
    assert updater.iteration == 3 and float(weight) == pytest.approx(-0.3)
    with pytest.raises(RuntimeError, match="in epoch 1 after update 4, the manager counts epoch 2"):
        updater.update()


def test_the_evaluator_copies_an_iterator_without_reset_as_chainers():
    """ChainerEvaluator iterates a shallow copy of an iterator without reset() (the original stays where it was),
    resets one that has it, passes each batch through the converter with its device, and reports the mean."""
    helpers = _helpers()
    calls = []

    class Model(torch.nn.Module):
        def forward(self, x):
            calls.append(x)
            helpers["ppe"].reporting.report({"loss": x.sum()}, self)
            return x.sum()

    class Once:
        def __init__(self):
            self.epoch = 0

        def __iter__(self):
            return self

        def __next__(self):
            if self.epoch > 1:
                raise StopIteration
            self.epoch += 1
            return np.float32([self.epoch])

    iterator, model = Once(), Model()
    evaluator = helpers["ChainerEvaluator"](iterator, model, converter=lambda batch, device: batch * device, device=3)
    evaluator.name = "validation"
    reporter = helpers["ppe"].reporting.Reporter()
    reporter.add_observer("main", model)
    with reporter.scope({}):
        assert evaluator()["validation/main/loss"] == pytest.approx(4.5)  # (3 and 6)
        assert evaluator()["validation/main/loss"] == pytest.approx(4.5)  # (a fresh copy again)
    assert iterator.epoch == 0 and [float(c) for c in calls] == [3, 6, 3, 6] and model.training


OWN_UPDATER = PROGRAM.replace("""def convert(batch, device):""", """class Twice(training.StandardUpdater):
    def update_core(self):
        self.get_iterator('main').next()
        x, t = self.converter(self.get_iterator('main').next(), self.device)
        self.get_optimizer('main').update(self.get_optimizer('main').target, x, t)


def convert(batch, device):""").replace("training.StandardUpdater(train_iter", "Twice(train_iter")


def test_an_updater_of_the_programs_own_over_its_own_iterator_stays_marked():
    """An update_core of the program's own may draw any number of batches per update, so the first epoch's
    batches are not its updates: the Trainer stays marked (PT101), as before, with why."""
    result = _migrate(OWN_UPDATER)
    errors = [f for f in result.findings if f.severity is Severity.ERROR]
    assert errors and {f.rule for f in errors} <= {"PT101", "PT042"}
    assert any("is not a SerialIterator or MultiprocessIterator built in this block" in f.message for f in errors)
    assert "TODO(PT101)" in result.migrated and "trainer.run()" in result.migrated
    assert _migrate(result.migrated).migrated == result.migrated


def test_a_standard_updater_with_a_dict_of_optimizers_and_a_converter_stays_marked():
    result = _migrate(PROGRAM.replace("StandardUpdater(train_iter, optimizer,", "StandardUpdater(train_iter, "
                                      "{'main': optimizer},"))
    errors = [f for f in result.findings if f.severity is Severity.ERROR]
    assert any(f.rule == "PT131" and "optimizers are given as a dict" in f.message for f in errors)
    assert "TODO(PT131)" in result.migrated
