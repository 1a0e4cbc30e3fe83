"""train/test flags, the self.train attribute and volatile across files and call sites."""

from __future__ import annotations

from pathlib import Path

from netport.migrate import Severity, migrate_paths, migrate_source
from netport.migrate.project import ProjectFacts

NET = '''import chainer
import chainer.functions as F
import chainer.links as L


class MLP(chainer.Chain):
    def __init__(self):
        super(MLP, self).__init__(l1=L.Linear(3, 4), bn=L.BatchNormalization(4))

    def __call__(self, x, test=False):
        h = self.bn(self.l1(x), test=test)
        if not test:
            h = F.dropout(h)
        return h
'''
TRAIN = '''import net

model = net.MLP()
y = model(x)
y = model(x, test=True)
y = model(x, test=flag)
'''


def test_flag_functions_are_found_across_files(tmp_path: Path):
    (tmp_path / "net.py").write_text(NET)
    (tmp_path / "train.py").write_text(TRAIN)
    migration = migrate_paths([tmp_path])
    net, train = (migration.results[tmp_path / name] for name in ("net.py", "train.py"))
    assert "def __call__(self, x):" in net.migrated
    assert "h = self.bn(self.l1(x))" in net.migrated
    # a read of the flag for other logic now reads the configuration
    assert "if not (not chainer.config.train):" in net.migrated
    assert train.migrated == (
        "import net\nimport chainer\n\nmodel = net.MLP()\ny = model(x)\n"
        "with chainer.using_config('train', False):\n    y = model(x)\n"
        "with chainer.using_config('train', not (flag)):\n    y = model(x)\n")
    assert "chainer" not in TRAIN  # the script never imported chainer; now it needs it


def test_flag_passed_positionally_is_found():
    source = ("import chainer\nimport chainer.functions as F\n\n\nclass M(chainer.Chain):\n"
              "    def encode(self, x, train=True):\n        return F.dropout(x, train=train)\n\n\n"
              "h = m.encode(x, False)\n")
    result = migrate_source(source)
    assert "with chainer.using_config('train', False):\n    h = m.encode(x)\n" in result.migrated


def test_volatile_on_scopes_the_rest_of_the_block_and_merges_with_train_false():
    source = ("import chainer\n\n\nclass M(chainer.Chain):\n    def __call__(self, x, train=True):\n"
              "        return x\n\n\nfor batch in data:\n    # inference\n"
              "    x = chainer.Variable(batch, volatile='on')\n    y = model(x, train=False)\n    total += y\n"
              "print(total)\n")
    result = migrate_source(source)
    assert ("for batch in data:\n    # inference\n"
            "    with chainer.no_backprop_mode(), chainer.using_config('train', False):\n"
            "        x = chainer.Variable(batch)\n        y = model(x)\n        total += y\nprint(total)\n") \
        in result.migrated


def test_a_computed_volatile_value_is_dropped_with_a_warning():
    # volatility never changed a value (it only skipped recording the graph): the argument goes, and the
    # memory it saved is what the warning asks to review
    source = "import chainer\nv = chainer.Variable(x, volatile=mode)\n"
    result = migrate_source(source)
    assert result.migrated == "import chainer\nv = chainer.Variable(x)\n"
    assert [(f.line, f.rule, f.severity) for f in result.findings] == [(2, "CH023", Severity.WARNING)]
    assert not result.needs_manual_work


def test_train_attribute_toggle_without_reset_warns():
    source = ("import chainer\nimport chainer.functions as F\n\n\nclass Net(chainer.Chain):\n"
              "    def __init__(self):\n        self.train = True\n\n    def __call__(self, x):\n"
              "        return F.dropout(x, train=self.train)\n\n\nmodel.train = False\ny = model(x)\n")
    result = migrate_source(source)
    assert result.migrated.endswith("with chainer.using_config('train', False):\n    y = model(x)\n")
    assert any(f.severity is Severity.WARNING and f.rule == "CH022" for f in result.findings)


def test_self_train_read_for_logic_becomes_config_train():
    source = ("import chainer\n\n\nclass Net(chainer.Chain):\n    def __init__(self):\n        self.train = True\n\n"
              "    def __call__(self, x):\n        if self.train:\n            x = x + 1\n        return x\n")
    result = migrate_source(source)
    assert "        if chainer.config.train:\n" in result.migrated
    assert "self.train = True" not in result.migrated


def test_builtins_and_constructors_are_not_mistaken_for_flagged_calls():
    """Regressions found on Chainer 1.24's own source: `range(0, N, batchsize)` next to a flagged
    `forward(x, t, train=True)`, and a class whose constructor takes `train`."""
    source = ("import chainer\nimport chainer.functions as F\n\n\ndef forward(x, t, train=True):\n"
              "    return F.dropout(x, train=train)\n\n\nclass RNN(object):\n"
              "    def __init__(self, n, train=True):\n        self.keep = train\n\n\n"
              "for i in range(0, N, batchsize):\n    rnn = RNN(3, train=False)\n")
    result = migrate_source(source)
    assert "for i in range(0, N, batchsize):\n    rnn = RNN(3, train=False)\n" in result.migrated
    assert "def __init__(self, n, train=True):" in result.migrated
    assert "def forward(x, t):" in result.migrated


def test_methods_sharing_a_name_with_different_flags_are_all_rewritten_in_one_run():
    source = ("import chainer\nimport chainer.functions as F\n\n\nclass A(chainer.Chain):\n"
              "    def __call__(self, x, train=True):\n        return F.dropout(x, train=train)\n\n\n"
              "class B(chainer.Chain):\n    def __call__(self, x, test=False):\n"
              "        return F.dropout(x, train=not test)\n")
    once = migrate_source(source).migrated
    assert "def __call__(self, x):\n        return F.dropout(x)\n" in once
    assert once.count("def __call__(self, x):") == 2
    assert migrate_source(once).migrated == once


def test_report_messages_stay_on_one_line_when_they_quote_multi_line_code():
    source = ("import chainer.links as L\nl = L.Linear(3, 2, wscale=(\n    2.0))\n")
    result = migrate_source(source)
    assert all("\n" not in f.message for f in result.findings)


def test_only_a_chains_init_keywords_are_links():
    """super().__init__(name=value) registers links only in a Chain (or FunctionSet) subclass: in any other
    class, an nn.Module of an earlier torch migration included, the keywords are left alone."""
    source = ("import chainer\nimport chainer.links as L\nfrom torch import nn\n\n\nclass Net(chainer.Chain):\n"
              "    def __init__(self):\n        super(Net, self).__init__(l1=L.Linear(3, 2))\n\n\n"
              "class Lazy(nn.LazyLinear):\n    def __init__(self, n, bias=True):\n"
              "        super().__init__(n, bias=bias)\n")
    result = migrate_source(source)
    assert "            self.l1 = L.Linear(3, 2)\n" in result.migrated
    assert "        super().__init__(n, bias=bias)\n" in result.migrated


def test_a_closure_sees_the_flag_of_the_function_around_it():
    source = ("import chainer\nimport chainer.functions as F\n\n\nclass MLP(chainer.Chain):\n"
              "    def __call__(self, x, train=True):\n        def drop(h):\n"
              "            return F.dropout(h, train=train)\n\n        def mode():\n            return train\n"
              "        return drop(x), mode()\n")
    result = migrate_source(source)
    assert "            return F.dropout(h)\n" in result.migrated
    assert "            return chainer.config.train\n" in result.migrated
    assert not result.needs_manual_work


def test_a_flag_from_another_module_of_the_program_is_passed_on_or_scoped():
    # `call_bn(bn, x, test=False)` defined in one module, imported by name into another
    (lib, model) = ("import chainer\nimport chainer.functions as F\n\n\ndef call_bn(bn, x, test=False):\n"
                    "    return bn(x, test=test)\n",
                    "import chainer\nfrom lib import call_bn\n\n\nclass Net(chainer.Chain):\n"
                    "    def __call__(self, x, train=True):\n        return call_bn(self.bn, x, test=not train)\n")
    project = ProjectFacts()
    project.add_source(lib)
    project.add_source(model)
    result = migrate_source(model, "model.py", project=project)
    assert "        return call_bn(self.bn, x)\n" in result.migrated


def test_a_file_migrated_alone_takes_the_facts_of_the_modules_it_imports(tmp_path):
    # net.py was migrated in an earlier run (no train parameter left); train.py is migrated alone
    (tmp_path / "net.py").write_text("import chainer\n\n\nclass AE(chainer.Chain):\n    def __call__(self, x):\n"
                                     "        return x\n\n    def encode(self, x):\n        return x\n")
    (tmp_path / "train.py").write_text("import chainer\nfrom net import AE\n\n\nclass Trainer(chainer.Chain):\n"
                                       "    def __init__(self):\n        super(Trainer, self).__init__(ae=AE())\n\n"
                                       "    def __call__(self, x):\n        return self.ae(x, train=True)\n\n\n"
                                       "h = AE().encode(x, train=False)\n")
    result = migrate_paths([tmp_path / "train.py"]).results[tmp_path / "train.py"]
    assert "        return self.ae(x)\n" in result.migrated
    assert "with chainer.using_config('train', False):\n    h = AE().encode(x)\n" in result.migrated
    assert not result.needs_manual_work


def test_a_train_property_and_its_setter_give_way_to_the_configuration():
    source = ("import chainer\nimport chainer.functions as F\n\n\nclass Net(chainer.Chain):\n"
              "    def __init__(self):\n        super(Net, self).__init__()\n        self._train = True\n\n"
              "    @property\n    def train(self):\n        return self._train\n\n"
              "    @train.setter\n    def train(self, value):\n        self._train = value\n"
              "        self.inc.train = value\n\n"
              "    def __call__(self, x):\n        return F.dropout(x, train=self.train)\n\n\n"
              "model.train = False\ny = model(x)\n")
    result = migrate_source(source)
    assert "def train" not in result.migrated and ".train = value" not in result.migrated
    assert "        return F.dropout(x)\n" in result.migrated
    assert "with chainer.using_config('train', False):\n    y = model(x)\n" in result.migrated
    assert not result.needs_manual_work


def test_methods_of_other_objects_keep_their_flag_like_arguments():
    # the model takes `test`, but argparse's set_defaults(test=...) and dict.get(key, False) are not models
    source = ("import argparse\nimport chainer\nimport chainer.functions as F\n\n\nclass Net(chainer.Chain):\n"
              "    def __call__(self, x, test=False):\n        return F.dropout(x, train=not test)\n\n"
              "    def forward(self, x, **kwargs):\n        return x if kwargs.get('finetune', False) else -x\n\n\n"
              "parser = argparse.ArgumentParser()\nparser.set_defaults(test=False)\n")
    result = migrate_source(source)
    assert "parser.set_defaults(test=False)\n" in result.migrated
    assert "kwargs.get('finetune', False)" in result.migrated and "using_config" not in result.migrated


def test_a_call_leaving_a_test_mode_default_gets_a_train_false_scope():
    """v1 ran `self._forward(x)` with its default train=False whatever the caller did: Chainer 5 would
    follow the configuration (train=True at the top level), so the call gets the scope."""
    source = '''import chainer
import chainer.functions as F


class Estimator(object):
    def _forward(self, x, train=False):
        return F.dropout(x, train=train)

    def fit(self, x):
        self._forward(x, train=True)
        return self._forward(x)
'''
    migrated = migrate_source(source, "est.py").migrated
    assert "self._forward(x)\n        with chainer.using_config('train', False):\n" \
           "            return self._forward(x)\n" in migrated
    # a default that asks for training mode is the configuration's default: no scope
    unchanged = migrate_source(source.replace("train=False", "train=True"), "est.py").migrated
    assert "using_config" not in unchanged


def test_a_link_looked_up_by_name_loses_the_v1_flag_it_was_passed():
    """`getattr(self, name)(h, test=test)`: a link (or model) the object holds; its flag is the mode, which
    the call now takes from the configuration (here the function's own flag, removed with it)."""
    source = '''import chainer
import chainer.links as L


class Net(chainer.Chain):
    def __init__(self):
        super(Net, self).__init__(bn0=L.BatchNormalization(3))

    def __call__(self, x, test=False):
        return getattr(self, "bn%d" % 0)(x, test=test)
'''
    migrated = migrate_source(source, "net.py").migrated
    assert "def __call__(self, x):" in migrated  # the flag is the configuration's, which the call follows
    assert 'return getattr(self, "bn%d" % 0)(x)\n' in migrated
    literal = migrate_source(source.replace("(x, test=test)", "(x, test=True)").replace(", test=False):", "):"),
                             "net.py").migrated
    assert "with chainer.using_config('train', False):\n            return getattr(self, \"bn%d\" % 0)(x)\n" \
        in literal  # a literal test=True: the call runs in test mode, as in v1
