"""PT099: after the torch rules, every remaining use of Chainer is marked for manual work."""

from __future__ import annotations

import libcst as cst

from netport.migrate.passes import RulePass, is_dotted
from netport.migrate.rules import Rule, register

register(Rule(
    "PT099", "residual sweep: a remaining use of Chainer in code migrated to torch",
    before="import chainer\nv = chainer.Variable(x)\n",
    after="import chainer\nv = chainer.Variable(x)  # netport: TODO(PT099): `chainer.Variable` has no automatic "
          "torch conversion yet; rewrite this use by hand\n",
    target="torch",
))


class TorchResidual(RulePass):
    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        return not self._check(node)

    def visit_Name(self, node: cst.Name) -> None:
        self._check(node)

    def _check(self, node) -> bool:
        qualified = self.qualified(node) if is_dotted(node) else None
        if qualified is None or not (qualified == "chainer" or qualified.startswith("chainer.")):
            return False
        if not any(f"`{qualified}`" in todo for todo in self.edits().todos):
            self.todo(node, "PT099", f"`{qualified}` has no automatic torch conversion yet; rewrite this use by hand")
        return True
