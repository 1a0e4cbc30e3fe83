"""What check-shapes reports, and the framework error messages it predicts and recognises."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

RULE_MISMATCH = "NPS001"  # a layer is fed an input of the wrong width or channel count
RULE_LAZY_BINDING = "NPS002"  # a lazy layer binds to a width the units list does not imply
RULE_RESHAPE = "NPS003"  # a reshape to a hard-coded shape of another size (the last, short batch)
RULE_LOSS = "NPS004"  # a loss or metric compares a prediction and a target that do not fit (shape, class count)
RULE_FUNCTION = "NPS005"  # a function is given arrays whose shapes do not fit together (F.lstm, concat...)

SEVERITIES = ("error", "warning", "note")


@dataclass
class Finding:
    rule: str
    severity: str
    path: str
    line: int
    col: int
    message: str
    expected: dict | None = None  # {"expr": ..., "value": ...}
    actual: dict | None = None
    layer: dict | None = None  # {"name", "kind", "in", "out", "built_at", "built_from"}
    value_flow: list = field(default_factory=list)  # [{"file", "line", "desc"}]
    called_from: list = field(default_factory=list)  # [{"file", "line", "desc"}]
    framework_message: str | None = None  # what Chainer, torch or numpy would raise (or raised)
    raised_by: str | None = None  # whose message that is: "Chainer", "torch" or "numpy"
    dialect: str | None = None  # dynamic mode: which of Chainer's message dialects the run printed
    hint: str | None = None
    mode: str = "static"
    context: str | None = None  # e.g. "after about 400 optimizer updates"
    executed_layers: list = field(default_factory=list)  # dynamic mode: the layer calls before it
    # dynamic mode: the fields filled in from the static analysis, which proved the same finding
    # ("value_flow", "layer" or "layer.built_from" or "layer.built_from[1:]" for the lines after the run's own,
    # "hint", "called_from")
    from_static: list = field(default_factory=list)

    def key(self) -> tuple:
        return (self.rule, self.path, self.line, self.col,
                str(self.expected and self.expected.get("value")), str(self.actual and self.actual.get("value")))

    def to_json(self) -> dict:
        return {name: value for name, value in asdict(self).items() if value not in (None, [], "")}


def mismatch_message(name: str, label: str, actual, expected, what: str = "features") -> str:
    """The first line of an NPS001 finding; netport.sae words its input check the same way."""
    return f"{name} ({label}) is fed {actual} {what}; it expects {expected}"


# --- Chainer's InvalidType message for Linear, in the three dialects (headline 1 of the shape
# checking reference: the expression printed changed at v3 and again at v5).

def chainer_linear_message(version: tuple[int, ...], actual_width: int, expected_width: int) -> str:
    if version[0] <= 2:
        expect = "prod(in_types[0].shape[1:]) == in_types[1].shape[1]"
    elif version[0] <= 4:
        expect = "in_types[0].shape[1] == in_types[1].shape[1]"
    else:
        expect = "x.shape[1] == W.shape[1]"
    return (f"InvalidType: Invalid operation is performed in: LinearFunction (Forward) "
            f"Expect: {expect} Actual: {actual_width} != {expected_width}")


def chainer_convolution_message(version: tuple[int, ...], actual_channels: int, expected_channels: int) -> str:
    # from v5 the check multiplies by the number of groups (1 unless the layer was built with groups=)
    expect = "in_types[0].shape[1] == in_types[1].shape[1]" + (" * 1" if version[0] >= 5 else "")
    return (f"InvalidType: Invalid operation is performed in: Convolution2DFunction (Forward) "
            f"Expect: {expect} Actual: {actual_channels} != {expected_channels}")


def torch_linear_message(batch, actual_width: int, in_size: int, out_size) -> str:
    rows = "B" if batch is None else batch
    return (f"RuntimeError: mat1 and mat2 shapes cannot be multiplied "
            f"({rows}x{actual_width} and {in_size}x{out_size})")


_DIALECTS = [
    # (name, pattern of the Expect line) -- the Actual line is the same in all of them.
    ("chainer<=2", re.compile(r"prod\(in_types\[0\]\.shape\[1:\]\)\s*==\s*in_types\[1\]\.shape\[1\]")),
    ("chainer3-4", re.compile(r"in_types\[0\]\.shape\[1\]\s*==\s*in_types\[1\]\.shape\[1\]")),
    ("chainer>=5", re.compile(r"x\.shape\[1\]\s*==\s*W\.shape\[1\]")),
]
_ACTUAL = re.compile(r"Actual:\s*(\d+)\s*!=\s*(\d+)")
_FUNCTION = re.compile(r"Invalid operation is performed in:\s*(\w+)")


@dataclass
class ParsedInvalidType:
    dialect: str
    function: str | None
    actual: int
    expected: int


def parse_invalid_type(message: str) -> ParsedInvalidType | None:
    """Read Chainer's `Expect: ... Actual: a != b` for an input-width check, in any dialect."""
    actual = _ACTUAL.search(message)
    if actual is None:
        return None
    for name, pattern in _DIALECTS:
        if pattern.search(message):
            function = _FUNCTION.search(message)
            return ParsedInvalidType(name, function.group(1) if function else None,
                                     int(actual.group(1)), int(actual.group(2)))
    return None


def installed_chainer_version() -> tuple[int, ...] | None:
    """The version of Chainer installed next to netport, read from its metadata (never imported)."""
    from importlib import metadata

    try:
        text = metadata.version("chainer")
    except metadata.PackageNotFoundError:
        return None
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3]) or None
