"""Compiling migrated code with the user's file name and line numbers (netport/compat/lines.py)."""

from __future__ import annotations

import dis

from netport.compat.lines import compile_source, original_lines

OLD = """\
for i in range(n):
    x = chainer.Variable(xp.asarray(data[perm[i:i + batchsize]]))
    optimizer.update(lossfun, x, x)
    sum_loss += float(cuda.to_cpu(lossfun.loss.data)) * len(x.data)
print(sum_loss)
"""
NEW = """\
for i in range(n):
    x = torch.as_tensor(data[perm[i:i + batchsize]], device=device)
    optimizer.zero_grad(set_to_none=False)
    lossfun(x, x).backward()
    optimizer.step()
    sum_loss += float(lossfun.loss.detach().cpu().numpy()) * len(x)
print(sum_loss)
"""


def test_a_rewritten_block_maps_each_line_to_the_statement_it_came_from():
    """`optimizer.update(...)` became three lines next to two rewritten lines: by position (LineMap) the
    backward() call would map to the `sum_loss` line; by the names they share it maps to the update."""
    assert original_lines(OLD.splitlines(), NEW.splitlines()) == [1, 2, 3, 3, 3, 4, 5]


def test_inserted_lines_do_not_shift_what_follows():
    old = "import chainer\n\n\ndef f(x):\n    return x.missing\n"
    new = "import chainer\nimport torch\nfrom torch import nn\n\n\ndef helper():\n    pass\n\n\ndef f(x):\n" \
          "    return x.missing\n"
    code = compile_source(old, new, "/user/file.py")
    f = next(c for c in code.co_consts if getattr(c, "co_name", None) == "f")
    assert code.co_filename == f.co_filename == "/user/file.py"
    assert f.co_firstlineno == 4
    assert {line for _, _, line in f.co_lines() if line is not None} >= {5}
    assert max(line for _, _, line in code.co_lines() if line is not None) <= len(old.splitlines())


def test_a_changed_line_spans_the_whole_original_line():
    """Columns of a changed line refer to text the user never sees: the instructions get the whole original
    line (which the traceback printer shows without carets); an unchanged line keeps exact columns."""
    old = "y = compute(a, train=False)\nz = y.missing\n"
    new = "with mode(False):\n    y = compute(a)\nz = y.missing\n"
    code = compile_source(old, new, "f.py")
    positions = {(line, col, end) for instruction in dis.get_instructions(code)
                 for line, _, col, end in [instruction.positions] if line}  # 0: the RESUME header
    assert (1, 0, len(old.splitlines()[0])) in positions
    assert all(line in (1, 2) for line, _, _ in positions)
    assert (2, 4, 13) in positions  # `y.missing` on the unchanged line: its own columns


def test_an_unchanged_file_compiles_as_it_is():
    assert compile_source("x = 1\n", "x = 1\n", "f.py").co_filename == "f.py"
    assert compile_source("x = 1\n", None, "f.py").co_filename == "f.py"
