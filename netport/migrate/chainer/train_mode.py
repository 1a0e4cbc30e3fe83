"""CH020-CH026: train/test flags and volatile Variables become configuration scopes.

Chainer 2 replaced every ``train=``/``test=`` argument and the ``volatile`` flag by
``chainer.config.train`` and ``no_backprop_mode()``. The right place for the scope is the call
site of the model, not the dropout inside it (wrapping the whole forward pass silently turns
dropout off during training too), so:

* a flag that is only passed on (``F.dropout(h, train=train)``) is dropped, with the parameter
  it came from (CH020, CH021);
* a call that passes ``train=False`` (or ``test=True``) gets ``with chainer.using_config('train',
  False):`` (CH021); a non-literal value ``v`` gets ``using_config('train', v)``;
* a flag passed by position to a model object whose ``__call__`` takes it (``self.predictor(x,
  True)``) is treated like the keyword (CH024): left in place it would bind the next parameter;
* a function body that sets its flag (``train = False`` before the output layer) keeps it as a local
  starting from the mode, and the calls given it get ``using_config('train', train)`` (CH025);
* code that reads the flag for other purposes reads ``chainer.config.train`` (CH021, CH022), and so
  does a ``train=``/``test=`` argument kept for a callee that takes no mode (CH026);
* a model attribute ``self.train`` toggled from outside (``model.predictor.train = False`` ...
  ``= True``) becomes a ``using_config('train', False)`` block over the statements in between
  (CH022); an object proven to be of a class whose ``train`` is a flag of its own (``self.train =
  train``, which Chainer 5 keeps) keeps its assignment, and to torch only an object proven to be of a
  class whose ``train`` was the mode is toggled with eval()/train() (the rest: PT135);
* ``Variable(x, volatile='on')`` puts the statements of its block that compute with it (it, and
  what is computed from it, statement by statement) under ``with chainer.no_backprop_mode():``
  (CH023): v1's volatility was a property of the Variable, so the training code that follows in
  the same block (a new, non-volatile Variable) stays outside; ``volatile=not train`` adds
  ``no_backprop_mode()`` at the call sites that pass ``train=False``.
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
from netport.migrate.project import FLAG_NAMES, FlagFunction, instance_classes, scope_names
from netport.migrate.rules import Rule, register

register(
    Rule("CH020", "train=/test= arguments of Chainer functions and links become the train configuration",
         before="import chainer.functions as F\ny = F.dropout(x, 0.5, train=False)\n",
         after="import chainer.functions as F\nimport chainer\n\n"
               "with chainer.using_config('train', False):\n    y = F.dropout(x, 0.5)\n",
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
    Rule("CH024", "a train/test flag passed by position to a model (`self.predictor(x, True)`) becomes a scope",
         before="import chainer\nimport chainer.functions as F\n\n\nclass AE(chainer.Chain):\n"
                "    def __call__(self, x, train=True, depth=0):\n        return F.dropout(x, train=train)\n\n\n"
                "class Regression(chainer.Chain):\n    def dump(self, x):\n        return self.predictor(x, False)\n",
         after="import chainer\nimport chainer.functions as F\n\n\nclass AE(chainer.Chain):\n"
               "    def __call__(self, x, depth=0):\n        return F.dropout(x)\n\n\n"
               "class Regression(chainer.Chain):\n    def dump(self, x):\n"
               "        with chainer.using_config('train', False):\n            return self.predictor(x)\n",
         noop=("import chainer\nimport numpy as np\n\n\nclass AE(chainer.Chain):\n"
               "    def __call__(self, x, depth=0):\n        return x\n\n\nv = np.full(3, True)\n",
               "import chainer\n\n\nclass Net(chainer.Chain):\n    def __call__(self, x):\n        return x\n\n\n"
               "y = model(x, False)\n")),
    Rule("CH025", "a train/test flag the function sets stays a local variable, starting from "
         "chainer.config.train",
         before="import chainer\n\n\nclass SAE(chainer.ChainList):\n    def decode(self, h, train=True):\n"
                "        for i in range(len(self)):\n            if i == len(self) - 1:\n"
                "                train = False\n"
                "            h = self[i].decode(h, train=train)\n        return h\n",
         after="import chainer\n\n\nclass SAE(chainer.ChainList):\n    def decode(self, h):\n"
               "        train = chainer.config.train\n"
               "        for i in range(len(self)):\n            if i == len(self) - 1:\n                train = False\n"
               "            with chainer.using_config('train', train):\n                h = self[i].decode(h)\n"
               "        return h\n",
         noop=("import chainer\n\n\ndef schedule(epochs, train):\n    train = train and epochs > 0\n"
               "    return train\n",)),
    Rule("CH026", "a train/test argument kept for a callee that takes no mode reads the mode once the "
         "parameter it passed is gone",
         before="import chainer\nimport chainer.functions as F\n\n\ndef add_noise(h, test, sigma=0.2):\n"
                "    return h if test else h + sigma\n\n\nclass D(chainer.Chain):\n"
                "    def __call__(self, x, test=False):\n        return add_noise(x, test=test)\n",
         after="import chainer\nimport chainer.functions as F\n\n\ndef add_noise(h, test, sigma=0.2):\n"
               "    return h if test else h + sigma\n\n\nclass D(chainer.Chain):\n"
               "    def __call__(self, x):\n        return add_noise(x, test=(not chainer.config.train))\n",
         noop=("import chainer\n\n\ndef add_noise(h, test, sigma=0.2):\n    return h if test else h + sigma\n\n\n"
               "def run(x, test):\n    return add_noise(x, test=test)\n",)),
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
# The model a Chainer wrapper holds: `L.Classifier(MLP()).predictor`
_LIBRARY_CHILDREN = {"predictor"}


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
        self._rebound: list[bool] = []  # ... and whether its body assigns the flag (a local from then on)
        self._visible: list[int | None] = []  # the level of the flag each function sees
        self._classes: list[str] = []
        self._blocks: dict[int, _BlockNames] = {}  # id(block) -> its names, for the volatile spans

    # --- scopes ------------------------------------------------------------------------------

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._classes.append(node.name.value)

    def leave_ClassDef(self, original, updated):
        self._classes.pop()
        return updated

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        """Note this function's own train/test flag: a parameter of that name with a bool default."""
        self._enter_function(node)
        if self._in_train_attribute_class and len(self._functions) == 1 and _is_train_property(node):
            # the mode the property kept (and handed to the children) is chainer.config.train now
            self.remove(node)
            self.info(node, "CH022", "the `train` property " + ("setter " if _is_setter(node) else "") +
                      "is removed: chainer.config.train holds the mode, for every link at once")
            return False
        return True

    def _enter_function(self, node: cst.FunctionDef) -> None:
        flag = None
        if node.name.value != "__init__":
            for index, param in enumerate(node.params.params):
                if param.name.value in FLAG_NAMES and param.default is not None and \
                        isinstance(param.default, cst.Name) and param.default.value in ("True", "False"):
                    flag = FlagFunction(node.name.value, param.name.value, index, param.default.value == "True",
                                        False, index > 0 and node.params.params[0].name.value == "self")
                    break
        self._functions.append(flag)
        self._rebound.append(flag is not None and _assigns(node.body, flag.param))
        # a nested function (a closure) sees the flag of the function around it, unless it shadows it
        outer = self._visible[-1] if self._visible else None
        if flag is not None:
            self._visible.append(len(self._functions) - 1)
        elif outer is not None and not _shadows(node, self._functions[outer].param):
            self._visible.append(outer)
        else:
            self._visible.append(None)

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef):
        flag = self._functions.pop()
        rebound = self._rebound.pop()
        self._visible.pop()
        if flag is None:
            return updated
        params = [p for p in updated.params.params if p.name.value != flag.param]
        if params:
            params[-1] = params[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        updated = updated.with_changes(params=updated.params.with_changes(params=params))
        if not rebound:
            self.info(original, "CH021", f"`{original.name.value}`: parameter `{flag.param}` removed; "
                      "the train mode comes from chainer.config.train")
            return updated
        # The body sets the flag (`train = False` before the output layer): it stays a local variable,
        # starting from the mode, and the calls it is passed to get the scope it asks for.
        mode = self._mode_expression()
        start = cst.parse_statement(f"{flag.param} = {mode if flag.param == 'train' else f'not {mode}'}\n")
        body = list(updated.body.body)
        docstring = 1 if body and _is_docstring(body[0]) else 0
        self.info(original, "CH025", f"`{original.name.value}`: parameter `{flag.param}` removed; the body sets "
                  f"it, so it is a local variable starting from `{mode}`, and the calls given it run under "
                  f"`using_config('train', ...)`")
        return updated.with_changes(body=updated.body.with_changes(body=[*body[:docstring], start, *body[docstring:]]))

    @property
    def _flag(self) -> FlagFunction | None:
        """The flag the current code sees: its function's own, or that of the function around a closure."""
        level = self._visible[-1] if self._visible else None
        return None if level is None else self._functions[level]

    @property
    def _flag_rebound(self) -> bool:
        level = self._visible[-1] if self._visible else None
        return level is not None and self._rebound[level]

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
            return not self._flag_rebound  # a flag the body sets may no longer be the mode
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
        elif qualified is None or qualified.rsplit(".", 1)[-1] in self.project.flag_functions:
            # the program's own function, or one it imports from another of its modules
            drop |= self._user_call(original, keyword_index)
        updated = self._kept_flag_arguments(original, updated, drop)
        if not drop:
            return updated
        args = [a for i, a in enumerate(updated.args) if i not in drop]
        if args and not isinstance(original.args[-1].comma, cst.Comma):
            args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(args=args)

    def _kept_flag_arguments(self, original: cst.Call, updated: cst.Call, drop: set[int]) -> cst.Call:
        """A ``train=``/``test=`` argument that stays (the callee is not known to take the mode from the
        configuration, ``add_noise(h, test=test)``) still needs a value once the enclosing function lost
        the parameter it passes on: it passes the mode."""
        flag = self._flag
        if flag is None or self._flag_rebound:
            return updated
        args = list(updated.args)
        for i, arg in enumerate(original.args):
            if i in drop or arg.keyword is None or arg.keyword.value not in (*FLAG_NAMES, "volatile") \
                    or not any(n.value == flag.param for n in _loaded_names(arg.value)):
                continue
            args[i] = args[i].with_changes(value=args[i].value.visit(_FlagReads(flag.param, self._flag_read())))
            self.info(original, "CH026", f"`{code(original.func)}(..., {arg.keyword.value}=...)`: `{flag.param}` "
                      f"reads `{self._mode_expression()}`")
        return updated.with_changes(args=args)

    def _flag_read(self) -> cst.BaseExpression:
        mode = self._mode_expression()
        return cst.parse_expression(mode if self._flag.param == "train" else f"(not {mode})")

    def _user_call(self, original: cst.Call, keyword_index: dict[str, int]) -> set[int]:
        """A call to a project function, method or link that takes a train/test flag."""
        name = _callee_name(original.func)
        flag_keywords = [k for k in FLAG_NAMES if k in keyword_index]
        if name is None and flag_keywords and _is_getattr_child(original.func):
            # `getattr(self, "bn%d" % i)(h, test=test)`: a link or model the object holds, whose mode became
            # the configuration (links take no flag from v2, and the program's models lose theirs)
            name = "getattr(self, ...)"
        if name is None or name in self.project.classes:  # a constructor's flag is not a mode
            return set()
        facts = self.project.flag_functions
        object_call = False
        if name == "getattr(self, ...)":
            candidates = [FlagFunction(name, flag_keywords[0], -1, flag_keywords[0] == "train", False, True)]
        elif self.project.link_types.get(name) in _BN_LINKS and "test" in keyword_index:
            candidates = [FlagFunction(name, "test", -1, False, False, True)]
        elif name in facts:
            candidates = facts[name]
        elif flag_keywords and name in self.project.flagless_functions:
            # `ae.encode(x, train=False)` where every `encode` of the program takes no flag (migrated
            # in an earlier run, or file by file): the keyword can only be the v1 mode
            candidates = [FlagFunction(name, flag_keywords[0], -1, True, False, True)]
        elif name not in self.project.defined_functions and not hasattr(builtins, name) \
                and self._may_be_model(original.func):
            # calling a model object, whose __call__/forward takes the flag: a flag passed by keyword
            # says so; by position, only a literal True/False (or the caller's own flag) where that
            # __call__ has it (`self.predictor(x, True)`): another argument of an unknown callee could be anything
            object_call = True
            candidates = facts.get("__call__", []) + facts.get("forward", [])
            held = self.project.held_classes.get(name) if _is_child_call(original.func) else None
            if held and {c.owner for c in candidates} & held:  # `self.block1(h, self.train)`: made by Block
                candidates = [c for c in candidates if c.owner in held]
            by_keyword = [c for c in candidates if c.param in keyword_index][:1]
            candidates = by_keyword or [c for c in candidates if self._flag_at_position(original, c, object_call)]
            if not candidates and flag_keywords and {"__call__", "forward"} & self.project.flagless_functions \
                    and not {"__call__", "forward"} & self.project.open_functions:
                # `self.ae(x, train=True)` where the program's models all take no flag (any more)
                candidates = [FlagFunction("__call__", flag_keywords[0], -1, True, False, True)]
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
            index = _positional_index(original, _position(flag, original, object_call))
        if index is None:
            self._omitted_flag(original, flag, candidates, object_call)
            return set()
        by_position = flag.param not in keyword_index
        self._apply(original, original.args[index].value, flag.param == "test", "CH024" if by_position else "CH021",
                    f"{code(original.func)}(...): `{code(original.args[index].value)}` passed as `{flag.param}`"
                    if by_position else f"{code(original.func)}(..., {flag.param}=...)",
                    volatile=flag.volatile)
        return {index}

    def _omitted_flag(self, call: cst.Call, flag: FlagFunction, candidates: list[FlagFunction],
                      object_call: bool) -> None:
        """A call that leaves the flag to its default, where the default asks for test mode (``train=False``,
        ``test=True``): v1 ran it in test mode whatever the caller's mode, so it gets a ``train=False`` scope."""
        if flag.index < 0 or any(a.star for a in call.args) or \
                any((c.param, c.default) != (flag.param, flag.default) for c in candidates):
            return
        if flag.default == (flag.param == "train"):  # the default asks for training mode: the configuration's
            return
        position = _position(flag, call, object_call)
        if len([a for a in call.args if a.keyword is None]) > position:
            return  # (passed by position after all, where _positional_index could not tell)
        self._apply(call, cst.Name("False"), False, "CH021",
                    f"{code(call.func)}(...) leaves `{flag.param}` to its default {flag.default}")

    def _may_be_model(self, func: cst.BaseExpression) -> bool:
        """A callee that can be a model object: a name (``model(x)``), a link an object holds
        (``self.predictor``, ``model.predictor``), not a method of something else (``kwargs.get``,
        ``parser.set_defaults``)."""
        return isinstance(func, cst.Name) or _is_child_call(func) or isinstance(func, cst.Attribute) and \
            (func.attr.value in self.project.child_names or func.attr.value in _LIBRARY_CHILDREN)

    def _flag_at_position(self, call: cst.Call, flag: FlagFunction, object_call: bool) -> bool:
        if flag.index < 0:
            return False
        index = _positional_index(call, _position(flag, call, object_call))
        if index is None:
            return False
        value = call.args[index].value
        if isinstance(value, cst.UnaryOperation) and isinstance(value.operator, cst.Not):
            value = value.expression
        return isinstance(value, cst.Name) and value.value in ("True", "False") or self._is_current_mode(value)

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
        # A computed flag: whether a graph is recorded is not known here. Values never depended on it
        # (volatility only skipped recording the graph), so the argument goes, and the memory it saved
        # is the one thing left to review.
        self.warn(call, "CH023", f"`volatile={text}` was removed in Chainer 2 and dropped: the values are the "
                  "same, but computing with this Variable now records a graph; where it is volatile, run that "
                  "part under `with chainer.no_backprop_mode():` to save the memory")
        return True

    # --- reads of the flag --------------------------------------------------------------------

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
        flag = self._flag
        if flag is None or original.value != flag.param or self._flag_rebound or not self._is_load(original):
            return updated
        self.info(original, "CH021", f"reads of `{flag.param}` read `{self._mode_expression()}`")
        return self._flag_read()

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
        classes = instance_classes(self)
        instance = classes.at(owner, scope_names(self, node))
        kind = classes.train_attribute(instance) if instance is not None else None
        if self.ctx.target != "torch" and kind == "renamed":
            return  # a flag of the class's own, which Chainer 5 keeps (its dropout's scope reads it): exact as it is
        if self.ctx.target == "torch":
            # torch keeps the mode per module, as v1 kept this attribute per link: the toggle is the
            # module's own train()/eval(), which lasts (like the attribute) until the next toggle; only for an
            # object proven to be of a class whose `train` was that mode attribute (CH022 makes its reads the
            # module's mode). A flag of the class's own is renamed by the torch rules (PT135), and an object
            # netport cannot place is marked there.
            if kind != "mode":
                return
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


def _position(flag: FlagFunction, call: cst.Call, object_call: bool) -> int:
    """Where the flag sits among the call's positional arguments: a method called through an object
    (``obj.encode(x, False)``, ``model(x, False)``) is not passed ``self``."""
    return flag.index - (1 if flag.is_method and (object_call or isinstance(call.func, cst.Attribute)) else 0)


def _positional_index(call: cst.Call, position: int) -> int | None:
    """The index in ``call.args`` of its ``position``-th positional argument, when the positional
    arguments come first and none is starred."""
    positional = [i for i, a in enumerate(call.args) if a.keyword is None and not a.star]
    if 0 <= position < len(positional) and len(positional) == positional[-1] + 1:
        return positional[position]
    return None


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 and \
        isinstance(statement.body[0], cst.Expr) and isinstance(statement.body[0].value, (cst.SimpleString,
                                                                                      cst.ConcatenatedString))


def _shadows(function: cst.FunctionDef, name: str) -> bool:
    """Whether a nested function has its own ``name`` (a parameter, or a local it assigns)."""
    return any(p.name.value == name for p in function.params.params) or _assigns(function.body, name)


def _assigns(block: cst.CSTNode, name: str) -> bool:
    """Whether the function body ``block`` binds ``name`` (outside nested functions and classes)."""
    finder = _BindingFinder(name)
    block.visit(finder)
    return finder.found


class _BindingFinder(cst.CSTVisitor):
    def __init__(self, name: str):
        self.name = name
        self.found = False

    def visit_FunctionDef(self, node) -> bool:
        return False

    def visit_ClassDef(self, node) -> bool:
        return False

    def visit_Lambda(self, node) -> bool:
        return False

    def _target(self, target: cst.CSTNode) -> None:
        if any(n.value == self.name for n in _flatten_targets(target) if isinstance(n, cst.Name)):
            self.found = True

    def visit_AssignTarget(self, node) -> None:
        self._target(node.target)

    def visit_AugAssign(self, node) -> None:
        self._target(node.target)

    def visit_AnnAssign(self, node) -> None:
        self._target(node.target)

    def visit_For(self, node) -> None:
        self._target(node.target)

    def visit_WithItem(self, node) -> None:
        if node.asname is not None:
            self._target(node.asname.name)

    def visit_NamedExpr(self, node) -> None:
        self._target(node.target)


def _loaded_names(node: cst.CSTNode) -> list[cst.Name]:
    collector = _NameCollector()
    node.visit(collector)
    return collector.names


class _NameCollector(cst.CSTVisitor):
    def __init__(self):
        self.names: list[cst.Name] = []

    def visit_Attribute(self, node) -> bool:
        node.value.visit(self)  # the attribute's own name is no variable
        return False

    def visit_Arg(self, node) -> bool:
        node.value.visit(self)  # nor is a keyword
        return False

    def visit_Name(self, node) -> None:
        self.names.append(node)


class _FlagReads(cst.CSTTransformer):
    """Every read of the removed flag ``name`` in an expression becomes ``read``."""

    def __init__(self, name: str, read: cst.BaseExpression):
        self.name, self.read = name, read

    def visit_Attribute(self, node) -> bool:
        return True

    def leave_Attribute(self, original, updated):
        return updated.with_changes(attr=original.attr)  # `x.train` keeps its attribute name

    def leave_Arg(self, original, updated):
        return updated.with_changes(keyword=original.keyword)

    def leave_Name(self, original, updated):
        return self.read if original.value == self.name else updated


def _is_getattr_child(func: cst.BaseExpression) -> bool:
    """``getattr(self, name)``: a link the object holds, looked up by a computed name."""
    return isinstance(func, cst.Call) and isinstance(func.func, cst.Name) and func.func.value == "getattr" and \
        len(func.args) == 2 and isinstance(func.args[0].value, cst.Name) and func.args[0].value.value == "self"


def _is_child_call(func: cst.BaseExpression) -> bool:
    """``self.<child>(...)``: a call of a link the object holds."""
    return isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self"


def _is_setter(node: cst.FunctionDef) -> bool:
    return any(isinstance(d.decorator, cst.Attribute) and d.decorator.attr.value == "setter"
               for d in node.decorators)


def _is_train_property(node: cst.FunctionDef) -> bool:
    """``@property def train(self)`` or ``@train.setter def train(self, value)``."""
    return node.name.value == "train" and any(
        isinstance(d.decorator, cst.Name) and d.decorator.value == "property" or
        _is_setter(node) and isinstance(d.decorator.value, cst.Name) and d.decorator.value.value == "train"
        for d in node.decorators)
