"""The machinery every rewrite pass shares: name resolution, findings, and statement edits.

A pass is a LibCST transformer run over the whole module with fresh metadata. Rules inside a
pass never add or remove statements themselves; they *request* edits on the innermost statement
that contains the node they look at (wrap it in a ``with``, open a ``with`` region, remove it,
insert statements after it, mark it TODO), and the block that holds the statement applies the
requests when the traversal leaves it. That keeps statement lists aligned with the original tree
and lets requests from different rules merge into one ``with``.
"""

from __future__ import annotations

import ast
import re
import symtable
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import libcst as cst

from netport.migrate.chainer.api import public_name
from netport.migrate.imports import import_map
from netport.migrate.options import MigrationOptions
from netport.migrate.project import ProjectFacts
from netport.migrate.report import Severity
from netport.migrate.safety import TODO_PREFIX


# The statement node classes LibCST builds (as its package exports them: the abstract bases aside).
_STATEMENT_TYPES = frozenset(kind for kind in vars(cst).values() if isinstance(kind, type)
                             and issubclass(kind, cst.BaseStatement) and not getattr(kind, "__abstractmethods__", None))



@dataclass
class RawFinding:
    """A finding about ``node`` (or, for a node the pass created, the innermost original node in
    ``fallbacks`` that has a position) of the pass's input. Positions are computed after the pass,
    and only for passes that found something: the computation is a full code generation."""

    node: cst.CSTNode
    fallbacks: tuple[cst.CSTNode, ...]
    severity: Severity
    rule: str
    message: str
    line: int = 0
    col: int = 0

    def locate(self, positions) -> None:
        for node in (self.node, *self.fallbacks):
            if node in positions:
                start = positions[node].start
                self.line, self.col = start.line, start.column + 1
                return
        self.line, self.col = 1, 1


@dataclass
class FileContext:
    """Per-file state shared by the passes of one migration."""

    path: str
    project: ProjectFacts
    options: MigrationOptions = MigrationOptions()
    source: str = ""  # the text the current pass reads
    findings: list[RawFinding] = field(default_factory=list)
    imports: set[tuple[str, str | None, str | None]] = field(default_factory=set)  # (module, obj, alias)
    global_models: list[str] = field(default_factory=list)  # module-level `model = nn.Module()` names
    _parsed: tuple[str, ast.Module | None] | None = field(default=None, repr=False)

    def syntax_tree(self) -> ast.Module | None:
        """The current pass's input read by the compiler's parser, once per pass for every rule that
        asks (None for text it rejects)."""
        if self._parsed is None or self._parsed[0] is not self.source:
            try:
                tree = ast.parse(self.source)
            except (SyntaxError, ValueError):
                tree = None
            self._parsed = (self.source, tree)
        return self._parsed[1]

    @property
    def target(self) -> str:
        return self.options.target

    @property
    def init(self) -> str:
        return self.options.init

    @property
    def adam_eps(self) -> str:
        return self.options.adam_eps


@dataclass
class _Region:
    start: cst.CSTNode
    end: cst.CSTNode | None  # None: to the end of the block
    managers: list[str]
    include_start: bool


@dataclass
class _StatementEdits:
    wraps: list[str] = field(default_factory=list)
    remove: bool = False
    after: list[cst.BaseStatement] = field(default_factory=list)
    todos: list[str] = field(default_factory=list)


# How the torch target clears gradients. Chainer (1.24 and 5-7 alike, GradientMethod.update and
# reallocate_cleared_grads) updates every parameter, with a zero gradient where the loss did not reach
# it, so momentum, Adam's moments and weight decay go on; torch's step() skips a parameter whose .grad
# is None, which zero_grad() makes by default.
ZERO_GRAD = "zero_grad(set_to_none=False)"
NO_BACKPROP = "chainer.no_backprop_mode()"
TRAIN_FALSE = "chainer.using_config('train', False)"


class RulePass(cst.CSTTransformer):
    """Base class of the rewrite passes (see the module docstring)."""

    METADATA_DEPENDENCIES = ()
    # A pass runs only on source that matches this pattern (None: always); cheap, and most
    # passes have nothing to do in most files.
    TRIGGER: re.Pattern | None = None

    @classmethod
    def applies_to(cls, source: str, project: ProjectFacts) -> bool:
        """Whether the pass may have anything to do in this text (a cheap test before a traversal)."""
        return cls.TRIGGER is None or cls.TRIGGER.search(source) is not None

    def __init__(self, ctx: FileContext):
        super().__init__()
        self.ctx = ctx
        self.project = ctx.project
        self._statements: list[cst.BaseStatement] = []
        self._path: list[cst.CSTNode] = []  # the original nodes from the module to the current one
        self._edits: dict[int, _StatementEdits] = {}  # id(original statement) -> edits
        self._regions: list[_Region] = []
        self.aliases: dict[str, str] = {}

    # --- names -------------------------------------------------------------------------------

    def qualified(self, node: cst.CSTNode) -> str | None:
        """The imported qualified name a dotted Name/Attribute refers to, e.g. F.dropout ->
        chainer.functions.dropout; None for locals, builtins and anything not imported."""
        if not is_dotted(node):
            return None
        parts = dotted(node).split(".")
        root = self._import_roots.get(parts[0])
        if root is None or not self._scopes.is_imported(parts[0]):
            return None
        qualified = ".".join([root, *parts[1:]])
        # `convolution_2d.Convolution2D` imported from its defining module is `L.Convolution2D`
        return public_name(qualified) if qualified.startswith("chainer.") else qualified

    def callee(self, call: cst.Call) -> str | None:
        """The qualified name of what is called, when it is a plain dotted name (not ``f(x)(y)``)."""
        return self.qualified(call.func) if is_dotted(call.func) else None

    def visit_Module(self, node: cst.Module) -> None:
        self.aliases = import_aliases(node)
        self._import_roots = import_map(self.ctx.syntax_tree())
        self._scopes = Scopes(self.ctx.source, self.ctx.path)

    def spell(self, qualified_name: str) -> str:
        """Source text for a qualified name, using the file's own imports, adding one if needed."""
        spelling = spell_with(self.aliases, qualified_name)
        if spelling is not None and not spelling.startswith("chainer."):
            return spelling
        # Prefer the conventional aliases to spelling chainer.links.X out in full.
        for module, alias in (("chainer.links", "L"), ("chainer.functions", "F")):
            if qualified_name.startswith(module + ".") and alias not in self.aliases.values():
                self.ctx.imports.add((module, None, alias))
                self.aliases[module] = alias
                return alias + qualified_name[len(module):]
        if spelling is not None:
            return spelling
        root = qualified_name.split(".")[0]
        self.ctx.imports.add((root, None, None))
        self.aliases.setdefault(root, root)
        return qualified_name

    def need_import(self, module: str) -> str:
        """Make sure ``import module`` is available; returns how to spell it."""
        if module not in self.aliases:
            self.ctx.imports.add((module, None, None))
            self.aliases[module] = module
        return self.aliases[module]

    # --- findings ----------------------------------------------------------------------------

    def report(self, node: cst.CSTNode, rule: str, severity: Severity, message: str) -> None:
        message = " ".join(message.split())  # one line, even when it quotes multi-line code
        fallbacks = tuple(reversed(self._statements))
        self.ctx.findings.append(RawFinding(node, fallbacks, severity, rule, message))

    def info(self, node, rule, message):
        self.report(node, rule, Severity.INFO, message)

    def warn(self, node, rule, message):
        self.report(node, rule, Severity.WARNING, message)

    def todo(self, node: cst.CSTNode, rule: str, message: str) -> None:
        """Leave the code as it is, mark its statement, and report an ERROR."""
        message = " ".join(message.split())
        self.report(node, rule, Severity.ERROR, message)
        self.edits().todos.append(f"{TODO_PREFIX}({rule}): {message}")

    def existing_markers(self, innermost: bool = False) -> list[str]:
        """The TODO markers that the statements around the current node already carry (from an
        earlier pass or an earlier run), so a residual sweep does not mark the same thing twice
        (``innermost``: those of the innermost statement only, not of a block's header around it)."""
        markers = []
        for statement in self._statements[-1:] if innermost else self._statements:
            comments = [line.comment for line in getattr(statement, "leading_lines", ()) if line.comment]
            trailing = getattr(statement, "trailing_whitespace", None)
            if trailing is not None and trailing.comment is not None:
                comments.append(trailing.comment)
            markers += [c.value for c in comments if c.value.startswith(TODO_PREFIX)]
        return markers

    # --- statement edits ---------------------------------------------------------------------

    @property
    def statement(self) -> cst.BaseStatement | None:
        """The innermost statement (of the original tree) being visited."""
        return self._statements[-1] if self._statements else None

    def edits(self, statement: cst.BaseStatement | None = None) -> _StatementEdits:
        statement = statement or self.statement
        return self._edits.setdefault(id(statement), _StatementEdits())

    def wrap(self, manager: str, statement: cst.BaseStatement | None = None) -> None:
        wraps = self.edits(statement).wraps
        if manager not in wraps:
            wraps.append(manager)

    def remove(self, statement: cst.BaseStatement | None = None) -> None:
        self.edits(statement).remove = True

    def insert_after(self, statement: cst.BaseStatement, new: Iterable[cst.BaseStatement]) -> None:
        self.edits(statement).after.extend(new)

    def region(self, start, end, managers: Sequence[str], include_start: bool = True) -> None:
        """Wrap the statements from ``start`` (inclusive or not) up to ``end`` (exclusive; None: the
        end of the block) in ``with managers:``."""
        self._regions.append(_Region(start, end, list(managers), include_start))

    def ancestors(self, node: cst.CSTNode):
        """The nodes above ``node`` (which must be on the path being visited), innermost first."""
        for i in range(len(self._path) - 1, -1, -1):
            if self._path[i] is node:
                return reversed(self._path[:i])
        return iter(())

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return next(self.ancestors(node), None)

    # Every node of every file passes here, twice: the checks go by exact type (``BaseStatement`` is an
    # abstract class, and isinstance against it took a fifth of a migration's time).
    def on_visit(self, node: cst.CSTNode) -> bool:
        self._path.append(node)
        kind = type(node)
        if kind in _STATEMENT_TYPES:
            self._statements.append(node)
            if kind is cst.FunctionDef or kind is cst.ClassDef:
                self._scopes.enter(node.name.value)
        return super().on_visit(node)

    def on_leave(self, original_node, updated_node):
        updated = super().on_leave(original_node, updated_node)
        self._path.pop()
        kind = type(original_node)
        if kind is cst.FunctionDef or kind is cst.ClassDef:
            self._scopes.leave()
        if kind in _STATEMENT_TYPES:
            self._statements.pop()
            edits = self._edits.get(id(original_node))
            if edits and edits.todos and isinstance(updated, cst.BaseStatement):
                updated = add_todo_comments(updated, edits.todos)
        if (kind is cst.IndentedBlock or kind is cst.Module) and isinstance(updated, kind):
            updated = updated.with_changes(body=self._assemble(original_node.body, updated.body))
        if kind is cst.Module and isinstance(updated, cst.Module):
            updated = self.finish_module(updated)
        return updated

    def finish_module(self, module: cst.Module) -> cst.Module:
        """The module after every statement edit: a pass adds whole definitions here."""
        return module

    def _assemble(self, originals: Sequence[cst.CSTNode], updated: Sequence[cst.CSTNode]) -> list:
        """Apply the requested edits to one block's statements."""
        if len(originals) != len(updated):  # a subclass removed statements itself: leave as is
            return list(updated)
        index = {id(node): i for i, node in enumerate(originals)}
        regions = self._block_regions(originals, index)
        items: list[tuple[list[str], cst.BaseStatement]] = []  # (region managers, statement)
        carry: Sequence[cst.EmptyLine] = ()
        for i, (original, statement) in enumerate(zip(originals, updated)):
            edits = self._edits.get(id(original), _StatementEdits())
            managers = next((r[2] for r in regions if r[0] <= i < r[1]), [])
            if edits.remove:  # its comments go to whatever comes next
                carry = [*carry, *getattr(statement, "leading_lines", ())]
            else:
                if carry:
                    statement = statement.with_changes(leading_lines=[*carry, *statement.leading_lines])
                    carry = ()
                wraps = [w for w in edits.wraps if w not in managers]
                if NO_BACKPROP in managers and TRAIN_FALSE in wraps:
                    wraps.remove(TRAIN_FALSE)  # already promoted to the region
                if wraps:
                    statement = make_with(wraps, [statement])
                items.append((managers, statement))
            for extra in edits.after:
                if carry:
                    extra = extra.with_changes(leading_lines=[*carry, *extra.leading_lines])
                    carry = ()
                items.append((managers, extra))
        # Group consecutive statements of the same region into one `with`.
        body: list = []
        i = 0
        while i < len(items):
            managers, statement = items[i]
            if not managers:
                body.append(statement)
                i += 1
                continue
            j = i
            while j < len(items) and items[j][0] is managers:
                j += 1
            body.append(make_with(managers, [s for _, s in items[i:j]]))
            i = j
        return body

    def _block_regions(self, originals, index) -> list[tuple[int, int, list[str]]]:
        spans = []
        for region in self._regions:
            if id(region.start) not in index:
                continue
            start = index[id(region.start)] + (0 if region.include_start else 1)
            end = index[id(region.end)] if region.end is not None and id(region.end) in index else len(originals)
            if start < end:
                spans.append([start, end, list(region.managers)])
        spans.sort()
        merged: list[list] = []
        for span in spans:  # overlapping (or adjacent, alike) regions become one region with all their managers
            if merged and (span[0] < merged[-1][1] or span[0] == merged[-1][1] and span[2] == merged[-1][2]):
                merged[-1][1] = max(merged[-1][1], span[1])
                merged[-1][2] += [m for m in span[2] if m not in merged[-1][2]]
            else:
                merged.append(span)
        for span in merged:
            promoted = NO_BACKPROP in span[2] and any(
                TRAIN_FALSE in self._edits.get(id(originals[i]), _StatementEdits()).wraps
                for i in range(span[0], span[1]))
            if promoted and TRAIN_FALSE not in span[2]:
                span[2].append(TRAIN_FALSE)
        return [tuple(span) for span in merged]


def insert_definition(module: cst.Module, text: str) -> cst.Module:
    """Put a top-level definition (a class netport writes into the file) after the imports."""
    body = list(module.body)
    last_import = max((i for i, s in enumerate(body) if isinstance(s, cst.SimpleStatementLine) and
                       any(isinstance(x, (cst.Import, cst.ImportFrom)) for x in s.body)), default=-1)
    definition = cst.parse_module(text).body
    first = definition[0].with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
    rest = body[last_import + 1:]
    if rest:  # two blank lines after the definition, as before any top-level definition
        blank = [cst.EmptyLine(), cst.EmptyLine()]
        rest[0] = rest[0].with_changes(leading_lines=[*blank, *[l for l in rest[0].leading_lines
                                                                 if l.comment is not None]])
    return module.with_changes(body=[*body[:last_import + 1], first, *definition[1:], *rest])


def defines_class(module: cst.Module, name: str) -> bool:
    """Whether the module defines a top-level class of this name (a definition netport wrote on an earlier run)."""
    return any(isinstance(statement, cst.ClassDef) and statement.name.value == name for statement in module.body)


def make_with(managers: Sequence[str], statements: Sequence[cst.BaseStatement]) -> cst.With:
    """``with a, b:`` around statements; comments above the first statement move above the with."""
    first = statements[0]
    leading = getattr(first, "leading_lines", ())
    body = [first.with_changes(leading_lines=()), *statements[1:]]
    items = [cst.WithItem(cst.parse_expression(m)) for m in managers]
    items = [item.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) if k < len(items) - 1
             else item for k, item in enumerate(items)]
    return cst.With(items=items, body=cst.IndentedBlock(body=body), leading_lines=leading)


def add_todo_comments(statement: cst.BaseStatement, todos: Sequence[str]) -> cst.BaseStatement:
    """Mark a statement; markers it already carries are not added twice (migration is idempotent)."""
    existing = {line.comment.value for line in getattr(statement, "leading_lines", ()) if line.comment}
    trailing = getattr(statement, "trailing_whitespace", None)
    if trailing is not None and trailing.comment is not None:
        existing.add(trailing.comment.value)
    # a rule's marker that the statement carries already is not added again, even where the rewrite around it
    # changed the words of its message (a second run quotes the code the first run produced)
    marked = {_marker_rule(t) for t in existing}
    new = [t for t in dict.fromkeys(todos) if t not in existing and _marker_rule(t) not in marked]
    if not new:
        return statement
    if isinstance(statement, cst.SimpleStatementLine) and trailing.comment is None and len(new) == 1:
        return statement.with_changes(trailing_whitespace=trailing.with_changes(
            whitespace=cst.SimpleWhitespace("  "), comment=cst.Comment(new[0])))
    lines = [cst.EmptyLine(comment=cst.Comment(t)) for t in new]
    return statement.with_changes(leading_lines=[*statement.leading_lines, *lines])


def _marker_rule(comment: str) -> str:
    """`# netport: TODO(PT063)` of a marker comment (the comment itself if it is no marker)."""
    match = re.match(re.escape(TODO_PREFIX) + r"\([A-Z]+[0-9]+\)", comment)
    return match.group(0) if match else comment


class Scopes:
    """Python's own symbol tables (``symtable``), walked in step with the traversal, to tell an
    imported name from a local that happens to share it (``def f(F): F.dropout(...)``).

    LibCST's QualifiedNameProvider answers the same question but builds its scope model in
    Python, which made it most of the migrator's run time; symtable is the compiler's."""

    def __init__(self, source: str, path: str):
        try:
            table = symtable.symtable(source, path or "<module>", "exec")
        except (SyntaxError, ValueError):
            table = None
        self._stack: list[symtable.SymbolTable | None] = [table]
        self._seen: dict[tuple[int, str], int] = {}  # (table id, name) -> children entered so far

    def enter(self, name: str) -> None:
        parent, child = self._stack[-1], None
        if parent is not None:
            key = (parent.get_id(), name)  # id() of the wrapper objects gets reused
            nth = self._seen.get(key, 0)
            self._seen[key] = nth + 1
            same_name = [c for c in parent.get_children() if c.get_name() == name]
            child = same_name[nth] if nth < len(same_name) else None
        self._stack.append(child)

    def leave(self) -> None:
        self._stack.pop()

    def is_imported(self, name: str) -> bool:
        innermost = len(self._stack) - 1
        for depth in range(innermost, -1, -1):
            table = self._stack[depth]
            if table is None:  # no table (source the compiler rejects): trust the imports
                if depth == 0:
                    return True
                continue
            if table.get_type() == "class" and depth != innermost:
                continue  # a class body does not enclose its methods
            try:
                symbol = table.lookup(name)
            except KeyError:
                continue
            if symbol.is_imported():
                return True
            if symbol.is_assigned() or symbol.is_parameter():
                return False
        return False

    def binds_locally(self, name: str) -> bool:
        """Whether a function around the current node has its own ``name`` (a parameter or a local), so that
        the module's ``name`` is not the one seen here."""
        for table in self._stack[1:]:
            if table is None or table.get_type() != "function":
                continue
            try:
                symbol = table.lookup(name)
            except KeyError:
                continue
            if symbol.is_assigned() or symbol.is_parameter():
                return True
        return False


def top_level_imports(module: cst.Module):
    """(module, object or None, alias or None) for every absolute, non-star import at the top level."""
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    yield dotted(alias.name), None, alias.asname.name.value if alias.asname else None
            elif isinstance(small, cst.ImportFrom) and small.module is not None and not small.relative and \
                    not isinstance(small.names, cst.ImportStar):
                for alias in small.names:
                    yield dotted(small.module), dotted(alias.name), alias.asname.name.value if alias.asname else None


def import_aliases(module: cst.Module) -> dict[str, str]:
    """Qualified module/object name -> local name, from the module's top-level imports."""
    aliases: dict[str, str] = {}
    for name, obj, asname in top_level_imports(module):
        if obj is not None:
            aliases[f"{name}.{obj}"] = asname or obj
        elif asname is not None:
            aliases[name] = asname
        else:
            root = name.split(".")[0]
            aliases.setdefault(root, root)
            aliases.setdefault(name, name)
    return aliases


def bind_arguments(call: cst.Call, names: Sequence[str]) -> dict[str, cst.BaseExpression] | None:
    """The call's arguments by parameter name (positional ones matched to ``names`` in order);
    None when one cannot be matched (``*args``, an unknown keyword, too many positionals)."""
    values = {}
    for i, arg in enumerate(call.args):
        name = arg.keyword.value if arg.keyword is not None else (names[i] if i < len(names) else None)
        if arg.star or name not in names:
            return None
        values[name] = arg.value
    return values


def paren(text: str) -> str:
    """Source text safe to put before ``.attr`` or inside arithmetic: parenthesised unless a plain name or number."""
    return text if text.replace(".", "").replace("_", "").isalnum() else f"({text})"


def primary(node: cst.BaseExpression) -> str:
    """Source text of ``node`` safe to call or to put before ``.attr``: parenthesised unless it is a
    name, attribute, call or subscript (or already in parentheses); ``lambda: f(x)`` -> ``(lambda: f(x))``."""
    text = code(node)
    if getattr(node, "lpar", None) or isinstance(node, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)):
        return text
    return f"({text})"


def spell_with(aliases: dict[str, str], qualified_name: str) -> str | None:
    parts = qualified_name.split(".")
    for cut in range(len(parts), 0, -1):
        prefix = ".".join(parts[:cut])
        if prefix in aliases:
            return ".".join([aliases[prefix], *parts[cut:]])
    return None


def dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{dotted(node.value)}.{node.attr.value}"
    raise TypeError(f"not a dotted name: {node!r}")


def code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


def is_dotted(node: cst.CSTNode) -> bool:
    """A plain dotted name (``a.b.c``), not an attribute of a call or subscript result."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, cst.Name)


def is_bool(node: cst.BaseExpression | None, value: bool) -> bool:
    return isinstance(node, cst.Name) and node.value == str(value)
