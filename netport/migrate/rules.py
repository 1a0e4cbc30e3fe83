"""The rule catalogue: every rule's id, one-line summary, and a before/after example.

Rule modules register their rules here; the examples double as tests
(tests/migrate/test_rule_examples.py runs each ``before`` through the migrator and expects
``after`` byte for byte), and ``netport migrate --list-rules`` prints the catalogue.
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


RULES: dict[str, Rule] = {}


def register(*rules: Rule) -> None:
    for rule in rules:
        if rule.id in RULES:
            raise ValueError(f"rule id {rule.id} registered twice")
        RULES[rule.id] = rule
