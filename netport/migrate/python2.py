"""CH090-CH093: the Python 2 pre-pass. LibCST reads only Python 3, and much Chainer v1 code is Python 2,
so such files first go through fissix (lib2to3's maintained fork) with 2to3's fixers.

A file is Python 2 when Python 3 cannot parse it and 2to3 can convert it (after reading the tabs of its
indentation as Python 2 did, CH091), or when it parses but uses names that only Python 2 has (`xrange`,
`cPickle`, `d.iteritems()`) and does not define them itself: that one goes through the fixers of the names
it uses only, its syntax being Python 3's already. In either, `/` between integers, which Python 2
floor-divided, becomes `//` where the operands are provably integers, and is reported where they may be
(CH092).
"""

from __future__ import annotations

import ast
import bisect
import io
import re
import sys
import tokenize
from dataclasses import dataclass
from pathlib import Path

from fissix import refactor
from fissix.fixes import fix_imports

from netport.migrate import alignment
from netport.migrate.report import Finding, Severity
from netport.migrate.rules import Rule, register
from netport.sources import Python2Error, python2_tool, refactor_python2  # noqa: F401  (Python2Error re-exported)

register(Rule(
    "CH090", "Python 2 source is converted with 2to3's fixers (fissix) before migration",
    before="import chainer\nfor i in xrange(3):\n    print i\n",
    after="import chainer\nfor i in range(3):\n    print(i)\n",
    noop=("import chainer\nfor i in range(3):\n    print(i)\n",
          "for i in xrange(3):\n    print i\n",
          # Python 3 that names Python 2's builtins only in strings and comments, or defines them itself
          "import chainer\nprint(u'unicode and xrange')  # long gone\n",
          "import chainer\ntry:\n    xrange\nexcept NameError:\n    xrange = range\nfor i in xrange(3):\n    pass\n",
          "import chainer\nfrom six.moves import xrange\nfor i in xrange(3):\n    pass\n",
          "import chainer\ntry:\n    import cPickle as pickle\nexcept ImportError:\n    import pickle\n",
          "import sys\nimport chainer\nif sys.version_info[0] == 2:\n    text_type = unicode\n"
          "else:\n    text_type = str\n",
          "import chainer\nclass Counts(dict):\n    def iteritems(self):\n        return iter(self.items())\n\n\n"
          "for k, v in Counts().iteritems():\n    pass\n"),
))
register(Rule(
    "CH091", "tabs and spaces mixed in a Python 2 file's indentation are read as Python 2 did (a tab to the next "
             "multiple of 8 columns)",
    before="import chainer\nif True:\n        x = 1\n\ty = 2\n",
    after="import chainer\nif True:\n        x = 1\n        y = 2\n",
    noop=("import chainer\nif True:\n\tx = 1\n\ty = '\\t'\n",
          "if True:\n        x = 1\n\ty = 2\n"),
))
register(Rule(
    "CH092", "`/` between integers in Python 2 (floor division there) becomes `//`; a warning where the operands "
             "may be integers",
    before="import chainer\nn = len(xs)\nfor i in xrange(n / 2):\n    print i / 2, i / scale\n",
    after="import chainer\nn = len(xs)\nfor i in range(n // 2):\n    print(i // 2, i / scale)\n",
    noop=("import chainer\nn = len(xs)\nfor i in range(n // 2):\n    print(i / 2)\n",
          "from __future__ import division\nimport chainer\nn = len(xs)\nprint(n / 2)\n",
          "import chainer\nn = len(xs)\nfor i in range(n):\n    print(i / 2.0, float(i) / n)\n"),
))

register(Rule(
    "CH093", "a Python 2 name that Python 3 reserved since (`async`, `await`) is renamed, and `import async` "
             "imports the module under the new name",
    before="import chainer\nimport async\nasync.run(4)\n",
    after="import chainer\nasync_ = __import__('async')\nasync_.run(4)\n",
    noop=("import chainer\nimport asyncio\n\n\nasync def main():\n    await asyncio.sleep(0)\n",
          "import chainer\nasync_ = __import__('async')\nasync_.run(4)\n"),
))

# netport's own steps of the pre-pass, recorded as Python2Change.fixer next to 2to3's fixer names
RESERVED = "reserved"  # a name Python 3 reserved, renamed
INDENTATION = "indentation"
DIVISION = "division"  # `/` between integers written `//`
DIVISION_UNPROVEN = "division-unproven"  # `/` left as it was, operands perhaps integers


@dataclass(frozen=True)
class Python2Change:
    line: int  # of the file as given
    fixer: str  # a 2to3 fixer's name, or one of netport's steps above
    col: int = 1
    detail: str = ""  # what the finding names (the division's source)


def python2_findings(path: str, changes: list[Python2Change]) -> list[Finding]:
    """The report's lines for a file's Python 2 conversion: 2to3's fixers by line (CH090), the
    indentation (CH091) and each division (CH092)."""
    findings, fixers = [], {}
    for change in changes:
        if change.fixer == INDENTATION:
            findings.append(Finding(path, change.line, 1, Severity.INFO, "CH091", change.detail))
        elif change.fixer == RESERVED:
            findings.append(Finding(path, change.line, 1, Severity.INFO, "CH093", change.detail))
        elif change.fixer == DIVISION:
            findings.append(Finding(path, change.line, change.col, Severity.INFO, "CH092",
                                    f"`{change.detail}`: Python 2 floor-divided these integers; written `//`"))
        elif change.fixer == DIVISION_UNPROVEN:
            findings.append(Finding(path, change.line, change.col, Severity.WARNING, "CH092",
                                    f"`{change.detail}`: Python 2 floor-divided here when both operands were "
                                    "integers, Python 3 always gives a float: write `//` if they are integers "
                                    "(Python 2's result), leave `/` if either is a float"))
        else:
            fixers.setdefault(change.line, []).append(change.fixer)
    for line, names in sorted(fixers.items()):
        findings.append(Finding(path, line, 1, Severity.INFO, "CH090",
                                f"Python 2 converted to Python 3 (2to3 fixers: {', '.join(names)})"))
    return findings


class _RecordingTool(refactor.RefactoringTool):
    """A RefactoringTool that remembers which fixer changed which line, and the file's __future__ imports."""

    def __init__(self, fixers, options=None):
        super().__init__(fixers, options=options)
        self.changes: list[Python2Change] = []
        self.future_features: frozenset = frozenset()
        for fixer in self.pre_order + self.post_order:
            fixer.transform = self._recording(fixer, fixer.transform)

    def refactor_tree(self, tree, name):
        self.future_features = frozenset(tree.future_features)  # fix_future removes the imports themselves
        return super().refactor_tree(tree, name)

    def _recording(self, fixer, transform):
        name = type(fixer).__module__.rsplit(".", 1)[-1]

        def wrapped(node, results):
            line = node.get_lineno()
            changed_before = node.was_changed
            new = transform(node, results)
            if new is not None or (node.was_changed and not changed_before):
                self.changes.append(Python2Change(line or 1, name))
            return new
        return wrapped


def convert_python2(source: str, name: str, fixers: tuple[str, ...] | None = None, python3_syntax: bool = False,
                    floor_divisions: bool = True) -> tuple[str, list[Python2Change]]:
    """Python 3 source for Python 2 ``source`` (all of 2to3's fixers, or those named), with `/` between
    integers floored as Python 2 did (unless not ``floor_divisions``), and what was changed where.
    ``python3_syntax``: the source parses as Python 3 already (print is a function there)."""
    tool = python2_tool(fixers, tool_class=_RecordingTool, options={"print_function": python3_syntax})
    converted = refactor_python2(tool, source, name)
    changes = tool.changes
    if floor_divisions and "division" not in tool.future_features:
        converted, divisions = floor_integer_divisions(source, converted)
        changes = changes + divisions
    return converted, sorted(set(changes), key=lambda c: (c.line, c.col, c.fixer))


# --- Python 2 by its names: a file Python 3 parses, which uses what only Python 2 had.

# Builtins, by the 2to3 fixer that rewrites them.
_BUILTINS = {"xrange": "xrange", "unicode": "unicode", "unichr": "unicode", "basestring": "basestring",
             "long": "long", "raw_input": "raw_input", "reduce": "reduce", "execfile": "execfile",
             "intern": "intern", "apply": "apply", "StandardError": "standarderror"}
# Methods of dict (no class of the file defines them), by fixer.
_METHODS = {"iteritems": "dict", "itervalues": "dict", "iterkeys": "dict", "viewitems": "dict",
            "viewkeys": "dict", "viewvalues": "dict", "has_key": "has_key"}
# Module attributes: (module, attribute) -> fixers.
_ATTRIBUTES = {("sys", "maxint"): ("renames",), ("os", "getcwdu"): ("getcwdu",),
               **{("itertools", name): ("itertools", "itertools_imports")
                  for name in ("imap", "ifilter", "izip", "izip_longest", "ifilterfalse")}}
# Modules that Python 3 has under no name (2to3's fix_imports, fix_imports2 and fix_urllib rename them).
_MODULES = {**{module: "imports" for module in fix_imports.MAPPING
               if module.split(".")[0] not in sys.stdlib_module_names},
            "whichdb": "imports2", "anydbm": "imports2", "urllib2": "urllib"}
# Text where the above may be used, a cheap test before the syntax tree is walked (substrings: faster than
# a regular expression): the builtins as code uses them (the words alone fill docstrings: "unicode", "too
# long"), method calls, attributes; and imports.
_CANDIDATE_TEXT = ("xrange", "unichr", "basestring", "raw_input", "execfile", "StandardError",
                   *(f"{name}{after}" for name in ("unicode", "long", "reduce", "apply", "intern") for after in "(),]"),
                   *(f".{method}(" for method in _METHODS), "sys.maxint", "os.getcwdu", "imap", "ifilter", "izip")
_IMPORT_LINE = re.compile(r"^[ \t]*(?:from|import)[ \t]+([\w., \t]+)", re.MULTILINE)
# An `if` or conditional expression that tells Python 2 from 3 (or looks for what one of them lacks).
_VERSION_TEST = re.compile(r"version|PY_?[23]|py_?[23]|hasattr|six\.|IS_PY|PYTHON_?[23]", re.IGNORECASE)
_FALLBACK_EXCEPTIONS = {"ImportError", "ModuleNotFoundError", "NameError", "AttributeError", "Exception",
                        "BaseException"}


_RESERVED_NAMES = ("async", "await")  # keywords since Python 3.7, plain names in Python 2


def rename_reserved_names(source: str) -> tuple[str, list[tuple[int, str]]] | None:
    """``source`` (2to3's output) with the Python 2 names that Python 3 reserved since renamed
    (``async`` -> ``async_``), ``import async`` written ``async_ = __import__('async')`` (the module keeps
    its file name); and (line, what was done) for each line. None when there is none, or one is used
    where a new name would change what it names: an attribute (``x.async``), a keyword argument, or a
    name ``async_`` that the source already uses."""
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline)
                  if t.type not in (tokenize.NL, tokenize.COMMENT)]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    names = {t.string for t in tokens if t.type == tokenize.NAME}
    if not names & set(_RESERVED_NAMES) or any(f"{n}_" in names for n in _RESERVED_NAMES):
        return None
    edits, done = [], []
    for i, token in enumerate(tokens):
        if token.type != tokenize.NAME or token.string not in _RESERVED_NAMES:
            continue
        before = tokens[i - 1] if i else None
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if before is not None and before.string == "." or after is not None and after.string == "=" \
                and before is not None and before.string in ("(", ","):
            return None
        new = f"{token.string}_"
        if before is not None and before.string == "import" and i >= 1 and \
                (i < 2 or tokens[i - 2].type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)) and \
                after is not None and after.type == tokenize.NEWLINE:
            edits.append((before.start, token.end, f"{new} = __import__('{token.string}')"))
            done.append((token.start[0], f"`import {token.string}`: `{token.string}` is a keyword in Python 3; the "
                                         f"module is imported as `{new}`"))
        elif before is not None and before.string in ("import", "from"):
            return None  # `from async import x`, `import a, async`: not rewritten
        else:
            edits.append((token.start, token.end, new))
            done.append((token.start[0], f"`{token.string}` is a keyword in Python 3: renamed `{new}`"))
    lines = source.splitlines(keepends=True)
    for (row, col), (end_row, end_col), text in reversed(edits):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + text + (line[end_col:] if end_row == row else "")
    return "".join(lines), sorted(dict(done).items())


def python2_fixers_for_names(tree: ast.Module, source: str, path: str) -> tuple[str, ...]:
    """The 2to3 fixers a Python 3-parsable file needs for the Python-2-only names it uses (none: the file
    is Python 3). A name the file binds itself (`xrange = range`, `from six.moves import xrange`), or uses
    where it tells Python 2 from 3 (`try: ... except NameError/ImportError`, `if sys.version_info ...`,
    `if six.PY2`), is the file being Python 3 aware: it does not count."""
    lines = _candidate_lines(source)
    if not lines:
        return ()
    found: list[tuple[ast.AST, str]] = []  # (a use, the fixer for it)
    builtins = methods = False
    for node in _nodes_on(tree, lines):
        if isinstance(node, ast.Name) and node.id in _BUILTINS:
            builtins = True
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _METHODS \
                and len(node.args) == (node.func.attr == "has_key") and not node.keywords:
            found.append((node, _METHODS[node.func.attr]))
            methods = True
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and (node.value.id, node.attr) in _ATTRIBUTES:
            found.extend((node, fixer) for fixer in _ATTRIBUTES[node.value.id, node.attr])
        elif isinstance(node, ast.Import):
            found.extend((node, _MODULES[alias.name]) for alias in node.names
                         if alias.name in _MODULES and not _is_local_module(path, alias.name))
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module in _MODULES and not _is_local_module(path, node.module):
                found.append((node, _MODULES[node.module]))
            if node.module == "itertools" and any(("itertools", a.name) in _ATTRIBUTES for a in node.names):
                found.extend((node, fixer) for fixer in ("itertools", "itertools_imports"))
    if not (found or builtins):
        return ()
    guarded = _guarded_lines(tree)
    # a class of the file's own that defines iteritems() or has_key(): those calls may be its; and
    # `curses.has_key(13)` is a module's function
    own_names = _defined_names(tree) if methods else set()
    fixers = {fixer for node, fixer in found if node.lineno not in guarded
              and not (isinstance(node, ast.Call) and (node.func.attr in own_names
                                                       or _is_name_in(node.func.value, own_names)))}
    if builtins:
        fixers.update(_undefined_builtins_fixers(tree, path, guarded))
    return tuple(sorted(fixers))


def _candidate_lines(source: str) -> list[int]:
    """The lines (in order) where the text of a Python-2-only name appears, or the import of a module."""
    offsets = sorted(
        [start for text in _CANDIDATE_TEXT if text in source for start in _occurrences(source, text)]
        + [match.start() for match in _IMPORT_LINE.finditer(source)
           if any(word in _MODULES for word in re.split(r"[\s,]+", match.group(1)))])
    lines, line, previous = [], 1, 0
    for offset in offsets:
        line += source.count("\n", previous, offset)
        previous = offset
        if not lines or lines[-1] != line:
            lines.append(line)
    return lines


def _occurrences(text: str, word: str):
    start = text.find(word)
    while start != -1:
        yield start
        start = text.find(word, start + 1)


def _nodes_on(tree: ast.AST, lines: list[int]):
    """The nodes of ``tree`` that span one of ``lines`` (and those without a position): a walk that skips
    the rest of a long file."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            first = getattr(child, "lineno", None)
            if first is None:
                stack.append(child)
                continue
            index = bisect.bisect_left(lines, first)
            if index < len(lines) and lines[index] <= (child.end_lineno or first):
                stack.append(child)


def certainly_python2(fixers: tuple[str, ...]) -> bool:
    """Whether the names that needed ``fixers`` exist in Python 2 only: not so for the dict methods, which
    other objects have too (a `mailbox.Mailbox` has iteritems()), enough to convert them but not to
    read the file's `/` as Python 2's."""
    return not set(fixers) <= {"dict", "has_key"}


def _defined_names(tree: ast.AST) -> set[str]:
    """The functions (methods) the file defines and the names it imports."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _is_name_in(node: ast.AST, names: set[str]) -> bool:
    return isinstance(node, ast.Name) and node.id in names


def _undefined_builtins_fixers(tree: ast.Module, path: str, guarded: set[int]) -> set[str]:
    """pyflakes says which uses of Python 2's builtins the file does not define itself, scope by scope
    (a `try: ... except NameError` around a use included)."""
    from pyflakes import messages
    from pyflakes.checker import Checker

    checker = Checker(tree, filename=path, withDoctest=False)
    return {_BUILTINS[m.message_args[0]] for m in checker.messages
            if isinstance(m, messages.UndefinedName) and m.message_args[0] in _BUILTINS and m.lineno not in guarded}


def _guarded_lines(tree: ast.Module) -> set[int]:
    """Lines of code that runs on one Python only, or whose failure is caught: the branches of an `if` that
    tests the version, the bodies of `try` statements that fall back on ImportError, NameError, ..."""
    lines: set[int] = set()

    def cover(nodes):
        for node in nodes:
            lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))

    for node in ast.walk(tree):
        if isinstance(node, (ast.If, ast.IfExp)) and _VERSION_TEST.search(ast.unparse(node.test)):
            cover(node.body if isinstance(node.body, list) else [node.body])
            cover(node.orelse if isinstance(node.orelse, list) else [node.orelse])
        elif isinstance(node, ast.Try) and any(_catches_fallback(handler.type) for handler in node.handlers):
            cover(node.body)
    return lines


def _catches_fallback(caught: ast.expr | None) -> bool:
    if caught is None:
        return True  # a bare `except:`
    names = caught.elts if isinstance(caught, ast.Tuple) else [caught]
    return any(isinstance(n, ast.Name) and n.id in _FALLBACK_EXCEPTIONS for n in names)


def _is_local_module(path: str, module: str) -> bool:
    """A module of the program itself that happens to have a Python 2 module's name (`Queue.py`)."""
    directory = Path(path).parent
    top = module.split(".")[0]
    try:
        return (directory / f"{top}.py").is_file() or (directory / top / "__init__.py").is_file()
    except OSError:
        return False


# --- CH092: `/` between integers. Python 2 floor-divided two ints (without `from __future__ import
# division`), Python 3 gives a float. Where both operands are provably ints the conversion writes `//`;
# where either is provably a float (or a Chainer Variable, whose `/` was always true division) nothing
# changes; elsewhere the `/` stays and the user is warned.

INT, FLOAT, UNKNOWN = "int", "float", "unknown"
_INT_FUNCTIONS = {"len", "int", "ord", "hash", "id"}
_INT_OF_INT_FUNCTIONS = {"abs", "min", "max"}  # int when every argument is
_INT_ATTRIBUTES = {"size", "ndim", "nbytes", "itemsize"}  # of numpy arrays and Chainer Variables
_FLOAT_MODULE_FUNCTIONS = {
    "math": {"sqrt", "exp", "log", "log10", "log2", "log1p", "expm1", "pow", "sin", "cos", "tan", "asin", "acos",
             "atan", "atan2", "sinh", "cosh", "tanh", "floor", "ceil", "fabs", "hypot", "radians", "degrees", "fsum"},
    "numpy": {"sqrt", "exp", "log", "log2", "log10", "mean", "std", "var", "sin", "cos", "tan", "tanh", "float16",
              "float32", "float64", "float_", "linspace", "average"},
    "numpy.linalg": {"norm"},
    "numpy.random": {"rand", "randn", "uniform", "normal", "random", "random_sample", "standard_normal"},
    "time": {"time", "clock", "perf_counter"},
    "random": {"random", "uniform", "gauss", "normalvariate", "expovariate", "betavariate"},
}
_FLOAT_METHODS = {"mean", "std", "var"}  # of numpy arrays: a float whatever the dtype
_FLOAT_CONSTANTS = {"math": {"pi", "e", "inf", "nan"}, "numpy": {"pi", "e", "inf", "nan"}}
_FLOAT_DTYPES = re.compile(r"""^(?:float|(?:np|numpy|xp)\.float(?:16|32|64|_)?|(['"])float(?:16|32|64)?\1)$""")


def floor_integer_divisions(original: str, converted: str) -> tuple[str, list[Python2Change]]:
    """``converted`` (2to3's output for the Python 2 ``original``) with `/` between provable integers
    written `//`, and a change per division: made, or left and to be checked."""
    try:
        tree = ast.parse(converted)
    except (SyntaxError, ValueError, RecursionError):
        return converted, []  # the caller reports what does not parse
    divisions = [node for node in ast.walk(tree)
                 if isinstance(node, (ast.BinOp, ast.AugAssign)) and isinstance(node.op, ast.Div)]
    if not divisions:
        return converted, []
    kinds = _Kinds(tree)
    operators = _division_operators(converted)
    lines = io.StringIO(converted).readlines()
    original_line = _LineMap(original, converted)
    edits, changes = [], []
    for node in divisions:
        left, right = (node.left, node.right) if isinstance(node, ast.BinOp) else (node.target, node.value)
        operator = _operator_between(operators, lines, left, right)
        if operator is None:
            continue
        left_kind, right_kind = kinds.of(left), kinds.of(right)
        row, col = operator
        line = original_line(row)
        original_col = original_line.column(row, col) + 1
        detail = _shortened(ast.get_source_segment(converted, node) or "/")
        if left_kind == INT and right_kind == INT:
            edits.append((row, col))
            changes.append(Python2Change(line, DIVISION, original_col, detail))
        elif FLOAT not in (left_kind, right_kind) and not kinds.inside_int_call(node):
            changes.append(Python2Change(line, DIVISION_UNPROVEN, original_col, detail))
    for row, col in sorted(edits, reverse=True):
        text = lines[row - 1]
        lines[row - 1] = text[:col] + "/" + text[col:]  # `/` -> `//`, `/=` -> `//=`
    return "".join(lines), changes


def _shortened(source: str) -> str:
    source = " ".join(source.split())
    return source if len(source) <= 60 else source[:57] + "..."


def _division_operators(source: str) -> list[tuple[int, int]]:
    """(row, column) of every `/` and `/=` token of ``source``, in order (columns in characters)."""
    found = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.OP and token.string in ("/", "/="):
                found.append(token.start)
    except (tokenize.TokenError, SyntaxError):
        pass
    return found


def _operator_between(operators: list[tuple[int, int]], lines: list[str], left: ast.AST,
                      right: ast.AST) -> tuple[int, int] | None:
    """The `/` token after ``left`` and before ``right`` (parentheses may sit between them)."""
    after = (left.end_lineno, _characters(lines, left.end_lineno, left.end_col_offset))
    before = (right.lineno, _characters(lines, right.lineno, right.col_offset))
    index = bisect.bisect_left(operators, after)
    return operators[index] if index < len(operators) and operators[index] < before else None


def _characters(lines: list[str], row: int, byte_offset: int) -> int:
    """ast's column (UTF-8 bytes) as the tokenizer's (characters)."""
    line = lines[row - 1] if 0 < row <= len(lines) else ""
    return byte_offset if line.isascii() else len(line.encode("utf-8")[:byte_offset].decode("utf-8", "ignore"))


class _LineMap:
    """Lines of 2to3's output -> lines of its input (they are the same unless a fixer added lines)."""

    def __init__(self, original: str, converted: str):
        old, new = _lines(original), _lines(converted)
        self._same_lines = len(old) == len(new)
        self._old, self._new = old, new
        self._map: dict[int, int] = {}  # as the engine maps the lines of its passes
        if not self._same_lines:
            for tag, i1, _, j1, j2 in alignment.opcodes(old, new):
                for j in range(j1, j2):
                    self._map[j + 1] = (i1 + (j - j1) if tag == "equal" else i1) + 1

    def __call__(self, line: int) -> int:
        return line if self._same_lines else self._map.get(line, line)

    def column(self, line: int, col: int) -> int:
        """The column in the input of ``col`` on the converted ``line``: the same where 2to3 left the text
        before it as it was, counted from the end where it left the text after it; else 0."""
        old = self(line)
        if not (0 < old <= len(self._old) and 0 < line <= len(self._new)):
            return 0
        before, after = self._old[old - 1], self._new[line - 1]
        if before[:col] == after[:col]:
            return col
        if before.endswith(after[col:]):
            return len(before) - len(after[col:])
        return 0


def _lines(text: str) -> list[str]:
    """Lines as the tokenizer counts them (at newlines only), without their ends."""
    return [line.rstrip("\r\n") for line in io.StringIO(text).readlines()]


class _Kinds:
    """What a Python 2 file's expressions provably are: int, float (or true-dividing, as a Chainer
    Variable is), or unknown. A name is int when every assignment to it in its scope (the function, or
    the module for its own code and the functions that do not assign it) is int; float when every one is
    int or float and one is float (the accumulator `total = 0` ... `total += float(loss.data)`)."""

    def __init__(self, tree: ast.Module):
        self._aliases = _module_aliases(tree)
        self._scope_of: dict[int, _Scope] = {}  # id(node) -> the scope it is evaluated in
        self._int_arguments: set[int] = set()  # ids of the nodes that are the argument of an `int(...)`
        self.module = _Scope(None)
        self._declared_global: set[str] = set()
        self._collect(tree, self.module)
        self._parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        self._assigned: dict[int, frozenset[str]] = {}
        self._positions = {id(statement): (block, index) for node in ast.walk(tree)
                           for _, block in ast.iter_fields(node) if isinstance(block, list)
                           for index, statement in enumerate(block) if isinstance(statement, ast.stmt)}
        names = {(scope, name) for scope in {*self._scope_of.values(), self.module} for name in scope.bindings}
        # Two largest fixed points, each one monotone: the ints, then (ints known) the floats.
        self._ints, self._floats = set(), set()
        self._ints = self._largest(names, "_ints", lambda key: self._kind_of_assignments(key) == {INT})
        self._floats = self._largest(names - self._ints, "_floats",
                                     lambda key: UNKNOWN not in self._kind_of_assignments(key))

    def of(self, node: ast.AST) -> str:
        """The kind of an operand: for a name, from the assignment before it in its block if there is one
        (`image = image.astype(np.float32)` ... `image /= 255`), else from all of the name's assignments."""
        scope = self._scope_of.get(id(node), self.module)
        if isinstance(node, ast.Name):
            kind = self._kind_from_block(node, scope)
            if kind is not None:
                return kind
        return self._kind(node, scope)

    def _kind_from_block(self, name: ast.Name, scope: _Scope) -> str | None:
        """The kind ``name`` has after the statements before its own in the same block: the last plain
        assignment to it there, then the augmented ones after it. None where another statement there
        assigns it, or none does."""
        statement = name
        while statement is not None and not isinstance(statement, ast.stmt):
            statement = self._parents.get(id(statement))
        if statement is None or id(statement) not in self._positions or name.id in self._declared_global \
                or self._scope_of.get(id(statement)) is not scope:  # read later, by a lambda or a function
            return None
        if any(isinstance(node, ast.comprehension) and name.id in _assigned_names(node.target, {})
               for node in ast.walk(statement)):
            return None  # a comprehension's own variable
        block, index = self._positions[id(statement)]
        augmented = []
        for previous in reversed(block[:index]):
            if name.id not in _assigned_names(previous, self._assigned):
                continue
            if isinstance(previous, ast.AugAssign):
                augmented.append(previous)
                continue
            if isinstance(previous, ast.Assign) and len(previous.targets) == 1 \
                    and isinstance(previous.targets[0], ast.Name) \
                    and name.id not in _assigned_names(previous.value, self._assigned):
                kind = self._kind(previous.value, scope)
                for step in reversed(augmented):
                    kind = self._combined(step.op, kind, self._kind(step.value, scope), step.value)
                return kind
            return None
        return None

    def inside_int_call(self, node: ast.AST) -> bool:
        """`int(a / b)`: Python 2 floored then truncated, Python 3 truncates: the same for positive operands."""
        return id(node) in self._int_arguments

    def _largest(self, names: set, attribute: str, holds) -> set:
        """The largest subset of ``names`` whose every member ``holds`` while ``attribute`` is that subset."""
        assumed = set(names)
        while True:
            setattr(self, attribute, assumed)
            kept = {key for key in assumed if holds(key)}
            if kept == assumed:
                return kept
            assumed = kept

    def _kind_of_assignments(self, key: tuple[_Scope, str]) -> set[str]:
        scope, name = key
        return {self._kind(value, scope) for value in scope.bindings[name]}

    # scopes and what is assigned in them

    def _collect(self, node: ast.AST, scope: _Scope) -> None:
        """Record ``node`` (evaluated in ``scope``) and what it assigns, then its parts."""
        self._scope_of[id(node)] = scope
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            self._collect_function(node, scope)
            return
        if isinstance(node, ast.ClassDef):
            scope.bind(node.name)
            for part in (*node.bases, *node.keywords, *node.decorator_list):
                self._collect(part, scope)
            body = _Scope(scope, is_class=True)
            for part in node.body:
                self._collect(part, body)
            return
        self._bindings(node, scope)
        if _called_name(node) == "int" and isinstance(node.func, ast.Name) and node.args:
            self._int_arguments.add(id(node.args[0]))
        for child in ast.iter_child_nodes(node):
            self._collect(child, scope)

    def _collect_function(self, function: ast.AST, scope: _Scope) -> None:
        scope.bind(getattr(function, "name", None))
        for part in (*function.args.defaults, *filter(None, function.args.kw_defaults),
                     *getattr(function, "decorator_list", ())):
            self._collect(part, scope)
        inner = _Scope(scope)
        for argument in ast.walk(function.args):
            if isinstance(argument, ast.arg):
                inner.bind(argument.arg)  # called with anything
        for part in (function.body if isinstance(function.body, list) else [function.body]):
            self._collect(part, inner)

    def _bindings(self, node: ast.AST, scope: _Scope) -> None:
        """What ``node`` assigns in ``scope`` (comprehensions' names included, as Python 2 leaked them)."""
        if isinstance(node, ast.Assign):
            for target in node.targets:
                self._assign(target, node.value, scope)
        elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)):
            self._assign(node.target, node.value, scope)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            current = ast.Name(node.target.id, ast.Load())
            self._scope_of[id(current)] = scope
            scope.bind(node.target.id, ast.BinOp(current, node.op, node.value))
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            self._assign_loop(node.target, node.iter, scope)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                scope.bind((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            for name in node.names:  # assigned from elsewhere too: unknown in both scopes
                scope.bind(name)
                self.module.bind(name)
                self._declared_global.add(name)
        elif isinstance(node, ast.ExceptHandler):
            scope.bind(node.name)
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            self._assign(node.optional_vars, None, scope)

    def _assign(self, target: ast.AST, value: ast.AST | None, scope: _Scope) -> None:
        if isinstance(target, ast.Name):
            scope.bind(target.id, value)
        elif isinstance(target, ast.Starred):
            self._assign(target.value, None, scope)
        elif isinstance(target, (ast.Tuple, ast.List)):
            pairs = isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts) \
                and not any(isinstance(e, ast.Starred) for e in (*target.elts, *value.elts))
            for i, element in enumerate(target.elts):
                self._assign(element, value.elts[i] if pairs else None, scope)

    def _assign_loop(self, target: ast.AST, iterable: ast.AST, scope: _Scope) -> None:
        function = _called_name(iterable)
        if function == "range":
            self._assign(target, _AN_INT, scope)
        elif function == "enumerate" and isinstance(target, ast.Tuple) and len(target.elts) == 2:
            self._assign(target.elts[0], _AN_INT, scope)
            self._assign(target.elts[1], None, scope)
        else:
            self._assign(target, None, scope)

    # kinds of expressions

    def _kind(self, node: ast.AST | None, scope: _Scope) -> str:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, int):  # bool included: True / 2 was 0
                return INT
            return FLOAT if isinstance(node.value, (float, complex)) else UNKNOWN
        if isinstance(node, ast.Name):
            key = (scope.owner(node.id), node.id)
            return INT if key in self._ints else FLOAT if key in self._floats else UNKNOWN
        if isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.Not):
            return self._kind(node.operand, scope)
        if isinstance(node, ast.BinOp):
            return self._binary_kind(node, scope)
        if isinstance(node, ast.IfExp):
            kinds = {self._kind(node.body, scope), self._kind(node.orelse, scope)}
            return INT if kinds == {INT} else UNKNOWN if UNKNOWN in kinds else FLOAT
        if isinstance(node, ast.NamedExpr):
            return self._kind(node.value, scope)
        if isinstance(node, ast.Call):
            return self._call_kind(node, scope)
        if isinstance(node, ast.Attribute):
            if node.attr in _INT_ATTRIBUTES:
                return INT
            module = self._module(node.value, scope)
            return FLOAT if node.attr in _FLOAT_CONSTANTS.get(module, ()) else UNKNOWN
        if isinstance(node, ast.Subscript):
            if isinstance(node.value, ast.Attribute) and node.value.attr == "shape" \
                    and not isinstance(node.slice, (ast.Slice, ast.Tuple)):
                return INT
            return FLOAT if self._kind(node.value, scope) == FLOAT else UNKNOWN  # of a float array
        return UNKNOWN

    def _binary_kind(self, node: ast.BinOp, scope: _Scope) -> str:
        return self._combined(node.op, self._kind(node.left, scope), self._kind(node.right, scope), node.right)

    @staticmethod
    def _combined(op: ast.operator, left: str, right: str, right_node: ast.AST) -> str:
        if isinstance(op, ast.Mod) and left == UNKNOWN:
            return UNKNOWN  # `"%d" % x` is a string
        if FLOAT in (left, right) and isinstance(op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod,
                                                      ast.Pow)):
            return FLOAT
        if (left, right) != (INT, INT) or isinstance(op, ast.MatMult):
            return UNKNOWN
        if isinstance(op, ast.Pow):  # 2 ** -1 is a float
            exponent = right_node
            return INT if isinstance(exponent, ast.Constant) and exponent.value >= 0 else UNKNOWN
        return INT  # `/` included: it floors, and becomes `//`

    def _call_kind(self, node: ast.Call, scope: _Scope) -> str:
        function = node.func
        if isinstance(function, ast.Name) and scope.owner(function.id) is None:  # a builtin
            if function.id in _INT_FUNCTIONS:
                return INT
            if function.id == "float":
                return FLOAT
            if function.id in _INT_OF_INT_FUNCTIONS and node.args and not node.keywords \
                    and (function.id == "abs" or len(node.args) > 1):  # max(a, b), not max(values)
                kinds = {self._kind(argument, scope) for argument in node.args}
                return INT if kinds == {INT} else UNKNOWN if UNKNOWN in kinds else FLOAT
            return UNKNOWN
        if not isinstance(function, ast.Attribute):
            return UNKNOWN
        if function.attr == "astype" and node.args and _FLOAT_DTYPES.match(ast.unparse(node.args[0])):
            return FLOAT
        if function.attr in _FLOAT_METHODS:
            return FLOAT
        module = self._module(function.value, scope)
        if module == "chainer.functions":
            return FLOAT  # a Variable: its `/` divided truly in Chainer 1 too
        if function.attr in _FLOAT_MODULE_FUNCTIONS.get(module, ()):
            return FLOAT
        if module == "numpy" and function.attr in ("zeros", "ones", "empty", "full", "array", "asarray") \
                and any(k.arg == "dtype" and _FLOAT_DTYPES.match(ast.unparse(k.value)) for k in node.keywords):
            return FLOAT
        return UNKNOWN

    def _module(self, node: ast.AST, scope: _Scope) -> str | None:
        """The module a dotted name stands for (`np` -> numpy, `np.random` -> numpy.random), if imported."""
        if isinstance(node, ast.Name):
            if scope.owner(node.id) not in (self.module, None):
                return None  # a local name
            module = self._aliases.get(node.id)
        elif isinstance(node, ast.Attribute):
            base = self._module(node.value, scope)
            module = base and f"{base}.{node.attr}"
        else:
            return None
        for array_module in ("chainer.cuda.cupy", "cupy"):  # numpy's double on the GPU
            if module and (module == array_module or module.startswith(array_module + ".")):
                module = "numpy" + module[len(array_module):]
        return module


_AN_INT = ast.Constant(0)  # what a loop over range() assigns, whatever the bounds


def _assigned_names(node: ast.AST, memo: dict[int, frozenset[str]]) -> frozenset[str]:
    """The names ``node`` binds in its own scope (not in the functions and classes it defines); statements'
    are kept in ``memo``, so that asking of every statement before each division costs one walk."""
    if id(node) in memo:
        return memo[id(node)]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        names = frozenset([node.name])
    elif isinstance(node, ast.Lambda):
        names = frozenset()
    elif isinstance(node, ast.Name):
        names = frozenset() if isinstance(node.ctx, ast.Load) else frozenset([node.id])
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        names = frozenset((alias.asname or alias.name).split(".")[0] for alias in node.names)
    else:
        names = frozenset().union(*(_assigned_names(child, memo) for child in ast.iter_child_nodes(node)))
        if isinstance(node, ast.ExceptHandler) and node.name:
            names |= {node.name}
    if isinstance(node, ast.stmt):
        memo[id(node)] = names
    return names


class _Scope:
    """The names a function (or class body, or the module) assigns, with each value assigned (None: not an
    expression netport follows)."""

    def __init__(self, parent: _Scope | None, is_class: bool = False):
        self.parent = parent
        self.is_class = is_class
        self.bindings: dict[str, list[ast.AST | None]] = {}

    def bind(self, name: str | None, value: ast.AST | None = None) -> None:
        if name:
            self.bindings.setdefault(name, []).append(value)

    def owner(self, name: str) -> _Scope | None:
        """The scope whose ``name`` this one reads (a function skips the class bodies around it)."""
        scope, first = self, True
        while scope is not None:
            if name in scope.bindings and (first or not scope.is_class):
                return scope
            scope, first = scope.parent, False
        return None


def _called_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        function = node.func
        if isinstance(function, ast.Name):
            return function.id
        if isinstance(function, ast.Attribute):
            return function.attr  # six.moves.range
    return None


def _module_aliases(tree: ast.Module) -> dict[str, str]:
    """Module-level names that stand for modules: `import numpy as np` -> {"np": "numpy"}."""
    aliases = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    aliases[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases
