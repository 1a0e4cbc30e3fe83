"""`--trainer ppe`: extensions.ExponentialShift with init/target, or of a MomentumSGD's lr (PT046, PT102).

The differential test runs Chainer 1.24's ExponentialShift on its optimizer (called before training, then after
every update, as a Trainer with the default trigger does) and the migrated torch statements (the optimizer and
the ppe LRScheduler netport writes, executed as migrated) from the same weights on the same data, and compares
the learning rates and the weights after each step.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from netport.migrate import Severity, migrate_source
from tests.conftest import environment_python, run_python

torch = pytest.importorskip("torch")
pytest.importorskip("pytorch_pfn_extras")

STEPS = 6
# (Chainer optimizer call, ExponentialShift's arguments after 'lr')
CASES = [
    ("MomentumSGD(0.1)", "0.5"),  # a new lr applies to new gradients only
    ("MomentumSGD(lr=0.1, momentum=0.8)", "0.5, init=0.05, target=0.01"),
    ("SGD(0.01)", "2.0, init=0.02, target=0.1"),  # rate > 1: held at target from above
    ("SGD(0.05)", "0.5, target=0.02"),
]

CHAINER = """
import json, sys
import numpy as np
import chainer, chainer.functions as F, chainer.links as L
from chainer import optimizers
from chainer.training import extensions
results = []
for optimizer_call, shift_args in json.loads(sys.argv[1]):
    rng = np.random.RandomState(0)
    W, x = rng.randn(3, 4).astype('f'), rng.randn(5, 4).astype('f')
    model = L.Linear(4, 3, initialW=W, initial_bias=0)
    optimizer = eval('optimizers.' + optimizer_call)
    optimizer.setup(model)
    shift = eval("extensions.ExponentialShift('lr', " + shift_args + ", optimizer=optimizer)")
    shift(None)  # invoke_before_training
    steps = []
    for _ in range(%d):
        model.cleargrads()
        loss = F.sum(F.tanh(model(x)) ** 2)
        loss.backward()
        optimizer.update()
        shift(None)
        steps.append([float(optimizer.lr), model.W.data.tolist()])
    results.append(steps)
print(json.dumps(results))
""" % STEPS

SNIPPET = """import chainer
from chainer.training import extensions

optimizer = chainer.optimizers.{0}
optimizer.setup(model)
shift = extensions.ExponentialShift('lr', {1}, optimizer=optimizer)
"""


def _torch_run(optimizer_call: str, shift_args: str):
    result = migrate_source(SNIPPET.format(optimizer_call, shift_args), "t.py", target="torch", trainer="ppe")
    assert not [f for f in result.findings if f.severity == Severity.ERROR], result.migrated
    rng = np.random.RandomState(0)
    W, x = rng.randn(3, 4).astype("f"), torch.from_numpy(rng.randn(5, 4).astype("f"))
    model = torch.nn.Linear(4, 3)
    with torch.no_grad():
        model.weight.copy_(torch.from_numpy(W))
        model.bias.zero_()
    namespace = {"model": model}
    exec(compile(result.migrated, "t.py", "exec"), namespace)
    optimizer, scheduler = namespace["optimizer"], namespace["shift"].scheduler
    steps = []
    for _ in range(STEPS):
        optimizer.zero_grad(set_to_none=False)
        (torch.tanh(model(x)) ** 2).sum().backward()
        optimizer.step()
        scheduler.step()  # what ppe's LRScheduler does at its trigger
        steps.append([optimizer.param_groups[0]["lr"], model.weight.detach().numpy().tolist()])
    return result.migrated, steps


def test_exponential_shift_matches_chainer_1_24(tmp_path):
    python = environment_python("legacy")
    run = run_python(python, ["-c", CHAINER, json.dumps(CASES)], cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    chainer_runs = json.loads(run.stdout)
    for (optimizer_call, shift_args), chainer_steps in zip(CASES, chainer_runs):
        migrated, torch_steps = _torch_run(optimizer_call, shift_args)
        assert "ChainerExponentialShift(optimizer" in migrated
        for step, ((lr_c, w_c), (lr_t, w_t)) in enumerate(zip(chainer_steps, torch_steps)):
            assert lr_t == pytest.approx(lr_c, rel=1e-12), (optimizer_call, shift_args, step)
            np.testing.assert_allclose(w_t, w_c, rtol=1e-5, atol=1e-6, err_msg=f"{optimizer_call} step {step}")


def test_plain_torch_sgd_would_differ():
    """The control: ExponentialLR on torch's SGD rescales the whole momentum buffer, so the weights drift."""
    _, exact = _torch_run("MomentumSGD(0.1)", "0.5")
    rng = np.random.RandomState(0)
    W, x = rng.randn(3, 4).astype("f"), torch.from_numpy(rng.randn(5, 4).astype("f"))
    model = torch.nn.Linear(4, 3)
    with torch.no_grad():
        model.weight.copy_(torch.from_numpy(W))
        model.bias.zero_()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, 0.5)
    for _ in range(STEPS):
        optimizer.zero_grad(set_to_none=False)
        (torch.tanh(model(x)) ** 2).sum().backward()
        optimizer.step()
        scheduler.step()
    assert np.abs(model.weight.detach().numpy() - np.array(exact[-1][1])).max() > 1e-3


def test_plain_shift_keeps_exponential_lr_and_unknown_optimizer_is_marked():
    plain = migrate_source(SNIPPET.format("Adam()", "0.5").replace("'lr'", "'alpha'"), "t.py", target="torch",
                           trainer="ppe").migrated
    assert "ExponentialLR(optimizer, 0.5)" in plain and "ChainerExponentialShift" not in plain
    unknown = migrate_source("from chainer.training import extensions\n"
                             "shift = extensions.ExponentialShift('lr', 0.5, target=0.1, optimizer=make())\n",
                             "t.py", target="torch", trainer="ppe")
    assert any(f.rule == "PT046" and f.severity == Severity.ERROR for f in unknown.findings)
    assert "ChainerExponentialShift" not in unknown.migrated
