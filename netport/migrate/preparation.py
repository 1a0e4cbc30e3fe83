"""Reading a file for migration: its syntax checked with the compiler, and Python 2 converted.

Kept apart from the engine (and from LibCST): a re-run whose results all come from the cache needs
this much and no more.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from netport.migrate.alignment import LineMap
from netport.migrate.python2 import (INDENTATION, RESERVED, Python2Change, Python2Error, certainly_python2,
                                     convert_python2, python2_fixers_for_names, rename_reserved_names)
from netport.sources import expand_python2_tabs


@dataclass
class Prepared:
    """A file read and checked, before migration: Python 3 text, or Python 2 text and its conversion."""

    path: str
    text: str | None = None
    error: str | None = None
    python2_text: str | None = None  # what Python 3 reads: 2to3 output for Python 2 (or `async` renamed)
    python2_changes: list[Python2Change] = field(default_factory=list)

    @property
    def python3_text(self) -> str | None:
        return self.python2_text if self.python2_text is not None else self.text


def prepare(path: str, text: str) -> Prepared:
    """Check the syntax (fast, with the compiler) and convert Python 2 when that is what it is: source
    Python 3 cannot parse and 2to3 can convert, or Python 3 syntax with Python 2's names (`xrange`)."""
    prepared = Prepared(path, text)
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as py3_error:
        syntax_error = py3_error
    except ValueError as exc:  # null bytes and the like
        prepared.error = f"{path}: cannot be parsed ({exc})"
        return prepared
    else:
        fixers = python2_fixers_for_names(tree, text, path)
        if fixers:
            try:  # only the fixers of the names it uses: its syntax is Python 3's already
                converted, changes = convert_python2(text, path, fixers, python3_syntax=True,
                                                     floor_divisions=certainly_python2(fixers))
                ast.parse(converted, filename=path)
            except (Python2Error, SyntaxError, ValueError, RecursionError):
                return prepared  # Python 3 that fissix cannot read: left as the Python 3 it parses as
            prepared.python2_text, prepared.python2_changes = converted, changes
        return prepared
    try:
        converted, changes = _convert(text, path)
    except (Python2Error, SyntaxError, ValueError, RecursionError):
        try:  # Python 3 from before 3.7, where `async` was a name (`import async`)
            converted, changes = _parsed(text, text, [], path)
        except SyntaxError:
            converted = None
    if converted is None:
        line = syntax_error.lineno or 1
        prepared.error = f"{path}:{line}:{syntax_error.offset or 1}: syntax error: {syntax_error.msg} " \
                         "(not valid Python 3, nor Python 2 that 2to3 can convert)"
        return prepared
    prepared.python2_text, prepared.python2_changes = converted, changes
    return prepared


def _convert(text: str, path: str) -> tuple[str, list[Python2Change]]:
    """Python 2 ``text`` through all of 2to3's fixers; if what comes out does not parse, again with the
    tabs of its indentation read as Python 2 read them (Python 3 refuses tabs and spaces mixed)."""
    try:
        converted, changes = convert_python2(text, path)
        return _parsed(text, converted, changes, path)
    except (Python2Error, SyntaxError, ValueError, RecursionError):
        expanded, lines = expand_python2_tabs(text)
        if not lines:
            raise
    converted, changes = convert_python2(expanded, path)
    converted, changes = _parsed(text, converted, changes, path)
    more = f", and {len(lines) - 1} more line(s) up to line {lines[-1]}" if len(lines) > 1 else ""
    indentation = Python2Change(lines[0], INDENTATION, detail=(
        f"tabs and spaces mixed in the indentation: tabs expanded to the next multiple of 8 columns as Python 2 "
        f"read them, here{more}"))
    return converted, sorted([indentation, *changes], key=lambda c: (c.line, c.col, c.fixer))


def _parsed(original: str, converted: str, changes: list[Python2Change], path: str):
    """``converted`` if Python 3 parses it, else with the names Python 3 reserved since (``import async``)
    renamed (CH093); SyntaxError when neither parses."""
    try:
        ast.parse(converted, filename=path)
        return converted, changes
    except SyntaxError:
        renamed = rename_reserved_names(converted)
        if renamed is None:
            raise
    text, lines = renamed
    ast.parse(text, filename=path)
    line_map = LineMap(original, converted)
    return text, sorted([*changes, *(Python2Change(line_map(line), RESERVED, detail=detail) for line, detail in lines)],
                        key=lambda c: (c.line, c.col, c.fixer))
