"""Results of earlier migrations, kept by content: a re-run over an unchanged tree reads them back
instead of migrating again.

An entry's key is a hash of everything the result depends on: the file's path and text, the facts
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
from netport.migrate.project import ProjectFacts
from netport.migrate.report import FileResult, Finding, Severity

_FORMAT = 1  # of the entries; bump when what an entry holds changes


def default_directory() -> Path:
    if os.environ.get("NETPORT_CACHE_DIR"):
        return Path(os.environ["NETPORT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "netport"


@functools.lru_cache(maxsize=1)
def migrator_fingerprint() -> str:
    """What the migrator is: a change to any of its files, or to LibCST, makes every entry stale."""
    digest = hashlib.sha256(f"{_FORMAT} {__version__} {sys.version} {metadata.version('libcst')} {metadata.version('fissix')}".encode())
    root = Path(__file__).resolve().parent
    for path in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".json")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
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


class MigrationCache:
    def __init__(self, directory: os.PathLike | str, project: ProjectFacts, options: MigrationOptions):
        self.directory = Path(directory)
        self._context = f"{migrator_fingerprint()} {project_fingerprint(project)} {options}"

    def _entry(self, path: str, text: str) -> Path:
        key = hashlib.sha256(f"{self._context}\0{path}\0".encode() + text.encode("utf-8", "surrogatepass"))
        name = key.hexdigest()
        return self.directory / name[:2] / f"{name[2:]}.json"

    def get(self, path: str, text: str) -> FileResult | None:
        try:
            entry = json.loads(self._entry(path, text).read_text(encoding="utf-8"))
            findings = [Finding(p, line, col, Severity(severity), rule, message)
                        for p, line, col, severity, rule, message in entry["findings"]]
            return FileResult(path, original=text, migrated=entry["migrated"], findings=findings,
                              error=entry["error"], python2=entry["python2"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, text: str, result: FileResult) -> None:
        entry = {"migrated": result.migrated, "error": result.error, "python2": result.python2,
                 "findings": [[f.path, f.line, f.col, f.severity.value, f.rule, f.message] for f in result.findings]}
        try:
            write_atomic(self._entry(result.path, text), json.dumps(entry))
        except OSError:  # a cache that cannot be written only costs the next run its speed
            pass
