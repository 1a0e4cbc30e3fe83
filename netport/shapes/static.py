"""Static mode: interpret the script over shapes, without running it or importing Chainer or torch."""

from __future__ import annotations

import time
from pathlib import Path

from netport.shapes import layers
from netport.shapes.findings import installed_chainer_version
from netport.shapes.interpreter import Interpreter
from netport.shapes.library.chainer import v1_idiom_in_source
from netport.shapes.values import Site
from netport.shapes.report import ShapeReport

CHAINER_V1 = (1, 24, 0)  # the last v1, whose messages a v1 program gets


def check_static(script: str | Path, script_args: list[str] | None = None, overrides: dict | None = None,
                 chainer_version: tuple[int, ...] | None = None) -> ShapeReport:
    """Interpret `script` over shapes. Raises AnalysisError (one line) when it cannot be read or parsed."""
    start = time.perf_counter()
    version = chainer_version or installed_chainer_version() or (7, 8, 1)
    interpreter = Interpreter(Path(script), script_args, overrides, chainer_version=version)
    interpreter.run()
    idiom = None
    if chainer_version is None and version[0] > 1:
        idiom = interpreter.chainer_v1_idiom or _v1_idiom_of_project(interpreter)
    if idiom is not None:
        # a program written for Chainer v1 fails on v1 (it does not run on the installed one at all)
        idiom, site = idiom
        version = CHAINER_V1
        rephrased = [_rephrase(finding, version) for finding in list(interpreter.findings.values())]
        if any(rephrased):
            interpreter.note(f"the program uses Chainer v1 APIs ({idiom}): Chainer {'.'.join(map(str, version))}'s "
                             f"error messages are predicted (--chainer-version to choose another)", site)
    findings = sorted(interpreter.findings.values(), key=lambda f: (f.severity != "error", f.path, f.line, f.col))
    notes = [(str(site), _note_text(api)) for api, site in interpreter.notes.items()]
    report = ShapeReport(str(script), "static", findings, notes, time.perf_counter() - start, version)
    report.checked_calls = interpreter.checked_calls
    return report


def _v1_idiom_of_project(interpreter: Interpreter):
    """The first Chainer-v1-only API in the program's modules or the other files of its directory, from
    their source: the dialect is the whole program's, wherever its v1 APIs are."""
    for path, tree in interpreter.project_trees():
        found = v1_idiom_in_source(tree)
        if found is not None:
            return found[0], Site(path, found[1])
    return None


def _rephrase(finding, version) -> bool:
    """Put a finding's Chainer message in the words of `version`; False if it has no Chainer message."""
    rephrase = getattr(finding, "rephrase", None)
    if rephrase is not None:
        finding.framework_message = rephrase(version)
        return True
    return layers.predict_chainer_message(finding, version)


def _note_text(api: str) -> str:
    if " " in api:
        return api
    return f"`{api}` is not modelled: its result is unknown and not checked"
