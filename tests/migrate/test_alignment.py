"""Line alignment of a file and its migration: difflib's exactly for ordinary files, anchored on unique
lines (and still a correct alignment) for long ones."""

from __future__ import annotations

import difflib
import random

from netport.migrate import alignment
from netport.migrate.alignment import LineMap


def edited(lines: list[str], seed: int) -> list[str]:
    """A migration's kind of change: a line rewritten, added or dropped here and there."""
    rng = random.Random(seed)
    out = []
    for line in lines:
        roll = rng.random()
        if roll < 0.03:
            out.append(line.replace("x", "y"))
        elif roll < 0.05:
            out += [line, "    with chainer.no_backprop_mode():\n"]
        elif roll > 0.98:
            continue
        else:
            out.append(line)
    return out


def program(n: int) -> list[str]:
    """Lines that repeat (blank lines, the same call) between lines that do not."""
    return [f"x{i} = f(x{i - 1})\n" if i % 3 else ("\n" if i % 2 else "optimizer.update()\n") for i in range(n)]


def test_ordinary_files_get_difflibs_alignment_and_diff():
    a = program(1500)
    b = edited(a, 1)
    assert alignment.opcodes(a, b) == difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    assert list(alignment.unified_diff(a, b, "a/p.py", "b/p.py")) == list(difflib.unified_diff(a, b, "a/p.py",
                                                                                                 "b/p.py"))


def test_long_files_get_a_correct_alignment():
    a = program(12000)
    b = edited(a, 2)
    codes = alignment.opcodes(a, b)
    assert codes[0][1:4:2] == (0, 0) and codes[-1][2] == len(a) and codes[-1][4] == len(b)
    rebuilt = []
    for (tag, i1, i2, j1, j2), following in zip(codes, codes[1:] + [None]):
        if tag == "equal":
            assert a[i1:i2] == b[j1:j2]
        if following is not None:
            assert (i2, j2) == (following[1], following[3])  # contiguous, in order
        rebuilt += b[j1:j2]
    assert rebuilt == b
    line_map = LineMap("".join(a), "".join(b))  # an unchanged line is reported at its own line
    kept = [(j, a.index(line)) for j, line in enumerate(b) if line.startswith(("x5000 ", "x9001 ", "x11999 "))]
    assert kept and all(line_map(j + 1) == i + 1 for j, i in kept)


def test_long_diffs_apply_as_patches():
    a = program(6000)
    b = edited(a, 3)
    patched, k = [], 0
    for line in alignment.unified_diff(a, b, "a/p.py", "b/p.py"):
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            start = int(line.split()[1][1:].split(",")[0])
            start = start if "," not in line.split()[1] or line.split()[1].split(",")[1] != "0" else start + 1
            patched += a[k:start - 1]
            k = start - 1
        elif line[0] in " -":
            assert a[k] == line[1:]
            k += 1
            if line[0] == " ":
                patched.append(line[1:])
        else:
            patched.append(line[1:])
    assert patched + a[k:] == b


def test_line_map_follows_rewritten_lines_one_by_one():
    """Two consecutive lines rewritten in place are one replaced block: a finding on the second line of the new
    text is on the second line of the old, not the block's first; the block's extra new lines map to its last
    old line, and an inserted line to the old line after it."""
    old = "a = 1\nx = f(1)\ny = f(2)\nz = 3\n"
    new = "import g\na = 1\nx = g(1)\ny = g(2)\nextra()\nz = 3\n"
    line_map = LineMap(old, new)
    assert [line_map(n) for n in range(1, 7)] == [1, 1, 2, 3, 3, 4]
