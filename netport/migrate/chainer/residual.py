"""CH099: the residual sweep. After every rule has run, list (and mark) each remaining use of an
API that Chainer 5/7 does not have, so that a file is never reported clean while one remains."""

from __future__ import annotations

import libcst as cst

from netport.migrate.chainer import api
from netport.migrate.passes import RulePass, code, dotted, is_dotted
from netport.migrate.registry import rule_pass
from netport.migrate.rules import Rule, register

register(Rule(
    "CH099", "residual sweep: a remaining use of an API that Chainer 5+ does not have",
    before="import chainer.functions as F\ny = F.Parameter(x)\n",
    after="import chainer.functions as F\ny = F.Parameter(x)  # netport: TODO(CH099): `chainer.functions.Parameter` "
          "does not exist in Chainer 5+; rewrite this use by hand\n",
    noop=("import chainer.functions as F\ny = F.softmax(x)\n",
          "import chainer\nfrom mylib import functions as F\ny = F.Parameter(x)\n"),
))


@rule_pass("chainer.residual", 10)
class ResidualSweep(RulePass):
    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        if node.module is None or node.relative or isinstance(node.names, cst.ImportStar):
            return False
        base = dotted(node.module)
        if base.startswith("chainer"):
            for alias in node.names:
                self._check_name(alias, f"{base}.{dotted(alias.name)}")
        return False

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        qualified = self.qualified(node) if is_dotted(node) else None
        if qualified is not None and qualified.startswith("chainer."):
            return not self._check_name(node, qualified)
        return True

    def visit_Name(self, node: cst.Name) -> None:
        parent = self.parent(node)
        if isinstance(parent, cst.Attribute) and parent.attr is node:
            return  # `x.cuda`: an attribute name, not an imported one
        qualified = self.qualified(node)
        if qualified is not None and qualified.startswith("chainer."):
            self._check_name(node, qualified)

    def _check_name(self, node: cst.CSTNode, qualified: str) -> bool:
        if api.exists_in_target(qualified):
            return False
        self._residual(node, qualified.rsplit(".", 1)[-1],
                       f"`{qualified}` does not exist in Chainer 5+; {api.removal_hint(qualified)}")
        return True

    def _residual(self, node: cst.CSTNode, needle: str, message: str) -> None:
        """Report and mark, unless a rule already marked this statement for the same thing."""
        if not any(needle in marker for marker in self.existing_markers()):
            self.todo(node, "CH099", message)

    def visit_Call(self, node: cst.Call) -> None:
        qualified = self.callee(node)
        if qualified is not None and qualified.startswith("chainer."):
            removed = api.removed_keywords(qualified)
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value in removed:
                    self._residual(arg, arg.keyword.value, f"`{code(node.func)}(..., {arg.keyword.value}=...)`: "
                                   "the argument was removed after Chainer 1.24; rewrite this call by hand")
        elif isinstance(node.func, cst.Attribute) and node.func.attr.value in api.V1_ONLY_METHODS:
            method = node.func.attr.value
            self._residual(node, method, f"`.{method}()` does not exist in Chainer 5+: use "
                           f"{api.V1_ONLY_METHODS[method]}")
