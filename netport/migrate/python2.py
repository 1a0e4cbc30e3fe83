"""CH090: the Python 2 pre-pass. LibCST reads only Python 3, and much Chainer v1 code is Python 2,
so such files first go through fissix (lib2to3's maintained fork) with 2to3's default fixers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fissix import refactor
from fissix.pgen2.parse import ParseError
from fissix.pgen2.tokenize import TokenError

from netport.migrate.rules import Rule, register

register(Rule(
    "CH090", "Python 2 source is converted with 2to3's fixers (fissix) before migration",
    before="import chainer\nfor i in xrange(3):\n    print i\n",
    after="import chainer\nfor i in range(3):\n    print(i)\n",
))


_SELF_ALIAS = re.compile(r"^([ \t]*)import ([\w.]+) as \2[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class Python2Change:
    line: int
    fixer: str


class Python2Error(ValueError):
    """The source is neither Python 3 nor Python 2 that fissix can read."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line


class _RecordingTool(refactor.RefactoringTool):
    """A RefactoringTool that remembers which fixer changed which line."""

    def __init__(self):
        fixers = refactor.get_fixers_from_package("fissix.fixes")
        super().__init__(fixers, options={"print_function": False})
        self.changes: list[Python2Change] = []
        for fixer in self.pre_order + self.post_order:
            fixer.transform = self._recording(fixer, fixer.transform)

    def _recording(self, fixer, transform):
        name = type(fixer).__module__.rsplit(".", 1)[-1]

        def wrapped(node, results):
            line = node.get_lineno()
            changed_before = node.was_changed
            new = transform(node, results)
            if new is not None or (node.was_changed and not changed_before):
                self.changes.append(Python2Change(line or 1, name))
            return new
        return wrapped

    def log_error(self, msg, *args, **kwargs):  # raise instead of logging
        raise


def convert_python2(source: str, name: str) -> tuple[str, list[Python2Change]]:
    """Python 3 source for Python 2 ``source``, and what was changed where."""
    tool = _RecordingTool()
    try:
        tree = tool.refactor_string(source if source.endswith("\n") else source + "\n", name)
    except (ParseError, TokenError, IndentationError, SyntaxError) as exc:
        line = getattr(exc, "lineno", None) or _parse_error_line(exc)
        raise Python2Error(line, f"not valid Python 3 or Python 2 ({type(exc).__name__}: {exc})") from None
    changes = sorted(set(tool.changes), key=lambda c: (c.line, c.fixer))
    # fix_imports turns `import cPickle as pickle` into `import pickle as pickle`: say it once.
    return _SELF_ALIAS.sub(r"\1import \2", str(tree)), changes


def _parse_error_line(exc: Exception) -> int:
    context = getattr(exc, "context", None)
    try:
        return int(context[1][0])
    except (TypeError, IndexError, ValueError):
        return 1
