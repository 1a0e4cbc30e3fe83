"""Train/eval scopes on the torch target: using_config('train', flag) with a computed flag or inside a
module's method becomes training_mode(...) (PT029), which restores each module's own mode afterwards as
Chainer restored its configuration; an inference scope in an object that is not a module (an estimator,
an agent) switches the models it set its optimizers up with."""

from __future__ import annotations

import pytest

from netport.migrate import Severity, migrate_source

torch = pytest.importorskip("torch")

STACK = '''import chainer
import chainer.functions as F
import chainer.links as L


class Layer(chainer.Chain):
    def __init__(self):
        super(Layer, self).__init__(l1=L.Linear(4, 4))

    def __call__(self, x, train=True):
        return F.dropout(self.l1(x), train=train)


class Stack(chainer.ChainList):
    def __init__(self):
        super(Stack, self).__init__(Layer(), Layer())

    def __call__(self, x, train=True):
        for i, layer in enumerate(self):
            if i == len(self) - 1:
                train = False  # no dropout in the last layer
            x = layer(x, train=train)
        return x

    def predict(self, x):
        return self(x, train=False)
'''


def torch_source(source: str) -> str:
    result = migrate_source(source, "net.py", target="torch")
    assert not [f for f in result.findings if f.severity is Severity.ERROR], result.findings
    return result.migrated


def test_a_computed_flag_inside_a_module_sets_the_mode_of_the_block_and_restores_it():
    migrated = torch_source(STACK)
    assert "with training_mode(self, train):" in migrated
    namespace: dict = {}
    exec(compile(migrated, "net.py", "exec"), namespace)
    stack = namespace["Stack"]()
    seen = []
    for layer in stack:  # what mode each layer's forward ran in
        layer.register_forward_pre_hook(lambda module, args: seen.append(module.training))
    x = torch.ones(8, 4)
    stack(x)
    assert seen == [True, False]  # dropout in the first layer only, as the v1 program's train flags said
    assert all(m.training for m in stack.modules())  # the scope put the modes back
    seen.clear()
    stack.eval()
    stack(x)
    assert seen == [False, False]  # a model in eval mode: self.training is the flag, False throughout
    assert not any(m.training for m in stack.modules())  # and it stays in eval mode after the scopes
    seen.clear()
    stack.train()
    stack.predict(x)
    assert seen == [False, False] and stack.training


def test_a_scope_left_by_an_exception_restores_the_modes():
    namespace: dict = {}
    exec(compile(torch_source(STACK), "net.py", "exec"), namespace)
    stack = namespace["Stack"]()
    with pytest.raises(RuntimeError):
        stack(torch.ones(2, 5))  # a shape error inside the scope
    assert all(m.training for m in stack.modules())


ESTIMATOR = '''import chainer
import chainer.functions as F
import chainer.links as L
from chainer import optimizers


class Net(chainer.Chain):
    def __init__(self):
        super(Net, self).__init__(l1=L.Linear(3, 2))

    def __call__(self, x, train=True):
        return F.dropout(self.l1(x), train=train)


class Estimator(object):
    def __init__(self):
        self.network = Net()
        self.optimizer = optimizers.SGD()
        self.optimizer.setup(self.network)

    def _forward(self, x, train=False):
        return self.network(x, train=train)

    def predict(self, x):
        return self._forward(x).data
'''


def test_an_object_that_is_not_a_module_switches_the_model_its_optimizer_was_set_up_with():
    migrated = torch_source(ESTIMATOR)
    assert "self.network.eval()" in migrated and "self.network.train()" in migrated
    assert "self.eval()" not in migrated
    namespace: dict = {}
    exec(compile(migrated, "net.py", "exec"), namespace)
    estimator = namespace["Estimator"]()
    x = torch.ones(4, 3)
    assert torch.equal(estimator.predict(x), estimator.predict(x))  # no dropout at prediction
    assert estimator.network.training


def test_a_scope_whose_flag_is_a_v1_train_attribute_is_marked():
    """`using_config('train', net.train)`: in torch `net.train` is nn.Module.train, a method, always true."""
    source = '''import chainer
import chainer.functions as F


def predict(net, x):
    with chainer.using_config('train', net.train):
        return net.fc(x)
'''
    result = migrate_source(source, "p.py", target="torch")
    assert [f.rule for f in result.findings if f.severity is Severity.ERROR] == ["PT029"]
    assert "training_mode" not in result.migrated
