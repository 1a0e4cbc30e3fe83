"""Run legacy Chainer v1 code unchanged: its modules are migrated in memory as they are imported.

``netport run [--to chainer|torch] script.py [args...]`` (:func:`run_script`) runs a program this way;
``netport.compat.install(target='chainer')`` does it for the code that follows (a notebook, or a program
written today that imports a legacy module). The migration is ``netport migrate``'s own, with its cache
(:mod:`netport.migrate.cache`): an unchanged program is read back from it, not migrated again.

Layout: ``program`` (which files form a program, and their migration as one run), ``finder`` (the
meta-path finder and loader), ``lines`` (compiling migrated code with the user's file name and lines),
``runner`` (a script as ``__main__``, and the errors it may end with).
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
from pathlib import Path

from netport.compat.finder import MigratedSourceLoader, MigrationError, ProgramFinder
from netport.migrate.options import DEFAULT_TRAINER, MigrationOptions, UsageError

__all__ = ["MigratedSourceLoader", "MigrationError", "ProgramFinder", "install", "installed", "run_script",
           "uninstall"]


def install(target: str = "chainer", paths=None, *, init: str = "chainer", adam_eps: str = "torch",
            trainer: str = DEFAULT_TRAINER, cache: bool | os.PathLike | str = True, force: bool = False,
            quiet: bool = False) -> ProgramFinder:
    """Migrate the legacy modules imported from now on to ``target`` ("chainer" for Chainer 5+, or
    "torch") as they are imported.

    ``paths``: the directories whose modules are the program's (default: the directory of the running
    script, or the working directory in a notebook or REPL); directories the program adds to ``sys.path``
    later are the program's too. Other modules (the standard library, site-packages) are left to Python.
    ``init``/``adam_eps``/``trainer`` are ``netport migrate``'s torch options. ``cache``: True for the
    default cache directory, a directory, or False for none. ``force``: import modules whose migration left
    ERRORs (manual work) instead of raising :class:`MigrationError`. ``quiet``: no report on stderr.

    Calling it again with the same options adds ``paths`` to the installed finder and returns it; other
    options raise UsageError (a module is migrated one way: :func:`uninstall` first).
    """
    options = MigrationOptions(target, init, adam_eps, trainer)
    directory = _cache_directory(cache)
    finder = installed()
    if finder is not None and (finder.options != options or finder.cache != directory):
        raise UsageError(f"netport.compat is installed already for {finder.options}; call uninstall() first")
    if finder is None:
        finder = ProgramFinder(options, directory, force=force, quiet=quiet)
        # after the built-in and frozen importers, before the path finder whose work it takes over
        position = next((i for i, f in enumerate(sys.meta_path) if f is importlib.machinery.PathFinder), 0)
        sys.meta_path.insert(position, finder)
    finder.force, finder.quiet = finder.force or force, finder.quiet and quiet
    for path in ([_default_root()] if paths is None else [paths] if isinstance(paths, (str, os.PathLike)) else paths):
        finder.add_root(path)
    return finder


def installed() -> ProgramFinder | None:
    return next((f for f in sys.meta_path if isinstance(f, ProgramFinder)), None)


def uninstall() -> None:
    """Remove the finder: later imports are Python's own (modules imported already stay as they are)."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, ProgramFinder)]


def _cache_directory(cache) -> Path | None:
    if cache is True:
        from netport.migrate.cache import default_directory

        return default_directory()
    return Path(cache) if cache else None


def _default_root() -> Path:
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    return Path(main).resolve().parent if main else Path.cwd()


def run_script(*args, **kwargs) -> int:
    """See :func:`netport.compat.runner.run_script`."""
    from netport.compat.runner import run_script as run

    return run(*args, **kwargs)
