"""netport checks its own output: undefined names it introduced (CH095), calls that no longer fit
the signatures the run changed (CH096), and markers an earlier run left (CH097)."""

from __future__ import annotations

from netport.migrate import Severity, migrate_paths, migrate_source
from netport.migrate.safety import Signature, call_conflicts, new_undefined_names

NET = """import chainer
import chainer.functions as F


class AE(chainer.Chain):
    def __call__(self, x, train=True, depth=0):
        return F.dropout(x, train=train)
"""


def errors(result, rule):
    return [f for f in result.findings if f.rule == rule and f.severity is Severity.ERROR]


def test_a_name_the_rewrite_introduced_is_an_error_and_an_old_one_is_not():
    assert new_undefined_names("y = x\n", "y = x + z\n", "f.py") == [(1, 8, "z")]
    assert new_undefined_names("y = x\n", "y = x * 2\n", "f.py") == []  # x was undefined before


def test_a_call_in_another_file_that_now_binds_another_parameter_is_reported_there(tmp_path):
    (tmp_path / "net.py").write_text(NET)
    (tmp_path / "train.py").write_text("import chainer\nfrom net import AE\n\nmodel = AE()\n"
                                       "for flag in (True, False):\n    y = model(x, flag)\n")
    migration = migrate_paths([tmp_path])
    train = migration.results[tmp_path / "train.py"]
    [finding] = errors(train, "CH096")
    assert finding.line == 6 and "binds `depth`" in finding.message
    assert "# netport: TODO(CH096)" in train.migrated.splitlines()[5]
    assert migration.report.exit_code == 1


def test_a_literal_flag_by_position_becomes_a_scope_and_nothing_is_left_to_report(tmp_path):
    (tmp_path / "net.py").write_text(NET + "\n\nclass Regression(chainer.Chain):\n"
                                     "    def __init__(self, predictor):\n"
                                     "        super(Regression, self).__init__(predictor=predictor)\n\n"
                                     "    def __call__(self, x):\n        return self.predictor(x, True)\n")
    result = migrate_paths([tmp_path]).results[tmp_path / "net.py"]
    assert "return self.predictor(x)" in result.migrated
    assert not result.needs_manual_work


def test_signature_binding():
    old = Signature("__call__", "AE", ("x", "train", "depth"), 1, False, frozenset(), False)
    new = Signature("__call__", "AE", ("x", "depth"), 1, False, frozenset(), False)
    assert old.bind(2, []) == ("x", "train") and new.bind(2, []) == ("x", "depth")
    assert new.bind(1, ["train"]) is None and new.bind(3, []) is None and new.bind(0, []) is None
    source = "model = AE()\ny = model(x, train=False)\nz = other(x, True)\n"
    [(line, _, message)] = call_conflicts(source, [(old, new)], {})
    assert line == 2 and "no longer fits" in message


def test_a_marker_left_by_an_earlier_run_keeps_the_run_from_ending_clean():
    once = migrate_source("import chainer\nimport chainer.functions as F\n\n\nclass MLP(chainer.Chain):\n"
                          "    def __call__(self, x, train=True):\n        def drop(h, train=train):\n"
                          "            return F.dropout(h, train=train)\n        return drop(x)\n")
    assert errors(once, "CH095")
    twice = migrate_source(once.migrated)
    assert twice.migrated == once.migrated  # no second marker
    assert [f.rule for f in twice.findings if f.severity is Severity.ERROR] == ["CH097"]
