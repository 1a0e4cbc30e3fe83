"""PT029, PT077: ``chainer.using_config('train', flag)`` scopes that the plain eval()/train() pair of PT023 cannot
express: a flag that is not the literal False, or a scope inside a module's own method.

Chainer's config is global and the scope restores the previous value when it ends; a torch module keeps its
mode itself. ``training_mode(modules, flag)`` (written into the file) sets the modules' mode for the block
and puts back each submodule's own mode after it, so a scope entered in eval mode leaves the model in eval
mode, as Chainer's did. Inside a module's method the module is ``self``: everything the method runs under
the scope (its submodules, and its functional dropout, which reads ``self.training``) follows the flag.

PT077: a read of ``chainer.config.train`` that PT011 (functions.py) left: in a function nested in a module's
method it is the module's ``self.training`` (the closure's ``self``); anywhere else there is no module whose
mode it is (a free function given a link, a script with no single model), and the marker names what to read.
"""

from __future__ import annotations

import re

import libcst as cst

from netport.migrate.passes import RulePass, code
from netport.migrate.registry import rule_pass
from netport.migrate.rules import Rule, register

TRAINING_MODE = '''@contextlib.contextmanager
def training_mode(modules, mode):
    """chainer.using_config('train', mode) for the code of `modules` (a module, or a tuple of modules): their
    train/eval mode inside the block, and every submodule's own mode put back after it."""
    modules = modules if isinstance(modules, tuple) else (modules,)
    saved = [(module, module.training) for root in modules for module in root.modules()]
    for root in modules:
        root.train(bool(mode))
    try:
        yield
    finally:
        for module, training in saved:
            module.training = training
'''

register(Rule(
    "PT029", "using_config('train', flag) with a computed flag, or inside a module's method, is "
    "training_mode(modules, flag) (written into the file): the modules' mode for the block, restored after",
    before="import chainer\n\n\nclass Stack(chainer.ChainList):\n    def __call__(self, x):\n"
           "        train = chainer.config.train\n        for i in range(len(self)):\n"
           "            if i == len(self) - 1:\n                train = False\n"
           "            with chainer.using_config('train', train):\n                x = self[i](x)\n"
           "        return x\n",
    after="import contextlib\nfrom torch import nn\n\n\n" + TRAINING_MODE +
          "\n\nclass Stack(nn.ModuleList):\n    def forward(self, x):\n"
          "        train = self.training\n        for i in range(len(self)):\n"
          "            if i == len(self) - 1:\n                train = False\n"
          "            with training_mode(self, train):\n                x = self[i](x)\n"
          "        return x\n",
    target="torch",
    noop=("# ported from chainer\nimport contextlib\n\n\n" + TRAINING_MODE +
          "\n\nwith training_mode(model, flag):\n    y = model(x)\n",
          "# ported from chainer\nimport numpy as np\nwith np.errstate(all='ignore'):\n    y = np.log(x)\n"),
))


def enclosing_module_method(rule_pass, node: cst.CSTNode) -> bool:
    """Whether ``node`` lies in a method (first parameter ``self``) of one of the program's module classes,
    directly: not in a function nested in it."""
    for ancestor in rule_pass.ancestors(node):
        if isinstance(ancestor, cst.FunctionDef):
            params = ancestor.params.params
            if not (params and params[0].name.value == "self"):
                return False
            owner = next((a for a in rule_pass.ancestors(ancestor) if isinstance(a, (cst.ClassDef, cst.FunctionDef))),
                         None)
            return isinstance(owner, cst.ClassDef) and owner.name.value in rule_pass.project.chain_classes
        if isinstance(ancestor, (cst.ClassDef, cst.Lambda)):
            return False
    return False


def training_mode_item(modules: list[str], flag: cst.BaseExpression) -> cst.WithItem:
    target = modules[0] if len(modules) == 1 else "(" + ", ".join(modules) + ")"
    return cst.WithItem(cst.parse_expression(f"training_mode({target}, {code(flag)})"))


def train_flag(rule_pass, expression: cst.BaseExpression) -> cst.BaseExpression | None:
    """The flag of ``chainer.using_config('train', flag)``, else None."""
    if isinstance(expression, cst.Call) and rule_pass.callee(expression) == "chainer.using_config" and \
            len(expression.args) == 2 and not any(a.keyword or a.star for a in expression.args) and \
            code(expression.args[0].value) in ("'train'", '"train"'):
        return expression.args[1].value
    return None


CONFIG_TRAIN = "chainer.config.train"
# attributes that only a link has: a parameter read with one of them is a link (L.BatchNormalization's, L.Linear's,
# and their torch names, which the module rules gave them)
LINK_ATTRIBUTES = {"W", "b", "gamma", "beta", "avg_mean", "avg_var", "weight", "bias", "running_mean", "running_var"}
NO_MODULE = ("`chainer.config.train` is Chainer's global train mode; in torch every module has its own, its "
             "`training` flag (set by train()/eval())")

register(Rule(
    "PT077", "chainer.config.train read in a function nested in a module's method is `self.training`; elsewhere it "
    "is marked with the module whose `training` to read",
    before="import chainer\n\n\nclass Net(chainer.Chain):\n"
           "    def __call__(self, xs):\n        def scaled(x):\n"
           "            return x * 2 if chainer.config.train else x\n"
           "        return [scaled(x) for x in xs]\n\n\n"
           "def call_bn(bn, x):\n    if not chainer.config.train:\n        return x\n"
           "    return bn(x)\n",
    after="import chainer\nfrom torch import nn\n\n\nclass Net(nn.Module):\n"
          "    def forward(self, xs):\n        def scaled(x):\n"
          "            return x * 2 if self.training else x\n"
          "        return [scaled(x) for x in xs]\n\n\n"
          "def call_bn(bn, x):\n    # netport: TODO(PT077): " + NO_MODULE + ": read the mode of the module given here, "
          "`bn.training` (if `bn` is the module whose mode the caller set), or take the mode as an argument\n"
          "    if not chainer.config.train:\n        return x\n    return bn(x)\n",
    target="torch",
    noop=("# ported from chainer\nfrom torch import nn\n\n\nclass Net(nn.Module):\n    def forward(self, x):\n"
          "        def f(y):\n            return y * 2 if self.training else y\n        return f(x)\n",
          "# ported from chainer\nimport config\nif config.train:\n    pass\n"),
))


@rule_pass("torch.scripts", 60)  # after PT011 (torch.functions), which converts the reads in a module's methods
class TrainConfigRules(RulePass):
    TRIGGER = re.compile(r"\bconfig\b")

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        if self.qualified(original) != CONFIG_TRAIN:
            return updated
        parent = self.parent(original)
        write = isinstance(parent, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign)) and parent.target is original
        if not write and self._in_module_closure(original):
            self.info(original, "PT077", "`chainer.config.train` read in a function nested in a module's method is "
                      "the module's `self.training`")
            return cst.parse_expression("self.training")
        if write:
            return updated  # (a script's own mode: the residual sweep marks it)
        self.todo(original, "PT077", NO_MODULE + ": " + self._what_to_read(original))
        return updated

    def _in_module_closure(self, node) -> bool:
        """Inside a function or lambda nested in a module's method, with `self` still the method's."""
        nested = False
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, cst.Lambda):
                if any(p.name.value == "self" for p in ancestor.params.params):
                    return False
                nested = True
            elif isinstance(ancestor, cst.FunctionDef):
                params = ancestor.params.params
                if params and params[0].name.value == "self":
                    return nested and enclosing_module_method(self, ancestor.body)
                if any(p.name.value == "self" for p in params):
                    return False
                nested = True
            elif isinstance(ancestor, cst.ClassDef):
                return False
        return False

    def _what_to_read(self, node) -> str:
        function = next((a for a in self.ancestors(node) if isinstance(a, cst.FunctionDef)), None)
        links = []
        if function is not None:
            params = [p.name.value for p in function.params.params if p.name.value != "self"]
            links = [p for p in params if _used_as_link(function.body, p)]
        if links:
            spelled = " or ".join(f"`{p}.training`" for p in links)
            return (f"read the mode of the module given here, {spelled} (if `{links[0]}` is the module whose mode the "
                    "caller set), or take the mode as an argument")
        models = self.ctx.global_models
        if len(models) > 1:
            return ("read the `training` of the model this code runs, one of " +
                    ", ".join(f"`{m}.training`" for m in models) + ", or keep the mode in a variable of your own")
        return ("read the `training` of the model this code runs (`model.training`, as its train()/eval() set it), "
                "or keep the mode in a variable of your own")


def _used_as_link(body: cst.CSTNode, name: str) -> bool:
    """Whether a parameter is called (`p(x)`, `p.method(x)`) or read with an attribute only a link has (`p.W`)."""
    found = []

    class Finder(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if isinstance(func, cst.Name) and func.value == name or isinstance(func, cst.Attribute) and \
                    isinstance(func.value, cst.Name) and func.value.value == name:
                found.append(node)

        def visit_Attribute(self, node: cst.Attribute) -> None:
            if isinstance(node.value, cst.Name) and node.value.value == name and node.attr.value in LINK_ATTRIBUTES:
                found.append(node)

    body.visit(Finder())
    return bool(found)


register(Rule(
    "PT122", "a module-level function that reads chainer.config.train, called only in its own file where each call's "
    "mode is known (a module's method: self.training; a using_config('train', flag) scope: flag; the script's own "
    "level: True; its own recursion), takes the mode as a keyword `training` that those calls pass",
    before="import chainer\n\n\nclass Net(chainer.Chain):\n    def __call__(self, x):\n        return x\n\n\n"
           "def traverse(model, node, root=True):\n"
           "    if not chainer.config.train:\n        return model(node)\n"
           "    return traverse(model, node, root=False)\n\n\n"
           "model = Net()\nwith chainer.using_config('train', False):\n    traverse(model, tree)\n"
           "for tree in trees:\n    traverse(model, tree)\n",
    after="from torch import nn\n\n\nclass Net(nn.Module):\n    def forward(self, x):\n        return x\n\n\n"
          "def traverse(model, node, root=True, *, training):\n"
          "    if not training:\n        return model(node)\n"
          "    return traverse(model, node, root=False, training=training)\n\n\n"
          "model = Net()\nmodel.eval()\ntraverse(model, tree, training=False)\nmodel.train()\n"
          "for tree in trees:\n    traverse(model, tree, training=True)\n",
    target="torch",
    noop=("# ported from chainer\n\n\ndef traverse(model, node, *, training):\n    return model(node) if training "
          "else None\n\n\nfor tree in trees:\n    traverse(m, tree, training=True)\n",
          # a `config` of the program's own, not Chainer's
          "# ported from chainer\nfrom settings import config\n\n\ndef scale(x):\n"
          "    return x * 2 if config.train else x\n\n\nfor x in xs:\n    scale(x)\n"),
))


@rule_pass("torch.modules", 1)  # before PT011 (torch.functions) and PT077, which would read the reads as a module's
class GlobalModeParameter(RulePass):
    """PT122: Chainer's global train mode read in a plain function is a value its caller set (the scope around the
    call, or the default True); where every call of the function is in this file and each one's mode is known in
    torch terms, the function takes the mode as a keyword-only `training` (no default: a caller this file does not
    know fails at the call instead of running in a guessed mode)."""
    TRIGGER = re.compile(r"\bconfig\.train\b")

    def visit_Module(self, node: cst.Module) -> None:
        super().visit_Module(node)
        self._reads: dict[int, str] = {}  # id(original read) -> function
        self._calls: dict[int, tuple[str, str]] = {}  # id(original call) -> (function, mode)
        self._global_mode_functions: set[int] = set()  # id(original def)
        _ModePlan(self, node).plan()

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        name = self._reads.get(id(original))
        if name is None:
            return updated
        self.info(original, "PT122", f"`chainer.config.train` in `{name}` is its `training` parameter, which every "
                  "call of it in this file passes")
        return cst.Name("training")

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        planned = self._calls.get(id(original))
        if planned is None:
            return updated
        name, mode = planned
        self.info(original, "PT122", f"{name}(...) passes the mode of this call, `training={mode}` (Chainer's global "
                  "mode here)")
        args = list(updated.args)
        if args:
            args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        keyword = cst.Arg(keyword=cst.Name("training"), value=cst.parse_expression(mode),
                          equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")))
        return updated.with_changes(args=[*args, keyword])

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        if id(original) not in self._global_mode_functions:
            return updated
        params = updated.params
        training = cst.Param(cst.Name("training"))
        star = params.star_arg if isinstance(params.star_arg, cst.Param) else cst.ParamStar()
        params = params.with_changes(star_arg=star, kwonly_params=[*params.kwonly_params, training])
        self.info(original, "PT122", f"`{original.name.value}` takes the train mode as a keyword `training` "
                  "(Chainer's global mode, which torch does not have)")
        return updated.with_changes(params=params)


class _ModePlan:
    """Finds the functions of PT122 and, for each, its reads of the global mode and every call with its mode."""

    def __init__(self, rule_pass: GlobalModeParameter, module: cst.Module):
        self.rule_pass, self.module = rule_pass, module
        self.rejected: set[str] = set()
        self.reads: dict[str, list[cst.Attribute]] = {}
        self.calls: dict[str, list[tuple[cst.Call, str | None]]] = {}
        self.global_write = False

    def plan(self) -> None:
        body = self.module.body
        candidates = [s for s in body if isinstance(s, cst.FunctionDef) and not s.decorators and
                      not isinstance(s.asynchronous, cst.Asynchronous)]
        names = [s.name.value for s in candidates]
        self.functions = {n: s for n, s in zip(names, candidates) if names.count(n) == 1}
        if not self.functions or not _runs_on_import(body):  # a library: its functions may be called elsewhere
            return
        self._walk(self.module, [])
        if self.global_write:  # the script sets the mode itself: the default True is not known at a call
            return
        for name, reads in self.reads.items():
            calls = self.calls.get(name, [])
            function = self.functions[name]
            if name in self.rejected or not calls or any(mode is None for _, mode in calls) or \
                    _mentions_name(function, "training") or _yields(function.body):
                continue
            self.rule_pass._global_mode_functions.add(id(function))
            self.rule_pass._reads.update((id(r), name) for r in reads)
            self.rule_pass._calls.update((id(c), (name, mode)) for c, mode in calls)

    def _walk(self, node: cst.CSTNode, stack: list[cst.CSTNode]) -> None:
        qualified = self.rule_pass.qualified(node) if isinstance(node, cst.Attribute) else None
        if qualified == CONFIG_TRAIN:
            self._config(node, stack)
            return
        if qualified in ("chainer.config", "chainer.global_config"):  # not a `.train` read: setattr(config, ...)
            self.global_write = True
        if isinstance(node, cst.Name) and node.value in self.functions:
            self._reference(node, stack)
        stack.append(node)
        for child in node.children:
            self._walk(child, stack)
        stack.pop()

    def _config(self, node: cst.Attribute, stack: list[cst.CSTNode]) -> None:
        parent = stack[-1]
        if isinstance(parent, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign)) and parent.target is node:
            self.global_write = True
            return
        for ancestor in reversed(stack):
            if isinstance(ancestor, cst.With) and any(train_flag(self.rule_pass, i.item) is not None
                                                      for i in ancestor.items):
                owner = _owner(stack)  # a read under a scope of its own function: not the caller's mode
                if owner is not None:
                    self.rejected.add(owner)
                return
            if isinstance(ancestor, (cst.Lambda, cst.ClassDef, cst.GeneratorExp)):
                break
            if isinstance(ancestor, cst.FunctionDef):
                if stack[1] is ancestor and ancestor.name.value in self.functions:  # directly in a module-level def
                    self.reads.setdefault(ancestor.name.value, []).append(node)
                    return
                break
        owner = _owner(stack)  # in a nested function: it may run after the call, in another mode
        if owner is not None:
            self.rejected.add(owner)

    def _reference(self, node: cst.Name, stack: list[cst.CSTNode]) -> None:
        parent = stack[-1]
        name = node.value
        if isinstance(parent, cst.Attribute) and parent.attr is node or \
                isinstance(parent, cst.Arg) and parent.keyword is node or \
                isinstance(parent, cst.FunctionDef) and parent.name is node and parent is self.functions[name]:
            return
        if isinstance(parent, cst.Call) and parent.func is node and not any(a.star == "**" for a in parent.args):
            self.calls.setdefault(name, []).append((parent, self._mode(parent, stack)))
            return
        self.rejected.add(name)  # passed as a value, rebound, imported under the name: callers not known

    def _mode(self, call: cst.Call, stack: list[cst.CSTNode]) -> str | None:
        """The global mode at ``call`` in torch terms, or None when it is not known here."""
        inner: cst.CSTNode = call
        for ancestor in reversed(stack[:-1] if stack and stack[-1] is call else stack):
            if isinstance(ancestor, cst.With) and inner is ancestor.body:
                flags = [train_flag(self.rule_pass, i.item) for i in ancestor.items]
                flags = [f for f in flags if f is not None]
                if flags:
                    return _scope_flag(flags[-1], ancestor.body)
            if isinstance(ancestor, (cst.Lambda, cst.ClassDef, cst.GeneratorExp)):
                return None
            if isinstance(ancestor, cst.FunctionDef):
                if _yields(ancestor.body):
                    return None
                if stack[1] is ancestor and ancestor.name.value in self.functions and \
                        self.functions[ancestor.name.value] is ancestor:
                    return "training" if ancestor.name.value == call.func.value else None
                if self._module_method(ancestor, stack):
                    return "self.training"
                return None
            if isinstance(ancestor, cst.Module):
                return "True"
            inner = ancestor
        return None

    def _module_method(self, method: cst.FunctionDef, stack: list[cst.CSTNode]) -> bool:
        """A method (first parameter ``self``) of one of the program's module classes, as enclosing_module_method."""
        index = next(i for i, n in enumerate(stack) if n is method)
        owner = next((n for n in reversed(stack[:index]) if isinstance(n, (cst.ClassDef, cst.FunctionDef))), None)
        return isinstance(owner, cst.ClassDef) and owner.name.value in self.rule_pass.project.chain_classes and \
            bool(method.params.params) and method.params.params[0].name.value == "self"


def _owner(stack: list[cst.CSTNode]) -> str | None:
    return stack[1].name.value if len(stack) > 1 and isinstance(stack[1], cst.FunctionDef) else None


def _scope_flag(flag: cst.BaseExpression, body: cst.CSTNode) -> str | None:
    """A scope's flag as the value a call inside it passes: a literal, or a name the block does not rebind."""
    if isinstance(flag, cst.Name) and flag.value in ("True", "False"):
        return flag.value
    if isinstance(flag, cst.Name) and not _mentions_name(body, flag.value):  # (read-only use would do; simpler)
        return flag.value
    return None


def _mentions_name(node: cst.CSTNode, name: str) -> bool:
    found = []

    class Finder(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            if node.value == name:
                found.append(node)

    node.visit(Finder())
    return bool(found)


def _yields(body: cst.CSTNode) -> bool:
    """A generator runs its body when iterated, not when called: the mode then is not the call's."""
    found = []

    class Finder(cst.CSTVisitor):
        def visit_Yield(self, node: cst.Yield) -> None:
            found.append(node)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

    body.visit(Finder())
    return bool(found)


def _runs_on_import(body) -> bool:
    """The file is a script: its module level runs the program (a loop, a with block or a call statement, outside
    `if __name__ == '__main__'`), so no other file imports its functions."""
    for statement in body:
        if isinstance(statement, (cst.For, cst.While, cst.With)):
            return True
        if isinstance(statement, cst.SimpleStatementLine) and \
                any(isinstance(s, cst.Expr) and isinstance(s.value, cst.Call) for s in statement.body):
            return True
    return False
