"""`netport migrate --to torch` on model definitions: the migrated torch model computes what the
legacy Chainer 1.24 model computes, layer by layer, on the same weights."""

from __future__ import annotations

from netport.migrate import Severity, migrate_source
from netport.verify import verify
from tests.conftest import REPO

LEGACY_NET = REPO / "legacy_examples" / "mnist_sae" / "net.py"
FACTORY = '''import os, sys
sys.path.insert(0, os.path.dirname(__file__))
import net


def build():
    return net.StackedAutoEncoder([net.AutoEncoder(784, 32), net.AutoEncoder(32, 2, activation="relu")])


def build_untied():
    return net.StackedAutoEncoder([net.AutoEncoder(784, 16, tied=False), net.AutoEncoder(16, 2, tied=False)])
'''
LEGACY_FACTORY = f'''import os, sys
import numpy as np
sys.path.insert(0, {str(LEGACY_NET.parent)!r})
import net


def build():
    np.random.seed(0)
    model = net.StackedAutoEncoder([net.AutoEncoder(784, 32), net.AutoEncoder(32, 2, activation="relu")])
    return model, lambda x: model(x, train=False)


def build_untied():
    np.random.seed(0)
    model = net.StackedAutoEncoder([net.AutoEncoder(784, 16, tied=False), net.AutoEncoder(16, 2, tied=False)])
    return model, lambda x: model(x, train=False)
'''


def migrated_net(tmp_path):
    result = migrate_source(LEGACY_NET.read_text(), str(LEGACY_NET), target="torch")
    assert result.error is None
    assert not [f for f in result.findings if f.severity is Severity.ERROR], result.findings
    assert "chainer" not in result.migrated.replace("Chainer", "")
    (tmp_path / "net.py").write_text(result.migrated)
    (tmp_path / "factory.py").write_text(FACTORY)
    (tmp_path / "legacy_factory.py").write_text(LEGACY_FACTORY)
    return tmp_path


def test_sae_net_migrated_to_torch_agrees_with_chainer_1_24_layer_by_layer(tmp_path, legacy_python):
    root = migrated_net(tmp_path)
    for factory in ("build", "build_untied"):
        result = verify(f"{root}/legacy_factory.py:{factory}", f"{root}/factory.py:{factory}", (6, 784),
                        legacy_python=str(legacy_python))
        assert result.ok, result.to_text()
        assert {layer.path for layer in result.layers} >= {"0.encoder", "1.encoder", "__output__"}
        assert result.output.max_abs < 1e-5


def test_torch_model_keeps_chainers_initialisation(tmp_path):
    """LeCun-normal weights (std 1/sqrt(fan_in)) and zero biases, not torch's kaiming-uniform."""
    import sys

    import torch

    root = migrated_net(tmp_path)
    sys.path.insert(0, str(root))
    try:
        import net
        torch.manual_seed(0)
        layer = net.AutoEncoder(784, 1000).encoder
    finally:
        sys.path.remove(str(root))
        sys.modules.pop("net", None)
    assert abs(layer.weight.std().item() - 784 ** -0.5) < 0.002
    assert layer.weight.min().item() < -3 * 784 ** -0.5  # a normal, not a bounded uniform
    assert torch.count_nonzero(layer.bias).item() == 0


def test_what_the_torch_rules_do_not_cover_is_marked():
    source = ("import chainer\nimport chainer.links as L\nbn = L.BatchNormalization(3)\n"
              "v = chainer.Variable(x)\n")
    result = migrate_source(source, target="torch")
    errors = {(f.line, f.rule) for f in result.findings if f.severity is Severity.ERROR}
    assert errors == {(3, "PT099"), (4, "PT099")}
    assert result.migrated.count("# netport: TODO(PT099)") == 2


def test_chainer_methods_on_untyped_objects_are_marked_too():
    source = ("import chainer\nfrom chainer import optimizers\nopt = optimizers.Adam()\nopt.setup(model)\n"
              "for x in data:\n    opt.update(model, x)\n    config.update(x)\nmodel.to_gpu()\n")
    result = migrate_source(source, target="torch")
    errors = sorted((f.line, f.message.split()[0]) for f in result.findings if f.severity is Severity.ERROR)
    assert errors == [(3, "`chainer.optimizers.Adam`"), (4, "`.setup()`"), (6, "`.update()`"), (8, "`.to_gpu()`")]
