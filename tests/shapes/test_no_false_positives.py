"""Static mode reports only what it has proven: programs that run fine get no finding, and what the
checker does not model precisely becomes unknown with a note (the audit of issue 5, items 1-7)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from netport.shapes import check_static
from tests.conftest import REPO

CORRECT = REPO / "tests" / "shapes" / "fixtures" / "correct"
UNMODELLED_UPSAMPLE = "`torch.nn.Upsample` is not modelled: its result is unknown and not checked"
WHILE_NOTE = ("`while` loops still running after 16 turns (or past the unroll budget) are interpreted once more "
              "for the rest: what changes from turn to turn is unknown after them")
CARRIED_NOTE = "arrays and layers that a loop interpreted once changes from turn to turn are unknown after it"
DIFFERENT_ITEMS_NOTE = ("loops over different layers or arrays that are not unrolled (more than 16, or past the "
                        "unroll budget) are interpreted once, with an unknown item")

# fixture -> the notes it must get (line, text), all of them
EXPECTED_NOTES = {
    "sequential_with_unmodelled_children.py": [(10, UNMODELLED_UPSAMPLE)],
    "conv_geometry.py": [],
    "linear_n_batch_axes.py": [],
    "stacked_rows.py": [],
    "while_past_the_unroll_limit.py": [(7, WHILE_NOTE)],
    "module_list_item_replaced.py": [],
    "lazy_linear_after_conv.py": [],
    "loop_carried_values.py": [(8, CARRIED_NOTE), (15, DIFFERENT_ITEMS_NOTE)],
    "torch_language_model.py": [],
    "chainer_recurrent_and_losses.py": [],
    "losses_that_fit.py": [],
}


def test_every_correct_fixture_has_its_expectation():
    assert sorted(EXPECTED_NOTES) == sorted(p.name for p in CORRECT.glob("*.py"))


@pytest.mark.parametrize("name", sorted(EXPECTED_NOTES))
def test_correct_program_gets_no_finding_and_only_its_notes(name):
    report = check_static(CORRECT / name)
    assert report.findings == []
    assert [(int(site.rsplit(":", 1)[1]), text) for site, text in report.notes] == EXPECTED_NOTES[name]


def test_the_correct_fixtures_really_run():
    # the proof that they are correct programs: Chainer 7 and torch run them all without an error
    code = ("import runpy, sys\n"
            "for path in sys.argv[1:]:\n"
            "    runpy.run_path(path, run_name='__main__')\n")
    paths = [str(CORRECT / name) for name in sorted(EXPECTED_NOTES)]
    result = subprocess.run([sys.executable, "-c", code, *paths], capture_output=True, text=True, cwd=REPO,
                            timeout=300)
    assert result.returncode == 0, result.stderr


def test_layers_after_unmodelled_sequential_children_are_still_checked_where_known(check_source):
    # nn.AdaptiveAvgPool2d is modelled exactly: a Linear after it built for the wrong width is found
    script_text = ("import torch\nfrom torch import nn\n"
                   "features = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d((1, 1)),\n"
                   "                         nn.Flatten())\n"
                   "head = nn.Linear(64, 10)\n"
                   "out = head(features(torch.zeros(4, 1, 28, 28)))\n")
    (finding,) = check_source(script_text).findings
    assert (finding.line, finding.expected["value"], finding.actual["value"]) == (6, 64, 32)


def test_padding_that_is_not_a_literal_leaves_the_size_unknown(check_source):
    report = check_source("import torch\nfrom torch import nn\nimport somewhere\n"
                    "conv = nn.Conv2d(1, 8, 3, padding=somewhere.PAD)\n"
                    "print(nn.Linear(8 * 28 * 28, 10)(conv(torch.zeros(2, 1, 28, 28)).flatten(1)))\n")
    assert report.findings == []


def test_lazy_linear_binding_is_still_checked_between_linears(check_source):
    # the NPS002 check stays where a Linear's out_size is the width it hands on
    report = check_source("import chainer\nimport chainer.links as L\nimport numpy as np\n"
                    "seq = chainer.Sequential(L.Linear(784, 100), L.Linear(None, 10))\n"
                    "y = seq(np.zeros((4, 784), dtype=np.float32))\n"
                    "stack = chainer.ChainList(L.Linear(784, 100), L.Linear(None, 10))\n"
                    "y = stack[1](np.zeros((4, 784), dtype=np.float32))\n")
    (warning,) = report.findings
    assert (warning.rule, warning.line, warning.expected["value"], warning.actual["value"]) == ("NPS002", 7, 100, 784)


def test_del_of_a_list_item_is_followed(check_source):
    report = check_source("import chainer.links as L\nimport numpy as np\n"
                    "stack = [L.Linear(784, 100), L.Linear(100, 10)]\n"
                    "del stack[0]\n"
                    "y = stack[0](np.zeros((4, 100), dtype=np.float32))\n")
    assert report.findings == [] and report.checked_calls == 1
