"""netport.doctor: why doesn't it learn?

``diagnose(script)`` reads a Chainer or torch training program without running it and reports the
training-loop mistakes it can prove (ND001-ND005); ``diagnose_run(script)`` runs it a few dozen steps with
hooks and reports what the numbers show: saturated sigmoids, dead ReLUs, vanishing or exploding
gradients, parameters that never get a gradient, the first NaN/Inf, a loss that does not fall
(ND101-ND106). Both return a :class:`DoctorReport`; ``render_text``/``render_json``/``render_sarif``
format it.
"""

from __future__ import annotations

import ast
import time
import warnings
from pathlib import Path

# gradcheck.py imports only the standard library at load; importing its function here also keeps
# `netport.doctor.gradcheck` the function after the submodule of that name is imported
from netport.doctor.gradcheck import gradcheck
from netport.doctor.report import DoctorReport, render_json, render_sarif, render_text
from netport.shapes.interpreter import AnalysisError, cannot_parse

__all__ = ["AnalysisError", "DoctorReport", "diagnose", "diagnose_run", "gradcheck", "parse_script",
           "render_json", "render_sarif", "render_text"]


def parse_script(script: str | Path) -> ast.Module:
    """The syntax tree of `script` (Python 3, or Python 2 made readable); AnalysisError (one line) when it
    cannot be read or parsed."""
    from netport.sources import Python2Error, SourceError, python2_syntax_to_python3, read_source

    path = Path(script)
    if not path.is_file():
        raise AnalysisError(f"{script}: no such file")
    try:
        source, _ = read_source(path)
    except SourceError as exc:
        raise AnalysisError(str(exc)) from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the program's invalid escape sequences are not the reader's business
        try:
            return ast.parse(source, filename=str(script))
        except SyntaxError as exc:
            first_error = exc
        try:
            return ast.parse(python2_syntax_to_python3(source, str(script)), filename=str(script))
        except (Python2Error, SyntaxError):
            raise cannot_parse(str(script), first_error.lineno, first_error.offset, first_error.msg) from None


def diagnose(script: str | Path) -> DoctorReport:
    """The static checks of `script`."""
    from netport.doctor.static import check_tree

    start = time.perf_counter()
    tree = parse_script(script)
    try:
        findings = check_tree(tree, Path(script))
    except RecursionError:
        raise AnalysisError(f"{script}: its expressions are nested too deeply to be checked") from None
    for finding in findings:
        finding.path = str(script)
    return DoctorReport(str(script), "static", findings, elapsed=time.perf_counter() - start)


def diagnose_run(script: str | Path, script_args: list[str] | None = None, python=None, timeout: float = 120.0,
                 max_steps: int | None = None) -> DoctorReport:
    """Run `script` a few dozen optimizer steps with hooks (in `python`, default this interpreter) and report
    its training statistics."""
    from netport.doctor.runtime import run_doctor

    return run_doctor(Path(script), script_args or [], python=python, timeout=timeout, max_steps=max_steps)
