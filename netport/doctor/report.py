"""`netport doctor` reports: the findings (check-shapes' Finding record) and, after a run, the training
statistics; rendered as text (editor-clickable first lines, like check-shapes), JSON or SARIF 2.1.0."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from netport import __version__
from netport.doctor.static import STATIC_RULES
from netport.shapes.findings import Finding

RULE_SATURATION = "ND101"
RULE_DEAD_RELU = "ND102"
RULE_GRADIENT_RATIO = "ND103"
RULE_ZERO_GRADIENT = "ND104"
RULE_NONFINITE = "ND105"
RULE_LOSS_FLAT = "ND106"

RUN_RULES = {
    RULE_SATURATION: "most outputs of a sigmoid or tanh layer sit within 1e-3 of its bounds, where its gradient "
                     "vanishes",
    RULE_DEAD_RELU: "ReLU units that output zero for every sample of the run (dead), or pre-activations exactly 0",
    RULE_GRADIENT_RATIO: "the gradient norms of two layers differ by more than 1e4 (vanishing or exploding)",
    RULE_ZERO_GRADIENT: "a parameter whose gradient stayed zero over every step of the run",
    RULE_NONFINITE: "the first NaN or Inf of the run: its layer and step",
    RULE_LOSS_FLAT: "the loss did not decrease over the run",
}
RULES = {**STATIC_RULES, **RUN_RULES}


@dataclass
class DoctorReport:
    script: str
    mode: str  # "static" or "run"
    findings: list[Finding] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (site, text)
    elapsed: float = 0.0
    statistics: dict = field(default_factory=dict)  # run mode: layers, parameters, loss, first_nonfinite
    completed: bool = True  # run mode: the program ran to its end (or to the step limit)

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity in ("warning", "error")]

    def by_rule(self, rule: str) -> list[Finding]:
        return [f for f in self.findings if f.rule == rule]


def _percent(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _number(value) -> str:
    return "-" if value is None else f"{value:.3g}"


def render_text(report: DoctorReport) -> str:
    lines: list[str] = []
    for finding in report.findings:
        lines.append(f"{finding.path}:{finding.line}:{finding.col}: {finding.severity}[{finding.rule}] "
                     f"{finding.message}")
        if finding.layer:
            lines.append(f"  layer: {finding.layer['name']}" + (f" ({finding.layer['kind']})"
                                                                 if finding.layer.get("kind") else ""))
        if finding.context:
            lines.append(f"  when:  {finding.context}")
        if finding.hint:
            lines.append(f"  hint: {finding.hint}")
        lines.append("")
    for site, text in report.notes:
        lines.append(f"{site}: note: {text}")
    if report.mode == "run" and report.statistics:
        lines.extend(_statistics_text(report.statistics))
    warnings = len(report.warnings)
    summary = f"doctor ({report.mode}): {report.script}: {warnings} warning(s), {len(report.notes)} note(s) " \
              f"in {report.elapsed:.2f} s"
    if report.mode == "run":
        steps = report.statistics.get("steps", 0)
        summary += f"; the run {'completed' if report.completed else 'stopped early'} after {steps} step(s)"
    lines.append(summary)
    return "\n".join(lines) + "\n"


def _statistics_text(statistics: dict) -> list[str]:
    lines = []
    activations = statistics.get("activations", [])
    if activations:
        lines.append("activations (over the run):")
        lines.append(f"  {'layer':<34} {'kind':<8} {'calls':>5} {'saturated':>9} {'dead units':>10} "
                     f"{'exact-0 pre-act':>15}")
        for row in activations:
            lines.append(f"  {row['name']:<34} {row['kind']:<8} {row['calls']:>5} {_percent(row.get('saturated')):>9} "
                         f"{_percent(row.get('dead_units')):>10} {_percent(row.get('zero_preactivation')):>15}")
    layers = statistics.get("gradients", [])
    if layers:
        lines.append("gradient norms per layer (mean over the steps; ratio to the largest):")
        for row in layers:
            lines.append(f"  {row['name']:<34} {_number(row['mean_norm']):>10} {_number(row.get('ratio')):>10}")
    loss = statistics.get("loss") or {}
    if loss.get("values"):
        lines.append(f"loss: first {_number(loss['first'])}, last {_number(loss['last'])} "
                     f"({len(loss['values'])} values)")
    if lines:
        lines.append("")
    return lines


def render_json(report: DoctorReport) -> str:
    document = {
        "tool": "netport doctor", "version": __version__, "script": report.script, "mode": report.mode,
        "elapsed_s": round(report.elapsed, 4),
        "findings": [dict(f.to_json(), mode=report.mode) for f in report.findings],
        "notes": [{"site": site, "message": text} for site, text in report.notes],
    }
    if report.mode == "run":
        document["statistics"] = report.statistics
        document["completed"] = report.completed
    return json.dumps(document, indent=2) + "\n"


def render_sarif(report: DoctorReport) -> str:
    results = []
    for finding in report.findings:
        result = {
            "ruleId": finding.rule,
            "level": {"error": "error", "warning": "warning"}.get(finding.severity, "note"),
            "message": {"text": finding.message + (f". Hint: {finding.hint}" if finding.hint else "")},
            "locations": [_location(finding.path, finding.line, finding.col)],
        }
        if finding.layer:
            result["properties"] = {"layer": finding.layer}
        results.append(result)
    for site, text in report.notes:
        path, _, line = site.rpartition(":")
        results.append({"ruleId": "ND000", "level": "note", "message": {"text": text},
                        "locations": [_location(path or site, int(line) if line.isdigit() else 1, 1)]})
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "netport doctor", "version": __version__, "informationUri": "https://example.invalid/netport",
                "rules": [{"id": rule, "shortDescription": {"text": text}} for rule, text in RULES.items()]
                + [{"id": "ND000", "shortDescription": {"text": "a note on the check itself"}}],
            }},
            "results": results,
        }],
    }
    return json.dumps(sarif, indent=2) + "\n"


def _location(path: str, line: int, col: int) -> dict:
    return {"physicalLocation": {"artifactLocation": {"uri": path},
                                 "region": {"startLine": max(1, line), "startColumn": max(1, col)}}}


RENDERERS = {"text": render_text, "json": render_json, "sarif": render_sarif}
