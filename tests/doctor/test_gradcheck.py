"""netport.doctor.gradcheck on the fixtures of issue 18: hand-written backprop (numpy update steps and
gradient functions), a torch.autograd.Function and a chainer.Function, right and wrong."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from netport.doctor.gradcheck import GradcheckError, gradcheck, load_case, main_gradcheck

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str):
    """Import a fixture module by path (the bug fixtures import their corrected sibling)."""
    sys.path.insert(0, str(FIXTURES))
    try:
        spec = importlib.util.spec_from_file_location(f"gradcheck_fixture_{name}", FIXTURES / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(FIXTURES))
    return module


def bug_lines(name: str) -> list[int]:
    lines = (FIXTURES / f"{name}.py").read_text().splitlines()
    return [number for number, line in enumerate(lines, 1) if "# BUG" in line]


def case(spec: str):
    return load_case(str(FIXTURES / spec)).run()


# question 1: XOR 2-2-1 with the bias adjusted by gamma * output


def test_xor_bias_bug_names_the_biases_and_passes_the_weights():
    result = case("xor_backprop_bias_bug.py")
    assert not result.ok
    assert result.wrong == ["b_hidden", "b_output"]
    assert result["W_hidden"].ok and result["W_output"].ok
    # the buggy updates are the lines marked BUG: b_output's first, then b_hidden's
    assert [result["b_output"].line, result["b_hidden"].line] == bug_lines("xor_backprop_bias_bug")
    text = result.format()
    assert "gradient of 'b_hidden' is wrong: max rel error" in text
    assert "gradient of 'W_hidden'" not in text
    assert text.rstrip().endswith("2 of 4 gradients wrong")


def test_xor_corrected_passes():
    result = case("xor_backprop.py")
    assert result.ok and result.wrong == []
    assert all(check.max_rel_error < 1e-6 for check in result.checks)


def test_xor_bias_bug_is_why_training_fails():
    buggy, corrected = fixture("xor_backprop_bias_bug"), fixture("xor_backprop")
    assert corrected.train(epochs=3000)[1] < 1e-3  # E = 1/2 sum (t - y)^2 over the four patterns
    assert buggy.train(epochs=3000)[1] > 0.1  # the biases grow without bound: every output saturates


def test_params_are_left_as_they_were():
    module = fixture("xor_backprop_bias_bug")
    params = module.init_params(0)
    arrays = dict(params)
    copies = {name: value.copy() for name, value in params.items()}
    gradcheck(module.loss, params, args=(module.X, module.T), step=module.train_step, lr=module.GAMMA)
    assert all(params[name] is arrays[name] and np.array_equal(params[name], copies[name]) for name in params)


# question 5: the usual bugs of hand-written backprop in a 1-5-1 tanh network


def test_small_net_extra_factor_makes_every_gradient_wrong():
    result = case("small_net_backprop_bugs.py:gradcheck_case_extra_factor")
    # the output delta is propagated back, so the hidden layer's gradients are wrong too
    assert result.wrong == ["W1", "b1", "W2", "b2"]


def test_small_net_wrong_sign_is_named_with_its_line():
    result = case("small_net_backprop_bugs.py:gradcheck_case_wrong_sign")
    assert result.wrong == ["W1"]
    # the implied gradient is exact to float64 rounding (~1e-13 relative): -1 holds to far better than 1e-6
    assert result["W1"].scale == pytest.approx(-1, abs=1e-6)
    assert result["W1"].line == bug_lines("small_net_backprop_bugs")[1]
    assert "(wrong sign)" in result.format()


def test_small_net_learning_rate_applied_twice():
    module = fixture("small_net_backprop")
    result = case("small_net_backprop_bugs.py:gradcheck_case_lr_twice")
    assert result.wrong == ["W1", "b1", "W2", "b2"]
    assert result.common_scale() == pytest.approx(module.LR, rel=1e-6)
    assert "the learning rate, applied twice" in result.format()


def test_small_net_corrected_passes():
    assert case("small_net_backprop.py").ok


def test_all_positive_weights_and_no_bias_are_not_gradient_errors():
    assert case("small_net_backprop_bugs.py:gradcheck_case_all_positive").ok
    assert case("small_net_backprop_bugs.py:gradcheck_case_no_bias").ok


def test_no_bias_network_cannot_fit_an_even_target():
    """Without biases the net is odd; on a grid symmetric about 0 the MSE against an even target g is
    then at least mean(g**2) (the odd and even parts are orthogonal), whatever the weights."""
    bugs = fixture("small_net_backprop_bugs")
    rng = np.random.default_rng(0)
    target = np.cos(bugs.X)
    floor = np.mean(target ** 2)
    for _ in range(20):
        params = {"W1": rng.normal(0, 3, (1, 5)), "W2": rng.normal(0, 3, (5, 1))}
        y = bugs.forward_no_bias(params, bugs.X)
        assert np.allclose(bugs.forward_no_bias(params, -bugs.X), -y, rtol=0, atol=1e-12)
        assert np.mean((y - target) ** 2) >= floor * (1 - 1e-12)
    assert floor > 0.4  # far above the 0.0003 goal


# the numpy gradient-function form, with an object of arrays


class Net:
    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.W = rng.standard_normal((3, 2))
        self.b = rng.standard_normal(2)
        self.label = "not a parameter"


def net_loss(net, x, t):
    return 0.5 * np.sum((np.tanh(x @ net.W + net.b) - t) ** 2)


def net_grad(net, x, t, scale_b=1.0):
    y = np.tanh(x @ net.W + net.b)
    delta = (y - t) * (1 - y ** 2)
    return {"W": x.T @ delta, "b": scale_b * delta.sum(axis=0)}


def net_data():
    rng = np.random.default_rng(1)
    return rng.standard_normal((6, 3)), rng.standard_normal((6, 2))


def test_gradient_function_on_an_object_of_arrays():
    args = net_data()
    assert gradcheck(net_loss, Net(), args=args, grad=net_grad).ok
    # a relative error of 1e-4, far below any real bug's and far above the tolerance (1e-6 plus the bound)
    result = gradcheck(net_loss, Net(), args=args, grad=lambda n, x, t: net_grad(n, x, t, scale_b=1 + 1e-4))
    assert result.wrong == ["b"]
    assert result["b"].max_rel_error == pytest.approx(1e-4, rel=1e-3)


def test_missing_gradient_is_reported():
    result = gradcheck(net_loss, Net(), args=net_data(), grad=lambda n, x, t: {"W": net_grad(n, x, t)["W"]})
    assert result.wrong == ["b"] and result["b"].problem == "no gradient was given"


def test_bad_arguments_are_refused():
    with pytest.raises(GradcheckError, match="exactly one of grad="):
        gradcheck(net_loss, Net(), args=net_data())
    with pytest.raises(GradcheckError, match="needs lr="):
        gradcheck(net_loss, Net(), args=net_data(), step=lambda n, x, t: None)


# framework functions


def test_torch_function_with_a_wrong_bias_gradient():
    functions = fixture("custom_functions")
    right = gradcheck(functions.TorchLinear, functions.linear_inputs())
    assert right.ok and right.torch_gradcheck is True
    assert [check.name for check in right.checks] == ["input", "weight", "bias"]
    wrong = gradcheck(functions.TorchLinearBiasBug, functions.linear_inputs())
    assert wrong.wrong == ["bias"] and wrong.torch_gradcheck is False
    assert wrong["bias"].scale == pytest.approx(1 / 4, rel=1e-6)  # a mean over a batch of 4
    assert wrong["bias"].line == bug_lines("custom_functions")[0]


def test_chainer_function_with_a_wrong_derivative():
    functions = fixture("custom_functions")
    right = gradcheck(functions.ChainerLinear, functions.linear_inputs())
    assert right.ok and [check.name for check in right.checks] == ["x", "W", "b"]
    x = np.random.default_rng(1).standard_normal((3, 4))
    assert gradcheck(functions.ChainerTanh, (x,)).ok
    wrong = gradcheck(functions.ChainerTanhBug, (x,))
    assert wrong.wrong == ["x"] and wrong["x"].line == bug_lines("custom_functions")[1]


# the command line's entry point


def test_main_gradcheck_exit_codes_and_json(tmp_path, capsys, monkeypatch):
    assert main_gradcheck(str(FIXTURES / "xor_backprop.py")) == 0
    assert "all gradients right (4 checked)" in capsys.readouterr().out
    report = tmp_path / "report.json"
    assert main_gradcheck(f"{FIXTURES / 'xor_backprop_bias_bug.py'}:gradcheck_case", "json", str(report)) == 1
    data = json.loads(report.read_text())
    assert data["wrong"] == ["b_hidden", "b_output"] and data["ok"] is False
    monkeypatch.chdir(FIXTURES.parents[2])  # a dotted module name, from the repository root
    assert main_gradcheck("tests.doctor.fixtures.xor_backprop:gradcheck_case") == 0
    capsys.readouterr()


@pytest.mark.parametrize("spec, fmt, message", [
    ("no_such_module_xyz:case", "text", "cannot import no_such_module_xyz: ModuleNotFoundError"),
    ("missing/file.py:case", "text", "missing/file.py: no such file"),
    (f"{FIXTURES / 'xor_backprop.py'}:no_such_function", "text", "has no function 'no_such_function'"),
    (f"{FIXTURES / 'custom_functions.py'}:linear_inputs", "text", "must return a GradcheckCase"),
    (f"{FIXTURES / 'xor_backprop.py'}:", "text", "--gradcheck takes module:function"),
    (f"{FIXTURES / 'xor_backprop.py'}", "sarif", "--gradcheck writes text or json, not sarif"),
])
def test_main_gradcheck_usage_errors(spec, fmt, message, capsys):
    assert main_gradcheck(spec, fmt) == 2
    err = capsys.readouterr().err
    assert err.startswith("netport doctor: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_netport_doctor_gradcheck_stays_callable():
    """The package's netport.doctor.gradcheck(...) works after the submodule of that name is imported."""
    import netport.doctor
    import netport.doctor.gradcheck  # noqa: F401  (rebinds the package attribute to the module)

    args = net_data()
    assert netport.doctor.gradcheck(net_loss, Net(), args=args, grad=net_grad).ok
    assert netport.doctor.gradcheck(net_loss, Net(), args=args, grad=net_grad).ok
