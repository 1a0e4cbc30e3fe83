"""The rule catalogue: every rule's id, one-line summary, a before/after example, and noop cases.

Rule modules register their rules here; the examples double as tests
(tests/migrate/test_rule_examples.py runs each ``before`` through the migrator and expects
``after`` byte for byte, and each ``noop`` case back unchanged), and ``netport migrate --list-rules``
prints the catalogue (without the noop cases).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    id: str
    summary: str
    before: str = ""
    after: str = ""
    target: str = "chainer"
    # Whole modules that look like the rule's territory (the same method name on another object, a
    # local name like a Chainer one, code already in the target's form) and must come back from the
    # migrator byte for byte, with no finding of this rule and no ERROR (pyupgrade's habit).
    noop: tuple[str, ...] = ()
    # Migration options the examples and noop cases run with (keyword arguments of migrate_source, e.g.
    # (("trainer", "ppe"),)), for rules that only an option turns on.
    options: tuple[tuple[str, str], ...] = ()


RULES: dict[str, Rule] = {}


def register(*rules: Rule) -> None:
    for rule in rules:
        if rule.id in RULES:
            raise ValueError(f"rule id {rule.id} registered twice")
        RULES[rule.id] = rule
