"""Every program gets a report (issue 16): recursion is followed one level, and the whole analysis has a
work budget counted in statements and calls (not in seconds), after which it reports what it proved and
notes where it stopped. Real programs (../shared/corpus, skipped where absent) are all checked."""

from __future__ import annotations

import pytest

from netport.shapes import AnalysisError, check_static
from netport.shapes.interpreter import WORK_BUDGET
from tests.conftest import REPO

CORPUS = REPO.parent / "shared" / "corpus"
SENTIMENT = ["chainer+chainer/examples/sentiment/train_sentiment.py",
             "chainer+chainer@v1.4.0/examples/sentiment/train_sentiment.py"]
# layer calls checked over the whole corpus, measured 2026-12 (benchmarks/check_shapes_corpus.py prints it):
# a floor, which modelling more of the corpus's APIs only raises
CORPUS_CHECKED_CALLS_FLOOR = 110

RECURSIVE_NET = """
import chainer
import chainer.functions as F
import chainer.links as L
import numpy as np


class RecursiveNet(chainer.Chain):
    def __init__(self, n_vocab, n_units):
        super().__init__()
        with self.init_scope():
            self.embed = L.EmbedID(n_vocab, n_units)
            self.l = L.Linear(n_units * 3, n_units)  # the bug: n_units * 2

    def node(self, left, right):
        return F.tanh(self.l(F.concat((left, right))))


def traverse(model, node):
    if isinstance(node, int):
        return model.embed(np.array([node], dtype=np.int32))
    left, right = node
    return model.node(traverse(model, left), traverse(model, right))


def read_tree(text):
    return eval(text)


model = RecursiveNet(100, 30)
for tree in [read_tree(line) for line in open('trees.txt')]:
    traverse(model, tree)
root = traverse(model, (1, 2))  # a tree the checker knows: its recursion is followed to the bug
"""


def test_a_recursive_network_is_checked_one_level_deep_and_the_rest_noted(check_source):
    # trees of unknown shape (read from a file): both branches of traverse() are followed, one level deep,
    # and the analysis goes on; where the branch is not known no error is proven
    report = check_source(RECURSIVE_NET)
    (finding,) = report.errors
    assert (finding.line, finding.expected["value"], finding.actual["value"]) == (16, 90, 60)
    assert finding.called_from[0]["line"] == 33  # the known tree, after the loop over the unknown ones
    assert ("recursive calls of traverse() are followed one level deep: the deeper ones are not, and their results "
            "are unknown") in [text for _, text in report.notes]


def test_work_past_the_budget_stops_the_analysis_with_what_it_proved(check_source):
    # every function calls the next one twice: 2 ** 22 calls, no recursion and within the depth limit
    chain = "".join(f"def f{n}(x):\n    f{n + 1}(x)\n    f{n + 1}(x)\n" for n in range(22))
    report = check_source("import numpy as np\nimport chainer.links as L\n"
                          "y = L.Linear(10, 2)(np.zeros((4, 10), dtype=np.float32))\n"
                          + chain + "def f22(x):\n    return x\n"
                          "f0(1)\n"
                          "z = L.Linear(10, 2)(np.zeros((4, 3), dtype=np.float32))  # never reached\n")
    assert report.findings == [] and report.checked_calls == 1  # what came before the budget ran out
    (site, text), = report.notes
    assert text == (f"the analysis stopped here after its work budget ({WORK_BUDGET:,} statements and calls "
                    f"interpreted): the code after it is not checked")
    assert site.rsplit(":", 1)[0].endswith("script.py")


def test_the_budget_is_a_count_the_same_on_every_run(check_source):
    chain = "".join(f"def f{n}():\n    f{n + 1}()\n    f{n + 1}()\n" for n in range(20)) + "def f20():\n    pass\n"
    sites = {check_source(chain + "f0()\n").notes[0][0] for _ in range(2)}
    assert len(sites) == 1


@pytest.fixture(scope="module")
def corpus_reports():
    if not CORPUS.is_dir():
        pytest.skip(f"{CORPUS} is absent: the real-code corpus is not part of this repository")
    reports, refused = {}, {}
    for path in sorted(CORPUS.rglob("*.py")):
        name = str(path.relative_to(CORPUS))
        try:
            reports[name] = check_static(path)
        except AnalysisError as exc:  # a one-line refusal, never a traceback
            refused[name] = str(exc)
    return reports, refused


def test_every_corpus_file_gets_a_report_or_a_one_line_refusal(corpus_reports):
    reports, refused = corpus_reports
    assert len(reports) + len(refused) == 124
    # `import async` does not parse in Python 3.7+, and is not Python 2 either
    assert list(refused) == ["muupan+async-rl/a3c_ale.py"]
    assert all("\n" not in message for message in refused.values())


def test_the_recursive_sentiment_programs_finish_with_their_recursion_noted(corpus_reports):
    reports, _ = corpus_reports
    for name in SENTIMENT:
        assert any("recursive calls of traverse()" in text for _, text in reports[name].notes), name


def test_real_programs_have_their_layer_calls_checked_and_no_finding(corpus_reports):
    reports, _ = corpus_reports
    assert sum(report.checked_calls for report in reports.values()) >= CORPUS_CHECKED_CALLS_FLOOR
    # the corpus programs run (their authors trained them): a finding there would be a false positive
    assert {name: [f.message for f in report.findings] for name, report in reports.items() if report.findings} == {}
