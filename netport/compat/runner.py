"""``netport run``: a legacy script run as ``python script.py`` would run it, on migrated code.

What the program sees is what ``python script.py ARGS`` gives it: ``sys.argv`` is the script and its
arguments, ``sys.path[0]`` the script's directory, the working directory is the caller's (its relative
paths read and write where the original's would), ``__name__`` is ``'__main__'`` and ``__file__`` the
script's absolute path. Before it starts, the script and the modules it imports are migrated as one unit
(:mod:`netport.compat.program`) and the report is printed once; a unit that could not be migrated (a
syntax error) or that left ERRORs (unless ``force``) does not start. An exception the program does not
catch is shown as Python shows it, without netport's frames, and ends the run with status 1.
"""

from __future__ import annotations

import builtins
import os
import sys
import types
from pathlib import Path

from netport.compat import install
from netport.compat.finder import MigratedSourceLoader, MigrationError, compiled
from netport.compat.program import display_path, manual_work, refusal
from netport.migrate.options import DEFAULT_TRAINER, UsageError


class RunRefused(Exception):
    """The program was not started; the message says why, naming file and line."""


def run_script(script: os.PathLike | str, args=(), target: str = "chainer", *, init: str = "chainer",
               adam_eps: str = "torch", trainer: str = DEFAULT_TRAINER, cache=True, force: bool = False,
               quiet: bool = False) -> int:
    """Run ``script`` with ``args`` as ``__main__``, its modules migrated to ``target``; the exit status
    (SystemExit raised by the program propagates, as from ``python script.py``).
    UsageError for a script that is not a file; RunRefused when the migration stops it."""
    path = Path(script)
    if path.is_dir():
        raise UsageError(f"{script}: is a directory (give the script file)")
    if not path.is_file():
        raise UsageError(f"{script}: no such file")
    if path.suffix != ".py":  # the migration takes Python files by their suffix
        raise UsageError(f"{script}: not a .py file (netport run migrates Python files named *.py)")
    absolute = path.absolute()
    sys.path[0:1] = [os.path.dirname(os.path.realpath(absolute))]  # as `python script.py` has it
    finder = install(target, [absolute.parent], init=init, adam_eps=adam_eps, trainer=trainer, cache=cache,
                     force=force, quiet=quiet)
    migration = finder.migrate(absolute, announce=True)
    report = migration.report
    unreadable = [r.error for r in report.files if r.error]
    if unreadable:
        raise RunRefused("not started: " + "; ".join(_shown(e) for e in unreadable))
    errors = manual_work(report)
    if errors and not force:
        raise RunRefused(f"{display_path(str(absolute))} not started: {refusal(errors)}")
    result = next(r for r in report.files if Path(r.path).resolve() == absolute.resolve())
    try:
        code = compiled(result, str(absolute))
    except MigrationError as exc:
        raise RunRefused(str(exc).removeprefix("netport: ")) from None

    main = types.ModuleType("__main__")
    main.__dict__.update(__file__=str(absolute), __builtins__=builtins, __spec__=None, __package__=None,
                         __cached__=None, __loader__=MigratedSourceLoader("__main__", str(absolute), finder))
    sys.modules["__main__"] = main
    sys.argv[:] = [str(script), *args]
    try:
        exec(code, main.__dict__)
    except SystemExit:
        raise
    except BaseException as exc:  # the program's own error: Python's display, the user's frames only
        sys.excepthook(type(exc), exc, _without_netport(exc))
        return 130 if isinstance(exc, KeyboardInterrupt) else 1
    return 0


def _shown(error: str) -> str:
    path = error.split(":", 1)[0]
    return error.replace(path, display_path(path), 1) if os.path.isabs(path) else error


_PACKAGE = Path(__file__).resolve().parents[1]
_INTERNAL_DIRECTORY = str(_PACKAGE / "compat") + os.sep
_INTERNAL_FILES = {str(_PACKAGE / "cli.py"), str(_PACKAGE / "__main__.py")}
_INTERNAL_PREFIXES = ("<frozen importlib._bootstrap", "<frozen runpy>", _INTERNAL_DIRECTORY)


def _internal(filename: str) -> bool:
    return filename in _INTERNAL_FILES or filename.startswith(_INTERNAL_PREFIXES)


def _without_netport(exc: BaseException | None, seen: set[int] | None = None):
    """The traceback of ``exc``, and of the exceptions it chains, without netport's and the import
    system's frames: what Python shows for ``python script.py``."""
    seen = set() if seen is None else seen
    if exc is None or id(exc) in seen:
        return None
    seen.add(id(exc))
    exc.__traceback__ = _strip(exc.__traceback__)
    _without_netport(exc.__cause__, seen)
    _without_netport(exc.__context__, seen)
    return exc.__traceback__


def _strip(tb):
    kept = []
    while tb is not None:
        if not _internal(tb.tb_frame.f_code.co_filename):
            kept.append(tb)
        tb = tb.tb_next
    for before, after in zip(kept, kept[1:]):
        before.tb_next = after
    if kept:
        kept[-1].tb_next = None  # frames after the last kept one are netport's (a loader raising)
    return kept[0] if kept else None
