"""The import hook: a meta-path finder that hands the program's own modules to a loader which migrates
them in memory, and leaves every other module to Python.

Which files are the program's: those under a *root* (the program's directory, or directories given to
:func:`netport.compat.install`) or under a ``sys.path`` entry the program added after the hook was
installed; never the standard library, site-packages (also when a virtual environment sits inside the
program's directory) or netport itself. Lookup goes through Python's own ``PathFinder`` over the same
``sys.path``, so the module found is the one Python would import; the finder only swaps its loader.
"""

from __future__ import annotations

import importlib.machinery
import linecache
import os
import site
import sys
import sysconfig
from importlib.abc import MetaPathFinder
from pathlib import Path
from types import CodeType

from netport.compat import lines
from netport.compat.program import (display_path, manual_work, migrate_unit, refusal, report_text,
                                    unit_files)
from netport.migrate.api import Migration
from netport.migrate.files import SourceError, read_source
from netport.migrate.options import MigrationOptions
from netport.migrate.report import FileResult, Report


class MigrationError(ImportError):
    """A module of the program that cannot be run migrated: manual work left (ERROR findings, without
    ``force``), or a file the migration could not read. The message names file:line:rule."""


def environment_directories() -> list[Path]:
    """Where the interpreter's own modules live: the standard library and site-packages."""
    found = set()
    paths = sysconfig.get_paths()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        if paths.get(key):
            found.add(paths[key])
    for getter in ("getsitepackages", "getusersitepackages"):
        try:
            extra = getattr(site, getter)()
        except AttributeError:  # a virtualenv's old site.py lacks them
            continue
        found.update([extra] if isinstance(extra, str) else extra)
    found.add(str(Path(__file__).resolve().parents[1]))  # netport itself
    return sorted({Path(p).resolve() for p in found})


def _under(path: Path, directory: Path) -> bool:
    return path == directory or directory in path.parents


class ProgramFinder(MetaPathFinder):
    """Finds the program's modules and migrates them on import (see the module's docstring)."""

    def __init__(self, options: MigrationOptions, cache: Path | None, force: bool = False, quiet: bool = False):
        self.options, self.cache, self.force, self.quiet = options, cache, force, quiet
        self.roots: list[Path] = []
        self.results: dict[Path, FileResult] = {}  # resolved path -> the migration its unit made
        self._reported: set[Path] = set()
        self._excluded = environment_directories()
        self._directories: dict[str, Path] = {}  # sys.path entry (made absolute) -> resolved directory
        self._served_key, self._served, self._verdicts = None, [], {}
        # the entries before the program ran are the environment's; those added later are the program's
        self._baseline = {self._directory(entry) for entry in sys.path if isinstance(entry, str)}

    # --- which files are served

    def add_root(self, directory: os.PathLike | str) -> None:
        resolved = Path(directory).resolve()
        if resolved not in self.roots:
            self.roots.append(resolved)

    def _directory(self, entry: str) -> Path:
        """A sys.path entry as a resolved directory ('' is the working directory, as for Python)."""
        absolute = os.path.abspath(entry or os.curdir)
        if absolute not in self._directories:
            self._directories[absolute] = Path(absolute).resolve()
        return self._directories[absolute]

    def _served_directories(self) -> list[Path]:
        key = (tuple(self.roots), tuple(e for e in sys.path if isinstance(e, str)), os.getcwd())
        if key != self._served_key:  # recomputed only when the roots, sys.path or the directory change
            added = [self._directory(e) for e in key[1]]
            self._served_key, self._served = key, self.roots + [d for d in added if d not in self._baseline]
            self._verdicts = {}
        return self._served

    def _may_hold_served(self, entry: str, served: list[Path]) -> bool:
        """Whether a sys.path entry (or package directory) can yield a served file: it lies under a served
        directory, or above one. Kept per entry: most imports are site-packages' submodules."""
        verdict = self._verdicts.get(entry)
        if verdict is None:
            directory = self._directory(entry)
            verdict = self._verdicts[entry] = any(_under(directory, d) or _under(d, directory) for d in served)
        return verdict

    def serves(self, path: os.PathLike | str) -> bool:
        """Whether ``path`` (a file) is the program's: under a root or an added entry, and not the
        environment's (which can sit inside a root: a .venv in the program's directory)."""
        resolved = Path(path).resolve()
        if any(part in ("site-packages", "dist-packages") for part in resolved.parts):
            return False
        if any(_under(resolved, excluded) for excluded in self._excluded):
            return False
        return any(_under(resolved, directory) for directory in self._served_directories())

    def find_spec(self, fullname, path=None, target=None):
        entries = [e for e in (sys.path if path is None else path) if isinstance(e, str)]
        served = self._served_directories()
        candidates = [e for e in entries if self._may_hold_served(e, served)]
        if not candidates:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, candidates, target)
        if spec is None or spec.origin is None or type(spec.loader) is not importlib.machinery.SourceFileLoader:
            return None  # not found, a namespace package, an extension module, bytecode only
        if not self.serves(spec.origin):
            return None
        if len(candidates) != len(entries):  # an earlier entry may hold a module of that name: Python's choice
            first = importlib.machinery.PathFinder.find_spec(fullname, entries, target)
            if first is None or first.origin != spec.origin:
                return None
        spec.loader = MigratedSourceLoader(fullname, spec.origin, self)
        spec.cached = None  # no bytecode is written: the migrated code must never land in __pycache__
        return spec

    def invalidate_caches(self) -> None:
        self._directories.clear()
        self._served_key = None

    # --- migration

    def migrate(self, entry: Path, announce: bool = False) -> Migration:
        """Migrate the unit of ``entry`` (:mod:`netport.compat.program`); print the report of the files not
        reported before, once, to stderr unless quiet: always with ``announce`` (the program's start), else
        only when it has something to say (a module imported later whose migration changed or found nothing
        adds no lines)."""
        migration = migrate_unit(unit_files(entry, self.serves, self.cache), self.options, self.cache)
        new = []
        for result in migration.report.files:
            key = Path(result.path).resolve()
            self.results.setdefault(key, result)
            if key not in self._reported:
                self._reported.add(key)
                new.append(result)
        if new and not self.quiet and (announce or any(r.findings or r.error for r in new)):
            sys.stderr.write(report_text(Report(new)))
            sys.stderr.flush()
        return migration

    def result_for(self, path: str) -> FileResult:
        key = Path(path).resolve()
        try:
            text, _ = read_source(Path(path))
        except SourceError as exc:
            raise MigrationError(f"netport: {exc}", path=path) from None
        result = self.results.get(key)
        if result is None or result.original != text:  # a module no unit reached yet, or edited since
            self.results.pop(key, None)
            self._reported.discard(key)
            self.migrate(Path(path).absolute())
            result = self.results[key]
        return result

    def code_for(self, path: str, name: str | None = None) -> CodeType:
        """The migrated code of the file at ``path``, with its file name and lines. Raises SyntaxError as
        Python would for a file that is not valid Python (2 or 3), MigrationError for manual work left."""
        result = self.result_for(path)
        if result.error is not None:
            compile(result.original or "", path, "exec", dont_inherit=True)  # Python's own SyntaxError, if it is one
            raise MigrationError(f"netport: {display_path(result.path)}: {_reason(result)}", name=name, path=path)
        errors = manual_work(Report([result]))
        if errors and not self.force:
            raise MigrationError(f"netport: {display_path(path)} not imported: {refusal(errors)}", name=name,
                                 path=path)
        return compiled(result, path)


def compiled(result: FileResult, path: str) -> CodeType:
    """The code of a migrated file, its source remembered for linecache. Output that does not compile is
    netport's fault, not the user's: MigrationError saying so, not a SyntaxError pointing into their file."""
    try:
        code = lines.compile_source(result.original, result.migrated, path)
    except SyntaxError as exc:
        raise MigrationError(f"netport: {display_path(path)}: the migrated code does not compile ({exc.msg} at its "
                             f"line {exc.lineno}), a netport defect: `netport migrate` shows that code",
                             path=path) from None
    _remember_source(path, result.original)
    return code


def _reason(result: FileResult) -> str:
    prefix = f"{result.path}:"
    return result.error[len(prefix):].lstrip() if result.error.startswith(prefix) else result.error


def _remember_source(path: str, text: str) -> None:
    """linecache holds the text the code was compiled against (the user's file, not the migration),
    stamped with the file's size and time so that it is dropped when the file changes."""
    try:
        stat = os.stat(path)
    except OSError:
        return
    linecache.cache[path] = (stat.st_size, stat.st_mtime, text.splitlines(keepends=True), path)


class MigratedSourceLoader(importlib.machinery.SourceFileLoader):
    """Python's source loader with the code replaced by the migrated code (and no bytecode cache); the
    source it reports (``get_source``, ``inspect``) stays the user's file."""

    def __init__(self, fullname: str, path: str, finder: ProgramFinder):
        super().__init__(fullname, path)
        self._finder = finder

    def get_code(self, fullname: str) -> CodeType:
        return self._finder.code_for(self.path, fullname)

    def __eq__(self, other):
        return type(self) is type(other) and (self.name, self.path) == (other.name, other.path)

    def __hash__(self):
        return hash((self.name, self.path))
