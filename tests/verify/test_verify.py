"""netport verify: legacy model on Chainer 1.24 against migrated models, layer by layer."""

from __future__ import annotations

import pytest

from netport.verify import verify
from tests.conftest import REPO, environment_python

FACTORIES = REPO / "tests" / "verify" / "factories"


def test_legacy_sae_against_its_chainer_migration(legacy_python):
    result = verify(f"{FACTORIES}/legacy_sae.py:build", f"{FACTORIES}/migrated_sae.py:build", (5, 784),
                    legacy_python=str(legacy_python), migrated_python=str(environment_python("main")))
    assert result.ok, result.to_text()
    assert [layer.path for layer in result.layers] == ["0.encoder", "1.encoder", "__output__"]
    assert result.output.shape == (5, 784) and result.output.max_abs < 1e-6


def test_legacy_sae_against_a_torch_model(legacy_python):
    result = verify(f"{FACTORIES}/legacy_sae.py:build", f"{FACTORIES}/torch_sae.py:build", (5, 784),
                    legacy_python=str(legacy_python))
    assert result.ok, result.to_text()
    assert result.frameworks == ("legacy (chainer)", "migrated (torch)")
    assert result.output.max_abs < 1e-5


def test_a_wrong_migration_is_pointed_at(legacy_python, run_netport):
    result = run_netport("verify", f"{FACTORIES}/legacy_sae.py:build", f"{FACTORIES}/torch_sae.py:build_wrong",
                         "--input-shape", "5,784", "--legacy-python", str(legacy_python))
    assert result.returncode == 1
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert "MISMATCH" not in lines["0.encoder"]  # the first layer is still right
    assert "MISMATCH" in lines["1.encoder"] or "MISMATCH" in lines["(output)"]
    assert "outputs DIFFER" in result.stdout




def test_chainer_migration_against_its_torch_migration():
    """Issue 4 asks the same of the Chainer-5 migrated model and the torch migration."""
    main = str(environment_python("main"))
    result = verify(f"{FACTORIES}/migrated_sae.py:build", f"{FACTORIES}/torch_migrated_sae.py:build", (5, 784),
                    legacy_python=main, migrated_python=main)
    assert result.ok, result.to_text()
    assert result.frameworks == ("legacy (chainer)", "migrated (torch)")
    assert result.output.max_abs < 1e-5


def test_legacy_sae_against_the_torch_migration(legacy_python):
    result = verify(f"{FACTORIES}/legacy_sae.py:build", f"{FACTORIES}/torch_migrated_sae.py:build", (5, 784),
                    legacy_python=str(legacy_python))
    assert result.ok, result.to_text()
    assert [layer.path for layer in result.layers] == ["0.encoder", "1.encoder", "__output__"]


def assert_one_line_error(result, text: str):
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("netport verify: error: ") and text in result.stderr, result.stderr
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr, result.stderr


def test_a_missing_factory_file_gives_one_line(run_netport):
    result = run_netport("verify", "nope.py:build", f"{FACTORIES}/torch_sae.py:build", "--input-shape", "2,784")
    assert_one_line_error(result, "nope.py:build: nope.py: no such file")


def test_a_missing_factory_function_gives_one_line(run_netport):
    result = run_netport("verify", f"{FACTORIES}/migrated_sae.py:build", f"{FACTORIES}/torch_sae.py:nope",
                         "--input-shape", "2,784")
    assert_one_line_error(result, f"{FACTORIES}/torch_sae.py:nope: {FACTORIES}/torch_sae.py has no function 'nope'")


NARROW_FACTORIES = {  # the SAE of the factories with 16 units where the legacy one has 32
    "torch": (FACTORIES, "torch_sae"),
    "chainer": (REPO / "migrated_examples" / "chainer" / "mnist_sae", "net"),
}
MISFIT = {
    "torch": "shape mismatch (weights vs the model): 0.encoder.bias: (32,) vs (16,); 0.encoder.weight: (32, 784) vs "
             "(16, 784); 1.decoder_bias: (32,) vs (16,); 1.encoder.weight: (2, 32) vs (2, 16)",
    "chainer": "shape mismatch (weights vs the model): 0/encoder/W: (32, 784) vs (16, 784); 0/encoder/b: (32,) vs "
               "(16,); 1/decoder_bias: (32,) vs (16,); 1/encoder/W: (2, 32) vs (2, 16)",
}


@pytest.mark.parametrize("framework", ["torch", "chainer"])
def test_a_model_of_another_architecture_gives_one_line(run_netport, tmp_path, framework):
    directory, module = NARROW_FACTORIES[framework]
    (tmp_path / "narrow.py").write_text(
        f"import sys\nsys.path.insert(0, {str(directory)!r})\nimport {module} as net\n\n\n"
        "def build():\n    return net.StackedAutoEncoder([net.AutoEncoder(784, 16), net.AutoEncoder(16, 2)])\n")
    result = run_netport("verify", f"{FACTORIES}/migrated_sae.py:build", f"{tmp_path}/narrow.py:build",
                         "--input-shape", "2,784")
    assert_one_line_error(result, f"{tmp_path}/narrow.py:build: the legacy weights do not fit this model: "
                          f"{MISFIT[framework]}")
