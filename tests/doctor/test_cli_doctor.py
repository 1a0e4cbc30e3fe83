"""`netport doctor` on the command line: the report's lines, the formats, the exit codes, bad input."""

from __future__ import annotations

import importlib.util
import json

import pytest

FIXTURES = "tests/doctor/fixtures"
ND001 = f"{FIXTURES}/nd001_torch_grad_after_zero_grad.py"


def test_text_report_is_editor_clickable_with_a_hint_and_exit_1(run_netport):
    result = run_netport("doctor", ND001)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{ND001}:15:27: warning[ND001] `model[0].weight.grad` is read after the gradients")
    assert lines[1].startswith("  hint: read or save the gradients after backward()")
    assert lines[-1].startswith(f"doctor (static): {ND001}: 1 warning(s)")


def test_clean_program_exit_0(run_netport):
    result = run_netport("doctor", f"{FIXTURES}/nd001_torch_grad_after_zero_grad_fixed.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 warning(s)" in result.stdout


def test_json_and_sarif(run_netport, tmp_path):
    result = run_netport("doctor", f"{FIXTURES}/nd004_torch_eval_left_on.py", "--format", "json")
    (finding,) = json.loads(result.stdout)["findings"]
    assert (finding["rule"], finding["line"], finding["col"], finding["mode"]) == ("ND004", 16, 5, "static")
    out = tmp_path / "report.sarif"
    result = run_netport("doctor", f"{FIXTURES}/nd004_torch_eval_left_on.py", "--format", "sarif", "-o", str(out))
    assert result.returncode == 1 and result.stdout == ""
    sarif = json.loads(out.read_text())
    (sarif_result,) = sarif["runs"][0]["results"]
    assert sarif["version"] == "2.1.0" and sarif_result["ruleId"] == "ND004"
    assert sarif_result["locations"][0]["physicalLocation"]["region"] == {"startLine": 16, "startColumn": 5}
    assert {"ND001", "ND005", "ND101", "ND106"} <= {rule["id"] for rule in sarif["runs"][0]["tool"]["driver"]["rules"]}


def test_run_mode_reports_statistics_and_the_saturated_layer(run_netport):
    result = run_netport("doctor", f"{FIXTURES}/q4_chainer_raw_pixels.py", "--run", "--format", "json")
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    (finding,) = document["findings"]
    assert (finding["rule"], finding["line"], finding["mode"]) == ("ND101", 17, "run")
    (row,) = document["statistics"]["activations"]
    assert row["kind"] == "sigmoid" and row["saturated"] >= 0.9 and document["completed"] is True


def test_unreadable_inputs_exit_2_with_one_line(run_netport, tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n")
    binary = tmp_path / "model.py"
    binary.write_bytes(b"\0\1\2")
    for args, message in [((str(broken),), f"{broken}:1:7: cannot parse: invalid syntax"),
                          ((str(binary),), f"{binary}: binary file"),
                          ((str(tmp_path / "missing.py"),), "missing.py: no such file"),
                          ((), "no SCRIPT given"),
                          ((ND001, "--timeout", "0"), "--timeout must be more than 0 seconds"),
                          ((ND001, "--", "--epochs", "1"), "script arguments (after --) apply to --run only")]:
        result = run_netport("doctor", *args)
        assert result.returncode == 2, (args, result.stdout)
        assert result.stderr.startswith("netport doctor: error: ") and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_gradcheck_is_handed_to_its_module(run_netport):
    if importlib.util.find_spec("netport.doctor.gradcheck") is None:
        pytest.skip("netport.doctor.gradcheck is not there")
    good = run_netport("doctor", "--gradcheck", f"{FIXTURES}/xor_backprop.py:gradcheck_case")
    bad = run_netport("doctor", "--gradcheck", f"{FIXTURES}/xor_backprop_bias_bug.py:gradcheck_case")
    assert (good.returncode, bad.returncode) == (0, 1), good.stderr + bad.stderr
    refused = run_netport("doctor", ND001, "--gradcheck", f"{FIXTURES}/xor_backprop.py:gradcheck_case")
    assert refused.returncode == 2 and "--gradcheck takes no SCRIPT" in refused.stderr
