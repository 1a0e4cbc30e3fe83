"""netport doctor's static checks (ND001-ND005): each bug fixture is found at its rule, line and column, its
corrected twin reports nothing, and the example programs and the corpus (correct code) stay clean."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from netport.doctor import AnalysisError, diagnose
from netport.shapes.api import scripts_in
from tests.conftest import REPO

FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = REPO.parent / "shared" / "corpus"

# fixture -> the one finding it must give: (rule, line, column), and the text that says what it is about
BUGS = {
    "nd001_torch_grad_after_zero_grad.py": ("ND001", 15, 27, "`model[0].weight.grad` is read after the gradients "
                                            "were cleared at line 14"),
    "nd001_chainer_cleargrads.py": ("ND001", 17, 17, "`model.predictor.W.grad` is read after the gradients were "
                                    "cleared at line 16 (`model.cleargrads()`)"),
    "nd002_torch_no_zero_grad.py": ("ND002", 13, 9, "`optimizer.step()` steps in the loop at line 10"),
    "nd002_chainer_update_no_cleargrads.py": ("ND002", 14, 5, "`optimizer.update()` steps in the loop at line 11"),
    "nd003_torch_no_grad.py": ("ND003", 13, 9, "inside `torch.no_grad()` (line 9)"),
    "nd003_chainer_no_backprop.py": ("ND003", 16, 9, "inside `chainer.no_backprop_mode()` (line 13)"),
    "nd004_torch_eval_left_on.py": ("ND004", 16, 5, "`model.eval()` is still in force at the optimizer step "
                                    "`optimizer.step()` (line 15) when the loop comes back to it"),
    "nd004_chainer_using_config.py": ("ND004", 25, 1, "`chainer.using_config('train', False)` is still in force "
                                      "at the backward() `loss.backward()` (line 29)"),
    "q4_raw_pixels_sigmoid.py": ("ND005", 35, 44, "`x` holds raw 0-255 values (from line 12) and is fed to `model`"),
    "q4_chainer_raw_pixels.py": ("ND005", 30, 5, "`x` holds raw 0-255 values (from line 22)"),
}
CLEAN = ["nd001_torch_grad_after_zero_grad_fixed.py", "nd001_chainer_cleargrads_fixed.py",
         "nd002_torch_no_zero_grad_fixed.py", "nd002_torch_accumulation.py",
         "nd002_chainer_update_no_cleargrads_fixed.py", "nd003_torch_no_grad_fixed.py",
         "nd003_chainer_no_backprop_fixed.py", "nd004_torch_eval_left_on_fixed.py",
         "nd004_chainer_using_config_fixed.py", "q4_raw_pixels_sigmoid_fixed.py", "q4_chainer_raw_pixels_fixed.py",
         "q3_relu_zero_init.py", "q3_relu_zero_init_fixed.py"]


@pytest.mark.parametrize("name", sorted(BUGS))
def test_bug_fixture_found_at_its_line(name):
    rule, line, col, words = BUGS[name]
    report = diagnose(FIXTURES / name)
    assert [(f.rule, f.line, f.col) for f in report.findings] == [(rule, line, col)]
    (finding,) = report.findings
    assert words in finding.message and finding.hint and finding.severity == "warning"


@pytest.mark.parametrize("name", CLEAN)
def test_corrected_fixture_is_clean(name):
    assert diagnose(FIXTURES / name).findings == []


def test_every_bug_fixture_has_a_corrected_twin():
    for name in BUGS:
        assert (FIXTURES / name.replace(".py", "_fixed.py")).name in CLEAN


def findings_of(tmp_path, source: str):
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(source))
    return [(f.rule, f.line) for f in diagnose(script).findings]


def test_nd001_clear_at_the_end_of_the_loop_read_at_the_top_of_the_next_pass(tmp_path):
    assert findings_of(tmp_path, """
        for step in range(10):
            print(model.weight.grad)
            loss = model(x).sum()
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    """) == [("ND001", 3)]


def test_nd001_not_after_backward_nor_for_none_checks_nor_when_one_branch_did_not_clear(tmp_path):
    assert findings_of(tmp_path, """
        optimizer.zero_grad()
        if model.weight.grad is None:
            print("cleared to None")
        loss.backward()
        print(model.weight.grad)
        if flag:
            optimizer.zero_grad()
        print(model.weight.grad)
        optimizer.update(lossfun, x, t)
        print(model.W.grad)
    """) == []


def test_nd002_update_with_a_loss_function_and_a_clearing_helper_are_not_flagged(tmp_path):
    assert findings_of(tmp_path, """
        def reset(model):
            model.zerograds()

        for x, t in batches:
            optimizer.update(model, x, t)
        for x, t in batches:
            reset(model)
            loss = model(x, t)
            loss.backward()
            optimizer.update()
        for x, t in batches:
            loss = model(x, t)
            loss.backward()
            for p in model.parameters():
                p.grad = None
            scheduler.step()
            optimizer.step()
    """) == []


def test_nd002_clearing_once_per_epoch_is_not_clearing_each_step(tmp_path):
    assert findings_of(tmp_path, """
        for epoch in range(10):
            optimizer.zero_grads()
            for x, t in batches:
                loss = model(x, t)
                loss.backward()
                optimizer.update()
    """) == [("ND002", 7)]


def test_nd003_needs_the_loss_computed_inside_the_block(tmp_path):
    # backward() on a graph recorded before the block works in torch and Chainer: nothing to report
    assert findings_of(tmp_path, """
        loss = model(x, t)
        with torch.no_grad():
            loss.backward()

        @torch.no_grad()
        def train_step(x, t):
            model(x, t).backward()
    """) == [("ND003", 8)]


def test_nd004_eval_before_the_loop_and_chainer_v1_train_flag(tmp_path):
    assert findings_of(tmp_path, """
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        model.eval()
        for x, t in batches:
            optimizer.zero_grad()
            model(x, t).backward()
            optimizer.step()

        optimizer2 = optimizers.SGD()
        optimizer2.setup(net)
        net.train = False
        for x, t in batches:
            optimizer2.update(net, x, t)
    """) == [("ND004", 3), ("ND004", 11)]


def test_nd004_a_frozen_model_in_eval_mode_trains_nothing(tmp_path):
    # a teacher in eval mode while the student trains: the optimizer does not train the teacher
    assert findings_of(tmp_path, """
        optimizer = torch.optim.SGD(student.parameters(), lr=0.1)
        teacher.eval()
        for x in batches:
            optimizer.zero_grad()
            loss = ((student(x) - teacher(x)) ** 2).mean()
            loss.backward()
            optimizer.step()
    """) == []


def test_nd005_uint8_target_of_bce_and_nothing_when_scaled_or_unknown(tmp_path):
    assert findings_of(tmp_path, """
        import numpy as np
        images = np.fromfile("train.bin", dtype=np.uint8).reshape(-1, 784)
        criterion = nn.BCELoss()
        scaled = images / 255.
        loss = criterion(model(torch.from_numpy(scaled)), torch.from_numpy(images).float())
        other = load_images()
        loss = criterion(model(torch.from_numpy(other)), torch.from_numpy(other))
    """) == [("ND005", 6)]


def test_unparsable_file_is_a_one_line_error(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n")
    with pytest.raises(AnalysisError, match=r"broken\.py:1:7: cannot parse"):
        diagnose(broken)


def _scan(directory: Path) -> tuple[int, list[str], list[str]]:
    findings, refused = [], []
    scripts = scripts_in(directory)
    for script in scripts:
        try:
            findings += [f"{f.path}:{f.line}: {f.rule}" for f in diagnose(script).findings]
        except AnalysisError as exc:
            refused.append(str(exc))
    return len(scripts), findings, refused


@pytest.mark.parametrize("directory", ["legacy_examples", "migrated_examples"])
def test_no_findings_on_the_example_programs(directory):
    count, findings, refused = _scan(REPO / directory)
    assert count >= 9 and findings == [] and refused == []


def test_no_findings_on_the_corpus():
    if not CORPUS.is_dir():
        pytest.skip(f"{CORPUS} is not there")
    count, findings, refused = _scan(CORPUS)
    assert count >= 100 and findings == []
    # muupan+async-rl/a3c_ale.py imports a module named `async`, a keyword since Python 3.7: unparsable
    assert all("a3c_ale.py" in message for message in refused)


def test_nd005_uint8_labels_and_masks_are_not_pixels(tmp_path):
    # L.Classifier's labels and a 0/1 mask as BCE target may be uint8 without being 0-255 data
    assert findings_of(tmp_path, """
        import numpy as np
        import chainer.functions as F
        import chainer.links as L

        class MLP(chainer.Chain):
            def __call__(self, x):
                return F.sigmoid(self.l1(x))

        model = L.Classifier(MLP())
        x = np.random.rand(10, 4).astype(np.float32)
        t = np.array([0, 1, 1, 0, 1, 0, 0, 1, 1, 0], dtype=np.uint8)
        mask = (x > 0.5).astype(np.uint8)
        loss = model(x, t)
        loss = F.sigmoid_cross_entropy(model.predictor(x), mask)
        loss = F.sigmoid_cross_entropy(model.predictor(x), t)
        pixels = np.random.randint(0, 256, (10, 4)).astype(np.uint8)
        loss = model(pixels.astype(np.float32), t)
    """) == [("ND005", 18)]
