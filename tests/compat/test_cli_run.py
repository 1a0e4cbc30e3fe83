"""`netport run` as a user runs it (`python -m netport run`, a subprocess each): the cache, errors that point
at the user's files, the report and ERRORs, which modules are migrated, and what the program sees."""

from __future__ import annotations

import os
import re
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import run_python

# A v1 model: the migration rewrites the constructor into an init_scope block (lines move down) and drops the
# train flag (on Chainer 7.8, F.dropout(train=...) raises: unmigrated, this module cannot run there).
NET = '''\
import chainer
import chainer.functions as F
import chainer.links as L

SCALE = 1


class MLP(chainer.Chain):
    def __init__(self):
        super(MLP, self).__init__(l1=L.Linear(3, 2), l2=L.Linear(2, 2))

    def __call__(self, x, train=True):
        h = F.dropout(self.l1(x), train=train)
        return self.l2(h) * SCALE

    def broken(self, x):
        return self.l2(x).no_such_attribute
'''
MAIN = '''\
import sys
import numpy as np
import net

model = net.MLP()
y = model(np.ones((1, 3), np.float32), train=False)
print('shape', y.shape, 'scale', net.SCALE, 'engine', 'libcst' in sys.modules)
'''


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(textwrap.dedent(text))
    return directory


def netport_run(*args: str, cwd: Path, cache: Path | None = None, env: dict | None = None):
    """`python -m netport run ARGS` in ``cwd``, with its own cache directory when ``cache`` is given."""
    saved = dict(os.environ)
    try:
        if cache is not None:
            os.environ["NETPORT_CACHE_DIR"] = str(cache)
        os.environ.update(env or {})
        return run_python(sys.executable, ["-W", "ignore", "-m", "netport", "run", *args], cwd=cwd)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_the_cache_hits_misses_and_follows_a_changed_file(tmp_path):
    """A first run migrates (the engine, LibCST, is loaded); a re-run of the unchanged program reads the cache
    and never loads it; a change to net.py is migrated afresh and runs; --no-cache migrates and writes nothing."""
    program = write(tmp_path / "program", {"net.py": NET, "main.py": MAIN})
    cache = tmp_path / "cache"
    first = netport_run("main.py", cwd=program, cache=cache, env={"PYTHONDONTWRITEBYTECODE": ""})
    assert first.returncode == 0, first.stderr
    assert first.stdout == "shape (1, 2) scale 1 engine True\n"
    entries = sorted(cache.rglob("*.json"))
    assert any(p.relative_to(cache).parts[0] == "runs" for p in entries)
    again = netport_run("main.py", cwd=program, cache=cache)
    assert again.returncode == 0, again.stderr
    assert again.stdout == "shape (1, 2) scale 1 engine False\n"  # a hit: nothing migrated
    assert sorted(cache.rglob("*.json")) == entries
    assert again.stderr == first.stderr  # the same report, read back
    (program / "net.py").write_text(NET.replace("SCALE = 1", "SCALE = 2"))
    changed = netport_run("main.py", cwd=program, cache=cache)
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout == "shape (1, 2) scale 2 engine True\n"
    uncached = netport_run("--no-cache", "main.py", cwd=program, cache=tmp_path / "unused")
    assert uncached.stdout == "shape (1, 2) scale 2 engine True\n"
    assert not (tmp_path / "unused").exists()
    assert [p for p in program.rglob("*") if p.name not in ("net.py", "main.py")] == []  # nothing written there


def test_tracebacks_file_and_getsource_show_the_users_file_and_lines(tmp_path):
    """net.py's migration inserts lines above `broken` (the init_scope block): the traceback still names the
    line of the original file with its text, without carets under a part of it, and __file__,
    inspect.getsource and the loader's source are the user's file."""
    program = write(tmp_path / "program", {"net.py": NET, "main.py": '''\
        import inspect
        import numpy as np
        import net

        print(net.__file__)
        print(inspect.getsource(net.MLP.__call__), end='')
        print(net.__loader__.get_source('net') == open(net.__file__).read())
        net.MLP().broken(np.ones((1, 2), np.float32))
    '''})
    result = netport_run("-q", "main.py", cwd=program)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == str(program / "net.py")
    assert "\n".join(lines[1:4]) == "\n".join(NET.splitlines()[11:14])  # `def __call__(self, x, train=True):` ...
    assert lines[4] == "True"
    assert result.stderr.endswith(
        f'Traceback (most recent call last):\n'
        f'  File "{program / "main.py"}", line 8, in <module>\n'
        f'    net.MLP().broken(np.ones((1, 2), np.float32))\n'
        f'  File "{program / "net.py"}", line 17, in broken\n'
        f'    return self.l2(x).no_such_attribute\n'
        f'           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n'
        f"AttributeError: 'Variable' object has no attribute 'no_such_attribute'\n")


def test_a_syntax_error_names_the_users_file_and_line(tmp_path):
    """In a module the program imports: not started, one line naming file:line (exit 2). In a module it
    imports later by name: Python's own SyntaxError display of the user's file and line (exit 1), no frame of
    netport's."""
    program = write(tmp_path / "program", {
        "main.py": "import chainer\nimport helper\n",
        "helper.py": "import chainer\n\ndef f(:\n    pass\n",
        "late.py": "import importlib\nx = 1\nimportlib.import_module('broken')\n",
        "broken.py": "import chainer\nx = (1,\ny = 2 +\n"})
    result = netport_run("main.py", cwd=program)
    assert result.returncode == 2
    assert result.stdout == ""
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("netport run: error:")]
    assert re.fullmatch(r"netport run: error: not started: helper\.py:3:\d+: syntax error: .*", error), error
    assert "Traceback" not in result.stderr
    late = netport_run("-q", "late.py", cwd=program)
    assert late.returncode == 1
    assert f'File "{program / "late.py"}", line 3, in <module>' in late.stderr
    assert re.search(rf'File "{re.escape(str(program / "broken.py"))}", line [23]\n', late.stderr)
    assert "SyntaxError" in late.stderr.splitlines()[-1]
    assert "netport" not in late.stderr


ERROR_PROGRAM = ("import chainer\n"
                 "x = 1  # netport: TODO(CH022): `self.train` is set here; set the mode with "
                 "`with chainer.using_config('train', ...)` around the calls instead\n"
                 "print('ran', x)\n")


def test_errors_refuse_to_start_unless_forced(tmp_path):
    """A migration with ERRORs (here CH097: a TODO an earlier migration left) does not start, naming
    file:line:rule, also with -q (which silences the report only); --force runs it."""
    program = write(tmp_path / "program", {"prog.py": ERROR_PROGRAM})
    refused = netport_run("prog.py", cwd=program)
    assert refused.returncode == 2 and refused.stdout == ""
    assert "prog.py:2:1: ERROR CH097" in refused.stderr  # the report
    assert refused.stderr.splitlines()[-1].startswith("netport run: error: prog.py not started: the migration left "
                                                      "1 ERROR(s) needing manual work (prog.py:2:CH097)")
    quiet = netport_run("-q", "prog.py", cwd=program)
    assert quiet.returncode == 2 and quiet.stderr.splitlines() == refused.stderr.splitlines()[-1:]
    forced = netport_run("--force", "prog.py", cwd=program)
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout == "ran 1\n"
    assert forced.stderr.count("ERROR CH097") == 1  # the report, once


def test_only_the_programs_modules_are_migrated(tmp_path):
    """The program's directory and a directory the program puts on sys.path are migrated; a directory that was
    on the path before (PYTHONPATH), a site-packages the program adds (even inside its own tree), the standard
    library and Chainer are left to Python."""
    legacy = write(tmp_path / "shared", {"legacy_lib.py": NET})
    program = write(tmp_path / "program", {
        "net.py": NET,
        "extra/helper.py": NET,
        "venv/lib/site-packages/vendored.py": NET,
        "models/__init__.py": "from .mlp import MLP\n",
        "models/mlp.py": NET,
        "main.py": '''\
            import json
            import os
            import sys
            sys.path.append(os.path.join(os.path.dirname(__file__), 'extra'))
            sys.path.append(os.path.join(os.path.dirname(__file__), 'venv', 'lib', 'site-packages'))
            import chainer
            import helper
            import legacy_lib
            import models.mlp
            import net
            import vendored

            for module in (net, helper, models, models.mlp, legacy_lib, vendored, json, chainer):
                print(module.__name__, type(module.__loader__).__name__)
        '''})
    result = netport_run("-q", "main.py", cwd=program, env={"PYTHONPATH": str(legacy)})
    assert result.returncode == 0, result.stderr
    loaders = dict(line.split() for line in result.stdout.splitlines())
    assert loaders == {"net": "MigratedSourceLoader", "helper": "MigratedSourceLoader",
                       "models": "MigratedSourceLoader", "models.mlp": "MigratedSourceLoader",
                       "legacy_lib": "SourceFileLoader", "vendored": "SourceFileLoader",
                       "json": "SourceFileLoader", "chainer": "SourceFileLoader"}


def test_the_program_sees_what_python_script_gives_it(tmp_path):
    """sys.argv, sys.path[0], __name__, __file__, the working directory for relative paths, and the exit
    status of sys.exit; an uncaught exception ends with status 1."""
    program = write(tmp_path / "program", {"tool.py": '''\
        import os
        import sys
        print(sys.argv)
        print(sys.path[0] == os.path.dirname(os.path.abspath(__file__)), __name__, __file__)
        open('written.txt', 'w').write('here')
        sys.exit(int(sys.argv[2]))
    '''})
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    result = netport_run("-q", "--", str(program / "tool.py"), "--to", "3", cwd=elsewhere)
    assert result.returncode == 3, result.stderr
    assert result.stdout.splitlines() == [repr([str(program / "tool.py"), "--to", "3"]),
                                          f"True __main__ {program / 'tool.py'}"]
    assert (elsewhere / "written.txt").read_text() == "here"


@pytest.mark.parametrize("args, message", [
    (["missing.py"], "netport run: error: missing.py: no such file"),
    (["."], "netport run: error: .: is a directory (give the script file)"),
    (["--init", "torch", "x.py"], "netport run: error: --init applies to --to torch only"),
    (["tool"], "netport run: error: tool: not a .py file (netport run migrates Python files named *.py)"),
])
def test_usage_errors_are_one_line(args, message, tmp_path):
    (tmp_path / "tool").write_text("print('a script without a suffix')\n")
    result = netport_run(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [message]


def test_the_report_is_printed_once_and_quiet_silences_it(tmp_path):
    twice = MAIN.replace("import net", "import net\nimport net")
    program = write(tmp_path / "program", {"net.py": NET, "main.py": twice})
    result = netport_run("main.py", cwd=program)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("netport: 2 file(s), 2 changed") == 1
    assert "net.py:10:" in result.stderr and "main.py:7:" in result.stderr  # the lines of the user's files
    quiet = netport_run("-q", "main.py", cwd=program)
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_a_torch_run_renames_nothing_the_user_sees(tmp_path):
    """On torch `__call__` becomes `forward`, and netport writes helpers above it: the method's source is still
    the user's `__call__`, and an error in it points at the user's line."""
    program = write(tmp_path / "program", {"net.py": NET, "main.py": '''\
        import inspect
        import net

        print(inspect.getsource(net.MLP.forward), end='')
        net.MLP().broken(None)
    '''})
    result = netport_run("-q", "--to", "torch", "main.py", cwd=program)
    assert result.returncode == 1
    assert result.stdout.splitlines() == NET.splitlines()[11:14]
    assert f'File "{program / "net.py"}", line 17, in broken\n    return self.l2(x).no_such_attribute\n' \
        in result.stderr
