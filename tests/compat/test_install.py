"""netport.compat.install(): legacy modules imported from code written today (in this process) or from a
notebook (a `python -c` subprocess: its working directory is what is served)."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import netport.compat
from netport.compat import MigrationError
from netport.migrate.options import UsageError
from tests.compat.test_cli_run import ERROR_PROGRAM, NET
from tests.conftest import run_python

chainer = pytest.importorskip("chainer")


@pytest.fixture
def legacy_dir(tmp_path):
    """A directory of legacy modules under unique names; the import system put back as it was afterwards."""
    saved_path, saved_meta, saved_modules = list(sys.path), list(sys.meta_path), set(sys.modules)
    directory = tmp_path / "legacy"
    directory.mkdir()
    importlib.invalidate_caches()
    yield directory
    netport.compat.uninstall()
    sys.path[:], sys.meta_path[:] = saved_path, saved_meta
    for name in set(sys.modules) - saved_modules:
        if str(getattr(sys.modules[name], "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]


def test_code_written_today_imports_a_legacy_chainer_module(legacy_dir, tmp_path):
    (legacy_dir / "legacy_mlp_chainer.py").write_text(NET)
    finder = netport.compat.install(target="chainer", paths=[legacy_dir], cache=tmp_path / "cache", quiet=True)
    sys.path.insert(0, str(legacy_dir))
    import legacy_mlp_chainer as net

    assert type(net.__loader__).__name__ == "MigratedSourceLoader"
    assert net.__file__ == str(legacy_dir / "legacy_mlp_chainer.py")
    model = net.MLP()
    assert sorted(name for name, _ in model.namedlinks(skipself=True)) == ["/l1", "/l2"]  # init_scope registered them
    with chainer.using_config("train", False):  # the v1 `train=False`, as Chainer 7 code says it
        y = model(np.ones((2, 3), np.float32))
    assert y.shape == (2, 2)
    assert netport.compat.install(target="chainer", paths=[tmp_path], cache=tmp_path / "cache") is finder
    assert finder.roots == [legacy_dir.resolve(), tmp_path.resolve()]
    with pytest.raises(UsageError, match="installed already"):
        netport.compat.install(target="torch", cache=tmp_path / "cache")


def test_a_legacy_module_imported_into_torch_code_is_an_nn_module(legacy_dir, tmp_path):
    torch = pytest.importorskip("torch")
    (legacy_dir / "legacy_mlp_torch.py").write_text(NET)
    netport.compat.install(target="torch", paths=[legacy_dir], cache=tmp_path / "cache", quiet=True)
    sys.path.insert(0, str(legacy_dir))
    import legacy_mlp_torch as net

    model = net.MLP().eval()
    assert isinstance(model, torch.nn.Module)
    assert model(torch.ones(2, 3)).shape == (2, 2)


def test_a_module_with_errors_is_not_imported_unless_forced(legacy_dir, tmp_path):
    (legacy_dir / "legacy_marked.py").write_text(ERROR_PROGRAM)
    netport.compat.install(target="chainer", paths=[legacy_dir], cache=tmp_path / "cache", quiet=True)
    sys.path.insert(0, str(legacy_dir))
    with pytest.raises(MigrationError, match=r"legacy_marked\.py:2:CH097"):
        importlib.import_module("legacy_marked")
    netport.compat.uninstall()
    netport.compat.install(target="chainer", paths=[legacy_dir], cache=tmp_path / "cache", quiet=True, force=True)
    assert importlib.import_module("legacy_marked").x == 1


def test_a_notebook_serves_its_working_directory(tmp_path):
    """In a notebook or `python -c` there is no script: the working directory holds the legacy modules. The
    report of a module whose migration changed something goes to stderr once."""
    (tmp_path / "net.py").write_text(NET)
    code = textwrap.dedent("""\
        import netport.compat
        netport.compat.install(target='chainer')
        import chainer, numpy as np
        import net
        import net
        with chainer.using_config('train', False):
            print(type(net.__loader__).__name__, net.MLP()(np.ones((1, 3), np.float32)).shape)
    """)
    result = run_python(sys.executable, ["-W", "ignore", "-c", code], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "MigratedSourceLoader (1, 2)\n"
    assert result.stderr.count("netport: 1 file(s), 1 changed") == 1
    assert "net.py:10:" in result.stderr
    assert not any(Path(tmp_path).rglob("*.pyc"))
