"""CH044: a loop that draws random numbers for each parameter in turn keeps Chainer 1.24's order.

v1's ``Link.params()`` yielded a link's parameters in the order they were registered, then its
children's in theirs; Chainer 2+ sorts both by name (an LSTM's ``upward/W, upward/b, lateral/W``
become ``lateral/W, upward/W, upward/b``). A loop that fills each parameter from the global random
generator (``for p in self.params(): p.data[...] = np.random.uniform(...)``, the PTB example) then
hands the same draws to other matrices, and the program starts from other weights. Such a loop
iterates ``params_v1(link)`` instead: a function written into the file that walks the link's
attributes in the order they were assigned, which ``init_scope`` keeps as v1's registration order.

Only for the Chainer target: torch's ``parameters()`` already goes in registration order.
"""

from __future__ import annotations

import re

import libcst as cst

from netport.migrate.passes import RulePass, code, insert_definition
from netport.migrate.registry import rule_pass
from netport.migrate.rules import Rule, register

PARAMS_V1 = '''def params_v1(link):
    """Chainer 1.24's order of ``link.params()`` (written by netport, rule CH044): the link's own
    parameters as registered, then its children's; Chainer 2+ sorts both by name."""
    children = list(link) if isinstance(link, chainer.ChainList) else []
    for name, value in vars(link).items():
        if isinstance(value, chainer.Parameter):
            yield value
        elif isinstance(link, chainer.Chain) and name in link._children:
            children.append(value)
    for child in children:
        for param in params_v1(child):
            yield param
'''

register(
    Rule("CH044", "a loop drawing random values for each of params() keeps v1's parameter order (params_v1)",
         before="import chainer\nimport numpy as np\nfor param in model.params():\n"
                "    param.data[:] = np.random.uniform(-0.1, 0.1, param.data.shape)\n",
         after="import chainer\nimport numpy as np\n\n\n" + PARAMS_V1 + "\n\nfor param in params_v1(model):\n"
               "    param.data[:] = np.random.uniform(-0.1, 0.1, param.data.shape)\n",
         noop=("import chainer\nfor param in model.params():\n    param.update_rule.hyperparam.lr = 0.1\n",
               "import chainer\nimport numpy as np\nnorm = sum(float(np.sum(p.grad ** 2)) for p in model.params())\n")),
)

_RANDOM_MODULES = ("numpy.random.", "random.", "cupy.random.")


@rule_pass("chainer.scopes", 40)
class ParameterOrder(RulePass):
    TRIGGER = re.compile(r"\.params\(\)")
    _used = False

    def leave_For(self, original: cst.For, updated: cst.For) -> cst.For:
        call = original.iter
        if self.ctx.target != "chainer" or not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
                                                and call.func.attr.value == "params" and not call.args):
            return updated
        if not self._draws_random_numbers(original.body):
            return updated
        self._used = True
        self.need_import("chainer")
        link = code(call.func.value)
        self.info(original, "CH044", f"`for ... in {link}.params()` draws random numbers for each parameter: "
                  f"`params_v1({link})` keeps Chainer 1.24's order (Chainer 2+ sorts parameters by name)")
        return updated.with_changes(iter=cst.parse_expression(f"params_v1({link})"))

    def _draws_random_numbers(self, body: cst.CSTNode) -> bool:
        finder = _CallFinder()
        body.visit(finder)
        return any((self.qualified(func) or "").startswith(_RANDOM_MODULES) or
                   isinstance(func, cst.Attribute) and isinstance(func.value, cst.Attribute)
                   and func.value.attr.value == "random" for func in finder.callees)  # xp.random.uniform

    def finish_module(self, module: cst.Module) -> cst.Module:
        if not self._used or any(isinstance(s, cst.FunctionDef) and s.name.value == "params_v1" for s in module.body):
            return module
        return insert_definition(module, PARAMS_V1)


class _CallFinder(cst.CSTVisitor):
    def __init__(self):
        self.callees: list[cst.BaseExpression] = []

    def visit_Call(self, node: cst.Call) -> None:
        self.callees.append(node.func)
