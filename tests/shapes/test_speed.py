"""What keeps static mode fast: Python 2 files are read with fissix alone (never LibCST or the
migrator), and nested loops are unrolled only within a budget (the audit of issue 5, item 11)."""

from __future__ import annotations

from netport.shapes import check_static
from netport.shapes.interpreter import UNROLL_TOTAL_LIMIT
from tests.conftest import REPO
from tests.shapes.conftest import run_fresh_python

SAE = REPO / "legacy_examples" / "mnist_sae" / "train_mnist_sae.py"
PY2 = REPO / "legacy_examples" / "py2_mlp" / "train_mnist_py2.py"
LONG_RUN = ["--epoch_pre", "16", "--epoch_fine", "16", "--n_train", "1600"]
TEN_LAYERS = ["--unit", "700,600,500,400,300,200,100,50,20,2"]


def test_python2_source_is_read_without_libcst_or_the_migrator():
    code = ("import sys; from netport.shapes import check_static; "
            f"r = check_static({str(PY2)!r}); assert r.findings == [] and r.checked_calls, r; "
            "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith(('libcst', 'netport.migrate'))}))")
    assert run_fresh_python(code) == "[]"


def test_python2_syntax_is_read_with_its_line_numbers(check_source):
    report = check_source("import numpy as np\nimport chainer.links as L\n"
                          "print 'start', `1`\n"
                          "d = {'a': 1}\n"
                          "for k, v in d.iteritems():\n"
                          "    pass\n"
                          "try:\n"
                          "    x = np.zeros((4, 01000), dtype=np.float32)\n"
                          "except IOError, e:\n"
                          "    raise SystemExit, 1\n"
                          "if 1 <> 2:\n"
                          "    for i in xrange(2):\n"
                          "        y = L.Linear(784, 10)(x)\n")
    (finding,) = report.findings  # 01000 is octal: 512 features
    assert (finding.line, finding.expected["value"], finding.actual["value"]) == (13, 784, 512)


def test_nested_loops_stay_within_the_unroll_budget():
    """More epochs and more layers add layer calls only within the budget (timings are printed by
    benchmarks/check_shapes_speed.py, not asserted here)."""
    calls = [check_static(SAE, args).checked_calls for args in ([], LONG_RUN, LONG_RUN + TEN_LAYERS)]
    assert calls[0] < calls[1] < calls[2] <= UNROLL_TOTAL_LIMIT
    assert calls[1] < 2 * calls[0]  # 16 epochs instead of 10 per stage: the epoch loops are not unrolled


def test_the_unroll_budget_bounds_a_long_run_of_short_loops(check_source):
    # 200 loops of 16 turns one after the other: the first ones are unrolled, the rest interpreted once
    body = "".join(f"for i{n} in range(16):\n    h = layer(x)\n" for n in range(200))
    report = check_source("import chainer.links as L\nimport numpy as np\nlayer = L.Linear(784, 10)\n"
                          "x = np.zeros((4, 784), dtype=np.float32)\n" + body)
    assert report.findings == []
    assert report.checked_calls == UNROLL_TOTAL_LIMIT + (200 - UNROLL_TOTAL_LIMIT // 16)
