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
