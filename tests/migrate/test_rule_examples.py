"""Every rule's documented before/after example is exactly what the migrator does, and every
noop case (code in the rule's territory that must not change) comes back unchanged."""

from __future__ import annotations

import pytest

from netport.migrate import RULES, Severity, migrate_source


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rule_example(rule_id):
    rule = RULES[rule_id]
    assert rule.before and rule.after, f"{rule_id} has no example"
    result = migrate_source(rule.before, "example.py", target=rule.target, **dict(rule.options))
    assert result.error is None
    assert result.migrated == rule.after
    assert any(f.rule == rule_id for f in result.findings), f"{rule_id} did not report itself"


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rule_example_is_idempotent(rule_id):
    target, options = RULES[rule_id].target, dict(RULES[rule_id].options)
    once = migrate_source(RULES[rule_id].before, "example.py", target=target, **options).migrated
    twice = migrate_source(once, "example.py", target=target, **options)
    assert twice.migrated == once
    assert [f for f in twice.findings if f.severity is not Severity.ERROR] == []


NOOP_CASES = [(rule_id, i) for rule_id in sorted(RULES) for i in range(len(RULES[rule_id].noop))]


@pytest.mark.parametrize("rule_id, index", NOOP_CASES, ids=[f"{rule_id}-noop{i}" for rule_id, i in NOOP_CASES])
def test_rule_noop_case_is_unchanged(rule_id, index):
    rule = RULES[rule_id]
    case = rule.noop[index]
    result = migrate_source(case, "example.py", target=rule.target, **dict(rule.options))
    assert result.error is None
    assert result.migrated == case
    assert [f for f in result.findings if f.rule == rule_id] == []
    assert [f for f in result.findings if f.severity is Severity.ERROR] == []


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rule_has_noop_cases(rule_id):
    noop = RULES[rule_id].noop
    assert isinstance(noop, tuple) and noop, f"{rule_id} has no noop case"
    assert all(isinstance(case, str) and case.endswith("\n") for case in noop)
    assert len(set(noop)) == len(noop), f"{rule_id} repeats a noop case"


def test_rule_ids_are_unique_and_well_formed():
    for rule_id, rule in RULES.items():
        assert rule_id == rule.id and rule_id[:2] == {"chainer": "CH", "torch": "PT"}[rule.target]
        assert len(rule_id) == 5 and rule_id[2:].isdigit()
        assert rule.summary and "\n" not in rule.summary
