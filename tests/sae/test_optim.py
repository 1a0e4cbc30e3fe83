"""netport.sae.optim.fused_step against ``optimizer.step()``: the same parameters and state, bit for
bit, and the plain step wherever the direct call does not apply."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from torch.optim.optimizer import register_optimizer_step_pre_hook  # noqa: E402

from netport.sae.optim import fused_step  # noqa: E402


def make_problem(seed: int = 0):
    """Three parameters (a weight and two biases, as a tied layer has) with fixed gradient streams."""
    generator = torch.Generator().manual_seed(seed)
    params = [torch.randn(40, 30, generator=generator), torch.randn(40, generator=generator),
              torch.randn(30, generator=generator)]
    grads = [[torch.randn(p.shape, generator=generator) for p in params] for _ in range(12)]
    return params, grads


def stepped(make_optimizer=lambda ps: torch.optim.Adam(ps, fused=True), steps: int = 1):
    """An optimizer over make_problem's parameters, with gradients, after ``steps`` steps."""
    params, grads = make_problem()
    for p, g in zip(params, grads[0]):
        p.grad = g
    optimizer = make_optimizer(params)
    for _ in range(steps):
        optimizer.step()
    return optimizer, params


def run(make_optimizer, use_fused_step: bool, steps: int = 12, lr_change_at: int | None = None,
        reload_at: int | None = None):
    params, grads = make_problem()
    params = [p.clone().requires_grad_(True) for p in params]
    optimizer = make_optimizer(params)
    update = None
    for step in range(steps):
        for p, g in zip(params, grads[step]):  # in place, as netport's chain writes its gradients
            if p.grad is None:
                p.grad = g.clone()
            else:
                p.grad.copy_(g)
        if lr_change_at == step:
            optimizer.param_groups[0]["lr"] *= 0.3
        if reload_at == step:  # a resume: the state is replaced by a copy of itself
            state = optimizer.state_dict()
            optimizer = make_optimizer(params)
            optimizer.load_state_dict(state)
            update = None
        if use_fused_step:
            update = update or fused_step(optimizer)
            update()
            if step == 0 or reload_at == step:  # the first step creates the state it binds
                update = fused_step(optimizer)
        else:
            optimizer.step()
    return [p.detach().clone() for p in params], optimizer


OPTIMIZERS = {
    "adam": lambda ps: torch.optim.Adam(ps, lr=1e-2, fused=True),
    "adam-weight-decay": lambda ps: torch.optim.Adam(ps, lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1,
                                                     fused=True),
    "momentum-sgd": lambda ps: torch.optim.SGD(ps, lr=1e-2, momentum=0.9, fused=True),
    "nesterov-sgd": lambda ps: torch.optim.SGD(ps, lr=1e-2, momentum=0.9, nesterov=True, weight_decay=0.01,
                                               fused=True),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("events", [{}, {"lr_change_at": 5}, {"reload_at": 6}, {"lr_change_at": 3, "reload_at": 7}])
def test_direct_step_equals_optimizer_step_bit_for_bit(name, events):
    expected, reference = run(OPTIMIZERS[name], use_fused_step=False, **events)
    actual, optimizer = run(OPTIMIZERS[name], use_fused_step=True, **events)
    for a, e in zip(actual, expected):
        assert torch.equal(a, e)
    for sa, se in zip(optimizer.state.values(), reference.state.values()):
        assert sa.keys() == se.keys()
        for key in sa:
            assert torch.equal(sa[key], se[key]), key


def test_the_direct_call_is_taken_once_the_state_exists():
    optimizer, _ = stepped(steps=0)
    assert fused_step(optimizer) == optimizer.step  # no state yet
    optimizer.step()
    assert fused_step(optimizer) != optimizer.step


@pytest.mark.parametrize("why, make_optimizer", [
    ("unfused", lambda ps: torch.optim.Adam(ps)),
    ("amsgrad", lambda ps: torch.optim.Adam(ps, amsgrad=True, fused=True)),
    ("two groups", lambda ps: torch.optim.Adam([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.1}], fused=True)),
    ("another optimizer", lambda ps: torch.optim.AdamW(ps, fused=True)),
    ("plain sgd", lambda ps: torch.optim.SGD(ps, lr=0.1, fused=True)),
    ("tensor lr", lambda ps: torch.optim.Adam(ps, lr=torch.tensor(0.01), fused=True)),
])
def test_what_the_direct_call_does_not_cover_goes_through_step(why, make_optimizer):
    optimizer, _ = stepped(make_optimizer)
    assert fused_step(optimizer) == optimizer.step, why


def test_step_hooks_are_honoured():
    optimizer, _ = stepped()
    calls = []
    handle = optimizer.register_step_post_hook(lambda *args: calls.append(1))
    fused_step(optimizer)()
    assert calls == [1]
    handle.remove()
    global_handle = register_optimizer_step_pre_hook(lambda *args: calls.append(2))
    try:
        fused_step(optimizer)()
    finally:
        global_handle.remove()
    assert calls == [1, 2]


def test_a_parameter_without_a_gradient_goes_through_step():
    optimizer, params = stepped()
    params[1].grad = None
    assert fused_step(optimizer) == optimizer.step
