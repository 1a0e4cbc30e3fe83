"""PT075-PT076, PT125: Chainer's truncated backpropagation through time, ``loss.unchain_backward()``, on torch.

What Chainer 1.24 does (variable.py, Variable.unchain_backward; function.py, Function.unchain): every function in
the graph behind ``loss`` drops its inputs and stops being the creator of its outputs, so every variable the loss
was computed from becomes a root, in place, wherever it is held; a later backward() stops there. torch cannot cut
a graph in place. Its form of the same is to detach, at that point, every tensor that the next steps read from
this one, which netport writes where it can see all of them:

* the state (h, c) of the LSTM modules it writes for L.LSTM (their ``detach_state()``), in the models whose forward
  passes computed the loss, when nothing else in those models keeps tensors between calls: their classes (in this
  file or a module of the program beside it) set no attribute outside __init__ and hold no other stateful link.
  (Chainer's lstm function creates c and h together, so the cut behind h is the cut behind c as well.)
* the variables that hold the graph and are read again before they are assigned (the v1 examples' ``state`` dict
  of h/c): ``h = h.detach()``, a dict of tensors rebuilt with detached values.

* a variable cut right after the expression that built its graph from parameters and data alone (PT125,
  FreshGraph): ``v = v.detach()``, nothing else holding that graph.

Anything else that may carry the graph on (a module attribute netport did not write, a list, an object whose code
netport cannot see, a loss computed where netport cannot look, a variable whose graph does not reach the loss,
which Chainer cut only where it met the loss's) keeps the call, marked with what to detach.

The analysis reads the Chainer code (this pass runs first among the torch passes) with Python's own parser: which
values may hold the graph and where it came from (the models whose forward passes made it, or calls netport
cannot see into), followed through assignments, tuples, dicts and the program's own functions of this file.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass, field, replace

import libcst as cst

from netport.migrate.imports import import_map, qualified_name
from netport.migrate.passes import RulePass
from netport.migrate.project import ProgramClasses
from netport.migrate.registry import rule_pass
from netport.migrate.rules import Rule, register
from netport.migrate.safety import TODO_PREFIX
from netport.migrate.torch.modules import LSTM_ARGUMENTS, LSTM_CLASS, LSTM_INIT, lstm_problem

DETACH_MODULES = ("for {module} in {model}.modules():\n    if hasattr({module}, 'detach_state'):  # the LSTM modules "
                  "netport wrote for L.LSTM\n        {module}.detach_state()\n")

register(
    Rule("PT075", "loss.unchain_backward() (truncated BPTT) detaches what the next steps read: the state of the LSTM "
         "modules netport writes (detach_state()) and the loop's variables that hold the graph",
         before="import chainer\nimport chainer.functions as F\nimport chainer.links as L\n\n"
                "model = L.LSTM(3, 4)\nloss = 0\nfor i, x in enumerate(data):\n"
                "    loss += F.sum(model(chainer.Variable(x)))\n    if i % 3 == 2:\n"
                "        model.cleargrads()\n        loss.backward()\n        loss.unchain_backward()  # truncate\n"
                "        loss = 0\n",
         after="import math\nimport torch\nfrom torch import nn\n\n\n" + LSTM_CLASS.format(init=LSTM_INIT) +
               "\n\nmodel = LSTM(3, 4, forget_bias_init=0)\nloss = 0\nfor i, x in enumerate(data):\n"
               "    loss += torch.sum(model(torch.as_tensor(x)))\n    if i % 3 == 2:\n"
               "        model.zero_grad(set_to_none=False)\n        loss.backward()\n"
               "        for module in model.modules():  # truncate\n"
               "            if hasattr(module, 'detach_state'):  # the LSTM modules netport wrote for L.LSTM\n"
               "                module.detach_state()\n        loss = 0\n",
         target="torch",
         noop=("# ported from chainer\nfor module in model.modules():\n    if hasattr(module, 'detach_state'):\n"
               "        module.detach_state()\n",
               "# ported from chainer\nh = h.detach()\n")),
    Rule("PT076", "loss.unchain_backward() where netport cannot see everything that carries the graph to the next "
         "step is marked with what to detach",
         before="import chainer\n\nloss = 0\nfor x in data:\n    loss += agent.loss(chainer.Variable(x))\n"
                "    loss.backward()\n    loss.unchain_backward()\n    loss = 0\n",
         after="import torch\n\nloss = 0\nfor x in data:\n    loss += agent.loss(torch.as_tensor(x))\n"
               "    loss.backward()\n    loss.unchain_backward()  # netport: TODO(PT076): `loss.unchain_backward()` "
               "(truncated backpropagation): torch cannot cut the graph behind a tensor in place; after backward(), "
               "detach every tensor the next steps read from this one (a recurrent state: `h = h.detach()`; "
               "netport's LSTM modules: `detach_state()`). netport cannot see all of it here: `loss` is computed "
               "from what netport cannot follow (`agent.loss(...)`): detach what that keeps from this step\n"
               "    loss = 0\n",
         target="torch",
         noop=("# ported from chainer\nloss.backward()\nh = h.detach()\n",
               "# ported from chainer\nfrom mylib import graph\ngraph.unchain(loss)\n")),
)

register(
    Rule("PT125", "v.unchain_backward() right after `v = E`, E a graph built there from parameters and data alone "
         "(chainer.functions, operators, L.Parameter calls), becomes `v = v.detach()`: nothing else holds that graph",
         before="import chainer\nimport chainer.functions as F\nimport chainer.links as L\n\n\n"
                "class Net(chainer.Chain):\n    def __init__(self):\n"
                "        super(Net, self).__init__(l=L.Linear(3, 3))\n\n    def __call__(self, x, fixed=False):\n        w = F.tanh(self.l.W)\n        if fixed:\n"
                "            w.unchain_backward()\n        return F.matmul(x, w)\n",
         after="import math\nimport torch\nfrom torch import nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
               "        super(Net, self).__init__()\n        self.l = nn.Linear(3, 3)\n"
               "        nn.init.normal_(self.l.weight, std=1 / math.sqrt(3))\n        nn.init.zeros_(self.l.bias)\n\n"
               "    def forward(self, x, fixed=False):\n        w = torch.tanh(self.l.weight)\n        if fixed:\n"
               "            w = w.detach()\n        return torch.mm(x, w)\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\nw = torch.tanh(weight)\nw = w.detach()\n",
               "# ported from chainer\nfrom mylib import graph\nw = graph.build()\ngraph.unchain(w)\n")),
)

HEADLINE = ("`{name}.unchain_backward()` (truncated backpropagation): torch cannot cut the graph behind a tensor in "
            "place; after backward(), detach every tensor the next steps read from this one (a recurrent state: "
            "`h = h.detach()`; netport's LSTM modules: `detach_state()`). netport cannot see all of it here: ")

# Chainer's recurrent links that keep a state between calls (v1.24 and later); netport writes a module with
# detach_state() for L.LSTM alone.
STATEFUL_LINKS = {"chainer.links." + name for name in (
    "LSTM", "StatefulGRU", "StatefulPeepholeLSTM", "StatefulMGU", "StatefulZoneoutLSTM")}
CONTAINERS = {"chainer.Chain", "chainer.ChainList", "chainer.FunctionSet", "chainer.Sequential",
              "chainer.link.Chain", "chainer.link.ChainList", "chainer.function_set.FunctionSet",
              "chainer.sequential.Sequential"}
LINK_BASES = {"chainer.Chain", "chainer.ChainList", "chainer.Link", "chainer.link.Chain", "chainer.link.ChainList",
              "chainer.link.Link"}
VARIABLES = {"chainer.Variable", "chainer.variable.Variable"}  # a new leaf: no graph behind it
TUPLE_FUNCTIONS = {"lstm": 2, "slstm": 2}  # chainer.functions that return a tuple of variables
# Methods of links and chains that run no forward pass (copy: a new link, handled apart)
LINK_METHODS = {"cleargrads", "zerograds", "reset_state", "to_cpu", "to_gpu", "to_device", "params", "namedparams",
                "links", "namedlinks", "children", "serialize", "add_hook", "delete_hook", "disable_update",
                "enable_update", "copyparams", "addgrads", "register_persistent", "add_persistent", "add_param",
                "add_link", "init_scope", "use_cleargrads", "set_state"}
OPTIMIZER_METHODS = {"setup", "zero_grads", "cleargrads", "clip_grads", "weight_decay", "add_hook", "new_epoch",
                     "serialize", "use_cleargrads", "remove_hook", "accumulate_grads"}
TENSOR_VALUES = {"item", "tolist", "backward", "unchain_backward", "cleargrad", "zerograd", "unchain", "to_cpu"}
NO_GRAPH_ATTRIBUTES = {"data", "array", "shape", "ndim", "size", "dtype", "grad", "grad_var", "label", "name"}
MUTATORS = {"append", "extend", "insert", "add", "update", "setdefault", "appendleft", "extendleft", "__setitem__"}
# calls whose result holds no graph whatever their arguments, and modules whose functions compute on arrays
NO_GRAPH_CALLS = {"print", "len", "int", "float", "bool", "str", "repr", "range", "isinstance", "hasattr", "format",
                  "round", "open", "type", "id", "hash", "callable", "ord", "chr", "input", "xrange"}
ARRAY_MODULES = {"numpy", "math", "time", "random", "os", "sys", "json", "six", "cupy", "logging", "argparse",
                 "datetime", "pickle", "chainer.cuda.cupy", "chainer.backends.cuda.cupy", "chainer.cuda.to_cpu",
                 "chainer.backends.cuda.to_cpu"}
# chainer's data handling (datasets, iterators, converters, serializers, modes): no graph is kept by them
CHAINER_DATA = ("chainer.dataset", "chainer.datasets", "chainer.iterators", "chainer.serializers", "chainer.cuda",
                "chainer.backends", "chainer.using_config", "chainer.no_backprop_mode", "chainer.force_backprop_mode",
                "chainer.config", "chainer.global_config", "chainer.optimizer")


def _model_source(root) -> tuple:
    return ("model", root)


@dataclass(frozen=True)
class Value:
    """What netport knows of a value: where a graph in it may come from (("model", root): the forward pass of a
    model; ("unknown", text): a call of code netport cannot see; ("input", text): a value that came in, a parameter,
    a global nothing assigns, an element drawn from an iterator: data, unless some code made it otherwise), its kind
    (const, tensor, optional, dict, tuple, model, optimizer, module, callable, other, or none: no assignment seen
    yet), the models it is (kind model) or trains (kind optimizer), and a tuple's parts."""

    sources: frozenset = frozenset()
    kind: str = "none"
    roots: frozenset = frozenset()
    parts: tuple = ()

    @property
    def graph(self) -> frozenset:
        return frozenset(s for s in self.sources if s[0] == "model")


CONST = Value(kind="const")
NONE = Value()
_KIND_JOINS = {frozenset({"const", "tensor"}): "other", frozenset({"none_literal", "tensor"}): "optional",
               frozenset({"none_literal", "optional"}): "optional", frozenset({"tensor", "optional"}): "optional"}


def join(a: Value, b: Value) -> Value:
    if a.kind == "none":
        return b
    if b.kind == "none":
        return a
    kind, parts = a.kind, ()
    if a.kind == "tuple" and b.kind == "tuple" and len(a.parts) == len(b.parts):
        parts = tuple(join(x, y) for x, y in zip(a.parts, b.parts))
    elif a.kind != b.kind:
        kind = _KIND_JOINS.get(frozenset({a.kind, b.kind}), "other")
    return Value(a.sources | b.sources, kind, a.roots | b.roots, parts)


def drawn(iterated: Value, node: ast.expr) -> frozenset:
    """The sources of an element an iterator gives: the graph of what it iterates, and otherwise data (an iterator
    of the program's, say a dataset's, is not taken for code that runs a model)."""
    return iterated.graph | (frozenset({("input", f"`{ast.unparse(node)}`")}) if iterated.sources - iterated.graph
                             else frozenset())


def targets_of(target: ast.expr):
    """The plain names a target binds, with the index of each in a tuple target (None: the whole value)."""
    if isinstance(target, ast.Name):
        yield target.id, None
    elif isinstance(target, (ast.Tuple, ast.List)):
        for k, element in enumerate(target.elts):
            if isinstance(element, ast.Name):
                yield element.id, (k, len(target.elts))
            else:
                for name, _ in targets_of(element.value if isinstance(element, ast.Starred) else element):
                    yield name, "other"


def root_name(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def local_statements(body):
    """The statements of a block and of the blocks in it, not those of nested functions and classes."""
    for statement in body:
        yield statement
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            for child in getattr(statement, name, ()):
                if isinstance(child, ast.stmt):
                    yield from local_statements([child])
                else:  # an except handler, a match case
                    yield from local_statements(child.body)


def expressions_of(statement: ast.stmt):
    """The expressions a statement evaluates itself (not those of the blocks it holds)."""
    if isinstance(statement, ast.ClassDef):
        return [*statement.decorator_list, *statement.bases]
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return [*statement.decorator_list, *statement.args.defaults, *(d for d in statement.args.kw_defaults if d)]
    if isinstance(statement, (ast.For, ast.AsyncFor)):
        return [statement.iter]
    if isinstance(statement, (ast.While, ast.If)):
        return [statement.test]
    if isinstance(statement, (ast.With, ast.AsyncWith)):
        return [item.context_expr for item in statement.items]
    if isinstance(statement, ast.Try) or (hasattr(ast, "TryStar") and isinstance(statement, ast.TryStar)):
        return [h.type for h in statement.handlers if h.type is not None]
    return [node for node in ast.iter_child_nodes(statement) if isinstance(node, ast.expr)]


def reads(node: ast.AST, name: str) -> bool:
    """Whether the name is read in a way that can take its graph on (`h.data`, `loss.item()` cannot)."""
    values = {id(n.value) for n in ast.walk(node) if isinstance(n, ast.Attribute) and
              n.attr in NO_GRAPH_ATTRIBUTES | {"item", "tolist"}}
    return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load) and id(n) not in values
               for n in ast.walk(node))


class Scope:
    """The assignments of one function (or the module) and what they give each name, to a fixpoint."""

    def __init__(self, analysis: "Analysis", node, parent: "Scope | None", arguments: dict[str, Value] | None = None):
        self.analysis, self.node, self.parent = analysis, node, parent
        self.id = id(node)
        body = node.body
        self.statements = list(local_statements(body))
        self.params: dict[str, Value] = {}
        self.declared: set[str] = set()  # global / nonlocal
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            arguments = arguments or {}
            a = node.args
            for p in [*getattr(a, "posonlyargs", []), *a.args, *a.kwonlyargs]:
                self.params[p.arg] = arguments.get(p.arg, Value(frozenset({("input", f"the parameter `{p.arg}`")}),
                                                                "other"))
            for p in (a.vararg, a.kwarg):
                if p is not None:
                    self.params[p.arg] = Value(frozenset({("input", f"the parameter `{p.arg}`")}), "other")
        for statement in self.statements:
            if isinstance(statement, (ast.Global, ast.Nonlocal)):
                self.declared.update(statement.names)
        self.functions = {s.name: s for s in self.statements if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
        self.classes = {s.name: s for s in self.statements if isinstance(s, ast.ClassDef)}
        self.bound = self._bound_names()
        self.values: dict[str, Value] = dict(self.params)
        self.setups: dict[str, list[ast.expr]] = {}  # optimizer name -> what its setup() was given
        for statement in self.statements:
            for call in (n for e in expressions_of(statement) for n in ast.walk(e) if isinstance(n, ast.Call)):
                f = call.func
                if isinstance(f, ast.Attribute) and f.attr == "setup" and isinstance(f.value, ast.Name) and call.args:
                    self.setups.setdefault(f.value.id, []).append(call.args[0])

    def _bound_names(self) -> set[str]:
        bound = set(self.params) | set(self.functions) | set(self.classes)
        for statement in self.statements:
            for sub in (n for e in expressions_of(statement) for n in ast.walk(e)):
                if isinstance(sub, ast.NamedExpr) and isinstance(sub.target, ast.Name):
                    bound.add(sub.target.id)
            for target in self._targets(statement):
                bound.update(name for name, _ in targets_of(target))
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                bound.update((a.asname or a.name).split(".")[0] for a in statement.names)
        return bound - self.declared

    @staticmethod
    def _targets(statement):
        if isinstance(statement, ast.Assign):
            return statement.targets
        if isinstance(statement, (ast.AugAssign, ast.AnnAssign)):
            return [statement.target]
        if isinstance(statement, (ast.For, ast.AsyncFor)):
            return [statement.target]
        if isinstance(statement, (ast.With, ast.AsyncWith)):
            return [item.optional_vars for item in statement.items if item.optional_vars is not None]
        return []

    # --- the fixpoint ----------------------------------------------------------------------------

    def solve(self) -> None:
        for _ in range(12):
            if self.parent is None:  # what the functions return depends on the module's names
                self.analysis._function_results.clear()
            before = dict(self.values)
            for statement in self.statements:
                self._assign(statement)
            if self.values == before:
                return

    def _bind(self, name: str, value: Value) -> None:
        if name in self.declared:  # a global's value: the module's
            scope = self.analysis.module_scope if name not in self.analysis.nonlocal_names(self) else None
            if scope is not None and scope is not self:
                scope.values[name] = join(scope.values.get(name, NONE), value)
            return
        self.values[name] = join(self.values.get(name, NONE), value)

    def _assign(self, statement) -> None:
        ev = self.evaluate
        if isinstance(statement, ast.Assign):
            value = ev(statement.value)
            for target in statement.targets:
                self._bind_target(target, value)
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            self._bind_target(statement.target, ev(statement.value))
        elif isinstance(statement, ast.AugAssign):
            value = ev(statement.value)
            if isinstance(statement.target, ast.Name):
                current = self.lookup(statement.target.id)
                kind = current.kind if current.kind == value.kind else (
                    "tensor" if {current.kind, value.kind} == {"const", "tensor"} else "other")
                self._bind(statement.target.id, Value(value.sources, kind))
            else:
                self._bind_target(statement.target, value)
        elif isinstance(statement, (ast.For, ast.AsyncFor)):
            iterated = ev(statement.iter)
            element = Value(drawn(iterated, statement.iter), "const" if iterated.kind == "const" else "other")
            self._bind_target(statement.target, element)
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            for item in statement.items:
                if item.optional_vars is not None:
                    self._bind_target(item.optional_vars, Value(ev(item.context_expr).sources, "other"))
        elif isinstance(statement, (ast.Import, ast.ImportFrom)):
            for alias in statement.names:
                self._bind((alias.asname or alias.name).split(".")[0], Value(kind="module"))
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self._bind(statement.name, Value(kind="callable"))
        elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            call = statement.value
            f = call.func
            if isinstance(f, ast.Attribute) and f.attr in MUTATORS and isinstance(f.value, ast.Name) and \
                    self.lookup(f.value.id).kind not in ("model", "optimizer"):
                added = [ev(a.value if isinstance(a, ast.Starred) else a) for a in call.args] + \
                        [ev(k.value) for k in call.keywords]
                sources = frozenset().union(*(a.sources for a in added)) if added else frozenset()
                self._bind(f.value.id, Value(sources, "other"))
            ev(call)
        else:
            for expression in expressions_of(statement):
                ev(expression)
        for expression in expressions_of(statement):  # walrus targets
            for sub in ast.walk(expression):
                if isinstance(sub, ast.NamedExpr) and isinstance(sub.target, ast.Name):
                    self._bind(sub.target.id, ev(sub.value))

    def _bind_target(self, target: ast.expr, value: Value) -> None:
        if isinstance(target, ast.Name):
            self._bind(target.id, value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            count = len(target.elts)
            for k, element in enumerate(target.elts):
                if value.kind == "tuple" and len(value.parts) == count and not isinstance(element, ast.Starred):
                    part = value.parts[k]
                else:
                    part = Value(value.sources, "const" if value.kind == "const" else "other")
                self._bind_target(element.value if isinstance(element, ast.Starred) else element, part)
        elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            name = target.value.id  # d[k] = v: the dict keeps its kind when v is a tensor
            current = self.lookup(name)
            kind = "dict" if current.kind == "dict" and value.kind == "tensor" else "other"
            if current.kind not in ("model", "optimizer"):
                self._bind(name, Value(value.sources, kind))
        elif isinstance(target, (ast.Attribute, ast.Subscript)):
            self.analysis.store(self, target, value)

    # --- values of expressions -------------------------------------------------------------------

    def lookup(self, name: str) -> Value:
        if name in self.bound:
            value = self.values.get(name, NONE)
            if value.kind == "model" and not value.roots:  # built here: the name is the model's
                return replace(value, roots=frozenset({(self.id, name)}))
            if value.kind == "optimizer":
                targets = frozenset(r for e in self.setups.get(name, ()) for r in self.evaluate(e).roots)
                return replace(value, roots=targets)
            return value
        if self.parent is not None:
            return self.parent.lookup(name)
        if hasattr(builtins, name):
            return Value(kind="callable")
        return Value(frozenset({("input", f"`{name}`")}), "other")

    def qualified(self, node: ast.expr) -> str | None:
        root = root_name(node) if isinstance(node, (ast.Name, ast.Attribute)) else None
        if root is None or self._binds_locally(root):
            return None
        return qualified_name(node, self.analysis.imports)

    def _binds_locally(self, name: str) -> bool:
        scope = self
        while scope is not None:
            if name in scope.bound and not (scope.parent is None and name in self.analysis.imports):
                return True
            scope = scope.parent
        return False

    def evaluate(self, node: ast.expr | None) -> Value:
        if node is None:
            return CONST
        if isinstance(node, ast.Constant):
            return Value(kind="none_literal") if node.value is None else CONST
        if isinstance(node, ast.Name):
            qualified = self.qualified(node)
            if qualified is not None:
                return Value(kind="module" if qualified in ARRAY_MODULES or "." not in qualified else "callable")
            return self.lookup(node.id)
        if isinstance(node, ast.Attribute):
            if node.attr in NO_GRAPH_ATTRIBUTES:
                self.evaluate(node.value)
                return CONST
            qualified = self.qualified(node)
            if qualified is not None:
                return Value(kind="module" if qualified in ARRAY_MODULES else "callable")
            base = self.evaluate(node.value)
            if base.kind == "optimizer" and node.attr == "target":
                return Value(kind="model", roots=base.roots) if base.roots else \
                    Value(frozenset({("unknown", "`" + ast.unparse(node) + "`")}), "other")
            if base.kind == "model":
                return Value(kind="model", roots=base.roots)  # a part of the model
            if base.kind == "module":
                return Value(kind="module")
            return Value(base.sources, "const" if base.kind == "const" else "other")
        if isinstance(node, ast.Call):
            return self.analysis.call(self, node)
        if isinstance(node, ast.Subscript):
            base, _ = self.evaluate(node.value), self.evaluate(node.slice)
            kind = {"dict": "tensor", "tensor": "tensor", "const": "const", "module": "const"}.get(base.kind, "other")
            if base.kind == "tuple" and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, int) \
                    and -len(base.parts) <= node.slice.value < len(base.parts):
                return base.parts[node.slice.value]
            return Value(base.sources, kind, base.roots if base.kind == "model" else frozenset())
        if isinstance(node, ast.BinOp):
            left, right = self.evaluate(node.left), self.evaluate(node.right)
            kinds = {left.kind, right.kind}
            kind = "tensor" if "tensor" in kinds and kinds <= {"tensor", "const"} else (
                "const" if kinds == {"const"} else "other")
            return Value(left.sources | right.sources, kind)
        if isinstance(node, ast.UnaryOp):
            operand = self.evaluate(node.operand)
            return CONST if isinstance(node.op, ast.Not) else Value(operand.sources, operand.kind
                                                                    if operand.kind in ("tensor", "const") else "other")
        if isinstance(node, ast.Compare):
            for operand in [node.left, *node.comparators]:
                self.evaluate(operand)
            return CONST
        if isinstance(node, (ast.BoolOp, ast.IfExp)):
            operands = node.values if isinstance(node, ast.BoolOp) else [node.body, node.orelse]
            if isinstance(node, ast.IfExp):
                self.evaluate(node.test)
            value = NONE
            for operand in operands:
                value = join(value, self.evaluate(operand))
            return value
        if isinstance(node, ast.Tuple):
            parts = tuple(self.evaluate(e) for e in node.elts)
            if any(isinstance(e, ast.Starred) for e in node.elts):
                return Value(frozenset().union(*(p.sources for p in parts)), "other")
            return Value(frozenset().union(*(p.sources for p in parts)) if parts else frozenset(), "tuple",
                         parts=parts)
        if isinstance(node, (ast.List, ast.Set)):
            parts = [self.evaluate(e) for e in node.elts]
            return Value(frozenset().union(*(p.sources for p in parts)) if parts else frozenset(), "other")
        if isinstance(node, ast.Dict):
            keys = [self.evaluate(k) for k in node.keys if k is not None]
            values = [self.evaluate(v) for v in node.values]
            sources = frozenset().union(*(v.sources for v in values + keys)) if values else frozenset()
            return Value(sources, "dict" if values and None not in node.keys and
                         all(v.kind == "tensor" for v in values) else "other")
        if isinstance(node, (ast.DictComp, ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            inner = Comprehension(self, node)
            if isinstance(node, ast.DictComp):
                value = inner.evaluate(node.value)
                inner.evaluate(node.key)
                return Value(value.sources | inner.sources, "dict" if value.kind == "tensor" else "other")
            element = inner.evaluate(node.elt)
            return Value(element.sources | inner.sources, "other")
        if isinstance(node, ast.Starred):
            return self.evaluate(node.value)
        if isinstance(node, ast.NamedExpr):
            return self.evaluate(node.value)
        if isinstance(node, ast.Lambda):
            return Value(kind="callable")
        if isinstance(node, (ast.JoinedStr, ast.FormattedValue)):
            for sub in ast.iter_child_nodes(node):
                if isinstance(sub, ast.expr):
                    self.evaluate(sub)
            return CONST
        if isinstance(node, ast.Slice):
            for sub in (node.lower, node.upper, node.step):
                self.evaluate(sub)
            return CONST
        return Value(frozenset({("unknown", "`" + ast.unparse(node) + "`")}), "other")


class Comprehension(Scope):
    """A comprehension's own names (its targets: elements of what it iterates), read in the scope around it."""

    def __init__(self, outer: Scope, node):  # (no Scope.__init__: a comprehension has no statements)
        self.analysis, self.node, self.parent, self.id = outer.analysis, node, outer, id(node)
        self.params, self.declared, self.functions, self.classes, self.setups = {}, set(), {}, {}, {}
        self.values, self.sources = {}, frozenset()
        self.bound = {name for g in node.generators for name, _ in targets_of(g.target)}
        for generator in node.generators:
            iterated = self.evaluate(generator.iter)
            self.sources |= iterated.sources
            for name, _ in targets_of(generator.target):
                self.values[name] = Value(drawn(iterated, generator.iter),
                                          "const" if iterated.kind == "const" else "other")
            for condition in generator.ifs:
                self.evaluate(condition)


@dataclass
class Plan:
    statements: list[str] = field(default_factory=list)  # code for the cut (empty: nothing is carried)
    notes: list[str] = field(default_factory=list)  # what they detach, for the report
    problems: list[str] = field(default_factory=list)  # why netport cannot convert it (a marker)


class Analysis:
    """The program as far as netport follows it from one file: its scopes, the models its names hold and the
    classes of those models (in this file or in the program's modules beside it)."""

    def __init__(self, tree: ast.Module, path: str, source: str, project):
        self.tree, self.path, self.source, self.project = tree, path, source, project
        self.imports = import_map(tree)
        self.parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
        self.scopes: dict[int, Scope] = {}
        self.recording: list | None = None  # while the region of a cut is read: [sinks, forward passes]
        self._function_results: dict = {}
        self._active: set = set()
        self._classes = ProgramClasses(tree, path, source)
        self._class_states: dict[int, tuple[bool, list[str]]] = {}
        self.module_scope = self.scope(tree)

    # --- scopes ----------------------------------------------------------------------------------

    def scope(self, node) -> Scope:
        scope = self.scopes.get(id(node))
        if scope is None:
            parent = None
            ancestor = self.parents.get(node)
            while ancestor is not None and not isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                     ast.Module)):
                ancestor = self.parents.get(ancestor)
            if ancestor is not None:
                parent = self.scope(ancestor)
            scope = self.scopes[id(node)] = Scope(self, node, parent)
            if parent is None:
                self.module_scope = scope
            scope.solve()
            if parent is None:  # the module: its functions may have assigned its globals
                scope.solve()
        return scope

    def nonlocal_names(self, scope: Scope) -> set[str]:
        return {n for s in scope.statements if isinstance(s, ast.Nonlocal) for n in s.names}

    # --- calls -----------------------------------------------------------------------------------

    def record(self, kind: str, item) -> None:
        if self.recording is not None:
            self.recording[kind].add(item)

    def begin_recording(self) -> None:
        self.recording = {"sinks": set(), "forward": set()}
        self._function_results = {k: v for k, v in self._function_results.items() if not k[2]}

    def store(self, scope: Scope, target: ast.expr, value: Value) -> None:
        """`a.b = v`, `a.b[k] = v` (a plain `d[k] = v` is the dict's own assignment): v's graph kept by an object."""
        if value.graph:
            self.record("sinks", f"`{ast.unparse(target)} = ...` keeps tensors with graph in an object "
                                 f"(detach them after the cut: `{ast.unparse(target)} = "
                                 f"{ast.unparse(target)}.detach()` for a tensor)")

    def call(self, scope: Scope, node: ast.Call) -> Value:
        arguments = [scope.evaluate(a) for a in node.args] + [scope.evaluate(k.value) for k in node.keywords]
        sources = frozenset().union(*(a.sources for a in arguments)) if arguments else frozenset()
        graph = frozenset(s for s in sources if s[0] == "model")
        func = node.func
        text = ast.unparse(func)
        unknown = frozenset({("unknown", f"`{text}(...)`")})

        def sink():
            if graph:
                self.record("sinks", f"`{text}(...)` is given tensors with graph and netport cannot see what it keeps")
            return Value(sources | unknown, "other")

        qualified = scope.qualified(func) if isinstance(func, (ast.Name, ast.Attribute)) else None
        if qualified is not None:
            if qualified in VARIABLES:
                return Value(kind="tensor")
            if qualified.startswith("chainer.functions."):
                name = qualified.rsplit(".", 1)[1]
                if name[:1].isupper():  # a v1 parameterized function (F.Linear): a link
                    return Value(kind="model")
                if name in TUPLE_FUNCTIONS:
                    return Value(sources, "tuple", parts=(Value(sources, "tensor"),) * TUPLE_FUNCTIONS[name])
                return Value(sources, "tensor")
            if qualified.startswith("chainer.links.") or qualified in CONTAINERS or self.chain_class(qualified):
                return Value(kind="model")
            if qualified.startswith("chainer.optimizers."):
                return Value(kind="optimizer")
            if qualified in ARRAY_MODULES or qualified.split(".")[0] in ARRAY_MODULES or any(
                    qualified.startswith(m + ".") for m in ARRAY_MODULES):
                return CONST
            if qualified.startswith(CHAINER_DATA):
                return Value(sources, "other")
            if qualified in ("copy.copy", "copy.deepcopy"):
                return arguments[0] if arguments else CONST
            return sink()
        if isinstance(func, ast.Name):
            if not scope._binds_locally(func.id) and func.id in NO_GRAPH_CALLS and hasattr(builtins, func.id):
                return CONST
            if func.id == "next" and node.args and not scope._binds_locally("next"):
                return Value(drawn(arguments[0], node.args[0]), "other")
            function = self.function(scope, func.id)
            if function is not None:
                return self.function_result(function, node, arguments)
            callee = scope.lookup(func.id)
            if callee.kind == "model":
                return self.forward(callee, sources)
            if callee.kind == "callable" and not scope._binds_locally(func.id) and hasattr(builtins, func.id):
                return Value(sources, "other")  # max, sum, zip...: what they are given
            if func.id in self.project.chain_classes and func.id in self.module_scope.classes:
                return Value(kind="model")
            return sink()
        if isinstance(func, ast.Attribute):
            receiver = scope.evaluate(func.value)
            method = func.attr
            if method in ("__next__", "next") and not node.args and receiver.kind not in ("model", "optimizer"):
                return Value(drawn(receiver, func.value), "other")  # the iterator protocol: an element
            if receiver.kind == "model":
                if method == "copy":
                    return Value(kind="model")
                if method in LINK_METHODS:
                    return CONST
                return self.forward(receiver, sources)
            if receiver.kind == "optimizer":
                if method == "target":  # optimizer.target(x, t): the model it was set up with
                    target = scope.evaluate(func)
                    return self.forward(target, sources) if target.kind == "model" else sink()
                if method == "update" and node.args:
                    target = scope.evaluate(node.args[0])
                    if target.kind == "model":
                        self.forward(target, sources)
                        return CONST
                    return sink()
                if method in OPTIMIZER_METHODS or method == "update":
                    return CONST
                return sink()
            if receiver.kind in ("tensor", "optional"):
                return CONST if method in TENSOR_VALUES else Value(receiver.sources | sources, "tensor")
            if receiver.kind == "dict" and method in ("items", "values", "keys", "get", "copy", "pop"):
                return Value(receiver.sources, "other")
            if receiver.kind in ("const", "module"):
                if method in MUTATORS and graph:
                    return sink()
                return CONST if not graph else Value(sources, "other")
            if method in MUTATORS and isinstance(func.value, ast.Name) and func.value.id in scope.bound:
                return CONST  # a container of this scope: its own assignment (Scope._assign)
            if receiver.graph and method in ("items", "values", "keys", "get", "copy", "pop"):
                return Value(receiver.sources, "other")
            return sink() if graph else Value(receiver.graph | sources | unknown, "other")
        return sink()

    def forward(self, model: Value, sources) -> Value:
        graph = frozenset(_model_source(root) for root in model.roots)
        for root in model.roots:
            self.record("forward", root)
        return Value(sources | graph, "other")

    # --- the program's own functions -------------------------------------------------------------

    def function(self, scope: Scope, name: str):
        while scope is not None:
            if name in scope.functions:
                return scope.functions[name]
            if name in scope.bound:
                return None
            scope = scope.parent
        return None

    def function_result(self, function, call: ast.Call, arguments: list[Value]) -> Value:
        """The value a function of this file returns for these arguments; its stores and calls are read as the
        region's when it is called there."""
        params = [p.arg for p in [*getattr(function.args, "posonlyargs", []), *function.args.args]]
        bound: dict[str, Value] = {}
        for name, value in zip(params, arguments[:len(call.args)]):
            bound[name] = value
        for keyword, value in zip(call.keywords, arguments[len(call.args):]):
            if keyword.arg is not None:
                bound[keyword.arg] = value
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            bound = {}
        defaults = function.args.defaults
        for name, default in zip(params[len(params) - len(defaults):], defaults):
            bound.setdefault(name, CONST if isinstance(default, ast.Constant) else Value(
                frozenset({("input", f"the default of `{name}`")}), "other"))
        key = (id(function), tuple(sorted(bound.items())), self.recording is not None)
        if key in self._function_results:
            return self._function_results[key]
        if id(function) in self._active:
            return Value(frozenset({("unknown", f"`{function.name}(...)`, recursive")}), "other")
        self._active.add(id(function))
        try:
            parent = self.scope(self._enclosing_scope_node(function))
            inner = Scope(self, function, parent, bound)
            inner.solve()
            result = NONE
            for statement in inner.statements:
                if isinstance(statement, ast.Return):
                    result = join(result, inner.evaluate(statement.value))
            if not function.body or not isinstance(function.body[-1], (ast.Return, ast.Raise)):
                result = join(result, CONST)
            if self.recording is not None:
                self.read_region(inner, inner.statements, nested=True)
        finally:
            self._active.discard(id(function))
        self._function_results[key] = result
        return result

    def _enclosing_scope_node(self, node):
        ancestor = self.parents.get(node)
        while not isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Module)):
            ancestor = self.parents.get(ancestor)
        return ancestor

    def read_region(self, scope: Scope, statements, nested=False) -> None:
        """Evaluate the statements once, recording what the forward passes run and what keeps the graph."""
        for statement in statements:
            scope._assign(statement)
            if nested and isinstance(statement, (ast.Assign, ast.AugAssign)):
                for target in scope._targets(statement):
                    for name, _ in targets_of(target):
                        if name in scope.declared and scope.evaluate(statement.value).graph:
                            self.record("sinks", f"`{scope.node.name}` keeps tensors with graph in the global "
                                                 f"`{name}`")
            if nested and isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
                f = statement.value.func
                if isinstance(f, ast.Attribute) and f.attr in MUTATORS and isinstance(f.value, ast.Name) and \
                        f.value.id in scope.params and scope.lookup(f.value.id).kind not in ("model", "optimizer"):
                    if any(scope.evaluate(a).graph for a in statement.value.args):
                        self.record("sinks", f"`{scope.node.name}` puts tensors with graph into its argument "
                                             f"`{f.value.id}`")

    # --- models and their classes ----------------------------------------------------------------

    def chain_class(self, qualified: str) -> bool:
        return qualified.rsplit(".", 1)[-1] in self.project.chain_classes and not qualified.startswith("chainer.")

    def model_state(self, root) -> tuple[bool, list[str]]:
        """(whether the model holds LSTM modules netport writes, the reasons netport cannot tell what else keeps
        tensors between calls) for the model a name holds."""
        scope_id, name = root
        scope = self.scopes[scope_id]
        lstm, problems = False, []
        values = [s.value for s in scope.statements if isinstance(s, ast.Assign)
                  and any(n == name for t in s.targets for n, _ in targets_of(t))]
        parts = []  # what the model is built from: its constructor calls and the links set on it
        for statement in scope.statements:
            for target in Scope._targets(statement):
                if isinstance(target, ast.Attribute) and root_name(target) == name and \
                        isinstance(statement, ast.Assign) and scope.evaluate(statement.value).kind == "model":
                    parts.append(statement.value)
            for call in (n for e in expressions_of(statement) for n in ast.walk(e) if isinstance(n, ast.Call)):
                f = call.func
                if isinstance(f, ast.Attribute) and f.attr in ("add_link", "append") and \
                        isinstance(f.value, ast.Name) and f.value.id == name:
                    parts.extend(call.args[1:] if f.attr == "add_link" else call.args)
        if len(values) != 1:
            problems.append(f"`{name}` is assigned more than once")
        for expression in values + parts:
            has, why = self.built_state(scope, expression, {root})
            lstm, problems = lstm or has, problems + why
        return lstm, problems

    def built_state(self, scope: Scope, node: ast.expr, seen: set, imports=None, path=None) -> tuple[bool, list]:
        """The state of the model an expression builds (a constructor call) or names."""
        imports = self.imports if imports is None else imports
        if isinstance(node, ast.Name) and path is None:
            value = scope.lookup(node.id)
            for root in value.roots:
                if root not in seen and root[0] in self.scopes:
                    seen.add(root)
                    return self.model_state(root)
            if value.kind != "model":
                return False, [f"netport cannot tell what model `{node.id}` is"]
            return False, []
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "copy" and \
                path is None:
            return self.built_state(scope, node.func.value, seen)
        if not isinstance(node, ast.Call):
            return False, [f"netport cannot tell what model `{ast.unparse(node)}` is"]
        qualified = qualified_name(node.func, imports)
        if qualified is None and isinstance(node.func, ast.Name):
            qualified = node.func.id  # a class of that file
        if qualified is None:
            return False, [f"netport cannot tell what `{ast.unparse(node.func)}` builds"]
        if qualified == "chainer.links.LSTM":
            names = LSTM_ARGUMENTS
            if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords) or \
                    len(node.args) > len(names):
                arguments = None
            else:
                arguments = {n: isinstance(a, ast.Constant) and a.value is None for n, a in zip(names, node.args)}
                arguments.update({k.arg: isinstance(k.value, ast.Constant) and k.value.value is None
                                  for k in node.keywords})
            problem = lstm_problem(arguments, self.project.classes)
            return (True, []) if problem is None else (False, [f"an L.LSTM with {problem} stays Chainer's"])
        if qualified in STATEFUL_LINKS:
            return False, [f"`{qualified}` keeps a state that netport does not convert"]
        if qualified == "chainer.links.Classifier" or qualified in CONTAINERS:
            lstm, problems = False, []
            for argument in [*node.args, *(k.value for k in node.keywords)]:
                if qualified == "chainer.links.Classifier" and argument is not (node.args or [None])[0] and \
                        not (isinstance(argument, ast.Call) or isinstance(argument, ast.Name)):
                    continue
                if isinstance(argument, (ast.Constant, ast.Lambda)) or isinstance(argument, ast.Starred):
                    continue
                value = scope.evaluate(argument) if path is None else Value(kind="model")
                if value.kind != "model" and not isinstance(argument, ast.Call):
                    continue  # lossfun=F.softmax_cross_entropy, label_key=...
                has, why = self.built_state(scope, argument, seen, imports, path)
                lstm, problems = lstm or has, problems + why
            return lstm, problems
        if qualified.startswith("chainer.links.") or (qualified.startswith("chainer.functions.") and
                                                       qualified.rsplit(".", 1)[1][:1].isupper()):
            return False, []  # parameters and persistent arrays only
        found = self.find_class(qualified, path)
        if found is None:
            return False, [f"netport cannot find the class `{qualified}`"]
        return self.class_state(*found)

    def find_class(self, qualified: str, path=None):
        """The ClassDef of a class of the program: (node, its file's imports, its file), else None."""
        return self._classes.find(qualified, path)

    def class_state(self, node: ast.ClassDef, imports: dict, path: str) -> tuple[bool, list[str]]:
        if id(node) in self._class_states:
            return self._class_states[id(node)]
        self._class_states[id(node)] = (False, [])  # (a class that holds itself)
        lstm, problems = False, []
        for base in node.bases:
            qualified = qualified_name(base, imports) or (base.id if isinstance(base, ast.Name) else None)
            if qualified in LINK_BASES:
                continue
            if qualified is None or qualified.startswith("chainer."):
                problems.append(f"`{node.name}` derives from `{ast.unparse(base)}`")
                continue
            found = self.find_class(qualified, path)
            if found is None:
                problems.append(f"netport cannot find `{qualified}`, a base of `{node.name}`")
                continue
            has, why = self.class_state(*found)
            lstm, problems = lstm or has, problems + why
        methods = [s for s in node.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for method in methods:
            if method.name == "detach_state":
                problems.append(f"`{node.name}` has a method detach_state of its own")
            if method.name == "__init__":
                for part in self._children(method):
                    has, why = self.built_state(None, part, set(), imports, path)
                    lstm, problems = lstm or has, problems + why
                continue
            for statement in local_statements(method.body):
                for target in Scope._targets(statement) + (statement.targets if isinstance(statement, ast.Delete)
                                                           else []):
                    if isinstance(target, (ast.Attribute, ast.Subscript)) and root_name(target) == "self":
                        problems.append(f"`{node.name}.{method.name}` sets `{ast.unparse(target)}` between calls, "
                                        "a state netport did not write")
                if isinstance(statement, (ast.Global, ast.Nonlocal)):
                    problems.append(f"`{node.name}.{method.name}` assigns global names")
                for call in (n for e in expressions_of(statement) for n in ast.walk(e) if isinstance(n, ast.Call)):
                    f = call.func
                    if isinstance(f, ast.Attribute) and f.attr in MUTATORS and root_name(f.value) == "self" and \
                            isinstance(f.value, ast.Attribute):
                        problems.append(f"`{node.name}.{method.name}` adds to `{ast.unparse(f.value)}` between calls")
                    if isinstance(f, ast.Name) and f.id == "setattr" and call.args and \
                            root_name(call.args[0]) == "self":
                        problems.append(f"`{node.name}.{method.name}` sets attributes with setattr()")
        result = (lstm, list(dict.fromkeys(problems)))
        self._class_states[id(node)] = result
        return result

    @staticmethod
    def _children(init: ast.FunctionDef) -> list[ast.expr]:
        """The links an __init__ holds: super().__init__(name=link), self.name = link (in init_scope or not),
        self.add_link('name', link), self.append(link)."""
        children = []
        for statement in local_statements(init.body):
            if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call) and any(
                    isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"
                    for t in statement.targets):
                children.append(statement.value)
            for call in (n for e in expressions_of(statement) for n in ast.walk(e) if isinstance(n, ast.Call)):
                f = call.func
                if isinstance(f, ast.Attribute) and f.attr == "__init__":
                    children += [k.value for k in call.keywords if k.arg is not None]
                    children += [a for a in call.args if isinstance(a, ast.Call)]
                elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "self":
                    if f.attr == "add_link" and len(call.args) == 2:
                        children.append(call.args[1])
                    elif f.attr == "append" and call.args:
                        children.append(call.args[0])
        # a link built as a plain value (self.train = train) is not a child: only calls are followed
        return [c for c in children if isinstance(c, ast.Call) and not (
            isinstance(c.func, ast.Name) and c.func.id in dir(builtins))]

    # --- the cut ---------------------------------------------------------------------------------

    def plan(self, call: ast.Call) -> Plan:
        name = call.func.value.id
        statement = self.parents.get(call)
        scope_node = self._enclosing_scope_node(call)
        scope = self.scope(scope_node)
        loop, node = None, statement
        while node is not scope_node:
            node = self.parents.get(node)
            if isinstance(node, (ast.For, ast.AsyncFor, ast.While)) and loop is None:
                loop = node
            if isinstance(node, (ast.ClassDef, ast.Lambda)):
                return Plan(problems=["it is not in a function or a loop that netport follows"])
        region = list(local_statements(loop.body if loop is not None else scope_node.body))
        self.begin_recording()
        try:
            self.read_region(scope, region)
            recorded = self.recording
        finally:
            self.recording = None
        plan = Plan(problems=sorted(recorded["sinks"]))
        loss = scope.lookup(name)
        unknown = sorted(text for kind, text in loss.sources if kind == "unknown")
        if unknown:
            plan.problems.append(f"`{name}` is computed from what netport cannot follow ({', '.join(unknown)}): "
                                 "detach what that keeps from this step")
        roots = {root for kind, root in loss.graph}
        if not roots and not unknown:
            plan.problems.append(f"netport cannot tell which model computed `{name}`")
        visible = {scope.id, self.module_scope.id}
        emitted = []
        for root in sorted(roots | recorded["forward"], key=lambda r: r[1]):
            if root[0] not in visible:
                continue  # a model of another function's own: its state ends with the call
            lstm, problems = self.model_state(root)
            if (lstm or problems) and root[0] != scope.id and root[1] in scope.bound:
                plan.problems.append(f"the model `{root[1]}` of the module is hidden here by a local name")
            elif problems:
                plan.problems += [f"in `{root[1]}`, {p}" for p in problems]
            elif lstm and root not in roots:
                plan.problems.append(f"`{root[1]}` runs between the cuts but its output does not reach `{name}`")
            elif lstm:
                emitted.append(root[1])
        module = next(n for n in ("module", "submodule", "link") if n not in scope.bound and n not in
                      self.module_scope.bound)
        for model in emitted:
            plan.statements.append(DETACH_MODULES.format(module=module, model=model))
            plan.notes.append(f"the state of the LSTM modules of `{model}` (detach_state())")
        carried = Liveness(self, scope, statement)
        for variable in sorted({n for s in region for t in Scope._targets(s) for n, _ in targets_of(t)} |
                               {n for s in region if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)
                                and isinstance(s.value.func, ast.Attribute) and s.value.func.attr in MUTATORS
                                and isinstance(s.value.func.value, ast.Name) for n in [s.value.func.value.id]}):
            if variable not in scope.bound and variable not in scope.declared:
                continue
            value = scope.lookup(variable)
            if not value.graph or value.kind in ("model", "optimizer") or not carried(variable):
                continue
            if variable == name:
                value = replace(value, kind="tensor")
            elif not value.graph & loss.graph:
                plan.problems.append(f"`{variable}` holds a graph that does not reach `{name}` (Chainer cut it only "
                                     "where it met the loss's)")
                continue
            if value.kind == "tensor":
                plan.statements.append(f"{variable} = {variable}.detach()\n")
            elif value.kind == "optional":
                plan.statements.append(f"{variable} = None if {variable} is None else {variable}.detach()\n")
            elif value.kind == "dict":
                plan.statements.append(f"{variable} = {{key: value.detach() for key, value in {variable}.items()}}\n")
            else:
                plan.problems.append(f"`{variable}` is read after the cut and may hold tensors with graph "
                                     "(netport cannot tell its type): detach them")
                continue
            plan.notes.append(f"`{variable}`")
        plan.problems = list(dict.fromkeys(plan.problems))
        return plan


class Liveness:
    """Whether a name may be read after a statement before it is assigned again: in the rest of the loop, the
    next iterations, after the loop, by the functions that read it as a global or a closure, or by the caller."""

    def __init__(self, analysis: Analysis, scope: Scope, statement: ast.stmt):
        self.analysis, self.scope, self.statement = analysis, scope, statement
        self.parents = analysis.parents
        self.escaping = set(scope.declared)
        for node in ast.walk(scope.node):
            if node is not scope.node and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                own = {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)}
                if not isinstance(node, ast.Lambda):
                    own |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
                    own -= {n for s in ast.walk(node) if isinstance(s, (ast.Global, ast.Nonlocal)) for n in s.names}
                self.escaping |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and
                                  isinstance(n.ctx, ast.Load) and n.id not in own}

    def __call__(self, name: str) -> bool:
        if name in self.escaping:
            return True
        self.name, self.memo, self.active = name, {}, set()
        return self.after(self.statement)

    def _location(self, statement):
        parent = self.parents[statement]
        for field_name in ("body", "orelse", "finalbody"):
            block = getattr(parent, field_name, None)
            if isinstance(block, list) and statement in block:
                return parent, field_name, block
        if isinstance(parent, ast.ExceptHandler) or type(parent).__name__ == "match_case":
            return parent, "body", parent.body
        return parent, None, []

    def _loop_of(self, node):
        while node is not self.scope.node:
            parent = self.parents[node]
            if isinstance(parent, (ast.For, ast.AsyncFor, ast.While)) and node in parent.body:
                return parent
            if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                return None
            node = parent
        return None

    def after(self, statement) -> bool:
        """Read on some path from the end of this statement?"""
        key = ("after", id(statement))
        if key in self.memo:
            return self.memo[key]
        self.memo[key] = False  # (while computing it: a path back here adds nothing)
        parent, field_name, block = self._location(statement)
        loop = self._loop_of(statement)
        breaks = (lambda: self.exit(loop)) if loop is not None else (lambda: True)
        continues = (lambda: self.again(loop)) if loop is not None else (lambda: True)
        rest = block[block.index(statement) + 1:] if statement in block else []
        result = self.sequence(rest, lambda: self.end(parent, field_name), breaks, continues)
        self.memo[key] = result
        return result

    def end(self, parent, field_name) -> bool:
        """Read after the end of a block of ``parent``?"""
        if parent is self.scope.node:
            return False  # (a global or a closure's name escapes: __call__)
        if isinstance(parent, (ast.For, ast.AsyncFor, ast.While)) and field_name == "body":
            return self.again(parent)
        if isinstance(parent, ast.ExceptHandler) or type(parent).__name__ == "match_case":
            return self.after(self.parents[parent])
        return self.after(parent)

    def again(self, loop) -> bool:
        """Read in the next iteration of the loop, or after it?"""
        key = ("again", id(loop))
        if key in self.memo:
            return self.memo[key]
        self.memo[key] = False
        if isinstance(loop, ast.While):
            result = reads(loop.test, self.name) or self.exit(loop) or self.sequence(
                loop.body, lambda: self.again(loop), lambda: self.exit(loop), lambda: self.again(loop))
        else:
            written = self.name in {n for n, _ in targets_of(loop.target)}
            result = self.exit(loop) or (not written and self.sequence(
                loop.body, lambda: self.again(loop), lambda: self.exit(loop), lambda: self.again(loop)))
        self.memo[key] = result
        return result

    def exit(self, loop) -> bool:
        key = ("exit", id(loop))
        if key not in self.memo:
            self.memo[key] = False
            self.memo[key] = self.sequence(loop.orelse, lambda: self.after(loop), lambda: self.after(loop),
                                           lambda: self.after(loop))
        return self.memo[key]

    def sequence(self, statements, end, breaks, continues) -> bool:
        """Read in these statements (or after them: ``end``) before being assigned?"""
        name = self.name
        for k, statement in enumerate(statements):
            follow = once(lambda rest=statements[k + 1:]: self.sequence(rest, end, breaks, continues))
            if isinstance(statement, (ast.Break, ast.Continue)):
                return breaks() if isinstance(statement, ast.Break) else continues()
            if isinstance(statement, ast.Return):
                return statement.value is not None and reads(statement.value, name)
            if isinstance(statement, ast.Raise):
                return any(reads(e, name) for e in expressions_of(statement))
            if isinstance(statement, ast.If):
                return reads(statement.test, name) or self.sequence(statement.body, follow, breaks, continues) or \
                    self.sequence(statement.orelse, follow, breaks, continues)
            if isinstance(statement, (ast.For, ast.AsyncFor, ast.While)):
                header = statement.iter if not isinstance(statement, ast.While) else statement.test
                if reads(header, name):
                    return True
                written = not isinstance(statement, ast.While) and name in {n for n, _ in targets_of(statement.target)}
                skipped = self.sequence(statement.orelse, follow, breaks, continues)
                return skipped or (not written and self.sequence(
                    statement.body, lambda: skipped, follow, lambda: skipped))
            if isinstance(statement, (ast.With, ast.AsyncWith)):
                if any(reads(item.context_expr, name) for item in statement.items):
                    return True
                if any(name in {n for n, _ in targets_of(item.optional_vars)} for item in statement.items
                       if item.optional_vars is not None):
                    return False
                return self.sequence(statement.body, follow, breaks, continues)
            if isinstance(statement, (ast.Try, getattr(ast, "TryStar", ast.Try))):  # (any block may be skipped)
                blocks = [statement.body, *(h.body for h in statement.handlers), statement.orelse, statement.finalbody]
                return any(self.sequence(block, follow, breaks, continues) for block in blocks)
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if any(reads(e, name) for e in expressions_of(statement)):
                    return True
                if statement.name == name:
                    return False
                continue
            if not isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Expr, ast.Pass, ast.Delete,
                                          ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal, ast.Assert)):
                return True  # (match and the like: taken as reading it)
            if isinstance(statement, ast.Delete) and any(isinstance(t, ast.Name) and t.id == name
                                                         for t in statement.targets):
                return False
            if reads(statement, name):
                return True
            if isinstance(statement, (ast.Assign, ast.AnnAssign)) and any(
                    n == name for t in Scope._targets(statement) for n, _ in targets_of(t)):
                return False
            if isinstance(statement, (ast.Import, ast.ImportFrom)) and any(
                    (a.asname or a.name).split(".")[0] == name for a in statement.names):
                return False
        return end()


def once(function):
    """The function, computed at its first call only (a path that several branches join)."""
    results = []

    def first():
        if not results:
            results.append(function())
        return results[0]
    return first


# The parameters of chainer.functions that are settings, never inputs of the graph: Chainer 1.24 passes none of them
# to Function.__call__ (its functions make `Func(settings)(inputs)`), nor do later versions. An argument bound to
# one of them may be anything: the cut does not reach it.
SETTINGS = frozenset({
    "axes", "axis", "cache_score", "class_weight", "cover_all", "decay", "deterministic", "eps", "force_tuple",
    "ignore_label", "indices_or_sections", "keepdims", "ksize", "n_batch_axes", "normalize", "outsize", "pad",
    "ratio", "reduce", "sample_size", "sampler", "shape", "slope", "stride", "train", "transa", "transb",
    "use_cudnn", "x_max", "x_min"})
LINK_PARAMETERS = frozenset({"W", "b", "gamma", "beta"})  # the parameters of Chainer's links: variables, no creator
PARAMETER_LINK = "chainer.links.Parameter"
ARRAY_LIBRARIES = ("numpy", "cupy", "math", "chainer.cuda.cupy", "chainer.backends.cuda.cupy")
GET_ARRAY_MODULE = ("chainer.cuda.get_array_module", "chainer.backends.cuda.get_array_module")
GRAD_USES = frozenset({"grad", "grad_var", "cleargrad", "zerograd"})
_DATA, _ROOT, _GRAPH = 0, 1, 2  # no variable at all / variables without creator / a graph built here


def assigned(node: ast.AST) -> list:
    """The targets a statement assigns (or deletes), tuples and starred targets opened."""
    targets = list(node.targets) if isinstance(node, (ast.Assign, ast.Delete)) else \
        [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor)) else \
        [i.optional_vars for i in node.items if i.optional_vars is not None] if isinstance(
            node, (ast.With, ast.AsyncWith)) else [node.target] if isinstance(node, ast.NamedExpr) else []
    found = []
    while targets:
        target = targets.pop()
        if isinstance(target, (ast.Tuple, ast.List)):
            targets.extend(target.elts)
        elif isinstance(target, ast.Starred):
            targets.append(target.value)
        else:
            found.append(target)
    return found


class NotFresh(Exception):
    """Why the expression before a cut is not shown to build all of the graph behind the variable."""


class FreshGraph:
    """PT125: `v.unchain_backward()` right after `v = E` in a function (the next statement, or the first of an `if`
    that is), E made of chainer.functions (pure: their output's graph is their inputs'), operators, calls of an
    L.Parameter link (its W through identity functions) and subscripts, over inputs without graph: data (constants,
    arrays, `.data`), the parameters of this class's links (`self.l.W`: variables without creator) and new
    `chainer.Variable(...)`s, locals holding only those. Chainer's cut then unchains the functions of E alone, whose
    values have no name, and stops at those inputs, which have no creator: `v = v.detach()` is the same cut (and
    torch keeps nothing else of it). A parameter of the function, a model's output or a local holding a graph may
    carry a graph of its own, which Chainer's cut would cut too: such a cut stays PT076."""

    def __init__(self, analysis: "Analysis", call: ast.Call):
        self.analysis, self.call, self.name = analysis, call, call.func.value.id
        self.function = analysis._enclosing_scope_node(call)
        self.assignment: ast.Assign | None = None  # `v = E`, when the cut follows one
        self.why: str | None = None  # why E is not shown to build all of v's graph (None: it is)
        if not isinstance(self.function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return
        self.assignment = self._assignment(analysis.parents[call])
        if self.assignment is None:
            return
        try:
            self._check()
        except NotFresh as reason:
            self.why = str(reason)
        except RecursionError:
            self.why = "netport could not follow it"

    @property
    def proven(self) -> bool:
        return self.assignment is not None and self.why is None

    # --- where v comes from ----------------------------------------------------------------------

    def _place(self, statement):
        parent = self.analysis.parents.get(statement)
        for name in ("body", "orelse"):
            block = getattr(parent, name, None)
            if isinstance(block, list):
                for k, item in enumerate(block):
                    if item is statement:
                        return parent, k, block
        return parent, None, None

    def _assignment(self, statement) -> ast.Assign | None:
        parent, k, block = self._place(statement)
        if k == 0 and isinstance(parent, ast.If) and not self._mentions(parent.test):  # `if flag: v.unchain...`
            parent, k, block = self._place(parent)
        if not k or parent is None:
            return None
        previous = block[k - 1]
        if isinstance(previous, ast.Assign) and len(previous.targets) == 1 and \
                isinstance(previous.targets[0], ast.Name) and previous.targets[0].id == self.name:
            return previous
        return None

    def _mentions(self, node) -> bool:
        return any(isinstance(n, ast.Name) and n.id == self.name for n in ast.walk(node))

    # --- the check -------------------------------------------------------------------------------

    def _check(self) -> None:
        function, name = self.function, self.name
        for node in ast.walk(function):
            if isinstance(node, ast.Attribute) and node.attr in GRAD_USES and isinstance(node.value, ast.Name) and \
                    node.value.id == name:
                raise NotFresh(f"`{name}.{node.attr}` is used, a gradient Chainer keeps for the cut variable (a root "
                               "now) and torch does not for a detached tensor")
        a = function.args
        self.params = {p.arg for p in [*getattr(a, "posonlyargs", []), *a.args, *a.kwonlyargs, a.vararg, a.kwarg]
                       if p is not None}
        self.statements = list(local_statements(function.body))
        self.declared = {n for s in ast.walk(function) if isinstance(s, (ast.Global, ast.Nonlocal)) for n in s.names}
        self.bound = set(self._bindings())
        self.self_name, self.links = self._links()
        self.reassigned = {t.attr for node in ast.walk(self.analysis.tree) for t in assigned(node)
                           if isinstance(t, ast.Attribute) and t.attr in LINK_PARAMETERS}
        self.active: set[str] = set()
        self.kind(self.assignment.value)

    def _links(self) -> tuple[str | None, dict[str, str]]:
        """(the name of `self`, this class's links by attribute: what its __init__ sets once and nothing else sets)
        when the function is a method of a Chainer link class; (None, {}) otherwise."""
        function = self.function
        owner = self.analysis.parents.get(function)
        a = function.args
        if not isinstance(owner, ast.ClassDef) or not a.args or function.decorator_list:
            return None, {}
        imports = self.analysis.imports
        if not owner.bases or any(qualified_name(b, imports) not in LINK_BASES for b in owner.bases):
            return None, {}
        me = a.args[0].arg
        if me in self.bound:
            return None, {}
        links: dict[str, str] = {}
        counts: dict[str, int] = {}
        for method in owner.body:
            if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if method.name in ("__setattr__", "__getattr__", "__getattribute__", "__delattr__"):
                return None, {}
            this = method.args.args[0].arg if method.args.args else None
            for node in ast.walk(method):
                for target in assigned(node):
                    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and \
                            target.value.id == this:
                        counts[target.attr] = counts.get(target.attr, 0) + 1
                        if method.name == "__init__" and isinstance(node, ast.Assign) and \
                                node.targets == [target] and isinstance(node.value, ast.Call):
                            links[target.attr] = qualified_name(node.value.func, imports) or ""
                if isinstance(node, ast.Call):
                    f = node.func
                    if isinstance(f, ast.Name) and f.id == "setattr":
                        return None, {}
                    if isinstance(f, ast.Attribute) and f.attr == "add_link":
                        if len(node.args) != 2 or not isinstance(node.args[0], ast.Constant) or \
                                method.name != "__init__":
                            return None, {}
                        key = str(node.args[0].value)
                        counts[key] = counts.get(key, 0) + 1
                        if isinstance(node.args[1], ast.Call):
                            links[key] = qualified_name(node.args[1].func, imports) or ""
                    if isinstance(f, ast.Attribute) and f.attr == "__init__" and method.name == "__init__":
                        for keyword in node.keywords:
                            if keyword.arg is None:
                                return None, {}
                            counts[keyword.arg] = counts.get(keyword.arg, 0) + 1
                            if isinstance(keyword.value, ast.Call):
                                links[keyword.arg] = qualified_name(keyword.value.func, imports) or ""
        return me, {name: link for name, link in links.items() if counts.get(name) == 1 and
                    link.startswith("chainer.links.") and link not in STATEFUL_LINKS}

    def _bindings(self, name: str | None = None) -> list:
        """The nodes that bind names in the function (all of them, or those binding `name`)."""
        found = []
        for statement in local_statements(self.function.body):
            bound = []
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound = [statement.name]
            elif isinstance(statement, (ast.Import, ast.ImportFrom)):
                bound = [(a.asname or a.name).split(".")[0] for a in statement.names]
            elif isinstance(statement, ast.Delete):
                bound = [t.id for t in statement.targets if isinstance(t, ast.Name)]
            elif isinstance(statement, ast.Try):
                bound = [h.name for h in statement.handlers if h.name]
            else:
                bound = [n for t in Scope._targets(statement) for n, _ in targets_of(t)]
            bound += [n.target.id for e in expressions_of(statement) for n in ast.walk(e)
                      if isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name)]
            if name is None or name in bound:
                found.append((statement, bound))
        return found if name is not None else [n for _, b in found for n in b]

    def _local(self, name: str) -> int:
        """The kind of a local name: every assignment of it must give data or variables without creator."""
        if name in self.active:
            raise NotFresh(f"`{name}` is computed from itself")
        if name in self.declared:
            raise NotFresh(f"`{name}` is a global or nonlocal name")
        bindings = self._bindings(name)
        if not bindings:
            raise NotFresh(f"`{name}` comes from outside `{self.function.name}`")
        self.active.add(name)
        try:
            kind = _DATA
            for statement, _ in bindings:
                if not (isinstance(statement, ast.Assign) and all(isinstance(t, ast.Name) for t in statement.targets)):
                    raise NotFresh(f"`{name}` is bound by `{ast.unparse(statement).splitlines()[0]}`, which netport "
                                   "does not follow here")
                try:
                    value = self.kind(statement.value)
                except NotFresh as reason:
                    raise NotFresh(f"`{name}` is `{ast.unparse(statement.value)}`, where {reason}") from None
                if value == _GRAPH:
                    raise NotFresh(f"`{name}` holds a graph of its own (`{ast.unparse(statement.value)}`), which "
                                   "Chainer's cut would cut too")
                kind = max(kind, value)
            return kind
        finally:
            self.active.discard(name)

    def _qualified(self, node) -> str | None:
        root = root_name(node)
        if root is None or root in self.params or root in self.bound or root in self.declared:
            return None
        return qualified_name(node, self.analysis.imports)

    def _array_module(self, node) -> bool:
        """Whether an expression is NumPy, CuPy (or math), `self.xp` or a local set to one of them."""
        qualified = self._qualified(node)
        if qualified is not None:
            return qualified in ARRAY_LIBRARIES or qualified.startswith(tuple(m + "." for m in ARRAY_LIBRARIES))
        if isinstance(node, ast.Attribute):
            if node.attr == "xp" and isinstance(node.value, ast.Name) and node.value.id == self.self_name:
                return True
            return self._array_module(node.value)
        if isinstance(node, ast.Name) and node.id not in self.params and node.id not in self.active:
            bindings = self._bindings(node.id)
            self.active.add(node.id)
            try:
                return bool(bindings) and all(
                    isinstance(s, ast.Assign) and all(isinstance(t, ast.Name) for t in s.targets) and (
                        self._array_module(s.value) or isinstance(s.value, ast.Call) and
                        self._qualified(s.value.func) in GET_ARRAY_MODULE) for s, _ in bindings)
            finally:
                self.active.discard(node.id)
        return False

    def kind(self, node) -> int:
        if isinstance(node, (ast.Constant, ast.JoinedStr)):
            return _DATA
        if isinstance(node, ast.Name):
            if node.id in self.params:
                raise NotFresh(f"`{node.id}` is a parameter of `{self.function.name}`: it may carry its caller's graph")
            if self._qualified(node) is not None:
                raise NotFresh(f"`{node.id}` is a module or an imported name")
            return self._local(node.id)
        if isinstance(node, ast.Attribute):
            if node.attr in NO_GRAPH_ATTRIBUTES - {"grad_var"}:
                return _DATA  # an array (or a shape, a dtype): no graph whatever it was read from
            if self._array_module(node):
                return _DATA  # numpy.float32, numpy.pi
            owner = node.value
            if node.attr in LINK_PARAMETERS and node.attr not in self.reassigned and \
                    isinstance(owner, ast.Attribute) and isinstance(owner.value, ast.Name) and \
                    owner.value.id == self.self_name and owner.attr in self.links:
                return _ROOT
            raise NotFresh(f"`{ast.unparse(node)}` is not known to netport as a parameter or data")
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.BinOp):
            kind = max(self.kind(node.left), self.kind(node.right))
            return _GRAPH if kind != _DATA else _DATA
        if isinstance(node, ast.UnaryOp):
            kind = self.kind(node.operand)
            return _DATA if isinstance(node.op, ast.Not) or kind == _DATA else _GRAPH
        if isinstance(node, ast.Subscript):
            if self.kind(node.slice) != _DATA:
                raise NotFresh(f"`{ast.unparse(node.slice)}` indexes with a variable")
            kind = self.kind(node.value)
            return _GRAPH if kind != _DATA else _DATA
        if isinstance(node, ast.Slice):
            for part in (node.lower, node.upper, node.step):
                if part is not None and self.kind(part) != _DATA:
                    raise NotFresh(f"`{ast.unparse(part)}` slices with a variable")
            return _DATA
        if isinstance(node, (ast.Tuple, ast.List)) and not any(isinstance(e, ast.Starred) for e in node.elts):
            return max([self.kind(e) for e in node.elts], default=_DATA)
        if isinstance(node, ast.IfExp):
            self.kind_of_test(node.test)
            return max(self.kind(node.body), self.kind(node.orelse))
        if isinstance(node, (ast.Compare, ast.BoolOp)):
            operands = [node.left, *node.comparators] if isinstance(node, ast.Compare) else node.values
            if all(self.kind(o) == _DATA for o in operands):
                return _DATA
        raise NotFresh(f"`{ast.unparse(node)}` is an expression netport does not follow here")

    def kind_of_test(self, node) -> None:
        """The condition of an IfExp: evaluated, its value not in the result; it must not name the variable."""
        if self._mentions(node):
            raise NotFresh(f"`{ast.unparse(node)}` reads `{self.name}`")

    def _call(self, node: ast.Call) -> int:
        func = node.func
        text = ast.unparse(func)
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            raise NotFresh(f"`{text}(...)` takes *args or **kwargs")
        qualified = self._qualified(func)
        arguments = [*node.args, *(k.value for k in node.keywords)]
        if qualified is not None and qualified.startswith("chainer.functions.") and \
                qualified.rsplit(".", 1)[1][:1].islower():
            for argument in self._inputs(qualified, node):
                self.kind(argument)
            return _GRAPH
        if qualified in VARIABLES:
            if any(self.kind(a) != _DATA for a in arguments):
                raise NotFresh(f"`{ast.unparse(node)}` wraps a variable")
            return _ROOT  # a new variable: no creator
        if isinstance(func, ast.Name) and func.id in NO_GRAPH_CALLS and qualified is None and \
                func.id not in self.bound and func.id not in self.params and hasattr(builtins, func.id):
            return _DATA  # len(x), int(n): no variable comes out
        if isinstance(func, ast.Attribute) and self._array_module(func.value):
            if any(self.kind(a) != _DATA for a in arguments):
                raise NotFresh(f"`{text}(...)` is given a variable")
            return _DATA
        if isinstance(func, ast.Attribute):
            try:
                data = self.kind(func.value) == _DATA and all(self.kind(a) == _DATA for a in arguments)
            except NotFresh:
                data = False
            if data:
                return _DATA  # a method of an array (`mask.astype('f')`) given arrays: an array
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and \
                func.value.id == self.self_name and self.links.get(func.attr) == PARAMETER_LINK and \
                not node.args and all(k.arg == "volatile" and isinstance(k.value, ast.Constant) for k in node.keywords):
            return _GRAPH  # L.Parameter's W through identity functions
        raise NotFresh(f"`{text}(...)` is a call netport does not see into: what it returns may carry a graph (a "
                       "model's output, or its state)")

    def _inputs(self, qualified: str, node: ast.Call) -> list:
        """The arguments of a call of chainer.functions that are inputs of its graph (not SETTINGS), by its
        signature (Chainer 5's, the code's idiom here, else 1.24's; without one, all of them)."""
        from netport.migrate.chainer.api import api
        signature = api("5_4")["signatures"].get(qualified) or api("1_24")["signatures"].get(qualified)
        if signature is None:
            return [*node.args, *(k.value for k in node.keywords)]
        positional = [name for name, kind, _ in signature if kind in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")]
        inputs = []
        for k, argument in enumerate(node.args):
            if k >= len(positional) or positional[k] not in SETTINGS:
                inputs.append(argument)
        inputs += [k.value for k in node.keywords if k.arg not in SETTINGS]
        return inputs


def is_cut(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
        node.func.attr == "unchain_backward" and not node.args and not node.keywords


@rule_pass("torch.modules", 20)  # on the Chainer code, after the module rules (which write the LSTM class)
class UnchainRules(RulePass):
    TRIGGER = re.compile(r"\.unchain_backward\(")

    def visit_Module(self, node: cst.Module) -> None:
        super().visit_Module(node)
        tree = self.ctx.syntax_tree()
        cuts = sorted((n for n in ast.walk(tree) if is_cut(n)), key=lambda n: (n.lineno, n.col_offset)) \
            if tree is not None else []
        self._cuts, self._tree = cuts, tree
        self._analysis = None  # built at the first cut
        self._index = 0
        # a program that defines its own unchain_backward: a call may be of it (the residual sweep marks the rest)
        self._own = any("unchain_backward" in methods for methods in self.project.class_methods.values())

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "unchain_backward" and not node.args):
            return
        if self._index >= len(self._cuts):
            return
        cut = self._cuts[self._index]
        self._index += 1
        if self._own:
            return
        name = ast.unparse(cut.func.value)
        prefix = f"{TODO_PREFIX}(PT076): "
        earlier = [m for m in self.existing_markers() if m.startswith(f"{prefix}`{name}.unchain_backward()`")]
        if earlier:  # marked by an earlier run (on Chainer code that is torch code now): the same marker
            self.todo(node, "PT076", earlier[0][len(prefix):])
            return
        receiver = cut.func.value
        line = self.statement
        in_block = isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1 and \
            isinstance(self.parent(line), (cst.IndentedBlock, cst.Module))
        name = receiver.id if isinstance(receiver, ast.Name) else ast.unparse(receiver)
        try:
            if self._analysis is None:
                self._analysis = Analysis(self._tree, self.ctx.path, self.ctx.source, self.project)
            statement = self._analysis.parents.get(cut)
            if not (isinstance(receiver, ast.Name) and isinstance(statement, ast.Expr) and in_block):
                self.todo(node, "PT076", HEADLINE.format(name=name) + "netport converts a cut of a plain variable "
                          "in a statement of its own")
                return
            plan = self._analysis.plan(cut)
            fresh = FreshGraph(self._analysis, cut) if plan.problems else None
        except Exception:  # (RecursionError and the like) code too odd to follow: marked, the file goes on
            plan, fresh = Plan(problems=["netport could not follow this code"]), None
        if fresh is not None and fresh.proven:
            self.info(node, "PT125", f"`{name}.unchain_backward()` cuts the graph that `{name} = ...` (line "
                      f"{fresh.assignment.lineno}) has just built from parameters and data alone: `{name} = "
                      f"{name}.detach()` is that cut (nothing else holds this graph: its intermediate values have no "
                      f"name, and what it was built from has no graph behind it); what `{name}` was computed from "
                      "gets no gradient through it, as in Chainer")
            plan = Plan(statements=[f"{name} = {name}.detach()\n"])
        elif plan.problems:
            if fresh is not None and fresh.assignment is not None:
                plan.problems.append(f"nor does netport see that `{name} = ...` (line {fresh.assignment.lineno}) "
                                     f"built all of the graph behind `{name}` from parameters and data ({fresh.why})")
            self.todo(node, "PT076", HEADLINE.format(name=name) + "; ".join(plan.problems))
            return
        else:
            self.info(node, "PT075", f"`{name}.unchain_backward()` (truncated backpropagation) detaches what the "
                      "next steps read from this one, as Chainer cut the graph behind them: " +
                      (", ".join(plan.notes) if plan.notes else "nothing here: no state or variable carries the "
                       "graph on, so the statement is dropped"))
        self.remove(line)
        new = [cst.parse_statement(text) for text in plan.statements]
        trailing = line.trailing_whitespace
        alone = len(self.parent(line).body) == 1
        if not new and (trailing.comment is not None or alone):  # a block needs a statement; the comment stays
            new = [cst.parse_statement("pass")]
        if new and trailing.comment is not None:
            first = new[0]
            if isinstance(first, cst.SimpleStatementLine):
                new[0] = first.with_changes(trailing_whitespace=trailing)
            else:
                new[0] = first.with_changes(body=first.body.with_changes(header=trailing))
        if new:
            self.insert_after(line, new)
