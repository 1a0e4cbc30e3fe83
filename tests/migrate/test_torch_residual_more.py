"""PT120 (a Chainer method name that the program's own class defines), PT121 (Variable's name=) and PT021 on an
optimizer looked up by get_optimizer(...) in the call itself."""

from __future__ import annotations

from netport.migrate import Severity, migrate_source

AGENT = ("import chainer\n\n\nclass Agent(chainer.Link):\n    def act(self, x):\n        return x\n\n"
         "    def unchain_backward(self):\n        pass\n\n\n")


def torch(source: str):
    result = migrate_source(source, "example.py", target="torch")
    assert result.error is None
    return result


def errors(result, rule=None):
    return [f for f in result.findings if f.severity is Severity.ERROR and (rule is None or f.rule == rule)]


def test_own_method_on_an_instance_of_the_class_stays():
    result = torch(AGENT + "agent = Agent()\nagent.unchain_backward()\n")
    assert "agent.unchain_backward()\n" in result.migrated and errors(result) == []
    assert any(f.rule == "PT120" for f in result.findings)


def test_own_method_on_self_stays():
    source = AGENT + "class Sub(Agent):\n    def reset(self):\n        self.unchain_backward()\n"
    result = torch(source)
    assert errors(result) == []


def test_receiver_called_with_a_method_only_the_program_has_stays():
    result = torch(AGENT + "def run(model, x):\n    model.act(x)\n    model.unchain_backward()\n")
    assert errors(result) == []


def test_receiver_without_evidence_stays_marked():
    # `loss` may be a Variable: Chainer's unchain_backward, which torch does not have
    result = torch(AGENT + "def run(loss):\n    loss.backward()\n    loss.unchain_backward()\n")
    assert len(errors(result, "PT099")) == 1


def test_chainer_variable_receiver_stays_marked():
    result = torch(AGENT + "def run(a, agent):\n    agent.act(a)\n    agent = chainer.Variable(a)\n"
                   "    agent.unchain_backward()\n")
    assert len(errors(result, "PT099")) == 1


def test_attribute_of_a_chainer_link_stays_marked():
    source = ("import chainer\nimport chainer.links as L\n\n\nclass Net(chainer.Chain):\n    def __init__(self):\n"
              "        super().__init__(lstm=L.LSTM(3, 3))\n\n    def unchain_backward(self):\n"
              "        self.lstm.h.unchain_backward()\n")
    assert len(errors(torch(source), "PT099")) == 1


def test_chainer_link_method_before_the_programs_base_is_chainers():
    # class B(chainer.ChainList, A): ChainList's own copyparams comes first in the MRO, not A's
    source = ("import chainer\n\n\nclass A(object):\n    def copyparams(self, a):\n        pass\n\n"
              "    def act(self):\n        pass\n\n\nclass B(chainer.ChainList, A):\n    pass\n\n\nb = B()\n"
              "b.act()\nb.copyparams(a)\n")
    result = torch(source)  # (converted as Chainer's by PT070, not kept as the program's)
    assert not any(f.rule == "PT120" for f in result.findings) and "b.copyparams(a)" not in result.migrated


def test_variable_name_goes():
    result = torch("import chainer\nh = chainer.Variable(a, name='h_init', volatile='auto')\n")
    assert result.migrated == "import torch\n\nh = torch.as_tensor(a)\n"
    assert errors(result) == [] and any(f.rule == "PT121" for f in result.findings)


def test_variable_name_read_is_marked():
    result = torch("import chainer\nh = chainer.Variable(a, name='h')\nprint(h.name)\n")
    assert len(errors(result, "PT121")) == 1 and "chainer.Variable(a, name='h')" in result.migrated


def test_variable_with_grad_is_not_converted():
    result = torch("import chainer\nh = chainer.Variable(a, grad=g)\n")
    assert errors(result)


def test_update_on_get_optimizer_call():
    source = ("import chainer\nfrom chainer import training\n\n\nclass U(training.StandardUpdater):\n"
              "    def update_core(self):\n        self.get_optimizer('gen').update(self.lossfun, x)\n"
              "        self.get_optimizer('dis').update()\n")
    result = torch(source)
    assert "self.get_optimizer('gen').zero_grad(set_to_none=False)\n        self.lossfun(x).backward()\n" \
           "        self.get_optimizer('gen').step()\n" in result.migrated
    assert "self.get_optimizer('dis').step()\n" in result.migrated
    assert errors(result) == []


def test_target_of_an_optimizer_the_file_does_not_set_up_is_marked():
    """`self.optimizer.target` on an optimizer passed in from elsewhere: a torch optimizer has no target, so the
    line is marked (a silent `.target` would raise AttributeError); a `.target` of anything not named as an
    optimizer is left alone."""
    source = ("import chainer\n\n\nclass Agent(object):\n    def __init__(self, optimizer, data):\n"
              "        self.optimizer = optimizer\n        self.labels = data.target\n\n"
              "    def norm(self):\n        return sum(p.grad.sum() for p in self.optimizer.target.params())\n")
    result = torch(source)
    [marker] = errors(result)
    assert marker.rule == "PT027" and marker.line == 10 and "`self.optimizer.target`" in marker.message
    assert "self.labels = data.target\n" in result.migrated


def test_the_programs_own_copyparams_and_namedparams_are_called_not_replaced():
    """modules.py converts copyparams/namedparams/add_persistent by name; a class of the program that defines the
    method keeps its call (its body may do anything else), where a link without one still converts."""
    source = ("import chainer\nimport chainer.links as L\n\n\nclass Net(chainer.Chain):\n    def __init__(self):\n"
              "        super(Net, self).__init__(l1=L.Linear(3, 2))\n\n    def copyparams(self, other):\n"
              "        self.l1.W.data[...] = 2 * other.l1.W.data\n\n    def namedparams(self):\n"
              "        return [('w', self.l1.W)]\n\n\na = Net()\nb = Net()\na.copyparams(b)\nnames = a.namedparams()\n"
              "c = L.Linear(3, 2)\nc.copyparams(L.Linear(3, 2))\n")
    result = torch(source)
    assert "\na.copyparams(b)\nnames = a.namedparams()\n" in result.migrated and errors(result) == []
    assert [f.line for f in result.findings if f.rule == "PT120"] == [18, 19]
    assert "c.copyparams" not in result.migrated and "c.named_parameters()" in result.migrated
    namespace: dict = {}
    exec(compile(result.migrated, "example.py", "exec"), namespace)
    a, b = namespace["a"], namespace["b"]
    assert bool((a.l1.weight == 2 * b.l1.weight).all())  # the program's own copy ran


def test_a_chainer_name_in_the_body_of_a_marked_block_is_marked_at_its_own_line():
    """A marker on an `if` (here PT077, the global train mode in its test) says nothing of the Chainer names in the
    block's body: each is an ERROR at its own line, and a second run adds nothing."""
    source = ("import chainer\nimport chainer.functions as F\n\n\ndef call_bn(bn, x):\n"
              "    if not chainer.config.train:\n        return F.fixed_batch_normalization(x, bn.gamma, bn.beta, "
              "bn.avg_mean, bn.avg_var)\n    return bn(x)\n")
    result = torch(source)
    assert [(f.rule, f.line) for f in errors(result)] == [("PT077", 6), ("PT099", 7)]
    again = torch(result.migrated)
    assert again.migrated == result.migrated


def test_w_and_b_of_a_value_netport_cannot_type_are_warned_of_at_their_line():
    """`.W`/`.b` of a function's parameter, of getattr(...) or of a loop variable may be a Chainer link's (torch's
    .weight/.bias) or the program's own attribute: left as they were, with a WARNING at the line (PT137); those of a
    link netport can type are renamed, and `self.W`, argparse's namespace and instances of plain classes are not
    warned of."""
    source = ("import argparse\nimport chainer\nimport chainer.links as L\n\n\n"
              "class Net(chainer.Chain):\n    def __init__(self):\n        super(Net, self).__init__(l1=L.Linear(3, 2))\n\n\n"
              "class Plain(object):\n    def __init__(self):\n        self.W = 1\n\n    def get(self):\n"
              "        return self.W\n\n\n"
              "def f(link):\n    return link.W.data\n\n\n"
              "def g(net, name):\n    getattr(net, name).b.data[...] = 0\n    for child in net.children():\n"
              "        print(child.W.shape)\n\n\n"
              "net = Net()\nprint(net.l1.W.data)\nplain = Plain()\nprint(plain.W)\n"
              "args = argparse.ArgumentParser().parse_args()\nprint(args.b)\n")
    result = torch(source)
    warned = [(f.line, f.message.split("`")[1]) for f in result.findings if f.rule == "PT137"]
    assert warned == [(20, "link.W"), (24, "getattr(net, name).b"), (26, "child.W")]
    assert all(f.severity is Severity.WARNING for f in result.findings if f.rule == "PT137")
    assert "print(net.l1.weight.data)" in result.migrated and "print(plain.W)" in result.migrated
