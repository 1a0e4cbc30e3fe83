"""CH090: the Python 2 pre-pass. LibCST reads only Python 3, and much Chainer v1 code is Python 2,
so such files first go through fissix (lib2to3's maintained fork) with 2to3's default fixers."""

from __future__ import annotations

from dataclasses import dataclass

from fissix import refactor

from netport.migrate.rules import Rule, register
from netport.sources import Python2Error, python2_tool, refactor_python2  # noqa: F401  (Python2Error re-exported)

register(Rule(
    "CH090", "Python 2 source is converted with 2to3's fixers (fissix) before migration",
    before="import chainer\nfor i in xrange(3):\n    print i\n",
    after="import chainer\nfor i in range(3):\n    print(i)\n",
    noop=("import chainer\nfor i in range(3):\n    print(i)\n",
          "for i in xrange(3):\n    print i\n"),
))


@dataclass(frozen=True)
class Python2Change:
    line: int
    fixer: str


class _RecordingTool(refactor.RefactoringTool):
    """A RefactoringTool that remembers which fixer changed which line."""

    def __init__(self, fixers, options=None):
        super().__init__(fixers, options=options)
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


def convert_python2(source: str, name: str) -> tuple[str, list[Python2Change]]:
    """Python 3 source for Python 2 ``source`` (all of 2to3's fixers), and what was changed where."""
    tool = python2_tool(tool_class=_RecordingTool)
    converted = refactor_python2(tool, source, name)
    return converted, sorted(set(tool.changes), key=lambda c: (c.line, c.fixer))
