"""A small abstract interpreter for training scripts: it runs the program's own code over shapes.

Concrete values are computed where they are known (argparse defaults, the units list, loop
bounds), arrays are shapes, and everything else is UNKNOWN. Loops with a few concrete iterations
are unrolled (the autoencoders built from the units list); long ones (epochs, minibatches) are
interpreted once with an unknown index, as one symbolic batch. User functions and classes are
interpreted from their bodies; library calls go through the models in ``library/``. The layer
checks themselves are in ``layers.py``. Nothing is imported from the checked program, and neither
Chainer nor torch is imported at all.
"""

from __future__ import annotations

import ast
import math
import operator
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from netport.shapes import layers
from netport.shapes.library import dispatch
from netport.shapes.library.builtins import BUILTINS
from netport.shapes.library.chainer import chainer_v1_idiom
from netport.shapes.library.networks import BoundLibraryMethod, chain_init, container_kind
from netport.shapes.library.numpy import array_binary
from netport.shapes.library.registry import library_attribute, ref
from netport.shapes.values import (
    UNKNOWN, Array, BoundMethod, ClassValue, Container, Function, Instance, Layer, LibraryObject,
    LibraryRef, Module, Partial, Site, SuperProxy, is_known,
)

UNROLL_LIMIT = 16  # loops with at most this many concrete iterations are unrolled
UNROLL_NESTED_LIMIT = 256  # ...unless, nested in unrolled loops, the innermost body would run more often
UNROLL_TOTAL_LIMIT = 2000  # ...or the whole run has already unrolled this many turns
PROJECT_FILES = 100  # the files read for a program's Chainer dialect: its modules, then its directory's
MAX_CALL_DEPTH = 24
MAX_WHILE = 16
# A function already running this many times on the abstract stack is not entered again: one level of
# recursion is followed (the layer calls of a recursive network are checked), the deeper ones would
# multiply the work by their branching at every level.
MAX_RECURSION = 2
# The work of one analysis, in statements and calls interpreted (a count, so that the result does not
# depend on the machine): the heaviest programs of the examples take about 10,000; past the budget the
# analysis stops, reports what it proved, and notes where it gave up.
WORK_BUDGET = 100_000


class AnalysisError(Exception):
    """The script cannot be analysed at all (unreadable, not Python): a one-line message."""


def cannot_parse(path: str, line, col, message: str) -> AnalysisError:
    return AnalysisError(f"{path}:{line or 1}:{col or 1}: cannot parse: {message}")


class OptionError(AnalysisError):
    """A --set override names no option of the script: a usage error, with a one-line message."""

    @classmethod
    def unknown(cls, name: str, options: list[str]) -> "OptionError":
        listed = ", ".join(options) if options else "none (it parses no argparse options)"
        return cls(f"--set {name}: the script has no option with that name; its options: {listed}")


class _Return(Exception):
    def __init__(self, value):
        self.value = value


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _ProgramExit(Exception):
    """The program stops here (raise, sys.exit) on a path the checker is sure of."""


class _ShapeErrorExit(_ProgramExit):
    """The program stops at a shape error the checker has reported."""


class _OutOfBudget(Exception):
    """The analysis has used its work budget: it stops wherever it is."""

    def __init__(self, site):
        self.site = site


@dataclass
class Frame:
    module: Module
    path: str
    local: dict | None  # None at module level: names live in module.namespace
    closure: dict | None = None
    function: str = "<module>"
    cls: ClassValue | None = None
    self_value: object = None
    loop_vars: dict = field(default_factory=dict)  # unrolled loop variables and their values now
    globals: set = field(default_factory=set)  # names declared `global` here
    nonlocals: set = field(default_factory=set)
    assigned_at: dict = field(default_factory=dict)  # name -> Site of its last assignment
    node: object = None  # the function's AST node (to see recursion)

    def scope(self) -> dict:
        return self.module.namespace if self.local is None else self.local


@dataclass
class CallRecord:
    site: Site
    source: str
    loop_vars: dict


class Interpreter:
    def __init__(self, entry: Path, script_args: list[str] | None = None, overrides: dict | None = None,
                 chainer_version: tuple[int, ...] = (7, 8, 1)):
        self.entry = Path(entry)
        self.script_args = list(script_args or [])
        self.overrides = dict(overrides or {})
        self.chainer_version = chainer_version
        self.findings: dict = {}  # key -> Finding (first occurrence)
        self.notes: dict[str, Site] = {}  # unmodelled API -> first site
        self.modules: dict[Path, Module] = {}
        self.trees: dict[Path, ast.Module] = {}  # the parsed source of each module loaded
        self.sources: dict[str, list[str]] = {}
        self.calls: list[CallRecord] = []  # the abstract call stack
        self.uncertain = 0  # > 0 inside a branch that may not run: no errors are proven there
        self.multipliers: list = []  # iteration counts of loops interpreted once
        self.unrolling: list[int] = []  # turn counts of the unrolled loops we are inside
        self.unrolled_turns = 0
        self.carried: dict = {}  # loop node -> the names its body reads and rebinds
        self.updates: float | None = 0  # optimizer updates the real program makes before now
        self.frames: list[Frame] = []
        self.inexact_lists: set[int] = set()
        self.checked_calls = 0  # layer calls whose input shape was known and checked
        self.options_seen: list[str] = []  # the dests of the script's argparse options
        self.chainer_v1_idiom: tuple[str, Site] | None = None  # the first Chainer-v1-only API the program uses
        self.overrides_used: set[str] = set()
        self.work = 0  # statements and calls interpreted, against WORK_BUDGET
        self.layers_built: list = []  # every weight layer made, for the hints (the rest of the chain)

    def spend(self, site_of) -> None:
        """One unit of work; past the budget the whole analysis stops (`site_of()`: where)."""
        self.work += 1
        if self.work > WORK_BUDGET:
            raise _OutOfBudget(site_of())

    # ----------------------------------------------------------------- entry points

    def run(self) -> None:
        try:
            module = self._load_module(self.entry, "__main__")
        except _OutOfBudget as stop:
            self.note(f"the analysis stopped here after its work budget ({WORK_BUDGET:,} statements and calls "
                      f"interpreted): the code after it is not checked", stop.site)
            return
        if module is None:
            raise AnalysisError(f"{self.entry}: cannot be read")
        unknown = [name for name in self.overrides if name not in self.overrides_used]
        if unknown and (self.options_seen or not self.findings):  # (no parser seen: stopped before it?)
            raise OptionError.unknown(unknown[0], self.options_seen)

    def project_trees(self, limit: int = PROJECT_FILES):
        """(display path, syntax tree) of the program's project: the modules the analysis loaded, then the
        files next to the entry script that import it (the training script of a model module), at most
        `limit` files read; files that do not parse are skipped. Unrelated scripts in the same directory
        are not part of it."""
        yield from ((self.display_path(path), tree) for path, tree in self.trees.items())
        stem = self.entry.stem
        importer = re.compile(rf"^\s*(?:from\s+\.?\s*{re.escape(stem)}\b|import\s[^\n]*\b{re.escape(stem)}\b|"
                              rf"from\s+\.\s+import\s[^\n]*\b{re.escape(stem)}\b)", re.MULTILINE)
        count = len(self.trees)
        for path in sorted(self.entry.resolve().parent.glob("*.py")):
            if count >= limit:
                return
            if path.resolve() in self.trees:
                continue
            try:
                if not importer.search(path.read_text(errors="replace")):
                    continue  # (a cheap look first: most files next to it do not import it, and parsing costs)
                count += 1
                tree = self._parse(path)
            except (AnalysisError, OSError):
                continue
            if _imports(tree, stem):
                yield self.display_path(path), tree

    def display_path(self, path: Path | str) -> str:
        path = Path(path)
        try:
            relative = os.path.relpath(path)
        except ValueError:
            return str(path)
        return str(path) if relative.startswith("..") else relative

    def _parse(self, path: Path) -> ast.Module:
        from netport.sources import SourceError, read_source

        try:
            text, _ = read_source(Path(self.display_path(path)))
        except SourceError as exc:
            raise AnalysisError(str(exc)) from None
        try:
            with warnings.catch_warnings():  # the checked program's invalid escapes are not this report's business
                warnings.simplefilter("ignore")
                tree = ast.parse(text, filename=str(path))
        except SyntaxError as exc:
            tree = self._parse_python2(text, path)
            if tree is not None:
                self.sources[self.display_path(path)] = text.splitlines()
                return tree
            raise cannot_parse(self.display_path(path), exc.lineno, exc.offset, exc.msg) from None
        self.sources[self.display_path(path)] = text.splitlines()
        return tree

    @staticmethod
    def _parse_python2(text: str, path: Path):
        """Python 2 source (most Chainer v1 programs): read through the fixers of 2to3 that make it
        parse as Python 3; they keep line numbers."""
        from netport.sources import Python2Error, python2_syntax_to_python3

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return ast.parse(python2_syntax_to_python3(text, str(path)), filename=str(path))
        except (Python2Error, SyntaxError, ValueError):
            return None

    def _load_module(self, path: Path, name: str) -> Module | None:
        path = path.resolve()
        if path in self.modules:
            return self.modules[path]
        tree = self._parse(path)
        self.trees[path] = tree
        module = Module(name, {"__name__": name, "__file__": str(path)})
        self.modules[path] = module
        frame = Frame(module, self.display_path(path), None)
        try:
            self.exec_block(tree.body, frame)
        except _ProgramExit:
            pass
        return module

    def _find_local_module(self, dotted: str, importer: str, level: int = 0) -> Path | None:
        base_dirs = []
        here = Path(self.modules_path(importer)).parent if importer else self.entry.parent
        if level:
            base = here
            for _ in range(level - 1):
                base = base.parent
            base_dirs = [base]
        else:
            base_dirs = [self.entry.parent.resolve()] + ([here] if here != self.entry.parent.resolve() else [])
        parts = dotted.split(".") if dotted else []
        for base in base_dirs:
            candidate = base.joinpath(*parts)
            if candidate.with_suffix(".py").is_file() and parts:
                return candidate.with_suffix(".py")
            if (candidate / "__init__.py").is_file():
                return candidate / "__init__.py"
        return None

    def modules_path(self, display: str) -> str:
        return str(Path(display).resolve())

    # ----------------------------------------------------------------- reporting helpers

    def site(self, frame: Frame, node: ast.AST) -> Site:
        return Site(frame.path, getattr(node, "lineno", 0), getattr(node, "col_offset", 0) + 1)

    def source_of(self, site: Site, node: ast.AST | None = None) -> str:
        if node is not None:
            text = ast.unparse(node)
        else:
            lines = self.sources.get(site.path, [])
            text = lines[site.line - 1].strip() if 0 < site.line <= len(lines) else ""
        return text if len(text) <= 90 else text[:87] + "..."

    def note(self, api: str, site: Site) -> None:
        self.notes.setdefault(api, site)

    def add_finding(self, finding) -> None:
        if self.uncertain:
            return  # the branch may not run: not proven
        self.findings.setdefault(finding.key(), finding)
        if finding.severity == "error":
            raise _ShapeErrorExit()  # the real program stops here: what follows never runs

    def current_multiplier(self):
        total = 1
        for count in self.multipliers:
            if count is None:
                return None
            total *= count
        return total

    def count_update(self) -> None:
        multiplier = self.current_multiplier()
        if self.updates is None or multiplier is None:
            self.updates = None
        else:
            self.updates += multiplier

    # ----------------------------------------------------------------- statements

    def exec_block(self, body: list[ast.stmt], frame: Frame) -> None:
        for statement in body:
            self.exec_statement(statement, frame)

    def exec_statement(self, node: ast.stmt, frame: Frame) -> None:
        handler = getattr(self, f"_stmt_{type(node).__name__}", None)
        if handler is None:
            handler = self._stmt_unmodelled
        self.spend(lambda: self.site(frame, node))
        try:
            handler(node, frame)
        except (_Return, _Break, _Continue, _ProgramExit, AnalysisError, _OutOfBudget):
            raise
        except Exception as exc:  # an interpreter gap must never become a crash or a finding
            if os.environ.get("NETPORT_SHAPES_DEBUG"):
                raise
            self.note(f"could not follow a statement ({type(exc).__name__}: {exc})", self.site(frame, node))

    def _stmt_unmodelled(self, node, frame):
        """A statement the checker does not follow: the names it may assign become UNKNOWN."""
        scope = frame.scope()
        for name in _stored_names(node):
            scope[name] = UNKNOWN
        self.note(f"`{type(node).__name__}` statements are not followed: the names they assign are unknown",
                  self.site(frame, node))

    def _stmt_Match(self, node, frame):
        self.eval(node.subject, frame)
        bodies = [case.body for case in node.cases]
        irrefutable = any(isinstance(case.pattern, ast.MatchAs) and case.pattern.pattern is None and case.guard is None
                          for case in node.cases)
        for case in node.cases:  # names bound by the patterns are not known
            for name in _stored_names(case.pattern):
                frame.scope()[name] = UNKNOWN
        self.exec_alternatives(bodies if irrefutable else bodies + [[]], frame)

    def _stmt_Global(self, node, frame):
        frame.globals.update(node.names)

    def _stmt_Nonlocal(self, node, frame):
        frame.nonlocals.update(node.names)

    def _stmt_Expr(self, node, frame):
        self.eval(node.value, frame)

    def _stmt_Pass(self, node, frame):
        pass

    def _stmt_Assign(self, node, frame):
        value = self.eval(node.value, frame)
        for target in node.targets:
            self.assign(target, value, frame, node)

    def _stmt_AnnAssign(self, node, frame):
        if node.value is not None:
            self.assign(node.target, self.eval(node.value, frame), frame, node)

    def _stmt_AugAssign(self, node, frame):
        current = self.eval(node.target, frame)
        value = self.binary(type(node.op), current, self.eval(node.value, frame), self.site(frame, node))
        if isinstance(current, list) and isinstance(node.op, ast.Add) and isinstance(value, list):
            current[:] = value  # += on a list mutates it in place
            return
        self.assign(node.target, value, frame, node)

    def _stmt_If(self, node, frame):
        condition = self.truth(self.eval(node.test, frame))
        if condition is True:
            self.exec_block(node.body, frame)
        elif condition is False:
            self.exec_block(node.orelse, frame)
        else:
            self.exec_both(node.body, node.orelse, frame)

    def exec_both(self, body, orelse, frame):
        """Both branches of an undecided `if`."""
        self.exec_alternatives([body, orelse], frame)

    def exec_alternatives(self, branches, frame, starts: list[dict] | None = None):
        """Branches of which any one may run (an undecided `if`, the cases of a `match`, exception
        handlers), each from its start state (default: the state now): findings there are not
        proven, names they assign differently become UNKNOWN. When every branch leaves, so does this."""
        scope = frame.scope()
        now = dict(scope)
        starts = starts or [now] * len(branches)
        outcomes, exits, returned = [], [], []
        for branch, start in zip(branches, starts):
            scope.clear()
            scope.update(start)
            self.uncertain += 1
            try:
                self.exec_block(branch, frame)
                outcomes.append(dict(scope))
            except _Return as leaving:  # this branch leaves: the code after sees the others
                returned.append(leaving.value)
                exits.append(_Return)
            except (_ProgramExit, _Break, _Continue) as leaving:
                exits.append(type(leaving))
            finally:
                self.uncertain -= 1
        scope.clear()
        if not outcomes:
            scope.update(now)
            if returned:
                raise _Return(returned[0] if all(self.same(returned[0], r) for r in returned[1:]) else UNKNOWN)
            raise next((kind for kind in (_Break, _Continue) if kind in exits), _ProgramExit)()
        scope.update(self.merge(outcomes))

    def merge(self, states: list[dict]) -> dict:
        merged = dict(states[0])
        for other in states[1:]:
            for name in set(merged) | set(other):
                a, b = merged.get(name, UNKNOWN), other.get(name, UNKNOWN)
                merged[name] = a if self.same(a, b) else UNKNOWN
        return merged

    @staticmethod
    def same(a, b) -> bool:
        if a is b:
            return True
        if isinstance(a, Array) and isinstance(b, Array):
            return a.shape == b.shape
        try:
            return type(a) is type(b) and isinstance(a, (int, float, str, bool, type(None), tuple)) and a == b
        except Exception:
            return False

    def _stmt_For(self, node, frame):
        iterable = self.eval(node.iter, frame)
        if isinstance(iterable, range) and iterable.step > 1:
            # range(0, n, batchsize): a minibatch loop, whose turns differ only in the last, shorter batch
            items = ("once", UNKNOWN, len(iterable), iterable)
        else:
            items = self.iterate(iterable, self.site(frame, node.iter))
        self.run_loop(node, frame, items, lambda value: self.assign(node.target, value, frame, node),
                      numbers=iterable if isinstance(iterable, range) else None)

    _stmt_AsyncFor = _stmt_For

    def may_unroll(self, count: int) -> bool:
        """Unroll a loop of `count` turns here? Short loops are, unless nested loops would run the
        innermost body too often or the whole run has unrolled enough: then it is interpreted once."""
        if count > UNROLL_LIMIT:
            return False
        return math.prod(self.unrolling) * count <= UNROLL_NESTED_LIMIT \
            and self.unrolled_turns + count <= UNROLL_TOTAL_LIMIT

    def run_loop(self, node, frame, items, bind, numbers=None):
        """`items` is a list (unrolled if short) or ("once", representative, count): interpreted once."""
        loop_names = [n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)] if hasattr(node, "target") else []
        if isinstance(items, list) and self.may_unroll(len(items)):
            saved = {name: frame.loop_vars.get(name) for name in loop_names}
            self.unrolling.append(len(items))
            try:
                for item in items:
                    self.unrolled_turns += 1
                    bind(item)
                    for name in loop_names:
                        frame.loop_vars[name] = frame.scope().get(name, UNKNOWN)
                    try:
                        self.exec_block(node.body, frame)
                    except _Continue:
                        continue
                    except _Break:
                        return
            finally:
                self.unrolling.pop()
                for name, value in saved.items():
                    if value is None:
                        frame.loop_vars.pop(name, None)
                    else:
                        frame.loop_vars[name] = value
            self.exec_block(node.orelse, frame)
            return
        if isinstance(items, list):
            count = len(items)
            # one pass stands for all of them: with the item itself only when they all look alike
            representative = items[0] if items and all(self.same(items[0], item) for item in items[1:]) else UNKNOWN
            if representative is UNKNOWN and any(layers.is_layer(item) or isinstance(item, Array) for item in items):
                self.note(f"loops over different layers or arrays that are not unrolled (more than {UNROLL_LIMIT}, "
                          f"or past the unroll budget) are interpreted once, with an unknown item",
                          self.site(frame, node))
        else:
            _, representative, count, *rest = items
            numbers = rest[0] if rest else numbers
        if count == 0:
            self.exec_block(node.orelse, frame)
            return
        passes = [(representative, count)]
        if numbers is not None and numbers.step > 1 and (numbers.stop - numbers.start) % numbers.step:
            # range(0, n, batchsize) with n not a multiple: the last, shorter minibatch gets a pass of
            # its own with its concrete index (a hard-coded batch size breaks only there)
            passes.append((numbers[-1], 0))
        before = dict(frame.scope())
        for value, multiplier in passes:
            self.multipliers.append(multiplier)
            try:
                bind(value)
                try:
                    self.exec_block(node.body, frame)
                except (_Continue, _Break):
                    pass
            finally:
                self.multipliers.pop()
        self.widen(node, frame, before)

    def widen(self, node, frame, before: dict) -> None:
        """After a loop interpreted once: a name the body reads and rebinds (`x = x[:, 1:]`, `n //= 2`)
        holds what one turn made of it, not what all the turns make; unless that turn left it as it
        was, it becomes UNKNOWN."""
        scope = frame.scope()
        if node not in self.carried:
            self.carried[node] = _carried_names(node)
        for name in self.carried[node]:
            if name in before and name in scope and not self.same(before[name], scope[name]):
                if isinstance(before[name], Array) or layers.is_layer(before[name]):
                    self.note("arrays and layers that a loop interpreted once changes from turn to turn are unknown "
                              "after it", self.site(frame, node))
                scope[name] = UNKNOWN

    def _stmt_While(self, node, frame):
        turns = 0
        while True:
            condition = self.truth(self.eval(node.test, frame))
            if condition is False:
                self.exec_block(node.orelse, frame)
                return
            if condition is not True or turns == MAX_WHILE \
                    or math.prod(self.unrolling) * (turns + 1) > UNROLL_NESTED_LIMIT \
                    or self.unrolled_turns >= UNROLL_TOTAL_LIMIT:
                break
            turns += 1
            self.unrolled_turns += 1
            try:
                self.exec_block(node.body, frame)
            except _Continue:
                continue
            except _Break:
                return
        if condition is True:
            self.note(f"`while` loops still running after {MAX_WHILE} turns (or past the unroll budget) are "
                      f"interpreted once more for the rest: what changes from turn to turn is unknown after them",
                      self.site(frame, node))
        # the condition is not known, or still true after MAX_WHILE turns: once more for all the rest
        self.run_loop(node, frame, ("once", UNKNOWN, None), lambda value: None)

    def _stmt_With(self, node, frame):
        for item in node.items:
            value = self.eval(item.context_expr, frame)
            if item.optional_vars is not None:
                self.assign(item.optional_vars, UNKNOWN if not isinstance(value, Array) else value, frame, node)
        self.exec_block(node.body, frame)

    def _stmt_Try(self, node, frame):
        """The body runs; a handler may run instead of its rest, from a state somewhere between
        the start of the body and its end."""
        scope = frame.scope()
        before = dict(scope)
        completed = True
        try:
            self.exec_block(node.body, frame)
        except _ShapeErrorExit:
            raise  # reported: whatever a handler would make of it, the first error is the finding
        except _ProgramExit:
            if not node.handlers:
                raise
            completed = False  # a `raise` in the body: one of the handlers takes over
        if node.handlers:
            after = dict(scope)
            somewhere = self.merge([before, after])
            handlers = [handler.body for handler in node.handlers]
            if completed:
                self.exec_alternatives([node.orelse] + handlers, frame, [after] + [somewhere] * len(handlers))
            else:
                self.exec_alternatives(handlers, frame, [somewhere] * len(handlers))
        else:
            self.exec_block(node.orelse, frame)
        self.exec_block(node.finalbody, frame)

    _stmt_TryStar = _stmt_Try
    _stmt_AsyncWith = _stmt_With

    def _stmt_Return(self, node, frame):
        raise _Return(self.eval(node.value, frame) if node.value is not None else None)

    def _stmt_Break(self, node, frame):
        raise _Break()

    def _stmt_Continue(self, node, frame):
        raise _Continue()

    def _stmt_Raise(self, node, frame):
        raise _ProgramExit()

    def _stmt_Assert(self, node, frame):
        pass

    def _stmt_FunctionDef(self, node, frame):
        defaults = {}
        positional = node.args.posonlyargs + node.args.args
        for arg, default in zip(positional[len(positional) - len(node.args.defaults):], node.args.defaults):
            defaults[arg.arg] = self.eval(default, frame)
        for arg, default in zip(node.args.kwonlyargs, node.args.kw_defaults):
            if default is not None:
                defaults[arg.arg] = self.eval(default, frame)
        function = Function(node, frame.module, defaults, frame.path,
                            closure=frame.local if frame.local is not None else None, owner=frame.cls)
        decorators = [ast.unparse(d) for d in node.decorator_list]
        value = function
        if "staticmethod" in decorators:
            value = ("staticmethod", function)
        elif "property" in decorators:
            value = ("property", function)
        elif "classmethod" in decorators:
            value = ("classmethod", function)
        frame.scope()[node.name] = value

    _stmt_AsyncFunctionDef = _stmt_FunctionDef

    def _stmt_ClassDef(self, node, frame):
        bases = [self.eval(base, frame) for base in node.bases]
        cls = ClassValue(node.name, bases, {}, frame.path)
        body_frame = Frame(frame.module, frame.path, {}, closure=frame.local, function=node.name, cls=cls)
        self.exec_block(node.body, body_frame)
        cls.namespace.update(body_frame.local)
        frame.scope()[node.name] = cls

    def _stmt_Import(self, node, frame):
        for alias in node.names:
            local = self._find_local_module(alias.name, frame.path)
            if local is not None:
                module = self._load_module(local, alias.name)
                if alias.asname:
                    frame.scope()[alias.asname] = module
                else:
                    frame.scope()[alias.name.split(".")[0]] = self._package_of(alias.name, module, frame)
                continue
            if alias.asname:
                frame.scope()[alias.asname] = ref(alias.name)
            else:
                top = alias.name.split(".")[0]
                frame.scope()[top] = ref(top)

    def _package_of(self, dotted: str, module: Module, frame) -> Module:
        """What `import a.b.c` binds to `a`: package a, whose attribute b holds package a.b, whose attribute
        c is the module (a package without an __init__.py is an empty namespace)."""
        parts = dotted.split(".")
        if len(parts) == 1:
            return module
        packages = []
        for depth in range(1, len(parts)):
            name = ".".join(parts[:depth])
            path = self._find_local_module(name, frame.path)
            package = self._load_module(path, name) if path is not None else None
            packages.append(package if package is not None else Module(name, {"__name__": name}))
        for package, child, part in zip(packages, packages[1:] + [module], parts[1:]):
            package.namespace[part] = child
        return packages[0]

    def _stmt_ImportFrom(self, node, frame):
        local = self._find_local_module(node.module or "", frame.path, node.level)
        if local is not None:
            module = self._load_module(local, node.module or local.parent.name)
            for alias in node.names:
                if alias.name == "*":
                    frame.scope().update({k: v for k, v in module.namespace.items() if not k.startswith("_")})
                    continue
                value = module.namespace.get(alias.name, UNKNOWN)
                if value is UNKNOWN:
                    sub = self._find_local_module(f"{node.module}.{alias.name}" if node.module else alias.name,
                                                  frame.path, node.level)
                    if sub is not None:
                        value = self._load_module(sub, alias.name)
                frame.scope()[alias.asname or alias.name] = value
            return
        if node.level:
            for alias in node.names:
                frame.scope()[alias.asname or alias.name] = UNKNOWN
            return
        for alias in node.names:
            if alias.name == "*":
                continue
            frame.scope()[alias.asname or alias.name] = ref(f"{node.module}.{alias.name}")

    # ----------------------------------------------------------------- assignment

    def assign(self, target, value, frame, statement) -> None:
        site = self.site(frame, statement)
        if isinstance(target, ast.Name):
            if isinstance(value, Array):
                value = value.then(site, f"`{target.id}`")
            if target.id in frame.globals:
                frame.module.namespace[target.id] = value
            elif target.id in frame.nonlocals and frame.closure is not None:
                frame.closure[target.id] = value
            else:
                frame.scope()[target.id] = value
            frame.assigned_at[target.id] = site
        elif isinstance(target, (ast.Tuple, ast.List)):
            parts = self.unpack(value, len(target.elts), any(isinstance(e, ast.Starred) for e in target.elts))
            for element, part in zip(target.elts, parts):
                if isinstance(element, ast.Starred):
                    self.assign(element.value, part, frame, statement)
                else:
                    self.assign(element, part, frame, statement)
        elif isinstance(target, ast.Attribute):
            owner = self.eval(target.value, frame)
            self.set_attribute(owner, target.attr, value)
        elif isinstance(target, ast.Subscript):
            owner = self.eval(target.value, frame)
            key = self.eval(target.slice, frame)
            if _is_sequence_module(owner):
                layers.replace_child(owner, key, value)
            elif isinstance(owner, (list, dict)) and is_known(key):
                try:
                    owner[key] = value
                except Exception:
                    self.forget(owner)
            elif isinstance(owner, list):
                self.forget(owner)

    def forget(self, value) -> None:
        """A list or layer sequence changed in a way the checker did not follow: its elements are
        no longer known."""
        if isinstance(value, list):
            self.inexact_lists.add(id(value))
        elif _is_sequence_module(value):
            value.inexact = True

    def _stmt_Delete(self, node, frame):
        for target in node.targets:
            if isinstance(target, ast.Name):
                frame.scope().pop(target.id, None)
            elif isinstance(target, ast.Subscript):
                owner = self.eval(target.value, frame)
                key = self.eval(target.slice, frame)
                if isinstance(owner, (list, dict)) and not isinstance(key, tuple) and is_known(key):
                    try:
                        del owner[key]
                        continue
                    except Exception:
                        pass
                self.forget(owner)

    def unpack(self, value, count: int, starred: bool) -> list:
        if isinstance(value, (list, tuple)) and not starred and len(value) == count:
            return list(value)
        if isinstance(value, (list, tuple)) and starred:
            return list(value)  # rare; good enough for the shapes that matter
        if isinstance(value, Array) and value.shape and value.shape[0] == count:
            return [value.with_shape(value.shape[1:]) for _ in range(count)]
        if isinstance(value, LibraryObject) and value.kind == "TupleDataset":
            return list(value.fields["arrays"])[:count] + [UNKNOWN] * (count - len(value.fields["arrays"]))
        return [UNKNOWN] * count

    def set_attribute(self, owner, name, value) -> None:
        if isinstance(owner, Instance):
            owner.attributes[name] = value
            if owner.framework and isinstance(value, (Layer, Container, Instance)) and _is_module(value):
                layers.register_child(owner, name, value)
        elif isinstance(owner, LibraryObject):
            owner.fields[name] = value
        elif isinstance(owner, Module):
            owner.namespace[name] = value

    # ----------------------------------------------------------------- expressions

    def eval(self, node, frame):
        handler = getattr(self, f"_expr_{type(node).__name__}", None)
        if handler is None:
            return UNKNOWN
        return handler(node, frame)

    def _expr_Constant(self, node, frame):
        return node.value

    def _expr_Name(self, node, frame):
        return self.lookup(node.id, frame)

    def lookup(self, name, frame):
        if name in frame.globals:
            return frame.module.namespace.get(name, BUILTINS.get(name, UNKNOWN))
        if frame.local is not None and name in frame.local:
            return frame.local[name]
        if frame.closure is not None and name in frame.closure:
            return frame.closure[name]
        if name in frame.module.namespace:
            return frame.module.namespace[name]
        return BUILTINS.get(name, UNKNOWN)

    def _expr_Attribute(self, node, frame):
        owner = self.eval(node.value, frame)
        return self.get_attribute(owner, node.attr, self.site(frame, node))

    def get_attribute(self, owner, name, site):
        if owner is UNKNOWN:
            return UNKNOWN
        if isinstance(owner, Module):
            return owner.namespace.get(name, UNKNOWN)
        if isinstance(owner, LibraryRef):
            return library_attribute(owner, name)
        if isinstance(owner, Instance):
            if name in owner.attributes:
                return owner.attributes[name]
            found = owner.cls.lookup(name)
            if isinstance(found, Function):
                return BoundMethod(found, owner)
            if isinstance(found, tuple) and found[0] == "property":
                return self.call(found[1], [owner], {}, site)
            if isinstance(found, tuple) and found[0] == "staticmethod":
                return found[1]
            if found is not None:
                return found
            return BoundLibraryMethod(owner, name)
        if isinstance(owner, ClassValue):
            found = owner.lookup(name)
            if isinstance(found, tuple):
                return found[1]
            return UNKNOWN if found is None else found
        if isinstance(owner, SuperProxy):
            for base in owner.cls.bases:
                if isinstance(base, ClassValue):
                    found = base.lookup(name)
                    if isinstance(found, Function):
                        return BoundMethod(found, owner.self_value)
            return BoundLibraryMethod(owner.self_value, name, via_super=True)
        return dispatch.attribute(self, owner, name, site)

    def _expr_Subscript(self, node, frame):
        owner = self.eval(node.value, frame)
        key = self.eval(node.slice, frame)
        return dispatch.subscript(self, owner, key, self.site(frame, node))

    def _expr_Slice(self, node, frame):
        parts = [self.eval(part, frame) if part is not None else None for part in (node.lower, node.upper, node.step)]
        if all(p is None or isinstance(p, int) for p in parts):
            return slice(*parts)
        return ("slice", parts)

    def _expr_Tuple(self, node, frame):
        return tuple(self.eval_elements(node.elts, frame))

    def _expr_List(self, node, frame):
        return self.eval_elements(node.elts, frame)

    def _expr_Set(self, node, frame):
        return UNKNOWN

    def eval_elements(self, elements, frame) -> list:
        values = []
        for element in elements:
            if isinstance(element, ast.Starred):
                inner = self.eval(element.value, frame)
                items = self.iterate(inner, self.site(frame, element))
                if not isinstance(items, list):
                    return UNKNOWN
                values.extend(items)
            else:
                values.append(self.eval(element, frame))
        return values

    def _expr_Dict(self, node, frame):
        result = {}
        for key, value in zip(node.keys, node.values):
            if key is None:
                inner = self.eval(value, frame)
                if isinstance(inner, dict):
                    result.update(inner)
                continue
            k = self.eval(key, frame)
            if not is_known(k):
                return UNKNOWN
            try:
                result[k] = self.eval(value, frame)
            except TypeError:
                return UNKNOWN
        return result

    def _expr_JoinedStr(self, node, frame):
        return UNKNOWN

    def _expr_Lambda(self, node, frame):
        defaults = {}
        positional = node.args.args
        for arg, default in zip(positional[len(positional) - len(node.args.defaults):], node.args.defaults):
            defaults[arg.arg] = self.eval(default, frame)
        return Function(node, frame.module, defaults, frame.path, closure=frame.local)

    def _expr_NamedExpr(self, node, frame):
        value = self.eval(node.value, frame)
        self.assign(node.target, value, frame, node)
        return value

    def _expr_IfExp(self, node, frame):
        condition = self.truth(self.eval(node.test, frame))
        if condition is True:
            return self.eval(node.body, frame)
        if condition is False:
            return self.eval(node.orelse, frame)
        a, b = self.eval(node.body, frame), self.eval(node.orelse, frame)
        return a if self.same(a, b) else UNKNOWN

    def _expr_BoolOp(self, node, frame):
        result = UNKNOWN
        for value_node in node.values:
            value = self.eval(value_node, frame)
            truth = self.truth(value)
            if truth is None:
                return UNKNOWN
            result = value
            if isinstance(node.op, ast.And) and truth is False:
                return value
            if isinstance(node.op, ast.Or) and truth is True:
                return value
        return result

    def _expr_UnaryOp(self, node, frame):
        value = self.eval(node.operand, frame)
        if isinstance(node.op, ast.Not):
            truth = self.truth(value)
            return UNKNOWN if truth is None else not truth
        if isinstance(value, Array):
            return value.with_shape(value.shape)
        if isinstance(value, (int, float)) and not isinstance(value, bool) or isinstance(value, bool):
            ops = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert}
            return ops[type(node.op)](value)
        return UNKNOWN

    def _expr_BinOp(self, node, frame):
        return self.binary(type(node.op), self.eval(node.left, frame), self.eval(node.right, frame),
                           self.site(frame, node))

    def binary(self, op, left, right, site):
        if isinstance(left, Array) or isinstance(right, Array):
            return array_binary(self, op, left, right, site)
        if not (is_known(left) and is_known(right)):
            return UNKNOWN
        function = _BINARY.get(op)
        if function is None or not _plain(left) or not _plain(right):
            return UNKNOWN
        try:
            if op is ast.Pow and isinstance(right, int) and abs(right) > 64:
                return UNKNOWN
            if op is ast.Mult and (isinstance(left, (str, list, tuple)) or isinstance(right, (str, list, tuple))):
                if max(len(x) if hasattr(x, "__len__") else x for x in (left, right)) > 10_000:
                    return UNKNOWN
            return function(left, right)
        except Exception:
            return UNKNOWN

    def _expr_Compare(self, node, frame):
        left = self.eval(node.left, frame)
        result = True
        for op, comparator in zip(node.ops, node.comparators):
            right = self.eval(comparator, frame)
            if isinstance(op, (ast.Is, ast.IsNot)):
                if left is UNKNOWN or right is UNKNOWN:
                    if right is None and left is not None and left is not UNKNOWN:
                        outcome = isinstance(op, ast.IsNot)
                    else:
                        return UNKNOWN
                else:
                    outcome = (left is right) == isinstance(op, ast.Is)
            else:
                if not (is_known(left) and is_known(right)) or not _plain(left) or not _plain(right):
                    return UNKNOWN
                try:
                    outcome = _COMPARE[type(op)](left, right)
                except Exception:
                    return UNKNOWN
            if not outcome:
                return False
            left = right
        return result

    def truth(self, value):
        """True, False, or None when not known."""
        if value is UNKNOWN:
            return None
        if isinstance(value, (bool, int, float, str, type(None), list, tuple, dict)):
            if isinstance(value, (list, tuple)) and id(value) in self.inexact_lists:
                return None
            return bool(value)
        if isinstance(value, Array):
            return None
        return True  # objects, functions, modules are true

    def _comprehension(self, node, frame, element):
        local = dict(frame.scope()) if frame.local is not None else {}
        inner = Frame(frame.module, frame.path, local, closure=frame.closure if frame.local is not None else None,
                      function=frame.function, loop_vars=dict(frame.loop_vars))
        results = []

        def walk(generators):
            if not generators:
                results.append(element(inner))
                return
            generator = generators[0]
            items = self.iterate(self.eval(generator.iter, inner), self.site(frame, generator.iter))
            if not isinstance(items, list):
                raise _Unknowable()
            names = [n.id for n in ast.walk(generator.target) if isinstance(n, ast.Name)]
            for item in items:
                self.assign(generator.target, item, inner, node)
                for name in names:  # which element of the units list a layer built here is
                    inner.loop_vars[name] = inner.scope().get(name, UNKNOWN)
                skip = False
                for condition in generator.ifs:
                    truth = self.truth(self.eval(condition, inner))
                    if truth is None:
                        raise _Unknowable()
                    if not truth:
                        skip = True
                        break
                if not skip:
                    walk(generators[1:])

        try:
            walk(node.generators)
        except _Unknowable:
            return UNKNOWN
        return results

    def _expr_ListComp(self, node, frame):
        return self._comprehension(node, frame, lambda inner: self.eval(node.elt, inner))

    _expr_GeneratorExp = _expr_ListComp

    def _expr_SetComp(self, node, frame):
        return UNKNOWN

    def _expr_DictComp(self, node, frame):
        pairs = self._comprehension(node, frame, lambda inner: (self.eval(node.key, inner), self.eval(node.value, inner)))
        if pairs is UNKNOWN or any(not is_known(k) for k, _ in pairs):
            return UNKNOWN
        try:
            return dict(pairs)
        except TypeError:
            return UNKNOWN

    def _expr_Call(self, node, frame):
        self.spend(lambda: self.site(frame, node))
        function = self.eval(node.func, frame)
        args = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                items = self.iterate(self.eval(arg.value, frame), self.site(frame, arg))
                if not isinstance(items, list):
                    return self.call_unknown_args(function, node, frame)
                args.extend(items)
            else:
                args.append(self.eval(arg, frame))
        kwargs = {}
        for keyword in node.keywords:
            value = self.eval(keyword.value, frame)
            if keyword.arg is None:
                if isinstance(value, dict):
                    kwargs.update(value)
                else:
                    return self.call_unknown_args(function, node, frame)
            else:
                kwargs[keyword.arg] = value
        site = self.site(frame, node)
        self.calls.append(CallRecord(site, self.source_of(site, node), dict(frame.loop_vars)))
        try:
            return self.call(function, args, kwargs, site, node=node, frame=frame)
        finally:
            self.calls.pop()

    def call_unknown_args(self, function, node, frame):
        return UNKNOWN

    # ----------------------------------------------------------------- calls

    def call(self, function, args, kwargs, site, node=None, frame=None):
        if function is UNKNOWN:
            return UNKNOWN
        if self.chainer_v1_idiom is None:
            idiom = chainer_v1_idiom(function, kwargs)
            if idiom is not None:
                self.chainer_v1_idiom = (idiom, site)
        if isinstance(function, Function):
            return self.invoke(function, args, kwargs, site)
        if isinstance(function, BoundMethod):
            return self.call(function.function, [function.self_value, *args], kwargs, site, node, frame)
        if isinstance(function, tuple) and len(function) == 2 and function[0] in ("staticmethod", "classmethod"):
            return self.call(function[1], args, kwargs, site, node, frame)
        if isinstance(function, ClassValue):
            return self.instantiate(function, args, kwargs, site)
        if isinstance(function, Partial):
            return self.call(function.function, [*function.args, *args], {**function.kwargs, **kwargs}, site, node, frame)
        if isinstance(function, Instance):
            method = function.cls.lookup("__call__")
            if not isinstance(method, Function) and function.framework is not None:
                method = function.cls.lookup("forward")  # Chainer 5+ and torch: __call__ runs forward
            if isinstance(method, Function):
                return self.invoke(method, [function, *args], kwargs, site)
            if function.sequence:
                return layers.apply_sequence(self, function, args, site)
            return UNKNOWN
        if isinstance(function, LibraryRef) and function.qualified in ("sys.exit", "os._exit"):
            raise _ProgramExit()
        return dispatch.call(self, function, args, kwargs, site)

    def invoke(self, function: Function, args, kwargs, site):
        node = function.node
        self.spend(lambda: site)
        if len(self.frames) >= MAX_CALL_DEPTH:
            self.note(f"calls nested deeper than {MAX_CALL_DEPTH} are not followed: their results are unknown", site)
            return UNKNOWN
        if sum(1 for frame in self.frames if frame.node is node) >= MAX_RECURSION:
            self.note(f"recursive calls of {getattr(node, 'name', 'a lambda')}() are followed one level deep: the "
                      f"deeper ones are not, and their results are unknown", site)
            return UNKNOWN
        local = self.bind(function, args, kwargs, site)
        if local is None:
            return UNKNOWN
        frame = Frame(function.module, function.path, local, closure=function.closure,
                      function=getattr(node, "name", "<lambda>"), cls=function.owner,
                      self_value=args[0] if args and function.owner is not None else None, node=node)
        for name in local:
            frame.assigned_at[name] = site
        self.frames.append(frame)
        try:
            if isinstance(node, ast.Lambda):
                return self.eval(node.body, frame)
            self.exec_block(node.body, frame)
            return None
        except _Return as result:
            return result.value
        finally:
            self.frames.pop()

    def bind(self, function: Function, args, kwargs, site) -> dict | None:
        spec = function.node.args
        positional = [a.arg for a in spec.posonlyargs + spec.args]
        local: dict = {}
        name = getattr(function.node, "name", "lambda")
        if function.owner is not None:
            name = f"{function.owner.name}.{name}"
        for index, value in enumerate(args):
            if index < len(positional):
                local[positional[index]] = self.flow_into(value, positional[index], name, site)
            elif spec.vararg is not None:
                local.setdefault(spec.vararg.arg, [])
                local[spec.vararg.arg].append(value)
            else:
                return None
        if spec.vararg is not None:
            local.setdefault(spec.vararg.arg, [])
            local[spec.vararg.arg] = tuple(local[spec.vararg.arg])
        extra = {}
        for key, value in kwargs.items():
            if key in positional or key in [a.arg for a in spec.kwonlyargs]:
                local[key] = self.flow_into(value, key, name, site)
            elif spec.kwarg is not None:
                extra[key] = value
            else:
                return None
        if spec.kwarg is not None:
            local[spec.kwarg.arg] = extra
        for param in positional + [a.arg for a in spec.kwonlyargs]:
            if param not in local:
                if param in function.defaults:
                    local[param] = function.defaults[param]
                else:
                    local[param] = UNKNOWN
        return local

    def flow_into(self, value, parameter, function_name, site):
        if isinstance(value, Array):
            return value.then(site, f"argument `{parameter}` of {function_name}()")
        return value

    def instantiate(self, cls: ClassValue, args, kwargs, site):
        bases = cls.library_bases()
        instance = Instance(cls)
        kind = container_kind(bases)
        if kind is not None:
            instance.framework, instance.sequence = kind
        init = cls.lookup("__init__")
        if isinstance(init, Function):
            self.invoke(init, [instance, *args], kwargs, site)
        elif instance.framework:
            chain_init(self, instance, args, kwargs, site)
        return instance

    def iterate(self, value, site):
        """A list of the items, or ("once", representative, count-or-None) for a loop to interpret once."""
        if isinstance(value, range):
            if len(value) <= UNROLL_LIMIT:
                return list(value)
            return ("once", UNKNOWN, len(value), value)
        if isinstance(value, (list, tuple)):
            if id(value) in self.inexact_lists:
                return ("once", value[0] if value else UNKNOWN, None)
            return list(value)
        if isinstance(value, dict):
            return list(value)
        if isinstance(value, str):
            return list(value)
        return dispatch.iterate(self, value, site)


class _Unknowable(Exception):
    pass


def _imports(tree: ast.AST, module: str) -> bool:
    """Whether a module's source imports `module` (import net, from net import X, from . import net)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(alias.name.split(".")[0] == module for alias in node.names):
            return True
        if isinstance(node, ast.ImportFrom):
            if (node.module or "").split(".")[0] == module and node.level <= 1:
                return True
            if not node.module and any(alias.name == module for alias in node.names):
                return True
    return False


def _stored_names(node: ast.AST) -> set:
    names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    names |= {n.name for n in ast.walk(node) if isinstance(n, (ast.MatchAs, ast.MatchStar)) and n.name}
    names |= {n.rest for n in ast.walk(node) if isinstance(n, ast.MatchMapping) and n.rest}
    return names


def _carried_names(loop: ast.AST) -> frozenset:
    """Names a loop body may read before it rebinds them (a value carried from turn to turn, like
    `x = x[:, 1:]` or `n //= 2`); a name the body assigns before any read of it is not one."""
    stored = {name for statement in loop.body for name in _stored_names(statement)}
    read_first, _ = _reads_before_writes(loop.body, set())
    return frozenset(read_first & stored)


def _reads_before_writes(body, assigned: set) -> tuple[set, set]:
    """(names `body` may read before assigning them, names surely assigned after it), given the
    names surely assigned before it."""
    assigned, read_first = set(assigned), set()
    for statement in body:
        if isinstance(statement, (ast.For, ast.AsyncFor, ast.While)):
            head = statement.iter if isinstance(statement, (ast.For, ast.AsyncFor)) else statement.test
            read_first |= _loaded_names(head) - assigned
            inner = assigned | (_stored_names(statement.target) if hasattr(statement, "target") else set())
            for block in (statement.body, statement.orelse):
                read_first |= _reads_before_writes(block, inner)[0]  # the loop may not run: nothing sure after
        elif isinstance(statement, ast.If):
            read_first |= _loaded_names(statement.test) - assigned
            reads_a, after_a = _reads_before_writes(statement.body, assigned)
            reads_b, after_b = _reads_before_writes(statement.orelse, assigned)
            read_first |= reads_a | reads_b
            assigned = after_a & after_b
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            for item in statement.items:
                read_first |= _loaded_names(item.context_expr) - assigned
                if item.optional_vars is not None:
                    assigned |= _stored_names(item.optional_vars)
            reads, assigned = _reads_before_writes(statement.body, assigned)
            read_first |= reads
        elif isinstance(statement, (ast.Try, ast.TryStar, ast.Match)):
            read_first |= _loaded_names(statement) - assigned  # rare in loops: every read counts
        else:
            read_first |= _loaded_names(statement) - assigned
            if isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Import, ast.ImportFrom)):
                assigned |= _stored_names(statement) | {
                    (alias.asname or alias.name).split(".")[0] for alias in getattr(statement, "names", [])}
    return read_first, assigned


def _loaded_names(node: ast.AST) -> set:
    names = set()
    todo = [node]
    while todo:
        current = todo.pop()
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(current, ast.AugAssign) and isinstance(current.target, ast.Name):
            names.add(current.target.id)
        if isinstance(current, ast.Name) and isinstance(current.ctx, ast.Load):
            names.add(current.id)
        todo.extend(ast.iter_child_nodes(current))
    return names


def _is_sequence_module(value) -> bool:
    return isinstance(value, Container) or isinstance(value, Instance) and value.sequence


def _is_module(value) -> bool:
    if isinstance(value, (Layer, Container)):
        return True
    return isinstance(value, Instance) and value.framework is not None


def _plain(value) -> bool:
    return isinstance(value, (int, float, str, bool, type(None), list, tuple, dict, range, slice))


_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
    ast.BitAnd: operator.and_, ast.BitOr: operator.or_, ast.BitXor: operator.xor,
    ast.LShift: operator.lshift, ast.RShift: operator.rshift,
}
_COMPARE = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}
