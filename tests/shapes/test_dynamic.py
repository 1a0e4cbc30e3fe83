"""Dynamic mode (--run): the program runs tiny on synthetic data under each framework, and the first
shape error is reported with the failing layer, the numbers, the layers executed before it and a hint."""

from __future__ import annotations

import pytest

from netport.shapes import check_dynamic
from tests.conftest import REPO, environment_python

BUG = "mnist_sae_pretrain_bug"
SCRIPT = "train_mnist_sae.py"


@pytest.mark.parametrize("tree, environment, dialect", [
    ("legacy_examples", "legacy", "chainer<=2"),
    ("migrated_examples/chainer", "chainer5", "chainer>=5"),
    ("migrated_examples/chainer", "main", "chainer>=5"),
    ("migrated_examples/torch", "main", None),
])
def test_pretrain_bug_found_by_running_it_tiny(tree, environment, dialect):
    report = check_dynamic(REPO / tree / BUG / SCRIPT, python=environment_python(environment))
    (finding,) = report.findings
    assert finding.mode == "dynamic" and finding.rule == "NPS001"
    assert finding.path.endswith(f"{BUG}/net.py")
    net = (REPO / tree / BUG / "net.py").read_text().splitlines()
    assert "self.encoder(h)" in net[finding.line - 1]
    assert (finding.expected["value"], finding.actual["value"]) == (250, 784)
    assert finding.layer["name"] == "model[1].encoder"  # named as static mode names it
    assert finding.col == net[finding.line - 1].index("self.encoder(h)") + 1
    assert "Linear(n_in, n_out)" in finding.layer["built_from"][0]
    # only layer 1 ran before the failure: pretraining stopped at its first batch of layer 2
    assert [row["name"].split("[", 1)[1] for row in finding.executed_layers] == ["0].encoder"]
    assert finding.hint.startswith("layer 2 of the stack is fed the raw 784-wide input")
    if dialect:
        assert finding.dialect == dialect and finding.context is None
    else:
        assert "mat1 and mat2 shapes cannot be multiplied" in finding.framework_message
    assert "synthetic data" in report.output_tail  # never the real data


@pytest.mark.parametrize("tree, environment", [("legacy_examples", "legacy"), ("migrated_examples/torch", "main")])
def test_correct_program_runs_to_the_end_without_findings(tree, environment):
    report = check_dynamic(REPO / tree / "mnist_sae" / SCRIPT, ["--unit", "64,2"], python=environment_python(environment))
    assert report.findings == [] and report.completed
    assert [row["name"].split("[", 1)[1] for row in report.executed_layers] == ["0].encoder", "1].encoder"]


def test_a_program_failing_for_another_reason_is_a_note_not_a_finding():
    # the v1 program on Chainer 7 stops at the removed `train=` argument, which is not a shape error
    report = check_dynamic(REPO / "legacy_examples" / BUG / SCRIPT, python=environment_python("main"))
    assert report.findings == []
    assert any("train argument is not supported" in text for _, text in report.notes)


def test_a_torch_view_that_fails_is_a_reshape_finding(tmp_path):
    script = tmp_path / "view.py"
    script.write_text("import torch\n"
                      "x = torch.zeros(64, 20, 6, 6)\n"
                      "y = x.view(-1, 500)\n")
    report = check_dynamic(script, python=environment_python("main"))
    (finding,) = report.findings
    assert (finding.rule, finding.line, finding.mode) == ("NPS003", 3, "dynamic")
    assert finding.message == "reshape of an array of 46080 elements to (-1,500) fails"
    assert finding.framework_message == "RuntimeError: shape '[-1, 500]' is invalid for input of size 46080"
