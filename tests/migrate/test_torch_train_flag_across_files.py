"""PT135: a `train` flag of a class's own (`self.train = train`, read by `F.dropout(h, train=self.train)`) is
`train_flag` in torch (`self.train` would hide nn.Module.train()), and the class's dropout runs in a
`training_mode(self, self.train_flag)` block. Another file of the program that sets the flag on an instance
(`model.predictor.train = False` on an `L.Classifier(net.Net())`, a `.copy()` of it, a subclass's instance) must set
`train_flag` too: as `.eval()` the block put train mode back (dropout stayed on in evaluation, silently), and as
`.train = False` the block called the bool. Where netport cannot prove the class, the assignment stays, marked
with what to set. The migrated project runs on torch and is compared with Chainer 1.24 (.venv-legacy)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from netport.migrate import Severity, migrate_paths, write_outputs

NET = '''import chainer
import chainer.functions as F
import chainer.links as L


class Net(chainer.Chain):
    def __init__(self, train=True):
        super(Net, self).__init__(l1=L.Linear(3, 3))
        self.train = train

    def __call__(self, x):
        return F.dropout(x, ratio=0.5, train=self.train)


class Deeper(Net):
    def __call__(self, x):
        return F.dropout(x, ratio=0.5, train=self.train)
'''

# "off" where the model's dropout did nothing (every element still 1), "on" where it dropped and scaled
SCRIPT = '''import json
import numpy as np
import chainer
import chainer.links as L
import net

x = np.ones((1, 1000), np.float32)


def mode(link):
    return "off" if bool((link(chainer.Variable(x)).data == 1).all()) else "on"


def main():
    seen = []

    def evaluate(model):
        model.predictor.train = False
        evaluator = model.copy()
        model.predictor.train = True
        seen.append(mode(evaluator.predictor))
        seen.append(mode(model.predictor))

    model = L.Classifier(net.Net())
    seen.append(mode(model.predictor))
    evaluate(model)
    plain = net.Net()
    plain.train = False
    seen.append(mode(plain))
    plain.train = True
    seen.append(mode(plain))
    seen.append(mode(net.Net(train=False)))
    deeper = net.Deeper()
    deeper.train = False
    seen.append(mode(deeper))
    print(json.dumps(seen))


main()
'''
EXPECTED = ["on", "off", "on", "off", "on", "off", "off"]

UNPROVEN = '''import chainer
import net


def evaluate(model, x):
    model.train = False
    y = model(x)
    model.train = True
    return y
'''


def write_project(root: Path, script: str = SCRIPT) -> Path:
    root.mkdir(parents=True)
    (root / "net.py").write_text(NET)
    (root / "run.py").write_text(script)
    return root


def migrated(root: Path, out: Path | None = None) -> dict:
    migration = migrate_paths([str(root)], target="torch")
    for result in migration.report.files:
        assert result.error is None, result.error
    if out is not None:
        write_outputs(migration, out)
    return {Path(r.path).name: r for r in migration.report.files}


def test_the_flag_set_in_another_file_is_the_renamed_attribute_and_dropout_follows_it(tmp_path):
    results = migrated(write_project(tmp_path / "in"), tmp_path / "out")
    run, net = results["run.py"].migrated, results["net.py"].migrated
    assert "        self.train_flag = train\n" in net and net.count("with training_mode(self, self.train_flag):") == 2
    for line in ("model.predictor.train_flag = False", "model.predictor.train_flag = True",
                 "plain.train_flag = False", "plain.train_flag = True", "deeper.train_flag = False"):
        assert line in run, line
    assert ".eval()" not in run and ".train = " not in run
    assert not [f for r in results.values() for f in r.findings if f.severity is Severity.ERROR]
    assert len([f for f in results["run.py"].findings if f.rule == "PT135"]) == 5
    done = subprocess.run([sys.executable, "run.py"], cwd=tmp_path / "out", capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == EXPECTED
    again = migrated(tmp_path / "out")  # idempotent
    for name, result in again.items():
        assert result.migrated == results[name].migrated, name


def test_the_migrated_project_turns_dropout_off_where_chainer_did(tmp_path, legacy_python):
    source = write_project(tmp_path / "in")
    done = subprocess.run([str(legacy_python), "run.py"], cwd=source, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == EXPECTED  # Chainer 1.24: the flag the attribute set, copied by copy()


def test_an_object_whose_class_netport_cannot_prove_stays_marked_with_what_to_set(tmp_path):
    """`evaluate(model, x)` is a module-level function: a caller netport does not see may pass anything."""
    results = migrated(write_project(tmp_path / "in", UNPROVEN))
    run = results["run.py"]
    assert "    model.train = False  # netport: TODO(PT135): " in run.migrated
    assert "    model.train = True  # netport: TODO(PT135): " in run.migrated
    [first, second] = [f for f in run.findings if f.rule == "PT135"]
    assert first.severity is second.severity is Severity.ERROR
    assert "if it is `Net` (whose `train` is a flag of its own" in first.message
    assert "set `model.train_flag = False`" in first.message and "set `model.train_flag = True`" in second.message
    assert not [f for f in run.findings if f.rule == "PT099"]  # (one marker a line)
    assert ".eval()" not in run.migrated and ".train_flag" not in run.migrated.replace("TODO", "")\
        .split("def evaluate")[1].split("#")[0]


# a class whose `train` is Chainer 1's mode attribute (constant in __init__): CH022 toggles it as the mode
MODE_CLASS = '''import chainer
import chainer.functions as F


class Gate(chainer.Chain):
    def __init__(self):
        super(Gate, self).__init__()
        self.train = True

    def __call__(self, x):
        return F.dropout(x, train=self.train)
'''


def test_a_program_that_also_has_a_mode_class_still_sets_the_flag_of_its_own(tmp_path):
    """With a class whose `train` was Chainer 1's mode anywhere in the program, CH022 made every `x.train = False`
    the module's `eval()` (torch), or a using_config('train', False) scope (Chainer 5): for Net, whose dropout
    follows its own flag, both left the dropout on. Only objects proven to be of the mode class are toggled so."""
    source = write_project(tmp_path / "in")
    (source / "gate.py").write_text(MODE_CLASS)
    (source / "run.py").write_text(SCRIPT.replace("import net\n", "import net\nimport gate\n").replace(
        "    print(json.dumps(seen))", "    shut = gate.Gate()\n    shut.train = False\n    seen.append(mode(shut))\n"
        "    print(json.dumps(seen))"))
    results = migrated(source, tmp_path / "out")
    run = results["run.py"].migrated
    assert "model.predictor.train_flag = False" in run and "model.predictor.eval()" not in run
    assert "    shut.eval()\n" in run
    done = subprocess.run([sys.executable, "run.py"], cwd=tmp_path / "out", capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == EXPECTED + ["off"]
    migration = migrate_paths([str(source)], target="chainer")
    write_outputs(migration, tmp_path / "chainer5")
    run5 = (tmp_path / "chainer5" / "run.py").read_text()
    assert "model.predictor.train = False" in run5 and "model.predictor.train = True" in run5
    from tests.conftest import environment_python
    done = subprocess.run([str(environment_python("chainer5")), "run.py"], cwd=tmp_path / "chainer5",
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == EXPECTED + ["off"]


EVALUATOR = '''import chainer
import chainer.links as L
from chainer.training import extensions
import net


class TestModeEvaluator(extensions.Evaluator):
    def evaluate(self):
        model = self.get_target('main')
        model.train = False
        ret = super(TestModeEvaluator, self).evaluate()
        model.train = True
        return ret


def main(it, TARGETS):
    model = L.Classifier(net.Net())
    ev = TestModeEvaluator(it, model)
    return ev
'''


def test_the_target_of_an_evaluator_subclass_is_what_its_constructions_pass(tmp_path):
    """`self.get_target('main')` in an Evaluator subclass is the target each construction in the file passes: here
    an L.Classifier, which reads no `train` in Chainer 1.24 (the assignment did nothing), so `train_flag` (harmless,
    where `train` would hide nn.Module.train()). Two constructions with targets of other classes: not proven."""
    results = migrated(write_project(tmp_path / "in", EVALUATOR.replace(", TARGETS", "")))
    run = results["run.py"]
    assert "        model.train_flag = False\n" in run.migrated and "        model.train_flag = True\n" in run.migrated
    assert [f.severity for f in run.findings if f.rule == "PT135"] == [Severity.INFO] * 2
    other = EVALUATOR.replace(", TARGETS", ", other").replace("    return ev\n",
                                                              "    return ev, TestModeEvaluator(it, other)\n")
    results = migrated(write_project(tmp_path / "in2", other))
    assert [f.severity for f in results["run.py"].findings if f.rule == "PT135"] == [Severity.ERROR] * 2
