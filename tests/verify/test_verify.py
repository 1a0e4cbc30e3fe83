"""netport verify: legacy model on Chainer 1.24 against migrated models, layer by layer."""

from __future__ import annotations

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


def test_a_broken_factory_gives_one_error(run_netport):
    result = run_netport("verify", "nope.py:build", f"{FACTORIES}/torch_sae.py:build", "--input-shape", "2,784")
    assert result.returncode == 2
    assert result.stderr.startswith("netport verify: error: nope.py:build failed")
    assert "Traceback" not in result.stderr.splitlines()[0]


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
