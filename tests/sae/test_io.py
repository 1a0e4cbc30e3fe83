"""Weights in and out: torch state_dict, and the Chainer npz that the seed program's
StackedAutoEncoder (legacy on Chainer 1.24, migrated on Chainer 7.8, torch migration) loads."""

from __future__ import annotations

import importlib.util
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from netport.sae import (SAEError, StackedAutoencoder, export_chainer_npz, import_chainer_npz, load_model,  # noqa: E402
                         load_state_dict, save_model, save_state_dict)
from tests.conftest import REPO, run_python  # noqa: E402

UNITS = [784, 64, 16, 2]


def trained_like(tied=True, activation="sigmoid"):
    """A model with every parameter non-zero, so a wrongly mapped array shows in the outputs."""
    torch.manual_seed(0)
    model = StackedAutoencoder(UNITS, tied=tied, activation=activation)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn_like(param) * 0.1)
    return model


def inputs(n=5):
    return np.random.RandomState(0).rand(n, UNITS[0]).astype(np.float32)


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("tied", [True, False])
def test_state_dict_round_trip(tmp_path, tied):
    model = trained_like(tied)
    save_state_dict(model, tmp_path / "m.pt")
    again = load_state_dict(tmp_path / "m.pt")
    assert again.units == UNITS and again.tied == tied
    for key, value in model.state_dict().items():
        assert torch.equal(again.state_dict()[key], value)
    save_model(model, tmp_path / "dir")
    assert load_model(tmp_path / "dir").architecture() == model.architecture()


@pytest.mark.parametrize("tied", [True, False])
def test_state_dict_loads_into_the_torch_migration_of_the_seed_program(tied):
    net = load_module(REPO / "migrated_examples/torch/mnist_sae/net.py", "torch_migrated_sae_net")
    model = trained_like(tied)
    migrated = net.StackedAutoEncoder([net.AutoEncoder(UNITS[i], UNITS[i + 1], tied=tied)
                                       for i in range(len(UNITS) - 1)])
    migrated.load_state_dict(model.state_dict(), strict=True)
    migrated.eval()
    x = torch.from_numpy(inputs())
    with torch.no_grad():
        torch.testing.assert_close(migrated(x), model.reconstruct(x))


@pytest.mark.parametrize("tied", [True, False])
def test_npz_loads_into_the_chainer7_migration_of_the_seed_program(tmp_path, tied):
    chainer = pytest.importorskip("chainer")
    net = load_module(REPO / "migrated_examples/chainer/mnist_sae/net.py", "chainer_migrated_sae_net")
    model = trained_like(tied)
    export_chainer_npz(model, tmp_path / "sae.npz")
    target = net.StackedAutoEncoder([net.AutoEncoder(UNITS[i], UNITS[i + 1], tied=tied)
                                     for i in range(len(UNITS) - 1)])
    chainer.serializers.load_npz(str(tmp_path / "sae.npz"), target)
    x = inputs()
    with chainer.using_config("train", False):
        expected = target(x).array
    np.testing.assert_allclose(model.reconstruct(x).numpy(), expected, rtol=1e-5, atol=1e-6)
    # and back: Chainer's own save_npz of that model imports with the same outputs
    chainer.serializers.save_npz(str(tmp_path / "chainer.npz"), target)
    imported = import_chainer_npz(tmp_path / "chainer.npz")
    assert imported.units == UNITS and imported.tied == tied
    np.testing.assert_allclose(imported.reconstruct(x).numpy(), expected, rtol=1e-5, atol=1e-6)


LEGACY_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import chainer
    from chainer import serializers
    sys.path.insert(0, sys.argv[1])
    import net
    npz, x_file, out_file, own_npz, tied = sys.argv[2:7]
    tied = tied == "tied"
    units = [784, 64, 16, 2]
    model = net.StackedAutoEncoder([net.AutoEncoder(units[i], units[i + 1], tied=tied)
                                    for i in range(len(units) - 1)])
    serializers.load_npz(npz, model)
    x = chainer.Variable(np.load(x_file), volatile='on')
    np.save(out_file, model(x, train=False).data)
    for param in model.params():  # a model of Chainer 1.24's own making, to import
        param.data[...] = np.random.RandomState(1).randn(*param.data.shape) * 0.1
    serializers.save_npz(own_npz, model)
    np.save(out_file + '.own.npy', model(x, train=False).data)
""")


@pytest.mark.parametrize("tied", [True, False])
def test_npz_loads_into_the_legacy_program_on_chainer_1_24(tmp_path, legacy_python, tied):
    model = trained_like(tied)
    export_chainer_npz(model, tmp_path / "sae.npz")
    x = inputs()
    np.save(tmp_path / "x.npy", x)
    (tmp_path / "legacy.py").write_text(LEGACY_SCRIPT)
    result = run_python(legacy_python, [str(tmp_path / "legacy.py"), str(REPO / "legacy_examples/mnist_sae"),
                                        str(tmp_path / "sae.npz"), str(tmp_path / "x.npy"), str(tmp_path / "y.npy"),
                                        str(tmp_path / "own.npz"), "tied" if tied else "untied"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    np.testing.assert_allclose(model.reconstruct(x).numpy(), np.load(tmp_path / "y.npy"), rtol=1e-5, atol=1e-6)
    imported = import_chainer_npz(tmp_path / "own.npz")
    np.testing.assert_allclose(imported.reconstruct(x).numpy(), np.load(tmp_path / "y.npy.own.npy"),
                               rtol=1e-5, atol=1e-6)


def test_unusable_weight_files_give_one_clear_error(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(SAEError, match="not a readable Chainer .npz"):
        import_chainer_npz(tmp_path / "junk.npz")
    np.savez(tmp_path / "other.npz", **{"predictor/l1/W": np.zeros((3, 4), np.float32)})
    with pytest.raises(SAEError, match="no stacked-autoencoder layers"):
        import_chainer_npz(tmp_path / "other.npz")
    arrays = {"0/encoder/W": np.zeros((8, 10), np.float32), "0/encoder/b": np.zeros(8, np.float32),
              "0/decoder_bias": np.zeros(10, np.float32),
              "1/encoder/W": np.zeros((4, 7), np.float32), "1/encoder/b": np.zeros(4, np.float32),
              "1/decoder_bias": np.zeros(7, np.float32)}
    np.savez(tmp_path / "broken.npz", **arrays)
    with pytest.raises(SAEError, match="layer 2 takes 7 inputs but layer 1 gives 8"):
        import_chainer_npz(tmp_path / "broken.npz")
    arrays["1/encoder/W"] = np.zeros((4, 8), np.float32)
    arrays["1/decoder_bias"] = np.zeros(5, np.float32)
    np.savez(tmp_path / "misshapen.npz", **arrays)
    with pytest.raises(SAEError, match="decoder_bias"):
        import_chainer_npz(tmp_path / "misshapen.npz")
