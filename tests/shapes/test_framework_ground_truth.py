"""The bug fixtures of losses, recurrent and embedding layers and producer-side bugs, against their ground
truth: each records what the real framework raised (Chainer 1.24, Chainer 7.8 or torch 2.13), the fixtures
really raise it, at the line static mode reports, and static mode predicts that message."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from netport.shapes import check_static
from tests.conftest import REPO, environment_python

FIXTURES = REPO / "tests" / "shapes" / "fixtures"
# fixture -> (environment it runs in, the rule static mode reports)
GROUND_TRUTH = {
    "decoder_mse_bug.py": ("main", "NPS004"),
    "v1_vae_bernoulli_bug.py": ("legacy", "NPS004"),
    "torch_mse_loss_bug.py": ("main", "NPS004"),
    "torch_bce_target_bug.py": ("main", "NPS004"),
    "torch_cross_entropy_classes_bug.py": ("main", "NPS004"),
    "classifier_classes_bug.py": ("main", "NPS004"),
    "torch_embedding_lstm_bug.py": ("main", "NPS001"),
    "torch_lstm_cell_bug.py": ("main", "NPS001"),
    "rnnlm_lstm_bug.py": ("main", "NPS001"),
    "v1_ptb_lstm_bug.py": ("legacy", "NPS001"),
    "nstep_lstm_bug.py": ("main", "NPS001"),
    "lstm_function_gates_bug.py": ("main", "NPS005"),
    "decoder_chain_producer_bug.py": ("main", "NPS001"),
    "torch_units_producer_bug.py": ("main", "NPS001"),
}
# Runs fixtures one after another in one interpreter (one framework start per environment): what each
# raised, and the line of the fixture the error came out of.
RUNNER = """
import json, os, runpy, sys, traceback, warnings
warnings.simplefilter("ignore")
results = {}
for path in sys.argv[1:]:
    try:
        runpy.run_path(path, run_name="__main__")
        results[os.path.basename(path)] = None
    except Exception as exc:
        lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
        results[os.path.basename(path)] = {"message": type(exc).__name__ + ": " + " ".join(str(exc).split()),
                                           "line": lines[-1]}
print(json.dumps(results))
"""


def recorded(name: str) -> str:
    """The framework message written in the fixture's docstring, its lines joined."""
    text = (FIXTURES / name).read_text()
    found = re.search(r"Ground truth, run on [^\n]*:\n((?:    [^\n]*\n)+)", text)
    assert found, f"{name} records no ground truth"
    return " ".join(found.group(1).split())


def test_every_ground_truth_fixture_is_listed():
    recorded_here = sorted(p.name for p in FIXTURES.glob("*.py") if "Ground truth, run on" in p.read_text())
    assert recorded_here == sorted(GROUND_TRUTH)


@pytest.fixture(scope="module")
def raised():
    """What each fixture raises on its framework (tiny sizes: all of an environment in a few seconds)."""
    results = {}
    for environment in sorted({env for env, _ in GROUND_TRUTH.values()}):
        paths = [str(FIXTURES / name) for name, (env, _) in sorted(GROUND_TRUTH.items()) if env == environment]
        done = subprocess.run([str(environment_python(environment)), "-c", RUNNER, *paths], capture_output=True,
                              text=True, cwd=REPO, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        results.update(json.loads(done.stdout.strip().splitlines()[-1]))
    return results


@pytest.mark.parametrize("name", sorted(GROUND_TRUTH))
def test_the_framework_raises_what_the_fixture_records(raised, name):
    assert raised[name] is not None, f"{name} ran without an error"
    assert raised[name]["message"] == recorded(name)


@pytest.mark.parametrize("name", sorted(GROUND_TRUTH))
def test_static_mode_reports_it_where_the_framework_raised_it_with_its_message(raised, name):
    report = check_static(FIXTURES / name)
    (finding,) = report.errors
    assert finding.rule == GROUND_TRUTH[name][1]
    assert finding.path.endswith(name) and finding.line == raised[name]["line"]
    # `B` (a batch size not followed) and `L` (the first label past the output, which depends on the data's
    # order) stand for any number
    predicted = re.sub(r" \(L: the first label from \d+ to \d+\)$", "", finding.framework_message)
    pattern = re.sub(r"\b[BL]\b", r"\\d+", re.escape(predicted))
    assert re.fullmatch(pattern, recorded(name)), (finding.framework_message, recorded(name))
