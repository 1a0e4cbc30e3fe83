"""Static mode: interpret the script over shapes, without running it or importing Chainer or torch."""

from __future__ import annotations

import time
from pathlib import Path

from netport.shapes import layers
from netport.shapes.findings import installed_chainer_version
from netport.shapes.interpreter import Interpreter
from netport.shapes.report import ShapeReport

CHAINER_V1 = (1, 24, 0)  # the last v1, whose messages a v1 program gets


def check_static(script: str | Path, script_args: list[str] | None = None, overrides: dict | None = None,
                 chainer_version: tuple[int, ...] | None = None) -> ShapeReport:
    """Interpret `script` over shapes. Raises AnalysisError (one line) when it cannot be read or parsed."""
    start = time.perf_counter()
    version = chainer_version or installed_chainer_version() or (7, 8, 1)
    interpreter = Interpreter(Path(script), script_args, overrides, chainer_version=version)
    interpreter.run()
    if chainer_version is None and interpreter.chainer_v1_idiom is not None and version[0] > 1:
        # a program written for Chainer v1 fails on v1 (it does not run on the installed one at all)
        idiom, site = interpreter.chainer_v1_idiom
        version = CHAINER_V1
        if any(layers.predict_chainer_message(finding, version) for finding in list(interpreter.findings.values())):
            interpreter.note(f"the program uses Chainer v1 APIs ({idiom}): Chainer {'.'.join(map(str, version))}'s "
                             f"error messages are predicted (--chainer-version to choose another)", site)
    findings = sorted(interpreter.findings.values(), key=lambda f: (f.severity != "error", f.path, f.line, f.col))
    notes = [(str(site), _note_text(api)) for api, site in interpreter.notes.items()]
    report = ShapeReport(str(script), "static", findings, notes, time.perf_counter() - start, version)
    report.checked_calls = interpreter.checked_calls
    return report


def _note_text(api: str) -> str:
    if " " in api:
        return api
    return f"`{api}` is not modelled: its result is unknown and not checked"
