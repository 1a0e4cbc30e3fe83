"""PT122: a plain function whose train/test flag became a read of Chainer's global mode (CH021) takes the mode
back as a keyword `training`, where every call in the file is found and its mode known; else PT077 stays. One
program is run on the real Chainer 1.24 (.venv-legacy) and its torch migration, and the numbers compared."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from netport.migrate import Severity, migrate_source

ROOT = Path(__file__).resolve().parents[2]
LEGACY = ROOT / ".venv-legacy" / "bin" / "python"
HEADER = "import numpy as np\nimport chainer\n\n\nclass Net(chainer.Chain):\n    def __call__(self, x):\n" \
         "        return x + 1\n\n\n"
RUN = "def run(model, x, train=True, depth=2):\n    if depth > 0:\n" \
      "        x = run(model, x, train=train, depth=depth - 1)\n    h = model(x)\n    if train:\n" \
      "        h = h * 2\n    return h\n\n\n"


def migrate(source: str):
    result = migrate_source(source, "prog.py", target="torch")
    assert result.error is None, result.error
    return result


def errors(result, rule=None):
    return [f for f in result.findings if f.severity is Severity.ERROR and (rule is None or f.rule == rule)]


def test_script_calls_take_the_mode_and_compute_as_chainer_1(tmp_path):
    source = HEADER + RUN + "model = Net()\nout = []\nfor value in (1.5, 2.0):\n" \
        "    x = np.full((2,), value, np.float32)\n    out.append(float(run(model, x).sum()))\n" \
        "    out.append(float(run(model, x, train=False).sum()))\nprint(out)\n"
    result = migrate(source)
    assert not errors(result)
    assert "def run(model, x, depth=2, *, training):" in result.migrated
    assert "run(model, x, depth=depth - 1, training=training)" in result.migrated
    assert "run(model, x, training=True)" in result.migrated and "run(model, x, training=False)" in result.migrated
    converted = tmp_path / "converted.py"
    converted.write_text(result.migrated)
    torch_out = subprocess.run([sys.executable, str(converted)], capture_output=True, text=True, check=True).stdout
    assert torch_out.strip() == "[52.0, 9.0, 60.0, 10.0]"  # 2 * (x + 1) three times deep, or x + 3
    if LEGACY.exists():
        original = tmp_path / "original.py"
        original.write_text(source)
        legacy_out = subprocess.run([str(LEGACY), str(original)], capture_output=True, text=True, check=True).stdout
        assert legacy_out == torch_out


def test_call_in_a_module_method_passes_self_training():
    source = HEADER.replace("return x + 1", "return scale(x)") + \
        "def scale(x, test=False):\n    return x if test else x * 2\n\n\nclass Top(chainer.Chain):\n" \
        "    def __call__(self, x, test=False):\n        return scale(x, test=test)\n\n\nprint(Top()(1.0))\n"
    result = migrate(source)
    assert not errors(result, "PT077")
    assert "def scale(x, *, training):" in result.migrated
    assert "return scale(x, training=self.training)" in result.migrated  # Top's
    assert "return scale(x, training=self.training)" in result.migrated.split("class Top")[0]  # Net's


def test_scope_with_a_name_flag_passes_the_name():
    source = "import chainer\n\n\ndef f(x):\n    return x * 2 if chainer.config.train else x\n\n\n" \
             "flag = False\nwith chainer.using_config('train', flag):\n    print(f(1))\n"
    result = migrate(source)
    assert "print(f(1, training=flag))" in result.migrated


@pytest.mark.parametrize("tail", [
    "",  # no call in the file: called from other files (a library), whose modes are not known here
    "def main():\n    f(1)\n",  # a plain function's call: its caller's mode is not known
    "print(list(map(f, [1])))\n",  # passed as a value: its calls are not seen
    "chainer.config.train = False\nprint(f(1))\n",  # the program sets the global mode itself
    "g = (f(x) for x in [1])\nprint(list(g))\n",  # a generator expression runs the calls later
    "def main():\n    f(1)\n\n\nif __name__ == '__main__':\n    f(1)\n",  # importable: other files may call f
])
def test_mode_not_known_keeps_the_marker(tail):
    source = "import chainer\n\n\ndef f(x):\n    return x * 2 if chainer.config.train else x\n\n\n" + tail
    result = migrate(source)
    assert errors(result, "PT077"), result.migrated
    assert "*, training" not in result.migrated and "training=" not in result.migrated


def test_read_in_a_nested_function_keeps_the_marker():
    source = "import chainer\n\n\ndef f(x):\n    def g():\n        return chainer.config.train\n    return g\n\n\n" \
             "print(f(1)())\n"
    result = migrate(source)
    assert errors(result, "PT077")
    assert "*, training" not in result.migrated


def test_star_args_function_gets_a_keyword_only_training():
    source = "import chainer\n\n\ndef f(*xs):\n    return sum(xs) if chainer.config.train else 0\n\n\nprint(f(1, 2))\n"
    result = migrate(source)
    assert "def f(*xs, training):" in result.migrated and "print(f(1, 2, training=True))" in result.migrated


@pytest.mark.parametrize("setter", ["chainer.global_config.train = False\n", "setattr(chainer.config, 'train', 0)\n"])
def test_global_mode_set_another_way_keeps_the_marker(setter):
    source = "import chainer\n\n\ndef f(x):\n    return x * 2 if chainer.config.train else x\n\n\n" + setter + \
             "print(f(1))\n"
    assert errors(migrate(source), "PT077")
