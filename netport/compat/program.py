"""Which files make up a program, and their migration as one run of ``netport migrate`` would do it.

A module's migration depends on facts from the modules it calls into (``net.py`` defines
``encode(x, train=True)``, ``train.py`` calls it with ``train=False``), so modules are not migrated one
by one as they are imported. A *unit* is an entry file (the script of ``netport run``, or the first
module imported through :func:`netport.compat.install`) with the program's modules it imports, directly
or through each other, as ``import net``, ``from . import net`` or ``from net import AE`` say: the files
:func:`netport.migrate.project.imported_modules` finds beside them. The unit goes through
:func:`netport.migrate.migrate_paths` in one call, with its cache: the same engine, rules, facts and
report as ``netport migrate train.py net.py data.py``, and a re-run of an unchanged unit is one cache
entry to read. Files of the directory that the entry does not import are not part of the unit: a
sibling script's unfinished migration (an ERROR) does not stop this one.
"""

from __future__ import annotations

import ast
import dataclasses
import os
from pathlib import Path
from typing import Callable

from netport.migrate.api import Migration, migrate_paths
from netport.migrate.cache import PreparationCache
from netport.migrate.files import SourceError, read_source
from netport.migrate.options import MigrationOptions
from netport.migrate.preparation import prepare
from netport.migrate.project import imported_modules
from netport.migrate.report import Finding, Report, Severity


def unit_files(entry: Path, serves: Callable[[Path], bool], cache: Path | None) -> list[Path]:
    """``entry`` and the program modules it imports statically, transitively, in discovery order
    (absolute paths); only files ``serves`` accepts are followed."""
    store = PreparationCache(cache) if cache is not None else None
    found, queue = {entry.resolve(): entry}, [entry]
    while queue:
        path = queue.pop(0)
        text = _python3_text(path, store)
        if text is None:
            continue  # unreadable or not Python: the migration reports it
        for module in imported_modules(text, path):
            module = module.absolute()
            if module.resolve() not in found and serves(module):
                found[module.resolve()] = module
                queue.append(module)
    return list(found.values())


def _python3_text(path: Path, store: PreparationCache | None) -> str | None:
    """The file as Python 3 reads it (Python 2 converted, from the cache when it has it)."""
    try:
        text, _ = read_source(path)
    except SourceError:
        return None
    try:
        ast.parse(text)
        return text
    except (SyntaxError, ValueError):
        pass
    prepared = store.get(str(path), text) if store is not None else None
    if prepared is None:
        prepared = prepare(str(path), text)
        if store is not None and prepared.text is not None:
            store.put(prepared)
    return prepared.python3_text


def migrate_unit(files: list[Path], options: MigrationOptions, cache: Path | None) -> Migration:
    return migrate_paths(files, target=options.target, init=options.init, adam_eps=options.adam_eps,
                         trainer=options.trainer, cache=cache)


def display_path(path: str) -> str:
    """A path as the report shows it: relative to the working directory when it lies under it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return path
    return path if relative.startswith(os.pardir) else relative


def report_text(report: Report) -> str:
    """``netport migrate``'s text report, its paths as :func:`display_path` writes them."""
    files = []
    for result in report.files:
        shown = display_path(result.path)
        error = result.error.replace(result.path, shown, 1) if result.error else None
        findings = [dataclasses.replace(f, path=display_path(f.path)) for f in result.findings]
        files.append(dataclasses.replace(result, path=shown, error=error, findings=findings))
    return Report(files).to_text()


def manual_work(report: Report) -> list[Finding]:
    """The ERROR findings: code the migration could not convert (it carries a TODO marker)."""
    return [f for f in report.findings if f.severity is Severity.ERROR]


def refusal(findings: list[Finding]) -> str:
    """One line naming file:line:rule of each ERROR."""
    named = ", ".join(f"{display_path(f.path)}:{f.line}:{f.rule}" for f in findings)
    return f"the migration left {len(findings)} ERROR(s) needing manual work ({named}); --force runs it anyway"
