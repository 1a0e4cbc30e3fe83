"""Reading a Python source file the way every netport command does: bytes checked for NUL and
UTF-8 before anything parses them, with a one-line error naming the file; Python 2 source made
readable as Python 3 (the migrator's CH090 and check-shapes)."""

from __future__ import annotations

import re
from pathlib import Path


class SourceError(ValueError):
    """A file that cannot be read as Python source; the message is one line naming it."""


def read_source(path: Path) -> tuple[str, bool]:
    """(text, had a UTF-8 byte-order mark) of a Python file, or SourceError."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if b"\0" in data:
        raise SourceError(f"{path}: binary file (contains NUL bytes), not Python source")
    bom = data.startswith(b"\xef\xbb\xbf")
    try:
        text = data[3 if bom else 0:].decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise SourceError(f"{path}:{line}: not UTF-8 (byte 0x{data[exc.start]:02x}); "
                          "re-encode the file as UTF-8 and run again") from None
    return text, bom


# --- Python 2 source (most Chainer v1 programs): Python 3 text through fissix, lib2to3's maintained
# fork, which keeps the line numbers. fissix is imported only when a file needs it.

# The fixers without which Python 3 cannot parse the file at all (print and exec statements,
# `except E, e`, `raise E, V`, backticks, `<>`, 0777 and 10L literals, tuple parameters), plus the
# renames that keep loop bounds and dict iteration readable (xrange, iteritems, long).
SYNTAX_FIXERS = ("print", "except", "raise", "exec", "repr", "ne", "numliterals", "tuple_params", "xrange",
                 "dict", "long")

_SELF_ALIAS = re.compile(r"^([ \t]*)import ([\w.]+) as \2[ \t]*$", re.MULTILINE)


class Python2Error(ValueError):
    """The source is neither Python 3 nor Python 2 that fissix can read."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line


def python2_tool(fixers: tuple[str, ...] | None = None, tool_class=None):
    """A fissix RefactoringTool with 2to3's fixers (all of them, or those named) that raises on a
    parse error instead of logging it."""
    from fissix import refactor

    names = (refactor.get_fixers_from_package("fissix.fixes") if fixers is None
             else [f"fissix.fixes.fix_{name}" for name in fixers])
    base = tool_class or refactor.RefactoringTool

    class RaisingTool(base):
        def log_error(self, msg, *args, **kwargs):
            raise

    return RaisingTool(names, options={"print_function": False})


def refactor_python2(tool, source: str, name: str) -> str:
    """Python 3 text of Python 2 `source` through `tool`, or Python2Error with the line."""
    from fissix.pgen2.parse import ParseError
    from fissix.pgen2.tokenize import TokenError

    try:
        tree = tool.refactor_string(source if source.endswith("\n") else source + "\n", name)
    except (ParseError, TokenError, IndentationError, SyntaxError) as exc:
        line = getattr(exc, "lineno", None) or _parse_error_line(exc)
        raise Python2Error(line, f"not valid Python 3 or Python 2 ({type(exc).__name__}: {exc})") from None
    # fix_imports turns `import cPickle as pickle` into `import pickle as pickle`: say it once.
    return _SELF_ALIAS.sub(r"\1import \2", str(tree))


def python2_syntax_to_python3(source: str, name: str) -> str:
    """Just enough of 2to3 for Python 3's parser to read Python 2 `source` (what check-shapes needs)."""
    return refactor_python2(python2_tool(SYNTAX_FIXERS), source, name)


def _parse_error_line(exc: Exception) -> int:
    context = getattr(exc, "context", None)
    try:
        return int(context[1][0])
    except (TypeError, IndexError, ValueError):
        return 1
