"""Library entry points: migrate source text, or files and trees with output and reports."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from netport.atomic import copy_atomic, write_atomic
from netport.migrate import alignment, safety
from netport.migrate.cache import MigrationCache, PreparationCache, RunCache
from netport.migrate.files import InputFile, SourceError, discover, read_source
from netport.migrate.options import DEFAULT_TRAINER, MigrationOptions, UsageError
from netport.migrate.preparation import Prepared, prepare
from netport.migrate.project import ProjectFacts, imported_modules, may_need_facts
from netport.migrate.report import FileResult, Report


def migrate_source(source: str, path: str = "<string>", target: str = "chainer",
                   project: ProjectFacts | None = None, init: str = "chainer", adam_eps: str = "torch",
                   trainer: str = DEFAULT_TRAINER) -> FileResult:
    """Migrate one module's source text. Without ``project``, the facts come from this text alone."""
    from netport.migrate.engine import migrate_prepared  # LibCST and the rules: only when a file migrates

    options = MigrationOptions(target, init, adam_eps, trainer)
    prepared = prepare(path, source)
    if project is None:
        project = ProjectFacts()
        if prepared.python3_text is not None:
            project.add_source(prepared.python3_text)
    result = migrate_prepared(prepared, project, options)
    safety.check_run([result], [prepared.python3_text])
    return result


@dataclass
class Migration:
    """The outcome of migrating some paths: the report and where each input came from."""

    roots: list[Path]
    inputs: list[tuple[Path, InputFile]]  # (root, file) for every file found, Python or not
    results: dict[Path, FileResult] = field(default_factory=dict)  # Python files only
    encodings: dict[Path, str] = field(default_factory=dict)  # each Python file's, to write it back in

    @property
    def report(self) -> Report:
        return Report([self.results[f.path] for _, f in self.inputs if f.path in self.results])


def migrate_paths(paths: Sequence[os.PathLike | str], target: str = "chainer", jobs: int = 1,
                  exclude: Sequence[str] = (), init: str = "chainer", adam_eps: str = "torch",
                  trainer: str = DEFAULT_TRAINER, cache: os.PathLike | str | None = None) -> Migration:
    """Migrate files and directory trees (read-only: see :func:`write_outputs`). With ``cache`` (a
    directory, see :mod:`netport.migrate.cache`) results of earlier runs on the same input are reused."""
    options = MigrationOptions(target, init, adam_eps, trainer)
    roots = [Path(p) for p in paths]
    for root in roots:
        if not root.exists():
            raise UsageError(f"{root}: no such file or directory")
    inputs = [(root, f) for root in roots for f in discover(root, exclude)]
    python = [f.path for _, f in inputs if f.is_python]
    migration = Migration(roots, inputs)

    read: list[Prepared] = []
    for path in python:
        try:
            text, encoding = read_source(path)
        except SourceError as exc:
            read.append(Prepared(str(path), error=str(exc)))
            continue
        migration.encodings[path] = encoding
        read.append(Prepared(str(path), text))
    manifest = [(item.path, item.text, item.error) for item in read]
    runs = RunCache(cache, options, [str(root) for root in roots]) if cache is not None else None
    ordered = runs.get(manifest) if runs is not None else None
    if ordered is None:
        ordered, context = _migrate_all(read, python, options, jobs, cache, roots)
        if runs is not None:
            runs.put(manifest, context, ordered)
    migration.results = {Path(r.path): r for r in ordered}
    _refuse_unencodable(migration)
    return migration


def _migrate_all(read: list[Prepared], python: list[Path], options: MigrationOptions, jobs: int,
                 cache: os.PathLike | str | None, roots: Sequence[Path] = ()) -> tuple[list[FileResult], list[str]]:
    """Every file's result, in order, and the paths of the modules outside the run whose facts it read."""
    prepared = _prepare_all(read, jobs, PreparationCache(cache) if cache is not None else None)

    project = ProjectFacts()
    project.begin_run([item.path for item in prepared], [str(root) for root in roots])
    for item in prepared:
        if item.python3_text is not None:
            project.add_source(item.python3_text, item.path)
    context = _imported_context(prepared, set(python))
    for path, text in context.items():
        project.add_source(text, str(path), outside=True)
    project.end_run()

    store = MigrationCache(cache, project, options) if cache is not None else None
    # a file that could not be read or parsed has its error for a result, with no migrator involved
    reused = [FileResult(item.path, original=item.text, error=item.error) if item.error is not None
              else store.get(item.path, item.text) if store is not None else None for item in prepared]
    missing = [item for item, result in zip(prepared, reused) if result is None]
    if missing:
        import netport.migrate.engine  # noqa: F401  (once here, before the workers fork, not in each)
    results = _map(_migrate_one, [(item, project, options) for item in missing], jobs)
    if store is not None:
        for item, result in zip(missing, results):
            store.put(item.text, result)
    results = dict(zip((id(item) for item in missing), results))
    ordered = [result if result is not None else results[id(item)] for item, result in zip(prepared, reused)]
    ordered = _settle_shared(prepared, ordered, project, options, jobs, store)
    safety.check_run(ordered, [item.python3_text for item in prepared])  # after the cache: it spans files
    return ordered, [str(path) for path in context]


def _settle_shared(prepared: list[Prepared], ordered: list[FileResult], project: ProjectFacts,
                   options: MigrationOptions, jobs: int, store) -> list[FileResult]:
    """PT123 across files: a function of one file that takes the device, and the calls of the others that pass
    it, convert all or none. Each file decided by the project's facts; where one did not convert as planned (its
    own checks found a use the facts could not see), the function keeps its array module and the files
    involved are migrated again (a function fewer each time)."""
    while True:
        by_path = {result.path: result for result in ordered}
        stale = {}
        for key, function in project.shared_array_functions.items():
            if function.why:
                continue
            problem = _shared_problem(function, by_path)
            if problem:
                stale[key] = problem
        if not stale:
            return ordered
        paths = set()
        for key, why in stale.items():
            project.block_shared(key, why)
            function = project.shared_array_functions[key]
            paths |= {function.path, *(path for path, _ in function.calls)}
        again = [item for item in prepared if item.path in paths and item.error is None]
        if not again:
            return ordered
        results = _map(_migrate_one, [(item, project, options) for item in again], jobs)
        if store is not None:
            for item, result in zip(again, results):
                store.put(item.text, result)
        redone = {result.path: result for result in results}
        ordered = [redone.get(result.path, result) for result in ordered]


def _shared_problem(function, by_path: dict[str, FileResult]) -> str:
    """Why a shared function's files did not convert as the facts planned ("" when they did)."""
    from netport.migrate.report import Severity

    definer = by_path.get(function.path)
    if definer is None or not any(f.rule == "PT123" and f.severity is not Severity.ERROR and
                                  f.message.startswith(f"`{function.name}` takes the device")
                                  for f in definer.findings):
        return f"netport could not convert `{function.name}` itself to take a device"
    for path, count in function.calls:
        result = by_path.get(path)
        passed = [f for f in result.findings if f.rule == "PT123" and
                  f"to `{function.name}` of {function.shown}" in f.message] if result is not None else []
        if len(passed) != count:
            return f"netport could not convert every call of it in {path}"
    return ""


def _imported_context(prepared: list[Prepared], inputs: set[Path]) -> dict[Path, str]:
    """Python 3 text of the program's modules that the inputs import but the run does not include
    (a file migrated alone, or a tree partly migrated before), by path: their facts, not their migration."""
    seen, texts = {path.resolve() for path in inputs}, {}
    for item in prepared:
        if item.python3_text is None or not may_need_facts(item.python3_text):
            continue
        for module in imported_modules(item.python3_text, Path(item.path)):
            if module.resolve() in seen:
                continue
            seen.add(module.resolve())
            try:
                context = prepare(str(module), read_source(module)[0])
            except SourceError:
                continue
            if context.python3_text is not None:
                texts[module] = context.python3_text
    return texts


def _prepare_all(read: list[Prepared], jobs: int, store: PreparationCache | None) -> list[Prepared]:
    """Every file read checked and, if it is Python 2, converted; from ``store`` where it has them."""
    reused = [store.get(item.path, item.text) if store is not None and item.error is None else None
              for item in read]
    missing = [item for item, found in zip(read, reused) if found is None]
    done = iter(_map(_prepare_one, missing, jobs))
    prepared = [found if found is not None else next(done) for found in reused]
    if store is not None:
        for item, found in zip(prepared, reused):
            if found is None and item.text is not None:
                store.put(item)
    return prepared


def _prepare_one(item: Prepared) -> Prepared:
    return item if item.error is not None else prepare(item.path, item.text)


def _migrate_one(args) -> FileResult:
    from netport.migrate.engine import migrate_prepared

    return migrate_prepared(*args)


def _map(function, items: list, jobs: int) -> list:
    if jobs <= 1 or len(items) < 2:
        return [function(item) for item in items]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(function, items, chunksize=max(1, len(items) // (jobs * 8))))


def write_outputs(migration: Migration, out: os.PathLike | str | None = None, in_place: bool = False,
                  backup_suffix: str | None = None) -> list[Path]:
    """Write migrated files: into ``out`` (mirroring trees, copying other files) or over the inputs.

    Files that could not be processed are not written (no partial output); with ``in_place`` only
    changed files are rewritten, each after an optional backup copy. A single input file goes to
    ``out`` itself, or into it when ``out`` is a directory or ends with a slash; several inputs go into
    the directory ``out`` (files by name, trees under their directory's name). An input that is a
    symbolic link is rewritten through the link (the file it points to changes, the link stays), and its
    backup is a plain copy next to the link, under the name the user gave.
    """
    if (out is None) == (not in_place):
        raise UsageError("give either an output path or in_place=True")
    written: list[Path] = []
    if in_place:
        for _, item in migration.inputs:
            result = migration.results.get(item.path)
            if result is None or not result.changed:
                continue
            if backup_suffix:
                copy_atomic(item.path, item.path.with_name(item.path.name + backup_suffix))
            write_atomic(item.path, _encode(result.migrated, migration.encodings.get(item.path)), like=item.path)
            written.append(item.path)
        return written
    targets = _output_targets(migration, out)
    for _, item in migration.inputs:
        target = targets[item.path]
        if not item.is_python:
            copy_atomic(item.path, target)
            written.append(target)
            continue
        result = migration.results[item.path]
        if result.migrated is None:
            continue
        if result.changed:
            write_atomic(target, _encode(result.migrated, migration.encodings.get(item.path)), like=item.path)
        else:  # byte for byte: a codec may spell a character it reads two ways in one (cp932)
            copy_atomic(item.path, target)
        written.append(target)
    return written


def _output_targets(migration: Migration, out: os.PathLike | str) -> dict[Path, Path]:
    """Where each input goes under ``out``, checked before anything is written."""
    spelled = os.fspath(out)
    out = Path(out)  # drops a trailing slash: read it from the spelling
    _check_output(migration.roots, out)
    into_directory = out.is_dir() or spelled.endswith(tuple(sep for sep in (os.sep, os.altsep) if sep))
    single_file = len(migration.roots) == 1 and migration.roots[0].is_file()
    if (into_directory or not single_file) and out.exists() and not out.is_dir():
        raise UsageError(f"{out}: not a directory (several inputs, or an -o ending in a slash, are written into "
                         "a directory)")
    targets: dict[Path, Path] = {}
    written_from: dict[Path, Path] = {}
    for root, item in migration.inputs:
        if single_file:
            target = out / item.relative if into_directory else out
        elif root.is_file() or len(migration.roots) == 1:
            target = out / item.relative
        else:
            target = out / root.resolve().name / item.relative
        other = written_from.setdefault(target, item.path)
        if other.resolve() != item.path.resolve():
            raise UsageError(f"{target}: would be written from both {other} and {item.path}; "
                             "migrate them in separate runs")
        targets[item.path] = target
    return targets


def _encode(text: str, encoding: str | None) -> bytes:
    """The text in the encoding its file was read in ("utf-8-sig" writes the byte-order mark back)."""
    return text.encode(encoding or "utf-8")


def _refuse_unencodable(migration: Migration) -> None:
    """A migrated file its own encoding cannot hold (a change put a character outside latin-1 into a
    latin-1 file) is an error, in one line, and is not written: no partial output."""
    for path, encoding in migration.encodings.items():
        result = migration.results.get(path)
        if result is None or not result.changed:
            continue
        try:
            result.migrated.encode(encoding)
        except UnicodeEncodeError as exc:
            before = result.migrated[:exc.start]
            line, col = before.count("\n") + 1, exc.start - (before.rfind("\n") + 1) + 1
            character = result.migrated[exc.start]
            result.error = (f"{result.path}:{line}:{col}: not written: the migration put {character!r} "
                            f"(U+{ord(character):04X}) here, which its encoding {encoding} cannot hold; "
                            "re-encode the file as UTF-8 (coding line included) and run again")
            result.migrated, result.findings = None, []


def _check_output(roots: Iterable[Path], out: Path) -> None:
    resolved = out.resolve()
    for root in roots:
        base = root.resolve()
        if resolved == base or (root.is_dir() and base in resolved.parents):
            raise UsageError(f"{out}: the output would overwrite or sit inside the input {root}; "
                             "choose another directory, or use --in-place to rewrite the input")


def unified_diff(result: FileResult) -> str:
    if not result.changed:
        return ""
    return "".join(alignment.unified_diff(
        result.original.splitlines(keepends=True), result.migrated.splitlines(keepends=True),
        fromfile=f"a/{result.path}", tofile=f"b/{result.path}"))
