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
from pathlib import Path

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
    owner: str | None = None  # the class of a method


@dataclass
class ProjectFacts:
    # several functions may share a name (every model's __call__): all of them are kept
    flag_functions: dict[str, list[FlagFunction]] = field(default_factory=dict)
    defined_functions: set[str] = field(default_factory=set)  # every def, flagged or not
    # defs that take a train/test parameter (a flag or not) or **kwargs: a call may pass them train=
    open_functions: set[str] = field(default_factory=set)
    classes: set[str] = field(default_factory=set)
    train_attribute_classes: set[str] = field(default_factory=set)
    link_types: dict[str, str] = field(default_factory=dict)  # child attribute name -> link class
    # child attribute name -> the program's own classes it is made from (`block1=Block(64, 3)`)
    held_classes: dict[str, set[str]] = field(default_factory=dict)
    # every name an __init__ of the program keeps something under (`self.x = ...`, `__init__(x=...)`,
    # `add_link('x', ...)`): what `model.x(...)` may call a model through
    child_names: set[str] = field(default_factory=set)
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
        owners = {id(item): node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
                  for item in node.body}
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.defined_functions.add(node.name)
                self._scan_function(node, owners.get(id(node)))
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

    @property
    def flagless_functions(self) -> set[str]:
        """Names every definition of which takes no train/test parameter nor **kwargs: a ``train=``
        passed to one is a v1 mode (the callee was migrated already, in an earlier run or by hand)."""
        return self.defined_functions - self.open_functions

    def _scan_function(self, node: ast.FunctionDef, owner: str | None) -> None:
        if node.args.kwarg is not None or any(a.arg in FLAG_NAMES for a in (*node.args.args, *node.args.kwonlyargs)):
            self.open_functions.add(node.name)
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
                flag = FlagFunction(node.name, arg.arg, index, default.value, volatile, is_method, owner)
                if flag not in self.flag_functions.setdefault(node.name, []):
                    self.flag_functions[node.name].append(flag)

    def _scan_class(self, node: ast.ClassDef, aliases: dict[str, str]) -> None:
        if any(is_train_property(item) for item in node.body):  # `@property def train`: the mode, kept by hand
            self.train_attribute_classes.add(node.name)
        for item in node.body:
            if not (isinstance(item, ast.FunctionDef) and item.name == "__init__"):
                continue
            for sub in ast.walk(item):
                if isinstance(sub, ast.Assign) and any(_is_self_attr(t, "train") for t in sub.targets):
                    if isinstance(sub.value, ast.Constant) and isinstance(sub.value.value, bool):
                        self.train_attribute_classes.add(node.name)
                elif isinstance(sub, ast.Call):
                    initialises = isinstance(sub.func, ast.Attribute) and sub.func.attr == "__init__"
                    for keyword in sub.keywords:  # Chain.__init__(self, bn=L.BatchNormalization(...))
                        if keyword.arg and initialises:  # (predictor=predictor: a child of any kind)
                            self.child_names.add(keyword.arg)
                        if keyword.arg and isinstance(keyword.value, ast.Call):
                            self._record_link(keyword.arg, keyword.value.func, aliases)
                    if _is_self_attr(sub.func, "add_link") and len(sub.args) == 2:
                        name, link = sub.args
                        if isinstance(name, ast.Constant):
                            self.child_names.add(str(name.value))
                        if isinstance(name, ast.Constant) and isinstance(link, ast.Call):
                            self._record_link(str(name.value), link.func, aliases)
                if isinstance(sub, ast.Assign):
                    for target in sub.targets:  # self.bn = L.BatchNormalization(...) in init_scope
                        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                                and target.value.id == "self":
                            self.child_names.add(target.attr)
                            if isinstance(sub.value, ast.Call):
                                self._record_link(target.attr, sub.value.func, aliases)

    def _record_link(self, name: str, func: ast.expr, aliases: dict[str, str]) -> None:
        qualified = qualified_name(func, aliases)
        if qualified and qualified.startswith("chainer."):
            self.link_types[name] = qualified
        elif isinstance(func, ast.Name) and func.id not in aliases:  # a class of this file, or of the program
            self.held_classes.setdefault(name, set()).add(func.id)


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


def may_need_facts(source: str) -> bool:
    """Whether a file's migration can depend on other modules' facts: it names Chainer or passes a flag."""
    return "chainer" in source or _FLAG_KEYWORD.search(source) is not None


def imported_modules(source: str, path: Path) -> list[Path]:
    """The program's own modules that ``source`` (the file at ``path``) imports, as files beside it:
    ``import net``, ``from net import AE``, ``from . import net``, ``from .models.net import AE``.
    A file migrated alone still needs the facts of the modules it calls into (migrated or not)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    directory = path.parent
    found = []

    def module_files(base: Path, dotted: str) -> list[Path]:
        target = base.joinpath(*dotted.split(".")) if dotted else base
        return [f for f in (target.with_suffix(".py"), target / "__init__.py") if dotted and f.is_file()]

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found += module_files(directory, alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level - 2 >= len(directory.parents):
                continue  # above the file system's root: not a module of this program
            base = directory.parents[node.level - 2] if node.level > 1 else directory
            module = node.module or ""
            found += module_files(base, module)
            for alias in node.names:  # `from package import module`
                found += module_files(base, f"{module}.{alias.name}" if module else alias.name)
    return [f for f in dict.fromkeys(found) if f.resolve() != path.resolve()]


class ProgramClasses:
    """The program's own classes as one file sees them: the file's, and those of the modules beside it that it
    imports (read from disk, each parsed once)."""

    def __init__(self, tree: ast.Module | None, path: str, source: str):
        self.tree, self.path, self.source = tree, path, source
        self._trees: dict[str, ast.Module | None] = {}

    def find(self, qualified: str, path=None):
        """The ClassDef of a class of the program: (node, its file's imports, its file), else None."""
        module, _, name = qualified.rpartition(".")
        here = Path(path) if path is not None else Path(self.path)
        if not module:
            tree = self.tree if path is None else self._tree(here)
            for statement in tree.body if tree is not None else ():
                if isinstance(statement, ast.ClassDef) and statement.name == name:
                    return statement, import_map(tree), str(here)
            return None
        text = self.source if path is None else self._text(here)
        for candidate in imported_modules(text or "", here):
            if candidate.with_suffix("").parts[-len(module.split(".")):] == tuple(module.split(".")) or \
                    (candidate.name == "__init__.py" and candidate.parent.name == module.split(".")[-1]):
                tree = self._tree(candidate)
                for statement in tree.body if tree is not None else ():
                    if isinstance(statement, ast.ClassDef) and statement.name == name:
                        return statement, import_map(tree), str(candidate)
        return None

    @staticmethod
    def _text(path: Path) -> str | None:
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def _tree(self, path: Path) -> ast.Module | None:
        key = str(path.resolve())
        if key not in self._trees:
            text = self._text(path)
            try:
                self._trees[key] = ast.parse(text) if text is not None else None
            except (SyntaxError, ValueError):
                self._trees[key] = None
        return self._trees[key]


def is_train_property(node: ast.AST) -> bool:
    """``@property def train(self)`` or its ``@train.setter``: a link's mode attribute, computed."""
    return isinstance(node, ast.FunctionDef) and node.name == "train" and any(
        isinstance(d, ast.Name) and d.id == "property" or
        isinstance(d, ast.Attribute) and d.attr == "setter" and isinstance(d.value, ast.Name) and d.value.id == "train"
        for d in node.decorator_list)
