"""The passes of a migration, as the rule modules declare them.

A *phase* is one LibCST traversal of the file; each sees the output of the phase before it. Rule
modules put their transformers (``RulePass`` subclasses, the *members*) into a phase with
:func:`rule_pass`, at an order within it; the engine asks :func:`phases` for the phases of a target
and runs them, knowing no rule by name.

The members of a phase share one traversal and one ``RulePass`` state (statement edits, findings,
names), so that requests on one statement merge (e.g. into one ``with``). For every
``visit_X``/``leave_X`` that any member defines, the phase's transformer calls each member's own
method in order: a ``visit_X`` that returns False in any member skips the node's children; a
``leave_X`` gets the node as the members before it left it, as long as it is still of its original
type (a member that turned a call into something else ends the chain for that node). ``finish_module``
runs every member's in order. ``visit_Module`` and ``__init__`` are cooperative: a member's calls
``super()``. A member that does not apply to a file (``applies_to``: its ``TRIGGER`` does not match)
takes no part in that file's traversal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import libcst as cst

from netport.migrate.import_edits import add_pending_imports, remove_unused_chainer_imports
from netport.migrate.passes import FileContext, RulePass

# Prepares the tree before a phase runs (the engine's import bookkeeping, say); returns the new tree.
Preparation = Callable[[cst.Module, FileContext], cst.Module]


@dataclass
class Phase:
    name: str
    target: str  # "chainer": runs for every target (the torch target starts from Chainer 5 idiom); "torch"
    order: int
    prepare: tuple[Preparation, ...] = ()
    members: list[tuple[int, type[RulePass]]] = field(default_factory=list)
    _transformer: type[RulePass] | None = None

    @property
    def transformer(self) -> type[RulePass]:
        """One transformer class that dispatches to the members (built once)."""
        if self._transformer is None:
            self._transformer = _combine(self.name, [member for _, member in sorted(self.members, key=_order)])
        return self._transformer

    def applies_to(self, source: str, project) -> bool:
        return any(member.applies_to(source, project) for _, member in self.members)


PHASES: dict[str, Phase] = {}
_ORDERS = {"chainer": 0, "torch": 1}


def phase(name: str, target: str, order: int, prepare: tuple[Preparation, ...] = ()) -> None:
    """Declare a phase (below, for the pipeline; rule modules join them with :func:`rule_pass`)."""
    if name in PHASES:
        raise ValueError(f"phase {name} declared twice")
    PHASES[name] = Phase(name, target, order, prepare)


# The pipeline. Chainer: call-level rules (arguments, renames), statement-level rules (train mode,
# links, optimizers), then the sweep for what Chainer 5+ lacks. Torch, on the Chainer 5 result: model
# definitions, functions, Trainer code, training scripts, then the sweep for Chainer names left. Each
# sweep first gets the imports the rules asked for; torch's also loses the Chainer imports left unused.
phase("chainer.calls", "chainer", 10)
phase("chainer.scopes", "chainer", 20)
phase("chainer.residual", "chainer", 90, prepare=(add_pending_imports,))
phase("torch.modules", "torch", 10)
phase("torch.functions", "torch", 20)
phase("torch.trainer", "torch", 30)
phase("torch.scripts", "torch", 40)
phase("torch.residual", "torch", 90, prepare=(add_pending_imports, remove_unused_chainer_imports))


def rule_pass(phase_name: str, order: int):
    """Class decorator: this RulePass subclass is a member of ``phase_name``, at ``order`` within it."""

    def register(cls: type[RulePass]) -> type[RulePass]:
        entry = PHASES[phase_name]
        if any(existing is cls for _, existing in entry.members):
            raise ValueError(f"{cls.__name__} is in phase {phase_name} twice")
        entry.members.append((order, cls))
        entry._transformer = None
        return cls

    return register


def phases(target: str) -> list[Phase]:
    """The phases a migration to ``target`` runs, in order."""
    return sorted((p for p in PHASES.values() if _ORDERS[p.target] <= _ORDERS[target]),
                  key=lambda p: (_ORDERS[p.target], p.order))


def _order(entry: tuple[int, type]) -> int:
    return entry[0]


_DISPATCHED = re.compile(r"(visit|leave)_[A-Z]\w*$")


def _combine(name: str, members: list[type[RulePass]]) -> type[RulePass]:
    if len(members) == 1:
        return members[0]
    methods = {}
    names = {attribute for member in members for attribute in vars(member)
             if _DISPATCHED.match(attribute) and attribute != "visit_Module"}
    for attribute in sorted(names):
        owners = [member for member in members if attribute in vars(member)]
        methods[attribute] = (_visit if attribute.startswith("visit_") else _leave)(attribute, owners)
    finishing = [member for member in members if "finish_module" in vars(member)]
    if finishing:
        methods["finish_module"] = _finish(finishing)
    methods["TRIGGER"] = None  # the members' own triggers decide, file by file
    methods["visit_Module"] = _visit_module
    return type(f"{name.title().replace('.', '').replace('_', '')}Phase", tuple(members), methods)


def _visit_module(self, node: cst.Module):
    source = self.ctx.source
    self._inactive = {member for member in type(self).__bases__ if not member.applies_to(source, self.project)}
    return super(type(self), self).visit_Module(node)


def _visit(attribute: str, owners: list[type]):
    def visit(self, node):
        descend = True
        for owner in owners:
            if owner not in self._inactive and vars(owner)[attribute](self, node) is False:
                descend = False
        return descend

    return visit


def _leave(attribute: str, owners: list[type]):
    def leave(self, original, updated):
        for owner in owners:
            if owner in self._inactive:
                continue
            if not isinstance(updated, type(original)):
                break
            updated = vars(owner)[attribute](self, original, updated)
        return updated

    return leave


def _finish(owners: list[type]):
    def finish_module(self, module: cst.Module) -> cst.Module:
        for owner in owners:
            if owner not in self._inactive:
                module = vars(owner)["finish_module"](self, module)
        return module

    return finish_module
