"""PT099: after the torch rules, every remaining use of Chainer is marked for manual work."""

from __future__ import annotations

import libcst as cst

from netport.migrate.passes import RulePass, code, is_dotted
from netport.migrate.registry import rule_pass
from netport.migrate.rules import Rule, register
from netport.migrate.torch.modules import _NO_TORCH_LINKS as NO_TORCH_LINKS
from netport.migrate.torch.own_methods import OwnMethods

register(Rule(
    "PT099", "residual sweep: a remaining use of Chainer in code migrated to torch",
    before="import chainer.functions as F\ngrid = F.spatial_transformer_grid(theta, (5, 5))\n",
    after="import chainer.functions as F\ngrid = F.spatial_transformer_grid(theta, (5, 5))  # netport: TODO(PT099): "
          "`chainer.functions.spatial_transformer_grid` has no automatic torch conversion yet; rewrite this use by "
          "hand\n",
    target="torch",
    noop=("import torch\n# was chainer.functions.softmax(x)\ny = torch.softmax(x, dim=1)\n",
          '"""A chainer model ported to torch: chainer.links.Linear is nn.Linear."""\nfrom torch import nn\n'
          "fc = nn.Linear(3, 2)\n"),
))

register(Rule(
    "PT120", "a Chainer method name called on an object of the program's own class that defines that method stays",
    before="import chainer\n\n\nclass Agent(chainer.Link):\n    def act(self, x):\n        return x\n\n"
           "    def unchain_backward(self):\n        pass\n\n\ndef run(agent, x):\n    agent.act(x)\n"
           "    agent.unchain_backward()\n",
    after="from torch import nn\n\n\nclass Agent(nn.Module):\n    def act(self, x):\n        return x\n\n"
          "    def unchain_backward(self):\n        pass\n\n\ndef run(agent, x):\n    agent.act(x)\n"
          "    agent.unchain_backward()\n",
    target="torch",
    noop=("# ported from chainer\nclass Agent:\n    def unchain_backward(self):\n        pass\n\n\n"
          "agent = Agent()\nagent.unchain_backward()\n",),
))


# Methods of Chainer links, optimizers and variables that torch objects do not have; called on
# objects whose type the rewriter cannot see, so they are matched by name. (`update` is matched only
# on receivers that were `setup(...)`, as dicts have an `update` too.)
CHAINER_METHODS = {"setup", "cleargrads", "zerograds", "to_gpu", "to_cpu", "add_hook", "namedlinks",
                   "namedparams", "copyparams", "copydata", "addgrads", "use_cleargrads", "new_epoch", "add_persistent",
                   "register_persistent", "disable_update", "enable_update", "unchain_backward", "to_device"}

# What replaces the Chainer names and methods left most often in real code, said at the line.
HINTS = {
    "unchain_backward": "torch cannot cut the graph behind a tensor in place: after backward(), detach what is "
                        "carried to the next step (a recurrent state: `h = h.detach()`, or `h.detach_()`)",
    "chainer.computational_graph.build_computational_graph": "torch has no graph dump of its own: draw it with "
                                                             "torchviz's make_dot(loss), or drop the dump",
    "chainer.Variable": "a Variable is a tensor in torch (`torch.Tensor`; one that needs gradients has "
                        "requires_grad), and an array can be a tensor too: decide what the check asked",
    "chainer.Function": "write it as a torch.autograd.Function (static forward(ctx, ...)/backward(ctx, ...) on "
                        "tensors), or as tensor expressions that autograd differentiates",
}


@rule_pass("torch.residual", 10)
class TorchResidual(RulePass):
    def visit_Module(self, node: cst.Module) -> None:
        super().visit_Module(node)
        self._optimizers: set[str] = set()
        self._own = OwnMethods(self.ctx.syntax_tree(), self.project)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or self.qualified(func) is not None:
            return
        method, receiver = func.attr.value, code(func.value)
        if method == "setup":
            self._optimizers.add(receiver)
        if any(f".{method}(" in marker for marker in self.existing_markers()):
            return  # a torch rule marked this call with what to do
        if method in CHAINER_METHODS and is_dotted(func.value):
            owner = self._own.owner(method, receiver, self._enclosing_class(node))
            if owner is not None:
                if self._own.ported_here(method):  # (code ported before is not reported)
                        self.info(node, "PT120", f"`{receiver}.{method}()` calls the program's own method ({owner}), "
                              "not Chainer's: it stays")
                return
        if method in CHAINER_METHODS or (method == "update" and receiver in self._optimizers):
            self.todo(node, "PT099", f"`.{method}()` is a Chainer method with no automatic torch conversion yet; " +
                      HINTS.get(method, "rewrite this call by hand"))

    def _enclosing_class(self, node: cst.CSTNode) -> str | None:
        return next((a.name.value for a in self.ancestors(node) if isinstance(a, cst.ClassDef)), None)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        target = node.target
        # (self.train of a module class was renamed; of any other class it hides nothing)
        if isinstance(target, cst.Attribute) and target.attr.value == "train" and code(target.value) != "self" and \
                self.qualified(target.value) is None and \
                not any("(PT135)" in marker for marker in self.existing_markers()):  # (PT135 said what to set)
            receiver = code(target.value)
            self.todo(node, "PT099", f"`{receiver}.train = ...` would hide nn.Module.train() if `{receiver}` is a "
                      f"module: call `{receiver}.eval()`/`{receiver}.train()` (the module's mode) or rename the "
                      "attribute")

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        return not self._check(node)

    def visit_Name(self, node: cst.Name) -> None:
        parent = self.parent(node)
        if isinstance(parent, cst.Attribute) and parent.attr is node:
            return  # `torch.cuda`, `model.cuda`: an attribute name, not the imported `cuda`
        if isinstance(parent, (cst.Arg, cst.Param)) and (parent.keyword if isinstance(parent, cst.Arg)
                                                         else parent.name) is node:
            return  # `dropout(x, training=...)`, `def f(training)`: a keyword, not the imported `training`
        self._check(node)

    def _check(self, node) -> bool:
        qualified = self.qualified(node) if is_dotted(node) else None
        if qualified is None or not (qualified == "chainer" or qualified.startswith("chainer.")):
            return False
        # a statement some torch rule already marked is flagged for manual work as a whole (the statement
        # itself: a marker on an `if` or a `def` says nothing of the Chainer names in its body)
        if not any(f"`{qualified}`" in todo for todo in self.edits().todos) and \
                not any("TODO(PT" in marker for marker in self.existing_markers(innermost=True)):
            link = next((name for name in NO_TORCH_LINKS if qualified == name or qualified.startswith(name + ".")),
                        None)
            self.todo(node, "PT099", f"`{qualified}` has no torch counterpart: {NO_TORCH_LINKS[link]}" if link else
                      f"`{qualified}` has no automatic torch conversion yet; " +
                      HINTS.get(qualified, "rewrite this use by hand"))
        return True
