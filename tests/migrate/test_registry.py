"""The phases: every rule pass belongs to one, members of a phase all run, in order, on the same node."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import libcst as cst
from libcst.metadata import MetadataWrapper

from netport.migrate import MigrationOptions
from netport.migrate.passes import FileContext, RulePass
from netport.migrate.project import ProjectFacts
from netport.migrate.registry import PHASES, Phase, phases


def rule_passes() -> set[type]:
    found = set()
    for package in ("netport.migrate.chainer", "netport.migrate.torch"):
        for module in pkgutil.iter_modules(importlib.import_module(package).__path__, package + "."):
            for _, value in inspect.getmembers(importlib.import_module(module.name), inspect.isclass):
                if issubclass(value, RulePass) and value is not RulePass and value.__module__ == module.name:
                    found.add(value)
    return found


def test_every_rule_pass_is_in_exactly_one_phase():
    found = rule_passes()  # (importing the rule modules fills the phases)
    members = [member for entry in PHASES.values() for _, member in entry.members]
    assert sorted(members, key=str) == sorted(found, key=str)
    assert len(members) == len(set(members))


def test_the_torch_target_runs_the_chainer_phases_first():
    names = [p.name for p in phases("torch")]
    assert names[:3] == [p.name for p in phases("chainer")] == ["chainer.calls", "chainer.scopes", "chainer.residual"]
    assert names[-1] == "torch.residual"


calls: list[str] = []


class First(RulePass):
    def visit_ClassDef(self, node):
        calls.append("First.visit_ClassDef")

    def leave_Name(self, original, updated):
        calls.append(f"First.leave_Name {updated.value}")
        return updated.with_changes(value=updated.value + "_1")


class Second(RulePass):
    def visit_ClassDef(self, node):  # the hand-written combinations forwarded only what they listed
        calls.append("Second.visit_ClassDef")

    def leave_Name(self, original, updated):
        calls.append(f"Second.leave_Name {updated.value}")
        return updated.with_changes(value=updated.value + "_2")


class Dormant(RulePass):
    TRIGGER = re.compile("never_in_this_file")

    def leave_Name(self, original, updated):
        calls.append("Dormant.leave_Name")
        return updated


def run(phase: Phase, source: str) -> str:
    ctx = FileContext("t.py", ProjectFacts(), MigrationOptions())
    ctx.source = source
    return MetadataWrapper(cst.parse_module(source), unsafe_skip_copy=True).visit(phase.transformer(ctx)).code


def test_each_member_runs_in_order_on_the_node_the_one_before_left():
    calls.clear()
    phase = Phase("test.members", "chainer", 0, members=[(2, Second), (1, First), (3, Dormant)])
    assert run(phase, "class C:\n    pass\n") == "class C_1_2:\n    pass\n"
    assert calls == ["First.visit_ClassDef", "Second.visit_ClassDef", "First.leave_Name C", "Second.leave_Name C_1"]
    assert phase.applies_to("x = 1\n", ProjectFacts())  # First and Second apply everywhere
    assert not Phase("test.dormant", "chainer", 0, members=[(1, Dormant)]).applies_to("x = 1\n", ProjectFacts())


def _own_state(member: type) -> set[str]:
    """The `self.x` attributes a rule pass sets and the helper methods it defines (not the dispatched visitors)."""
    import ast
    import textwrap

    tree = ast.parse(textwrap.dedent(inspect.getsource(member)))
    names = {f"{node.name}()" for node in tree.body[0].body if isinstance(node, ast.FunctionDef) and
             not re.match(r"(visit|leave)_[A-Z]\w*$", node.name) and node.name not in ("finish_module", "applies_to")}
    names |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute) and
              isinstance(node.ctx, ast.Store) and isinstance(node.value, ast.Name) and node.value.id == "self"}
    return names


def test_members_of_a_phase_do_not_share_state_by_accident():
    """A phase's members are one object (its class derives from them all): two members that set the same
    `self._x`, or define the same helper method, overwrite each other's (PT122's list of functions once emptied
    the Function-subclass pass's)."""
    assert len(rule_passes()) >= 20  # (importing the rule modules fills the phases)
    inherited = {name for name in vars(RulePass)} | {"__init__()"}
    clashes = []
    for entry in PHASES.values():
        members = [member for _, member in entry.members]
        for i, first in enumerate(members):
            for second in members[i + 1:]:
                shared = (_own_state(first) & _own_state(second)) - inherited
                if shared:
                    clashes.append((entry.name, first.__name__, second.__name__, sorted(shared)))
    assert clashes == []
