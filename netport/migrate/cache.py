"""Results of earlier migrations, kept by content: a re-run over an unchanged tree reads them back
instead of migrating again.

Three kinds of entries, in three folders: ``prepared/`` holds each file as read and checked (its Python 2
conversion is the slowest part of reading, and the facts across files need it before any result can
be looked up), ``migrated/`` each file's migration, ``runs/`` a whole run's results after the checks
that span its files (an unchanged tree is one entry to read).
A migration entry's key is a hash of everything the result depends on: the file's path and text, the facts
gathered across all files of the run (a change in one file can change another's migration), the
options, and the migrator itself (netport's version, the source of ``netport/migrate``, LibCST's,
fissix's and Python's versions). Entries are JSON, written atomically; one that cannot be read is a miss.
The directory is ``$NETPORT_CACHE_DIR``, else ``$XDG_CACHE_HOME/netport``, else ``~/.cache/netport``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import sys
from importlib import metadata
from pathlib import Path

from netport import __version__
from netport.atomic import write_atomic
from netport.migrate.options import MigrationOptions
from netport.migrate.preparation import Prepared
from netport.migrate.project import ProjectFacts
from netport.migrate.python2 import Python2Change
from netport.migrate.report import FileResult, Finding, Severity

_FORMAT = 2  # of the entries; bump when what an entry holds changes


def default_directory() -> Path:
    if os.environ.get("NETPORT_CACHE_DIR"):
        return Path(os.environ["NETPORT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "netport"


@functools.lru_cache(maxsize=1)
def migrator_fingerprint() -> str:
    """What the migrator is: a change to any of its files (``netport/migrate`` and the modules outside it
    that it reads source with), or to LibCST, fissix or pyflakes, makes every entry stale."""
    versions = " ".join([str(_FORMAT), __version__, sys.version,
                         *(metadata.version(library) for library in ("libcst", "fissix", "pyflakes"))])
    digest = hashlib.sha256(versions.encode())
    package = Path(__file__).resolve().parents[1]
    migrator = sorted(p for p in (package / "migrate").rglob("*") if p.suffix in (".py", ".json"))
    for path in [*migrator, package / "sources.py"]:
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def project_fingerprint(project: ProjectFacts) -> str:
    def canonical(value):
        if isinstance(value, (set, frozenset)):
            return sorted(canonical(v) for v in value)
        if isinstance(value, dict):
            return {str(k): canonical(v) for k, v in sorted(value.items())}
        if isinstance(value, (list, tuple)):
            return [canonical(v) for v in value]
        if dataclasses.is_dataclass(value):
            return canonical(dataclasses.asdict(value))
        return value

    facts = {f.name: canonical(getattr(project, f.name)) for f in dataclasses.fields(project)}
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


class _EntryStore:
    """JSON entries under ``directory``, named by a hash of the key: a missing or unreadable one is a miss."""

    def __init__(self, directory: os.PathLike | str, context: str):
        self.directory = Path(directory)
        self._context = context

    def _entry(self, path: str, text: str) -> Path:
        key = hashlib.sha256(f"{self._context}\0{path}\0".encode() + text.encode("utf-8", "surrogatepass"))
        name = key.hexdigest()
        return self.directory / name[:2] / f"{name[2:]}.json"

    def _read(self, path: str, text: str):
        try:
            return json.loads(self._entry(path, text).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _write(self, path: str, text: str, entry) -> None:
        try:
            write_atomic(self._entry(path, text), json.dumps(entry))
        except OSError:  # a cache that cannot be written only costs the next run its speed
            pass


class PreparationCache(_EntryStore):
    """Files read and checked (:func:`netport.migrate.preparation.prepare`), by path and text."""

    def __init__(self, directory: os.PathLike | str):
        super().__init__(Path(directory) / "prepared", migrator_fingerprint())

    def get(self, path: str, text: str) -> Prepared | None:
        entry = self._read(path, text)
        try:
            return Prepared(path, text, error=entry["error"], python2_text=entry["python2_text"],
                            python2_changes=[Python2Change(*fields) for fields in entry["python2_changes"]])
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, prepared: Prepared) -> None:
        self._write(prepared.path, prepared.text, {
            "error": prepared.error, "python2_text": prepared.python2_text,
            "python2_changes": [dataclasses.astuple(c) for c in prepared.python2_changes]})


def _result_entry(result: FileResult) -> dict:
    return {"migrated": result.migrated, "error": result.error, "python2": result.python2,
            "findings": [[f.path, f.line, f.col, f.severity.value, f.rule, f.message] for f in result.findings]}


def _result(path: str, text: str | None, entry: dict) -> FileResult:
    findings = [Finding(p, line, col, Severity(severity), rule, message)
                for p, line, col, severity, rule, message in entry["findings"]]
    return FileResult(path, original=text, migrated=entry["migrated"], findings=findings,
                      error=entry["error"], python2=entry["python2"])


class MigrationCache(_EntryStore):
    """Migration results, by path and text, under the facts across files and the options of the run."""

    def __init__(self, directory: os.PathLike | str, project: ProjectFacts, options: MigrationOptions):
        super().__init__(Path(directory) / "migrated",
                         f"{migrator_fingerprint()} {project_fingerprint(project)} {options}")

    def get(self, path: str, text: str) -> FileResult | None:
        try:
            return _result(path, text, self._read(path, text))
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, text: str, result: FileResult) -> None:
        self._write(result.path, text, _result_entry(result))


class RunCache(_EntryStore):
    """A whole run's results (after the checks that span its files), by every input's path and text:
    a re-run over an unchanged tree reads one entry. The modules outside the run whose facts it read
    (:func:`netport.migrate.api._imported_context`) are kept with their hashes, and checked."""

    def __init__(self, directory: os.PathLike | str, options: MigrationOptions, roots: list[str] = ()):
        # (the paths given count: whether a run holds a whole project is read from them, PT123)
        super().__init__(Path(directory) / "runs", f"{migrator_fingerprint()} {options} {list(roots)}")

    @staticmethod
    def _manifest(inputs: list[tuple[str, str | None, str | None]]) -> str:
        """(path, text, error) of every Python input, as one key text."""
        return "\0".join(f"{path}\0{_digest(text) if text is not None else error}" for path, text, error in inputs)

    def get(self, inputs: list[tuple[str, str | None, str | None]]) -> list[FileResult] | None:
        entry = self._read("run", self._manifest(inputs))
        try:
            for path, digest in entry["context"]:
                if _digest(Path(path).read_bytes().decode("utf-8", "surrogateescape")) != digest:
                    return None
            return [_result(path, text, result) for (path, text, _), result in zip(inputs, entry["results"],
                                                                                    strict=True)]
        except (OSError, KeyError, TypeError, ValueError):
            return None

    def put(self, inputs: list[tuple[str, str | None, str | None]], context: list[str],
            results: list[FileResult]) -> None:
        try:
            digests = [[path, _digest(Path(path).read_bytes().decode("utf-8", "surrogateescape"))] for path in context]
        except OSError:
            return
        self._write("run", self._manifest(inputs), {"context": digests,
                                                     "results": [_result_entry(r) for r in results]})


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
