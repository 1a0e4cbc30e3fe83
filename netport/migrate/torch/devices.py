"""PT060-PT064: Chainer's CUDA module (``chainer.backends.cuda``) and CuPy on the torch target.

In the migrated program a CuPy array is a CUDA tensor and a NumPy array that reaches a model is a CPU
tensor; NumPy arrays that stay on the host stay NumPy. So CUDA checks become ``torch.cuda`` checks,
``to_gpu`` creates a tensor on the GPU and ``to_cpu`` gives NumPy for a tensor and an array alike (as
Chainer did for CuPy and NumPy). What chose an array module by where arrays live (``get_array_module``,
``cuda.cupy``), CuPy calls and custom CUDA kernels cannot be converted call by call: they are marked
with what replaces them. (``get_device_from_id(g).use()``, ``model.to_gpu()`` and the module-level
``xp = np if cpu else cuda.cupy`` are PT025, ``to_cpu(v.data)`` PT022, in scripts.py.)
"""

from __future__ import annotations

import ast
import re

import libcst as cst

from netport.migrate.imports import import_map, qualified_name
from netport.migrate.passes import RulePass, bind_arguments, code, insert_definition, is_dotted, primary
from netport.migrate.registry import rule_pass
from netport.migrate.rules import Rule, register
from netport.migrate.torch.scripts import _array_module_choice, names_bound_only_to

# Chainer 1.24 cuda.check_cuda_available: RuntimeError('CUDA environment is not correctly set up\n(see ...)' +
# why CuPy could not be imported) when CuPy is not usable; torch.cuda.is_available() is torch's test.
CUDA_ERROR = "CUDA environment is not correctly set up"

# Chainer 1.24 cuda.to_cpu: a CuPy array -> array.get() (a NumPy copy), a NumPy array -> itself (no copy);
# cupy.asnumpy the same (np.asarray for anything else). A CUDA tensor plays the CuPy array here, and a CPU
# tensor the NumPy array it was made from, whose memory .numpy() shares as Chainer's returned array did.
TO_NUMPY = '''def to_numpy(x):
    """Chainer's cuda.to_cpu(x): a tensor (on any device) as a NumPy array; a NumPy array as it is."""
    return x.detach().cpu().numpy() if isinstance(x, {torch}.Tensor) else {np}.asarray(x)
'''

register(
    Rule("PT060", "CUDA checks: cuda.check_cuda_available() raises Chainer's RuntimeError unless "
         "torch.cuda.is_available(); cuda.available is torch.cuda.is_available()",
         before="from chainer import cuda\nif gpu >= 0:\n    cuda.check_cuda_available()\nuse = cuda.available\n",
         after="import torch\n\nif gpu >= 0:\n    if not torch.cuda.is_available():\n"
               f"        raise RuntimeError('{CUDA_ERROR}')\nuse = torch.cuda.is_available()\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\nif not torch.cuda.is_available():\n"
               "    raise RuntimeError('no GPU')\n",
               "# ported from chainer\nfrom numba import cuda\nok = cuda.is_available()\n")),
    Rule("PT061", "cuda.to_gpu(x, device) is a tensor on that GPU; cuda.to_cpu(x) and cupy.asnumpy(x) are NumPy "
         "arrays (to_numpy, written into the file, takes a tensor or an array as Chainer took CuPy or NumPy)",
         before="import numpy as np\nfrom chainer import cuda\nx = cuda.to_gpu(x, device=gpu)\ny = cuda.to_cpu(x)\n",
         after="import numpy as np\nimport torch\n\n\n" + TO_NUMPY.format(torch="torch", np="np") +
               "\n\nx = torch.as_tensor(x, device=torch.device('cuda', gpu))\ny = to_numpy(x)\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\nx = torch.as_tensor(x, device='cuda')\n"
               "y = x.detach().cpu().numpy()\n",
               "# ported from chainer\nimport queue\nq = queue.Queue()\nitem = q.get()\n")),
    Rule("PT062", "device objects: isinstance(x, cuda.ndarray) asks whether x is a CUDA tensor; a device "
         "selected by an array, cupy's Device and get_device_from_id other than use() are marked",
         before="from chainer import cuda\nif isinstance(a, cuda.ndarray):\n    print('gpu')\n",
         after="import torch\n\nif isinstance(a, torch.Tensor) and a.is_cuda:\n    print('gpu')\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\nif isinstance(a, torch.Tensor) and a.is_cuda:\n"
               "    print('gpu')\n",
               "# ported from chainer\nimport numpy as np\nif isinstance(a, np.ndarray):\n    print('cpu')\n")),
    Rule("PT063", "array modules: cuda.get_array_module, cuda.cupy and CuPy calls are marked (the arrays that "
         "reach a model are tensors: torch functions on the tensor's device replace the xp calls)",
         before="from chainer import cuda\n\n\ndef f(x):\n    xp = cuda.get_array_module(x)\n    return xp.zeros(3)\n",
         after="from chainer.backends import cuda\n\n\ndef f(x):\n    xp = cuda.get_array_module(x)  "
               "# netport: TODO(PT063): `xp = cuda.get_array_module(x)` chose NumPy or CuPy by where the arrays "
               "live: in torch the arrays that reach a model are tensors, so replace each `xp.` call here by the "
               "torch function on the tensor's device (e.g. `torch.zeros(shape, dtype=torch.float32, "
               "device=x.device)`), or by NumPy for arrays that stay on the host\n    return xp.zeros(3)\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\n\n\ndef f(x):\n    return torch.zeros(3, device=x.device)\n",
               "# ported from chainer\nimport numpy as np\nxp = np\ny = xp.zeros(3)\n")),
    Rule("PT064", "custom CUDA kernels (cuda.elementwise, cuda.reduce, cupy.ElementwiseKernel and the like) are "
         "marked: torch tensor expressions (which run on the GPU too) or a custom op replace them",
         before="from chainer import cuda\nk = cuda.elementwise('T x', 'T y', 'y = x * x', 'square')\n",
         after="from chainer.backends import cuda\nk = cuda.elementwise('T x', 'T y', 'y = x * x', 'square')  "
               "# netport: TODO(PT064): `cuda.elementwise` kernel 'square' is a custom CUDA kernel (CuPy): write "
               "its operation ('y = x * x') as torch tensor expressions, which run on the GPU as well, or as a "
               "custom op (torch.utils.cpp_extension.load_inline, a Triton kernel)\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\n\n\ndef square(x):\n    return x * x\n",
               "# ported from chainer\nfrom numba import cuda\nk = cuda.jit(f)\n")),
)

CUDA_MODULES = ("chainer.backends.cuda.", "chainer.cuda.")
# custom kernels: Chainer's helpers and CuPy's classes (qualified after chainer.backends.cuda. or cupy.)
KERNELS = {"elementwise", "reduce", "raw", "cupy.ElementwiseKernel", "cupy.ReductionKernel", "cupy.RawKernel",
           "cupy.RawModule", "cupy.fuse", "fusion.fuse", "cupy.cuda.compile_with_cache"}
KERNEL_TEXT = {"elementwise": 2, "reduce": 2, "cupy.ElementwiseKernel": 2, "cupy.ReductionKernel": 2}  # operation
KERNEL_NAME = {"elementwise": 3, "reduce": 6, "raw": 3, "cupy.ElementwiseKernel": 3, "cupy.ReductionKernel": 6}
CUPY_FIX = "in torch a CuPy array is a CUDA tensor: use the torch function (on the tensor's device, or " \
           "device='cuda'), or NumPy for an array that stays on the host"


def _cuda_name(qualified: str | None) -> str | None:
    """``cuda.to_gpu`` -> ``to_gpu``, ``cuda.cupy.zeros`` -> ``cupy.zeros``, ``cupy.zeros`` -> ``cupy.zeros``; None
    for anything else."""
    if qualified is None:
        return None
    for prefix in CUDA_MODULES:
        if qualified.startswith(prefix):
            return qualified[len(prefix):]
    return qualified if qualified == "cupy" or qualified.startswith("cupy.") else None


@rule_pass("torch.scripts", 20)  # after ScriptRules: PT022 takes cuda.to_cpu(v.data), PT025 the xp choice
class DeviceRules(RulePass):
    TRIGGER = re.compile(r"\bcuda\b|\bcupy\b|\.to_[cg]pu\(")

    def visit_Module(self, node: cst.Module) -> None:
        super().visit_Module(node)
        self._needs_to_numpy = False
        tree = self.ctx.syntax_tree()
        self._modules = _array_module_names(tree)  # names an array module (possibly CuPy) is assigned to
        self._free = tree is not None and not _binds(tree, "to_numpy")
        self._module_objects = _module_objects(tree, self.project)
        self._device_named = tree is None or any(isinstance(n, ast.Name) and n.id == "device" or
                                                 isinstance(n, ast.arg) and n.arg == "device" for n in ast.walk(tree))

    def finish_module(self, module: cst.Module) -> cst.Module:
        if not self._needs_to_numpy:
            return module
        text = TO_NUMPY.format(torch=self.need_import("torch"), np=self.need_import("numpy"))
        return insert_definition(module, text)

    # calls ------------------------------------------------------------------------------------------

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if code(updated.func) != code(original.func):
            return updated  # an earlier rule converted it (PT022's cuda.to_cpu(v.data))
        name = _cuda_name(self.callee(original))
        if name == "check_cuda_available":
            return self._check_available(original, updated)
        if name == "to_gpu":
            return self._to_gpu(original, updated)
        if name in ("to_cpu", "cupy.asnumpy"):
            return self._to_cpu(original, updated, name)
        if name == "get_array_module":
            text, module = self._assigned(original)
            array = primary(original.args[0].value) if len(original.args) == 1 else "x"
            self.todo(original, "PT063", f"`{text}` chose NumPy or CuPy by where the arrays live: in torch the "
                      f"arrays that reach a model are tensors, so replace each `{module}.` call here by the torch "
                      f"function on the tensor's device (e.g. `torch.zeros(shape, dtype=torch.float32, "
                      f"device={array}.device)`), or by NumPy for arrays that stay on the host")
            return updated
        if name in KERNELS:
            return self._kernel(original, updated, name)
        if name in ("get_device", "get_device_from_array"):
            self.todo(original, "PT062", f"`cuda.{name}(...)` selected the GPU of a CuPy array (the CPU for "
                      "anything else, a Variable included): torch runs each operation on the device of its tensors, "
                      "so drop this selection, or use `torch.cuda.device_of(t)` with a tensor t")
            return updated
        if name == "get_device_from_id" and not self._used(original):
            self.todo(original, "PT062", "a Chainer device object: `torch.cuda.device(g)` selects GPU g in a `with`, "
                      "`torch.cuda.synchronize(g)` waits for it (get_device_from_id(g).use() is converted)")
            return updated
        if name == "Device":
            self.todo(original, "PT062", "cupy's Device: `torch.cuda.set_device(g)` selects a GPU, "
                      "`torch.cuda.current_device()` is the current one; cuBLAS calls on its handle are torch "
                      "matrix products (torch.matmul) on CUDA tensors")
            return updated
        if isinstance(original.func, cst.Name) and original.func.value == "isinstance" and len(original.args) == 2:
            return self._isinstance(original, updated)
        if isinstance(original.func, cst.Attribute) and original.func.attr.value == "get" and \
                self._gpu_array(original.func.value):
            self.todo(original, "PT063", f"`{code(original.func.value)}` is a CuPy array: its get() copies it to the "
                      "host; for a CUDA tensor that is `.cpu().numpy()`")
        return updated

    def _assigned(self, call: cst.Call) -> tuple[str, str]:
        """(the assignment's text, the name assigned) for `xp = call`; else (the call's text, "xp")."""
        statement = self.statement
        if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 and \
                isinstance(statement.body[0], cst.Assign) and statement.body[0].value is call and \
                len(statement.body[0].targets) == 1:
            return code(statement.body[0]).strip(), code(statement.body[0].targets[0].target)
        return code(call), "xp"

    def _used(self, call: cst.Call) -> bool:
        """``get_device_from_id(g).use()``, which PT025 converts."""
        parent = self.parent(call)
        return isinstance(parent, cst.Attribute) and parent.attr.value == "use"

    def _check_available(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        statement = self.statement
        if original.args or not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 and
                                 isinstance(statement.body[0], cst.Expr) and statement.body[0].value is original):
            self.todo(original, "PT060", "cuda.check_cuda_available() not on a line of its own: raise "
                      "RuntimeError('CUDA environment is not correctly set up') unless torch.cuda.is_available()")
            return updated
        torch = self.need_import("torch")
        new = cst.parse_statement(f"if not {torch}.cuda.is_available():\n    raise RuntimeError({CUDA_ERROR!r})\n")
        comment = statement.trailing_whitespace.comment
        if comment is not None:  # the line's comment stays on the `if` line
            new = new.with_changes(body=new.body.with_changes(header=cst.TrailingWhitespace(
                whitespace=cst.SimpleWhitespace("  "), comment=comment)))
        self.insert_after(statement, [new])
        self.remove(statement)
        self.info(original, "PT060", "cuda.check_cuda_available() raises RuntimeError unless "
                  "torch.cuda.is_available()")
        return updated

    def _to_gpu(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        values = bind_arguments(updated, ["array", "device", "stream"])
        if values is None or "array" not in values or "stream" in values and code(values["stream"]) != "None":
            self.todo(original, "PT061", "cuda.to_gpu with these arguments: `torch.as_tensor(x, device=...)` creates "
                      "the tensor on a GPU (a CUDA stream: `with torch.cuda.stream(s):` around it)")
            return updated
        torch = self.need_import("torch")
        device = values.get("device")
        text = code(device) if device is not None else "None"
        if text == "None":  # Chainer: the current device
            target = "'cuda'"
        elif isinstance(device, cst.Integer):
            target = f"'cuda:{text}'"
        else:  # an id (torch.device('cuda', None) is the current device, as Chainer's None was)
            target = f"{torch}.device('cuda', {text})"
        self.info(original, "PT061", f"cuda.to_gpu(x) is a tensor on the GPU: `torch.as_tensor(x, device={target})` "
                  "(a tensor already there is returned as it is, as Chainer returned a CuPy array)")
        return cst.parse_expression(f"{torch}.as_tensor({code(values['array'])}, device={target})")

    def _to_cpu(self, original: cst.Call, updated: cst.Call, name: str) -> cst.BaseExpression:
        values = bind_arguments(updated, ["array", "stream"] if name == "to_cpu" else ["a", "stream"])
        array = values and values.get("array", values.get("a"))
        if array is None or "stream" in values and code(values["stream"]) != "None" or not self._free:
            why = "with these arguments" if self._free else "in a file with its own `to_numpy`"
            self.todo(original, "PT061", f"cuda.{name} {why}: a tensor's NumPy array is `.detach().cpu().numpy()`, "
                      "a NumPy array stays as it is")
            return updated
        self._needs_to_numpy = True
        self.info(original, "PT061", f"cuda.{name}(x) is `to_numpy(x)` (written into this file): "
                  "`.detach().cpu().numpy()` of a tensor, a NumPy array as it is, as Chainer returned")
        return cst.parse_expression(f"to_numpy({code(array)})")

    def _kernel(self, original: cst.Call, updated: cst.Call, name: str) -> cst.BaseExpression:
        args = [a for a in original.args if a.keyword is None]
        label = args[KERNEL_NAME[name]].value if name in KERNEL_NAME and len(args) > KERNEL_NAME[name] else None
        operation = args[KERNEL_TEXT[name]].value if name in KERNEL_TEXT and len(args) > KERNEL_TEXT[name] else None
        what = f"`{code(original.func)}` kernel" + (f" {code(label)}" if isinstance(label, cst.SimpleString) else "")
        body = f"its operation ({code(operation)})" if isinstance(operation, cst.SimpleString) and \
            len(code(operation)) <= 80 else "its operation"
        self.todo(original, "PT064", f"{what} is a custom CUDA kernel (CuPy): write {body} as torch tensor "
                  "expressions, which run on the GPU as well, or as a custom op "
                  "(torch.utils.cpp_extension.load_inline, a Triton kernel)")
        return updated

    def _isinstance(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        kind = _cuda_name(self.qualified(original.args[1].value)) if is_dotted(original.args[1].value) else None
        if kind not in ("ndarray", "cupy.ndarray"):
            return updated
        value = updated.args[0].value
        if not _pure(value) or original.args[0].keyword or original.args[1].keyword:
            self.todo(original, "PT062", "isinstance(x, cuda.ndarray) asked whether x is on the GPU: "
                      "`isinstance(x, torch.Tensor) and x.is_cuda`")
            return updated
        torch = self.need_import("torch")
        self.info(original, "PT062", "isinstance(x, cuda.ndarray) is `isinstance(x, torch.Tensor) and x.is_cuda`: "
                  "a CuPy array is a CUDA tensor in torch")
        text = f"isinstance({code(value)}, {torch}.Tensor) and {primary(value)}.is_cuda"
        parent = self.parent(original)
        bare = isinstance(parent, (cst.If, cst.While, cst.Assert, cst.Expr, cst.Assign, cst.Return)) or \
            isinstance(parent, cst.Arg)  # nothing binds tighter around it there
        return cst.parse_expression(text if bare else f"({text})")

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine, updated: cst.BaseStatement):
        """`v.to_gpu()` as a statement, which PT025 made `v.cuda()`: Chainer moved a Variable (and a link) in
        place; torch moves a module in place and returns it, but returns a copy of a tensor. `v = v.cuda()` is
        right for both, where assigning v is safe: at the module level, or where v is the function's own."""
        if not (isinstance(updated, cst.SimpleStatementLine) and len(original.body) == 1 and
                isinstance(original.body[0], cst.Expr) and len(updated.body) == 1 and
                isinstance(updated.body[0], cst.Expr)):
            return updated
        before, after = original.body[0].value, updated.body[0].value
        if not (isinstance(before, cst.Call) and isinstance(before.func, cst.Attribute) and
                before.func.attr.value in ("to_gpu", "to_cpu") and isinstance(after, cst.Call) and
                isinstance(after.func, cst.Attribute) and after.func.attr.value in ("cuda", "cpu")):
            return updated
        receiver = after.func.value
        if code(receiver) in self._module_objects:  # a module: moved in place, as Chainer moved a link
            return updated
        if not (isinstance(receiver, cst.Name) and receiver.value != "self" and self._own(receiver.value) or
                isinstance(receiver, cst.Attribute) and is_dotted(receiver)):
            return updated
        self.info(original, "PT061", f"`{code(before)}` moved it in place; torch's `{code(after)}` moves a module "
                  "in place but returns a copy of a tensor: assigned back, it is right for both")
        return updated.with_changes(body=[cst.Assign(targets=[cst.AssignTarget(target=receiver)], value=after)])

    def _own(self, name: str) -> bool:
        """Whether assigning ``name`` here rebinds the object it names: at the module level, or in a function
        that has ``name`` as a parameter or local (else the assignment would make a global a local)."""
        stack = self._scopes._stack
        if len(stack) == 1:
            return True
        table = stack[-1]
        if table is None or table.get_type() != "function":
            return False
        try:
            symbol = table.lookup(name)
        except KeyError:
            return False
        return symbol.is_parameter() or symbol.is_assigned() or symbol.is_declared_global() or symbol.is_nonlocal()

    # names --------------------------------------------------------------------------------------------

    def leave_Attribute(self, original: cst.Attribute, updated: cst.BaseExpression) -> cst.BaseExpression:
        return self._reference(original, updated)

    def leave_Name(self, original: cst.Name, updated: cst.BaseExpression) -> cst.BaseExpression:
        parent = self.parent(original)
        if isinstance(parent, cst.Attribute) and parent.attr is original:
            return updated  # `x.cupy`: an attribute name
        return self._reference(original, updated)

    def _reference(self, original, updated):
        """The longest dotted name: ``cuda.available``, ``cuda.cupy.x``, ``cupy.x``, ``xp.cuda.x``."""
        parent = self.parent(original)
        if isinstance(parent, cst.Attribute) and parent.value is original or self._inside_import():
            return updated
        if is_dotted(original) and original is not None and self._gpu_module_attribute(original):
            self.todo(original, "PT063", f"`{code(original)}` is CuPy's (the array module here may be CuPy): "
                      f"{CUPY_FIX}")
            return updated
        name = _cuda_name(self.qualified(original)) if is_dotted(original) else None
        if name is None:
            return updated
        called = isinstance(parent, cst.Call) and parent.func is original
        if name == "available" and not called and not self._stored(original):
            torch = self.need_import("torch")
            self.info(original, "PT060", "cuda.available is torch.cuda.is_available()")
            return cst.parse_expression(f"{torch}.cuda.is_available()")
        if name == "ndarray" and self._isinstance_type(original):
            return updated  # isinstance(x, cuda.ndarray): converted with the call
        if name == "cupy" and self._array_module_choice(original):
            return updated  # PT025's `xp = np if cpu else cuda.cupy`
        chosen = self._chosen_module()
        if name == "cupy" and chosen is not None:
            self.todo(original, "PT063", f"`{chosen}` chose CuPy for the GPU: in torch keep NumPy (`np`) for the "
                      "arrays that stay on the host, and create the tensors that reach the model on the GPU "
                      "(`torch.as_tensor(a, device=torch.device('cuda'))`, with torch.device('cpu') where NumPy was "
                      "chosen)")
            return updated
        if (name == "cupy" or name.startswith("cupy.")) and name not in KERNELS and name != "cupy.asnumpy":
            self.todo(original, "PT063", f"`{code(original)}` is CuPy: {CUPY_FIX}")
        elif name in ("ndarray", "fusion", "cudnn", "cudnn_enabled", "memory_pool", "Stream", "Event"):
            self.todo(original, "PT062", f"`cuda.{name}` is CuPy's: in torch a CuPy array is a CUDA tensor "
                      "(torch.Tensor with is_cuda), streams and events are torch.cuda.Stream/Event, cuDNN is "
                      "torch.backends.cudnn")
        return updated

    def _stored(self, node) -> bool:
        parent = self.parent(node)
        return isinstance(parent, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign)) and parent.target is node

    def _isinstance_type(self, node) -> bool:
        ancestors = list(self.ancestors(node))[:2]
        return len(ancestors) == 2 and isinstance(ancestors[1], cst.Call) and \
            isinstance(ancestors[1].func, cst.Name) and ancestors[1].func.value == "isinstance" and \
            len(ancestors[1].args) == 2 and ancestors[1].args[1] is ancestors[0]

    def _array_module_choice(self, node) -> bool:
        """`cuda.cupy` in `xp = np if cond else cuda.cupy` at the module level, which PT025 converts."""
        statement = self.statement
        if statement is not None and id(statement) in getattr(self, "_array_module_statements", {}):
            return True  # `xp = cuda.cupy` in the gpu branch of a module-level choice (PT025)
        return statement is not None and isinstance(self.parent(statement), cst.Module) and \
            _array_module_choice(statement) is not None and "device" not in self.aliases.values() and \
            not self._device_named

    def _chosen_module(self) -> str | None:
        """The text of `xp = cuda.cupy` or `xp = cuda.cupy if cond else np` (in a function: PT025 converts the
        module-level choice), the statement around the current node."""
        statement = self.statement
        if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 and
                isinstance(statement.body[0], cst.Assign)):
            return None
        value = statement.body[0].value
        if _array_module_choice(statement) is not None or \
                is_dotted(value) and _cuda_name(self.qualified(value)) == "cupy":
            return code(statement.body[0]).strip()
        return None

    def _gpu_module_attribute(self, node) -> bool:
        """`xp.cuda.Event` for a name `xp` that may hold CuPy (assigned cuda.cupy or get_array_module)."""
        parts = code(node).split(".")
        return len(parts) > 2 and parts[1] == "cuda" and parts[0] in self._modules and \
            self.qualified(cst.Name(parts[0])) is None

    def _gpu_array(self, node) -> bool:
        """An expression that is a CuPy array: a CuPy call (``cuda.cupy.zeros(...)``, ``xp.zeros(...)`` for a
        name that may hold CuPy)."""
        if not (isinstance(node, cst.Call) and is_dotted(node.func)):
            return False
        name = _cuda_name(self.qualified(node.func))
        if name is not None:
            return name.startswith("cupy.")
        parts = code(node.func).split(".")
        return len(parts) == 2 and parts[0] in self._modules

    def _inside_import(self) -> bool:
        return isinstance(self.statement, cst.SimpleStatementLine) and any(
            isinstance(s, (cst.Import, cst.ImportFrom)) for s in self.statement.body)


def _module_objects(tree: ast.Module | None, project) -> set[str]:
    """Names (and ``self.x``) the file binds only to modules: instances of the program's model classes, of the
    Classifier netport writes, of torch.nn or Chainer links."""
    aliases = import_map(tree) if tree is not None else {}

    def is_module(call: ast.Call) -> bool:
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        # (`nn.Linear` of the torch rules: the phase's input does not import nn yet)
        return name in project.chain_classes or name == "Classifier" or ast.unparse(func).startswith("nn.") or \
            (qualified_name(func, aliases) or "").startswith(("torch.nn.", "chainer.links.", "chainer.Chain"))

    return names_bound_only_to(tree, is_module)


def _pure(node: cst.BaseExpression) -> bool:
    """An expression that is safe to evaluate twice: names, attributes and subscripts by names or literals."""
    if isinstance(node, cst.Name):
        return True
    if isinstance(node, cst.Attribute):
        return _pure(node.value)
    if isinstance(node, cst.Subscript):
        return _pure(node.value) and all(
            isinstance(e.slice, cst.Index) and isinstance(e.slice.value, (cst.Name, cst.Integer, cst.SimpleString))
            for e in node.slice)
    return False


def _array_module_names(tree: ast.Module | None) -> set[str]:
    """Names assigned an array module that may be CuPy: ``xp = cuda.get_array_module(x)``, ``xp = cuda.cupy``
    (or a choice with it), and ``xp = cupy``."""
    if tree is None:
        return set()
    aliases = import_map(tree)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            for value in ast.walk(node.value):
                target = value.func if isinstance(value, ast.Call) else value
                name = _cuda_name(qualified_name(target, aliases)) if isinstance(target, (ast.Name, ast.Attribute)) \
                    else None
                if name in ("get_array_module", "cupy"):
                    found.add(node.targets[0].id)
    return found


def _binds(tree: ast.Module, name: str) -> bool:
    """Whether the file binds ``name`` anywhere (a definition, an assignment, an import, a parameter)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store):
            return True
        if isinstance(node, ast.alias) and (node.asname or node.name.split(".")[0]) == name:
            return True
        if isinstance(node, ast.arg) and node.arg == name:
            return True
    return False
