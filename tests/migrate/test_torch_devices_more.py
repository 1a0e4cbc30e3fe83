"""PT110-PT112: array modules chosen by a GPU flag in a function, CuPy called directly, `xp.where`, and `.astype`
of an array made a tensor (PT085). Converted code is run on torch (CPU) and compared with what the original
computes with NumPy (the flag off); one program runs on the real Chainer 1.24 (.venv-legacy) as well. What cannot
be proven stays marked."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from netport.migrate import Severity, migrate_source

ROOT = Path(__file__).resolve().parents[2]
LEGACY = ROOT / ".venv-legacy" / "bin" / "python"
HEADER = "import numpy as np\nimport chainer\nfrom chainer import cuda\n\n\n"
DATA = np.random.RandomState(1).uniform(-0.9, 0.9, (3, 4)).astype(np.float32)


def migrate(source: str):
    result = migrate_source(source, "prog.py", target="torch")
    assert result.error is None, result.error
    return result


def errors(result, rule: str | None = None):
    return [f for f in result.findings if f.severity is Severity.ERROR and (rule is None or f.rule == rule)]


def run(source: str, *args):
    namespace: dict = {}
    exec(compile(source, "prog.py", "exec"), namespace)
    return namespace["f"](*args)


def flagged(*lines: str) -> str:
    body = "".join(f"    {line}\n" for line in lines)
    return HEADER + f"def f(gpu, v):\n    xp = cuda.cupy if gpu >= 0 else np\n{body}"


# the flag off (NumPy in Chainer): the torch program computes the same values, in the same dtype
FLAGGED = [
    ("return xp.zeros((2, 3))",),
    ("return xp.array([1, 2, 3], dtype=xp.int32)",),
    ("return xp.arange(4, dtype=xp.float32)",),
    ("return xp.amax(v.data, axis=1)",),
    ("return xp.argmax(v.data)",),
    ("a = xp.ones((3, 4), dtype=xp.float32)", "return xp.sum(a * v.data, axis=0)"),
    ("return chainer.Variable(xp.asarray([[1.5, 2.5]], dtype=xp.float32)).data",),
    ("w = xp.full((3, 4), 2.0, dtype=xp.float32)", "return xp.where(v.data > 0, v.data, w * 0)"),
]


@pytest.mark.parametrize("lines", FLAGGED)
def test_a_flag_choice_becomes_torch_calls_on_the_flagged_device(lines):
    source = flagged(*lines)
    result = migrate(source)
    if "xp.where" in source:  # (v.data with w * 0: not known to have one dtype; marked, see below)
        assert errors(result, "PT110"), result.migrated
        return
    assert errors(result) == [], (errors(result), result.migrated)
    assert not re.search(r"\bxp\b|cupy", result.migrated), result.migrated
    expected = np.asarray(run(source, -1, chainer_variable(DATA)))
    got = run(result.migrated, -1, torch.as_tensor(DATA.copy()))
    assert isinstance(got, torch.Tensor) and got.device.type == "cpu", result.migrated
    assert str(got.dtype) == f"torch.{expected.dtype}", (result.migrated, got.dtype, expected.dtype)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)


def chainer_variable(array):
    import chainer
    return chainer.Variable(array.copy())


def test_the_flag_chooses_the_device_where_the_choice_was():
    result = migrate(flagged("return chainer.Variable(xp.zeros(3, dtype=xp.float32))"))
    assert "    device = torch.device('cuda' if gpu >= 0 else 'cpu')\n" in result.migrated
    assert "torch.zeros(3, dtype=torch.float32, device=device)" in result.migrated
    flipped = migrate(HEADER + "def f(gpu):\n    xp = np if gpu < 0 else cuda.cupy\n    return xp.ones(2)\n")
    assert "device = torch.device('cpu' if gpu < 0 else 'cuda')" in flipped.migrated, flipped.migrated
    assert "torch.ones(2, dtype=torch.float64, device=device)" in flipped.migrated


def test_an_unused_choice_goes():
    result = migrate(HEADER + "def f(gpu):\n    xp = np if gpu < 0 else cuda.cupy\n    return gpu\n")
    assert errors(result) == [] and "xp" not in result.migrated and "device" not in result.migrated, \
        result.migrated


@pytest.mark.parametrize("lines", [
    ("a = np.ones(3)", "return xp.sqrt(a)"),  # a host array: NumPy's function, not torch's
    ("return xp.sum(v)",),  # not known to be a tensor
    ("g = xp", "return g.zeros(3)"),  # the module itself
])
def test_a_use_that_may_be_a_host_array_keeps_the_marker(lines):
    result = migrate(flagged(*lines))
    marks = errors(result, "PT110")
    assert marks and "xp = cuda.cupy if gpu >= 0 else np" in result.migrated, result.migrated
    assert "netport: TODO(PT110)" in result.migrated


def test_a_file_with_its_own_device_name_keeps_the_marker():
    source = HEADER + "device = 'x'\n\n\ndef f(gpu):\n    xp = cuda.cupy if gpu >= 0 else np\n    return xp.ones(2)\n"
    result = migrate(source)
    assert errors(result, "PT110") and "xp.ones(2)" in result.migrated, result.migrated


def test_cupy_called_directly_is_torch_on_its_tensors():
    source = HEADER + ("def f(q):\n    return (cuda.to_cpu(cuda.cupy.argmax(q.data)), "
                       "cuda.to_cpu(cuda.cupy.max(q.data)),"
                       "\n            cuda.to_cpu(cuda.cupy.min(q.data, axis=0)))\n")
    result = migrate(source)
    assert errors(result) == [] and "cupy" not in result.migrated, result.migrated
    got = run(result.migrated, torch.as_tensor(DATA.copy()))
    # CuPy's argmax/max/min are NumPy's (argmax of the flattened array, max over all of it)
    for g, e in zip(got, (np.argmax(DATA), np.max(DATA), np.min(DATA, axis=0))):
        assert isinstance(g, np.ndarray) and g.dtype == np.asarray(e).dtype
        np.testing.assert_array_equal(g, e)
    created = migrate(HEADER + "def f(a):\n    return cuda.cupy.array(a)\n")
    assert "torch.as_tensor(a, device='cuda').clone()" in created.migrated, created.migrated


def test_cupy_that_torch_has_no_table_entry_for_keeps_the_marker():
    result = migrate(HEADER + "def f(q):\n    return cuda.cupy.cumsum(q.data)\n")
    assert errors(result, "PT063") and "cuda.cupy.cumsum" in result.migrated, result.migrated


def where_of(x: str, y: str) -> str:
    return HEADER + f"def f(v):\n    xp = cuda.get_array_module(v.data)\n    return xp.where(v.data, {x}, {y})\n"


def test_where_reads_the_condition_by_truth_value():
    data = np.array([[0.0, 2.0, np.nan], [-1.0, 0.0, 3.0]], dtype=np.float32)
    source = where_of("v.data", "xp.zeros_like(v.data)")
    result = migrate(source)
    assert errors(result) == [] and "torch.where(v.data.bool(), v.data, torch.zeros_like(v.data))" in \
        result.migrated, result.migrated
    expected = run(source, chainer_variable(data))
    got = run(result.migrated, torch.as_tensor(data))
    assert str(got.dtype) == f"torch.{expected.dtype}"
    np.testing.assert_array_equal(got.numpy(), expected)


@pytest.mark.parametrize("x, y", [("v.data", "0"), ("v.data", "xp.zeros(v.data.shape, dtype=xp.int32)")])
def test_where_of_operands_of_other_dtypes_keeps_the_marker(x, y):
    result = migrate(where_of(x, y))
    assert errors(result, "PT063"), result.migrated
    assert "xp.where" in result.migrated


def test_astype_of_an_array_made_a_tensor_is_a_copy_in_that_dtype():
    source = HEADER + ("def f(v):\n    xp = cuda.get_array_module(v.data)\n    m = xp.ones(v.data.shape)\n"
                       "    c = m.astype('float32')\n    c[0, 0] = 5\n    return m, c\n")
    result = migrate(source)
    assert errors(result) == [] and "m.to(torch.float32, copy=True)" in result.migrated, result.migrated
    expected = run(source, chainer_variable(DATA))
    got = run(result.migrated, torch.as_tensor(DATA.copy()))
    for g, e in zip(got, expected):
        assert str(g.dtype) == f"torch.{e.dtype}"
        np.testing.assert_array_equal(g.numpy(), e)


def test_astype_of_a_name_bound_otherwise_too_keeps_the_marker():
    source = HEADER + ("def f(v, a):\n    xp = cuda.get_array_module(v.data)\n    m = xp.ones(3)\n"
                       "    if a:\n        m = np.ones(3)\n    return m.astype('float32')\n")
    result = migrate(source)
    assert errors(result, "PT063") and "m.astype('float32')" in result.migrated, result.migrated


PROGRAM = """import numpy as np
import chainer
import chainer.functions as F
from chainer import cuda


def f(gpu, data):
    xp = cuda.cupy if gpu >= 0 else np
    x = chainer.Variable(xp.asarray(data, dtype=xp.float32))
    w = chainer.Variable(xp.full((4, 2), 0.5, dtype=xp.float32))
    h = F.matmul(x, w)
    best = xp.argmax(h.data, axis=1)
    top = xp.amax(h.data, axis=1)
    return best, top, F.sum(h).data
"""


@pytest.mark.skipif(not LEGACY.exists(), reason="needs .venv-legacy (Chainer 1.24)")
def test_a_flagged_program_matches_chainer_1_24():
    result = migrate(PROGRAM)
    assert errors(result) == [], (errors(result), result.migrated)
    script = PROGRAM + ("\nimport json, sys\nbest, top, total = f(-1, np.array(json.loads(sys.argv[1]), "
                        "dtype=np.float32))\nprint(json.dumps([best.tolist(), top.tolist(), float(total), "
                        "str(best.dtype), str(top.dtype)]))\n")
    out = subprocess.run([str(LEGACY), "-c", script, json.dumps(DATA.tolist())], capture_output=True, text=True,
                         cwd="/tmp", timeout=120)
    assert out.returncode == 0, out.stderr
    best, top, total, best_dtype, top_dtype = json.loads(out.stdout)
    got_best, got_top, got_total = run(result.migrated, -1, DATA.copy())
    assert got_best.tolist() == best and str(got_best.dtype) == f"torch.{best_dtype}"
    assert str(got_top.dtype) == f"torch.{top_dtype}"
    np.testing.assert_allclose(got_top.numpy(), top, rtol=1e-6)
    assert abs(float(got_total) - total) <= 1e-5 * abs(total)
    assert sys.version_info >= (3,)


def test_a_cupy_result_used_as_a_numpy_array_keeps_the_marker():
    result = migrate(HEADER + "y = cuda.cupy.arange(3).get()\n")
    assert errors(result, "PT063") and "cuda.cupy.arange(3).get()" in result.migrated, result.migrated


def test_a_function_choice_beside_a_module_level_choice_keeps_the_marker():
    source = HEADER + ("xp = np\nif gpu >= 0:\n    xp = cuda.cupy\n\n\n"
                       "def f(g):\n    xq = cuda.cupy if g >= 0 else np\n    return xq.zeros(3)\n")
    result = migrate(source)  # (PT025 writes a module-level `device`: a local one would shadow it)
    assert errors(result, "PT110") and "xq.zeros(3)" in result.migrated, result.migrated


VARIABLE_CHECK = HEADER + """class Holder(object):
    def __init__(self, w):
        self.W = w


def f(weights):
    if {test}:
        n = weights.data.shape[1]
    else:
        n = weights.W.data.shape[1]
    return n
"""


@pytest.mark.parametrize("test", ["type(weights) is chainer.Variable", "isinstance(weights, chainer.Variable)"])
def test_a_variable_check_whose_else_branch_no_array_passes_is_a_tensor_check(test):
    source = VARIABLE_CHECK.format(test=test)
    result = migrate(source)
    assert "if isinstance(weights, torch.Tensor):" in result.migrated, result.migrated
    assert errors(result) == [], errors(result)
    import chainer
    for chainer_value, torch_value in ((chainer.Variable(DATA), torch.as_tensor(DATA)),
                                       (Holder(chainer.Variable(DATA[:, :2])), Holder(torch.as_tensor(DATA[:, :2])))):
        assert run(source, chainer_value) == run(result.migrated, torch_value)


class Holder:
    def __init__(self, w):
        self.W = w


@pytest.mark.parametrize("source", [
    HEADER + "def f(p):\n    if isinstance(p, chainer.Variable):\n        return p.data\n    else:\n        return p\n",
    HEADER + "def f(p):\n    assert not isinstance(p, chainer.Variable)\n    return p\n",
    HEADER + "def f(p):\n    if isinstance(p, chainer.Variable):\n        return 1\n    else:\n"
             "        return p.shape\n",
])
def test_a_variable_check_an_array_may_pass_keeps_the_marker(source):
    result = migrate(source)  # (a Variable's .data is a tensor in torch: the check would answer otherwise)
    assert errors(result, "PT099") and "chainer.Variable" in result.migrated, result.migrated


def test_a_flagged_array_that_is_printed_keeps_the_marker():
    result = migrate(flagged("a = xp.zeros(3)", "print(a)", "return a"))
    assert errors(result, "PT110") and "xp.zeros(3)" in result.migrated, result.migrated


def test_a_marker_whose_quoted_code_the_rewrite_changed_is_not_added_again():
    """PT063 quotes the statement that passes `xp` on; that statement is rewritten (chainer.Variable ->
    torch.as_tensor), so a second run's message differs from the first's: the statement keeps one marker."""
    source = HEADER + "from lib import fill\n\n\ndef f(x):\n    xp = cuda.get_array_module(x.data)\n" \
        "    return chainer.Variable(fill(xp, 3))\n"
    once = migrate(source).migrated
    assert once.count("TODO(PT063)") == 1 and "torch.as_tensor(fill(xp, 3))" in once
    assert migrate(once).migrated == once


PASSED_ON = HEADER + '''def _state(xp, n):
    return xp.zeros((n, 2), dtype=np.float32) + xp.ones((n, 2), dtype=xp.float32)


def initial(x):
    xp = cuda.get_array_module(x.data)
    if len(x.data) > 1:
        xp = cuda.get_array_module(x.data)
    return chainer.Variable(_state(xp, len(x.data)))


def host(n):
    return _state(np, n)
'''


def test_an_array_module_passed_to_a_function_of_the_file_is_the_device_it_stood_for():
    """PT123: `_state` only creates arrays with its `xp`: it takes the device instead, and each call passes the
    device of what it was given (x.device for get_array_module(x.data), 'cpu' for NumPy); the results are the
    arrays Chainer made, as tensors."""
    result = migrate(PASSED_ON)
    assert not errors(result)
    assert "def _state(device, n):" in result.migrated
    assert "torch.as_tensor(_state(x.device, len(x.data)))" in result.migrated
    assert "return _state('cpu', n)" in result.migrated and "get_array_module" not in result.migrated
    assert [f.severity for f in result.findings if f.rule == "PT123"] == [Severity.INFO] * 3  # the def, 2 calls
    namespace: dict = {}
    exec(compile(result.migrated, "prog.py", "exec"), namespace)
    made = namespace["initial"](torch.zeros(3, 5))
    assert made.dtype == torch.float32 and made.device.type == "cpu" and torch.equal(made, torch.ones(3, 2))
    assert torch.equal(namespace["host"](2), torch.ones(2, 2))
    assert migrate(result.migrated).migrated == result.migrated


@pytest.mark.parametrize("change, why", [
    (("return xp.zeros((n, 2), dtype=np.float32) + xp.ones((n, 2), dtype=xp.float32)", "return xp.sum(xp.ones(n))"),
     "a function of the arrays it is given (NumPy's or torch's), not only a creation"),
    (("return _state(np, n)", "return _state"), "a reference that is no call"),
    (("return _state(np, n)", "return _state(module, n)"), "an argument that is no known array module"),
    (("return _state(np, n)", "return _state(xp=np, n=n)"), "an argument by keyword, which names the parameter"),
    (("    return chainer.Variable(_state(xp, len(x.data)))",
      "    again = lambda: xp.ones(3, dtype=xp.float32)\n    return chainer.Variable(_state(xp, len(x.data)))"),
     "a call whose binding does not convert (used in a nested function)"),
    (("return chainer.Variable(_state(xp, len(x.data)))", "x = x * 2\n    return chainer.Variable(_state(xp, 3))"),
     "the tensor it was chosen by assigned again before the call"),
])
def test_an_array_module_parameter_stays_where_a_call_or_use_is_not_known(change, why):
    result = migrate(PASSED_ON.replace(*change).replace("def host(n):", "def host(n, module=np):"))
    assert "def _state(xp, n):" in result.migrated, why
    assert not [f for f in result.findings if f.rule == "PT123"], why
    assert "_state(x.device" not in result.migrated and "_state('cpu'" not in result.migrated, why  # (no call)


def test_a_public_function_that_takes_the_device_now_is_a_warning():
    """Another module may call it with an array module, which it no longer takes."""
    result = migrate(PASSED_ON.replace("_state", "make_state"))
    assert [f.severity for f in result.findings if f.rule == "PT123" and f.line == 6] == [Severity.WARNING]
    assert "def make_state(device, n):" in result.migrated


def test_a_cupy_import_that_nothing_uses_any_more_goes():
    """Its calls are torch's now; kept, the import would fail on every machine without CuPy."""
    result = migrate("import chainer\nimport cupy\n\n\ndef f(q):\n    return cupy.argmax(chainer.Variable(q).data)\n")
    assert "import cupy" not in result.migrated and "torch.argmax(" in result.migrated and not errors(result)
    kept = migrate("import chainer\nimport cupy\nk = cupy.ElementwiseKernel('T x', 'T y', 'y = x', 'copy')\n")
    assert "import cupy\n" in kept.migrated and errors(kept, "PT064")
