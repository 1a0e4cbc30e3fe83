"""Compiling migrated source so that it reports the user's file and lines.

The migration may add or remove lines (``super().__init__(l1=...)`` becomes an ``init_scope`` block;
the torch target writes small helpers at the top). Rather than reflowing the migrated text into a
line-preserving form, which compound statements make impossible in general, the migrated text is
parsed and every AST node's line is mapped back to the input line it came from with
:class:`netport.migrate.alignment.LineMap` (a line netport inserted goes to the nearest input line),
then compiled under the original file name (a block of several lines rewritten into several others
is paired line by line by the names the lines share: :func:`original_lines`). The code objects' line
tables, ``co_firstlineno`` and so tracebacks, ``inspect.getsource`` and debuggers all speak of the
user's file as it is on disk.

Columns: on a line the migration left as it was they stay exact; on a changed line they refer to
text the user never sees, so the node is given the whole original line instead, which tells the
traceback printer to show the line without carets under part of it.
"""

from __future__ import annotations

import ast
import re
from types import CodeType

from netport.migrate.alignment import LineMap, opcodes


def compile_source(original: str, migrated: str | None, filename: str) -> CodeType:
    """Code for ``migrated`` (or ``original`` when the migration changed nothing), with ``filename``
    and the line numbers of ``original``. SyntaxError as compile() raises it."""
    # dont_inherit: netport's own `from __future__ import annotations` must not reach the user's code
    if migrated is None or migrated == original:
        return compile(original, filename, "exec", dont_inherit=True)
    tree = ast.parse(migrated, filename=filename)
    remap_lines(tree, original, migrated)
    return compile(tree, filename, "exec", dont_inherit=True)


def remap_lines(tree: ast.AST, original: str, migrated: str) -> None:
    """Give every node of ``tree`` (parsed from ``migrated``) the position it has in ``original``."""
    old, new = original.splitlines(), migrated.splitlines()
    line_map = original_lines(old, new)

    def mapped(line: int) -> int:
        return line_map[line - 1] if 0 < line <= len(line_map) else max(len(old), 1)

    def old_line(number: int) -> str:
        return old[number - 1] if 0 < number <= len(old) else ""

    def unchanged(line: int) -> bool:
        return 0 < line <= len(new) and new[line - 1] == old_line(mapped(line))

    for node in ast.walk(tree):
        if getattr(node, "lineno", None) is None:
            continue
        end = node.end_lineno if getattr(node, "end_lineno", None) is not None else node.lineno
        start_old, end_old = mapped(node.lineno), mapped(end)
        end_old = max(end_old, start_old)
        exact = unchanged(node.lineno) and unchanged(end) and end_old - start_old == end - node.lineno
        if not exact and getattr(node, "col_offset", None) is not None:
            first, last = old_line(start_old), old_line(end_old)
            node.col_offset = len(first.encode()) - len(first.lstrip().encode())  # byte offsets, as ast's
            node.end_col_offset = len(last.rstrip().encode())
            if start_old == end_old and node.end_col_offset < node.col_offset:  # a blank line: empty span
                node.end_col_offset = node.col_offset
        node.lineno, node.end_lineno = start_old, end_old


def original_lines(old: list[str], new: list[str]) -> list[int]:
    """For each line of ``new``, the 1-based line of ``old`` it came from.

    :class:`LineMap`'s answer, except inside a block of several lines rewritten into several others
    (``optimizer.update(f, x, x)`` into zero_grad, backward and step, next to a rewritten line): there
    LineMap pairs the lines by position, and here each new line goes to the old line of the block that
    shares most names with it, in order (a line never maps before the one above it). Tracebacks then
    name the statement that the failing code was written from."""
    line_map = LineMap("\n".join(old), "\n".join(new))
    lines = [line_map(j) for j in range(1, len(new) + 1)]
    for tag, i1, i2, j1, j2 in opcodes(old, new):
        if tag == "replace" and i2 - i1 > 1 and j2 - j1 > 1:
            lines[j1:j2] = [i1 + 1 + k for k in _align_by_names(old[i1:i2], new[j1:j2], lines[j1:j2], i1)]
    return [min(max(line, 1), max(len(old), 1)) for line in lines]


_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def _align_by_names(old: list[str], new: list[str], positional: list[int], offset: int) -> list[int]:
    """A non-decreasing choice of an old line (index into ``old``) for each new line that maximises the
    names each shares with its choice (Jaccard); ties go to LineMap's positional choice."""
    names_old = [set(_NAME.findall(line)) for line in old]
    names_new = [set(_NAME.findall(line)) for line in new]

    def score(j: int, i: int) -> float:
        union = names_new[j] | names_old[i]
        shared = len(names_new[j] & names_old[i]) / len(union) if union else 0.0
        return shared + (1e-6 if positional[j] - 1 - offset == i else 0.0)

    m = len(old)
    best = [score(0, i) for i in range(m)]  # best total of the lines so far, the last one on old line i
    back: list[list[int]] = []  # per new line after the first: where the line above went, for each i
    for j in range(1, len(new)):
        running, running_at, totals, pointers = float("-inf"), 0, [], []
        for i in range(m):
            if best[i] > running:
                running, running_at = best[i], i
            totals.append(running + score(j, i))
            pointers.append(running_at)
        best = totals
        back.append(pointers)
    choice = [max(range(m), key=lambda i: best[i])]
    for pointers in reversed(back):
        choice.append(pointers[choice[-1]])
    return choice[::-1]
