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


def assert_usage_error(result, text: str):
    assert result.returncode == 2, result.stdout + result.stderr
    assert text in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stdout == ""


def test_run_on_an_unparseable_script_or_imported_module_exits_2_with_one_line(run_netport, tmp_path):
    (tmp_path / "broken.py").write_text("def f(:\n")
    (tmp_path / "train.py").write_text("import models\nmodel = models.Net()\n")
    (tmp_path / "models.py").write_text("class Net(:\n    pass\n")
    assert_usage_error(run_netport("check-shapes", "--run", str(tmp_path / "broken.py")),
                       "broken.py:1:7: cannot parse: invalid syntax")
    assert_usage_error(run_netport("check-shapes", "--run", str(tmp_path / "train.py")),
                       "models.py:1:11: cannot parse: invalid syntax")
    assert_usage_error(run_netport("check-shapes", "--run", "legacy_examples/py2_mlp/train_mnist_py2.py"),
                       "(Python 2 source: --run runs programs on Python 3; static mode reads Python 2)")


def test_report_into_an_impossible_path_exits_2_with_one_line(run_netport, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert_usage_error(run_netport("check-shapes", BUG, "-o", str(blocker / "report.txt")),
                       f"-o {blocker / 'report.txt'}: {blocker} is not a directory")
    assert_usage_error(run_netport("check-shapes", BUG, "-o", str(tmp_path)),
                       f"-o {tmp_path}: {tmp_path} is a directory")


def test_set_of_an_option_the_script_lacks_is_a_usage_error_listing_its_options(run_netport, tmp_path):
    options = ("its options: unit, epoch_pre, epoch_fine, batchsize, optimizer, activation, untied, dropout, gpu, "
               "data, n_train, seed, out")
    assert_usage_error(run_netport("check-shapes", BUG, "--set", "units=250"),
                       f"--set units: the script has no option with that name; {options}")
    assert_usage_error(run_netport("check-shapes", BUG, "--run", "--set", "units=250"),
                       f"--set units: the script has no option with that name; {options}")
    no_options = tmp_path / "plain.py"
    no_options.write_text("import numpy as np\nx = np.zeros((4, 784))\n")
    assert_usage_error(run_netport("check-shapes", str(no_options), "--set", "unit=1"),
                       "--set unit: the script has no option with that name; its options: none (it parses no "
                       "argparse options)")


def test_a_directory_gets_every_script_in_it_checked(run_netport, tmp_path):
    assert_usage_error(run_netport("check-shapes", str(tmp_path)), f"{tmp_path}: no .py files in this directory")
    (tmp_path / "good.py").write_text("import numpy as np\nimport chainer.links as L\n"
                                      "y = L.Linear(784, 10)(np.zeros((4, 784), dtype=np.float32))\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "bad.py").write_text("import numpy as np\nimport chainer.links as L\n"
                                             "y = L.Linear(100, 10)(np.zeros((4, 784), dtype=np.float32))\n")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "skipped.py").write_text("def f(:\n")
    result = run_netport("check-shapes", str(tmp_path))
    assert result.returncode == 1 and result.stderr == ""
    assert "pkg/bad.py:3:5: error[NPS001]" in result.stdout
    assert result.stdout.endswith("check-shapes: 2 script(s) checked, 1 error(s) in all\n")
    document = json.loads(run_netport("check-shapes", str(tmp_path), "--format", "json").stdout)
    assert [len(report["findings"]) for report in document["reports"]] == [0, 1]  # sorted: good.py, pkg/bad.py
    (tmp_path / "broken.py").write_text("def f(:\n")  # one that cannot be read: one line, the others checked
    result = run_netport("check-shapes", str(tmp_path), "--format", "sarif")
    assert result.returncode == 1 and "broken.py:1:7: cannot parse" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    (run,) = json.loads(result.stdout)["runs"]
    assert [r["ruleId"] for r in run["results"]] == ["NPS001"]
    (tmp_path / "pkg" / "bad.py").unlink()
    assert run_netport("check-shapes", str(tmp_path)).returncode == 2  # no error found, but a file refused


def test_a_fractional_timeout_is_reported_as_given(run_netport, tmp_path):
    slow = tmp_path / "slow.py"
    slow.write_text("import time\ntime.sleep(30)\n")
    assert_usage_error(run_netport("check-shapes", str(slow), "--run", "--timeout", "0.5"),
                       "slow.py: the tiny run took longer than 0.5 s")
    assert_usage_error(run_netport("check-shapes", str(slow), "--run", "--timeout", "0"),
                       "--timeout must be more than 0 seconds")
