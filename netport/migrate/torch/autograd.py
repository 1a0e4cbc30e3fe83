"""PT093-PT096: user-defined ``chainer.Function`` subclasses on the torch target.

A v1 Function computes on arrays: Chainer 1.24 (chainer/function.py) calls ``forward(in_data)`` with the
tuple of the input Variables' arrays (``Function.forward`` runs ``forward_cpu`` for NumPy arrays), wraps each
returned array in a Variable (one Variable for a 1-tuple), and on backprop calls ``backward(in_data,
out_grad)`` with the inputs' arrays and the outputs' gradients (None for an output whose gradient was never
set; ``backward_cpu``'s default returns None for every input), keeping the Function object, and whatever its
bodies put on ``self``, between the two. That is a torch.autograd.Function whose forward/backward convert
tensors to NumPy arrays, run the user's CPU bodies unchanged, and convert the results back, with the user's
object kept in ``ctx``. So the class keeps its bodies and derives from ``NumpyFunction`` (written into the
file), a plain class whose ``__call__`` is ``NumpyFunctionApply.apply(self, *inputs)``: every way the object
is called (``MyFn(a)(x)``, a stored instance, a call site in another file) stays as it was.

The bodies stay NumPy code: ``get_array_module`` of the arrays they were given is ``numpy`` (no CuPy array
reaches them), ``force_array`` is ``numpy.asanyarray``; ``forward_gpu``/``backward_gpu`` (CuPy code) are
never called and go; ``check_type_forward``'s ``type_check.expect`` becomes ``assert`` on the same values
(a TypeInfo's shape/dtype/ndim are the array's own); what the bridge does not have (``self.inputs``,
``retain_outputs``, a Chainer function inside a body) is marked."""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass, field

import libcst as cst

from netport.migrate.passes import RulePass, bind_arguments, code, insert_definition, is_dotted
from netport.migrate.registry import rule_pass
from netport.migrate.rules import Rule, register

FUNCTION_BASES = frozenset({"chainer.Function", "chainer.function.Function"})
BRIDGE_NAMES = ("NumpyFunction", "NumpyFunctionApply")

# The bridge (one per file). Chainer 1.24's Function.__call__/forward/backward and Variable.backward on NumPy
# arrays, in torch's autograd. Non-tensor inputs (NumPy arrays, which Chainer wrapped in Variables) pass as they
# are and get no gradient; the outputs go to the first tensor input's device; a gradient to its input's device.
BRIDGE = '''class NumpyFunction:
    """Chainer v1's Function on torch tensors (written by netport): calling it runs forward(inputs) on the NumPy
    arrays of the inputs (a CUDA tensor's copied to the host) and returns tensors on the inputs' device;
    backward(inputs, grad_outputs) gets NumPy arrays too (None for an output that got no gradient) and returns a
    gradient or None per input. As in Chainer for NumPy arrays, forward and backward run forward_cpu and
    backward_cpu, and check_type_forward sees the input arrays first."""

    _retained_inputs = None

    def __call__(self, *inputs):
        outputs = NumpyFunctionApply.apply(self, *inputs)
        return outputs[0] if len(outputs) == 1 else outputs

    def check_type_forward(self, in_types):
        pass

    def retain_inputs(self, indexes):
        self._retained_inputs = tuple(indexes)

    def forward(self, inputs):
        return self.forward_cpu(inputs)

    def forward_cpu(self, inputs):
        raise NotImplementedError()

    def backward(self, inputs, grad_outputs):
        return self.backward_cpu(inputs, grad_outputs)

    def backward_cpu(self, inputs, grad_outputs):
        return tuple(None for _ in inputs)


class NumpyFunctionApply({torch}.autograd.Function):
    """A NumpyFunction in torch's autograd: the object, its input arrays and their devices are kept in ctx."""

    @staticmethod
    def forward(ctx, function, *inputs):
        ctx.set_materialize_grads(False)  # Chainer gives backward None for an output that got no gradient
        ctx.function, ctx.devices = function, [x.device if {torch}.is_tensor(x) else None for x in inputs]
        arrays = tuple(x.detach().cpu().numpy() if {torch}.is_tensor(x) else x for x in inputs)
        function.check_type_forward(arrays)
        function._retained_inputs = None
        outputs = function.forward(arrays)
        kept = function._retained_inputs
        ctx.arrays = arrays if kept is None else tuple(a if i in kept else None for i, a in enumerate(arrays))
        device = next((d for d in ctx.devices if d is not None), None)
        return tuple(NumpyFunctionApply.tensor(y, device) for y in outputs)

    @staticmethod
    @{torch}.autograd.function.once_differentiable  # NumPy code: no graph to differentiate twice, as in Chainer 1
    def backward(ctx, *grad_outputs):
        grads = ctx.function.backward(ctx.arrays, tuple(
            None if g is None else g.detach().contiguous().cpu().numpy() for g in grad_outputs))
        return (None, *(None if g is None or d is None else NumpyFunctionApply.tensor(g, d)
                        for g, d in zip(grads, ctx.devices)))

    @staticmethod
    def tensor(array, device):
        """The array as a tensor on device (on the CPU sharing its memory; torch takes no negative strides)."""
        array = {np}.asarray(array)
        if not array.flags.writeable or any(s < 0 for s in array.strides):
            array = array.copy()
        return {torch}.as_tensor(array, device=device)
'''

_HEADER = "from chainer import function\nfrom chainer import cuda\nimport numpy\n\n\n"
register(
    Rule("PT093", "a chainer.Function subclass derives from NumpyFunction (written into the file): torch's autograd "
         "runs its NumPy forward/backward bodies unchanged on the inputs' arrays, with the object kept in ctx",
         before=_HEADER + "class Scale(function.Function):\n    def __init__(self, a):\n        self.a = a\n\n"
                "    def forward_cpu(self, inputs):\n        return inputs[0] * self.a,\n\n"
                "    def backward_cpu(self, inputs, grad_outputs):\n        return grad_outputs[0] * self.a,\n\n\n"
                "def scale(x, a):\n    return Scale(a)(x)\n",
         after="import numpy\nimport torch\n\n\n" + BRIDGE.format(torch="torch", np="numpy") +
               "\n\nclass Scale(NumpyFunction):\n    def __init__(self, a):\n        self.a = a\n\n"
               "    def forward_cpu(self, inputs):\n        return inputs[0] * self.a,\n\n"
               "    def backward_cpu(self, inputs, grad_outputs):\n        return grad_outputs[0] * self.a,\n\n\n"
               "def scale(x, a):\n    return Scale(a)(x)\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\n\n\nclass Scale(torch.autograd.Function):\n"
               "    @staticmethod\n    def forward(ctx, x):\n        return x * 2\n",
               "# ported from chainer\nclass Function:\n    def forward(self, inputs):\n        return inputs\n\n\n"
               "class Twice(Function):\n    def forward(self, inputs):\n        return inputs * 2\n")),
    Rule("PT094", "forward_gpu/backward_gpu (CuPy code) are dropped, as NumpyFunction runs forward_cpu/backward_cpu "
         "for CUDA tensors too (a WARNING); a function with only a GPU body is marked",
         before=_HEADER + "class Neg(function.Function):\n    def forward_cpu(self, inputs):\n"
                "        return -inputs[0],\n\n    def forward_gpu(self, inputs):\n"
                "        return cuda.elementwise('T x', 'T y', 'y = -x', 'neg')(inputs[0]),\n",
         after="import numpy\nimport torch\n\n\n" + BRIDGE.format(torch="torch", np="numpy") +
               "\n\nclass Neg(NumpyFunction):\n    def forward_cpu(self, inputs):\n        return -inputs[0],\n",
         target="torch",
         noop=("# ported from chainer\nclass Kernels:\n    def forward_gpu(self, inputs):\n"
               "        return inputs\n",)),
    Rule("PT095", "check_type_forward's type_check.expect(...) becomes assert on the input arrays (their shape, "
         "dtype and ndim are the TypeInfo's); a check it cannot say exactly is dropped (a WARNING); "
         "check_type_backward, which Chainer 1.24 never calls, goes",
         before="import numpy\nfrom chainer import function\nfrom chainer.utils import type_check\n\n\n"
                "class Twice(function.Function):\n    def check_type_forward(self, in_types):\n"
                "        type_check.expect(in_types.size() == 1)\n        x_type, = in_types\n"
                "        type_check.expect(x_type.dtype == numpy.float32, x_type.ndim >= 1)\n\n"
                "    def forward(self, inputs):\n        return inputs[0] * 2,\n",
         after="import numpy\nimport torch\n\n\n" + BRIDGE.format(torch="torch", np="numpy") +
               "\n\nclass Twice(NumpyFunction):\n    def check_type_forward(self, in_types):\n"
               "        assert len(in_types) == 1\n        x_type, = in_types\n"
               "        assert x_type.dtype == numpy.float32\n        assert x_type.ndim >= 1\n\n"
               "    def forward(self, inputs):\n        return inputs[0] * 2,\n",
         target="torch",
         noop=("# ported from chainer\nclass Check:\n    def check_type_forward(self, in_types):\n"
               "        assert len(in_types) == 1\n",)),
    Rule("PT096", "inside a NumpyFunction's bodies get_array_module of the given arrays is numpy and force_array "
         "numpy.asanyarray; what the bridge lacks (self.inputs, self.outputs, retain_outputs, Chainer functions on "
         "arrays) is marked",
         before="from chainer import function\nfrom chainer import cuda\nfrom chainer.utils import force_array\n\n\n"
                "class Sum(function.Function):\n    def forward(self, inputs):\n        x, = inputs\n"
                "        xp = cuda.get_array_module(x)\n        return force_array(xp.sum(x)),\n",
         after="import numpy\nimport torch\n\n\n" + BRIDGE.format(torch="torch", np="numpy") +
               "\n\nclass Sum(NumpyFunction):\n    def forward(self, inputs):\n        x, = inputs\n"
               "        xp = numpy\n        return numpy.asanyarray(xp.sum(x)),\n",
         target="torch",
         noop=("# ported from chainer\nimport numpy\n\n\ndef total(x):\n    xp = numpy\n"
               "    return numpy.asanyarray(xp.sum(x))\n",)),
)

ARRAY_METHODS = {"forward": 1, "forward_cpu": 1, "backward": 2, "backward_cpu": 2}  # -> array parameters after self
GPU_METHODS = {"forward_gpu": ("forward", "forward_cpu"), "backward_gpu": ("backward", "backward_cpu")}
GET_ARRAY_MODULE = frozenset({"chainer.cuda.get_array_module", "chainer.backends.cuda.get_array_module",
                              "chainer.backend.get_array_module", "cupy.get_array_module"})
FORCE_ARRAY = frozenset({"chainer.utils.force_array", "chainer.utils.array.force_array"})
TYPE_CHECK = "chainer.utils.type_check."
# What a Chainer Function object has (1.24, and the v2+ retain/node API) that NumpyFunction does not, read as
# `self.<name>` in the class: the bodies must get it another way.
FUNCTION_MEMBERS = {
    "inputs": "the input Variables of the last call", "outputs": "weak references to the output Variables",
    "rank": "the graph rank", "label": "the class name (a property)", "stack": "the call's stack in debug mode",
    "local_function_hooks": "the function hooks", "add_hook": "the function hooks", "delete_hook": "the function hooks",
    "unchain": "the graph", "type_check_enable": "the type-check switch", "retain_outputs": "retained outputs",
    "output_data": "retained outputs", "node": "the v3 graph node", "get_retained_inputs": "retained inputs",
    "get_retained_outputs": "retained outputs", "apply": "the v3 FunctionNode call",
}
_COMPARISONS = (cst.Equal, cst.NotEqual, cst.LessThan, cst.LessThanEqual, cst.GreaterThan, cst.GreaterThanEqual)
# (type_check's `**` evaluates `%` in 1.24, and its bitwise operators give no testable result: not taken)
_ARITHMETIC = (cst.Add, cst.Subtract, cst.Multiply, cst.Divide, cst.FloorDivide, cst.Modulo)
_LITERALS = (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.ConcatenatedString)


def function_classes(class_bases: dict[str, set[str]]) -> set[str]:
    """The program's classes that derive, directly or through its own classes, from chainer.Function."""
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, bases in class_bases.items():
            if name not in found and any(b in FUNCTION_BASES or b.rpartition(".")[2] in found for b in bases):
                found.add(name)
                changed = True
    return found


@dataclass
class _Class:
    name: str
    direct: bool  # derives from chainer.Function itself (else from one of the program's Function classes)
    defined: set[str] = field(default_factory=set)  # names the class body defines
    drop: set[str] = field(default_factory=set)  # methods that go (GPU bodies, check_type_backward)
    gpu_only: set[str] = field(default_factory=set)  # GPU methods without a CPU body
    methods: list[str | None] = field(default_factory=list)  # the method (of this class) being visited
    arrays: dict[str, set[str]] = field(default_factory=dict)  # method -> names that hold no CuPy array


@rule_pass("torch.modules", 5)  # first of the torch passes: the bodies are NumPy before any pass reads them
class FunctionClassRules(RulePass):
    TRIGGER = re.compile(r"\bFunction\b")

    @classmethod
    def applies_to(cls, source, project) -> bool:
        return cls.TRIGGER.search(source) is not None or any(
            re.search(rf"\b{name}\b", source) for name in function_classes(project.class_bases))

    def visit_Module(self, node: cst.Module) -> None:
        super().visit_Module(node)
        self._classes: list[_Class | None] = []
        self._needs_bridge = False
        self._functions = function_classes(self.project.class_bases)
        tree = self.ctx.syntax_tree()
        bound = set() if tree is None else {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
            n.name for n in ast.walk(tree) if isinstance(n, (ast.ClassDef, ast.FunctionDef))} | {
            (a.asname or a.name).split(".")[0] for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
            for a in n.names}
        self._bridge_free = tree is not None and not bound & set(BRIDGE_NAMES)

    def finish_module(self, module: cst.Module) -> cst.Module:
        if not self._needs_bridge:
            return module
        text = BRIDGE.format(torch=self.need_import("torch"), np=self.need_import("numpy"))
        # after the imports, as netport's definitions go, but before the first class that derives from it (an
        # import may come at the end of a file)
        body = list(module.body)
        first = next(i for i, statement in enumerate(body) if _mentions(statement, "NumpyFunction"))
        head = insert_definition(module.with_changes(body=body[:first]), text)
        rest = body[first:]
        if len(head.body) == len(body[:first]) + len(cst.parse_module(text).body):  # it went last in `head`
            rest[0] = rest[0].with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine(), *[
                line for line in rest[0].leading_lines if line.comment is not None]])
        return module.with_changes(body=[*head.body, *rest])

    # classes ---------------------------------------------------------------------------------------------------

    def _kind(self, node: cst.ClassDef) -> bool | None:
        """True: a direct chainer.Function subclass; False: a subclass of the program's; None: neither."""
        qualified = [self.qualified(b.value) if is_dotted(b.value) else None for b in node.bases]
        if any(q in FUNCTION_BASES for q in qualified):
            return True
        if any(q is not None and not q.startswith("chainer.") and q.rpartition(".")[2] in self._functions
               for q in qualified) or any(isinstance(b.value, cst.Name) and self.qualified(b.value) is None and
                                          b.value.value in self._functions for b in node.bases):
            return False
        return None

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        kind = self._kind(node)
        if kind is None or self._classes and self._classes[-1] is not None and self._classes[-1].methods and \
                self._classes[-1].methods[-1] is not None or kind and not self._bridge_free:
            self._classes.append(None)  # (a class inside a method, or a file that has its own NumpyFunction)
            return
        info = _Class(node.name.value, kind)
        statements = _class_statements(node)
        methods = {s.name.value: s for s in statements if isinstance(s, cst.FunctionDef)}
        info.defined = set(methods) | {t.value for s in statements if isinstance(s, cst.SimpleStatementLine)
                                       for small in s.body if isinstance(small, (cst.Assign, cst.AnnAssign))
                                       for t in _assigned_names(small)}
        used = {a.attr.value for a in _attributes_of_self(node)}
        for gpu, cpu in GPU_METHODS.items():
            if gpu not in methods or gpu in used:
                continue  # (one that the class calls itself stays, with what marks its CuPy code)
            if kind and not any(name in methods for name in cpu):
                info.gpu_only.add(gpu)
            else:
                info.drop.add(gpu)
        if "check_type_backward" in methods:
            info.drop.add("check_type_backward")
        for name, count in ARRAY_METHODS.items():
            if name in methods:
                info.arrays[name] = _array_names(methods[name], count)
        self._classes.append(info)

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        info = self._classes.pop()
        if info is None:
            return updated
        if info.drop and isinstance(updated.body, cst.IndentedBlock):
            updated = updated.with_changes(body=updated.body.with_changes(body=_without(updated.body.body, info.drop)))
        if not info.direct:
            return updated
        bases = [base.with_changes(value=cst.Name("NumpyFunction")) if is_dotted(old.value) and
                 self.qualified(old.value) in FUNCTION_BASES else base
                 for old, base in zip(original.bases, updated.bases)]
        self._needs_bridge = True
        self.info(original, "PT093", f"`{info.name}` (a chainer.Function) derives from NumpyFunction, written into "
                  "this file: torch's autograd runs its forward/backward bodies unchanged on the inputs' NumPy arrays, "
                  "as Chainer did on the CPU, with the object (and what the bodies keep on it) held in ctx")
        return updated.with_changes(bases=bases)

    def _class(self) -> _Class | None:
        return self._classes[-1] if self._classes else None

    def _method(self) -> str | None:
        info = self._class()
        return info.methods[-1] if info is not None and info.methods else None

    # methods ---------------------------------------------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        info = self._class()
        if info is None:
            return True
        if info.methods:  # a function inside a method: the method's own context goes on
            info.methods.append(info.methods[-1])
            return True
        name = node.name.value
        info.methods.append(name)
        if name in info.drop:  # (leave_ClassDef takes it out)
            if name == "check_type_backward":
                self.info(node, "PT095", "check_type_backward goes: Chainer 1.24 never calls it")
            else:
                self.warn(node, "PT094", f"`{name}` (CuPy code) is not carried over: NumpyFunction runs "
                          f"{' or '.join(GPU_METHODS[name])} on NumPy arrays for CUDA tensors too, copied to the host "
                          "and back; write the GPU path with torch operations if its speed matters")
            return False
        if name in info.gpu_only:
            cpu = GPU_METHODS[name][1]
            self.todo(node, "PT094", f"`{info.name}` has only a CuPy `{name}`: NumpyFunction runs `{cpu}` on NumPy "
                      f"arrays (for CUDA tensors too), so write `{cpu}` with NumPy, or the function as torch "
                      "operations")
        if name == "check_type_forward":
            return False  # leave_FunctionDef rewrites it whole
        return True

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef):
        info = self._class()
        if info is None:
            return updated
        name = info.methods.pop()
        if info.methods or name != "check_type_forward":
            return updated
        checker = _TypeCheck(self, original)
        body = checker.body()
        if body is None:
            info.drop.add(name)
            self.warn(original, "PT095", "check_type_forward is dropped: its type_check expressions have no exact "
                      "plain-Python form here (Chainer raised InvalidType for inputs they rejected); check the "
                      "input arrays with assert by hand if that matters")
            return updated
        if not checker.changed:
            return updated
        self.info(original, "PT095", "check_type_forward's type_check.expect(...) checks are asserts on the input "
                  "arrays, which NumpyFunction passes it before forward, as Chainer passed their TypeInfo")
        return updated.with_changes(body=updated.body.with_changes(body=body))

    # inside the bodies -----------------------------------------------------------------------------------------

    def _in_body(self) -> bool:
        info = self._class()
        return info is not None and bool(info.methods)

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if not self._in_body():
            return updated
        callee = self.callee(original)
        if callee in GET_ARRAY_MODULE:
            arrays = self._class().arrays.get(self._method())
            if arrays is not None and all(_holds_no_cupy(a.value, arrays) for a in original.args):
                np = self.need_import("numpy")
                self.info(original, "PT096", f"`{code(original)}` is `{np}`: NumpyFunction gives the bodies NumPy "
                          "arrays")
                return cst.parse_expression(np).with_changes(lpar=original.lpar, rpar=original.rpar)
        if callee in FORCE_ARRAY:
            values = bind_arguments(updated, ["x", "dtype"])
            if values is not None and "x" in values:
                np = self.need_import("numpy")
                self.info(original, "PT096", "force_array(x) is `numpy.asanyarray(x)`: a 0-d array of a scalar, an "
                          "array as it is (cast to dtype when one is given)")
                return updated.with_changes(func=cst.parse_expression(f"{np}.asanyarray"))
        return updated

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if not self._in_body():
            return True
        info = self._class()
        if isinstance(node.value, cst.Name) and node.value.value == "self" and \
                node.attr.value in FUNCTION_MEMBERS and node.attr.value not in info.defined:
            member = node.attr.value
            self.todo(node, "PT096", f"`self.{member}` is Chainer's Function's ({FUNCTION_MEMBERS[member]}), which "
                      "NumpyFunction does not keep: use the arrays forward/backward receive, or keep what backward "
                      "needs on self in forward")
            return True
        return not self._chainer_name(node)

    def visit_Name(self, node: cst.Name) -> None:
        if self._in_body():
            parent = self.parent(node)
            if not (isinstance(parent, cst.Attribute) and parent.attr is node):
                self._chainer_name(node)

    def _chainer_name(self, node) -> bool:
        """Mark a Chainer name inside a body (it would get NumPy arrays, and a torch rule would make it a torch
        call on them); CUDA names are the device rules' (PT060-PT064), which convert or mark them."""
        qualified = self.qualified(node) if is_dotted(node) else None
        if qualified is None or not (qualified == "chainer" or qualified.startswith("chainer.")):
            return False
        if qualified.startswith(("chainer.cuda", "chainer.backends.cuda")) or qualified in GET_ARRAY_MODULE | \
                FORCE_ARRAY:
            return True
        parent = self.parent(node)
        if not (isinstance(parent, cst.Call) and parent.func is node and self.callee(parent) in FORCE_ARRAY):
            self.todo(node, "PT096", f"`{qualified}` inside a NumpyFunction body: the bodies compute on NumPy arrays "
                      "(Chainer's functions would return Variables); write this with NumPy")
        return True


# --- analysis helpers ------------------------------------------------------------------------------------------

def _mentions(node: cst.CSTNode, name: str) -> bool:
    found = []

    class Visitor(cst.CSTVisitor):
        def visit_Name(self, visited: cst.Name) -> None:
            if visited.value == name:
                found.append(visited)

    node.visit(Visitor())
    return bool(found)


def _without(statements, methods: set[str]) -> list[cst.BaseStatement]:
    """The class body less these methods; their comments (not their blank lines) go to what comes next."""
    kept: list[cst.BaseStatement] = []
    comments: list[cst.EmptyLine] = []
    for statement in statements:
        if isinstance(statement, cst.FunctionDef) and statement.name.value in methods:
            comments += [line for line in statement.leading_lines if line.comment is not None]
            continue
        if comments:
            statement = statement.with_changes(leading_lines=[*statement.leading_lines, *comments])
            comments = []
        kept.append(statement)
    return kept or [cst.parse_statement("pass\n")]


def _class_statements(node: cst.ClassDef) -> list[cst.BaseStatement]:
    return list(node.body.body) if isinstance(node.body, cst.IndentedBlock) else []


def _assigned_names(small) -> list[cst.Name]:
    targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
    return [t for t in targets if isinstance(t, cst.Name)]


def _attributes_of_self(node: cst.CSTNode) -> list[cst.Attribute]:
    found: list[cst.Attribute] = []

    class Visitor(cst.CSTVisitor):
        def visit_Attribute(self, attribute: cst.Attribute) -> None:
            if isinstance(attribute.value, cst.Name) and attribute.value.value == "self":
                found.append(attribute)

    node.visit(Visitor())
    return found


_PARAMETER = object()  # a binding by the call: the arrays NumpyFunction passes


def _array_names(method: cst.FunctionDef, count: int) -> set[str]:
    """The names of a forward/backward body that can hold no CuPy array: its array parameters (NumPy arrays, as
    NumpyFunction passes them) and names every binding of which is taken from them (an element, an attribute,
    a method's result), or a literal. A greatest fixpoint over the body's bindings (nested scopes excluded)."""
    try:
        tree = ast.parse(textwrap.dedent(code(method)))
    except SyntaxError:
        return set()
    function = tree.body[0]
    if not isinstance(function, ast.FunctionDef):
        return set()
    parameters = [a.arg for a in function.args.posonlyargs + function.args.args]
    bindings: dict[str, list] = {}
    for name in parameters[1:1 + count]:
        bindings.setdefault(name, []).append(_PARAMETER)
    for name in parameters[:1] + parameters[1 + count:] + [a.arg for a in function.args.kwonlyargs] + [
            a.arg for a in (function.args.vararg, function.args.kwarg) if a is not None]:
        bindings.setdefault(name, []).append(None)

    def bind(target: ast.expr, value) -> None:
        if isinstance(target, ast.Name):
            bindings.setdefault(target.id, []).append(value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                bind(element.value if isinstance(element, ast.Starred) else element,
                     None if value is None else ("element", value))
        elif isinstance(target, ast.Starred):
            bind(target.value, None if value is None else ("element", value))

    for node in _own_scope(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                bind(target, node.value)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            bindings.setdefault(node.target.id, []).append(("both", node.target, node.value))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            bind(node.target, node.value)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            bind(node.target, ("element", node.iter))
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    bind(item.optional_vars, None)
        elif isinstance(node, ast.NamedExpr):
            bind(node.target, None)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bindings.setdefault((alias.asname or alias.name).split(".")[0], []).append(None)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node is not function:
            bindings.setdefault(node.name, []).append(None)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bindings.setdefault(node.name, []).append(None)
        elif isinstance(node, (ast.Global, ast.Nonlocal, ast.Delete)):
            for name in getattr(node, "names", ()) or [t.id for t in getattr(node, "targets", ())
                                                        if isinstance(t, ast.Name)]:
                bindings.setdefault(name, []).append(None)
        elif isinstance(node, ast.comprehension):
            for name in ast.walk(node.target):  # (its own scope, but the same names may be read in it)
                if isinstance(name, ast.Name):
                    bindings.setdefault(name.id, []).append(None)
    names = set(bindings)
    changed = True
    while changed:
        changed = False
        for name in list(names):
            if not all(_binding_holds_no_cupy(b, names) for b in bindings[name]):
                names.discard(name)
                changed = True
    return names


def _own_scope(function: ast.FunctionDef):
    """The nodes of a function's body, not those of functions, lambdas or classes defined in it (but their
    names, which it binds), comprehensions' targets included."""
    stack = list(function.body)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        stack.extend(ast.iter_child_nodes(node))


def _binding_holds_no_cupy(binding, names: set[str]) -> bool:
    if binding is _PARAMETER:
        return True
    if binding is None:
        return False
    if isinstance(binding, tuple) and binding[0] == "element":
        return _value_holds_no_cupy(binding[1], names)
    if isinstance(binding, tuple) and binding[0] == "both":
        return _value_holds_no_cupy(binding[1], names) and _value_holds_no_cupy(binding[2], names)
    return _value_holds_no_cupy(binding, names)


def _value_holds_no_cupy(value: ast.expr, names: set[str]) -> bool:
    """A value computed only from NumPy arrays and literals: an array's element, attribute or method result,
    arithmetic on them, a tuple of them (none of which NumPy makes a CuPy array)."""
    if isinstance(value, ast.Name):
        return value.id in names
    if isinstance(value, ast.Constant):
        return True
    if isinstance(value, (ast.Subscript, ast.Attribute)):
        return _value_holds_no_cupy(value.value, names)
    if isinstance(value, ast.Call):
        return isinstance(value.func, ast.Attribute) and _value_holds_no_cupy(value.func.value, names) and all(
            _value_holds_no_cupy(a.value if isinstance(a, ast.Starred) else a, names) for a in value.args) and all(
            _value_holds_no_cupy(k.value, names) for k in value.keywords)
    if isinstance(value, ast.BinOp):
        return _value_holds_no_cupy(value.left, names) and _value_holds_no_cupy(value.right, names)
    if isinstance(value, ast.UnaryOp):
        return _value_holds_no_cupy(value.operand, names)
    if isinstance(value, (ast.Tuple, ast.List)):
        return all(_value_holds_no_cupy(e.value if isinstance(e, ast.Starred) else e, names) for e in value.elts)
    return False


def _holds_no_cupy(value: cst.BaseExpression, names: set[str]) -> bool:
    """The same test on the CST of an argument."""
    try:
        tree = ast.parse(f"({code(value)})", mode="eval")
    except SyntaxError:
        return False
    return _value_holds_no_cupy(tree.body, names)


# --- check_type_forward -----------------------------------------------------------------------------------------

class _NotExact(Exception):
    pass


class _TypeCheck:
    """check_type_forward's body with each ``type_check.expect(a, b)`` as ``assert a`` / ``assert b``, on the
    input arrays instead of their TypeInfo (the same shape, dtype and ndim; ``in_types.size()`` is ``len``)."""

    def __init__(self, rule: RulePass, method: cst.FunctionDef):
        self.rule = rule
        self.method = method
        parameters = method.params.params
        self.in_types = parameters[1].name.value if len(parameters) == 2 else ""
        self.types: set[str] = set()  # names holding one input's TypeInfo (here: the input array)
        self.variables: set[str] = set()  # names holding a type_check.Variable (here: its value)
        self.changed = False

    def body(self) -> list[cst.BaseStatement] | None:
        """The new body; None where the old one does anything else (eval(), a bare TypeInfo, a call, an ``if``
        on types...)."""
        params = self.method.params
        if not self.in_types or not isinstance(params.star_arg, cst.MaybeSentinel) or params.kwonly_params or \
                params.star_kwarg is not None or not isinstance(self.method.body, cst.IndentedBlock):
            return None
        try:
            return self.block(list(self.method.body.body), first=True)
        except _NotExact:
            return None

    def block(self, statements, first=False) -> list[cst.BaseStatement]:
        out: list[cst.BaseStatement] = []
        for i, statement in enumerate(statements):
            new = self.statement(statement, docstring=first and i == 0)
            if new:
                new[0] = new[0].with_changes(leading_lines=statement.leading_lines)
            out += new
        return out

    def statement(self, statement, docstring: bool) -> list[cst.BaseStatement]:
        if isinstance(statement, cst.For) and statement.orelse is None and isinstance(statement.target, cst.Name) \
                and self._sequence(statement.iter) and isinstance(statement.body, cst.IndentedBlock):
            self.types.add(statement.target.value)
            return [statement.with_changes(body=statement.body.with_changes(body=self.block(statement.body.body)))]
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            raise _NotExact
        small = statement.body[0]
        if isinstance(small, cst.Pass) or docstring and isinstance(small, cst.Expr) and \
                isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString)):
            return [statement]
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call) and \
                self.rule.callee(small.value) == TYPE_CHECK + "expect":
            asserts = []
            self.changed = True
            for arg in small.value.args:
                if arg.keyword is not None or arg.star:
                    raise _NotExact
                asserts.append(cst.SimpleStatementLine(body=[cst.Assert(test=self.comparison(arg.value))]))
            return asserts
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            return [statement.with_changes(body=[small.with_changes(value=self.binding(small.targets[0].target,
                                                                                       small.value))])]
        raise _NotExact

    def _sequence(self, node) -> bool:
        """``in_types`` or a slice of it: a sequence of TypeInfo."""
        if isinstance(node, cst.Name):
            return node.value == self.in_types
        return isinstance(node, cst.Subscript) and self._sequence(node.value) and len(node.slice) == 1 and \
            isinstance(node.slice[0].slice, cst.Slice)

    def binding(self, target, value) -> cst.BaseExpression:
        if self._sequence(value) and isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                if isinstance(element, cst.StarredElement) and isinstance(element.value, cst.Name):
                    continue  # (a list of TypeInfo: not one, and not read as one below)
                if not (isinstance(element, cst.Element) and isinstance(element.value, cst.Name)):
                    raise _NotExact
                self.types.add(element.value.value)
            return value
        if not isinstance(target, cst.Name):
            raise _NotExact
        if self._type_info(value):
            self.types.add(target.value)
            return value
        if isinstance(value, cst.Call) and self.rule.callee(value) == TYPE_CHECK + "Variable":
            self.variables.add(target.value)
            self.changed = True
            return self.expression(value)[0]
        raise _NotExact

    def _type_info(self, node) -> bool:
        """One input's TypeInfo: a name bound to one, or ``in_types[i]``."""
        if isinstance(node, cst.Name):
            return node.value in self.types
        return isinstance(node, cst.Subscript) and isinstance(node.value, cst.Name) and \
            node.value.value == self.in_types and len(node.slice) == 1 and \
            isinstance(node.slice[0].slice, cst.Index) and _is_int(node.slice[0].slice.value)

    def comparison(self, node) -> cst.BaseExpression:
        """One ``expect`` argument: a single comparison with an input's type on a side (else Chainer's expect
        fails: only such a comparison is Testable)."""
        if not (isinstance(node, cst.Comparison) and len(node.comparisons) == 1 and
                isinstance(node.comparisons[0].operator, _COMPARISONS)):
            raise _NotExact
        left, typed_left = self.expression(node.left)
        right, typed_right = self.expression(node.comparisons[0].comparator)
        if not (typed_left or typed_right):
            raise _NotExact
        test = node.with_changes(left=left, comparisons=[node.comparisons[0].with_changes(comparator=right)],
                                 lpar=[], rpar=[])
        if "\n" in code(test):  # (it spanned lines inside expect's parentheses)
            test = test.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return test

    def expression(self, node) -> tuple[cst.BaseExpression, bool]:
        """The expression on the arrays, and whether it involves the input types (a type_check Expr)."""
        if isinstance(node, _LITERALS):
            return node, False
        if isinstance(node, cst.Name):
            if node.value in self.types or node.value == self.in_types:
                raise _NotExact  # a TypeInfo itself (or the tuple): compared as an object, not as an array
            return node, node.value in self.variables
        if isinstance(node, cst.Attribute):
            attributes = []
            base = node
            while isinstance(base, cst.Attribute):
                attributes.insert(0, base.attr.value)
                base = base.value
            if self._type_info(base):
                if attributes[0] not in ("shape", "dtype", "ndim") or attributes[0] != "dtype" and len(attributes) > 1:
                    raise _NotExact  # (a TypeInfo has only these; a dtype's own attributes are the array's)
                return node, True
            if isinstance(base, cst.Name) and base.value not in self.types and base.value != self.in_types:
                return node, base.value in self.variables
            raise _NotExact
        if isinstance(node, cst.Subscript):
            if isinstance(node.value, cst.Attribute) and node.value.attr.value == "shape" and \
                    self._type_info(node.value.value) and all(_constant_slice(e.slice) for e in node.slice):
                return node, True
            raise _NotExact
        if isinstance(node, cst.Call):
            if isinstance(node.func, cst.Attribute) and node.func.attr.value == "size" and not node.args and \
                    isinstance(node.func.value, cst.Name) and node.func.value.value == self.in_types:
                return cst.Call(func=cst.Name("len"), args=[cst.Arg(node.func.value)], lpar=node.lpar,
                                rpar=node.rpar), True
            if self.rule.callee(node) == TYPE_CHECK + "Variable" and node.args and node.args[0].keyword is None:
                value, _ = self.expression(node.args[0].value)
                return value, True
            raise _NotExact
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, _ARITHMETIC):
            left, typed_left = self.expression(node.left)
            right, typed_right = self.expression(node.right)
            return node.with_changes(left=left, right=right), typed_left or typed_right
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
            operand, typed = self.expression(node.expression)
            return node.with_changes(expression=operand), typed
        if isinstance(node, cst.Tuple):
            elements, typed = [], False
            for element in node.elements:
                if not isinstance(element, cst.Element):
                    raise _NotExact
                value, element_typed = self.expression(element.value)
                elements.append(element.with_changes(value=value))
                typed = typed or element_typed
            return node.with_changes(elements=elements), typed
        raise _NotExact


def _is_int(node) -> bool:
    return isinstance(node, cst.Integer) or isinstance(node, cst.UnaryOperation) and \
        isinstance(node.operator, cst.Minus) and isinstance(node.expression, cst.Integer)


def _constant_slice(node) -> bool:
    if isinstance(node, cst.Index):
        return _is_int(node.value)
    return isinstance(node, cst.Slice) and all(part is None or _is_int(part)
                                               for part in (node.lower, node.upper, node.step))
