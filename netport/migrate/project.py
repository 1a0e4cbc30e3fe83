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
import dataclasses
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
    # classes that keep a `train` flag of their own (`self.train = train`): torch names it `train_flag` (PT135)
    train_flag_classes: set[str] = field(default_factory=set)
    link_types: dict[str, str] = field(default_factory=dict)  # child attribute name -> link class
    # child attribute name -> the program's own classes it is made from (`block1=Block(64, 3)`)
    held_classes: dict[str, set[str]] = field(default_factory=dict)
    # every name an __init__ of the program keeps something under (`self.x = ...`, `__init__(x=...)`,
    # `add_link('x', ...)`): what `model.x(...)` may call a model through
    child_names: set[str] = field(default_factory=set)
    uses_chainer: bool = False
    class_bases: dict[str, set[str]] = field(default_factory=dict)  # class -> qualified or local base names
    class_methods: dict[str, set[str]] = field(default_factory=dict)  # class -> the methods it defines
    # PT123 across files (a run of files only, see `begin_run`): a module-level function of one file of the run
    # whose array-module parameter may only create arrays, called from other files, by "path::name"; and, by
    # the path of each calling file, the text of the expressions it calls it by (`move`, `utils.move`)
    shared_array_functions: dict[str, SharedArrayFunction] = field(default_factory=dict)
    shared_array_callees: dict[str, dict[str, str]] = field(default_factory=dict)
    # files of the run whose whole project is in it: the directory their imports start from is (in) one of the
    # directories migrated, so no call of theirs is made from a file netport does not see
    whole_project_files: set[str] = field(default_factory=set)

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

    def add_source(self, source: str, path: str | None = None, outside: bool = False) -> None:
        """The facts of one file; with ``path`` (a run's file, see `begin_run`), also what PT123 across files
        needs of it (``outside``: a module the run imports but does not migrate, whose calls stay as they are)."""
        if path is not None and getattr(self, "_run", None) is not None:
            self._run.scan(source, path, outside)
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

    def begin_run(self, paths: list[str], roots: list[str]) -> None:
        """The files (and the paths given) of a run: `add_source` with a path then scans them for PT123."""
        self._run = _RunScan(paths, roots)

    def end_run(self) -> None:
        """After every `add_source` of the run: the facts of PT123 across files."""
        run = getattr(self, "_run", None)
        if run is not None:
            run.facts(self)
            self._run = None

    def block_shared(self, key: str, why: str) -> None:
        """A shared function not every file converted as planned: none convert (the run migrates them again)."""
        function = self.shared_array_functions[key]
        self.shared_array_functions[key] = dataclasses.replace(function, why=why)

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
            for sub in ast.walk(item):
                if isinstance(sub, ast.Assign) and any(_is_self_attr(t, "train") for t in sub.targets) and not (
                        getattr(item, "name", "") == "__init__" and isinstance(sub.value, ast.Constant) and
                        isinstance(sub.value.value, bool)):
                    self.train_flag_classes.add(node.name)
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


@dataclass(frozen=True)
class SharedArrayFunction:
    """PT123 across files: a function whose parameter ``param`` (at ``index``) may only create arrays with the
    array module it is given, called from other files of the run. ``why`` is empty when every call of the
    project can pass the device instead (all calls convert, or none: ``why`` says what stops them)."""

    path: str  # the file that defines it, as the run names it
    name: str
    index: int
    param: str
    shown: str  # the file, for messages (relative to the migrated directory)
    calls: tuple[tuple[str, int], ...]  # (a calling file of the run, how many calls it makes)
    callers: str = ""  # those, for messages
    why: str = ""
    whole: bool = False  # no call can come from a file outside the run


class _RunScan:
    """What PT123 across files needs of a run's files: each file's candidate functions (a parameter used only
    as `p.attr`) and its references to functions of other files of the run, resolved through its imports as
    Python resolves them (beside the file first, then the directories above it: a package's root)."""

    def __init__(self, paths: list[str], roots: list[str]):
        self.files = {str(Path(p).resolve()): p for p in paths}
        self.roots = [Path(r).resolve() for r in roots if Path(r).is_dir()]
        self.candidates: dict[tuple[str, str], tuple[int, str]] = {}  # (path, name) -> (index, parameter)
        self.references: list[tuple[str, str, str, str, tuple | None, bool]] = []  # see scan
        self.stored_xp: set[str] = set()  # files that assign an `.xp` attribute
        self.migrated: set[str] = set()  # files of the run that name Chainer (the others are not rewritten)

    def resolve(self, level: int, module: str, path: str) -> str | None:
        """The run's file of ``module`` imported from ``path`` (``level`` dots before it), or None."""
        here = Path(path).resolve().parent
        if level > 1 and level - 2 >= len(here.parents):
            return None
        bases = [here if level == 1 else here.parents[level - 2]] if level else [here, *here.parents]
        for base in bases:
            target = base.joinpath(*module.split(".")) if module else base
            candidates = (target.with_suffix(".py"), target / "__init__.py") if module else (target / "__init__.py",)
            for candidate in candidates:
                if str(candidate) in self.files:
                    return self.files[str(candidate)]
        return None

    def import_root(self, path: str) -> Path:
        """The directory a file's module name starts from: above its packages (`__init__.py` beside it)."""
        directory = Path(path).resolve().parent
        while (directory / "__init__.py").is_file() and directory.parent != directory:
            directory = directory.parent
        return directory

    def scan(self, source: str, path: str, outside: bool) -> None:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            return
        if not outside and "chainer" in source:
            self.migrated.add(path)
            for node in tree.body:
                if isinstance(node, ast.FunctionDef):
                    candidate = _array_module_parameter(node)
                    if candidate is not None:
                        self.candidates[(path, node.name)] = candidate
        if any(isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and any(
                isinstance(t, ast.Attribute) and t.attr == "xp"
                for t in (n.targets if isinstance(n, ast.Assign) else [n.target])) for n in ast.walk(tree)):
            self.stored_xp.add(path)
        # names bound by imports: name -> (level, dotted module or object)
        aliases: dict[str, tuple[int, str]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        aliases.setdefault(alias.asname, (0, alias.name))
                    else:
                        aliases.setdefault(alias.name.split(".")[0], (0, alias.name.split(".")[0]))
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    module = node.module or ""
                    if alias.name == "*":
                        target = self.resolve(node.level, module, path)
                        if target is not None:  # every function of that file may be called here unseen
                            self.references.append((path, target, "*", "", None, outside))
                        continue
                    aliases.setdefault(alias.asname or alias.name,
                                       (node.level, f"{module}.{alias.name}" if module else alias.name))
        if not aliases:
            return
        parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        def enclosing_class(node: ast.AST) -> str | None:
            while id(node) in parents:
                node = parents[id(node)]
                if isinstance(node, ast.ClassDef):
                    return node.name
            return None

        for node in ast.walk(tree):
            if not (isinstance(node, ast.Name) and node.id in aliases and isinstance(node.ctx, ast.Load)):
                continue
            chain, parts = node, [node.id]
            while isinstance(parents.get(id(chain)), ast.Attribute) and parents[id(chain)].value is chain:
                chain = parents[id(chain)]
                parts.append(chain.attr)
            level, first = aliases[node.id]
            dotted = [*first.split("."), *parts[1:]]
            for cut in range(len(dotted) - 1, 0, -1):  # the longest module of the run, then one function name
                target = self.resolve(level, ".".join(dotted[:cut]), path)
                if target is not None:
                    break
            else:
                continue
            if cut != len(dotted) - 1 or target == path:
                continue
            parent = parents.get(id(chain))
            call = None
            if isinstance(parent, ast.Call) and parent.func is chain:
                call = (tuple(_argument_kind(a, aliases, enclosing_class) for a in parent.args),
                        tuple(k.arg for k in parent.keywords))
            self.references.append((path, target, dotted[-1], ast.unparse(chain), call, outside))

    def facts(self, project: ProjectFacts) -> None:
        """The shared functions and their callers, into ``project`` (its chain classes are known by now)."""
        chains = project.chain_classes
        whole = {path for path in self.files.values()
                 if any(self.import_root(path) == root or root in self.import_root(path).parents
                        for root in self.roots)}
        project.whole_project_files = whole
        by_function: dict[tuple[str, str], list] = {}
        for reference in self.references:
            path, target, name = reference[:3]
            if name == "*":
                for key in self.candidates:
                    if key[0] == target:
                        by_function.setdefault(key, []).append(reference)
            elif (target, name) in self.candidates:
                by_function.setdefault((target, name), []).append(reference)
        for (target, name), references in sorted(by_function.items()):
            index, param = self.candidates[(target, name)]
            why, counts = "", {}
            for path, _, kind, text, call, outside in references:
                shown = self.shown(path)
                problem = ""
                if outside or path not in self.migrated:
                    problem = f"{shown} calls it and is not migrated in this run"
                elif kind == "*":
                    problem = f"{shown} imports every name of its module (`import *`): netport cannot see its calls"
                elif call is None:
                    problem = f"{shown} uses `{text}` otherwise than by calling it"
                else:
                    arguments, keywords = call
                    if any(a[0] == "starred" for a in arguments[:index + 1]) or None in keywords:
                        problem = f"a call in {shown} passes arguments by `*` or `**`"
                    elif param in keywords or index >= len(arguments):
                        problem = f"a call in {shown} passes `{param}` by keyword or not at all"
                    else:
                        problem = _device_problem(arguments[index], chains, path in self.stored_xp)
                        problem = problem and f"{problem} (in {shown})"
                if problem and not why:
                    why = problem
                counts[path] = counts.get(path, 0) + 1
            key = f"{target}::{name}"
            project.shared_array_functions[key] = SharedArrayFunction(
                target, name, index, param, self.shown(target), tuple(sorted(counts.items())),
                ", ".join(f"{self.shown(path)} ({count})" for path, count in sorted(counts.items())), why,
                target in whole and not any(r[5] for r in references))
            for path, _, kind, text, call, _ in references:
                if call is not None:
                    project.shared_array_callees.setdefault(path, {})[text] = key

    def shown(self, path: str) -> str:
        resolved = Path(path).resolve()
        for root in self.roots:
            if root in resolved.parents:
                return resolved.relative_to(root).as_posix()
        return Path(path).name


def _array_module_parameter(function: ast.FunctionDef) -> tuple[int, str] | None:
    """(index, name) of the first plain parameter without a default that the function reads only as `p.attr`
    in its own body (PT123's candidates; the torch pass checks each use)."""
    if any(isinstance(n, ast.Name) and n.id == "device" or isinstance(n, ast.arg) and n.arg == "device"
           for n in ast.walk(function)):
        return None
    args = function.args.args
    first_default = len(args) - len(function.args.defaults)
    nested = {id(n) for inner in ast.walk(function) if inner is not function and
              isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef))
              for n in ast.walk(inner)}
    parents = {id(child): node for node in ast.walk(function) for child in ast.iter_child_nodes(node)}
    for index, arg in enumerate(args):
        if index >= first_default:
            break
        uses = [n for n in ast.walk(function) if isinstance(n, ast.Name) and n.id == arg.arg]
        if uses and all(id(n) not in nested and isinstance(n.ctx, ast.Load) and
                        isinstance(parents.get(id(n)), ast.Attribute) and parents[id(n)].value is n for n in uses):
            return index, arg.arg
    return None


def _argument_kind(node: ast.expr, aliases: dict, enclosing_class) -> tuple:
    """What a call passes for an array module: ("xp", owner, class of `self`) for `R.xp`, ("module", name) for a
    module's name, ("other", text) else."""
    if isinstance(node, ast.Starred):
        return ("starred", ast.unparse(node))
    if isinstance(node, ast.Attribute) and node.attr == "xp":
        owner, root = node.value, node.value
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(root, ast.Name) and root.id not in aliases:
            return ("xp", ast.unparse(owner), enclosing_class(node) if root.id == "self" else None)
    if isinstance(node, ast.Name) and aliases.get(node.id) == (0, "numpy"):
        return ("module", "numpy")
    return ("other", ast.unparse(node))


def _device_problem(kind: tuple, chains: set[str], stored_xp: bool) -> str:
    """Why an argument of this kind cannot become a device ("" when it can: PT123 converts it in torch)."""
    if kind[0] == "module":
        return ""
    if kind[0] == "xp":
        if stored_xp:
            return f"`{kind[1]}.xp` is assigned in that file, so it is not known to be the link's"
        if kind[1].split(".")[0] == "self" and kind[2] not in chains:
            return f"`{kind[1]}.xp` is not known to be a link's"
        if kind[1] in ("np", "numpy", "cuda", "cupy"):
            return f"`{kind[1]}.xp` is no link's"
        return ""
    return f"`{kind[1]}` is passed, which netport does not know to be an array module of a known device"


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


# --- which of the program's classes an object is ------------------------------------------------------------

CLASSIFIER = "chainer.links.Classifier"
_COPIES = {"copy.copy", "copy.deepcopy"}


@dataclass(frozen=True)
class Instance:
    """What netport proves an expression to be: an instance of one of the program's classes (``node``, a ClassDef of
    the file ``path``, whose imports are ``imports``), or Chainer's L.Classifier around ``predictor``."""

    node: ast.ClassDef | None
    imports: dict = field(compare=False, hash=False)
    path: str
    predictor: Instance | None = None  # (an L.Classifier: node is None)

    @property
    def name(self) -> str:
        return self.node.name if self.node is not None else "L.Classifier"

    def same(self, other: Instance | None) -> bool:
        return other is not None and self.node is other.node and (
            self.predictor is other.predictor is None or
            self.predictor is not None and self.predictor.same(other.predictor))


class InstanceClasses:
    """The class of an object as far as netport can prove it from one file and the program's modules it imports
    (`ProgramClasses`): `Net(...)`, `L.Classifier(Net(...))` and its `.predictor`, a `.copy()` (Chainer's copy keeps
    the class and the attributes), a child `self.l = Net(...)` of a known class, `self` in a method, and a name bound
    once in its scope to one of those (a parameter of a function nested in another: the value every call of it
    passes). Anything else is not proven (None)."""

    def __init__(self, tree: ast.Module | None, path: str, source: str, program: ProgramClasses | None = None):
        self.tree, self.path = tree, path
        self.program = program or ProgramClasses(tree, path, source)
        self.imports = import_map(tree) if tree is not None else {}
        self.parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)} \
            if tree is not None else {}
        self._bindings: dict[int, dict[str, list]] = {}
        self._active: set = set()
        self._globals = {name for node in ast.walk(tree) if isinstance(node, (ast.Global, ast.Nonlocal))
                         for name in node.names} if tree is not None else set()

    # scopes
    def at(self, expression: str, names) -> Instance | None:
        """The instance the expression (source text) is, read in the scope at ``names`` (see scope_at)."""
        try:
            parsed = ast.parse(expression, mode="eval").body
        except (SyntaxError, ValueError):
            return None
        return self.of(parsed, self.scope_at(names))

    def scope_at(self, names) -> ast.AST | None:
        """The function (or class, or the module) at a path of definition names from the module."""
        node = self.tree
        if node is None:
            return None
        for name in names:
            found = [child for child in ast.walk(node) if child is not node and isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and child.name == name and
                self._scope_of(child) is node]
            if len(found) != 1:
                return None
            node = found[0]
        return node

    def _scope_of(self, node: ast.AST) -> ast.AST | None:
        """The function, class or module whose body holds ``node``."""
        parent = self.parents.get(id(node))
        while parent is not None and not isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                                             ast.Module, ast.Lambda)):
            parent = self.parents.get(id(parent))
        return parent

    def _function_scope(self, node: ast.AST) -> ast.AST | None:
        """The scope a name in ``node`` (a scope) is looked up in: classes are skipped, as Python skips them."""
        while isinstance(node, ast.ClassDef):
            node = self._scope_of(node)
        return node

    def bindings(self, scope: ast.AST) -> dict[str, list]:
        """name -> what binds it in the scope: an expression for `name = value`, ("param", function, index) for a
        parameter, None for any other binding (a loop, an import, an unpacking, a nested def)."""
        if id(scope) in self._bindings:
            return self._bindings[id(scope)]
        found: dict[str, list] = {}
        if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            arguments = scope.args
            positional = [*arguments.posonlyargs, *arguments.args]
            for index, argument in enumerate(positional):
                found.setdefault(argument.arg, []).append(("param", scope, index))
            for argument in [arguments.vararg, arguments.kwarg, *arguments.kwonlyargs]:
                if argument is not None:
                    found.setdefault(argument.arg, []).append(None)
        body = scope.body if isinstance(scope.body, list) else [scope.body]
        pending = list(body)
        while pending:
            node = pending.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found.setdefault(node.name, []).append(None)
                pending.extend(node.decorator_list)
                continue
            if isinstance(node, (ast.Lambda, ast.GeneratorExp, ast.ListComp, ast.SetComp, ast.DictComp)):
                continue
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        found.setdefault(target.id, []).append(node.value if len(node.targets) == 1 else None)
                    else:
                        for name in ast.walk(target):
                            if isinstance(name, ast.Name) and isinstance(name.ctx, ast.Store):
                                found.setdefault(name.id, []).append(None)
                pending.append(node.value)
                continue
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    found.setdefault((alias.asname or alias.name).split(".")[0], []).append(None)
                continue
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                found.setdefault(node.id, []).append(None)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                found.setdefault(node.name, []).append(None)
            pending.extend(ast.iter_child_nodes(node))
        self._bindings[id(scope)] = found
        return found

    # expressions
    def of(self, expression: ast.expr, scope: ast.AST | None) -> Instance | None:
        """The instance ``expression`` (read in ``scope``, a node of this file's tree) is, else None."""
        if scope is None:
            return None
        key = (ast.dump(expression), id(scope))
        if key in self._active:
            return None
        self._active.add(key)
        try:
            return self._of(expression, scope)
        finally:
            self._active.discard(key)

    def _of(self, expression: ast.expr, scope: ast.AST) -> Instance | None:
        if isinstance(expression, ast.Name):
            return self._name(expression.id, scope)
        if isinstance(expression, ast.Attribute):
            owner = self.of(expression.value, scope)
            if owner is None:
                return None
            if owner.node is None:
                return owner.predictor if expression.attr == "predictor" else None
            return self.child(owner, expression.attr)
        if not isinstance(expression, ast.Call) or any(isinstance(a, ast.Starred) for a in expression.args) or \
                any(k.arg is None for k in expression.keywords):
            return None
        func = expression.func
        qualified = qualified_name(func, self.imports)
        if isinstance(func, ast.Attribute) and func.attr == "get_target" and isinstance(func.value, ast.Name) and \
                func.value.id == "self" and len(expression.args) == 1 and not expression.keywords and \
                isinstance(expression.args[0], ast.Constant) and expression.args[0].value == "main":
            return self._evaluator_target(scope)
        if isinstance(func, ast.Attribute) and func.attr == "copy" and qualified is None and not expression.args and \
                all(k.arg == "mode" for k in expression.keywords):  # link.copy(): the same class, its attributes
            return self.of(func.value, scope)
        if qualified in _COPIES and len(expression.args) == 1 and not expression.keywords:
            return self.of(expression.args[0], scope)
        if qualified == CLASSIFIER:
            predictor = expression.args[0] if expression.args else next(
                (k.value for k in expression.keywords if k.arg == "predictor"), None)
            inner = self.of(predictor, scope) if predictor is not None else None
            return Instance(None, {}, self.path, inner) if inner is not None else None
        return self.constructed(func, self.imports, self.path)

    def constructed(self, func: ast.expr, imports: dict, path: str) -> Instance | None:
        """The instance a call of ``func`` (in the file ``path``) builds, when it is a class of the program."""
        qualified = qualified_name(func, imports)
        if qualified is None and isinstance(func, ast.Name):
            qualified = func.id
        if qualified is None or qualified.startswith("chainer."):
            return None
        found = self.program.find(qualified, None if path == self.path else path)
        return Instance(found[0], found[1], found[2]) if found is not None else None

    def _evaluator_target(self, scope: ast.AST) -> Instance | None:
        """`self.get_target('main')` in a method of an Evaluator subclass defined at the top of this file: the
        target every construction of the class in this file passes (its second argument, or target=)."""
        method = scope
        while method is not None and not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
            method = self._scope_of(method)
        owner = self._scope_of(method) if method is not None else None
        if not isinstance(owner, ast.ClassDef) or self._scope_of(owner) is not self.tree or not any(
                (qualified_name(base, self.imports) or "").endswith("extensions.Evaluator") for base in owner.bases):
            return None
        found: Instance | None = None
        for node in ast.walk(self.tree):
            if not (isinstance(node, ast.Name) and node.id == owner.name and isinstance(node.ctx, ast.Load)):
                continue
            call = self.parents.get(id(node))
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "super":
                continue  # super(Class, self) in its own methods
            if not (isinstance(call, ast.Call) and call.func is node) or \
                    any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
                return None  # subclassed, passed on or kept: its constructions are not all seen
            values = [k.value for k in call.keywords if k.arg == "target"] + call.args[1:2]
            instance = self.of(values[0], self._scope_of(call)) if len(values) == 1 else None
            if instance is None or found is not None and not found.same(instance):
                return None
            found = instance
        return found

    def _name(self, name: str, scope: ast.AST) -> Instance | None:
        if name in self._globals:
            return None
        scope = self._function_scope(scope)
        while scope is not None:
            bound = self.bindings(scope).get(name)
            if bound:
                if len(bound) != 1 or bound[0] is None:
                    return None
                binding = bound[0]
                if isinstance(binding, tuple):
                    return self._parameter(*binding[1:], name)
                return self.of(binding, scope)
            if name == "self":
                return None
            scope = self._function_scope(self._scope_of(scope))
        return None

    def _parameter(self, function: ast.AST, index: int, name: str) -> Instance | None:
        """A parameter: `self` of a method of a class of the program; of a function defined in another function (so
        every call of it is in this file) and only called, the instance every call passes."""
        owner = self._scope_of(function)
        if isinstance(function, ast.Lambda):
            return None
        if isinstance(owner, ast.ClassDef):
            if index == 0 and not function.decorator_list and self._scope_of(owner) is self.tree:
                return Instance(owner, self.imports, self.path)
            return None
        if not isinstance(owner, (ast.FunctionDef, ast.AsyncFunctionDef)) or function.decorator_list:
            return None
        definitions = [n for n in ast.walk(self.tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                       ast.ClassDef)) and n.name == function.name]
        if len(definitions) != 1:
            return None
        found: Instance | None = None
        calls = 0
        for node in ast.walk(self.tree):
            if not (isinstance(node, ast.Name) and node.id == function.name):
                continue
            call = self.parents.get(id(node))
            if not (isinstance(call, ast.Call) and call.func is node) or \
                    any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
                return None  # passed on as a value: its calls are not all seen
            values = [k.value for k in call.keywords if k.arg == name]
            if index < len(call.args):
                values.append(call.args[index])
            if len(values) != 1:
                return None
            instance = self.of(values[0], self._scope_of(call))
            if instance is None or found is not None and not found.same(instance):
                return None
            found, calls = instance, calls + 1
        return found if calls else None

    def child(self, owner: Instance, attribute: str) -> Instance | None:
        """The link a class of the program keeps as ``attribute`` (`self.l = Net()`, `Chain.__init__(l=Net())`,
        `add_link('l', Net())`), when its constructors build it in one way only."""
        values = []
        for node, imports, path in self.lineage(owner):
            for item in node.body:
                if not (isinstance(item, ast.FunctionDef) and item.name == "__init__"):
                    continue
                for sub in ast.walk(item):
                    if isinstance(sub, ast.Assign) and any(isinstance(t, ast.Attribute) and t.attr == attribute and
                                                           isinstance(t.value, ast.Name) and t.value.id == "self"
                                                           for t in sub.targets):
                        values.append((sub.value, imports, path))
                    elif isinstance(sub, ast.Call):
                        initialises = isinstance(sub.func, ast.Attribute) and sub.func.attr == "__init__"
                        values += [(k.value, imports, path) for k in sub.keywords if initialises and k.arg == attribute]
                        if isinstance(sub.func, ast.Attribute) and sub.func.attr == "add_link" and len(sub.args) == 2 \
                                and isinstance(sub.args[0], ast.Constant) and sub.args[0].value == attribute:
                            values.append((sub.args[1], imports, path))
        if len(values) != 1 or not isinstance(values[0][0], ast.Call):
            return None
        value, imports, path = values[0]
        if any(isinstance(a, ast.Starred) for a in value.args):
            return None
        return self.constructed(value.func, imports, path)

    def reachable_classes(self) -> set[str]:
        """The names of the classes of this file and of the program's modules it imports (and they import)."""
        names = {n.name for n in ast.walk(self.tree) if isinstance(n, ast.ClassDef)} if self.tree is not None else set()
        pending, seen = [(self.program.source, Path(self.path))], {str(Path(self.path).resolve())}
        while pending:
            text, here = pending.pop()
            for module in imported_modules(text or "", here):
                if str(module.resolve()) in seen:
                    continue
                seen.add(str(module.resolve()))
                tree = self.program._tree(module)
                if tree is not None:
                    names.update(n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef))
                    pending.append((self.program._text(module), module))
        return names

    def lineage(self, instance: Instance) -> list[tuple[ast.ClassDef, dict, str]]:
        """The class and its bases among the program's classes, in method resolution order (depth first)."""
        found: list = []
        pending = [(instance.node, instance.imports, instance.path)] if instance.node is not None else []
        while pending:
            node, imports, path = pending.pop(0)
            if any(node is seen for seen, _, _ in found):
                continue
            found.append((node, imports, path))
            for base in node.bases:
                qualified = qualified_name(base, imports) or (base.id if isinstance(base, ast.Name) else None)
                if qualified is None or qualified.startswith("chainer."):
                    continue
                parent = self.program.find(qualified, None if path == self.path else path)
                if parent is not None:
                    pending.append(parent)
        return found

    def is_link(self, instance: Instance) -> bool:
        """A class that derives from a Chainer link (a torch module once migrated)."""
        for node, imports, _ in self.lineage(instance):
            for base in node.bases:
                qualified = qualified_name(base, imports)
                if qualified in _LINK_BASES or qualified in ("torch.nn.Module", "torch.nn.ModuleList"):
                    return True
        return False

    def train_attribute(self, instance: Instance) -> str | None:
        """What the class's `train` attribute is in torch: "mode" where it was Chainer 1's mode attribute that
        CH022 makes the module's own mode (`self.train = True`/`False` in __init__, or a `train` property), "renamed"
        where it is a flag of the class's own, kept as `train_flag` (`self.train = train`), None where the class
        keeps no `train` (or defines a `train` method)."""
        if instance.node is None or not self.is_link(instance):
            return None
        kinds = set()
        for node, _, _ in self.lineage(instance):
            if any(isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == "train" and
                   not is_train_property(item) for item in node.body):
                return None
            if any(is_train_property(item) for item in node.body):
                kinds.add("mode")
            for item in node.body:
                for sub in ast.walk(item):
                    if isinstance(sub, ast.Assign) and any(
                            isinstance(t, ast.Attribute) and t.attr == "train" and isinstance(t.value, ast.Name) and
                            t.value.id == "self" for t in sub.targets):
                        constant = isinstance(sub.value, ast.Constant) and isinstance(sub.value.value, bool)
                        kinds.add("mode" if constant and getattr(item, "name", "") == "__init__" else "renamed")
                    elif isinstance(sub, (ast.AugAssign, ast.AnnAssign)) and isinstance(sub.target, ast.Attribute) \
                            and sub.target.attr == "train":
                        kinds.add("renamed")
        if len(kinds) != 1:
            return None if not kinds else "mixed"  # (mixed: CH022 removes the constant, the rest is renamed)
        return kinds.pop()

    def renames(self, instance: Instance) -> dict[str, str]:
        """The attributes of the class that netport renames in torch (see modules.py's _attribute_renames): a
        flag `train` of its own -> `train_flag`; a v1.4 `forward` method of a class that also has `__call__` ->
        `legacy_forward`."""
        names = {}
        if self.train_attribute(instance) == "renamed" or instance.node is None:
            # (Chainer's L.Classifier reads no `train`: what a program sets there only must not hide Module.train)
            names["train"] = "train_flag"
        for node, _, _ in self.lineage(instance):
            methods = {item.name for item in node.body if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))}
            if "forward" in methods:
                if "__call__" in methods and self.is_link(instance):
                    names["forward"] = "legacy_forward"
                break
        return names


def instance_classes(rule_pass) -> InstanceClasses:
    """The pass's InstanceClasses for its file (made once per file and pass input)."""
    ctx = rule_pass.ctx
    cached = getattr(rule_pass, "_instance_classes_cache", None)
    if cached is None or cached[0] is not ctx.source:
        cached = (ctx.source, InstanceClasses(ctx.syntax_tree(), ctx.path, ctx.source))
        rule_pass._instance_classes_cache = cached
    return cached[1]


def scope_names(rule_pass, node) -> list[str]:
    """The names of the functions and classes around ``node`` (on the pass's path), outermost first."""
    import libcst as cst

    return [a.name.value for a in reversed(list(rule_pass.ancestors(node)))
            if isinstance(a, (cst.FunctionDef, cst.ClassDef))]
