"""Static mode: the abstract interpreter finds the bugs it must, with the right line, layer, numbers
and hint, and reports nothing on correct programs."""

from __future__ import annotations

import pytest

from netport.shapes import check_static
from tests.conftest import REPO
from tests.shapes.conftest import run_fresh_python

FIXTURES = REPO / "tests" / "shapes" / "fixtures"
BUG = "mnist_sae_pretrain_bug"
EXAMPLES = sorted(p.name for p in (REPO / "legacy_examples").iterdir() if p.is_dir())
SCRIPTS = {example: next((REPO / "legacy_examples" / example).glob("train_*.py")).name for example in EXAMPLES}


def line_of(path, text: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.mark.parametrize("tree", ["legacy_examples", "migrated_examples/chainer", "migrated_examples/torch"])
def test_pretrain_bug_found_with_line_layer_numbers_and_hint(tree):
    folder = REPO / tree / BUG
    report = check_static(folder / SCRIPTS[BUG])
    assert [f.rule for f in report.findings] == ["NPS001"]
    finding = report.findings[0]
    # where the framework fails: the encoder call inside AutoEncoder.encode
    assert finding.path.endswith(f"{BUG}/net.py")
    assert finding.line == line_of(folder / "net.py", "self.activation(self.encoder(h))")
    assert (finding.expected["value"], finding.actual["value"]) == (250, 784)
    assert finding.layer["name"] == "model[1].encoder"
    assert finding.layer["in"] == 250 and finding.layer["out"] == 100
    built_path, built_line = finding.layer["built_at"].rsplit(":", 1)
    assert built_path.endswith(f"{BUG}/net.py")
    assert "Linear(n_in, n_out)" in (folder / "net.py").read_text().splitlines()[int(built_line) - 1]
    assert any("with i=1" in line for line in finding.layer["built_from"])  # which element of the units list
    # where 784 came from: the loader, then x_train passed to train() at the pretraining call
    script = folder / SCRIPTS[BUG]
    flow = [(step["line"], step["desc"]) for step in finding.value_flow]
    assert "load_mnist" in flow[0][1]
    assert (line_of(script, "train(optimizer, LayerLoss(ae), x_train"), "argument `data` of train()") in flow
    assert finding.hint.startswith("layer 2 of the stack is fed the raw 784-wide input; feed it the codes of "
                                   "layer 1 (250 wide)")
    assert "`train_data`" in finding.hint
    assert "400 optimizer updates" in finding.context  # 10 epochs x 40 batches of layer 1 first
    if tree == "migrated_examples/torch":
        assert finding.framework_message == ("RuntimeError: mat1 and mat2 shapes cannot be multiplied "
                                             "(Bx784 and 250x100)")
    else:
        assert finding.framework_message.endswith("Actual: 784 != 250")


def test_message_dialect_follows_the_chainer_version():
    script = REPO / "legacy_examples" / BUG / SCRIPTS[BUG]
    messages = {version: check_static(script, chainer_version=version).findings[0].framework_message
                for version in [(1, 24, 0), (4, 5, 0), (5, 4, 0)]}
    assert "Expect: prod(in_types[0].shape[1:]) == in_types[1].shape[1]" in messages[(1, 24, 0)]
    assert "Expect: in_types[0].shape[1] == in_types[1].shape[1]" in messages[(4, 5, 0)]
    assert "Expect: x.shape[1] == W.shape[1]" in messages[(5, 4, 0)]


def test_a_chainer_v1_program_gets_chainer_1_messages_unless_a_version_is_given():
    legacy = check_static(REPO / "legacy_examples" / BUG / SCRIPTS[BUG])
    assert "Expect: prod(in_types[0].shape[1:]) == in_types[1].shape[1] Actual: 784 != 250" in \
        legacy.findings[0].framework_message
    assert legacy.chainer_version == (1, 24, 0)
    assert [text for _, text in legacy.notes] == [
        "the program uses Chainer v1 APIs (train=): Chainer 1.24.0's error messages are predicted "
        "(--chainer-version to choose another)"]
    chosen = check_static(REPO / "legacy_examples" / BUG / SCRIPTS[BUG], chainer_version=(7, 8, 1))
    assert "Expect: x.shape[1] == W.shape[1]" in chosen.findings[0].framework_message and chosen.notes == []
    migrated = check_static(REPO / "migrated_examples" / "chainer" / BUG / SCRIPTS[BUG])
    assert "Expect: x.shape[1] == W.shape[1]" in migrated.findings[0].framework_message and migrated.notes == []


def test_script_arguments_and_overrides_change_the_units():
    script = REPO / "legacy_examples" / BUG / SCRIPTS[BUG]
    finding = check_static(script, ["--unit", "1000,500"]).findings[0]
    assert (finding.expected["value"], finding.actual["value"]) == (1000, 784)
    assert check_static(script, overrides={"unit": "100"}).findings == []  # one layer: nothing to feed wrongly


@pytest.mark.parametrize("tree", ["legacy_examples", "migrated_examples/chainer", "migrated_examples/torch"])
@pytest.mark.parametrize("example", [e for e in EXAMPLES if e != BUG])
def test_no_finding_on_correct_examples(tree, example):
    report = check_static(REPO / tree / example / SCRIPTS[example])
    assert report.findings == []
    assert report.checked_calls > 0  # it did check layer calls, not just give up


def test_swapped_units():
    report = check_static(FIXTURES / "swapped_units.py")
    (finding,) = report.findings
    assert finding.line == line_of(FIXTURES / "swapped_units.py", "x = F.relu(link(x))")
    assert (finding.expected["value"], finding.actual["value"]) == (1000, 784)
    assert finding.layer["name"] == "model[0]"
    assert "swapped" in finding.hint and "L.Linear(784, 1000)" in finding.hint


def test_lazy_linear_binding_to_the_raw_width_is_a_warning_and_fine_tuning_fails():
    report = check_static(FIXTURES / "lazy_binding.py")
    warning = next(f for f in report.findings if f.rule == "NPS002")
    assert warning.severity == "warning"
    assert warning.layer["name"] == "stack[1].encoder"
    assert (warning.expected["value"], warning.actual["value"]) == (1000, 784)
    assert "raw 784-wide input" in warning.hint
    error = next(f for f in report.findings if f.rule == "NPS001")
    assert error.line == line_of(FIXTURES / "lazy_binding.py", "return F.sigmoid(self.encoder(x))")
    assert (error.expected["value"], error.actual["value"]) == (784, 1000)


def test_conv_to_linear_flatten_size():
    (finding,) = check_static(FIXTURES / "conv_flatten.py").findings
    assert (finding.expected["value"], finding.actual["value"]) == (800, 512)
    assert finding.layer["name"] == "model.fc"
    assert "(32, 4, 4) = 512" in finding.hint


def test_get_mnist_ndim3_into_linear_is_no_error_because_chainer_flattens():
    report = check_static(FIXTURES / "get_mnist_ndim3.py")
    assert report.findings == []
    assert report.checked_calls == 2  # l1 saw (B, 1, 28, 28) through the Trainer; l2 its output


def test_torch_linear_checks_the_last_axis():
    (finding,) = check_static(FIXTURES / "torch_sequential.py").findings
    assert (finding.expected["value"], finding.actual["value"]) == (128, 256)
    assert finding.framework_message == "RuntimeError: mat1 and mat2 shapes cannot be multiplied (64x256 and 128x10)"


def test_unknown_apis_become_notes_not_errors(tmp_path):
    script = tmp_path / "mystery.py"
    script.write_text("import chainer.links as L\nimport numpy as np\nimport somelib\n"
                      "x = somelib.load()\nh = np.fancy_op(x)\nmodel = L.Linear(784, 10)\ny = model(h)\n")
    report = check_static(script)
    assert report.findings == []
    assert any("numpy.fancy_op" in text for _, text in report.notes)


def test_static_mode_imports_neither_chainer_nor_torch():
    code = ("import sys; from netport.shapes import check_static; "
            f"r = check_static({str(REPO / 'legacy_examples' / BUG / SCRIPTS[BUG])!r}); "
            "assert r.findings; print(sorted(m for m in sys.modules if m.split('.')[0] in ('chainer', 'torch')))")
    assert run_fresh_python(code) == "[]"


def test_tied_decoder_uses_the_transposed_encoder_weight(tmp_path):
    script = tmp_path / "tied.py"
    script.write_text(
        "import chainer\nimport chainer.functions as F\nimport chainer.links as L\nimport numpy as np\n\n\n"
        "class TiedAE(chainer.Chain):\n"
        "    def __init__(self, n_in, n_out):\n"
        "        super(TiedAE, self).__init__(encoder=L.Linear(n_in, n_out))\n"
        "        self.add_param('b_dec', (n_in,))\n\n"
        "    def decode(self, h):\n"
        "        return F.sigmoid(F.linear(h, F.transpose(self.encoder.W), self.b_dec))\n\n\n"
        "ae = TiedAE(784, 250)\n"
        "x = np.zeros((10, 784), dtype=np.float32)\n"
        "code = F.sigmoid(ae.encoder(x))\n"
        "good = ae.decode(code)\n"
        "bad = ae.decode(x)  # the raw data instead of the code\n")
    (finding,) = check_static(script).findings
    assert finding.line == 13  # the F.linear call inside decode
    assert (finding.expected["value"], finding.actual["value"]) == (250, 784)
    assert "transposed weight of L.Linear" in finding.layer["kind"]
    assert [step["line"] for step in finding.called_from] == [20]


def test_last_short_minibatch_reshaped_with_a_hard_coded_batch_size():
    (finding,) = check_static(FIXTURES / "residual_batch.py").findings
    assert finding.rule == "NPS003"
    assert finding.line == line_of(FIXTURES / "residual_batch.py", ".reshape(batchsize, 784)")
    assert (finding.expected["value"], finding.actual["value"]) == (300 * 784, 100 * 784)
    assert "reshape(-1, 784)" in finding.hint


def test_full_batches_only_give_no_reshape_finding(tmp_path):
    script = tmp_path / "even.py"
    script.write_text((FIXTURES / "residual_batch.py").read_text().replace("N, batchsize = 1000, 300",
                                                                          "N, batchsize = 1200, 300"))
    assert check_static(script).findings == []


def test_the_chainer_dialect_is_the_whole_files_and_its_projects(tmp_path):
    # issue 16: v1-only APIs after the failing line, or in the training script that imports the model module
    body = ("import numpy as np\nimport chainer\nimport chainer.functions as F\nimport chainer.links as L\n"
            "model = chainer.Chain(l1=L.Linear(784, 100), l2=L.Linear(200, 10))\n"
            "h = model.l2(F.relu(model.l1(np.zeros((8, 784), dtype=np.float32))))\n")
    late = tmp_path / "late" / "train.py"
    late.parent.mkdir()
    late.write_text(body + "y = F.dropout(h, train=True)\n")
    report = check_static(late)
    assert "Expect: prod(in_types[0].shape[1:]) == in_types[1].shape[1] Actual: 100 != 200" in \
        report.findings[0].framework_message
    assert report.notes[0][0].endswith("train.py:7") and "(train=)" in report.notes[0][1]
    project = tmp_path / "project"
    project.mkdir()
    (project / "net.py").write_text(body)
    (project / "train.py").write_text("import chainer\nimport net\nx = chainer.Variable(None, volatile='on')\n")
    (project / "other.py").write_text("import chainer\nmodel = chainer.FunctionSet()\n")  # unrelated to net.py
    report = check_static(project / "net.py")
    assert report.chainer_version == (1, 24, 0) and "(volatile=)" in report.notes[0][1]
    (project / "train.py").unlink()
    report = check_static(project / "net.py")  # other.py does not import net: not its project
    assert "Expect: x.shape[1] == W.shape[1]" in report.findings[0].framework_message and report.notes == []
