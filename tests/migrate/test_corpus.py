"""The Chainer 5+ migration over real Chainer v1 code (../shared/corpus, 124 files from 12 public
repositories), measured by benchmarks/corpus_eval.py the way a user runs netport: once per repository.

Skipped where the corpus is absent (it is not part of this repository); CI has it.
"""

from __future__ import annotations

import json
import sys

import pytest

from tests.conftest import REPO, run_python

CORPUS = REPO.parent / "shared" / "corpus"
# Measured 123 of 124 (2026-12-04): one v1 function object (F.MaxPooling2D, called through its
# object) is left for a human with a marker. A floor, not the figure: it only rises.
NO_MARKER_FLOOR = 122


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    if not CORPUS.is_dir():
        pytest.skip(f"{CORPUS} is absent: the real-code corpus is not part of this repository")
    report = tmp_path_factory.mktemp("corpus") / "figures.json"
    result = run_python(sys.executable, [str(REPO / "benchmarks" / "corpus_eval.py"), str(CORPUS), "--to", "chainer",
                                         "-j", "2", "--json", str(report)], cwd=REPO, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    [corpus] = json.loads(report.read_text())
    return corpus["totals"]


def test_no_internal_error_no_refusal_and_every_output_parses(figures):
    # every corpus file is Python 2.7 or 3 that its interpreter compiles: none may be refused
    assert (figures["internal_errors"], figures["refused"], figures["unparsed_outputs"]) == (0, 0, 0)


def test_no_output_uses_a_name_that_nothing_defines(figures):
    assert figures["new_undefined"] == 0 and figures["no_baseline"] == 0


def test_a_second_migration_changes_nothing(figures):
    assert (figures["not_idempotent"], figures["refused_on_rerun"]) == (0, 0)


def test_files_with_no_manual_marker_stay_above_the_floor(figures):
    assert figures["files"] == 124
    assert figures["no_marker"] >= NO_MARKER_FLOOR, figures["markers"]
