"""PT029: ``chainer.using_config('train', flag)`` scopes that the plain eval()/train() pair of PT023 cannot
express: a flag that is not the literal False, or a scope inside a module's own method.

Chainer's config is global and the scope restores the previous value when it ends; a torch module keeps its
mode itself. ``training_mode(modules, flag)`` (written into the file) sets the modules' mode for the block
and puts back each submodule's own mode after it, so a scope entered in eval mode leaves the model in eval
mode, as Chainer's did. Inside a module's method the module is ``self``: everything the method runs under
the scope (its submodules, and its functional dropout, which reads ``self.training``) follows the flag.
"""

from __future__ import annotations

import libcst as cst

from netport.migrate.passes import code
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
