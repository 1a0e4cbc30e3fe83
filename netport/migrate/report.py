"""What a migration found: one finding per change or problem, and the run's summary."""

from __future__ import annotations

import enum
import json
from dataclasses import asdict, dataclass, field


class Severity(str, enum.Enum):
    INFO = "INFO"  # a change that was made
    WARNING = "WARNING"  # a change that was made but deserves a look
    ERROR = "ERROR"  # not converted: manual work remains (the code carries a TODO marker)


@dataclass(frozen=True, order=True)
class Finding:
    path: str
    line: int
    col: int
    severity: Severity
    rule: str
    message: str

    def format(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.severity.value} {self.rule} {self.message}"


@dataclass
class FileResult:
    """The outcome for one input file. ``migrated`` is None when the file could not be read or parsed."""

    path: str
    original: str | None = None
    migrated: str | None = None
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None  # one line: why the file was not processed
    python2: bool = False

    @property
    def changed(self) -> bool:
        return self.migrated is not None and self.migrated != self.original

    @property
    def needs_manual_work(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self.findings)


@dataclass
class Report:
    files: list[FileResult]

    @property
    def findings(self) -> list[Finding]:
        return sorted(f for result in self.files for f in result.findings)

    def summary(self) -> dict[str, int]:
        findings = self.findings
        return {
            "files": len(self.files),
            "changed": sum(r.changed for r in self.files),
            "changes": sum(f.severity is not Severity.ERROR for f in findings),
            "warnings": sum(f.severity is Severity.WARNING for f in findings),
            "errors": sum(f.severity is Severity.ERROR for f in findings),
            "unreadable": sum(r.error is not None for r in self.files),
        }

    @property
    def exit_code(self) -> int:
        """0 all converted, 1 manual work remains, 2 some input could not be read or parsed."""
        if any(r.error for r in self.files):
            return 2
        return 1 if any(r.needs_manual_work for r in self.files) else 0

    def summary_line(self) -> str:
        s = self.summary()
        line = (f"netport: {s['files']} file(s), {s['changed']} changed, {s['changes']} change(s) "
                f"({s['warnings']} to review), {s['errors']} error(s) needing manual work")
        if s["unreadable"]:
            line += f", {s['unreadable']} file(s) not processed"
        return line

    def rule_counts(self) -> str:
        counts: dict[str, int] = {}
        for finding in self.findings:
            counts[finding.rule] = counts.get(finding.rule, 0) + 1
        return ", ".join(f"{rule} x{n}" for rule, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def to_text(self) -> str:
        lines = [r.error for r in self.files if r.error]
        lines += [f.format() for f in self.findings]
        if self.findings:
            lines.append(f"by rule: {self.rule_counts()}")
        lines.append(self.summary_line())
        return "\n".join(lines) + "\n"

    def to_json(self) -> str:
        return json.dumps({
            "summary": self.summary(),
            "exit_code": self.exit_code,
            "files": [{"path": r.path, "changed": r.changed, "python2": r.python2, "error": r.error}
                      for r in self.files],
            "findings": [dict(asdict(f), severity=f.severity.value) for f in self.findings],
        }, indent=2) + "\n"
