"""PT085-PT089: `xp = cuda.get_array_module(v.data)` and `link.xp` on the torch target. Each converted use is run
on torch and compared with what the original computes with NumPy (Chainer 7 in this environment, whose
get_array_module of a CPU Variable's data is NumPy as Chainer 1.24's was); what does not convert stays marked."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from netport.migrate import Severity, migrate_source

HEADER = "import numpy as np\nimport chainer\nfrom chainer import cuda\n\n\n"


def migrate(source: str):
    result = migrate_source(source, "prog.py", target="torch")
    assert result.error is None, result.error
    return result


def errors(result):
    return [f for f in result.findings if f.severity is Severity.ERROR]


def function_of(expression: str) -> str:
    return HEADER + f"def f(v):\n    xp = cuda.get_array_module(v.data)\n    return {expression}\n"


def run(source: str, value):
    namespace: dict = {}
    exec(compile(source, "prog.py", "exec"), namespace)
    return namespace["f"](value)


DATA = np.random.RandomState(0).uniform(0.1, 0.9, (3, 4)).astype(np.float32)

# deterministic uses: the torch result must have NumPy's values and dtype
DETERMINISTIC = [
    "xp.zeros((2, 3))", "xp.ones(4, dtype=xp.float32)", "xp.zeros(3, dtype=np.int32)", "xp.ones((2,), 'f')",
    "xp.full((2, 2), 1.5)", "xp.full((2,), 7)", "xp.full((2,), 7, dtype=xp.float32)",
    "xp.zeros_like(v.data)", "xp.ones_like(v.data, dtype=xp.float64)", "xp.full_like(v.data, 2)",
    "xp.eye(3)", "xp.eye(2, 3, dtype=xp.float32)", "xp.identity(2)", "xp.arange(5)", "xp.arange(0, 1, 0.25)",
    "xp.arange(len(v.data), dtype=xp.float32)", "xp.linspace(0, 1, 5)", "xp.linspace(-1, 1)",
    "xp.asarray([1.0, 2.0])", "xp.asarray([1, 2])", "xp.asarray(v.data)", "xp.asarray(v.data, dtype=xp.float64)",
    "xp.array(v.data.shape)", "xp.array([1, 2, 3])", "xp.array(0, dtype=xp.float32)", "xp.array(v.data)",
    "xp.zeros(3).astype(xp.float32)",
    "xp.sqrt(v.data)", "xp.exp(v.data)", "xp.log(v.data)", "xp.log2(v.data)", "xp.tanh(v.data)",
    "xp.abs(v.data - 0.5)", "xp.square(v.data)", "xp.sign(v.data - 0.5)", "xp.negative(v.data)",
    "xp.log1p(v.data)", "xp.clip(v.data, 0.2, 0.8)", "xp.matmul(v.data, v.data.T)",
    "xp.sum(v.data)", "xp.sum(v.data, axis=1)", "xp.sum(v.data, axis=(0, 1), keepdims=True)",
    "xp.sum(v.data, keepdims=True)",
    "xp.sum(v.data, 0, xp.float64)", "xp.mean(v.data, axis=0)", "xp.mean(v.data, keepdims=True)",
    "xp.prod(v.data, axis=1)", "xp.prod(v.data)", "xp.max(v.data, axis=1)", "xp.amax(v.data)",
    "xp.min(v.data, axis=-1, keepdims=True)", "xp.argmax(v.data)", "xp.argmax(v.data, axis=1)",
    "xp.argmin(v.data, axis=0)", "xp.std(v.data)", "xp.var(v.data, axis=0, ddof=1)", "xp.std(v.data, axis=(0, 1))",
    "xp.any(v.data > 0.5, axis=1)", "xp.all(v.data > 0.05)", "xp.concatenate([v.data, v.data], axis=1)",
    "xp.concatenate((v.data, v.data))", "xp.stack([v.data, v.data])", "xp.stack([v.data, v.data], axis=2)",
    "v.data[:, xp.newaxis]", "(v + xp.ones(v.shape)).data", "(v * xp.asarray([2.0, 1.0, 1.0, 1.0])).data",
    "xp.sum(xp.exp(v.data), axis=1) / xp.float32(2)",
]


@pytest.mark.parametrize("expression", DETERMINISTIC)
def test_a_converted_use_computes_what_numpy_computed(expression):
    source = function_of(expression)
    result = migrate(source)
    assert errors(result) == [], errors(result)
    assert not re.search(r"\bxp\b|cuda", result.migrated), result.migrated
    expected = run(source, __import__("chainer").Variable(DATA.copy()))
    got = run(result.migrated, torch.as_tensor(DATA.copy()))
    assert isinstance(got, torch.Tensor), result.migrated
    expected = np.asarray(expected)
    assert str(got.dtype) == f"torch.{expected.dtype}", (result.migrated, got.dtype, expected.dtype)
    assert tuple(got.shape) == expected.shape
    np.testing.assert_allclose(got.numpy(), expected, rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("expression", ["xp.empty((2, 3))", "xp.empty(4, dtype=xp.int32)", "xp.empty_like(v.data)"])
def test_empty_arrays_have_numpys_shape_and_dtype(expression):
    source = function_of(expression)
    result = migrate(source)
    assert errors(result) == []
    expected = run(source, __import__("chainer").Variable(DATA.copy()))
    got = run(result.migrated, torch.as_tensor(DATA.copy()))
    assert str(got.dtype) == f"torch.{expected.dtype}" and tuple(got.shape) == expected.shape


def test_module_questions_answer_as_on_the_host():
    source = HEADER + ("def f(v):\n    xp = cuda.get_array_module(v.data)\n"
                       "    return isinstance(v.data, xp.ndarray), xp is np, xp != np, xp == cuda.cupy\n")
    result = migrate(source)
    assert errors(result) == []
    assert "v.device.type == 'cpu'" in result.migrated and "isinstance(v.data, torch.Tensor)" in result.migrated
    assert run(result.migrated, torch.as_tensor(DATA)) == run(source, __import__("chainer").Variable(DATA)) == \
        (True, True, False, False)


@pytest.mark.parametrize("expression, dtype, values", [
    ("xp.random.normal(size=(2000,))", torch.float64, None),
    ("xp.random.normal(1.0, 0.5, (3, 4))", torch.float64, None),
    ("xp.random.uniform(-1, 1, (500,)).astype(xp.float32)", torch.float32, (-1, 1)),
    ("xp.random.uniform(size=7)", torch.float64, (0, 1)),
    ("xp.random.rand(3, 2)", torch.float64, (0, 1)),
    ("xp.random.randn(*v.data.shape)", torch.float64, None),
    ("xp.random.random_sample((4,))", torch.float64, (0, 1)),
    ("xp.random.randint(0, 3, size=200)", torch.int64, {0, 1, 2}),
    ("xp.random.randint(2, size=(50,))", torch.int64, {0, 1}),
    ("xp.random.randint(0, 3, 100, dtype=xp.int32)", torch.int32, {0, 1, 2}),
    ("xp.random.random_integers(1, 2, size=100)", torch.int64, {1, 2}),
    ("xp.random.random_integers(2, size=100)", torch.int64, {1, 2}),
    ("xp.random.permutation(6)", torch.int64, set(range(6))),
    ("v + 0.1 * xp.random.randn(*v.data.shape)", torch.float32, None),  # Chainer cast it to the Variable's dtype
])
def test_random_draws_come_from_torch_in_numpys_dtype(expression, dtype, values):
    source = function_of(expression)
    result = migrate(source)
    assert errors(result) == [], errors(result)
    assert any(f.rule == "PT087" and "torch's generator" in f.message for f in result.findings)
    expected = np.asarray(getattr(run(source, __import__("chainer").Variable(DATA.copy())), "data", None)
                          if expression.startswith("v +") else run(source, __import__("chainer").Variable(DATA)))
    got = run(result.migrated, torch.as_tensor(DATA.copy()))
    assert got.dtype == dtype and tuple(got.shape) == expected.shape, result.migrated
    assert str(got.dtype) == f"torch.{expected.dtype}"
    if isinstance(values, tuple):
        assert values[0] <= got.min() and got.max() < values[1]
    elif isinstance(values, set):
        assert set(got.tolist()) <= values
        if "permutation" in expression:
            assert sorted(got.tolist()) == sorted(values)


def test_normal_draws_have_numpys_moments():
    result = migrate(function_of("xp.random.normal(1.0, 0.5, size=(20000,))"))
    torch.manual_seed(0)
    draws = run(result.migrated, torch.as_tensor(DATA))
    assert abs(float(draws.mean()) - 1.0) < 0.02 and abs(float(draws.std()) - 0.5) < 0.02


def test_a_numpy_seed_in_the_program_gets_a_warning():
    source = HEADER + "np.random.seed(1)\n\n\ndef f(v):\n    xp = cuda.get_array_module(v.data)\n" \
                      "    return xp.random.uniform(size=v.shape)\n"
    result = migrate(source)
    assert [f.rule for f in result.findings if f.severity is Severity.WARNING] == ["PT089"]
    assert "torch.manual_seed(1)" in result.migrated


def test_uses_the_table_does_not_cover_keep_the_binding_and_say_what_is_left():
    source = HEADER + ("def f(v, scale):\n    xp = cuda.get_array_module(v.data)\n"
                       "    d = xp.random.normal(size=v.shape)\n    n = normalize(d, xp)\n"
                       "    w = xp.where(v.data > 0, v.data, 0)\n"
                       "    return d.astype(xp.float32), xp.sum(v.data, axis=1), n, w\n")
    result = migrate(source)
    [marker] = errors(result)
    assert marker.rule == "PT063"
    for words in ("`n = normalize(d, xp)` uses the module itself",
                  "`xp.where(v.data > 0, v.data, 0)`: a torch function takes tensors only", "then delete this line"):
        assert words in marker.message, marker.message
    assert "    xp = cuda.get_array_module(v.data)  # netport: TODO(PT063)" in result.migrated
    assert "torch.sum(v.data, dim=1)" in result.migrated  # what converts is converted
    assert "d.to(torch.float32, copy=True)" in result.migrated  # numpy's astype copies


@pytest.mark.parametrize("body, words", [
    ("def f(x):\n    xp = cuda.get_array_module(x)\n    return xp.zeros(3)\n", "not known to be a tensor"),
    ("def f(v):\n    xp = cuda.get_array_module(v.data)\n    v = g(v)\n    return xp.zeros(3)\n",
     "`v` is assigned again after the choice"),
    ("def f(v):\n    xp = cuda.get_array_module(v.data)\n    return lambda: xp.zeros(3)\n",
     "used in a nested function"),
    ("def f(v, xs):\n    xp = cuda.get_array_module(v.data)\n    for xp in xs:\n        pass\n    return xp.zeros(3)\n",
     "bound otherwise too"),
    ("def f(v):\n    xp = cuda.get_array_module(v.data)\n    return xp.full(3, v.scale)\n", "give dtype="),
    ("def f(v):\n    xp = cuda.get_array_module(v.data)\n    return xp.zeros(3, order='F')\n", "order='F'"),
    ("def f(v):\n    xp = cuda.get_array_module(v.data)\n    return xp.sqrt(2)\n", "tensors only"),
    ("def f(v):\n    xp = cuda.get_array_module(v.data)\n    return xp.random.normal()\n", "Python number"),
    ("def f(v):\n    xp = cuda.get_array_module(v.data)\n    return xp.sum(v.data, axis=())\n", "empty axis"),
    ("def f(v):\n    xp = cuda.get_array_module(v.data)\n    return xp.prod(v.data, axis=(0, 1))\n", "single dim"),
])
def test_what_is_not_proven_stays_marked(body, words):
    result = migrate(HEADER + body)
    found = errors(result)
    assert [f.rule for f in found] == ["PT063"], found
    assert words in found[0].message, found[0].message
    assert "cuda.get_array_module" in result.migrated


def test_a_binding_alone_in_its_block_leaves_a_pass():
    source = HEADER + ("def f(v, first):\n    if first:\n        xp = cuda.get_array_module(v.data)\n"
                       "    else:\n        xp = cuda.get_array_module(v.data)\n    return xp.ones(2)\n")
    result = migrate(source)
    assert errors(result) == []
    assert "    if first:\n        pass\n    else:\n        pass\n    return torch.ones(2, dtype=torch.float64, " \
           "device=v.device)\n" in result.migrated
    namespace: dict = {}
    exec(compile(result.migrated, "prog.py", "exec"), namespace)
    assert namespace["f"](torch.as_tensor(DATA), True).tolist() == [1.0, 1.0]


def test_an_axis_range_is_a_tuple_of_dims():
    """`axis=range(1, n)` (as vat_chainer wrote for CuPy) reduces those axes: torch takes them as a tuple."""
    result = migrate(function_of("xp.sum(v.data ** 2, axis=range(1, len(v.shape)), keepdims=True)"))
    assert "torch.sum(v.data ** 2, dim=tuple(range(1, len(v.shape))), keepdim=True)" in result.migrated
    np.testing.assert_allclose(run(result.migrated, torch.as_tensor(DATA)).numpy(),
                               np.sum(DATA ** 2, axis=(1,), keepdims=True), rtol=1e-6)


def test_a_name_bound_to_a_variable_chooses_its_device():
    source = HEADER + ("def f(a):\n    v = chainer.Variable(a)\n    xp = cuda.get_array_module(v)\n"
                       "    return v.data + xp.arange(4)\n")
    result = migrate(source)
    assert errors(result) == []
    assert "torch.arange(4, device=v.device)" in result.migrated
    got = run(result.migrated, DATA.copy())
    np.testing.assert_allclose(got.numpy(), run(source, DATA.copy()))


LINK = HEADER + '''import chainer.functions as F
import chainer.links as L


class Critic(chainer.Chain):
    def __init__(self):
        super(Critic, self).__init__(l1=L.Linear(4, 1))

    def loss(self, x):
        xp = self.xp
        ones = xp.ones((len(x), 1), dtype=xp.float32)
        zeros = self.xp.zeros((len(x), 1), dtype=self.xp.float32)
        return F.mean_squared_error(self.l1(x), ones) + F.mean_squared_error(self.l1(x), zeros)


def on_gpu(model):
    return model.xp is not np
'''


def test_a_links_xp_is_the_device_of_its_parameters():
    result = migrate(LINK)
    assert errors(result) == [], errors(result)
    assert "xp" not in result.migrated, result.migrated
    device = "device=next(self.parameters()).device"
    assert f"ones = torch.ones((len(x), 1), dtype=torch.float32, {device})" in result.migrated
    assert "return next(model.parameters()).device.type != 'cpu'" in result.migrated
    assert any(f.rule == "PT088" for f in result.findings)
    namespace: dict = {}
    exec(compile(result.migrated, "prog.py", "exec"), namespace)
    model = namespace["Critic"]()
    with torch.no_grad():
        model.l1.weight.copy_(torch.as_tensor([[0.1, -0.2, 0.3, 0.05]]))
        model.l1.bias.fill_(0.5)
    x = torch.as_tensor(DATA)
    y = x @ model.l1.weight.T + 0.5
    expected = ((y - 1) ** 2).mean() + (y ** 2).mean()
    assert torch.allclose(model.loss(x), expected) and namespace["on_gpu"](model) is False


def test_an_xp_of_what_is_not_a_link_stays_pt025s():
    result = migrate(HEADER + "class Agent(object):\n    def act(self):\n        return self.xp.zeros(3)\n")
    assert [f.rule for f in errors(result)] == ["PT025"]


def test_a_converted_program_is_migrated_again_unchanged():
    once = migrate(LINK).migrated
    again = migrate(once)
    assert again.migrated == once and [f for f in again.findings if f.rule.startswith("PT08")] == []
