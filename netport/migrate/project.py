"""Facts about the whole set of files being migrated, gathered before any file is rewritten.

A v1 program spreads one idea over several files: ``net.py`` defines ``encode(self, x,
train=True)`` and ``train.py`` calls ``ae.encode(x, train=False)``. Rewriting the call needs to
know the method takes a train flag, so a first pass over every file collects:

* functions and methods with a boolean ``train``/``test`` parameter (and whether they make their
  inputs volatile with it),
* classes that keep a ``self.train`` attribute,
* the link class behind each ``self.<name>`` child (to recognise ``self.bn(x, test=...)``).

The scan uses :mod:`ast` (fast, and enough for these facts).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from netport.migrate.imports import import_map, qualified_name

FLAG_NAMES = ("train", "test")
# Cheap textual gate: a file that never says "chainer" and passes no flag keyword is not touched.
_FLAG_KEYWORD = re.compile(r"\b(?:train|test|volatile)\s*=[^=]")
_LINK_BASES = {"chainer.Chain", "chainer.ChainList", "chainer.Link", "chainer.link.Chain", "chainer.link.ChainList",
               "chainer.link.Link", "chainer.FunctionSet", "chainer.function_set.FunctionSet"}


@dataclass(frozen=True)
class FlagFunction:
    name: str
    param: str  # "train" or "test"
    index: int  # position of the parameter, counting self
    default: bool
    volatile: bool  # makes Variables volatile with the flag (volatile=not train)
    is_method: bool  # first parameter is self: callers pass one argument fewer


@dataclass
class ProjectFacts:
    # several functions may share a name (every model's __call__): all of them are kept
    flag_functions: dict[str, list[FlagFunction]] = field(default_factory=dict)
    defined_functions: set[str] = field(default_factory=set)  # every def, flagged or not
    classes: set[str] = field(default_factory=set)
    train_attribute_classes: set[str] = field(default_factory=set)
    link_types: dict[str, str] = field(default_factory=dict)  # child attribute name -> link class
    uses_chainer: bool = False
    class_bases: dict[str, set[str]] = field(default_factory=dict)  # class -> qualified or local base names
    class_methods: dict[str, set[str]] = field(default_factory=dict)  # class -> the methods it defines

    @property
    def model_methods(self) -> set[str]:
        """Methods the program's own links and chains define (``encode`` of an autoencoder), except names
        that the builtin containers also have: ``x.encode(...)`` is a call of a model part."""
        common = {name for kind in (list, dict, set, tuple) for name in dir(kind)}
        return {name for cls in self.chain_classes for name in self.class_methods.get(cls, ())
                if not name.startswith("_") and name not in common}

    @property
    def chain_classes(self) -> set[str]:
        """Classes of the program that derive (directly or through its own classes) from a Chainer link."""
        found: set[str] = set()
        changed = True
        while changed:
            changed = False
            for name, bases in self.class_bases.items():
                if name not in found and any(b in _LINK_BASES or b in found for b in bases):
                    found.add(name)
                    changed = True
        return found

    def add_source(self, source: str) -> None:
        if "chainer" not in source:
            return
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            return
        self.uses_chainer = True
        aliases = import_map(tree)
        aliases.update(_netport_link_subclasses(tree, aliases))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.defined_functions.add(node.name)
                self._scan_function(node)
            elif isinstance(node, ast.ClassDef):
                self.classes.add(node.name)
                self.class_bases.setdefault(node.name, set()).update(
                    qualified_name(b, aliases) or (b.id if isinstance(b, ast.Name) else "") for b in node.bases)
                self.class_methods.setdefault(node.name, set()).update(
                    item.name for item in node.body if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)))
                self._scan_class(node, aliases)

    def is_relevant(self, source: str) -> bool:
        return "chainer" in source or (bool(self.flag_functions or self.train_attribute_classes)
                                        and _FLAG_KEYWORD.search(source) is not None)

    def _scan_function(self, node: ast.FunctionDef) -> None:
        if node.name == "__init__":  # a constructor's flag configures the object, not a call's mode
            return
        args = node.args.args
        defaults = node.args.defaults
        first_default = len(args) - len(defaults)
        for index, arg in enumerate(args):
            if arg.arg not in FLAG_NAMES or index < first_default:
                continue
            default = defaults[index - first_default]
            if isinstance(default, ast.Constant) and isinstance(default.value, bool):
                volatile = any(
                    isinstance(k, ast.keyword) and k.arg == "volatile" and _mentions(k.value, arg.arg)
                    for k in ast.walk(node))
                is_method = bool(args) and args[0].arg == "self"
                flag = FlagFunction(node.name, arg.arg, index, default.value, volatile, is_method)
                if flag not in self.flag_functions.setdefault(node.name, []):
                    self.flag_functions[node.name].append(flag)

    def _scan_class(self, node: ast.ClassDef, aliases: dict[str, str]) -> None:
        for item in node.body:
            if not (isinstance(item, ast.FunctionDef) and item.name == "__init__"):
                continue
            for sub in ast.walk(item):
                if isinstance(sub, ast.Assign) and any(_is_self_attr(t, "train") for t in sub.targets):
                    if isinstance(sub.value, ast.Constant) and isinstance(sub.value.value, bool):
                        self.train_attribute_classes.add(node.name)
                elif isinstance(sub, ast.Call):
                    for keyword in sub.keywords:  # Chain.__init__(self, bn=L.BatchNormalization(...))
                        if keyword.arg and isinstance(keyword.value, ast.Call):
                            self._record_link(keyword.arg, keyword.value.func, aliases)
                    if _is_self_attr(sub.func, "add_link") and len(sub.args) == 2:
                        name, link = sub.args
                        if isinstance(name, ast.Constant) and isinstance(link, ast.Call):
                            self._record_link(str(name.value), link.func, aliases)
                if isinstance(sub, ast.Assign) and isinstance(sub.value, ast.Call):
                    for target in sub.targets:  # self.bn = L.BatchNormalization(...) in init_scope
                        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                                and target.value.id == "self":
                            self._record_link(target.attr, sub.value.func, aliases)

    def _record_link(self, name: str, func: ast.expr, aliases: dict[str, str]) -> None:
        qualified = qualified_name(func, aliases)
        if qualified and qualified.startswith("chainer."):
            self.link_types[name] = qualified


# Subclasses of a Chainer link that netport writes into a file, by name: they stand for that link.
BATCH_NORMALIZATION_V1 = "BatchNormalizationV1"  # CH017
NETPORT_LINK_SUBCLASSES = {BATCH_NORMALIZATION_V1: "chainer.links.BatchNormalization"}


def _netport_link_subclasses(tree: ast.Module, aliases: dict[str, str]) -> dict[str, str]:
    """The module's own definitions of netport's link subclasses (Chainer 5 output migrated again, or on to
    torch), as aliases of the link they derive from."""
    return {node.name: NETPORT_LINK_SUBCLASSES[node.name] for node in tree.body
            if isinstance(node, ast.ClassDef) and node.name in NETPORT_LINK_SUBCLASSES
            and [qualified_name(base, aliases) for base in node.bases] == [NETPORT_LINK_SUBCLASSES[node.name]]}


def _mentions(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def _is_self_attr(node: ast.AST, attr: str) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == attr and isinstance(node.value, ast.Name) \
        and node.value.id == "self"
