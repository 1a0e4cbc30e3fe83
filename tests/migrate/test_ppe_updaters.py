"""`--to torch --trainer ppe` of an updater of the program's own (PT100, PT101).

A StandardUpdater subclass with its own update_core (a GAN's two optimizers, its __init__ taking the models)
keeps its update_core on ChainerStandardUpdater, written into the file; its Trainer becomes an ExtensionsManager
of the optimizers' models under the optimizers' names, and the loop calls updater.update(). The differential test
runs the program on Chainer 1.24 and its ppe form from the same initial weights and compares the losses each
iteration reports; the resumed run checks that the manager's snapshot holds the updater's position.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from netport.migrate import Severity, migrate_source
from tests.conftest import environment_python, run_python

pytest.importorskip("torch")
pytest.importorskip("pytorch_pfn_extras")

GAN = """\
import sys
import numpy as np
import chainer
import chainer.functions as F
import chainer.links as L
from chainer import training
from chainer.training import extensions


class Gen(chainer.Chain):
    def __init__(self):
        super(Gen, self).__init__(l1=L.Linear(3, 4))

    def __call__(self, z):
        return F.tanh(self.l1(z))


class Dis(chainer.Chain):
    def __init__(self):
        super(Dis, self).__init__(l1=L.Linear(4, 1))

    def __call__(self, x):
        return self.l1(x)


class GANUpdater(training.StandardUpdater):
    def __init__(self, *args, **kwargs):
        self.gen, self.dis = kwargs.pop('models')
        super(GANUpdater, self).__init__(*args, **kwargs)

    def loss_dis(self, dis, y_fake, y_real):
        batchsize = y_fake.data.shape[0]
        loss = F.sum(F.softplus(-y_real)) / batchsize + F.sum(F.softplus(y_fake)) / batchsize
        chainer.report({'loss': loss}, dis)
        return loss

    def loss_gen(self, gen, y_fake):
        loss = F.sum(F.softplus(-y_fake)) / y_fake.data.shape[0]
        chainer.report({'loss': loss}, gen)
        return loss

    def update_core(self):
        gen_optimizer = self.get_optimizer('gen')
        dis_optimizer = self.get_optimizer('dis')
        batch = self.get_iterator('main').next()
        x_real, z = self.converter(batch, self.device)
        y_real = dis_optimizer.target(chainer.Variable(x_real))
        y_fake = self.dis(self.gen(chainer.Variable(z)))
        dis_optimizer.update(self.loss_dis, self.dis, y_fake, y_real)
        gen_optimizer.update(self.loss_gen, self.gen, self.dis(self.gen(chainer.Variable(z))))


def main():
    rng = np.random.RandomState(1)
    x = rng.randn(12, 4).astype(np.float32)
    z = rng.randn(12, 3).astype(np.float32)
    gen, dis = Gen(), Dis()
    opt_gen = chainer.optimizers.SGD(lr=0.2)
    opt_gen.setup(gen)
    opt_dis = chainer.optimizers.SGD(lr=0.1)
    opt_dis.setup(dis)
    train = chainer.datasets.TupleDataset(x, z)
    train_iter = chainer.iterators.SerialIterator(train, 4, shuffle=False)
    updater = GANUpdater(models=(gen, dis), iterator=train_iter, optimizer={'gen': opt_gen, 'dis': opt_dis})
    trainer = training.Trainer(updater, (3, 'epoch'), out=sys.argv[1])
    trainer.extend(extensions.LogReport(trigger=(1, 'iteration')))
    trainer.extend(extensions.snapshot(filename='snapshot_{.updater.iteration}'), trigger=(5, 'iteration'))
    if len(sys.argv) > 2:
        chainer.serializers.load_npz(sys.argv[2], trainer)
    trainer.run()


main()
"""

CHAINER_SAVE = "    chainer.serializers.save_npz('../gen.npz', gen)\n" \
    "    chainer.serializers.save_npz('../dis.npz', dis)\n"
TORCH_LOAD = """\
    from netport.weights import chainer_to_torch
    for _model, _path in ((gen, '../gen.npz'), (dis, '../dis.npz')):
        with np.load(_path) as _archive:
            _model.load_state_dict({k: torch.from_numpy(v) for k, v in
                                    chainer_to_torch({k: _archive[k] for k in _archive.files}).items()})
"""


def _insert_after(text: str, pattern: str, lines: str) -> str:
    match = re.search(pattern, text, re.M)
    assert match, pattern
    end = text.index("\n", match.end()) + 1
    return text[:end] + lines + text[end:]


def test_gan_updater_agrees_with_chainer_to_1e_4_and_resumes(tmp_path):
    """9 iterations (3 epochs of 3 batches of 4, in order) of a two-optimizer update_core on Chainer 1.24 and on
    its ppe form: each iteration's 'gen/loss' and 'dis/loss' (LogReport every iteration: the reporter's observers
    are the optimizers' names in both) agree to 1e-4 relative. Both compute the same float32 operations on a
    few numbers (4x3 and 4x1 layers, SGD): only the order of additions differs, about 1e-7 relative per step.
    Then the ppe form resumes from its snapshot at iteration 5 (the iterator 8 examples into its second epoch)
    and its last iterations are those of the run without the break."""
    result = migrate_source(GAN, "gan.py", target="torch", trainer="ppe")
    assert result.error is None, result.error
    assert [f for f in result.findings if f.severity is Severity.ERROR] == []
    migrated = result.migrated
    assert "import chainer" not in migrated
    assert "class GANUpdater(ChainerStandardUpdater):" in migrated
    assert "y_real = self.targets['dis'](torch.as_tensor(x_real))" in migrated
    assert "updater.targets = {'gen': gen, 'dis': dis}" in migrated
    assert "ppe.training.ExtensionsManager(updater.targets, updater.get_all_optimizers(), 3, " \
        "iters_per_epoch=math.ceil(len(train) / 4), out_dir=sys.argv[1], state_objects={'updater': updater})" \
        in migrated
    assert "        with trainer.run_iteration():\n            updater.update()\n" in migrated
    assert "train_iter = ChainerSerialIterator(train, 4, shuffle=False)" in migrated
    programs = {"chainer": _insert_after(GAN, r"^    gen, dis = Gen\(\), Dis\(\)$", CHAINER_SAVE),
                "ppe": _insert_after(migrated, r"^    gen, dis = Gen\(\), Dis\(\)$", TORCH_LOAD)}
    logs = {}
    for form in ("chainer", "ppe"):  # Chainer first: it writes the initial weights
        (tmp_path / form).mkdir()
        (tmp_path / form / "gan.py").write_text(programs[form])
        python = environment_python("legacy" if form == "chainer" else "main")
        run = run_python(python, ["-W", "ignore", "gan.py", "result"], cwd=tmp_path / form)
        assert run.returncode == 0, f"{form}:\n{run.stderr[-3000:]}"
        logs[form] = json.loads((tmp_path / form / "result" / "log").read_text())
    assert [e["iteration"] for e in logs["ppe"]] == [e["iteration"] for e in logs["chainer"]] == list(range(1, 10))
    for key in ("gen/loss", "dis/loss", "epoch"):
        np.testing.assert_allclose([e[key] for e in logs["ppe"]], [e[key] for e in logs["chainer"]], rtol=1e-4,
                                   atol=0, err_msg=key)
    assert logs["chainer"][-1]["dis/loss"] != logs["chainer"][0]["dis/loss"]  # (it trains)
    # resumed from the snapshot at iteration 5, it ends as the uninterrupted run did
    assert (tmp_path / "ppe" / "result" / "snapshot_5").exists()
    run = run_python(environment_python("main"), ["-W", "ignore", "gan.py", "resumed", "result/snapshot_5"],
                     cwd=tmp_path / "ppe")
    assert run.returncode == 0, run.stderr[-3000:]
    resumed = json.loads((tmp_path / "ppe" / "resumed" / "log").read_text())
    assert [e["iteration"] for e in resumed] == list(range(1, 10))  # (LogReport's snapshot holds entries 1-5)
    for key in ("gen/loss", "dis/loss"):
        np.testing.assert_allclose([e[key] for e in resumed], [e[key] for e in logs["ppe"]], rtol=1e-6,
                                   err_msg=key)


UPDATER_FILE = """\
import chainer
import chainer.functions as F
from chainer import training


class BPTT(training.updater.StandardUpdater):
    def __init__(self, train_iter, optimizer, bprop_len, device):
        super(BPTT, self).__init__(train_iter, optimizer, device=device)
        self.bprop_len = bprop_len

    def update_core(self):
        loss = 0
        train_iter = self.get_iterator('main')
        optimizer = self.get_optimizer('main')
        for i in range(self.bprop_len):
            x, t = self.converter(train_iter.next(), self.device)
            loss += optimizer.target(chainer.Variable(x), chainer.Variable(t))
        optimizer.target.cleargrads()
        loss.backward()
        optimizer.update()
        if self.is_new_epoch:
            print(self.epoch, self.iteration)
"""


def test_an_updater_file_migrated_alone_is_rebased():
    """The class rebases on its own bases (training.updater.StandardUpdater, 1.24's module), without a Trainer in
    the file; a local name assigned from get_optimizer('main') gives self.targets['main']."""
    result = migrate_source(UPDATER_FILE, "updater.py", target="torch", trainer="ppe")
    assert result.error is None
    assert [f for f in result.findings if f.severity is Severity.ERROR] == []
    migrated = result.migrated
    assert "class BPTT(ChainerStandardUpdater):" in migrated and "class ChainerStandardUpdater:" in migrated
    assert "loss += self.targets['main'](torch.as_tensor(x), torch.as_tensor(t))" in migrated
    assert "        self.targets['main'].zero_grad(set_to_none=False)\n        loss.backward()\n" in migrated
    assert "import chainer" not in migrated
    again = migrate_source(migrated, "updater.py", target="torch", trainer="ppe")
    assert again.migrated == migrated


def test_the_base_class_behaves_as_chainers():
    """ChainerStandardUpdater as written into the file: a single iterator/optimizer is 'main', update() counts,
    epoch/is_new_epoch are the main iterator's, and state_dict() restores an iterator's position through its
    serialize() (Chainer's serializer protocol) or its attributes."""
    import torch
    result = migrate_source(UPDATER_FILE, "updater.py", target="torch", trainer="ppe")
    namespace: dict = {}
    exec(compile(result.migrated, "updater.py", "exec"), namespace)  # noqa: S102 (the file netport wrote)

    class Counting:
        def __init__(self):
            self.position, self.epoch, self.is_new_epoch, self.epoch_detail = 0, 0, False, 0.0

        def next(self):
            self.position += 1
            return [(np.float32([self.position]), np.int32(0))]

        def serialize(self, serializer):
            self.position = serializer('position', self.position)

    class Plain:
        def __init__(self):
            self.order, self.epoch = np.arange(3), 2

    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    updater = namespace["ChainerStandardUpdater"](Counting(), optimizer)
    assert updater.get_optimizer("main") is optimizer and updater.get_all_optimizers() == {"main": optimizer}
    updater.update_core = lambda: updater.get_iterator("main").next()
    for _ in range(3):
        updater.update()
    assert updater.iteration == 3 and updater.epoch == 0 and updater.is_new_epoch is False
    x, t = updater.converter(updater.get_iterator("main").next(), updater.device)
    assert x.dtype == torch.float32 and x.tolist() == [[4.0]] and t.tolist() == [0]
    state = updater.state_dict()
    other = namespace["ChainerStandardUpdater"]({"main": Counting(), "plain": Plain()}, {"a": optimizer})
    other.get_iterator("plain").order = np.arange(5)
    state["iterators"]["plain"] = namespace["ChainerStandardUpdater"]._iterator_state(Plain())
    other.load_state_dict(state)
    assert other.iteration == 3 and other.get_iterator("main").position == 4
    assert isinstance(other.get_iterator("plain").order, np.ndarray) and other.get_iterator("plain").order.size == 3
