"""`netport check-shapes` on the command line: exit codes, formats, script arguments, bad input."""

from __future__ import annotations

import json

from tests.conftest import REPO, environment_python

BUG = "legacy_examples/mnist_sae_pretrain_bug/train_mnist_sae.py"


def test_text_report_is_editor_clickable_and_exit_1(run_netport):
    result = run_netport("check-shapes", BUG)
    assert result.returncode == 1, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("legacy_examples/mnist_sae_pretrain_bug/net.py:")
    assert ": error[NPS001] model[1].encoder (L.Linear(250 -> 100)) is fed 784 features; it expects 250" in first
    assert "hint: layer 2 of the stack is fed the raw 784-wide input" in result.stdout


def test_correct_program_exit_0(run_netport):
    result = run_netport("check-shapes", "legacy_examples/mnist_sae/train_mnist_sae.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 error(s)" in result.stdout


def test_json_and_sarif(run_netport, tmp_path):
    result = run_netport("check-shapes", BUG, "--format", "json")
    document = json.loads(result.stdout)
    (finding,) = document["findings"]
    assert finding["rule"] == "NPS001" and finding["expected"]["value"] == 250 and finding["actual"]["value"] == 784
    assert finding["mode"] == "static" and finding["layer"]["name"] == "model[1].encoder"
    out = tmp_path / "report.sarif"
    result = run_netport("check-shapes", BUG, "--format", "sarif", "-o", str(out))
    assert result.returncode == 1 and result.stdout == ""
    sarif = json.loads(out.read_text())
    (run,) = sarif["runs"]
    (sarif_result,) = [r for r in run["results"] if r["ruleId"] == "NPS001"]
    region = sarif_result["locations"][0]["physicalLocation"]["region"]
    assert sarif["version"] == "2.1.0" and region["startLine"] == finding["line"]


def test_script_arguments_after_double_dash_and_set(run_netport):
    result = run_netport("check-shapes", BUG, "--", "--unit", "1000,500")
    assert "it expects 1000" in result.stdout
    result = run_netport("check-shapes", BUG, "--set", "unit=100")
    assert result.returncode == 0, result.stdout


def test_run_mode(run_netport):
    result = run_netport("check-shapes", BUG, "--run", "--python", str(environment_python("legacy")))
    assert result.returncode == 1, result.stderr
    assert "Chainer 1.24.0 raised: InvalidType" in result.stdout
    assert "layers executed before the failure (dynamic run):" in result.stdout


def test_unreadable_inputs_exit_2_with_one_line(run_netport, tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n")
    binary = tmp_path / "model.py"
    binary.write_bytes(b"\x00\x01binary")
    for path, text in [(broken, "broken.py:1:7: cannot parse"), (binary, "binary file (contains NUL bytes)"),
                       (tmp_path / "missing.py", "no such file")]:
        result = run_netport("check-shapes", str(path))
        assert result.returncode == 2
        assert text in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    result = run_netport("check-shapes", BUG, "--set", "oops")
    assert result.returncode == 2 and "NAME=VALUE" in result.stderr
