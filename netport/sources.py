"""Reading a Python source file the way every netport command does: bytes checked for NUL and
decoded as Python itself decodes them (UTF-8, or the PEP 263 coding line) before anything parses
them, with a one-line error naming the file; Python 2 source made readable as Python 3 (the
migrator's CH090 and check-shapes)."""

from __future__ import annotations

import codecs
import io
import re
import tokenize
from pathlib import Path


class SourceError(ValueError):
    """A file that cannot be read as Python source; the message is one line naming it."""


def read_source(path: Path) -> tuple[str, str]:
    """(text, encoding) of a Python file, or SourceError. The encoding is the one to write the file
    back in: "utf-8-sig" when it starts with a byte-order mark, else its coding line's, else "utf-8"."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if b"\0" in data:
        raise SourceError(f"{path}: binary file (contains NUL bytes), not Python source")
    encoding = source_encoding(path, data)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        decoded = exc.object  # what the codec saw: after the byte-order mark, if any
        line, byte = decoded[:exc.start].count(b"\n") + 1, decoded[exc.start]
        if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig"):
            raise SourceError(f"{path}:{line}: not UTF-8 (byte 0x{byte:02x}); "
                              "re-encode the file as UTF-8 and run again") from None
        raise SourceError(f"{path}:{line}: not {encoding} as its coding line declares (byte 0x{byte:02x}); "
                          "correct the coding line or re-encode the file, and run again") from None
    return text, encoding


def source_encoding(path: Path, data: bytes) -> str:
    """The encoding Python reads ``data`` in (PEP 263: a byte-order mark, or a coding line among the
    first two lines, else UTF-8), or SourceError for a coding line Python would refuse."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        if str(exc).startswith("invalid or missing encoding declaration"):
            return "utf-8"  # bytes that are not UTF-8 and no coding line: decoding says where
        raise SourceError(f"{path}: bad coding line ({exc}); name an encoding Python knows, "
                          "or remove the line and re-encode the file as UTF-8") from None
    return encoding


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


def python2_tool(fixers: tuple[str, ...] | None = None, tool_class=None, options: dict | None = None):
    """A fissix RefactoringTool with 2to3's fixers (all of them, or those named) that raises on a
    parse error instead of logging it; ``options`` are fissix's (print is a statement by default)."""
    from fissix import refactor

    names = (refactor.get_fixers_from_package("fissix.fixes") if fixers is None
             else [f"fissix.fixes.fix_{name}" for name in fixers])
    base = tool_class or refactor.RefactoringTool

    class RaisingTool(base):
        def log_error(self, msg, *args, **kwargs):
            raise

    return RaisingTool(names, options={"print_function": False, **(options or {})})


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
    """Just enough of 2to3 for Python 3's parser to read Python 2 `source` (what check-shapes needs),
    tabs and spaces mixed in its indentation included."""
    return refactor_python2(python2_tool(SYNTAX_FIXERS), expand_python2_tabs(source)[0], name)


# Leading whitespace with a tab in it, on some line.
_TAB_INDENT = re.compile(r"^[ \t\f]*\t", re.MULTILINE)


def expand_python2_tabs(source: str) -> tuple[str, list[int]]:
    """``source`` with the tabs in its indentation expanded as Python 2 read them (to the next multiple
    of 8 columns), and the lines changed. Python 3 refuses tabs and spaces mixed so that their meaning
    depends on the tab width; Python 2 took 8. Only lines that begin a statement (or hold only a
    comment) are indentation: the lines of a string, or after a backslash or an open bracket, keep
    their tabs. Source that Python 2's tokenizer cannot read comes back as it was."""
    if not _TAB_INDENT.search(source):
        return source, []
    from fissix.pgen2 import token
    from fissix.pgen2.tokenize import TokenError, generate_tokens

    indentation_lines = set()
    at_statement_start = True
    try:
        for kind, _, (row, _), _, _ in generate_tokens(io.StringIO(source).readline):
            if kind == token.NEWLINE:
                at_statement_start = True
            elif kind in (token.INDENT, token.DEDENT, token.ENDMARKER):
                continue
            elif at_statement_start:
                indentation_lines.add(row)
                # a comment or blank line (NL) leaves the next line at a statement's start too
                at_statement_start = kind in (token.COMMENT, token.NL)
    except (TokenError, IndentationError, SyntaxError):
        return source, []
    lines = io.StringIO(source).readlines()  # split as the tokenizer read them (not at form feeds)
    changed = []
    for row in sorted(indentation_lines):
        line = lines[row - 1]
        indent = len(line) - len(line.lstrip(" \t\f"))
        if "\t" in line[:indent] and line[indent:].strip("\r\n"):  # a blank line has no indentation
            lines[row - 1] = " " * _python2_column(line[:indent]) + line[indent:]
            changed.append(row)
    return "".join(lines), changed


def _python2_column(indent: str) -> int:
    column = 0
    for char in indent:
        column = column + 1 if char == " " else (column // 8 + 1) * 8 if char == "\t" else 0  # form feed: 0
    return column


def _parse_error_line(exc: Exception) -> int:
    context = getattr(exc, "context", None)
    try:
        return int(context[1][0])
    except (TypeError, IndexError, ValueError):
        return 1
