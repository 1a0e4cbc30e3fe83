"""The migration pipeline for one file:

    read -> (Python 2 pre-pass) -> parse -> phases (``registry.phases(target)``: each one LibCST
         traversal by the rule passes that joined it, after its preparations, such as adding imports)
         -> FileResult

Each phase sees the output of the one before; the findings it reports carry positions in its
input, which ``LineMap`` translates back to lines of the file the user gave. The engine knows no
rule: the rule modules of ``chainer/`` and ``torch/`` join their phases when imported.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import pkgutil

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from netport.migrate import safety
from netport.migrate.alignment import LineMap
from netport.migrate.options import MigrationOptions
from netport.migrate.passes import FileContext
from netport.migrate.project import ProjectFacts
from netport.migrate.preparation import Prepared
from netport.migrate.python2 import python2_findings
from netport.migrate.registry import phases
from netport.migrate.report import FileResult, Finding

# The rule modules join their phases when imported: every module of the two rule packages is.
for _package in map(importlib.import_module, ("netport.migrate.chainer", "netport.migrate.torch")):
    for _module in pkgutil.iter_modules(_package.__path__, _package.__name__ + "."):
        importlib.import_module(_module.name)


def migrate_prepared(prepared: Prepared, project: ProjectFacts, options: MigrationOptions) -> FileResult:
    result = FileResult(prepared.path, original=prepared.text, error=prepared.error)
    if prepared.error is not None:
        return result
    python2 = prepared.python2_text is not None
    if python2 and not project.uses_chainer:
        result.migrated = prepared.text  # Python 2 outside a Chainer program is not ours to convert
        return result
    text = prepared.python3_text
    findings = []
    if python2:
        result.python2 = True
        findings.extend(python2_findings(prepared.path, prepared.python2_changes))
    if not project.is_relevant(text):
        result.migrated = text
        result.findings = findings
        return result
    try:
        migrated, pass_findings = run_passes(text, prepared.path, project, options)
    except cst.ParserSyntaxError as exc:
        result.error = f"{prepared.path}:{exc.raw_line}:{exc.raw_column + 1}: LibCST cannot parse this file: " \
                       f"{' '.join(exc.message.split())}"
        return result
    except RecursionError:
        result.error = f"{prepared.path}: too deeply nested to migrate"
        return result
    except Exception as exc:  # a bug in netport must cost one file, not the run: report it in one line
        result.error = f"{prepared.path}: netport internal error ({type(exc).__name__}: " \
                       f"{' '.join(str(exc).split())}); the file was not migrated, please report this"
        return result
    line_map = LineMap(prepared.text, text) if python2 else None
    for raw in pass_findings:
        line = line_map(raw.line) if line_map else raw.line
        findings.append(Finding(prepared.path, line, raw.col, raw.severity, raw.rule, raw.message))
    result.migrated = migrated
    result.findings = sorted(set(findings))
    safety.check_file(result, text)
    return result


def run_passes(text: str, path: str, project: ProjectFacts, options: MigrationOptions) -> tuple[str, list]:
    """Run every pass and the residual sweep; findings come back in lines of ``text``."""
    with _cyclic_gc_paused():
        return _run_phases(text, path, project, options)


@contextlib.contextmanager
def _cyclic_gc_paused():
    """Python's cycle collector walks every live object, and a large file's syntax trees are millions
    of them: paused while a file migrates, it cost a third of the time at 20k lines, more beyond.
    LibCST's trees hold no cycles (refcounting frees them), so nothing piles up meanwhile."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _run_phases(text: str, path: str, project: ProjectFacts, options: MigrationOptions) -> tuple[str, list]:
    module = cst.parse_module(text)
    ctx = FileContext(path, project, options)
    collected = []
    for phase in phases(options.target):
        for prepare in phase.prepare:
            module = prepare(module, ctx)
        before = module.code
        if not phase.applies_to(before, project):
            continue
        ctx.findings = []
        ctx.source = before
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        module = wrapper.visit(phase.transformer(ctx))
        if ctx.findings:
            positions = wrapper.resolve(PositionProvider)  # of the pass's input, whose nodes it saw
            for raw in ctx.findings:
                raw.locate(positions)
        line_map = LineMap(text, before) if before != text else None
        for raw in ctx.findings:
            if line_map is not None:
                raw.line = line_map(raw.line)
            collected.append(raw)
    return module.code, collected
