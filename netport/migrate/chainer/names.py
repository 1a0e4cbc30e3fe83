"""CH002-CH004: names that moved or disappeared.

CH002 renames qualified names through ``api.RENAMES``/``api.MODULE_RENAMES`` (``F.Linear`` ->
``L.Linear``, ``chainer.optimizer.WeightDecay`` -> ``chainer.optimizer_hooks.WeightDecay``,
``FunctionSet`` -> ``Chain``, ``chainer.cuda`` -> ``chainer.backends.cuda``), CH003 replaces
``cuda.init`` and CH004 ``cuda.get_device``.
"""

from __future__ import annotations

import re

import libcst as cst

from netport.migrate.chainer import api
from netport.migrate.passes import RulePass, code, dotted, is_dotted
from netport.migrate.registry import rule_pass
from netport.migrate.rules import Rule, register

register(
    Rule("CH002", "renamed APIs: parameterised functions become links, optimizer hooks and cuda move",
         before="import chainer.functions as F\nimport chainer.links as L\nl1 = F.Linear(784, 100)\n",
         after="import chainer.functions as F\nimport chainer.links as L\nl1 = L.Linear(784, 100)\n",
         noop=("import chainer.functions as F\nimport chainer.links as L\nl1 = L.Linear(784, 100)\n"
               "y = F.linear(x, W)\n",
               "import chainer\nimport mylib.functions as F\nl1 = F.Linear(784, 100)\n",
               "import chainer\nfrom torch import nn\nl1 = nn.Linear(784, 100)\n")),
    Rule("CH003", "cuda.init(id) becomes cuda.get_device_from_id(id).use()",
         before="from chainer import cuda\ncuda.init(args.gpu)\n",
         after="from chainer.backends import cuda\ncuda.get_device_from_id(args.gpu).use()\n",
         noop=("from chainer.backends import cuda\ncuda.get_device_from_id(args.gpu).use()\n",
               "import chainer\nfrom pycuda import driver as cuda\ncuda.init()\n")),
    Rule("CH004", "cuda.get_device(id) becomes cuda.get_device_from_id(id)",
         before="from chainer import cuda\ncuda.get_device(args.gpu).use()\n",
         after="from chainer.backends import cuda\ncuda.get_device_from_id(args.gpu).use()\n",
         noop=("from chainer.backends import cuda\ncuda.get_device_from_array(x).use()\n",
               "import chainer\nfrom numba import cuda\ndevice = cuda.get_current_device()\n",
               "import chainer\nimport cupy\ncupy.cuda.Device(args.gpu).use()\n")),
)

# Arguments of get_device that are device ids rather than arrays: ints, and names that say so.
_DEVICE_ID_NAME = re.compile(r"(gpu|device|dev_id|_id$|^id$)", re.IGNORECASE)


@rule_pass("chainer.calls", 30)
class RenameApis(RulePass):
    TRIGGER = re.compile(r"FunctionSet|optimizer\.|\bF\.[A-Z]|functions\.[A-Z]|import [A-Z]|\b(?:%s)\b"
                         % "|".join(sorted({name.rpartition(".")[2] for name in api.MODULE_RENAMES})))

    def visit_Module(self, node: cst.Module) -> None:
        super().visit_Module(node)
        for name, local in list(self.aliases.items()):  # after the import rewrite below
            if name in api.RENAMES and local == name.rpartition(".")[2]:
                # `from chainer import FunctionSet` becomes `from chainer import Chain`: uses follow the import
                self.aliases.setdefault(api.RENAMES[name], api.RENAMES[name].rpartition(".")[2])
                continue
            new = api.renamed(name) if name not in api.MODULE_RENAMES else api.MODULE_RENAMES[name]
            self.aliases.setdefault(new, local)

    def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom):
        """`from chainer import cuda` (a module that moved) and `from chainer import FunctionSet` (a
        name that did, imported under its own name) import from where they are in Chainer 5+."""
        if updated.module is None or updated.relative or isinstance(updated.names, cst.ImportStar):
            return updated
        base = dotted(updated.module)
        keep, moved = [], []
        for alias in updated.names:
            full = f"{base}.{dotted(alias.name)}"
            renamed = full in api.RENAMES and alias.asname is None
            (moved if full in api.MODULE_RENAMES or renamed else keep).append(alias)
        if not moved:
            return updated
        for alias in moved:
            full = f"{base}.{dotted(alias.name)}"
            new = api.MODULE_RENAMES.get(full) or api.RENAMES[full]
            new_base, _, leaf = new.rpartition(".")
            self.info(original, "CH002", f"`{full}` is `{new}` in Chainer 5+")
            statement = cst.parse_statement(
                f"from {new_base} import {leaf}" + (f" as {alias.asname.name.value}" if alias.asname else "") + "\n")
            if keep:
                self.insert_after(self.statement, [statement])
            else:
                return statement.body[0]
        keep[-1] = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(names=keep)

    def leave_Attribute(self, original: cst.Attribute, updated: cst.BaseExpression):
        return self._rename(original, updated)

    def leave_Name(self, original: cst.Name, updated: cst.BaseExpression):
        return self._rename(original, updated)

    def _rename(self, original, updated):
        qualified = self.qualified(original) if is_dotted(original) else None
        if qualified is None or not qualified.startswith("chainer."):
            return updated
        new = api.renamed(qualified)
        if new == qualified or self._inside_import():
            return updated
        spelling = self.spell(new)
        if spelling == code(updated):
            return updated
        if new in api.RENAMES.values():
            self.info(original, "CH002", f"`{code(original)}` is `{spelling}` in Chainer 5+")
        return cst.parse_expression(spelling)

    def _inside_import(self) -> bool:
        return isinstance(self.statement, cst.SimpleStatementLine) and any(
            isinstance(s, (cst.Import, cst.ImportFrom)) for s in self.statement.body)

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        qualified = self.callee(original)
        if qualified in ("chainer.cuda.init", "chainer.backends.cuda.init"):
            device = code(updated.args[0].value) if updated.args else "0"
            new = f"{self.spell('chainer.backends.cuda.get_device_from_id')}({device}).use()"
            self.info(original, "CH003", f"`cuda.init` was removed in Chainer 2; use `{new}`")
            return cst.parse_expression(new)
        if qualified in ("chainer.cuda.get_device", "chainer.backends.cuda.get_device") and len(updated.args) == 1:
            argument = updated.args[0].value
            if _is_device_id(argument):
                func = self.spell("chainer.backends.cuda.get_device_from_id")
                self.info(original, "CH004", f"`cuda.get_device(id)` is deprecated; use `{func}`")
                return updated.with_changes(func=cst.parse_expression(func))
            self.warn(original, "CH004", "`cuda.get_device` is deprecated: use `cuda.get_device_from_id` for a "
                      "device id or `cuda.get_device_from_array` for an array (left unchanged)")
        return updated


def _is_device_id(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Integer):
        return True
    if isinstance(node, cst.UnaryOperation) and isinstance(node.expression, cst.Integer):
        return True
    if isinstance(node, (cst.Name, cst.Attribute)):
        leaf = node.value if isinstance(node, cst.Name) else node.attr.value
        return bool(_DEVICE_ID_NAME.search(leaf))
    return False
