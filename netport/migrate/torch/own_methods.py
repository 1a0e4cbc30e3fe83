"""PT120: which calls of a Chainer method name call the program's own method instead (shared by the passes that
convert such names: the residual sweep, and the link API conversions of modules.py)."""

from __future__ import annotations

import ast

from netport.migrate.imports import import_map, qualified_name

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


class OwnMethods:
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
