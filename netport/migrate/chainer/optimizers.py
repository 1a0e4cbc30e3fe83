"""CH040-CH043: gradient clearing and per-iteration optimizer calls, and the gradient norm.

v1 training loops cleared gradients with ``model.zerograds()`` or ``optimizer.zero_grads()`` and
applied weight decay and clipping by calling the optimizer every iteration between ``backward``
and ``update``. Chainer 5 has ``cleargrads()`` and optimizer hooks that ``update()`` runs at the
same point, so the per-iteration calls become hooks added once, right after ``setup``, in the
order the loop called them.
"""

from __future__ import annotations

import re

import libcst as cst

from netport.migrate.passes import RulePass, code
from netport.migrate.registry import rule_pass
from netport.migrate.rules import Rule, register

register(
    Rule("CH040", "zerograds()/zerograd() become cleargrads()/cleargrad()",
         before="import chainer\nmodel.zerograds()\n", after="import chainer\nmodel.cleargrads()\n",
         noop=("import chainer\nmodel.cleargrads()\n",
               "import chainer\nprint('model.zerograds() is gone')  # model.zerograds()\n",
               "import chainer\nimport torch\noptimizer.zero_grad()\n")),
    Rule("CH041", "optimizer.zero_grads() clears the gradients of the optimizer's target",
         before="import chainer\noptimizer.setup(model)\nfor x in data:\n    optimizer.zero_grads()\n",
         after="import chainer\noptimizer.setup(model)\nfor x in data:\n    model.cleargrads()\n",
         noop=("import chainer\noptimizer.setup(model)\nfor x in data:\n    model.cleargrads()\n",
               "import chainer\n\n\ndef zero_grads():\n    pass\n\n\nzero_grads()\n")),
    Rule("CH042", "per-iteration weight_decay/clip_grads calls become hooks added once after setup",
         before="import chainer\noptimizer.setup(model)\nfor x in data:\n    loss = f(x)\n    loss.backward()\n"
                "    optimizer.weight_decay(0.0005)\n    optimizer.clip_grads(5.0)\n    optimizer.update()\n",
         after="import chainer\noptimizer.setup(model)\n"
               "optimizer.add_hook(chainer.optimizer_hooks.WeightDecay(0.0005))\n"
               "optimizer.add_hook(chainer.optimizer_hooks.GradientClipping(5.0))\nfor x in data:\n"
               "    loss = f(x)\n    loss.backward()\n    optimizer.update()\n",
         noop=("import chainer\noptimizer.setup(model)\n"
               "optimizer.add_hook(chainer.optimizer_hooks.WeightDecay(0.0005))\nfor x in data:\n"
               "    optimizer.update()\n",
               "import chainer\nimport torch\nopt = torch.optim.SGD(params, lr=0.1, weight_decay=5e-4)\n"
               "torch.nn.utils.clip_grad_norm_(params, 5.0)\n")),
)

register(
    Rule("CH043", "optimizer.compute_grads_norm() becomes the same sum over the target's gradients",
         before="import chainer\nimport numpy as np\nnorm = optimizer.compute_grads_norm()\n",
         after="import chainer\nimport numpy as np\nnorm = np.sqrt(sum(float(p.grad.ravel().dot(p.grad.ravel())) "
               "for p in optimizer.target.params() if p.grad is not None))\n",
         noop=("import chainer\nimport numpy as np\nnorm = np.sqrt(sum(float(p.grad.ravel().dot(p.grad.ravel())) "
               "for p in optimizer.target.params() if p.grad is not None))\n",
               "import chainer\n\n\ndef compute_grads_norm(grads):\n    return max(grads)\n\n\n"
               "norm = compute_grads_norm(g)\n")),
)

HOOKS = {"weight_decay": "chainer.optimizer_hooks.WeightDecay",
         "clip_grads": "chainer.optimizer_hooks.GradientClipping"}
_RENAMED_METHODS = {"zerograds": "cleargrads", "zerograd": "cleargrad"}


class _SetupFinder(cst.CSTVisitor):
    """``<optimizer>.setup(<target>)`` statements of a module, by optimizer expression."""

    def __init__(self):
        # optimizer -> (setup statement, the block holding it, the setup's argument)
        self.setups: dict[str, tuple[cst.SimpleStatementLine, cst.CSTNode, cst.BaseExpression]] = {}
        self._blocks: list[cst.CSTNode] = []

    def visit_Module(self, node: cst.Module) -> None:
        self._blocks.append(node)

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._blocks.append(node)

    def leave_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._blocks.pop()

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        for small in node.body:
            call = small.value if isinstance(small, cst.Expr) else None
            if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and \
                    call.func.attr.value == "setup" and len(call.args) == 1 and call.args[0].keyword is None:
                self.setups.setdefault(code(call.func.value), (node, self._blocks[-1], call.args[0].value))


@rule_pass("chainer.scopes", 30)
class OptimizerCalls(RulePass):
    TRIGGER = re.compile(r"zerograd|zero_grads|weight_decay|clip_grads|compute_grads_norm")

    def visit_Module(self, node: cst.Module) -> None:
        super().visit_Module(node)
        finder = _SetupFinder()
        if OptimizerCalls.TRIGGER.search(self.ctx.source):  # the scan is a whole traversal: only if needed
            node.visit(finder)
        self._setups = finder.setups
        self._hooked: set[tuple[str, str]] = set()

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        func = updated.func
        if not isinstance(func, cst.Attribute):
            return updated
        method = func.attr.value
        if method in _RENAMED_METHODS and not original.args:
            new = _RENAMED_METHODS[method]
            self.info(original, "CH040", f"`{method}()` is `{new}()` since Chainer 2 (gradients become None, "
                      "not zero arrays)")
            return updated.with_changes(func=func.with_changes(attr=cst.Name(new)))
        optimizer = code(func.value)
        if method == "zero_grads" and not original.args:
            target = self._setups.get(optimizer)
            receiver = code(target[2]) if target is not None and _is_plain(target[2]) else f"{optimizer}.target"
            self.info(original, "CH041", f"`{optimizer}.zero_grads()` was removed in Chainer 2; "
                      f"`{receiver}.cleargrads()` clears the same gradients")
            return cst.parse_expression(f"{receiver}.cleargrads()")
        if method == "compute_grads_norm" and not original.args:
            # v1: numpy.sqrt of the float sum of each gradient's squared norm; a gradient Chainer 5 left
            # None (a parameter the loss did not reach) was a zero array in v1
            numpy = self.need_import("numpy")
            norm = (f"{numpy}.sqrt(sum(float(p.grad.ravel().dot(p.grad.ravel())) for p in {optimizer}.target.params() "
                    "if p.grad is not None))")
            self.info(original, "CH043", f"`{optimizer}.compute_grads_norm()` was removed in Chainer 2; "
                      "the same norm is computed over the target's gradients")
            return cst.parse_expression(norm)
        if method in HOOKS and len(original.args) == 1 and original.args[0].keyword is None:
            self._hook(original, optimizer, method)
        return updated

    def _hook(self, call: cst.Call, optimizer: str, method: str) -> None:
        statement = self.statement
        argument = call.args[0].value
        setup = self._setups.get(optimizer)
        problem = None
        if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 and
                isinstance(statement.body[0], cst.Expr) and statement.body[0].value is call):
            problem = "its result is used"
        elif setup is None:
            problem = f"no `{optimizer}.setup(...)` in this file"
        elif not _is_plain(argument) and not isinstance(argument, (cst.Integer, cst.Float)):
            problem = "its argument may change between iterations"
        elif not any(block is setup[1] for block in self.ancestors(statement)):
            problem = f"`{optimizer}.setup(...)` is in another scope"
        elif self._conditional(statement) and not self._precedes_the_only_update(statement, optimizer):
            problem = "it is called conditionally"
        elif (optimizer, method) in self._hooked:
            problem = "it is called in more than one place"
        if problem is not None:
            self.todo(call, "CH042", f"`{optimizer}.{method}(...)` was removed in Chainer 2 and {problem}; add "
                      f"`{optimizer}.add_hook({HOOKS[method]}(...))` once after setup and delete the call")
            return
        self._hooked.add((optimizer, method))
        hook = f"{optimizer}.add_hook({self.spell(HOOKS[method])}({code(argument)}))\n"
        self.insert_after(setup[0], [cst.parse_statement(hook)])
        self.remove(statement)
        self.info(call, "CH042", f"`{optimizer}.{method}({code(argument)})` every iteration became "
                  f"`{hook.strip()}` after `{optimizer}.setup(...)`")

    def _precedes_the_only_update(self, statement: cst.CSTNode, optimizer: str) -> bool:
        """Whether the file's one ``<optimizer>.update()`` follows the call in its block (truncated
        BPTT: ``if i % bprop_len == 0: ... clip_grads(5); update()``): the hook runs at every update
        too, so the condition makes no difference."""
        if len(re.findall(rf"(?<![\w.]){re.escape(optimizer)}\.update\(", self.ctx.source)) != 1:
            return False
        siblings = list(getattr(self.parent(statement), "body", ()))
        later = siblings[siblings.index(statement) + 1:] if statement in siblings else []
        return any(isinstance(s, cst.SimpleStatementLine) and len(s.body) == 1 and isinstance(s.body[0], cst.Expr)
                   and code(s.body[0].value) == f"{optimizer}.update()" for s in later)

    def _conditional(self, statement: cst.CSTNode) -> bool:
        for node in self.ancestors(statement):
            if isinstance(node, (cst.For, cst.While, cst.FunctionDef, cst.Module)):
                return False
            if isinstance(node, (cst.If, cst.Try, cst.Else)):
                return True
        return False


def _is_plain(node: cst.BaseExpression) -> bool:
    """A name or attribute chain: cheap to evaluate twice and not computed per iteration."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, cst.Name)
