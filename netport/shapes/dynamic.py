"""Dynamic mode: run the program tiny, on CPU and synthetic data, with layer hooks; report the first
shape error with the same fields as static mode plus the layers executed before it."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from netport.shapes.findings import RULE_MISMATCH, RULE_RESHAPE, Finding, mismatch_message, parse_invalid_type
from netport.shapes.interpreter import AnalysisError, OptionError, cannot_parse
from netport.shapes.report import ShapeReport
from netport.shapes.static import check_static

RUNNER = Path(__file__).with_name("_dynamic_runner.py")


def _display(path: str) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative


def run_dynamic(script: Path, script_args: list[str], overrides: dict, python=None, timeout: float = 120.0):
    if not script.is_file():
        raise AnalysisError(f"{script}: no such file")
    _check_parses(script)
    start = time.perf_counter()
    if python is not None and os.sep in str(python):
        python = os.path.abspath(python)  # the run's working directory is a scratch one; keep venv links
    with tempfile.TemporaryDirectory(prefix="netport-shapes-") as work:
        config = Path(work, "config.json")
        result_path = Path(work, "result.json")
        config.write_text(json.dumps({"script": str(script.resolve()), "args": script_args,
                                      "overrides": overrides, "result": str(result_path)}))
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", CUDA_VISIBLE_DEVICES="")
        # the program's own outputs (models, logs) land in the scratch directory, not next to it
        try:
            completed = subprocess.run([str(python or sys.executable), str(RUNNER), str(config)], cwd=work,
                                       env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AnalysisError(f"{_display(str(script))}: the tiny run took longer than {timeout:g} s") from None
        except OSError as exc:
            raise AnalysisError(f"cannot run {python}: {exc.strerror}") from None
        if not result_path.exists():
            tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no output"]
            raise AnalysisError(f"{_display(str(script))}: the tiny run failed before it started: {tail[0]}")
        result = json.loads(result_path.read_text())
    report = ShapeReport(_display(str(script)), "dynamic", elapsed=time.perf_counter() - start)
    report.executed_layers = [_layer_row(row) for row in result.get("executed", [])]
    report.output_tail = completed.stdout[-2000:]
    framework = result["frameworks"].get("chainer") or result["frameworks"].get("torch")
    if result["frameworks"].get("chainer"):
        report.chainer_version = tuple(int(p) for p in result["frameworks"]["chainer"].split(".")[:3] if p.isdigit())
    status = result["status"]
    if status == "syntax_error":
        syntax = result["syntax"]  # a module the script imports
        raise cannot_parse(_display(syntax["file"]), syntax["line"], syntax["col"], syntax["msg"])
    if status == "usage_error":
        raise OptionError.unknown(result["usage"]["name"], result["usage"]["options"])
    if status == "shape_error":
        report.findings.append(_reshape_finding(result, report) if result.get("shape_kind") == "reshape"
                               else _finding(result, report))
        report.completed = False
        _add_static_analysis(report.findings[-1], script, script_args, overrides)
        report.elapsed = time.perf_counter() - start
    elif status == "error":
        frame = (result.get("frames") or [{"file": str(script), "line": 1}])[-1]
        report.notes.append((f"{_display(frame['file'])}:{frame['line']}",
                             f"the tiny run stopped with {result['exception']}: {result['message'][:300]} "
                             f"(not a shape error; framework {framework})"))
        report.completed = False
    elif status == "exited" and result.get("exit_code"):
        report.notes.append((_display(str(script)), f"the program exited with status {result['exit_code']}"))
    return report


def _add_static_analysis(finding: Finding, script: Path, script_args: list[str], overrides: dict) -> None:
    """What the run cannot see (where the offending array came from, which element of the units list
    built the layer), taken from the static analysis of the same script, arguments and overrides when it
    proves the same finding: same file and line, same rule, same expected and actual values. When it
    does not, the dynamic finding stays as it is."""
    try:
        static = check_static(script, script_args, overrides)
    except Exception:  # noqa: BLE001 -- the run's finding stands on its own; static mode adds to it or nothing
        return
    proven = next((other for other in static.findings if _same_finding(finding, other)), None)
    if proven is not None:
        merge_static(finding, proven)


def _same_place(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    path_a, _, line_a = a.rpartition(":")
    path_b, _, line_b = b.rpartition(":")
    return line_a == line_b and os.path.realpath(path_a) == os.path.realpath(path_b)


def _values(finding: Finding) -> tuple:
    expected = (finding.expected or {}).get("value")
    actual = (finding.actual or {}).get("value")
    if finding.rule == RULE_RESHAPE and isinstance(expected, str):
        # the run reports the target shape ("-1,500"); static mode the number of elements it fixes (500)
        try:
            dims = [int(d) for d in expected.split(",") if d.strip()]
        except ValueError:
            return expected, actual
        expected = 1
        for dim in dims:
            expected *= dim if dim != -1 else 1
    return expected, actual


def _same_finding(dynamic: Finding, static: Finding) -> bool:
    return (dynamic.rule == static.rule and _same_place(f"{dynamic.path}:{dynamic.line}", f"{static.path}:{static.line}")
            and None not in _values(dynamic) and _values(dynamic) == _values(static))


def merge_static(finding: Finding, static: Finding) -> None:
    """Fill the fields the run could not know from `static`, a static finding of the same site and values;
    `finding.from_static` names them and the report says they come from the static analysis."""
    filled = []
    if static.value_flow and not finding.value_flow:
        finding.value_flow = [dict(step) for step in static.value_flow]
        filled.append("value_flow")
    if static.layer and static.layer.get("built_from"):
        if finding.layer is None:
            finding.layer = dict(static.layer, built_from=list(static.layer["built_from"]))
            filled.append("layer")
        elif not finding.layer.get("built_from"):
            finding.layer["built_at"] = finding.layer.get("built_at") or static.layer.get("built_at")
            finding.layer["built_from"] = list(static.layer["built_from"])
            filled.append("layer.built_from")
        elif _same_place(finding.layer.get("built_at"), static.layer.get("built_at")) \
                and len(finding.layer["built_from"]) == 1:
            # the run saw the layer's own construction line; static mode also knows the call that built it
            # (`from net.AutoEncoder(...) at train.py:72 with i=1`: which element of the units list), and the
            # turn of a loop that built it in place (`L.Linear(300, 300) at net.py:13 with i=1`)
            first, *callers = static.layer["built_from"]
            added = ([first] if " with " in first.rpartition(" at ")[2] else []) + callers
            if added:
                finding.layer["built_from"] = finding.layer["built_from"] + added
                filled.append("layer.built_from[1:]")
    if static.hint and not finding.hint:
        finding.hint = static.hint
        filled.append("hint")
    if static.called_from and not finding.called_from:
        finding.called_from = [dict(step) for step in static.called_from]
        filled.append("called_from")
    finding.from_static = filled


def _check_parses(script: Path) -> None:
    """The script must be Python 3 to run; say so at once, not after starting the framework."""
    from netport.sources import Python2Error, SourceError, python2_syntax_to_python3, read_source

    try:
        text, _ = read_source(script)
    except SourceError as exc:
        raise AnalysisError(str(exc)) from None
    try:
        ast.parse(text, filename=str(script))
    except SyntaxError as exc:
        message = exc.msg
        try:
            python2_syntax_to_python3(text, str(script))
            message += " (Python 2 source: --run runs programs on Python 3; static mode reads Python 2)"
        except Python2Error:
            pass
        raise cannot_parse(_display(str(script)), exc.lineno, exc.offset, message) from None


def _shape_text(shape) -> str:
    if shape is None:
        return "?"
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _layer_row(row: dict) -> dict:
    return {"name": row["name"], "kind": row["kind"], "in_shape": _shape_text(row.get("in_shape")),
            "out_shape": _shape_text(row.get("out_shape")), "calls": row.get("calls", 1)}


def _finding(result: dict, report: ShapeReport) -> Finding:
    message = result["message"]
    frames = result.get("frames") or []
    where = frames[-1] if frames else {"file": report.script, "line": 1, "code": ""}
    parsed = parse_invalid_type(message)
    layer = result.get("failing_layer") or {}
    weight = layer.get("weight")
    in_shape = layer.get("in_shape")
    if parsed is not None:
        actual, expected = parsed.actual, parsed.expected
    elif weight and in_shape:
        actual, expected = in_shape[-1], weight[-1] if len(weight) == 2 else weight[1]
    else:
        actual = expected = None
    built = layer.get("built")
    name = layer.get("name", "a layer")
    out_size = weight[0] if weight else None
    finding = Finding(
        rule=RULE_MISMATCH, severity="error", path=_display(where["file"]), line=where["line"],
        col=where.get("col", 1),
        message=mismatch_message(name, f"{layer.get('kind', '?')}({expected} -> {out_size})", actual, expected)
        if actual is not None else f"shape error in {name}: {message.splitlines()[0]}",
        expected={"expr": f"in_size == {expected}", "value": expected},
        actual={"expr": f"x.shape == {_shape_text(in_shape)}", "value": actual},
        layer={"name": name, "kind": layer.get("kind"), "in": expected, "out": out_size,
               "built_at": f"{_display(built['file'])}:{built['line']}" if built else None,
               "built_from": [f"{built['code']} at {_display(built['file'])}:{built['line']}"] if built else []},
        called_from=[{"file": _display(f["file"]), "line": f["line"], "desc": f["code"]} for f in frames[:-1]],
        framework_message=" ".join(message.split()) if parsed is None
        else f"InvalidType: {' '.join(message.split())}",
        mode="dynamic",
        executed_layers=report.executed_layers,
        hint=_hint(layer, actual, expected, result),
    )
    if parsed is not None:
        finding.dialect = parsed.dialect
    return finding


_RESHAPE_MESSAGES = [  # (framework, pattern giving the target shape and the input's size)
    ("torch", re.compile(r"shape '\[(?P<target>[-\d, ]*)\]' is invalid for input of size (?P<size>\d+)")),
    ("numpy", re.compile(r"cannot reshape array of size (?P<size>\d+) into shape \((?P<target>[-\d, ]*)\)")),
    ("chainer", re.compile(r"Expect: prod\(x\.shape\) == prod\(\((?P<target>[-\d, ]*?),?\)\)\s*"
                           r"Actual: (?P<size>\d+) != \d+")),
]


def _reshape_finding(result: dict, report: ShapeReport) -> Finding:
    """A reshape/view the run failed at (NPS003): the size and the target shape from the message."""
    message = " ".join(result["message"].split())
    frames = result.get("frames") or []
    where = frames[-1] if frames else {"file": report.script, "line": 1, "code": ""}
    size = target = None
    for _, pattern in _RESHAPE_MESSAGES:
        found = pattern.search(message)
        if found:
            size, target = int(found["size"]), found["target"].replace(" ", "")
            break
    wanted = f"({target})" if target is not None else "?"
    return Finding(
        rule=RULE_RESHAPE, severity="error", path=_display(where["file"]), line=where["line"],
        col=where.get("col", 1),
        message=f"reshape of an array of {size if size is not None else '?'} elements to {wanted} fails",
        expected={"expr": f"prod(x.shape) fits {wanted}", "value": target},
        actual={"expr": f"prod(x.shape) == {size}", "value": size},
        called_from=[{"file": _display(f["file"]), "line": f["line"], "desc": f["code"]} for f in frames[:-1]],
        framework_message=(f"InvalidType: {message}" if result.get("exception", "").endswith("InvalidType")
                           else f"{result.get('exception', '').rsplit('.', 1)[-1]}: {message}"),
        mode="dynamic", executed_layers=report.executed_layers,
    )


def _hint(layer: dict, actual, expected, result) -> str | None:
    parts = layer.get("parts") or []
    index = next((int(p) for p in parts if p.isdigit()), None)
    raw_widths = {784, 28 * 28}
    if actual in raw_widths and index is not None and index > 0:
        return (f"layer {index + 1} of the stack is fed the raw {actual}-wide input; feed it the codes of layer "
                f"{index} ({expected} wide)")
    if actual in raw_widths:
        return f"the layer is fed the raw {actual}-wide input but was built for {expected}"
    return None
