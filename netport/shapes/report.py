"""check-shapes reports: what a check found (ShapeReport), and its text (editor-clickable first lines),
JSON and SARIF 2.1.0 renderings."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from netport import __version__
from netport.shapes.findings import (
    RULE_FUNCTION, RULE_LAZY_BINDING, RULE_LOSS, RULE_MISMATCH, RULE_RESHAPE, Finding,
)


@dataclass
class ShapeReport:
    script: str
    mode: str
    findings: list[Finding] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (site, text)
    elapsed: float = 0.0
    chainer_version: tuple | None = None
    checked_calls: int = 0  # static mode: layer calls whose input shape was known and checked
    executed_layers: list = field(default_factory=list)  # dynamic mode
    completed: bool = True  # dynamic mode: the tiny run finished
    output_tail: str = ""

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]


RULE_TEXT = {
    RULE_MISMATCH: "a layer is fed an input whose width (or channel count) differs from what it was built for",
    RULE_RESHAPE: "a reshape to a hard-coded shape whose size differs from the array's (the last, shorter batch)",
    RULE_LAZY_BINDING: "a lazy layer binds its input size on its first call to a value the layer stack does not imply",
    RULE_LOSS: "a loss or metric compares a prediction and a target that do not fit (their shapes, or the number of "
               "classes)",
    RULE_FUNCTION: "a function is given arrays whose shapes do not fit together",
}


def _version_text(version) -> str:
    return ".".join(map(str, version)) if version else "?"


_STATIC = " (static analysis)"


def _first_static_line(static: set, count: int) -> int:
    """The index of the first `layer.built_from` line the static analysis gave (`count` when none did)."""
    if "layer" in static or "layer.built_from" in static:
        return 0
    for entry in static:
        if entry.startswith("layer.built_from[") and entry.endswith(":]"):
            return int(entry[len("layer.built_from["):-2])
    return count


def render_text(report) -> str:
    lines: list[str] = []
    for finding in report.findings:
        lines.append(f"{finding.path}:{finding.line}:{finding.col}: {finding.severity}[{finding.rule}] "
                     f"{finding.message}")
        # a field a run could not fill is left out, never printed as None
        if finding.expected and finding.expected.get("expr"):
            lines.append(f"  expected: {finding.expected['expr']}")
        if finding.actual and finding.actual.get("expr"):
            value = finding.actual.get("value")
            unit = " features" if "shape[1:]" in str((finding.expected or {}).get("expr", "")) else ""
            lines.append(f"  actual:   {finding.actual['expr']}" + (f"  ({value}{unit})" if value is not None else ""))
        static = set(finding.from_static)  # dynamic mode: fields the static analysis filled in
        if finding.layer:
            built = [line for line in finding.layer.get("built_from") or [finding.layer.get("built_at")] if line] \
                or ["an unknown site"]
            first_static = _first_static_line(static, len(built))
            built = [line + (_STATIC if index >= first_static else "")
                     for index, line in enumerate(built)]
            lines.append(f"  layer:    {finding.layer['name']}, built by {built[0]}")
            lines.extend(f"            {line}" for line in built[1:])
        if finding.value_flow:
            what = "prediction" if finding.rule == RULE_LOSS else "input"
            lines.append(f"  value flow of the {what}{_STATIC if 'value_flow' in static else ''}:")
            lines.extend(f"            {step['file']}:{step['line']}: {step['desc']}" for step in finding.value_flow)
        if finding.called_from:
            lines.append(f"  called from{_STATIC if 'called_from' in static else ''}:")
            lines.extend(f"            {step['file']}:{step['line']}: {step['desc']}" for step in finding.called_from)
        if finding.framework_message:
            who = finding.raised_by or ("Chainer" if finding.framework_message.startswith("InvalidType") else
                                        "numpy" if finding.framework_message.startswith("ValueError") else "torch")
            if who == "Chainer":
                who += " " + _version_text(report.chainer_version)
            verb = "raised" if finding.mode == "dynamic" else "would raise"
            lines.append(f"  {who} {verb}: {finding.framework_message}")
        if finding.dialect:
            lines.append(f"  dialect:  {finding.dialect} (the Expect: expression of that Chainer version range)")
        if finding.context:
            lines.append(f"  when:     {finding.context}")
        if finding.executed_layers:
            lines.append("  layers executed before the failure (dynamic run):")
            for call in finding.executed_layers[-12:]:
                lines.append(f"            {call['name']:<28} {call['kind']:<14} in {call['in_shape']:<14} "
                             f"out {call['out_shape']:<12} x{call['calls']}")
        if finding.hint:
            lines.append(f"  hint{_STATIC if 'hint' in static else ''}: {finding.hint}")
        lines.append("")
    for site, text in report.notes:
        lines.append(f"{site}: note: {text}")
    errors = sum(1 for f in report.findings if f.severity == "error")
    warnings = sum(1 for f in report.findings if f.severity == "warning")
    summary = (f"check-shapes ({report.mode}): {report.script}: {errors} error(s), {warnings} warning(s), "
               f"{len(report.notes)} note(s) in {report.elapsed:.2f} s")
    if report.mode == "static":
        summary += f"; {report.checked_calls} layer call(s) checked"
    if report.mode == "dynamic" and not report.findings:
        summary += f"; the tiny run {'completed' if report.completed else 'stopped early'}" \
                   f" with {len(report.executed_layers)} layer calls recorded"
    lines.append(summary)
    return "\n".join(lines) + "\n"


def render_reports(reports: list, format: str) -> str:
    """The reports of the scripts of a directory: the text reports one after another with a total line,
    one JSON document holding each report's, or one SARIF run holding all their results."""
    if format == "text":
        errors = sum(len(report.errors) for report in reports)
        body = "\n".join(render_text(report) for report in reports)
        return body + f"check-shapes: {len(reports)} script(s) checked, {errors} error(s) in all\n"
    if format == "json":
        documents = [json.loads(render_json(report)) for report in reports]
        return json.dumps({"tool": "netport check-shapes", "version": __version__, "reports": documents},
                          indent=2) + "\n"
    runs = [json.loads(render_sarif(report))["runs"][0] for report in reports]
    merged = json.loads(render_sarif(ShapeReport("", "static")))
    merged["runs"][0]["results"] = [result for run in runs for result in run["results"]]
    return json.dumps(merged, indent=2) + "\n"


def render_json(report) -> str:
    document = {
        "tool": "netport check-shapes", "version": __version__, "script": report.script, "mode": report.mode,
        "chainer_version": _version_text(report.chainer_version), "elapsed_s": round(report.elapsed, 4),
        "findings": [dict(f.to_json(), mode=report.mode) for f in report.findings],
        "notes": [{"site": site, "message": text} for site, text in report.notes],
    }
    if report.mode == "dynamic":
        document["executed_layers"] = report.executed_layers
        document["completed"] = report.completed
    return json.dumps(document, indent=2) + "\n"


def render_sarif(report) -> str:
    results = []
    for finding in report.findings:
        text = finding.message + (f". Hint: {finding.hint}" if finding.hint else "")
        result = {
            "ruleId": finding.rule,
            "level": {"error": "error", "warning": "warning"}.get(finding.severity, "note"),
            "message": {"text": text},
            "locations": [_location(finding.path, finding.line, finding.col)],
            "properties": {k: v for k, v in finding.to_json().items()
                           if k in ("expected", "actual", "layer", "framework_message", "dialect", "context",
                                    "from_static")},
        }
        related = [_location(step["file"], step["line"], 1, step["desc"], index)
                   for index, step in enumerate(finding.value_flow)]
        if related:
            result["relatedLocations"] = related
        results.append(result)
    for site, text in report.notes:
        path, _, line = site.rpartition(":")
        results.append({"ruleId": "NPS000", "level": "note", "message": {"text": text},
                        "locations": [_location(path, int(line) if line.isdigit() else 1, 1)]})
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "netport check-shapes", "version": __version__,
                "informationUri": "https://example.invalid/netport",
                "rules": [{"id": rule, "shortDescription": {"text": text}} for rule, text in RULE_TEXT.items()]
                + [{"id": "NPS000", "shortDescription": {"text": "an API the checker does not model"}}],
            }},
            "results": results,
        }],
    }
    return json.dumps(sarif, indent=2) + "\n"


def _location(path, line, col, message=None, index=None) -> dict:
    location = {"physicalLocation": {"artifactLocation": {"uri": path},
                                     "region": {"startLine": max(1, line), "startColumn": max(1, col)}}}
    if message is not None:
        location["message"] = {"text": message}
        location["id"] = index
    return location
