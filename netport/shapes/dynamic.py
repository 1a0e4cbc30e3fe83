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

from netport.shapes.findings import (
    RULE_FUNCTION, RULE_LOSS, RULE_MISMATCH, RULE_RESHAPE, Finding, mismatch_message, parse_invalid_type,
)
from netport.shapes.interpreter import AnalysisError, OptionError, cannot_parse
from netport.shapes.report import ShapeReport
from netport.shapes.static import check_static

RUNNER = Path(__file__).with_name("_dynamic_runner.py")


def display_path(path: str) -> str:
    """``path`` as a report shows it: relative to the working directory where it lies below it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative


def run_runner(runner: Path, script: Path, config: dict, python, timeout: float, what: str):
    """Run ``runner`` (a runner script of netport's) on ``script`` in a scratch directory, with ``config`` plus the
    script and the result file as its config.json: (the result it wrote, the finished process). The program's own
    outputs (models, logs) land in the scratch directory, not next to it. ``what`` names the run in errors."""
    if python is not None and os.sep in str(python):
        python = os.path.abspath(python)  # the run's working directory is a scratch one; keep venv links
    with tempfile.TemporaryDirectory(prefix="netport-run-") as work:
        config_path, result_path = Path(work, "config.json"), Path(work, "result.json")
        config_path.write_text(json.dumps({"script": str(script.resolve()), "result": str(result_path), **config}))
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", CUDA_VISIBLE_DEVICES="")
        try:
            completed = subprocess.run([str(python or sys.executable), str(runner), str(config_path)], cwd=work,
                                       env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AnalysisError(f"{display_path(str(script))}: {what} took longer than {timeout:g} s") from None
        except OSError as exc:
            raise AnalysisError(f"cannot run {python}: {exc.strerror}") from None
        if not result_path.exists():
            tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no output"]
            raise AnalysisError(f"{display_path(str(script))}: {what} failed before it started: {tail[0]}")
        return json.loads(result_path.read_text()), completed


def run_dynamic(script: Path, script_args: list[str], overrides: dict, python=None, timeout: float = 120.0):
    if not script.is_file():
        raise AnalysisError(f"{script}: no such file")
    check_parses(script)
    start = time.perf_counter()
    result, completed = run_runner(RUNNER, script, {"args": script_args, "overrides": overrides}, python, timeout,
                                   "the tiny run")
    report = ShapeReport(display_path(str(script)), "dynamic", elapsed=time.perf_counter() - start)
    report.executed_layers = [_layer_row(row) for row in result.get("executed", [])]
    report.output_tail = completed.stdout[-2000:]
    framework = result["frameworks"].get("chainer") or result["frameworks"].get("torch")
    if result["frameworks"].get("chainer"):
        report.chainer_version = tuple(int(p) for p in result["frameworks"]["chainer"].split(".")[:3] if p.isdigit())
    status = result["status"]
    if status == "syntax_error":
        syntax = result["syntax"]  # a module the script imports
        raise cannot_parse(display_path(syntax["file"]), syntax["line"], syntax["col"], syntax["msg"])
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
        report.notes.append((f"{display_path(frame['file'])}:{frame['line']}",
                             f"the tiny run stopped with {result['exception']}: {result['message'][:300]} "
                             f"(not a shape error; framework {framework})"))
        report.completed = False
    elif status == "exited" and result.get("exit_code"):
        report.notes.append((display_path(str(script)), f"the program exited with status {result['exit_code']}"))
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
    if dynamic.rule != static.rule or not _same_place(f"{dynamic.path}:{dynamic.line}", f"{static.path}:{static.line}"):
        return False
    if dynamic.rule in (RULE_LOSS, RULE_FUNCTION):
        # a message may give one number or none ("Target 9 is out of bounds."): those it gives must agree
        return all(ran is None or ran == proven for ran, proven in zip(_values(dynamic), _values(static)))
    return None not in _values(dynamic) and _values(dynamic) == _values(static)


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


def check_parses(script: Path) -> None:
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
        raise cannot_parse(display_path(str(script)), exc.lineno, exc.offset, message) from None


def _shape_text(shape) -> str:
    if shape is None:
        return "?"
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _layer_row(row: dict) -> dict:
    return {"name": row["name"], "kind": row["kind"], "in_shape": _shape_text(row.get("in_shape")),
            "out_shape": _shape_text(row.get("out_shape")), "calls": row.get("calls", 1)}


_NUMBERS = [  # a layer's expected and actual input size in torch's and Chainer's other messages
    (re.compile(r"Expected (\d+), got (\d+)"), "expected", "actual"),
    (re.compile(r"got (\d+),? expected (\d+)"), "actual", "expected"),
    (re.compile(r"(\d+) != (\d+)"), "actual", "expected"),
]


def _raised_by(result: dict) -> str:
    module = result.get("exception", "")
    entry = (result.get("entry") or {}).get("file", "")
    if module.startswith("chainer") or f"{os.sep}chainer{os.sep}" in entry:
        return "Chainer"
    if module.startswith("torch") or f"{os.sep}torch{os.sep}" in entry:
        return "torch"
    return "numpy"


def _framework_message(result: dict) -> str:
    name = result.get("exception", "").rsplit(".", 1)[-1] or "Error"
    return f"{name}: {' '.join(result['message'].split())}"


def _finding(result: dict, report: ShapeReport) -> Finding:
    message = result["message"]
    frames = result.get("frames") or []
    where = frames[-1] if frames else {"file": report.script, "line": 1, "code": ""}
    parsed = parse_invalid_type(message)
    layer = result.get("failing_layer") or {}
    if not layer and parsed is None:
        return _function_finding(result, report)
    weight = layer.get("weight")
    sizes = layer.get("sizes") or [None, None]
    in_shape = layer.get("in_shape")
    actual = expected = None
    if parsed is not None:
        actual, expected = parsed.actual, parsed.expected
    else:
        for pattern, first, _ in _NUMBERS:
            found = pattern.search(message)
            if found:
                numbers = {first: int(found.group(1)), "other": int(found.group(2))}
                actual = numbers.get("actual", numbers["other"])
                expected = numbers.get("expected", numbers["other"])
                break
        else:
            if weight and in_shape and len(weight) == 2:
                actual, expected = in_shape[-1], weight[-1]
    built = layer.get("built")
    name = layer.get("name", "a layer")
    out_size = sizes[1] if sizes[1] is not None else (weight[0] if weight else None)
    in_size = sizes[0] if sizes[0] is not None else expected
    flat = " ".join(message.split())
    finding = Finding(
        rule=RULE_MISMATCH, severity="error", path=display_path(where["file"]), line=where["line"],
        col=where.get("col", 1),
        message=mismatch_message(name, f"{layer.get('kind', '?')}({in_size} -> {out_size})", actual, expected)
        if actual is not None else f"shape error in {name}: {flat[:200]}",
        expected={"expr": f"in_size == {expected}", "value": expected} if expected is not None else None,
        actual={"expr": f"x.shape == {_shape_text(in_shape)}", "value": actual}
        if in_shape is not None or actual is not None else None,
        layer={"name": name, "kind": layer.get("kind"), "in": in_size, "out": out_size,
               "built_at": f"{display_path(built['file'])}:{built['line']}" if built else None,
               "built_from": [f"{built['code']} at {display_path(built['file'])}:{built['line']}"] if built else []},
        called_from=[{"file": display_path(f["file"]), "line": f["line"], "desc": f["code"]} for f in frames[:-1]],
        framework_message=f"InvalidType: {flat}" if parsed is not None else _framework_message(result),
        raised_by=_raised_by(result),
        mode="dynamic",
        executed_layers=report.executed_layers,
        hint=_hint(layer, actual, expected, result),
    )
    if parsed is not None:
        finding.dialect = parsed.dialect
    return finding


_SHAPE = r"\(([\d, ]*)\)"
_TORCH_SIZE = r"\(torch\.Size\(\[([\d, ]*)\]\)\)"
# (pattern, the groups' roles): the prediction and the target (or the two inputs) of a function's message
_FUNCTION_MESSAGES = [
    (re.compile(r"Actual: " + _SHAPE + r" != " + _SHAPE), ("actual", "expected")),
    (re.compile(r"Using a target size " + _TORCH_SIZE + r" that is different to the input size " + _TORCH_SIZE),
     ("expected", "actual")),
    (re.compile(r"Target size " + _TORCH_SIZE + r" must be the same as input size " + _TORCH_SIZE),
     ("expected", "actual")),
    (re.compile(r"lhs\.shape = " + _SHAPE + r" rhs\.shape = " + _SHAPE), ("first", "second")),
    (re.compile(r"broadcast together with shapes " + _SHAPE + " " + _SHAPE), ("first", "second")),
    (re.compile(r"arg 0 with shape " + _SHAPE + r" and arg 1 with shape " + _SHAPE), ("first", "second")),
]
_FUNCTION_NUMBERS = [
    (re.compile(r"size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\)"), ("actual", "expected")),
    (re.compile(r"Expected input batch_size \((\d+)\) to match target batch_size \((\d+)\)"),
     ("actual", "expected")),
    (re.compile(r"Actual: (\d+) != (\d+)"), ("actual", "expected")),
    (re.compile(r"index \d+ is out of bounds for axis \d+ with size (\d+)"), ("actual",)),  # too few classes
]
_LOSS_WORDS = ("loss", "error", "entropy", "nll", "accuracy", "divergence", "hinge", "classifier")


def _is_loss_name(name: str) -> bool:
    return any(word in name.lower() for word in _LOSS_WORDS)


def _function_name(result: dict) -> str:
    found = re.search(r"Invalid operation is performed in: (\w\w+)", result["message"])
    if found:
        return found.group(1)
    entry = result.get("entry") or {}
    inner = [name for name in entry.get("inner", []) if _is_loss_name(name)]
    if inner:
        return inner[-1]  # the loss a Trainer or a Classifier called
    name = entry.get("function", "")
    return name if name and not name.startswith("_") and name != "forward" else "a function"


def _function_finding(result: dict, report: ShapeReport) -> Finding:
    """A shape error raised by a function, not a layer: a loss comparing a prediction with a target of
    another shape or class count (NPS004), or arrays that do not fit together (NPS005)."""
    flat = " ".join(result["message"].split())
    frames = result.get("frames") or []
    where = frames[-1] if frames else {"file": report.script, "line": 1, "code": ""}
    name = _function_name(result)
    is_loss = _is_loss_name(name)
    shapes, actual, expected = {}, None, None
    for pattern, roles in _FUNCTION_MESSAGES:
        found = pattern.search(flat)
        if found:
            shapes = {role: tuple(int(d) for d in group.replace(" ", "").split(",") if d)
                      for role, group in zip(roles, found.groups())}
            break
    if "actual" in shapes:  # the first axis where they differ
        a, b = shapes["actual"], shapes["expected"]
        axis = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), None)
        actual, expected = (a[axis], b[axis]) if axis is not None else (len(a), len(b))
    elif not shapes:
        for pattern, roles in _FUNCTION_NUMBERS:
            found = pattern.search(flat)
            if found:
                numbers = dict(zip(roles, (int(g) for g in found.groups())))
                actual, expected = numbers.get("actual"), numbers.get("expected")
                break
    described = [_shape_text(shape) for shape in shapes.values()]
    label = re.search(r"(?:index|Target) (\d+) is out of bounds", flat)
    if label is not None:  # a class label the prediction has no column for
        return _finding_of(result, report, RULE_LOSS, where, frames,
                           f"{name} is given the class label {label.group(1)}, past the prediction's "
                           f"{actual if actual is not None else ''} classes".replace("  ", " "),
                           None, {"expr": f"y.shape[1] == {actual}", "value": actual} if actual is not None else None)
    text = (f"{name} is given arrays of shapes {' and '.join(described)}, which do not fit" if described else
            f"{name} is given {actual} where {expected} is expected" if None not in (actual, expected) else
            f"{name} fails on its inputs' shapes or sizes: {flat[:160]}")
    return _finding_of(
        result, report, RULE_LOSS if is_loss else RULE_FUNCTION, where, frames, text,
        {"expr": (f"y.shape == t.shape == {_shape_text(shapes['expected'])}" if "expected" in shapes
                  else f"{expected}"), "value": expected} if expected is not None else None,
        {"expr": (f"y.shape == {_shape_text(shapes['actual'])}" if "actual" in shapes else f"{actual}"),
         "value": actual} if actual is not None else None)


def _finding_of(result, report, rule, where, frames, message, expected, actual) -> Finding:
    return Finding(
        rule=rule, severity="error", path=display_path(where["file"]), line=where["line"], col=where.get("col", 1),
        message=message, expected=expected, actual=actual,
        called_from=[{"file": display_path(f["file"]), "line": f["line"], "desc": f["code"]} for f in frames[:-1]],
        framework_message=_framework_message(result), raised_by=_raised_by(result), mode="dynamic",
        executed_layers=report.executed_layers,
    )


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
        rule=RULE_RESHAPE, severity="error", path=display_path(where["file"]), line=where["line"],
        col=where.get("col", 1),
        message=f"reshape of an array of {size if size is not None else '?'} elements to {wanted} fails",
        expected={"expr": f"prod(x.shape) fits {wanted}", "value": target},
        actual={"expr": f"prod(x.shape) == {size}", "value": size},
        called_from=[{"file": display_path(f["file"]), "line": f["line"], "desc": f["code"]} for f in frames[:-1]],
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
