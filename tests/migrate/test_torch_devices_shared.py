"""PT123 across files: a function of one file of the run whose array-module parameter only creates arrays
(lda2vec's `utils.move(xp, *args)`), called from other files with a link's `self.xp`. Migrated as one run, the
function takes the device and every call of the project passes the model's; one call that cannot pass a device
keeps the array module everywhere, marked with why. The converted project is imported and run on torch (CPU) and
compared with the original on the real Chainer 1.24 (.venv-legacy)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from netport.migrate import Severity, migrate_paths, write_outputs

UTILS = '''from chainer import Variable
import numpy as np


def move(xp, *args):
    for arg in args:
        if 'float' in str(arg.dtype):
            yield Variable(xp.asarray(arg, dtype='float32'))
        else:
            assert 'int' in str(arg.dtype)
            yield Variable(xp.asarray(arg, dtype='int32'))
'''

MODEL = '''import numpy as np
import chainer
import chainer.links as L
import chainer.functions as F
from pkg.utils import move


class Model(chainer.Chain):
    def __init__(self):
        super(Model, self).__init__(embed=L.EmbedID(5, 3), out=L.Linear(3, 2))

    def __call__(self, words, scale):
        words, = move(self.xp, words)
        factor = next(move(self.xp, scale * 1.0))
        return self.out(F.tanh(self.embed(words))) * F.broadcast_to(factor, (len(words.data), 2))
'''

OTHER = '''import chainer
import chainer.links as L
from pkg import utils


class Other(chainer.Chain):
    def __init__(self):
        super(Other, self).__init__(out=L.Linear(3, 2))

    def __call__(self, x):
        x, = utils.move(self.xp, x)
        return self.out(x)
'''

# the tensors, the weights Chainer drew, and what each model computes: printed as JSON by both programs
RUN = '''import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from models import Model
from other import Other
TORCH = sys.argv[2] == "torch"
model, other = Model(), Other()
words = np.array([0, 3, 4, 1], dtype=np.int64)
scale = np.array([[0.5, 2.0]], dtype=np.float64)
x = np.random.RandomState(0).uniform(-1, 1, (2, 3))
if TORCH:
    import torch
    with torch.no_grad():
        model.embed.weight.copy_(torch.as_tensor(json.loads(sys.argv[3])[0]))
        model.out.weight.copy_(torch.as_tensor(json.loads(sys.argv[3])[1]))
        model.out.bias.zero_()
        other.out.weight.copy_(torch.as_tensor(json.loads(sys.argv[3])[2]))
        other.out.bias.zero_()
    a, b = model(words, scale).detach().numpy(), other(x).detach().numpy()
    weights = None
else:
    weights = [model.embed.W.data.tolist(), model.out.W.data.tolist(), other.out.W.data.tolist()]
    a, b = model(words, scale).data, other(x).data
print(json.dumps({"a": a.tolist(), "b": b.tolist(), "dtypes": [str(a.dtype), str(b.dtype)], "weights": weights}))
'''


def project(root: Path, model: str = MODEL, other: str = OTHER) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "utils.py").write_text(UTILS)
    (root / "models.py").write_text(model)
    (root / "other.py").write_text(other)
    return root


def migrated(paths, out: Path | None = None):
    migration = migrate_paths([str(p) for p in paths], target="torch")
    for result in migration.report.files:
        assert result.error is None, result.error
    if out is not None:
        write_outputs(migration, out)
    return {Path(r.path).name: r for r in migration.report.files}


def pt123(result, severity=None):
    return [f for f in result.findings if f.rule == "PT123" and (severity is None or f.severity is severity)]


def test_a_function_of_another_file_takes_the_device_and_every_call_of_the_project_passes_it(tmp_path):
    results = migrated([project(tmp_path / "in")], tmp_path / "out")
    utils, model, other = results["utils.py"], results["models.py"], results["other.py"]
    assert "def move(device, *args):" in utils.migrated
    assert "torch.as_tensor(arg, dtype=torch.float32, device=device)" in utils.migrated
    assert "xp" not in utils.migrated
    assert model.migrated.count("move(next(self.parameters()).device, ") == 2
    assert "utils.move(next(self.parameters()).device, x)" in other.migrated
    assert not [f for r in results.values() for f in r.findings if f.severity is Severity.ERROR]
    assert "self.xp" not in model.migrated + other.migrated
    # the whole project is in the run (the directory its imports start from): no call passes a module any more
    [definition] = pt123(utils)
    assert definition.severity is Severity.INFO and "every file of the project is migrated" in definition.message
    assert len(pt123(model, Severity.INFO)) == 2 and len(pt123(other, Severity.INFO)) == 1
    # idempotent: the output migrated again is the same
    again = migrated([tmp_path / "out"])
    for name, result in again.items():
        assert result.migrated == results[name].migrated, name


def test_the_converted_project_computes_what_chainer_did(tmp_path, legacy_python):
    source = project(tmp_path / "in")
    migrated([source], tmp_path / "out")
    (tmp_path / "run.py").write_text(RUN)
    chainer = subprocess.run([str(legacy_python), str(tmp_path / "run.py"), str(source), "chainer"],
                             capture_output=True, text=True, timeout=300)
    assert chainer.returncode == 0, chainer.stderr
    expected = json.loads(chainer.stdout)
    torch_run = subprocess.run([sys.executable, str(tmp_path / "run.py"), str(tmp_path / "out"), "torch",
                                json.dumps(expected["weights"])], capture_output=True, text=True, timeout=300)
    assert torch_run.returncode == 0, torch_run.stderr
    got = json.loads(torch_run.stdout)
    assert got["dtypes"] == expected["dtypes"] == ["float32", "float32"]
    np.testing.assert_allclose(got["a"], expected["a"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["b"], expected["b"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("other, why", [
    (OTHER.replace("utils.move(self.xp, x)", "utils.move(self.module, x)"), "`self.module` is passed"),
    (OTHER.replace("x, = utils.move(self.xp, x)", "mover = utils.move\n        x, = mover(self.xp, x)"),
     "uses `utils.move` otherwise than by calling it"),
    (OTHER.replace("utils.move(self.xp, x)", "utils.move(xp=self.xp, *[x])"), "by `*` or `**`"),
    (OTHER.replace("from pkg import utils", "from pkg.utils import *").replace("utils.move", "move"),
     "imports every name of its module"),
])
def test_one_call_that_cannot_pass_a_device_keeps_the_array_module_everywhere(tmp_path, other, why):
    """All calls of the project convert or none: the function keeps `xp`, no call passes a device, and the
    function is marked with why."""
    results = migrated([project(tmp_path / "in", other=other)])
    utils, model = results["utils.py"], results["models.py"]
    assert "def move(xp, *args):" in utils.migrated
    assert "move(next(" not in model.migrated
    assert model.migrated.count("move(self.xp, ") == 2
    [marked] = pt123(utils)
    assert marked.severity is Severity.ERROR and why in marked.message
    assert "TODO(PT123)" in utils.migrated and not pt123(model)


def test_a_function_whose_body_does_not_convert_keeps_its_calls(tmp_path):
    """The facts across files read the parameter's uses only as `xp.<attr>`; the torch pass finds `xp.sum` of an
    argument is no creation: the run migrates the callers again, and no call passes a device."""
    utils = UTILS.replace("def move(xp, *args):", "def total(xp, a):\n    return xp.sum(a)\n\n\ndef move(xp, *args):")
    other = OTHER.replace("x, = utils.move(self.xp, x)", "s = utils.total(self.xp, x)\n        x, = utils.move(self.xp, x)")
    root = project(tmp_path / "in", other=other)
    (root / "pkg" / "utils.py").write_text(utils)
    results = migrated([root])
    assert "def total(xp, a):" in results["utils.py"].migrated
    assert "utils.total(self.xp, x)" in results["other.py"].migrated
    assert "utils.move(next(self.parameters()).device, x)" in results["other.py"].migrated  # (move converts)
    assert "def move(device, *args):" in results["utils.py"].migrated


def test_calls_from_files_outside_the_run_keep_the_warning(tmp_path):
    """Migrated as separate paths, the directory the imports start from is not one of the run's: a file netport
    does not see may call the function with a module."""
    root = project(tmp_path / "in")
    results = migrated([root / "pkg", root / "models.py", root / "other.py"])
    [definition] = pt123(results["utils.py"])
    assert definition.severity is Severity.WARNING and "outside this run" in definition.message
    assert "def move(device, *args):" in results["utils.py"].migrated


def test_the_defining_file_alone_keeps_its_array_module(tmp_path):
    """Its callers are not in the run: nothing says they pass a device, so the function stays as it was."""
    results = migrated([project(tmp_path / "in") / "pkg"])
    assert "def move(xp, *args):" in results["utils.py"].migrated and not pt123(results["utils.py"])
