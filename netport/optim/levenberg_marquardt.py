"""Levenberg-Marquardt for small networks, with MATLAB trainlm's damping schedule.

Each step takes the full Jacobian ``J`` of the residual vector ``r`` with respect to every parameter
(``torch.func.jacrev``/``jacfwd`` over ``functional_call``), solves ``(J^T J + mu I) delta = -J^T r``
and keeps ``delta`` only if the sum of squared residuals goes down; otherwise ``mu`` is multiplied by
``mu_increase`` and the step retried, until ``mu`` passes ``mu_max``. After an accepted step ``mu`` is
multiplied by ``mu_decrease``. The defaults are trainlm's (mu 0.001, mu_dec 0.1, mu_inc 10, mu_max 1e10,
and the same identity damping ``mu I``, not Marquardt's ``mu diag(J^T J)``).

Usage::

    model = nn.Sequential(nn.Linear(1, 5), nn.Tanh(), nn.Linear(5, 1))
    optimizer = LevenbergMarquardt(model)
    for epoch in range(100):
        loss = optimizer.step(lambda: (model(x) - t).flatten())
        if loss <= 3e-4 or optimizer.mu_max_reached:
            break

* The optimizer needs the module, to swap parameters in for ``torch.func``: pass the module itself,
  or an iterable of some of its parameters with ``model=module`` (the others are held fixed).
* ``closure()`` returns the residuals (any shape, flattened; typically ``model(x) - t``), not a loss,
  and must neither call ``backward()`` nor leave the autograd world (no ``.item()``, no numpy): it is
  traced by ``torch.func``. The loss is ``mean(r**2)`` (the MSE, trainlm's ``perf``).
* ``step`` returns that loss *after* the step (LM evaluates it to accept or refuse the step), as a
  0-dimensional tensor; torch's first-order optimizers return the loss before.
* The Jacobian has one row per residual and one column per parameter: meant for networks of up to a
  few thousand weights, as trainlm is. Buffers (batch norm statistics) are not updated.

``optimizer.mu`` is the current damping, ``optimizer.last_trials`` the (mu, loss, accepted) of every try
in the last step, ``optimizer.mu_max_reached`` True once a step failed at every mu up to ``mu_max``
(trainlm's "Maximum MU reached" stop; further steps change nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn
from torch.func import functional_call, jacfwd, jacrev

__all__ = ["LevenbergMarquardt"]

MU_MIN = 1e-20  # trainlm's floor: mu never reaches 0, so the damped matrix stays positive definite


class _ClosureModule(nn.Module):
    """Runs the user's closure as the forward of a module that owns ``model``, so that functional_call
    can swap the model's parameters for the ones torch.func differentiates."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.closure: Callable[[], torch.Tensor] | None = None

    def forward(self) -> torch.Tensor:
        return self.closure().reshape(-1)


class LevenbergMarquardt(torch.optim.Optimizer):
    def __init__(self, params: nn.Module | Iterable[torch.Tensor], mu: float = 1e-3, mu_increase: float = 10.0,
                 mu_decrease: float = 0.1, mu_max: float = 1e10, *, model: nn.Module | None = None,
                 jacobian: str = "auto"):
        if isinstance(params, nn.Module):
            model, params = params, [p for p in params.parameters() if p.requires_grad]
        if model is None:
            raise ValueError("LevenbergMarquardt needs the module: LevenbergMarquardt(model) or (params, model=model)")
        if not (mu > 0 and mu_increase > 1 and 0 < mu_decrease < 1 and mu_max >= mu):
            raise ValueError(f"need mu > 0, mu_increase > 1, 0 < mu_decrease < 1, mu_max >= mu; got mu={mu}, "
                             f"mu_increase={mu_increase}, mu_decrease={mu_decrease}, mu_max={mu_max}")
        if jacobian not in ("auto", "rev", "fwd"):
            raise ValueError(f"jacobian is auto, rev or fwd, not {jacobian!r}")
        defaults = dict(mu=mu, mu_increase=mu_increase, mu_decrease=mu_decrease, mu_max=mu_max)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LevenbergMarquardt takes one parameter group: the step is joint over all parameters")
        names = {id(p): name for name, p in model.named_parameters()}
        missing = [p for p in self.param_groups[0]["params"] if id(p) not in names]
        if missing:
            raise ValueError(f"{len(missing)} of the parameters are not the model's")
        self._names = [names[id(p)] for p in self.param_groups[0]["params"]]
        self._wrapper = _ClosureModule(model)
        self._jacobian = jacobian
        self.last_trials: list[tuple[float, float, bool]] = []
        self.mu_max_reached = False

    @property
    def mu(self) -> float:
        return self.param_groups[0]["mu"]

    @mu.setter
    def mu(self, value: float) -> None:
        self.param_groups[0]["mu"] = value

    def _residual_and_jacobian(self, closure) -> tuple[torch.Tensor, torch.Tensor]:
        params = self.param_groups[0]["params"]
        self._wrapper.closure = closure
        detached = {"model." + name: p.detach() for name, p in zip(self._names, params)}

        def residual(values: dict[str, torch.Tensor]) -> torch.Tensor:
            return functional_call(self._wrapper, values, ())

        with torch.no_grad():
            r = residual(detached)
        n = sum(p.numel() for p in params)
        # forward mode costs one pass per parameter, reverse one per residual: the fewer wins
        mode = self._jacobian if self._jacobian != "auto" else ("fwd" if n <= r.numel() else "rev")
        jac = (jacfwd if mode == "fwd" else jacrev)(residual)(detached)
        J = torch.cat([jac["model." + name].reshape(r.numel(), -1) for name in self._names], dim=1)
        return r.detach(), J.detach()

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        """One trainlm epoch: Jacobian, then damped Gauss-Newton tries until the loss decreases."""
        if closure is None:
            raise ValueError("LevenbergMarquardt.step needs a closure returning the residual vector")
        group = self.param_groups[0]
        params = group["params"]
        with torch.enable_grad():
            r, J = self._residual_and_jacobian(closure)
        sse = float((r.double() ** 2).sum())
        self.last_trials = []
        if self.mu_max_reached:
            return torch.tensor(sse / r.numel())
        # in float64 whatever the model's dtype: J^T J squares J's condition number
        J64, r64 = J.double(), r.double()
        eigenvalues, vectors = torch.linalg.eigh(J64.T @ J64)
        eigenvalues = eigenvalues.clamp(min=0)  # J^T J is positive semi-definite; rounding may dip below 0
        projected = vectors.T @ (J64.T @ r64)
        originals = [p.detach().clone() for p in params]
        mu = group["mu"]
        while mu <= group["mu_max"]:
            # one eigendecomposition serves every mu: (J^T J + mu I)^-1 = V diag(1 / (lambda + mu)) V^T
            delta = -(vectors @ (projected / (eigenvalues + mu)))
            offset = 0
            for p, original in zip(params, originals):
                p.copy_(original + delta[offset:offset + p.numel()].view_as(p).to(p.dtype))
                offset += p.numel()
            trial = float((self._wrapper.closure().reshape(-1).double() ** 2).sum())
            accepted = trial < sse
            self.last_trials.append((mu, trial / r.numel(), accepted))
            if accepted:
                group["mu"] = max(mu * group["mu_decrease"], MU_MIN)
                return torch.tensor(trial / r.numel())
            mu *= group["mu_increase"]
        for p, original in zip(params, originals):  # no mu helped: the parameters stay where they were
            p.copy_(original)
        group["mu"] = mu
        self.mu_max_reached = True
        return torch.tensor(sse / r.numel())
