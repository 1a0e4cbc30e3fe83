"""Which lines of a migrated file came from which lines of its input: for the report's line numbers
and for the unified diff.

The alignment is difflib's (SequenceMatcher, no autojunk), whose cost grows with the square of the
length where lines repeat. Beyond ``EXACT_LINES`` lines the texts are first cut at the lines that
occur exactly once on each side, in the same order (patience diff's anchors), and each piece between
two anchors is aligned by difflib: the same alignment wherever it is unambiguous, in linear time for a
long program whose passes change a line here and there.
"""

from __future__ import annotations

import bisect
import difflib
from typing import Iterator

EXACT_LINES = 2000


def opcodes(a: list[str], b: list[str]) -> list[tuple[str, int, int, int, int]]:
    """difflib's opcodes (tag, i1, i2, j1, j2) turning ``a`` into ``b``."""
    if max(len(a), len(b)) <= EXACT_LINES:
        return difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    codes: list[tuple[str, int, int, int, int]] = []
    i = j = 0
    for anchor_i, anchor_j in [*_unique_common_lines(a, b), (len(a), len(b))]:
        piece = difflib.SequenceMatcher(None, a[i:anchor_i], b[j:anchor_j], autojunk=False).get_opcodes()
        for tag, i1, i2, j1, j2 in piece:
            _append(codes, (tag, i + i1, i + i2, j + j1, j + j2))
        if anchor_i < len(a):
            _append(codes, ("equal", anchor_i, anchor_i + 1, anchor_j, anchor_j + 1))
        i, j = anchor_i + 1, anchor_j + 1
    return codes


def unified_diff(a: list[str], b: list[str], fromfile: str, tofile: str, n: int = 3) -> Iterator[str]:
    """``difflib.unified_diff(a, b, fromfile, tofile, n=n)``, over :func:`opcodes`."""
    if max(len(a), len(b)) <= EXACT_LINES:
        yield from difflib.unified_diff(a, b, fromfile, tofile, n=n)
        return
    matcher = _Aligned(a, b)
    started = False
    for group in matcher.get_grouped_opcodes(n):
        if not started:
            started = True
            yield f"--- {fromfile}\n"
            yield f"+++ {tofile}\n"
        first, last = group[0], group[-1]
        yield f"@@ -{_unified_range(first[1], last[2])} +{_unified_range(first[3], last[4])} @@\n"
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                yield from (" " + line for line in a[i1:i2])
                continue
            if tag in ("replace", "delete"):
                yield from ("-" + line for line in a[i1:i2])
            if tag in ("replace", "insert"):
                yield from ("+" + line for line in b[j1:j2])


class _Aligned(difflib.SequenceMatcher):
    """A SequenceMatcher whose opcodes are :func:`opcodes` (its grouping into hunks is difflib's)."""

    def __init__(self, a: list[str], b: list[str]):
        super().__init__(None, a, b, autojunk=False)
        self._codes = opcodes(a, b)

    def get_opcodes(self):
        return list(self._codes)


def _unified_range(start: int, stop: int) -> str:
    """A hunk's range as the unified format writes it (difflib's ``_format_range_unified``)."""
    beginning, length = start + 1, stop - start
    if length == 1:
        return f"{beginning}"
    if not length:
        beginning -= 1  # an empty range begins at the line before it
    return f"{beginning},{length}"


def _append(codes: list, code: tuple[str, int, int, int, int]) -> None:
    """Add an opcode, merging it into the one before when both are of the same kind."""
    tag, i1, i2, j1, j2 = code
    if i1 == i2 and j1 == j2:
        return
    if codes and codes[-1][0] == tag:
        codes[-1] = (tag, codes[-1][1], i2, codes[-1][3], j2)
    else:
        codes.append(code)


def _unique_common_lines(a: list[str], b: list[str]) -> list[tuple[int, int]]:
    """(i, j) pairs with a[i] == b[j], each line occurring once in ``a`` and once in ``b``: the longest
    run of such pairs in increasing order on both sides."""
    counts: dict[str, list[int]] = {}
    for i, line in enumerate(a):
        counts.setdefault(line, [0, -1, 0, -1])
        counts[line][0] += 1
        counts[line][1] = i
    for j, line in enumerate(b):
        if line in counts:
            counts[line][2] += 1
            counts[line][3] = j
    pairs = sorted((i, j) for n_a, i, n_b, j in counts.values() if n_a == 1 and n_b == 1)
    # longest increasing subsequence of the j's (patience sorting), kept with back-links
    tail_values: list[int] = []  # the smallest last j of an increasing run of each length
    tails: list[int] = []  # where in pairs that run ends
    back: list[int] = []
    for k, (_, j) in enumerate(pairs):
        length = bisect.bisect_left(tail_values, j)
        back.append(tails[length - 1] if length > 0 else -1)
        if length == len(tails):
            tail_values.append(j)
            tails.append(k)
        else:
            tail_values[length], tails[length] = j, k
    chain, k = [], tails[-1] if tails else -1
    while k >= 0:
        chain.append(pairs[k])
        k = back[k]
    return chain[::-1]


class LineMap:
    """Maps a 1-based line of ``new`` to the line of ``old`` it came from (or the nearest one)."""

    def __init__(self, old: str, new: str):
        self._map: dict[int, int] = {}
        for tag, i1, i2, j1, j2 in opcodes(old.splitlines(), new.splitlines()):
            for j in range(j1, j2):
                # a replaced block maps line by line as far as the old block goes (two rewritten lines are
                # two lines), its extra new lines to the old block's last; an inserted line to the line after
                self._map[j + 1] = (i1 + min(j - j1, max(i2 - i1 - 1, 0)) if tag != "insert" else i1) + 1

    def __call__(self, line: int) -> int:
        return self._map.get(line, line)
