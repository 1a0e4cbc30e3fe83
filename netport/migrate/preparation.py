"""Reading a file for migration: its syntax checked with the compiler, and Python 2 converted.

Kept apart from the engine (and from LibCST): a re-run whose results all come from the cache needs
this much and no more.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from netport.migrate.python2 import Python2Change, Python2Error, convert_python2


@dataclass
class Prepared:
    """A file read and checked, before migration: Python 3 text, or Python 2 text and its conversion."""

    path: str
    text: str | None = None
    error: str | None = None
    python2_text: str | None = None  # 2to3 output when ``text`` is Python 2
    python2_changes: list[Python2Change] = field(default_factory=list)

    @property
    def python3_text(self) -> str | None:
        return self.python2_text if self.python2_text is not None else self.text


def prepare(path: str, text: str) -> Prepared:
    """Check the syntax (fast, with the compiler) and convert Python 2 when that is what it is."""
    prepared = Prepared(path, text)
    try:
        ast.parse(text, filename=path)
        return prepared
    except SyntaxError as py3_error:
        syntax_error = py3_error
    except ValueError as exc:  # null bytes and the like
        prepared.error = f"{path}: cannot be parsed ({exc})"
        return prepared
    try:
        converted, changes = convert_python2(text, path)
        ast.parse(converted, filename=path)
    except (Python2Error, SyntaxError, ValueError, RecursionError):
        line = syntax_error.lineno or 1
        prepared.error = f"{path}:{line}:{syntax_error.offset or 1}: syntax error: {syntax_error.msg} " \
                         "(not valid Python 3, nor Python 2 that 2to3 can convert)"
        return prepared
    prepared.python2_text, prepared.python2_changes = converted, changes
    return prepared
