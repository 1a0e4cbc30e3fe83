"""netport.optim.LevenbergMarquardt: the damped Gauss-Newton step, trainlm's mu schedule, and the small
networks of issue 18 (XOR 2-2-1 sigmoid, 1-5-1 tanh on sin(x)) within trainlm's 100 epochs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from torch import nn

from netport.optim import LevenbergMarquardt

FIXTURE = Path(__file__).parents[1] / "doctor" / "fixtures" / "small_net_lm.py"


class Scalar(nn.Module):
    def __init__(self, value: float):
        super().__init__()
        self.theta = nn.Parameter(torch.tensor([value], dtype=torch.float64))


def test_linear_least_squares_in_one_step():
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(20, 3, generator=generator, dtype=torch.float64)
    b = torch.randn(20, 1, generator=generator, dtype=torch.float64)
    model = nn.Linear(3, 1).double()
    mu = 1e-12
    optimizer = LevenbergMarquardt(model, mu=mu)
    optimizer.step(lambda: (model(a) - b).flatten())
    design = torch.cat([a, torch.ones(20, 1, dtype=torch.float64)], dim=1)
    solution = torch.linalg.lstsq(design, b).solution.flatten()
    found = torch.cat([model.weight.detach().flatten(), model.bias.detach()])
    # the damped step differs from the undamped one by at most mu / lambda_min relatively, and the float64
    # solve loses at most ~eps * cond(J^T J); a factor 100 over both covers the constants
    eigenvalues = torch.linalg.eigvalsh(design.T @ design)
    bound = 100 * (mu / eigenvalues[0] + torch.finfo(torch.float64).eps * eigenvalues[-1] / eigenvalues[0])
    assert float((found - solution).norm() / solution.norm()) <= float(bound)
    assert optimizer.last_trials[0][2] is True and optimizer.mu == pytest.approx(mu / 10)


def test_rejected_steps_raise_mu_tenfold_and_an_accepted_one_lowers_it():
    # r = atan(theta) at theta = 2: the Gauss-Newton step overshoots (Newton on atan diverges beyond 1.39),
    # so mu = 1e-3 and 1e-2 are refused and 1e-1 accepted (by hand: |atan| 1.28 and 1.18 > 1.107, then 0.40)
    module = Scalar(2.0)
    optimizer = LevenbergMarquardt(module)
    optimizer.step(lambda: torch.atan(module.theta))
    assert [(mu, accepted) for mu, _, accepted in optimizer.last_trials] == [
        (pytest.approx(1e-3), False), (pytest.approx(1e-2), False), (pytest.approx(1e-1), True)]
    assert optimizer.mu == pytest.approx(1e-2)
    optimizer.step(lambda: torch.atan(module.theta))
    assert [accepted for _, _, accepted in optimizer.last_trials] == [True]
    assert optimizer.mu == pytest.approx(1e-3)


def test_no_decrease_up_to_mu_max_leaves_the_parameters():
    module = Scalar(0.0)  # r = theta^2 + 1 has J = 0 at 0: no step can decrease it
    optimizer = LevenbergMarquardt(module, mu_max=1e2)
    loss = optimizer.step(lambda: module.theta ** 2 + 1)
    assert [mu for mu, _, _ in optimizer.last_trials] == pytest.approx([1e-3, 1e-2, 1e-1, 1, 10, 100])
    assert not any(accepted for _, _, accepted in optimizer.last_trials)
    assert optimizer.mu_max_reached and optimizer.mu > 1e2
    assert float(module.theta.detach()) == 0.0 and float(loss) == 1.0


def test_parameter_subset_needs_the_model():
    model = nn.Linear(2, 1)
    with pytest.raises(ValueError, match="needs the module"):
        LevenbergMarquardt(model.parameters())
    optimizer = LevenbergMarquardt([model.weight], model=model)  # the bias is held fixed
    bias = model.bias.detach().clone()
    x, t = torch.randn(8, 2), torch.randn(8, 1)
    optimizer.step(lambda: (model(x) - t).flatten())
    assert torch.equal(model.bias.detach(), bias)


def lm_fixture():
    spec = importlib.util.spec_from_file_location("small_net_lm_fixture", FIXTURE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sin_1_5_1_reaches_mse_0_0003_within_100_epochs(seed):
    epochs, mse = lm_fixture().train_lm(seed)
    assert epochs <= 100 and mse <= 3e-4


def test_xor_2_2_1_sigmoid_converges():
    x = torch.tensor([[0.0, 0], [0, 1], [1, 0], [1, 1]], dtype=torch.float64)
    t = torch.tensor([[0.1], [0.9], [0.9], [0.1]], dtype=torch.float64)
    torch.manual_seed(0)  # some seeds start in XOR's local minima, for every optimizer
    model = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid()).double()
    optimizer = LevenbergMarquardt(model)
    for _ in range(100):
        loss = float(optimizer.step(lambda: (model(x) - t).flatten()))
        if loss <= 3e-4:
            break
    assert loss <= 3e-4
