"""User-defined chainer.Function subclasses on the torch target (PT093-PT096): the migrated classes compute, on
torch tensors through NumpyFunction, what Chainer 1.24 computes with them: forward values and gradients.

The Function module below (FUNCTIONS) is v1 code; it runs on the real Chainer 1.24 (.venv-legacy, a subprocess)
and, migrated with `--to torch`, on torch, both driven the same way (CHAINER_DRIVER, torch_driver) on the same
float32 arrays. Tolerance: the bodies are the same NumPy code on the same arrays, and the gradients reaching them
are the same arrays (a loss weighted by fixed coefficients: multiplications by 1 and by the coefficients, exact in
both), so with the same NumPy in both environments every value is bitwise equal; with another NumPy version only
float32 rounding of the same operations could differ, bounded here by rtol=1e-6."""

from __future__ import annotations

import json

import numpy as np
import pytest

from netport.migrate import Severity, migrate_source
from netport.migrate.project import ProjectFacts
from tests.conftest import environment_python, run_python

torch = pytest.importorskip("torch")

FUNCTIONS = '''import numpy
import six
from chainer import cuda
from chainer import function
from chainer.utils import force_array
from chainer.utils import type_check


class WeightedError(function.Function):
    """A generic forward/backward: xp, a label input without gradient, a scalar loss, state on self."""

    def __init__(self, scale):
        self.scale = scale

    def check_type_forward(self, in_types):
        type_check.expect(in_types.size() == 3)
        x_type, t_type, w_type = in_types
        type_check.expect(
            x_type.dtype == numpy.float32,
            x_type.ndim == 2,
            t_type.dtype.kind == 'i',
            t_type.shape[0] == x_type.shape[0],
            w_type.shape == (x_type.shape[1],),
        )

    def forward(self, inputs):
        x, t, w = inputs
        xp = cuda.get_array_module(x)
        self.onehot = (t[:, None] == xp.arange(x.shape[1])).astype(x.dtype)
        self.diff = x - w * self.onehot
        loss = self.scale * xp.sum(self.diff ** 2) / x.shape[0]
        return force_array(loss, numpy.float32),

    def backward(self, inputs, grad_outputs):
        x, t, w = inputs
        g, = grad_outputs
        gx = (2 * self.scale / x.shape[0]) * g * self.diff
        gw = -(gx * self.onehot).sum(axis=0)
        return gx.astype(x.dtype), None, gw.astype(w.dtype)


def weighted_error(x, t, w, scale=0.5):
    return WeightedError(scale)(x, t, w)


class ReverseGate(function.Function):
    """forward_cpu/backward_cpu: state on self, two outputs (the second may get no gradient), a reversed
    (negative-stride) output, a helper method, and a CuPy forward_gpu."""

    def __init__(self, reverse=True):
        self.reverse = reverse

    def _gate(self, a):
        return 1 / (1 + numpy.exp(-a))

    def forward_cpu(self, inputs):
        x, a = inputs
        self.s = self._gate(a)
        y = x * self.s
        if self.reverse:
            y = y[::-1]
        return y, numpy.tanh(x).sum(axis=1)

    def forward_gpu(self, inputs):
        x, a = inputs
        self.s = cuda.elementwise('T a', 'T s', 's = 1 / (1 + exp(-a))', 'gate')(a)
        y = x * self.s
        return (y[::-1] if self.reverse else y), cuda.cupy.tanh(x).sum(axis=1)

    def backward_cpu(self, inputs, grad_outputs):
        x, a = inputs
        gy, gz = grad_outputs
        self.got_no_gz = gz is None
        if self.reverse:
            gy = gy[::-1]
        gx = gy * self.s
        if gz is not None:
            gx = gx + gz[:, None] * (1 - numpy.tanh(x) ** 2)
        ga = gy * x * self.s * (1 - self.s)
        return gx, ga


class SteepGate(ReverseGate):
    """A subclass of the program's own Function: its base stays."""

    def _gate(self, a):
        return 1 / (1 + numpy.exp(-2 * a))


def gate(x, a, reverse=True):
    return ReverseGate(reverse)(x, a)


class RowMax(function.Function):
    """No backward (Chainer's default: no gradient), an int32 output, type checks in a loop and on self."""

    def __init__(self, n):
        self.n = n

    def check_type_forward(self, in_types):
        self_ = type_check.Variable(self, 'self')
        for t in in_types:
            type_check.expect(t.dtype == numpy.float32, t.shape[1] == self_.n)

    def forward_cpu(self, inputs):
        x, = inputs
        return x.argmax(axis=1).astype(numpy.int32), x.max(axis=1)
'''


def arrays() -> dict[str, np.ndarray]:
    rng = np.random.RandomState(0)
    f = np.float32
    return {"x": rng.normal(size=(4, 5)).astype(f), "t": np.array([0, 4, 2, 2], np.int32),
            "w": rng.uniform(0.5, 2, size=5).astype(f), "gx": rng.normal(size=(3, 4)).astype(f),
            "ga": rng.normal(size=(3, 4)).astype(f), "cy": rng.normal(size=(3, 4)).astype(f),
            "cz": rng.normal(size=3).astype(f)}


# Each case: its outputs' arrays, then the gradients of its inputs (NaN-free; None as the string "none").
CHAINER_DRIVER = '''import json, sys
import numpy as np
import chainer, chainer.functions as F
sys.path.insert(0, sys.argv[1])
import fns

d = dict(np.load(sys.argv[2]))
V = chainer.Variable
out = {"numpy": np.__version__}


def grads(*variables):
    return ["none" if v.grad is None else v.grad.tolist() for v in variables]


x, w = V(d["x"]), V(d["w"])
loss = fns.weighted_error(x, d["t"], w)
loss.backward()
out["weighted"] = [loss.data.tolist()] + grads(x, w)

x, a = V(d["gx"]), V(d["ga"])
y, z = fns.gate(x, a)
(F.sum(y * d["cy"]) + F.sum(z * d["cz"])).backward()
out["gate_both"] = [y.data.tolist(), z.data.tolist()] + grads(x, a)

x, a = V(d["gx"]), V(d["ga"])
f = fns.ReverseGate(False)
y, z = f(x, a)
F.sum(y * d["cy"]).backward()
out["gate_y"] = [y.data.tolist(), z.data.tolist(), str(f.got_no_gz)] + grads(x, a)

x, a = V(d["gx"]), V(d["ga"])
y1, _ = fns.ReverseGate()(x, a)
y2, _ = fns.SteepGate(False)(x, a)
(F.sum(y1 * d["cy"]) + F.sum(y2 * d["cy"])).backward()
out["gate_twice"] = [y1.data.tolist(), y2.data.tolist()] + grads(x, a)

x = V(d["gx"])
i, m = fns.RowMax(4)(x)
F.sum(m * d["cz"]).backward()
out["rowmax"] = [i.data.tolist(), str(i.data.dtype), m.data.tolist()] + grads(x)

try:
    fns.RowMax(5)(V(d["gx"]))
    out["rowmax_rejects"] = False
except Exception:
    out["rowmax_rejects"] = True
print(json.dumps(out))
'''


def torch_driver(fns, d: dict[str, np.ndarray]) -> dict:
    out = {"numpy": np.__version__}

    def tensor(name):
        return torch.tensor(d[name], requires_grad=True)

    def grads(*tensors):
        return ["none" if t.grad is None else t.grad.numpy().tolist() for t in tensors]

    x, w = tensor("x"), tensor("w")
    loss = fns.weighted_error(x, torch.as_tensor(d["t"]), w)
    loss.backward()
    out["weighted"] = [loss.detach().numpy().tolist()] + grads(x, w)

    x, w = tensor("x"), tensor("w")
    loss = fns.weighted_error(x, d["t"], w)  # a NumPy input, as Chainer took one
    loss.backward()
    out["weighted_numpy_label"] = [loss.detach().numpy().tolist()] + grads(x, w)

    x, a = tensor("gx"), tensor("ga")
    y, z = fns.gate(x, a)
    ((y * torch.as_tensor(d["cy"])).sum() + (z * torch.as_tensor(d["cz"])).sum()).backward()
    out["gate_both"] = [y.detach().numpy().tolist(), z.detach().numpy().tolist()] + grads(x, a)

    x, a = tensor("gx"), tensor("ga")
    f = fns.ReverseGate(False)
    y, z = f(x, a)
    (y * torch.as_tensor(d["cy"])).sum().backward()
    out["gate_y"] = [y.detach().numpy().tolist(), z.detach().numpy().tolist(), str(f.got_no_gz)] + grads(x, a)

    x, a = tensor("gx"), tensor("ga")
    y1, _ = fns.ReverseGate()(x, a)
    y2, _ = fns.SteepGate(False)(x, a)
    ((y1 * torch.as_tensor(d["cy"])).sum() + (y2 * torch.as_tensor(d["cy"])).sum()).backward()
    out["gate_twice"] = [y1.detach().numpy().tolist(), y2.detach().numpy().tolist()] + grads(x, a)

    x = tensor("gx")
    i, m = fns.RowMax(4)(x)
    assert not i.requires_grad and m.requires_grad
    (m * torch.as_tensor(d["cz"])).sum().backward()
    out["rowmax"] = [i.numpy().tolist(), str(i.numpy().dtype), m.detach().numpy().tolist()] + grads(x)

    try:
        fns.RowMax(5)(tensor("gx"))
        out["rowmax_rejects"] = False
    except AssertionError:
        out["rowmax_rejects"] = True
    return out


def migrated_functions() -> tuple[str, list]:
    result = migrate_source(FUNCTIONS, "fns.py", target="torch")
    assert result.error is None
    return result.migrated, result.findings


def test_migrated_functions_are_chainer_free_and_clean():
    migrated, findings = migrated_functions()
    assert [f.format() for f in findings if f.severity is Severity.ERROR] == []
    assert "chainer" not in migrated.replace("Chainer", "")
    assert "def forward_gpu" not in migrated and "cuda." not in migrated.replace("torch.cuda.", "")
    assert "class SteepGate(ReverseGate):" in migrated
    rules = {f.rule for f in findings}
    assert {"PT093", "PT094", "PT095", "PT096"} <= rules
    assert sum(f.rule == "PT094" and f.severity is Severity.WARNING for f in findings) == 1


def test_migrated_functions_compute_what_chainer_1_24_computes(tmp_path):
    legacy = environment_python("legacy")
    data = arrays()
    (tmp_path / "fns.py").write_text(FUNCTIONS)
    np.savez(tmp_path / "inputs.npz", **data)
    result = run_python(legacy, ["-c", CHAINER_DRIVER, str(tmp_path), str(tmp_path / "inputs.npz")], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    expected = json.loads(result.stdout.strip().splitlines()[-1])

    namespace = {"__name__": "fns"}
    exec(compile(migrated_functions()[0], "fns_torch", "exec"), namespace)
    fns = type("fns", (), namespace)
    got = torch_driver(fns, data)

    exact = expected.pop("numpy") == got.pop("numpy")
    assert got.pop("rowmax_rejects") is expected.pop("rowmax_rejects") is True
    expected["weighted_numpy_label"] = expected["weighted"]
    assert sorted(got) == sorted(expected)
    for case, values in expected.items():
        assert len(got[case]) == len(values), case
        for mine, theirs in zip(got[case], values):
            if isinstance(theirs, str):  # "none" (no gradient) or a dtype
                assert mine == theirs, case
            elif exact:
                np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs), err_msg=case)
            else:
                np.testing.assert_allclose(np.asarray(mine), np.asarray(theirs), rtol=1e-6, err_msg=case)
    # what the cases are for: backward got None for the unused output; no backward, no gradient
    assert expected["gate_y"][2] == "True" and expected["gate_y"][3] != "none" and expected["rowmax"][3] == "none"


# --- the rules' edges ------------------------------------------------------------------------------------------

HEADER = "import numpy\nfrom chainer import cuda\nfrom chainer import function\nimport chainer.functions as F\n\n\n"


def migrate(source: str, project: ProjectFacts | None = None, path: str = "t.py"):
    result = migrate_source(source, path, target="torch", project=project)
    assert result.error is None
    return result.migrated, result.findings


def errors(findings, rule: str) -> list[str]:
    return [f.message for f in findings if f.rule == rule and f.severity is Severity.ERROR]


def test_a_gpu_only_function_is_marked_not_dropped():
    source = HEADER + "class Neg(function.Function):\n    def forward_gpu(self, inputs):\n        return -inputs[0],\n"
    migrated, findings = migrate(source)
    assert "def forward_gpu" in migrated and "TODO(PT094)" in migrated
    assert any("has only a CuPy `forward_gpu`" in m for m in errors(findings, "PT094"))


def test_function_members_the_bridge_lacks_are_marked():
    source = HEADER + ("class Peek(function.Function):\n    def forward(self, inputs):\n"
                       "        self.retain_outputs((0,))\n        return inputs[0] * 2,\n\n"
                       "    def backward(self, inputs, grad_outputs):\n"
                       "        return self.inputs[0].data * 0 + grad_outputs[0] * 2,\n")
    migrated, findings = migrate(source)
    messages = errors(findings, "PT096")
    assert any("`self.retain_outputs`" in m for m in messages) and any("`self.inputs`" in m for m in messages)
    assert "class Peek(NumpyFunction):" in migrated


def test_a_chainer_function_inside_a_body_is_marked_and_an_unknown_array_module_stays_marked():
    source = HEADER + ("class Act(function.Function):\n    def __init__(self, W):\n        self.W = W\n\n"
                       "    def forward(self, inputs):\n        xp = cuda.get_array_module(self.W)\n"
                       "        return F.relu(inputs[0]).data + xp.zeros(1),\n")
    migrated, findings = migrate(source)
    assert any("`chainer.functions.relu` inside a NumpyFunction body" in m for m in errors(findings, "PT096"))
    assert "xp = cuda.get_array_module(self.W)" in migrated and errors(findings, "PT063")  # self.W: maybe CuPy


def test_a_rebound_name_is_not_taken_for_an_input_array():
    source = HEADER + ("class F1(function.Function):\n    def forward(self, inputs):\n        x = inputs[0]\n"
                       "        xp = cuda.get_array_module(x)\n        x = self.W\n        return xp.abs(x),\n")
    migrated, findings = migrate(source)
    assert "xp = cuda.get_array_module(x)" in migrated and errors(findings, "PT063")


def test_a_type_check_it_cannot_say_exactly_is_dropped_with_a_warning():
    source = HEADER + ("from chainer.utils import type_check\n\n\nclass Odd(function.Function):\n"
                       "    def check_type_forward(self, in_types):\n        x_type, = in_types\n"
                       "        if x_type.ndim.eval() == 2:\n            type_check.expect(x_type.shape[1] == 3)\n\n"
                       "    def forward(self, inputs):\n        return inputs[0],\n")
    migrated, findings = migrate(source)
    assert "check_type_forward" not in migrated.split("class Odd")[1]
    assert any(f.rule == "PT095" and f.severity is Severity.WARNING for f in findings)
    assert not [f for f in findings if f.severity is Severity.ERROR]


def test_a_type_check_on_a_bare_type_info_is_not_an_assert():
    source = HEADER + ("from chainer.utils import type_check\n\n\nclass Same(function.Function):\n"
                       "    def check_type_forward(self, in_types):\n        a, b = in_types\n"
                       "        type_check.expect(a.size == b.size)\n\n"  # (no `size` on a TypeInfo)
                       "    def forward(self, inputs):\n        return inputs[0],\n")
    migrated, findings = migrate(source)
    assert "assert" not in migrated.split("class Same")[1]


def test_a_subclass_in_another_file_keeps_its_base_and_loses_its_gpu_body():
    base = HEADER + "class Base(function.Function):\n    def forward_cpu(self, inputs):\n        return inputs[0],\n"
    child = ("import numpy\nfrom chainer import cuda\nfrom base import Base\n\n\nclass Child(Base):\n"
             "    def forward_cpu(self, inputs):\n        x, = inputs\n        xp = cuda.get_array_module(x)\n"
             "        return xp.abs(x),\n\n    def forward_gpu(self, inputs):\n"
             "        return cuda.cupy.abs(inputs[0]),\n")
    project = ProjectFacts()
    project.add_source(base)
    project.add_source(child)
    migrated, findings = migrate(child, project, "child.py")
    assert "class Child(Base):" in migrated and "NumpyFunction" not in migrated
    assert "xp = numpy" in migrated and "forward_gpu" not in migrated
    assert not [f for f in findings if f.severity is Severity.ERROR]


def test_a_file_with_its_own_numpy_function_is_left_to_the_residual_sweep():
    source = HEADER + ("class NumpyFunction:\n    pass\n\n\nclass Neg(function.Function):\n"
                       "    def forward_cpu(self, inputs):\n        return -inputs[0],\n")
    migrated, findings = migrate(source)
    assert "class Neg(function.Function):" in migrated and errors(findings, "PT099")


def test_the_bridge_comes_before_the_first_class_on_it_when_an_import_ends_the_file():
    source = HEADER + ("class Neg(function.Function):\n    def forward_cpu(self, inputs):\n        return -inputs[0],\n"
                       "\n\nimport os\n")
    migrated, findings = migrate(source)
    assert migrated.index("class NumpyFunction:") < migrated.index("class Neg(NumpyFunction):")
    assert not [f for f in findings if f.severity is Severity.ERROR]
    namespace: dict = {}
    exec(compile(migrated, "neg", "exec"), namespace)
    assert namespace["Neg"]()(torch.tensor([1.0, -2.0])).tolist() == [-1.0, 2.0]


def test_migration_is_idempotent():
    once, _ = migrated_functions()
    twice = migrate_source(once, "fns.py", target="torch")
    assert twice.migrated == once
    assert not [f for f in twice.findings if f.severity is not Severity.INFO or f.rule.startswith("PT09")]


def test_retain_inputs_gives_backward_none_for_an_input_it_did_not_keep():
    """Chainer 2+'s retain_inputs (FunctionAdapter.backward: None for the inputs not retained), on the bridge."""
    source = HEADER + ("class Mul(function.Function):\n    def forward(self, inputs):\n"
                       "        self.retain_inputs((1,))\n        return inputs[0] * inputs[1],\n\n"
                       "    def backward(self, inputs, grad_outputs):\n        assert inputs[0] is None\n"
                       "        return grad_outputs[0] * inputs[1], None\n")
    migrated, findings = migrate(source)
    assert not [f for f in findings if f.severity is Severity.ERROR]
    namespace: dict = {}
    exec(compile(migrated, "mul", "exec"), namespace)
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    namespace["Mul"]()(x, torch.tensor([3.0, 4.0])).sum().backward()
    assert x.grad.tolist() == [3.0, 4.0]
