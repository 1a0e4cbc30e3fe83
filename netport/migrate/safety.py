"""CH095-CH097: netport checks its own output (black's habit of checking that its output means
what its input meant), so that output which would crash or silently rebind an argument is never
reported as clean:

* CH095: a name the output uses that no scope defines, where the input did not leave it undefined
  (pyflakes' undefined-name check on both): a rewrite referred to something it did not bring in;
* CH096: a call of a function or method whose definition the run changed (a ``train`` parameter
  removed, say) that no longer fits it: too many positional arguments, a keyword that is gone, or a
  positional argument that now binds another parameter (``self.predictor(x, True)`` binding
  ``depth`` once ``train`` is gone);
* CH097: a marker an earlier run left (``# netport: TODO(...)``) that no rule reported again: the
  manual work is still there, so the run does not end clean.

Each finding is an ERROR at the line, and the output line carries a TODO marker.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from netport.migrate.alignment import LineMap
from netport.migrate.report import FileResult, Finding, Severity
from netport.migrate.rules import Rule, register

TODO_PREFIX = "# netport: TODO"

register(
    # A default argument that captures the removed flag (`def drop(h, train=train)` in a closure) is
    # one thing the rules do not rewrite yet: the check is what catches it.
    Rule("CH095", "a name the migrated code uses that nothing defines (and the input defined) is an ERROR at the line",
         before="import chainer\nimport chainer.functions as F\n\n\nclass MLP(chainer.Chain):\n"
                "    def __call__(self, x, train=True):\n        def drop(h, train=train):\n"
                "            return F.dropout(h, train=train)\n        return drop(x)\n",
         after="import chainer\nimport chainer.functions as F\n\n\nclass MLP(chainer.Chain):\n"
               "    def __call__(self, x):\n"
               "        # netport: TODO(CH095): `train` is not defined here: netport's rewrite"
               " uses a name nothing defines; define or import it, or undo the rewrite of this line\n"
               "        def drop(h, train=train):\n            with chainer.using_config('train', train):\n"
               "                return F.dropout(h)\n        return drop(x)\n",
         noop=("import chainer\nimport chainer.functions as F\ny = F.relu(x)\n",)),
    Rule("CH096", "a call that no longer fits the signature the run gave its callee is an ERROR at the line",
         before="import chainer\n\n\nclass AE(chainer.Chain):\n"
                "    def __call__(self, x, train=True, depth=0):\n        return x\n\n\n"
                "class Regression(chainer.Chain):\n    def __init__(self):\n"
                "        super(Regression, self).__init__(ae=AE())\n\n    def __call__(self, x, mode):\n"
                "        return self.ae(x, mode)\n",
         after="import chainer\n\n\nclass AE(chainer.Chain):\n    def __call__(self, x, depth=0):\n"
               "        return x\n\n\nclass Regression(chainer.Chain):\n    def __init__(self):\n"
               "        super(Regression, self).__init__()\n        with self.init_scope():\n"
               "            self.ae = AE()\n\n    def __call__(self, x, mode):\n"
               "        return self.ae(x, mode)  # netport: TODO(CH096): a positional argument"
               " of this call bound `train` of `AE.__call__(x, train, depth)` and now binds"
               " `depth` of `AE.__call__(x, depth)`: pass it by keyword, or drop it\n",
         noop=("import chainer\n\n\nclass AE(chainer.Chain):\n    def __call__(self, x, depth=0):\n"
               "        return x\n\n\n"
               "class Regression(chainer.Chain):\n    def __init__(self):\n        super(Regression, self).__init__()\n"
               "        with self.init_scope():\n            self.ae = AE()\n\n"
               "    def __call__(self, x, depth):\n        return self.ae(x, depth)\n",)),
    Rule("CH097", "a TODO marker an earlier run left, that no rule reports again, is an ERROR at its line",
         before="import chainer\nx = 1  # netport: TODO(CH022): `self.train` is set here; set the mode with"
                " `with chainer.using_config('train', ...)` around the calls instead\n",
         after="import chainer\nx = 1  # netport: TODO(CH022): `self.train` is set here; set the mode with"
               " `with chainer.using_config('train', ...)` around the calls instead\n",
         noop=("import chainer\n# a TODO note of the author's own\nx = 1\n",)),
)

_MARKER = re.compile(r"#\s*netport: TODO\((\w+)\): (.*)$")


def check_file(result: FileResult, python3_input: str) -> None:
    """CH095 and CH097 on one migrated file: findings added, the output marked."""
    new = new_undefined_names(python3_input, result.migrated, result.path)
    _report(result, [(line, col, "CH095", f"`{name}` is not defined here: netport's rewrite uses a name "
                      "nothing defines; define or import it, or undo the rewrite of this line")
                     for line, col, name in new])
    line_map = LineMap(result.original, result.migrated) if result.original != result.migrated else None
    for line, rule, message in leftover_markers(result.migrated, result.findings):
        result.findings.append(Finding(result.path, line_map(line) if line_map else line, 1, Severity.ERROR, "CH097",
                                       f"marker left by an earlier run, still to do: {rule}: {message}"))
    result.findings.sort()


def check_run(results: list[FileResult], python3_inputs: list[str]) -> None:
    """CH096 over the files of a run: every call against the signatures the run changed."""
    done = [(r, before) for r, before in zip(results, python3_inputs) if r.migrated is not None and before is not None]
    rewritten = [(r, before) for r, before in done if r.migrated != before]  # only these can change a signature
    changed = changed_signatures([before for _, before in rewritten], [r.migrated for r, _ in rewritten])
    if not changed:
        return
    trees = []
    for result, _ in done:
        try:
            trees.append(ast.parse(result.migrated))
        except (SyntaxError, ValueError):
            pass
    held = held_links(trees)
    for result, _ in done:
        conflicts = call_conflicts(result.migrated, changed, held)
        if conflicts:
            _report(result, [(line, col + 1, "CH096", message) for line, col, message in conflicts])
            result.findings.sort()


def _report(result: FileResult, problems: list[tuple[int, int, str, str]]) -> None:
    """ERROR findings at the lines of the input, and markers on the lines of the output."""
    if not problems:
        return
    line_map = LineMap(result.original, result.migrated) if result.original != result.migrated else None
    marks: dict[int, list[str]] = {}
    for line, col, rule, message in problems:
        message = " ".join(message.split())
        finding = Finding(result.path, line_map(line) if line_map else line, col, Severity.ERROR, rule, message)
        if finding not in result.findings:
            result.findings.append(finding)
        marks.setdefault(line, []).append(marker(rule, message))
    result.migrated = mark_lines(result.migrated, marks)


# --- CH095: undefined names ------------------------------------------------------------------------

def undefined_names(source: str, path: str = "<string>") -> list[tuple[int, int, str]]:
    """(line, column, name) of every use of a name that no scope defines, by pyflakes."""
    from pyflakes.checker import Checker
    from pyflakes.messages import UndefinedName

    try:
        tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError):
        return []
    return sorted((m.lineno, m.col, m.message_args[0]) for m in Checker(tree, path).messages
                  if isinstance(m, UndefinedName))


def new_undefined_names(before: str, after: str, path: str) -> list[tuple[int, int, str]]:
    """Undefined names of ``after`` that ``before`` did not leave undefined."""
    known = {name for _, _, name in undefined_names(before, path)}
    return [entry for entry in undefined_names(after, path) if entry[2] not in known]


# --- CH096: calls against the signatures the run changed -------------------------------------------

@dataclass(frozen=True)
class Signature:
    name: str
    owner: str | None  # the class of a method
    params: tuple[str, ...]  # positional-or-keyword, without self/cls for a method
    required: int  # how many of them have no default
    vararg: bool
    keyword_only: frozenset[str]
    varkw: bool

    def bind(self, positional: int, keywords: list[str]) -> tuple[str, ...] | None:
        """The parameters the positional arguments bind, or None when the call does not fit."""
        if positional > len(self.params) and not self.vararg:
            return None
        bound = self.params[:positional]
        for keyword in keywords:
            if keyword in bound or (keyword not in self.params and keyword not in self.keyword_only and not self.varkw):
                return None
        if any(p not in keywords for p in self.params[positional:self.required]):
            return None
        return bound

    def spelled(self) -> str:
        owner = f"{self.owner}." if self.owner else ""
        return f"{owner}{self.name}({', '.join(self.params)})"


def signatures(tree: ast.Module) -> dict[tuple[str | None, str], Signature]:
    """The functions and methods a module defines, by (class, name) (nested functions left out)."""
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found[(None, node.name)] = _signature(node, None)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found[(node.name, item.name)] = _signature(item, node.name)
    return found


def _signature(node: ast.FunctionDef, owner: str | None) -> Signature:
    args = node.args
    params = [a.arg for a in (*args.posonlyargs, *args.args)]
    static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list)
    if owner is not None and not static and params:
        params = params[1:]  # self, or cls: the call does not pass it
    required = len(params) - len(args.defaults)
    return Signature(node.name, owner, tuple(params), max(required, 0), args.vararg is not None,
                     frozenset(a.arg for a in args.kwonlyargs), args.kwarg is not None)


def changed_signatures(before: list[str], after: list[str]) -> list[tuple[Signature, Signature]]:
    """(old, new) for each definition whose parameters the run changed, over the files of a run."""
    changed = []
    for old_source, new_source in zip(before, after):
        try:
            old, new = signatures(ast.parse(old_source)), signatures(ast.parse(new_source))
        except (SyntaxError, ValueError):
            continue
        for key, new_signature in new.items():
            if key in old and old[key] != new_signature:
                changed.append((old[key], new_signature))
    return changed


_OBJECT_CALLS = ("__call__", "forward")


def held_links(trees: list[ast.Module]) -> dict[str, set[str | None]]:
    """What the classes of a run hold under each ``self.<name>``: the class called to make it
    (``self.l1 = L.Linear(...)``, ``__init__(l1=L.Linear(...))``, ``add_link('l1', ...)``), None where
    it comes from elsewhere (``__init__(predictor=predictor)``: any model)."""
    held: dict[str, set[str | None]] = {}

    def hold(name: str, value: ast.expr) -> None:
        held.setdefault(name, set()).add(_constructed(value))

    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                            and target.value.id == "self":
                        hold(target.attr, node.value)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr == "__init__":
                    for keyword in node.keywords:
                        if keyword.arg:
                            hold(keyword.arg, keyword.value)
                elif node.func.attr == "add_link" and len(node.args) == 2 and isinstance(node.args[0], ast.Constant):
                    hold(str(node.args[0].value), node.args[1])
    return held


def _constructed(value: ast.expr) -> str | None:
    if isinstance(value, ast.Call):
        func = value.func
        return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    return None


def call_conflicts(source: str, changed: list[tuple[Signature, Signature]],
                   held: dict[str, set[str | None]]) -> list[tuple[int, int, str]]:
    """(line, column, message) for each call in ``source`` that fitted a changed definition's old
    signature and does not fit its new one, or binds another parameter by position.

    What a call reaches: a function by its name, a method by its name, and a model object's
    ``__call__`` (``self.predictor(x)``, ``model(x)``) through what the object was made by."""
    if not changed:
        return []
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    methods = {new.name for _, new in changed if new.owner is not None}
    functions = {new.name for _, new in changed if new.owner is None}
    objects = [pair for pair in changed if pair[1].owner and pair[1].name in _OBJECT_CALLS]
    made = {}  # name -> the class it was made by, for `model = Net(...)`
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            made.setdefault(node.targets[0].id, set()).add(_constructed(node.value))

    def object_candidates(kinds: set[str | None] | None):
        return [pair for pair in objects if pair[1].owner in (kinds or ())]

    conflicts = []
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call) or any(isinstance(a, ast.Starred) for a in call.args) \
                or any(k.arg is None for k in call.keywords):
            continue  # *args and **kwargs: what binds where is not in the text
        func = call.func
        if isinstance(func, ast.Name):
            if func.id in functions:
                candidates = [pair for pair in changed if pair[1].owner is None and pair[1].name == func.id]
            else:  # a model object made here by a class of the run (an unknown maker: not checked)
                candidates = object_candidates(made.get(func.id, set()) - {None})
        elif isinstance(func, ast.Attribute):
            if func.attr in methods or func.attr in functions:
                candidates = [pair for pair in changed if pair[1].name == func.attr]
            elif isinstance(func.value, ast.Name) and func.value.id == "self":
                kinds = held.get(func.attr, set())
                candidates = object_candidates(kinds)
                if None in kinds:  # any model (`__init__(predictor=predictor)`): only a flag-like argument
                    unknown = [pair for pair in objects if pair not in candidates]  # says which one it is
                    candidates += [pair for pair in unknown if _passes_removed(call, *pair)]
            else:
                continue
        else:
            continue
        message = _conflict(call, candidates)
        if message:
            conflicts.append((call.lineno, call.col_offset, message))
    return conflicts


def _passes_removed(call: ast.Call, old: Signature, new: Signature) -> bool:
    """Whether a positional argument of ``call`` sits where ``old`` had a parameter that ``new`` lost,
    and looks like one: a True/False literal, or an expression naming that parameter (``self.train``)."""
    removed = [i for i, name in enumerate(old.params) if name not in new.params]
    for i in removed:
        if i < len(call.args):
            value = call.args[i]
            if isinstance(value, ast.Constant) and isinstance(value.value, bool):
                return True
            if any(isinstance(n, ast.Name) and n.id == old.params[i] or isinstance(n, ast.Attribute)
                   and n.attr == old.params[i] for n in ast.walk(value)):
                return True
    return False


def _conflict(call: ast.Call, candidates: list[tuple[Signature, Signature]]) -> str | None:
    positional, keywords = len(call.args), [k.arg for k in call.keywords]
    for old, new in candidates:
        before, after = old.bind(positional, keywords), new.bind(positional, keywords)
        if before is None:
            continue  # the call never fitted this definition: it calls something else
        if after is None:
            return f"this call fitted `{old.spelled()}`, which is now `{new.spelled()}`, and no longer fits it: " \
                   "pass the arguments the new signature takes"
        # (a parameter renamed in its place, the rest unchanged, is the rewrite's own: PT123's `xp` -> `device`)
        renamed = len(old.params) == len(new.params) and \
            sum(a != b for a, b in zip(old.params, new.params)) == 1
        moved = [(a, b) for a, b in zip(before, after) if a != b and not renamed]
        if moved:
            was, now = moved[0]
            return f"a positional argument of this call bound `{was}` of `{old.spelled()}` and now binds `{now}` " \
                   f"of `{new.spelled()}`: pass it by keyword, or drop it"
    return None


# --- CH097: markers left by an earlier run ---------------------------------------------------------

def leftover_markers(source: str, findings: list[Finding]) -> list[tuple[int, str, str]]:
    """(line, rule, message) of the markers in ``source`` that no finding of this run repeats."""
    reported = {(f.rule, f.message) for f in findings if f.severity is Severity.ERROR}
    left = []
    for number, line in enumerate(source.splitlines(), 1):
        match = _MARKER.search(line)
        if match and (match.group(1), match.group(2).strip()) not in reported and match.group(1) != "CH097":
            left.append((number, match.group(1), match.group(2).strip()))
    return left


# --- markers in the output -------------------------------------------------------------------------

def mark_lines(source: str, marks: dict[int, list[str]]) -> str:
    """``source`` with each statement that holds one of the lines in ``marks`` carrying those markers."""
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    from netport.migrate.passes import add_todo_comments

    class Marker(cst.CSTTransformer):
        METADATA_DEPENDENCIES = (PositionProvider,)

        def __init__(self):
            super().__init__()
            self.pending = dict(marks)

        def _mark(self, original, updated):
            span = self.get_metadata(PositionProvider, original)
            lines = [line for line in self.pending if span.start.line <= line <= span.end.line]
            if not lines:
                return updated
            todos = [todo for line in sorted(lines) for todo in self.pending.pop(line)]
            return add_todo_comments(updated, todos)

        def on_leave(self, original, updated):
            updated = super().on_leave(original, updated)
            # a statement: a simple line, or a compound one's header (inner statements claim their lines first)
            if isinstance(original, cst.BaseStatement) and isinstance(updated, cst.BaseStatement):
                return self._mark(original, updated)
            return updated

    return MetadataWrapper(cst.parse_module(source)).visit(Marker()).code


def marker(rule: str, message: str) -> str:
    return f"{TODO_PREFIX}({rule}): {' '.join(message.split())}"
