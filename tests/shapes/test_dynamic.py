"""Dynamic mode (--run): the program runs tiny on synthetic data under each framework, and the first
shape error is reported with the failing layer, the numbers, the layers executed before it and a hint."""

from __future__ import annotations

import json

import pytest

from netport.shapes import check_dynamic, render_json, render_text
from netport.shapes.api import ShapeReport
from netport.shapes.dynamic import merge_static
from netport.shapes.findings import Finding
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
    # what the run cannot see comes from the static analysis, which proves the same finding: where the
    # 784 came from and which element of the units list built the layer
    assert finding.from_static == ["value_flow", "layer.built_from[1:]"]
    assert finding.value_flow[0]["desc"].startswith("load_mnist(ndim=1)")
    assert finding.value_flow[0]["file"].endswith(f"{BUG}/{SCRIPT}")
    assert finding.layer["built_from"][1].startswith("from net.AutoEncoder(n_units[i], n_units[i + 1]")
    assert finding.layer["built_from"][1].endswith(" with i=1")
    text = render_text(report)
    assert "  value flow of the input (static analysis):\n" in text
    assert " with i=1 (static analysis)\n" in text
    assert "load_mnist(ndim=1) (the embedded subset): x_train (N, 784)" in text
    assert "  hint: layer 2 of the stack" in text  # the run's own hint, kept
    assert json.loads(render_json(report))["findings"][0]["from_static"] == finding.from_static


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
    # static mode proves it too: its value flow and hint are added, marked as the static analysis's
    assert finding.from_static == ["value_flow", "hint"]
    assert finding.value_flow[-1]["desc"] == "`x`" and finding.hint.startswith("the feature maps (20, 6, 6)")


def test_a_finding_static_mode_cannot_prove_is_kept_as_the_run_found_it(tmp_path):
    # the data's width is only known when the program runs (read back from a file): static mode proves
    # nothing there, so the run's finding keeps no value flow and says nothing of the static analysis
    script = tmp_path / "loaded.py"
    script.write_text("import os\n"
                      "import tempfile\n"
                      "import numpy as np\n"
                      "import chainer.links as L\n"
                      "path = os.path.join(tempfile.mkdtemp(), 'x.npy')\n"
                      "np.save(path, np.zeros((8, 300), dtype=np.float32))\n"
                      "x = np.load(path)\n"
                      "layer = L.Linear(784, 10)\n"
                      "y = layer(x)\n")
    report = check_dynamic(script, python=environment_python("main"))
    (finding,) = report.findings
    assert (finding.rule, finding.line, finding.expected["value"], finding.actual["value"]) == ("NPS001", 9, 784, 300)
    assert finding.value_flow == [] and finding.from_static == [] and finding.hint is None
    assert finding.layer["built_from"] == [f"layer = L.Linear(784, 10) at {finding.path}:8"]
    text = render_text(report)
    assert "static analysis" not in text and "value flow" not in text


def _finding(**fields) -> Finding:
    base = dict(rule="NPS001", severity="error", path="net.py", line=45, col=32, message="m",
                expected={"expr": "in_size == 250", "value": 250}, actual={"expr": "x", "value": 784},
                layer={"name": "model[1].encoder", "built_at": "net.py:27",
                       "built_from": ["encoder=L.Linear(n_in, n_out), at net.py:27"]})
    base.update(fields)
    return Finding(**base)


def test_static_fields_fill_only_what_the_run_left_empty():
    static = _finding(layer={"name": "model[1].encoder", "built_at": "net.py:27",
                             "built_from": ["L.Linear(250, 100) at net.py:27", "from AE(...) at train.py:72 with i=1"]},
                      value_flow=[{"file": "train.py", "line": 58, "desc": "load_mnist()"}],
                      called_from=[{"file": "train.py", "line": 144, "desc": "train(...)"}], hint="static hint")
    dynamic = _finding(hint="run hint", called_from=[{"file": "train.py", "line": 144, "desc": "train(,"}])
    merge_static(dynamic, static)
    assert dynamic.from_static == ["value_flow", "layer.built_from[1:]"]
    assert dynamic.layer["built_from"] == ["encoder=L.Linear(n_in, n_out), at net.py:27",
                                           "from AE(...) at train.py:72 with i=1"]
    assert dynamic.hint == "run hint" and dynamic.called_from[0]["desc"] == "train(,"
    # a layer built elsewhere by static mode's account gets none of its construction lines
    other = _finding()
    merge_static(other, _finding(layer=dict(static.layer, built_at="net.py:30"), value_flow=static.value_flow))
    assert other.from_static == ["value_flow"] and len(other.layer["built_from"]) == 1


def test_a_layer_built_in_a_loop_gets_the_loop_turn_static_mode_saw():
    # layers added in a loop inside __init__: the element of the units list is on static mode's first line
    dynamic = _finding(layer={"name": "model.predictor.l1", "built_at": "net.py:13",
                              "built_from": ["self.add_link('l%d' % i, L.Linear(units[i], units[i + 1])) at net.py:13"]})
    static = _finding(layer={"name": "model.predictor.l1", "built_at": "net.py:13",
                             "built_from": ["L.Linear(300, 300) at net.py:13 with i=1",
                                            "from MLP([784, 300, 300, 10]) at train.py:27"]})
    merge_static(dynamic, static)
    assert dynamic.layer["built_from"][1:] == static.layer["built_from"]
    assert dynamic.from_static == ["layer.built_from[1:]"]
    text = render_text(ShapeReport("train.py", "dynamic", [dynamic]))
    assert "            L.Linear(300, 300) at net.py:13 with i=1 (static analysis)\n" in text
    assert "built by self.add_link('l%d' % i, L.Linear(units[i], units[i + 1])) at net.py:13\n" in text


def test_a_static_finding_of_other_values_at_the_same_line_is_not_taken():
    from netport.shapes.dynamic import _same_finding

    dynamic = _finding()
    assert _same_finding(dynamic, _finding(path="./net.py", col=5))  # the same file and line
    assert not _same_finding(dynamic, _finding(actual={"expr": "x", "value": 500}))
    assert not _same_finding(dynamic, _finding(expected={"expr": "x", "value": 100}))
    assert not _same_finding(dynamic, _finding(line=46))
    assert not _same_finding(dynamic, _finding(path="other/net.py"))
    assert not _same_finding(dynamic, _finding(rule="NPS002"))
    assert not _same_finding(_finding(actual={"expr": "x", "value": None}), _finding(actual={"expr": "x", "value": None}))


def test_set_gives_a_list_to_an_nargs_option_as_static_mode_reads_it(tmp_path):
    script = tmp_path / "nargs.py"
    script.write_text("import argparse\n"
                      "import numpy as np\n"
                      "import chainer\n"
                      "import chainer.links as L\n"
                      "parser = argparse.ArgumentParser()\n"
                      "parser.add_argument('--units', type=int, nargs='+', default=[784, 500, 10])\n"
                      "args = parser.parse_args()\n"
                      "layers = chainer.ChainList(*[L.Linear(a, b) for a, b in zip(args.units[:-1], args.units[1:])])\n"
                      "h = np.zeros((32, 784), dtype=np.float32)\n"
                      "for link in layers:\n"
                      "    h = link(h)\n")
    report = check_dynamic(script, overrides={"units": "700,100,10"}, python=environment_python("main"))
    (finding,) = report.findings
    assert (finding.line, finding.expected["value"], finding.actual["value"]) == (11, 700, 784)
    assert finding.layer["built_from"][1].endswith(" with a=700, b=100")  # static mode read the same list


FIXTURES = REPO / "tests" / "shapes" / "fixtures"


def test_a_loss_comparing_another_width_is_reported_not_a_crash():
    # issue 16: a decoder 64 -> 748 against the 784-wide input crashed the text report (None + str)
    report = check_dynamic(FIXTURES / "decoder_mse_bug.py", python=environment_python("main"))
    (finding,) = report.findings
    assert (finding.rule, finding.line, finding.expected["value"], finding.actual["value"]) == ("NPS004", 27, 784, 748)
    assert finding.message == "MeanSquaredError is given arrays of shapes (8, 748) and (8, 784), which do not fit"
    assert finding.framework_message.startswith("InvalidType: Invalid operation is performed in: MeanSquaredError")
    assert finding.from_static == ["value_flow", "hint"]  # static mode proves the same finding
    assert "build model.decoder with 784 outputs" in finding.hint
    text = render_text(report)
    assert "  Chainer 7.8.1 raised: InvalidType:" in text and "None" not in text
    document = render_json(report)
    assert "None" not in document and "null" not in document and " ?" not in document


def test_the_v1_vae_is_reported_by_the_loss_it_called():
    report = check_dynamic(FIXTURES / "v1_vae_bernoulli_bug.py", python=environment_python("legacy"))
    (finding,) = report.findings
    assert (finding.rule, finding.line) == ("NPS004", 34)
    assert finding.message == "bernoulli_nll is given arrays of shapes (8, 784) and (8, 748), which do not fit"
    assert "None" not in render_text(report)


@pytest.mark.parametrize("name, rule, values", [
    ("torch_embedding_lstm_bug.py", "NPS001", (256, 128)),  # was "not a shape error"
    ("torch_cross_entropy_classes_bug.py", "NPS004", (None, None)),
    ("torch_bce_target_bug.py", "NPS004", (784, 748)),
])
def test_torch_shape_errors_of_recurrent_layers_and_losses_are_findings(name, rule, values):
    report = check_dynamic(FIXTURES / name, python=environment_python("main"))
    (finding,) = report.findings
    assert finding.rule == rule and finding.raised_by == "torch"
    assert ((finding.expected or {}).get("value"), (finding.actual or {}).get("value")) == values
    assert "hint" in finding.from_static  # the static analysis proved the same finding and adds its hint
