"""PT099: after the torch rules, every remaining use of Chainer is marked for manual work."""

from __future__ import annotations

import ast

import libcst as cst

from netport.migrate.imports import import_map, qualified_name
from netport.migrate.passes import RulePass, code, is_dotted
from netport.migrate.registry import rule_pass
from netport.migrate.rules import Rule, register
from netport.migrate.torch.modules import _NO_TORCH_LINKS as NO_TORCH_LINKS

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

# Public methods and attributes of Chainer 1.24's Variable, Link, Chain, ChainList, optimizers and links: a receiver
# that is called with any other method of the program's own classes is an object of one of those classes (PT120).
CHAINER_OBJECT_NAMES = frozenset({
    "accumulate_grads", "add_hook", "add_link", "add_param", "add_persistent", "add_uninitialized_param", "addgrad",
    "addgrads", "argmax", "backward", "call_hooks", "children", "cleargrad", "cleargrads", "clip_grads",
    "compute_grads_norm", "copy", "copydata", "copyparams", "create_huffman_tree", "creator", "data", "debug_print",
    "dtype", "extract", "grad", "has_uninitialized_params", "init_state", "init_state_cpu", "init_state_gpu", "label",
    "links", "name", "namedlinks", "namedparams", "ndim", "new_epoch", "params", "predict", "prepare", "rank",
    "reallocate_cleared_grads", "remove_hook", "reset_state", "reshape", "serialize", "set_creator", "set_state",
    "setup", "shape", "size", "start_finetuning", "target", "to_cpu", "to_gpu", "transpose", "unchain_backward",
    "update", "update_one", "update_one_cpu", "update_one_gpu", "use_cleargrads", "volatile", "weight_decay", "xp",
    "zero_grads", "zerograd", "zerograds"})
# Methods a Chainer 1.24 link has itself (ChainList's): a Chainer base listed before the program's base gives them
LINK_OWN_METHODS = frozenset({"add_persistent", "addgrads", "cleargrads", "copyparams", "namedlinks", "namedparams",
                              "to_cpu", "to_gpu", "zerograds"})
_CONTAINER_METHODS = frozenset(name for kind in (list, dict, set, tuple, str) for name in dir(kind))

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
        self._own = _OwnMethods(self.ctx.syntax_tree(), self.project)

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
                self.qualified(target.value) is None:  # (chainer.config.train is marked as a Chainer name)
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
        # a statement some torch rule already marked is flagged for manual work as a whole
        if not any(f"`{qualified}`" in todo for todo in self.edits().todos) and \
                not any("TODO(PT" in marker for marker in self.existing_markers()):
            link = next((name for name in NO_TORCH_LINKS if qualified == name or qualified.startswith(name + ".")),
                        None)
            self.todo(node, "PT099", f"`{qualified}` has no torch counterpart: {NO_TORCH_LINKS[link]}" if link else
                      f"`{qualified}` has no automatic torch conversion yet; " +
                      HINTS.get(qualified, "rewrite this use by hand"))
        return True


class _OwnMethods:
    """Which calls of a Chainer method name call the program's own method instead (PT120).

    ``r.m()`` is the program's when some classes of the program have ``m`` (define it, or inherit it from a class of
    the program before a Chainer link that has it) and ``r`` is provably an object of one of them:
    ``self`` in such a class; a name the file binds only to calls of such classes; or a receiver that the file
    also calls with a method that no Chainer object has and every class of the program having it also has ``m``
    (``self.model.pi_and_v(s)`` where only A3CModel and its subclasses define pi_and_v). A receiver the file
    binds to a Chainer call, or one without such evidence, is not: its call stays marked (PT099)."""

    def __init__(self, tree: ast.Module | None, project) -> None:
        self.methods: dict[str, set[str]] = {c: set(m) for c, m in project.class_methods.items()}
        # (the facts, gathered before any rewrite, name the Chainer bases that the file's tree now spells torch.nn)
        self.bases: dict[str, set[str]] = {c: set(b) for c, b in project.class_bases.items()}
        self.calls: dict[str, set[str]] = {}  # receiver -> the methods the file calls on it
        self.bound: dict[str, set[str | None]] = {}  # receiver -> the callees of what it is assigned (None: other)
        self.chain_classes = project.chain_classes  # (facts of the files before any rewrite)
        if tree is None:
            return
        aliases = import_map(tree)
        for item in ast.walk(tree):
            if isinstance(item, ast.ClassDef):  # the file's own classes, in their order of bases
                self.methods.setdefault(item.name, set()).update(
                    f.name for f in item.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)))
                self.bases.setdefault(item.name, set()).update(qualified_name(b, aliases) or ast.unparse(b)
                                                               for b in item.bases)
            elif isinstance(item, ast.Call) and isinstance(item.func, ast.Attribute):
                self.calls.setdefault(ast.unparse(item.func.value), set()).add(item.func.attr)
            elif isinstance(item, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.withitem)):
                targets = item.targets if isinstance(item, ast.Assign) else \
                    [item.optional_vars if isinstance(item, ast.withitem) else item.target]
                value = getattr(item, "value", None) if isinstance(item, (ast.Assign, ast.AnnAssign)) else None
                callee = None
                if isinstance(value, ast.Call):
                    callee = qualified_name(value.func, aliases) or \
                        (ast.unparse(value.func) if isinstance(value.func, (ast.Name, ast.Attribute)) else None)
                for target in targets:
                    if isinstance(target, (ast.Name, ast.Attribute)):
                        self.bound.setdefault(ast.unparse(target), set()).add(callee)

    def has(self, cls: str, method: str, seen: frozenset = frozenset()) -> bool:
        if method in self.methods.get(cls, ()):
            return True
        bases = self.bases.get(cls, ())
        if method in LINK_OWN_METHODS and any(base.startswith(("chainer.", "torch.")) for base in bases):
            return False  # a link's own method, which a Chainer base may give first (the order is not checked)
        for base in bases:
            local = base.rsplit(".", 1)[-1]
            if local in self.methods and local not in seen and self.has(local, method, seen | {cls}):
                return True
        return False

    def ported_here(self, method: str) -> bool:
        """Whether a class having ``method`` was a Chainer link in the files as read (being migrated now)."""
        return any(self.has(cls, method) for cls in self.chain_classes)

    def owner(self, method: str, receiver: str, enclosing: str | None) -> str | None:
        """The program's class whose ``method`` ``receiver.method()`` provably calls, or None."""
        having = {cls for cls in self.methods if self.has(cls, method)}
        if not having:
            return None
        if receiver == "self":
            return enclosing if enclosing in having else None
        bound = self.bound.get(receiver, set())
        if any(callee is not None and callee.startswith(("chainer.", "torch.")) for callee in bound):
            return None  # the file makes it a Chainer object (a Variable, a link) somewhere
        classes = {callee.rsplit(".", 1)[-1] if callee else None for callee in bound}
        if classes and classes <= having:
            return ", ".join(sorted(classes))  # `agent = Agent(...)`, every time
        for witness in sorted(self.calls.get(receiver, ())):
            if witness.startswith("_") or witness in CHAINER_OBJECT_NAMES or witness in _CONTAINER_METHODS:
                continue
            holders = {cls for cls in self.methods if self.has(cls, witness)}
            if holders and holders <= having:
                return f"`{receiver}` is called with `{witness}`, which only {', '.join(sorted(holders))} define"
        return None
