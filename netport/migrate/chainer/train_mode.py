"""CH020-CH025: train/test flags and volatile Variables become configuration scopes.

Chainer 2 replaced every ``train=``/``test=`` argument and the ``volatile`` flag by
``chainer.config.train`` and ``no_backprop_mode()``. The right place for the scope is the call
site of the model, not the dropout inside it (wrapping the whole forward pass silently turns
dropout off during training too), so:

* a flag that is only passed on (``F.dropout(h, train=train)``) is dropped, with the parameter
  it came from (CH020, CH021);
* a call that passes ``train=False`` (or ``test=True``) gets ``with chainer.using_config('train',
  False):`` (CH021); a non-literal value ``v`` gets ``using_config('train', v)``;
* code that reads the flag for other purposes reads ``chainer.config.train`` (CH021, CH022);
* a model attribute ``self.train`` toggled from outside (``model.predictor.train = False`` ...
  ``= True``) becomes a ``using_config('train', False)`` block over the statements in between
  (CH022);
* ``Variable(x, volatile='on')`` puts the statements of its block that compute with it (it, and
  what is computed from it, statement by statement) under ``with chainer.no_backprop_mode():``
  (CH023): v1's volatility was a property of the Variable, so the training code that follows in
  the same block (a new, non-volatile Variable) stays outside; ``volatile=not train`` adds ``no_backprop_mode()`` at the call
  sites that pass ``train=False``.
"""

from __future__ import annotations

import bisect
import builtins
import heapq
import re

import libcst as cst

from netport.migrate.chainer import api
from netport.migrate.passes import NO_BACKPROP, TRAIN_FALSE, RulePass, code, is_bool
from netport.migrate.registry import rule_pass
from netport.migrate.project import FLAG_NAMES, FlagFunction
from netport.migrate.rules import Rule, register

register(
    Rule("CH020", "train=/test= arguments of Chainer functions and links become the train configuration",
         before="import chainer.functions as F\ny = F.dropout(x, 0.5, train=False)\n",
         after="import chainer.functions as F\nimport chainer\n\nwith chainer.using_config('train', False):\n    y = F.dropout(x, 0.5)\n",
         noop=("import chainer\nimport chainer.functions as F\nwith chainer.using_config('train', False):\n"
               "    y = F.dropout(x, 0.5)\n",
               "import chainer\nimport torchvision\ntest = torchvision.datasets.MNIST('.', train=False)\n")),
    Rule("CH021", "user functions and methods lose their train/test parameter; callers passing False get a scope",
         before="import chainer\nimport chainer.functions as F\n\n\nclass MLP(chainer.Chain):\n"
                "    def __call__(self, x, train=True):\n        return F.dropout(self.l1(x), train=train)\n\n\n"
                "y = model(x, train=False)\n",
         after="import chainer\nimport chainer.functions as F\n\n\nclass MLP(chainer.Chain):\n"
               "    def __call__(self, x):\n        return F.dropout(self.l1(x))\n\n\n"
               "with chainer.using_config('train', False):\n    y = model(x)\n",
         noop=("import chainer\nimport chainer.functions as F\n\n\nclass MLP(chainer.Chain):\n"
               "    def __call__(self, x):\n        return F.dropout(self.l1(x))\n\n\n"
               "with chainer.using_config('train', False):\n    y = model(x)\n",
               "import chainer\n\n\ndef split(data, train_ratio=0.9):\n"
               "    return data[:int(len(data) * train_ratio)]\n\n\nhead = split(data, train_ratio=0.8)\n",
               "import chainer\n\n\ndef load(path, train):\n    return path if train else None\n\n\n"
               "data = load('mnist', False)\n")),
    Rule("CH022", "a self.train model attribute toggled from outside becomes a using_config scope",
         before="import chainer\nimport chainer.functions as F\n\n\nclass Net(chainer.Chain):\n"
                "    def __init__(self):\n        super(Net, self).__init__()\n        self.train = True\n\n"
                "    def __call__(self, x):\n        return F.dropout(x, train=self.train)\n\n\n"
                "model.train = False\ny = model(x)\nmodel.train = True\n",
         after="import chainer\nimport chainer.functions as F\n\n\nclass Net(chainer.Chain):\n"
               "    def __init__(self):\n        super(Net, self).__init__()\n\n"
               "    def __call__(self, x):\n        return F.dropout(x)\n\n\n"
               "with chainer.using_config('train', False):\n    y = model(x)\n",
         noop=("import chainer\n\n\nclass Split(object):\n    def __init__(self, data):\n"
               "        self.train = data[:100]\n\n\nsplit = Split(data)\nsplit.train = data[:50]\n",
               "import chainer\nwith chainer.using_config('train', False):\n    y = model(x)\nargs.train = False\n")),
    Rule("CH023", "volatile Variables become a no_backprop_mode scope over the statements computing with them",
         before="import chainer\nfor x in batches:\n    v = chainer.Variable(x, volatile='on')\n    y = f(v)\n"
                "    loss = g(chainer.Variable(x))\n",
         after="import chainer\nfor x in batches:\n    with chainer.no_backprop_mode():\n"
               "        v = chainer.Variable(x)\n        y = f(v)\n    loss = g(chainer.Variable(x))\n",
         noop=("import chainer\nwith chainer.no_backprop_mode():\n    v = chainer.Variable(x)\n    y = f(v)\n",
               "import chainer\nfrom torch.autograd import Variable\nv = Variable(x, volatile=True)\n")),
)

_ON = {"'on'", '"on"', "'ON'", '"ON"', "True"}
_OFF = {"'off'", '"off"', "'OFF'", '"OFF"', "'auto'", '"auto"', "'AUTO'", '"AUTO"', "False", "None"}
_BN_LINKS = {"chainer.links.BatchNormalization", "chainer.functions.BatchNormalization"}


@rule_pass("chainer.scopes", 10)
class TrainMode(RulePass):
    TRIGGER = re.compile(r"\b(train|test|volatile)\b")

    @classmethod
    def applies_to(cls, source: str, project) -> bool:
        # a call of another file's flag function may pass the flag by position: no keyword to see
        return super().applies_to(source, project) or any(name in source for name in project.flag_functions)

    def __init__(self, ctx):
        super().__init__(ctx)
        self._functions: list[FlagFunction | None] = []  # flag of each enclosing function
        self._classes: list[str] = []
        self._blocks: dict[int, _BlockNames] = {}  # id(block) -> its names, for the volatile spans

    # --- scopes ------------------------------------------------------------------------------

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._classes.append(node.name.value)

    def leave_ClassDef(self, original, updated):
        self._classes.pop()
        return updated

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        """Note this function's own train/test flag: a parameter of that name with a bool default."""
        flag = None
        if node.name.value != "__init__":
            for index, param in enumerate(node.params.params):
                if param.name.value in FLAG_NAMES and param.default is not None and \
                        isinstance(param.default, cst.Name) and param.default.value in ("True", "False"):
                    flag = FlagFunction(node.name.value, param.name.value, index, param.default.value == "True",
                                        False, index > 0 and node.params.params[0].name.value == "self")
                    break
        self._functions.append(flag)

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef):
        flag = self._functions.pop()
        if flag is None:
            return updated
        params = [p for p in updated.params.params if p.name.value != flag.param]
        if params:
            params[-1] = params[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        self.info(original, "CH021", f"`{original.name.value}`: parameter `{flag.param}` removed; "
                  "the train mode comes from chainer.config.train")
        return updated.with_changes(params=updated.params.with_changes(params=params))

    @property
    def _flag(self) -> FlagFunction | None:
        return self._functions[-1] if self._functions else None

    @property
    def _in_train_attribute_class(self) -> bool:
        return bool(self._classes) and self._classes[-1] in self.project.train_attribute_classes

    # --- what a flag value means ---------------------------------------------------------------

    def _classify(self, value: cst.BaseExpression, inverted: bool) -> tuple[str, str | None]:
        """('propagate', None) when the value only passes the current train mode on,
        ('default', None) when it asks for training mode, ('scope', expr) otherwise: the
        value of chainer.config.train the call needs."""
        negated = isinstance(value, cst.UnaryOperation) and isinstance(value.operator, cst.Not)
        inner = value.expression if negated else value
        if self._is_current_mode(inner):
            # train=train, test=not train, test=not self.train ... pass the mode on unchanged
            flag_is_test = isinstance(inner, cst.Name) and self._flag is not None and self._flag.param == "test"
            if negated == (inverted != flag_is_test):
                return "propagate", None
            return "scope", "not " + self._mode_expression()
        if isinstance(inner, cst.Name) and inner.value in ("True", "False"):
            wants_train = (inner.value == "True") ^ negated ^ inverted
            return ("default", None) if wants_train else ("scope", "False")
        expression = code(value)
        if inverted:
            expression = code(inner) if negated else f"not ({expression})"
        return "scope", expression

    def _is_current_mode(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Name) and self._flag is not None and node.value == self._flag.param:
            return True
        return self._is_self_train(node) and self._in_train_attribute_class

    @staticmethod
    def _is_self_train(node: cst.CSTNode) -> bool:
        return isinstance(node, cst.Attribute) and node.attr.value == "train" and \
            isinstance(node.value, cst.Name) and node.value.value == "self"

    def _mode_expression(self) -> str:
        return f"{self.need_import('chainer')}.config.train"

    def _apply(self, original_call: cst.Call, value: cst.BaseExpression, inverted: bool, rule: str,
               what: str, volatile: bool = False) -> None:
        kind, expression = self._classify(value, inverted)
        chainer = self.need_import("chainer")
        if kind == "scope":
            manager = TRAIN_FALSE if expression == "False" else f"{chainer}.using_config('train', {expression})"
            self.wrap(manager)
            if volatile and expression == "False":
                self.wrap(NO_BACKPROP)
            self.info(original_call, rule, f"{what}: became a `with {manager}:` scope around the call"
                      + (" and `no_backprop_mode()` (it made its inputs volatile)" if volatile and
                         expression == "False" else ""))
        else:
            self.info(original_call, rule, f"{what}: removed (the call follows chainer.config.train)")

    # --- calls ---------------------------------------------------------------------------------

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        qualified = self.callee(original)
        keyword_index = {a.keyword.value: i for i, a in enumerate(original.args) if a.keyword is not None}
        drop: set[int] = set()
        if qualified is not None and qualified.startswith("chainer."):
            removed = api.removed_keywords(qualified)
            for flag in FLAG_NAMES:
                if flag in keyword_index and flag in removed:
                    i = keyword_index[flag]
                    self._apply(original, original.args[i].value, flag == "test", "CH020",
                                f"{code(original.func)}(..., {flag}=...)")
                    drop.add(i)
            if api.renamed(qualified) == "chainer.Variable" and "volatile" in keyword_index:
                i = keyword_index["volatile"]
                if self._volatile(original, original.args[i].value):
                    drop.add(i)
        elif qualified is None:
            drop |= self._user_call(original, keyword_index)
        if not drop:
            return updated
        args = [a for i, a in enumerate(updated.args) if i not in drop]
        if args and not isinstance(original.args[-1].comma, cst.Comma):
            args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(args=args)

    def _user_call(self, original: cst.Call, keyword_index: dict[str, int]) -> set[int]:
        """A call to a project function, method or link that takes a train/test flag."""
        name = _callee_name(original.func)
        if name is None or name in self.project.classes:  # a constructor's flag is not a mode
            return set()
        facts = self.project.flag_functions
        if self.project.link_types.get(name) in _BN_LINKS and "test" in keyword_index:
            candidates = [FlagFunction(name, "test", -1, False, False, True)]
        elif name in facts:
            candidates = facts[name]
        elif name not in self.project.defined_functions and not hasattr(builtins, name):
            # calling a model object, whose __call__/forward takes the flag: only a flag passed
            # by keyword says so (a positional argument of an unknown callee could be anything)
            candidates = facts.get("__call__", []) + facts.get("forward", [])
            candidates = [c for c in candidates if c.param in keyword_index][:1]
        else:
            return set()
        flag = next((c for c in candidates if c.param in keyword_index), None)
        if flag is None and candidates and all((c.param, c.index, c.is_method) ==
                                               (candidates[0].param, candidates[0].index, candidates[0].is_method)
                                               for c in candidates):
            flag = candidates[0]
        if flag is None:
            return set()
        index = keyword_index.get(flag.param)
        if index is None and flag.index >= 0:
            position = flag.index - (1 if flag.is_method and isinstance(original.func, cst.Attribute) else 0)
            positional = [i for i, a in enumerate(original.args) if a.keyword is None and not a.star]
            if position < len(positional) and len(positional) == positional[-1] + 1:
                index = positional[position]
        if index is None:
            return set()
        self._apply(original, original.args[index].value, flag.param == "test", "CH021",
                    f"{code(original.func)}(..., {flag.param}=...)", volatile=flag.volatile)
        return {index}

    def _block_names(self, block: cst.CSTNode | None) -> _BlockNames | None:
        if block is None:
            return None
        if id(block) not in self._blocks:
            self._blocks[id(block)] = _BlockNames(block)
        return self._blocks[id(block)]

    def _volatile(self, call: cst.Call, value: cst.BaseExpression) -> bool:
        text = code(value)
        qualified = self.qualified(value) or ""
        if text in _ON or qualified.endswith(".ON"):
            block = self.parent(self.statement)
            for start, end in _volatile_spans(self.statement, block, self._block_names(block)):
                self.region(start, end, [NO_BACKPROP])
            self.info(call, "CH023", "`volatile` was removed in Chainer 2: the statements that compute with the "
                      "volatile Variable run under `chainer.no_backprop_mode()`")
            return True
        if text in _OFF or qualified.endswith((".OFF", ".AUTO")):
            self.info(call, "CH023", f"`volatile={text}` is the default; removed")
            return True
        negated = isinstance(value, cst.UnaryOperation) and isinstance(value.operator, cst.Not)
        if negated and self._is_current_mode(value.expression):
            self.info(call, "CH023", "`volatile=not train` removed: callers that pass train=False also get "
                      "`no_backprop_mode()`")
            return True
        self.todo(call, "CH023", f"`volatile={text}` was removed in Chainer 2; run the inference part under "
                  "`with chainer.no_backprop_mode():` and drop the argument")
        return False

    # --- reads of the flag --------------------------------------------------------------------

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
        flag = self._flag
        if flag is None or original.value != flag.param or not self._is_load(original):
            return updated
        mode = self._mode_expression()
        self.info(original, "CH021", f"reads of `{flag.param}` read `{mode}`")
        return cst.parse_expression(mode if flag.param == "train" else f"(not {mode})")

    def leave_Attribute(self, original: cst.Attribute, updated: cst.BaseExpression) -> cst.BaseExpression:
        if not (self._is_self_train(original) and self._in_train_attribute_class and self._is_load(original)):
            return updated
        mode = self._mode_expression()
        self.info(original, "CH022", f"`self.train` reads `{mode}`")
        return cst.parse_expression(mode)

    def _is_load(self, node: cst.CSTNode) -> bool:
        """A read of the value, outside the flag arguments that leave_Call rewrites anyway."""
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, cst.BaseStatement):
                break
            if isinstance(ancestor, cst.Arg) and ancestor.keyword is not None and \
                    ancestor.keyword.value in (*FLAG_NAMES, "volatile"):
                return False
        parent = self.parent(node)
        if isinstance(parent, cst.Arg) and parent.keyword is node:
            return False
        if isinstance(parent, cst.Attribute) and parent.attr is node:
            return False
        if isinstance(parent, (cst.Param, cst.AssignTarget, cst.AugAssign)):
            return False
        return not isinstance(parent, cst.Assign) or node not in [t.target for t in parent.targets]

    # --- the self.train attribute ----------------------------------------------------------------

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        if len(node.body) != 1 or not isinstance(node.body[0], cst.Assign):
            return
        assign = node.body[0]
        if len(assign.targets) != 1:
            return
        target = assign.targets[0].target
        if not (isinstance(target, cst.Attribute) and target.attr.value == "train"):
            return
        if self._is_self_train(target):
            if self._in_train_attribute_class:
                if self._functions and isinstance(assign.value, cst.Name) and assign.value.value in ("True", "False"):
                    self.remove(node)
                    self.info(node, "CH022", "`self.train` attribute removed: chainer.config.train holds the mode")
                else:
                    self.todo(node, "CH022", "`self.train` is set here; set the mode with "
                              "`with chainer.using_config('train', ...)` around the calls instead")
            return
        if not self.project.train_attribute_classes:
            return
        owner = code(target.value)
        if self.ctx.target == "torch":
            # torch keeps the mode per module, as v1 kept this attribute per link: the toggle is the
            # module's own train()/eval(), which lasts (like the attribute) until the next toggle
            value = assign.value
            call = "train()" if is_bool(value, True) else "eval()" if is_bool(value, False) else f"train({code(value)})"
            self.remove(node)
            self.insert_after(node, [cst.parse_statement(f"{owner}.{call}\n")])
            self.info(node, "CH022", f"`{owner}.train = {code(value)}` is `{owner}.{call}` (torch keeps the mode "
                      "in each module, as v1 kept the attribute in each link)")
            return
        if is_bool(assign.value, True):
            self.remove(node)
            self.info(node, "CH022", f"`{owner}.train = True` removed (training mode is the default)")
            return
        if not is_bool(assign.value, False):
            self.todo(node, "CH022", f"`{owner}.train` set to a computed value; use "
                      "`with chainer.using_config('train', value):` around the calls instead")
            return
        block = self.parent(node)
        siblings = list(getattr(block, "body", ()))
        after = siblings[siblings.index(node) + 1:] if node in siblings else []
        end = next((s for s in after if _is_train_assignment(s, owner, True)), None)
        self.remove(node)
        self.region(node, end, [TRAIN_FALSE], include_start=False)
        self.need_import("chainer")
        if end is None:
            self.warn(node, "CH022", f"`{owner}.train = False` is never reset in this block: the rest of the "
                      "block runs under `using_config('train', False)`")
        else:
            self.info(node, "CH022", f"`{owner}.train = False` ... `= True` became a "
                      "`with chainer.using_config('train', False):` block")


def _volatile_spans(statement: cst.CSTNode, block: cst.CSTNode | None, names: _BlockNames | None):
    """(first, end) statement spans of ``block`` to run under no_backprop_mode for a volatile Variable
    made in ``statement``: the statement itself and every later one that reads a name computed from it
    (which taints what it assigns; an assignment that reads none of them untaints its targets), as
    runs of consecutive statements; ``end`` is the statement after a run (None: the end of the block).

    Only the statements where a tainted name occurs can change anything, so the walk jumps from one
    to the next (``names`` indexes the block): a program with a volatile Variable every few lines
    costs what its spans touch, not the rest of the block for each."""
    index = names.position.get(id(statement)) if names is not None else None
    if index is None:
        return [(statement, None)] if block is None else []
    tainted = set(names.bound[index])
    runs = [[index, index + 1]]
    pending = [(j, name) for name in tainted if (j := names.next_occurrence(name, index)) is not None]
    heapq.heapify(pending)
    while pending:
        j = pending[0][0]
        occurring = set()
        while pending and pending[0][0] == j:
            occurring.add(heapq.heappop(pending)[1])
        occurring &= tainted
        if not occurring:  # names untainted since: statement j leaves the taint as it is
            continue
        bound = names.bound[j]
        if names.read[j] & tainted:
            if runs[-1][1] == j:
                runs[-1][1] = j + 1
            else:
                runs.append([j, j + 1])
            follow = occurring | (bound - tainted)
            tainted |= bound
        else:
            tainted -= bound
            follow = occurring & tainted
        for name in follow:
            following = names.next_occurrence(name, j)
            if following is not None:
                heapq.heappush(pending, (following, name))
    siblings = names.statements
    return [(siblings[a], siblings[b] if b < len(siblings) else None) for a, b in runs]


class _BlockNames:
    """The names each statement of one block reads and binds, and the statements where each name
    occurs; built once per block and pass."""

    def __init__(self, block: cst.CSTNode):
        self.statements = list(getattr(block, "body", ()))
        self.position = {id(statement): i for i, statement in enumerate(self.statements)}
        self.read: list[set[str]] = []
        self.bound: list[set[str]] = []
        self._occurrences: dict[str, list[int]] = {}
        for i, statement in enumerate(self.statements):
            names = _statement_names(statement)
            self.read.append(names.read)
            self.bound.append(names.bound)
            for name in names.read | names.bound:
                self._occurrences.setdefault(name, []).append(i)

    def next_occurrence(self, name: str, after: int) -> int | None:
        indices = self._occurrences.get(name, ())
        k = bisect.bisect_right(indices, after)
        return indices[k] if k < len(indices) else None


class _Names(cst.CSTVisitor):
    """Dotted names (``x``, ``self.h``) read by a statement, and those it binds."""

    def __init__(self):
        self.read: set[str] = set()
        self.bound: set[str] = set()
        self._targets: list[cst.CSTNode] = []

    def _bind(self, target: cst.CSTNode) -> None:
        for node in _flatten_targets(target):
            if isinstance(node, cst.Subscript):
                node = node.value  # a[i] = v: a now holds v
            if isinstance(node, (cst.Name, cst.Attribute)) and _is_dotted_name(node):
                self.bound.add(code(node))
                self._targets.append(node)

    def visit_AssignTarget(self, node):
        self._bind(node.target)

    def visit_AnnAssign(self, node):
        self._bind(node.target)

    def visit_AugAssign(self, node):
        self._bind(node.target)
        if _is_dotted_name(node.target):  # x += v reads x too
            self.read.add(code(node.target))

    def visit_For(self, node):
        self._bind(node.target)

    def visit_WithItem(self, node):
        if node.asname is not None:
            self._bind(node.asname.name)

    def visit_Name(self, node):
        if not any(node is t for t in self._targets):
            self.read.add(node.value)

    def visit_Attribute(self, node):
        if _is_dotted_name(node) and not any(node is t for t in self._targets):
            self.read.add(code(node))


def _flatten_targets(target: cst.CSTNode):
    if isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from _flatten_targets(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from _flatten_targets(target.value)
    else:
        yield target


def _is_dotted_name(node: cst.CSTNode) -> bool:
    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, cst.Name)


def _statement_names(statement: cst.CSTNode) -> _Names:
    names = _Names()
    statement.visit(names)
    return names




def _is_train_assignment(statement: cst.CSTNode, owner: str, value: bool) -> bool:
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return False
    assign = statement.body[0]
    return isinstance(assign, cst.Assign) and len(assign.targets) == 1 and \
        isinstance(assign.targets[0].target, cst.Attribute) and assign.targets[0].target.attr.value == "train" \
        and code(assign.targets[0].target.value) == owner and is_bool(assign.value, value)


def _callee_name(func: cst.BaseExpression) -> str | None:
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return None
