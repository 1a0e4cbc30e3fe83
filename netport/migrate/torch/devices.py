"""PT060-PT064: Chainer's CUDA module (``chainer.backends.cuda``) and CuPy on the torch target.

In the migrated program a CuPy array is a CUDA tensor and a NumPy array that reaches a model is a CPU
tensor; NumPy arrays that stay on the host stay NumPy. So CUDA checks become ``torch.cuda`` checks,
``to_gpu`` creates a tensor on the GPU and ``to_cpu`` gives NumPy for a tensor and an array alike (as
Chainer did for CuPy and NumPy). What chose an array module by where arrays live (``get_array_module``,
``cuda.cupy``), CuPy calls and custom CUDA kernels cannot be converted call by call: they are marked
with what replaces them. (``get_device_from_id(g).use()``, ``model.to_gpu()`` and the module-level
``xp = np if cpu else cuda.cupy`` are PT025, ``to_cpu(v.data)`` PT022, in scripts.py.)

PT085-PT089: an array module chosen by a tensor (``xp = cuda.get_array_module(v.data)``, a link's ``xp``) is
converted use by use through tables of NumPy functions with exact torch equivalents, on that tensor's device;
the binding goes when every use converted, else it stays marked with what is left.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

import libcst as cst

from netport.migrate.imports import import_map, qualified_name
from netport.migrate.passes import RulePass, bind_arguments, code, insert_definition, is_dotted, paren, primary
from netport.migrate.registry import rule_pass
from netport.migrate.rules import Rule, register
from netport.migrate.torch.scripts import _array_module_branches, _array_module_choice, names_bound_only_to

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
    Rule("PT063", "array modules: cuda.get_array_module of what is not known to be a tensor, the uses of a tensor's "
         "array module no torch call replaces (PT085-PT088), cuda.cupy and CuPy calls are marked",
         before="from chainer import cuda\n\n\ndef f(x):\n    xp = cuda.get_array_module(x)\n    return xp.zeros(3)\n",
         after="from chainer.backends import cuda\n\n\ndef f(x):\n    xp = cuda.get_array_module(x)  "
               "# netport: TODO(PT063): `xp = cuda.get_array_module(x)` chose NumPy or CuPy by where `x` lives, which "
               "is not known to be a tensor here (a Variable's `.data`, or a name bound to chainer.Variable, is): if "
               "it is one in torch, replace each `xp.` call by the torch function on its device (e.g. "
               "`torch.zeros(shape, dtype=torch.float64, device=x.device)`: NumPy's default dtype is float64), and "
               "keep NumPy for host arrays\n    return xp.zeros(3)\n",
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

# --- array modules of tensors (PT085-PT089) ---------------------------------------------------------------------
#
# `xp = cuda.get_array_module(v.data)` (or `link.xp`) was NumPy on the CPU and CuPy on a GPU: the module of the arrays
# next to the model's, which are tensors in torch. Each use of such an `xp` whose NumPy meaning a torch call gives
# exactly becomes that call, creating arrays on the tensor's device; what the tables below do not cover stays marked.


@dataclass(frozen=True)
class ArrayFunction:
    """A NumPy function (numpy.X or numpy.random.X) and the torch call that computes the same."""

    torch: str  # the torch callable
    parameters: tuple[str, ...]  # NumPy's, in its order (positional arguments bind to them)
    emit: tuple[tuple[str, str], ...] = ()  # (NumPy parameter, torch keyword or "" for positional), torch's order
    # NumPy's result dtype when no dtype= is given: "float64" or "int64" (torch's default differs: written out),
    # "literal" (that of the values of `literal`, read from literals), "" (the input's, as torch keeps it)
    dtype: str = ""
    literal: tuple[str, ...] = ()
    device: bool = False  # creates an array: on the device of the array module's tensor
    arrays: tuple[str, ...] = ()  # operands: arrays (tensors in torch), never a literal number, string or list
    sequences: tuple[str, ...] = ()  # operands that are sequences of arrays
    integers: tuple[str, ...] = ()  # parameters that must be integers (len(), .shape[i], int literals)
    axis: str = ""  # the parameter of the axes
    single_axis: bool = False  # torch takes one dim only
    required: tuple[str, ...] = ()
    fixed: tuple[tuple[str, str], ...] = ()  # parameters accepted only with this value (NumPy's default)
    spelled: tuple[tuple[str, str], ...] = ()  # NumPy's default written out (torch's differs, or torch has none)
    then: tuple[str, tuple[str, ...]] | None = None  # a method called on the result: (name, NumPy parameters)
    star: bool = False  # NumPy's *dims: the arguments are passed on as they are
    fresh: bool = False  # returns a new array: `.astype(t)` right after it is its dtype=
    copy: bool = False  # numpy.array copies: `.clone()` unless the value is a literal
    inclusive: bool = False  # random_integers: `high` is included
    boolean: tuple[str, ...] = ()  # read by truth value in NumPy (nonzero, NaN true): `.bool()` in torch
    same_dtype: tuple[str, ...] = ()  # operands NumPy promotes otherwise than torch (int with float): must agree


def _constructor(name: str) -> ArrayFunction:
    return ArrayFunction(f"torch.{name}", ("shape", "dtype", "order"), (("shape", ""), ("dtype", "dtype")),
                         dtype="float64", device=True, required=("shape",), fixed=(("order", "'C'"),), fresh=True)


def _like(name: str, fill: bool = False) -> ArrayFunction:
    parameters = ("a", "fill_value", "dtype") if fill else ("a", "dtype")
    return ArrayFunction(f"torch.{name}", parameters, tuple((p, "dtype" if p == "dtype" else "") for p in parameters),
                         arrays=("a",), required=parameters[:2] if fill else ("a",), fresh=True)


def _elementwise(torch: str) -> ArrayFunction:
    return ArrayFunction(torch, ("x",), (("x", ""),), arrays=("x",), required=("x",))


def _reduction(torch: str, dtype: bool = False, single: bool = False, ddof: bool = False) -> ArrayFunction:
    parameters = ("a", "axis", *(("dtype",) if dtype or ddof else ()), "out", *(("ddof",) if ddof else ()), "keepdims")
    emit = (("a", ""), ("axis", "dim"), *((("dtype", "dtype"),) if dtype else ()),
            *((("ddof", "correction"),) if ddof else ()), ("keepdims", "keepdim"))
    return ArrayFunction(torch, parameters, emit, arrays=("a",), axis="axis", single_axis=single, required=("a",),
                         fixed=(("out", "None"),) + ((("dtype", "None"),) if ddof else ()),
                         spelled=(("ddof", "0"),) if ddof else ())


# numpy.X -> torch. Checked against NumPy 1.26 and torch 2.x: NumPy's creation functions default to float64
# where torch's default dtype is float32 (written out); reductions take `axis` (None: all axes, as torch without
# dim) and `keepdims`; std/var's ddof defaults to 0, torch's correction to 1 (written out).
ARRAY_FUNCTIONS: dict[str, ArrayFunction] = {
    "zeros": _constructor("zeros"),
    "ones": _constructor("ones"),
    "empty": _constructor("empty"),
    "full": ArrayFunction("torch.full", ("shape", "fill_value", "dtype", "order"),
                          (("shape", ""), ("fill_value", ""), ("dtype", "dtype")), dtype="literal",
                          literal=("fill_value",), device=True, required=("shape", "fill_value"),
                          fixed=(("order", "'C'"),), fresh=True),
    "zeros_like": _like("zeros_like"),
    "ones_like": _like("ones_like"),
    "empty_like": _like("empty_like"),
    "full_like": _like("full_like", fill=True),
    "eye": ArrayFunction("torch.eye", ("N", "M", "k", "dtype", "order"), (("N", ""), ("M", ""), ("dtype", "dtype")),
                         dtype="float64", device=True, required=("N",),
                         fixed=(("k", "0"), ("order", "'C'")), fresh=True),
    "identity": ArrayFunction("torch.eye", ("n", "dtype"), (("n", ""), ("dtype", "dtype")), dtype="float64",
                              device=True, required=("n",), fresh=True),
    "arange": ArrayFunction("torch.arange", ("start", "stop", "step", "dtype"),
                            (("start", ""), ("stop", ""), ("step", ""), ("dtype", "dtype")), dtype="literal",
                            literal=("start", "stop", "step"), device=True, required=("start",), fresh=True),
    "linspace": ArrayFunction("torch.linspace", ("start", "stop", "num", "endpoint", "retstep", "dtype", "axis"),
                              (("start", ""), ("stop", ""), ("num", ""), ("dtype", "dtype")), dtype="float64",
                              device=True, required=("start", "stop"), spelled=(("num", "50"),),
                              fixed=(("endpoint", "True"), ("retstep", "False"), ("axis", "0")), fresh=True),
    "asarray": ArrayFunction("torch.as_tensor", ("a", "dtype", "order"), (("a", ""), ("dtype", "dtype")),
                             dtype="literal", literal=("a",), device=True, required=("a",), fixed=(("order", "None"),)),
    "array": ArrayFunction("torch.as_tensor", ("object", "dtype", "copy", "order", "subok", "ndmin"),
                           (("object", ""), ("dtype", "dtype")), dtype="literal", literal=("object",), device=True,
                           required=("object",), copy=True,
                           fixed=(("copy", "True"), ("order", "'K'"), ("subok", "False"), ("ndmin", "0"))),
    **{name: _elementwise(f"torch.{name}") for name in ("sqrt", "exp", "log", "log2", "log10", "log1p", "expm1",
                                                         "tanh", "sin", "cos", "square", "sign", "abs")},
    "absolute": _elementwise("torch.abs"),
    "negative": _elementwise("torch.neg"),
    "clip": ArrayFunction("torch.clamp", ("a", "a_min", "a_max", "out"), (("a", ""), ("a_min", ""), ("a_max", "")),
                          arrays=("a",), required=("a", "a_min", "a_max"), fixed=(("out", "None"),)),
    "matmul": ArrayFunction("torch.matmul", ("x1", "x2"), (("x1", ""), ("x2", "")), arrays=("x1", "x2"),
                            required=("x1", "x2")),
    "sum": _reduction("torch.sum", dtype=True),
    "mean": _reduction("torch.mean", dtype=True),
    "prod": _reduction("torch.prod", dtype=True, single=True),
    "max": _reduction("torch.amax"),
    "amax": _reduction("torch.amax"),
    "min": _reduction("torch.amin"),
    "amin": _reduction("torch.amin"),
    "argmax": _reduction("torch.argmax", single=True),
    "argmin": _reduction("torch.argmin", single=True),
    "any": _reduction("torch.any"),
    "all": _reduction("torch.all"),
    "std": _reduction("torch.std", ddof=True),
    "var": _reduction("torch.var", ddof=True),
    "concatenate": ArrayFunction("torch.cat", ("arrays", "axis", "out"), (("arrays", ""), ("axis", "dim")),
                                 sequences=("arrays",), axis="axis", single_axis=True, required=("arrays",),
                                 fixed=(("out", "None"),)),
    "stack": ArrayFunction("torch.stack", ("arrays", "axis", "out"), (("arrays", ""), ("axis", "dim")),
                           sequences=("arrays",), axis="axis", single_axis=True, required=("arrays",),
                           fixed=(("out", "None"),)),
    # PT111: where(c, x, y) picks x where c is true; torch takes a bool condition only (`.bool()`: nonzero and NaN
    # are true, as NumPy's truth value), and promotes int with float to float32 where NumPy gives float64: x and y
    # must have one dtype (the same expression, or `zeros_like(x)` and the like). where(c) alone is nonzero().
    "where": ArrayFunction("torch.where", ("condition", "x", "y"), (("condition", ""), ("x", ""), ("y", "")),
                           arrays=("condition", "x", "y"), required=("condition", "x", "y"), boolean=("condition",),
                           same_dtype=("x", "y")),
}
CONSTRUCTORS = {name for name, f in ARRAY_FUNCTIONS.items() if f.device}

# numpy.random.X -> torch's generator. NumPy draws float64 (random integers: int64, its default int on Linux);
# a size of None gives a Python number (not converted). empty(size).normal_/uniform_/random_ take a size as NumPy
# does (an int or a tuple); uniform_ and random_ draw from [low, high) as NumPy does.
RANDOM_FUNCTIONS: dict[str, ArrayFunction] = {
    "randn": ArrayFunction("torch.randn", (), dtype="float64", device=True, star=True, fresh=True),
    "rand": ArrayFunction("torch.rand", (), dtype="float64", device=True, star=True, fresh=True),
    **{name: ArrayFunction("torch.rand", ("size",), (("size", ""),), dtype="float64", device=True,
                           required=("size",), fresh=True)
       for name in ("random_sample", "random", "ranf", "sample")},
    "normal": ArrayFunction("torch.empty", ("loc", "scale", "size"), (("size", ""),), dtype="float64", device=True,
                            required=("size",), spelled=(("loc", "0.0"), ("scale", "1.0")),
                            then=("normal_", ("loc", "scale")), fresh=True),
    "uniform": ArrayFunction("torch.empty", ("low", "high", "size"), (("size", ""),), dtype="float64", device=True,
                             required=("size",), spelled=(("low", "0.0"), ("high", "1.0")),
                             then=("uniform_", ("low", "high")), fresh=True),
    "randint": ArrayFunction("torch.empty", ("low", "high", "size", "dtype"), (("size", ""), ("dtype", "dtype")),
                             dtype="int64", device=True, required=("low", "size"), then=("random_", ("low", "high")),
                             fresh=True),
    "random_integers": ArrayFunction("torch.empty", ("low", "high", "size"), (("size", ""),), dtype="int64",
                                     device=True, required=("low", "size"), then=("random_", ("low", "high")),
                                     inclusive=True, fresh=True),
    "permutation": ArrayFunction("torch.randperm", ("x",), (("x", ""),), device=True, integers=("x",),
                                 required=("x",), fresh=True),
}

# dtypes: `xp.float32` is numpy.float32 whichever module xp was (CuPy's dtypes are NumPy's); torch's in a torch call
DTYPES = {"float16": "float16", "half": "float16", "float32": "float32", "single": "float32", "float64": "float64",
          "double": "float64", "float_": "float64", "int8": "int8", "int16": "int16", "int32": "int32",
          "int64": "int64", "int_": "int64", "intc": "int32", "uint8": "uint8", "bool_": "bool",
          "complex64": "complex64", "complex128": "complex128"}
DTYPE_STRINGS = {"float16": "float16", "f2": "float16", "float32": "float32", "f": "float32", "f4": "float32",
                 "float64": "float64", "float": "float64", "d": "float64", "f8": "float64", "int8": "int8",
                 "int16": "int16", "int32": "int32", "i": "int32", "i4": "int32", "int64": "int64", "int": "int64",
                 "i8": "int64", "l": "int64", "uint8": "uint8", "B": "uint8", "bool": "bool", "?": "bool"}
BUILTIN_DTYPES = {"float": "float64", "int": "int64", "bool": "bool", "complex": "complex128"}  # NumPy's reading
# ndarray attributes a tensor lacks or reads otherwise (size is a method; max/argmax/sort(axis) return
# (values, indices) or take dim; transpose/repeat/view take other arguments; dtype is torch's): a converted result
# used so stays NumPy's (earlier phases write torch methods, .float() and the like, on what is a tensor already)
NUMPY_ONLY = {"astype", "copy", "get", "fill", "itemset", "tobytes", "tostring", "view", "size", "max", "min",
              "argmax", "argmin", "sort", "argsort", "transpose", "repeat", "nonzero", "dot", "flat", "dtype", "std",
              "var", "prod", "cumsum", "cumprod", "put", "take", "ptp", "round", "choose", "compress", "trace",
              "diagonal", "searchsorted", "tofile", "dump", "dumps", "byteswap", "newbyteorder", "setflags", "flags",
              "base", "strides", "ctypes", "resize", "partition", "argpartition", "conj", "conjugate"}
ARITHMETIC = (cst.Add, cst.Subtract, cst.Multiply, cst.Divide, cst.FloorDivide, cst.Modulo, cst.Power)


register(
    Rule("PT085", "the array module of a tensor (`xp = cuda.get_array_module(v.data)`): NumPy's creation functions "
         "and dtypes become torch's on the tensor's device, with NumPy's default dtype (float64) written out",
         before="import chainer\nfrom chainer import cuda\n\n\ndef pad(v):\n    xp = cuda.get_array_module(v.data)\n"
                "    return chainer.Variable(xp.zeros((len(v.data), 1), dtype=xp.float32))\n",
         after="import torch\n\n\ndef pad(v):\n    return torch.zeros((len(v.data), 1), dtype=torch.float32, "
               "device=v.device)\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\n\n\ndef pad(v):\n    return torch.zeros((len(v), 1), "
               "device=v.device)\n",
               "# ported from chainer\nimport numpy as np\n\n\ndef pad(a):\n    xp = np\n"
               "    return xp.zeros((len(a), 1))\n")),
    Rule("PT086", "elementwise functions and reductions of a tensor's array module are torch's (axis -> dim, "
         "keepdims -> keepdim, ddof -> correction, which defaults to 0 in NumPy)",
         before="from chainer import cuda\n\n\ndef normalize(v):\n    xp = cuda.get_array_module(v.data)\n"
                "    return v.data / xp.sqrt(xp.sum(v.data ** 2, axis=1, keepdims=True))\n",
         after="import torch\n\n\ndef normalize(v):\n    return v.data / torch.sqrt(torch.sum(v.data ** 2, dim=1, "
               "keepdim=True))\n",
         target="torch",
         noop=("# ported from chainer\nimport numpy as np\n\n\ndef normalize(a):\n"
               "    return a / np.sqrt(np.sum(a ** 2, axis=1, keepdims=True))\n",
               "# ported from chainer\nimport torch\n\n\ndef normalize(t):\n"
               "    return t / torch.sqrt(torch.sum(t ** 2, dim=1, keepdim=True))\n")),
    Rule("PT087", "random draws of a tensor's array module come from torch's generator on its device, in NumPy's "
         "dtype (float64; a Variable's where Chainer's arithmetic cast the array to it): another random stream",
         before="from chainer import cuda\n\n\ndef add_noise(h, sigma=0.2):\n    xp = cuda.get_array_module(h.data)\n"
                "    return h + sigma * xp.random.randn(*h.data.shape)\n",
         after="import torch\n\n\ndef add_noise(h, sigma=0.2):\n    return h + sigma * torch.randn(*h.data.shape, "
               "dtype=h.dtype, device=h.device)\n",
         target="torch",
         noop=("# ported from chainer\nimport numpy as np\nnoise = np.random.randn(3, 4)\n",
               "# ported from chainer\nimport torch\n\n\ndef add_noise(h):\n"
               "    return h + torch.randn(h.shape, dtype=h.dtype, device=h.device)\n")),
    Rule("PT088", "a link's xp (`self.xp`, `model.xp`) is the device of the module's parameters: arrays made with "
         "it are tensors there, and `xp is numpy` asks whether they are on the host",
         before="import chainer\nimport chainer.functions as F\nimport chainer.links as L\n\n\n"
                "class Critic(chainer.Chain):\n    def __init__(self):\n        super(Critic, self).__init__("
                "l1=L.Linear(3, 1))\n\n    def loss(self, x):\n        t = self.xp.ones((len(x), 1), "
                "dtype=self.xp.float32)\n        return F.mean_squared_error(self.l1(x), t)\n",
         after="import math\nimport torch\nfrom torch import nn\n\n\nclass Critic(nn.Module):\n"
               "    def __init__(self):\n        super(Critic, self).__init__()\n        self.l1 = nn.Linear(3, 1)\n"
               "        nn.init.normal_(self.l1.weight, std=1 / math.sqrt(3))\n        nn.init.zeros_(self.l1.bias)\n\n"
               "    def loss(self, x):\n        t = torch.ones((len(x), 1), dtype=torch.float32, "
               "device=next(self.parameters()).device)\n        return nn.functional.mse_loss(self.l1(x), t)\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\nfrom torch import nn\n\n\nclass Critic(nn.Module):\n"
               "    def loss(self, x):\n        return torch.ones(len(x), device=next(self.parameters()).device)\n",
               "# ported from chainer\nimport numpy\n\n\ndef module_of(x):\n    return numpy\n")),
    Rule("PT089", "np.random.seed in a program whose array-module draws became torch's: those numbers differ from "
         "Chainer's (torch.manual_seed seeds torch's generator)",
         before="import numpy as np\nfrom chainer import cuda\n\nnp.random.seed(0)\n\n\ndef noise(x):\n"
                "    xp = cuda.get_array_module(x.data)\n"
                "    return xp.random.uniform(-1, 1, x.shape).astype(xp.float32)\n",
         after="import numpy as np\nimport torch\n\nnp.random.seed(0)\ntorch.manual_seed(0)\n\n\ndef noise(x):\n"
               "    return torch.empty(x.shape, dtype=torch.float32, device=x.device).uniform_(-1, 1)\n",
         target="torch",
         noop=("# ported from chainer\nimport numpy as np\nimport torch\nnp.random.seed(0)\ntorch.manual_seed(0)\n"
               "noise = torch.rand(3, dtype=torch.float64)\n",
               "# ported from chainer\nimport numpy as np\nimport torch\nnp.random.seed(0)\ntorch.manual_seed(0)\n"
               "noise = np.random.uniform(-1, 1, 3)\n")),
)

register(
    Rule("PT110", "an array module chosen by a flag in a function (`xp = cuda.cupy if gpu >= 0 else np`): the "
         "flag chooses a torch.device, its creation functions make tensors there, its functions of Variables' "
         "arrays are torch's; an unused choice goes",
         before="import numpy as np\nimport chainer\nfrom chainer import cuda\n\n\ndef sample(model, gpu, word):\n"
                "    xp = cuda.cupy if gpu >= 0 else np\n    x = chainer.Variable(xp.array([word], dtype=xp.int32))\n"
                "    return xp.argmax(model(x).data, axis=1)\n",
         after="import numpy as np\nimport torch\n\n\ndef sample(model, gpu, word):\n"
               "    device = torch.device('cuda' if gpu >= 0 else 'cpu')\n"
               "    x = torch.as_tensor([word], dtype=torch.int32, device=device)\n"
               "    return torch.argmax(model(x).data, dim=1)\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\n\n\ndef sample(model, gpu, word):\n"
               "    device = torch.device('cuda' if gpu >= 0 else 'cpu')\n"
               "    return model(torch.as_tensor([word], device=device))\n",
               "# ported from chainer\nimport numpy as np\n\n\ndef pick(use_float):\n"
               "    xp = np if use_float else None\n    return xp\n")),
    Rule("PT111", "CuPy called directly (`cuda.cupy.argmax(a)`): its arrays are CUDA tensors in torch, so the "
         "torch function of the same table (PT085-PT088) replaces it; what it creates is on the current GPU",
         before="from chainer import cuda\n\n\ndef greedy(q):\n    return cuda.to_cpu(cuda.cupy.argmax(q.data))\n",
         after="import numpy\nimport torch\n\n\n" + TO_NUMPY.format(torch="torch", np="numpy") +
               "\n\ndef greedy(q):\n    return to_numpy(torch.argmax(q.data))\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\n\n\ndef greedy(q):\n    return torch.argmax(q).item()\n",
               "# ported from chainer\nimport numpy as np\n\n\ndef greedy(q):\n    return np.argmax(q)\n")),
    Rule("PT112", "where(c, x, y) of a tensor's array module is torch.where(c.bool(), x, y) (NumPy reads c by "
         "truth value; torch takes a bool tensor), for x and y of one dtype (NumPy promotes int with float to "
         "float64, torch to float32)",
         before="from chainer import cuda\n\n\ndef keep_positive(v):\n    xp = cuda.get_array_module(v.data)\n"
                "    return xp.where(v.data > 0, v.data, xp.zeros_like(v.data))\n",
         after="import torch\n\n\ndef keep_positive(v):\n"
               "    return torch.where((v.data > 0).bool(), v.data, torch.zeros_like(v.data))\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\n\n\ndef keep_positive(t):\n"
               "    return torch.where(t > 0, t, torch.zeros_like(t))\n",
               "# ported from chainer\nimport numpy as np\n\n\ndef keep_positive(a):\n"
               "    return np.where(a > 0, a, 0)\n")),
    Rule("PT123", "an array module passed to a function of the file whose parameter only creates arrays with it "
         "(`_zeros(xp, n)` doing `xp.zeros(...)`): the parameter takes the device instead, the creations are "
         "torch's on it, and every call of the file passes the device its array module stood for (a tensor's for "
         "get_array_module(v.data), 'cpu' for NumPy, 'cuda' for CuPy)",
         before="import numpy\nimport chainer\nfrom chainer import cuda\n\n\ndef _state(xp, n):\n"
                "    return xp.zeros((n, 3), dtype=numpy.float32)\n\n\ndef initial(x):\n"
                "    xp = cuda.get_array_module(x.data)\n    return chainer.Variable(_state(xp, len(x.data)))\n",
         after="import numpy\nimport torch\n\n\ndef _state(device, n):\n"
               "    return torch.zeros((n, 3), dtype=torch.float32, device=device)\n\n\ndef initial(x):\n"
               "    return torch.as_tensor(_state(x.device, len(x.data)))\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\n\n\ndef _state(device, n):\n"
               "    return torch.zeros((n, 3), device=device)\n",
               "# ported from chainer\nimport numpy as np\n\n\ndef _total(xp, a):\n    return xp.sum(a)\n\n\n"
               "print(_total(np, [1, 2]))\n")),
    Rule("PT113", "`if isinstance(x, chainer.Variable)` (or `type(x) is Variable`) whose else branch reads an "
         "attribute no array has (`x.W`): isinstance(x, torch.Tensor), as no array took that branch in Chainer",
         before="import chainer\n\n\ndef width(weights):\n    if type(weights) is chainer.Variable:\n"
                "        return weights.shape[1]\n    else:\n        return weights.W.shape[1]\n",
         after="import torch\n\n\ndef width(weights):\n    if isinstance(weights, torch.Tensor):\n"
               "        return weights.shape[1]\n    else:\n        return weights.W.shape[1]\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\n\n\ndef width(w):\n    if isinstance(w, torch.Tensor):\n"
               "        return w.shape[1]\n    return w.weight.shape[1]\n",
               "# ported from chainer\nimport numpy as np\n\n\ndef width(w):\n    if isinstance(w, np.ndarray):\n"
               "        return w.shape[1]\n    return w.W.shape[1]\n")),
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
    TRIGGER = re.compile(r"\bcuda\b|\bcupy\b|\.to_[cg]pu\(|\.xp\b|\bget_array_module\b|\bVariable\b")

    def visit_Module(self, node: cst.Module) -> None:
        super().visit_Module(node)
        self._needs_to_numpy = False
        tree = self.ctx.syntax_tree()
        self._modules = _array_module_names(tree)  # names an array module (possibly CuPy) is assigned to
        self._free = tree is not None and not _binds(tree, "to_numpy")
        self._module_objects = _module_objects(tree, self.project)
        self._device_named = tree is None or any(isinstance(n, ast.Name) and n.id == "device" or
                                                 isinstance(n, ast.arg) and n.arg == "device" for n in ast.walk(tree))
        # array modules of tensors: planned before the traversal (a binding goes only when all its uses convert)
        self._xp = _ArrayModules(self, node, scan=DeviceRules not in getattr(self, "_inactive", ()))
        self._xp_receivers = self._xp.claimed  # `R.xp` PT025 (scripts.py) leaves to this pass
        self._xp_made: set[int] = set()  # tensors this pass created

    def finish_module(self, module: cst.Module) -> cst.Module:
        if not self._needs_to_numpy:
            return module
        text = TO_NUMPY.format(torch=self.need_import("torch"), np=self.need_import("numpy"))
        return insert_definition(module, text)

    # calls ------------------------------------------------------------------------------------------

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        plan = self._xp.plans.get(id(original))
        if plan is not None:
            return self._xp_call(original, updated, plan)
        if id(original) in self._xp.folds:  # `.astype(t)` of a converted call, which took dtype=t
            return updated.func.value
        cast = self._xp.casts.get(id(original))
        if cast is not None and isinstance(updated.func, cst.Attribute):
            torch = self.need_import("torch")
            text = f"{primary(updated.func.value)}.to({cast.replace('torch.', f'{torch}.', 1)}, copy=True)"
            self.info(original, "PT085", f"`{code(original)}` of a tensor is `{text}` (astype copies)")
            return cst.parse_expression(text)
        collapsed = self._xp_collapse(updated)
        if collapsed is not None:
            return collapsed
        if code(updated.func) != code(original.func):
            return updated  # an earlier rule converted it (PT022's cuda.to_cpu(v.data))
        name = _cuda_name(self.callee(original))
        if name == "check_cuda_available":
            return self._check_available(original, updated)
        if name == "to_gpu":
            return self._to_gpu(original, updated)
        if name in ("to_cpu", "cupy.asnumpy"):
            return self._to_cpu(original, updated, name)
        if name in ("get_array_module", "cupy.get_array_module"):
            if id(original) not in self._xp.calls:  # (a binding's: marked or removed with its assignment)
                text, module = self._assigned(original)
                array = code(original.args[0].value) if len(original.args) == 1 else "x"
                self.todo(original, "PT063", _unknown_source(text, module, array))
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
            if self._is_variable_class(original.args[1].value):
                return self._variable_check(original, updated, original.args[0].value, original.args[1].value)
            return self._isinstance(original, updated)
        if isinstance(original.func, cst.Attribute) and original.func.attr.value == "get" and \
                self._gpu_array(original.func.value):
            self.todo(original, "PT063", f"`{code(original.func.value)}` is a CuPy array: its get() copies it to the "
                      "host; for a CUDA tensor that is `.cpu().numpy()`")
        return updated

    def _is_variable_class(self, node: cst.BaseExpression) -> bool:
        return is_dotted(node) and self.qualified(node) in ("chainer.Variable", "chainer.variable.Variable")

    def _variable_check(self, original, updated, value: cst.BaseExpression, kind: cst.BaseExpression):
        """PT113: `if isinstance(x, chainer.Variable): ... else: <reads x.A>` (or `type(x) is Variable`), where A is
        no attribute of an array or a Variable. A Variable is a tensor in torch, but so may be what was an array
        (a Variable's .data, a CuPy array): here an array made Chainer's else branch fail at `x.A`, so in the runs
        that succeeded x was a Variable (v1 has no subclasses of it: `type(x) is` is isinstance) or another object
        (a link, a module in torch), which `isinstance(x, torch.Tensor)` tells apart as the check did."""
        if not self._is_variable_class(kind) or \
                isinstance(original, cst.Call) and any(a.keyword is not None or a.star for a in original.args):
            return updated
        branch = self.parent(original)
        reason = _non_array_branch(branch, value)
        if reason is None:
            return updated  # (the residual sweep marks chainer.Variable, PT099)
        torch = self.need_import("torch")
        self.info(original, "PT113", f"`{code(original)}` is `isinstance({code(value)}, {torch}.Tensor)`: a Variable "
                  f"is a tensor in torch, and an array never reached the else branch, which reads {reason}")
        return cst.parse_expression(f"isinstance({code(value)}, {torch}.Tensor)")

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

    # array modules of tensors (PT085-PT089) ---------------------------------------------------------------

    def _xp_call(self, original: cst.Call, updated: cst.Call, plan: _Plan) -> cst.BaseExpression:
        function = plan.function
        torch = self.need_import("torch")
        arguments, keywords = [], []
        if function.star:  # randn(*dims): the dims as they are
            arguments = [f"{a.star}{code(a.value)}" for a in updated.args]
            values = {}
        else:
            values = _bind(updated, function)
            if isinstance(values, str):  # (the arguments mapped before the earlier rules rewrote them)
                values = _bind(original, function)
            spelled = dict(function.spelled)
            for parameter, keyword in function.emit:
                if parameter == "dtype" or parameter not in values and (keyword or parameter not in spelled):
                    continue
                text = code(values[parameter]) if parameter in values else spelled[parameter]
                if parameter == function.axis and _is_range(values[parameter]):
                    text = f"tuple({text})"  # torch takes a tuple of dims, not a range
                if parameter in function.boolean:
                    text = f"{primary(values[parameter])}.bool()"
                if keyword:
                    keywords.append(f"{keyword}={text}")
                else:
                    arguments.append(text)
            if "keepdims" in values and function.axis and function.axis not in values:
                keywords.insert(0, "dim=None")  # NumPy keeps every axis as 1: torch does with dim=None
            for parameter, keyword in function.emit:  # NumPy defaults torch spells otherwise (ddof -> correction)
                if keyword and parameter not in values and parameter in spelled:
                    keywords.append(f"{keyword}={spelled[parameter]}")
        if plan.dtype:
            keywords.append(f"dtype={plan.dtype.replace('torch.', f'{torch}.', 1)}")
        if function.device:
            keywords.append(f"device={plan.device}")
        text = f"{function.torch.replace('torch.', f'{torch}.', 1)}({', '.join(arguments + keywords)})"
        if function.then is not None:
            method, parameters = function.then
            spelled = dict(function.spelled)
            given = [code(values[p]) if p in values else spelled.get(p) for p in parameters]
            if function.inclusive:  # random_integers(low, high): [low, high]; (low): [1, low]
                given = [given[0], f"{paren(given[1])} + 1"] if given[1] is not None else \
                    ["1", f"{paren(given[0])} + 1"]
            text += f".{method}({', '.join(g for g in given if g is not None)})"
        if function.copy and _literal_kind(values["object"]) is None and not _is_shape(values["object"]) and \
                not isinstance(values["object"], (cst.List, cst.Tuple)):  # (a display is a new tensor anyway)
            text += ".clone()"  # numpy.array copies; torch.as_tensor shares a tensor's memory
        new = cst.parse_expression(text)
        self._xp_made.add(id(new))
        self._xp_report(original, plan, text)
        return new

    def _xp_report(self, node: cst.CSTNode, plan: _Plan, text: str) -> None:
        shown = f"`{_short(code(node))}` is `{_short(text)}`"
        if plan.rule == "PT087":
            self.info(node, "PT087", f"{shown}: drawn by torch's generator, a different random stream than "
                      "NumPy's (CuPy's on a GPU)" + (", in NumPy's default dtype" if "float64" in text else ""))
            if self._xp.seeded:
                self.warn(node, "PT089", "np.random.seed(...) in this file fixed this draw in Chainer's CPU runs (not "
                          "on a GPU, where CuPy drew it): torch draws it from its own generator, seeded by "
                          "torch.manual_seed, so the numbers differ from Chainer's")
        else:
            default = " (NumPy's float64 written out)" if plan.function is not None and plan.function.dtype and \
                "torch.float64" in text and plan.dtype_node is None else ""
            where = " on the array module's device" if plan.function is not None and plan.function.device else ""
            self.info(node, plan.rule, f"{shown}{where}{default}")
        if plan.device.startswith("next("):
            self.info(node, "PT088", f"the link's xp chose NumPy or CuPy by the link's device: the module's "
                      f"parameters are on `{plan.device}`")
        if plan.warning:
            self.warn(node, plan.rule, plan.warning)

    def _xp_collapse(self, updated: cst.Call) -> cst.BaseExpression | None:
        """`torch.as_tensor(t)` (chainer.Variable(...) converted) of a tensor converted here is that tensor."""
        if len(updated.args) == 1 and updated.args[0].keyword is None and not updated.args[0].star and \
                code(updated.func) == "torch.as_tensor" and id(updated.args[0].value) in self._xp_made:
            return updated.args[0].value
        return None

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.BaseSmallStatement:
        binding = self._xp.bindings.get(id(original))
        if binding is None:
            return updated
        statement = self.statement
        if binding.flag is not None and binding.devices and not binding.left:
            self.need_import("torch")
            self.info(original, "PT110", f"`{binding.text}` chose CuPy by a flag: the arrays made with "
                      f"`{binding.name}` are tensors on `device` ({binding.flag}) now")
            return cst.Assign(targets=[cst.AssignTarget(target=cst.Name("device"))],
                              value=cst.parse_expression(binding.flag))
        if binding.device is not None and not binding.left:
            block = self._xp.tree.up(statement)
            removed = [s for s in getattr(block, "body", ()) if isinstance(s, cst.SimpleStatementLine) and
                       len(s.body) == 1 and id(s.body[0]) in self._xp.bindings and
                       self._xp.bindings[id(s.body[0])].device is not None and
                       not self._xp.bindings[id(s.body[0])].left]
            if len(removed) == len(block.body) and removed[-1] is statement:
                self.insert_after(statement, [cst.parse_statement("pass\n")])  # the block keeps a statement
            self.remove(statement)
            self.info(original, {"PT025": "PT088", "PT110": "PT110"}.get(binding.rule, "PT085"),
                      f"`{binding.text}`: every use of `{binding.name}` is a torch call " +
                      (f"on `{binding.device}`" if binding.flag is None else "of tensors") + " now"
                      if binding.converted else f"`{binding.text}`: `{binding.name}` is not used; the line goes")
            return updated
        if binding.device is None:
            self.todo(original, binding.rule, _unknown_source(binding.text, binding.name, binding.source))
            return updated
        if binding.flag is not None:
            self.todo(original, "PT110", f"`{binding.text}` chose CuPy by a flag (in torch: tensors on "
                      f"`{binding.flag}`, NumPy for arrays that stay on the host): " + "; ".join(binding.left[:3]))
            return updated
        left = binding.left[:3] + ([f"and {len(binding.left) - 3} more"] if len(binding.left) > 3 else [])
        done = f"the other uses of `{binding.name}` are torch calls on `{binding.device}` now; " if \
            binding.converted else ""
        self.todo(original, binding.rule, f"`{binding.text}` chose NumPy or CuPy by the device of "
                  f"`{binding.source}`: {done}still to convert: " + "; ".join(left) + "; then delete this line")
        return updated

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        """A safety net: a binding removed while a use of it survived (a rule rebuilt its statement from the
        input) is marked where the function starts. PT123: the array-module parameter is the device now."""
        if id(original) in self._xp.parameters:
            index, name, public = self._xp.parameters[id(original)]
            params = list(updated.params.params)
            params[index] = params[index].with_changes(name=cst.Name("device"))
            updated = updated.with_changes(params=updated.params.with_changes(params=params))
            shared = self.project.shared_array_functions.get(f"{self.ctx.path}::{original.name.value}")
            whole = shared.whole if shared is not None else self.ctx.path in self.project.whole_project_files
            report = self.warn if public and not whole else self.info
            if shared is not None:
                calls = f"its calls in this file and in the other files of this run pass it: {shared.callers}"
            else:
                calls = "the calls in this file pass it"
            outside = "; a call from a module outside this run must pass a device now too" if public and not whole \
                else "; every file of the project is migrated in this run, so no call passes an array module any " \
                "more" if public else ""
            report(original, "PT123", f"`{original.name.value}` takes the device instead of the array module "
                   f"`{name}` (it only created arrays with it, now tensors on the device); {calls}{outside}")
        elif id(original) in self._xp.shared_blocked:
            self.todo(original, "PT123", f"`{original.name.value}` only creates arrays with its array module, and "
                      "other files of this run call it: it could take the device instead, but not every call of the "
                      f"project can pass one ({self._xp.shared_blocked[id(original)]}), so it keeps the module and "
                      "its calls keep passing one")
        for binding in self._xp.bindings.values():
            if binding.device is not None and not binding.left and \
                    self._xp.tree.function(binding.statement) is original and binding.name in _names(updated.body):
                self.todo(original, binding.rule, f"`{binding.text}` was removed but `{binding.name}` is still "
                          f"used here: restore it, or create those arrays as tensors on `{binding.device}`")
        return updated

    def leave_Comparison(self, original: cst.Comparison, updated: cst.Comparison) -> cst.BaseExpression:
        plan = self._xp.plans.get(id(original))
        if plan is None:
            if len(original.comparisons) == 1 and isinstance(original.comparisons[0].operator, (cst.Is, cst.Equal)) \
                    and isinstance(original.left, cst.Call) and isinstance(original.left.func, cst.Name) and \
                    original.left.func.value == "type" and len(original.left.args) == 1:
                return self._variable_check(original, updated, original.left.args[0].value,
                                            original.comparisons[0].comparator)
            return updated
        self.info(original, plan.rule, f"`{code(original)}` asks where the tensors are: `{plan.text}`")
        parent = self.parent(original)
        bare = isinstance(parent, (cst.If, cst.While, cst.Assign, cst.Return, cst.Arg, cst.BooleanOperation,
                                   cst.IfExp)) or isinstance(parent, cst.UnaryOperation)
        return cst.parse_expression(plan.text if bare else f"({plan.text})")

    # names --------------------------------------------------------------------------------------------

    def leave_Attribute(self, original: cst.Attribute, updated: cst.BaseExpression) -> cst.BaseExpression:
        plan = self._xp.plans.get(id(original))
        if plan is not None and plan.function is None:
            return self._xp_attribute(original, updated, plan)
        return self._reference(original, updated)

    def _xp_argument(self, original: cst.CSTNode, plan: _Plan) -> cst.BaseExpression:
        to = f" to {plan.callee}" if plan.callee else ""
        self.info(original, "PT123", f"`{code(original)}` is passed on{to} as the device it stood for, `{plan.text}`")
        return cst.parse_expression(plan.text)

    def _xp_attribute(self, original: cst.Attribute, updated: cst.BaseExpression, plan: _Plan):
        if plan.rule == "PT123":
            return self._xp_argument(original, plan)
        if not plan.text:
            return updated  # a converted call's dtype argument
        if plan.text.startswith("numpy."):
            text = f"{self.need_import('numpy')}.{plan.text[6:]}"
            self.info(original, plan.rule, f"`{code(original)}` is `{text}` (CuPy's dtypes are NumPy's)")
        else:
            text = plan.text.replace("torch.", f"{self.need_import('torch')}.", 1)
            self.info(original, plan.rule, f"`{code(original)}` is `{text}` in torch")
        return cst.parse_expression(text)

    def leave_Name(self, original: cst.Name, updated: cst.BaseExpression) -> cst.BaseExpression:
        parent = self.parent(original)
        if isinstance(parent, cst.Attribute) and parent.attr is original:
            return updated  # `x.cupy`: an attribute name
        plan = self._xp.plans.get(id(original))
        if plan is not None and plan.rule == "PT123":
            return self._xp_argument(original, plan)
        return self._reference(original, updated)

    def _reference(self, original, updated):
        """The longest dotted name: ``cuda.available``, ``cuda.cupy.x``, ``cupy.x``, ``xp.cuda.x``."""
        if id(original) in self._xp.compared or id(original) in self._xp.cupy_calls:
            return updated  # `xp is cuda.cupy`, converted with the comparison; `cuda.cupy.argmax(...)` (PT110)
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
        if name == "cupy" and isinstance(self.statement, cst.SimpleStatementLine) and \
                any(id(s) in self._xp.bindings for s in self.statement.body):
            return updated  # PT110's choice by a flag, converted or marked with its binding
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


@dataclass
class _Plan:
    """How one use of an array module is converted (or why it is not)."""

    node: cst.CSTNode  # the use: a Call, an Attribute or a Comparison of the input tree
    rule: str = ""
    device: str = ""  # the device text (`x.device`)
    function: ArrayFunction | None = None
    name: str = ""  # `zeros`, `random.normal`
    dtype: str | None = None  # the torch dtype written (None: none)
    text: str = ""  # a fixed replacement (attributes, comparisons)
    fold: cst.Call | None = None  # the `.astype(t)` call whose dtype the conversion took
    dtype_node: cst.CSTNode | None = None  # the dtype argument read (the conversion writes it in torch's spelling)
    warning: str = ""  # a doubt worth a WARNING
    why: str = ""  # not converted: why
    callee: str = ""  # PT123 across files: the function of another file the argument is passed to, for messages


@dataclass
class _Binding:
    """`xp = cuda.get_array_module(v.data)` / `xp = link.xp`: the assignment and what became of its uses."""

    statement: cst.SimpleStatementLine
    rule: str
    text: str  # the assignment's text
    name: str
    device: str | None  # None: the source is not known to be a tensor
    source: str  # what the module was chosen by
    variable: str | None = None  # the Variable it was chosen by (Chainer's arithmetic casts arrays to its dtype)
    roots: tuple[str, ...] = ()  # the names the device text reads
    left: list[str] = field(default_factory=list)  # the uses that stay, with what to do
    converted: int = 0
    flag: str | None = None  # PT110: `torch.device(...)` of a choice by a flag (`xp = cuda.cupy if gpu else np`)
    devices: int = 0  # uses that create tensors on the device (PT110 writes `device = ...` for them)
    blocked: str = ""  # why none of its uses converts


class _Tree(cst.CSTVisitor):
    """Parents, source order and enclosing scopes of every node of a module (the array-module scan's view)."""

    def __init__(self):
        super().__init__()
        self.parent: dict[int, cst.CSTNode] = {}
        self.order: dict[int, int] = {}
        self.scopes: dict[int, tuple] = {}  # id(Name) -> the FunctionDef/Lambda/ClassDef around it, outermost first
        self.names: dict[str, list[cst.Name]] = {}
        self.assigns: list[cst.Assign] = []
        self.receivers: list[cst.Attribute] = []  # `R.xp`
        self.cupy: list[cst.BaseExpression] = []  # `cuda.cupy`, `cupy`
        self._stack: list[cst.CSTNode] = []
        self._scope: list[cst.CSTNode] = []
        self.module_body: tuple = ()

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.Module):
            self.module_body = node.body
        if self._stack:
            self.parent[id(node)] = self._stack[-1]
        self.order[id(node)] = len(self.order)
        self._stack.append(node)
        if isinstance(node, cst.Name):
            self.names.setdefault(node.value, []).append(node)
            self.scopes[id(node)] = tuple(self._scope)
        elif isinstance(node, cst.Assign):
            self.assigns.append(node)
        elif isinstance(node, cst.Attribute) and node.attr.value == "xp":
            self.receivers.append(node)
        if isinstance(node, cst.Attribute) and node.attr.value == "cupy" or \
                isinstance(node, cst.Name) and node.value == "cupy":
            self.cupy.append(node)  # (qualified later: `cuda.cupy`, `cupy`)
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            self._scope.append(node)
        return True

    def on_leave(self, node: cst.CSTNode) -> None:
        self._stack.pop()
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            self._scope.pop()

    def up(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.parent.get(id(node))

    def statement(self, node: cst.CSTNode) -> cst.CSTNode | None:
        while node is not None and not isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            node = self.up(node)
        return node

    def function(self, node: cst.CSTNode) -> cst.FunctionDef | None:
        while node is not None and not isinstance(node, cst.FunctionDef):
            node = self.up(node)
        return node

    def within(self, node: cst.CSTNode, scope: cst.CSTNode) -> bool:
        while node is not None and node is not scope:
            node = self.up(node)
        return node is scope

    def stored(self, name: cst.Name) -> bool | None:
        """True where ``name`` is bound (assigned, a parameter, a loop target, imported...), None where it is no
        variable (``a.name``, ``f(name=...)``), False where it is read."""
        child, node = name, self.up(name)
        while isinstance(node, (cst.Element, cst.StarredElement, cst.Tuple, cst.List)):
            child, node = node, self.up(node)
        targets = {cst.AssignTarget: "target", cst.AugAssign: "target", cst.AnnAssign: "target", cst.For: "target",
                   cst.CompFor: "target", cst.NamedExpr: "target", cst.AsName: "name", cst.Del: "target",
                   cst.Param: "name", cst.FunctionDef: "name", cst.ClassDef: "name", cst.NameItem: "name",
                   cst.ImportAlias: "name"}
        if type(node) in targets and getattr(node, targets[type(node)]) is child:
            return True
        if isinstance(node, cst.Attribute) and node.attr is name or isinstance(node, cst.Arg) and node.keyword is name:
            return None
        if isinstance(node, cst.Attribute) and node.value is child and child is not name:
            return False  # `(a, b).x`
        return False


class _ArrayModules:
    """The array modules of tensors in a module and how each of their uses converts, found before the traversal:
    a binding is removed only when every use of it converts, which is known before any use is reached."""

    def __init__(self, rules: RulePass, module: cst.Module, scan: bool = True):
        self.rules = rules
        self.tree = _Tree()
        if scan:
            module.visit(self.tree)
        self.plans: dict[int, _Plan] = {}  # id(use node) -> its conversion
        self.folds: dict[int, _Plan] = {}  # id(`.astype(t)` call) -> the conversion that took its dtype
        self.bindings: dict[int, _Binding] = {}  # id(Assign) -> the binding it makes
        self.claimed: set[int] = set()  # `R.xp` nodes this scan takes (PT025 does not mark them)
        self.calls: set[int] = set()  # get_array_module calls of the bindings
        self.absorbed: set[int] = set()  # dtype arguments of converted calls (written by the call)
        self.compared: set[int] = set()  # `np`/`cuda.cupy` in converted comparisons
        self.cupy_calls: set[int] = set()  # `cuda.cupy.X` attributes of converted CuPy calls (not marked)
        self.casts: dict[int, str] = {}  # id(`a.astype(t)` call) -> the torch dtype, for an `a` made a tensor here
        self.seeded = any(self._seeds(node) for node in self.tree.names.get("seed", ()))
        self.xp_stored = any(self.tree.stored(n) is None and isinstance(self.tree.up(n), cst.Attribute) and
                             self._attribute_stored(self.tree.up(n)) for n in self.tree.names.get("xp", ()))
        # PT123: functions of the file that take an array module as a parameter (planned before the bindings,
        # whose uses include the arguments of their calls)
        self.arguments: dict[int, _Plan] = {}  # id(argument node) -> its replacement by a device
        self.parameters: dict[int, tuple[int, str, bool]] = {}  # id(FunctionDef) -> (index, old name, public)
        self.planned_parameter: tuple[cst.FunctionDef, str] | None = None
        self.parameter_plans: dict[int, tuple[tuple, list[cst.CSTNode]]] = {}  # id(FunctionDef) -> (before, args)
        project, path = self.rules.project, self.rules.ctx.path
        self.shared_blocked: dict[int, str] = {}  # id(FunctionDef) -> why its calls in other files keep the module
        for function in self.tree.module_body:
            if isinstance(function, cst.FunctionDef):
                self._parameter(function, project.shared_array_functions.get(f"{path}::{function.name.value}"))
        self._shared_calls(project.shared_array_callees.get(path, {}))
        groups: dict[tuple[int, str], list[_Binding]] = {}
        for assign in self.tree.assigns:
            binding = self._binding(assign)
            if binding is not None:
                function = self.tree.function(assign)
                groups.setdefault((id(function), binding.name), []).append(binding)
                self.bindings[id(assign)] = binding
        for (_, name), bindings in groups.items():
            self._scope(name, bindings)
        for receiver in self.tree.receivers:
            if id(receiver) not in self.claimed and not self._binding_value(receiver):
                device = self._module_device(receiver)
                plan = self._use(receiver, device, None) if device is not None else None
                if plan is not None and not plan.why:
                    self.claimed.add(id(receiver))
        self._settle_parameters()
        # PT110: `cuda.cupy.argmax(a)` called CuPy itself: its arrays are CuPy's (CUDA tensors in torch), and what
        # it creates is on the current GPU (torch's 'cuda'); `cuda.cupy.ndarray`, asnumpy and kernels are not these
        for module in self.tree.cupy:
            parent = self.tree.up(module)
            if not (isinstance(parent, cst.Attribute) and parent.value is module) or \
                    _cuda_name(self.rules.qualified(module) if is_dotted(module) else None) != "cupy" or \
                    parent.attr.value in ("ndarray", "asnumpy", "get_array_module") or \
                    f"cupy.{parent.attr.value}" in KERNELS:
                continue
            plan = self._use(module, "'cuda'", None)
            if not plan.why:
                plan.rule = "PT111" if plan.rule in ("PT085", "PT086") else plan.rule
                self.cupy_calls.update({id(parent), id(self.tree.up(parent))})  # `cupy.random.normal`: both

    # bindings -------------------------------------------------------------------------------------

    def _binding(self, assign: cst.Assign) -> _Binding | None:
        statement = self.tree.up(assign)
        if not (len(assign.targets) == 1 and isinstance(assign.targets[0].target, cst.Name) and
                isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 and
                self.tree.function(assign) is not None):
            return None
        name, value = assign.targets[0].target.value, assign.value
        text = code(assign).strip()
        if isinstance(value, cst.Call) and is_dotted(value.func) and \
                _cuda_name(self.rules.qualified(value.func)) in ARRAY_MODULE_OF or \
                isinstance(value, cst.Call) and self.rules.qualified(value.func) == "chainer.backend.get_array_module":
            self.calls.add(id(value))
            args = value.args
            if len(args) != 1 or args[0].keyword is not None or args[0].star:
                return _Binding(statement, "PT063", text, name, None, code(value))
            source = args[0].value
            device = self._tensor_device(source, assign)
            return _Binding(statement, "PT063", text, name, device and device[0], code(source),
                            device and device[1], _names(source))
        flag = self._flag_choice(value)
        if flag is not None:
            return self._flag_binding(statement, text, name, value, flag)
        if isinstance(value, cst.Attribute) and value.attr.value == "xp":
            device = self._module_device(value)
            if device is None:
                return None  # PT025 marks it
            self.claimed.add(id(value))
            return _Binding(statement, "PT025", text, name, device, code(value.value), None, _names(value.value))
        return None

    def _module(self, node: cst.BaseExpression) -> str | None:
        """"numpy" or "cupy" for a reference to either module (`np`, `cuda.cupy`, `chainer.cuda.cupy`)."""
        qualified = self.rules.qualified(node) if is_dotted(node) else None
        if qualified is None and isinstance(node, cst.Name) and node.value in ("np", "numpy"):
            qualified = "numpy"  # (`from module import *` brought it: the name NumPy goes by, as PT025 reads it)
        return "numpy" if qualified == "numpy" else "cupy" if _cuda_name(qualified) == "cupy" else None

    def _flag_choice(self, value: cst.BaseExpression) -> str | None:
        """The torch device text of `cuda.cupy if cond else np` (either way round; `cuda.cupy` alone: the GPU)."""
        if self._module(value) == "cupy":
            return "torch.device('cuda')"
        if isinstance(value, cst.IfExp):
            body, orelse = self._module(value.body), self._module(value.orelse)
            if {body, orelse} == {"numpy", "cupy"}:
                first, second = ("cuda", "cpu") if body == "cupy" else ("cpu", "cuda")
                return f"torch.device('{first}' if {code(value.test)} else '{second}')"
        return None

    def _flag_binding(self, statement, text: str, name: str, value, flag: str) -> _Binding:
        """PT110: the program chose CuPy by a flag; its arrays are tensors on the device the flag chose (CuPy's
        on the current GPU, which is torch's 'cuda'), written as `device = ...` where the binding was."""
        binding = _Binding(statement, "PT110", text, name, "device", code(value), flag=flag)
        module_choice = any(_array_module_choice(s) is not None for s in self.tree.module_body) or \
            bool(_array_module_branches(self.tree.module_body))  # (PT025 writes a module-level `device` for them)
        if self.rules._device_named or getattr(self.rules, "_array_modules", None) or module_choice:
            binding.blocked = f"`device` is a name of this file already: create the arrays as tensors on `{flag}` " \
                              "(under a name of their own), or keep NumPy for arrays that stay on the host"
        return binding

    def _binding_value(self, receiver: cst.Attribute) -> bool:
        parent = self.tree.up(receiver)
        return isinstance(parent, cst.Assign) and id(parent) in self.bindings

    def _tensor_device(self, source: cst.BaseExpression, assign: cst.Assign) -> tuple[str, str] | None:
        """(the device text, the Variable) for an array module's source that is a tensor in torch: a Variable's
        `.data`/`.array`, or a name the function binds to chainer.Variable only."""
        if isinstance(source, cst.Attribute) and source.attr.value in ("data", "array") and _pure(source.value):
            return f"{code(source.value)}.device", code(source.value)
        if isinstance(source, cst.Name):
            function = self.tree.function(assign)
            stores = [n for n in self.tree.names.get(source.value, ()) if self.tree.within(n, function) and
                      self.tree.stored(n)]
            if stores and all(self._variable_assignment(n) for n in stores):
                return f"{source.value}.device", source.value
        return None

    def _variable_assignment(self, name: cst.Name) -> bool:
        target = self.tree.up(name)
        assign = self.tree.up(target)
        return isinstance(target, cst.AssignTarget) and isinstance(assign, cst.Assign) and \
            isinstance(assign.value, cst.Call) and is_dotted(assign.value.func) and \
            self.rules.qualified(assign.value.func) in ("chainer.Variable", "chainer.variable.Variable")

    def _module_device(self, receiver: cst.Attribute) -> str | None:
        """The device text of `R.xp` for a link R (a module in torch): its parameters' device. Chainer's xp was
        the only `xp` of its objects; `self` must be a link's (its class one of the program's chains)."""
        owner = receiver.value
        if not is_dotted(owner) or self.rules.qualified(owner) is not None or self.xp_stored or \
                code(owner) in ("np", "numpy", "cuda", "cupy"):
            return None
        if code(owner).split(".")[0] == "self":
            classes = [s for s in self.tree.scopes.get(id(_root(owner)), ()) if isinstance(s, cst.ClassDef)]
            if not classes or classes[-1].name.value not in self.rules.project.chain_classes:
                return None
        return f"next({code(owner)}.parameters()).device"

    def _attribute_stored(self, attribute: cst.Attribute) -> bool:
        parent = self.tree.up(attribute)
        return isinstance(parent, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign)) and parent.target is attribute

    def _seeds(self, name: cst.Name) -> bool:
        """`np.random.seed(...)` (NumPy's global generator, which numpy.random draws of Chainer's CPU runs used)."""
        attribute = self.tree.up(name)
        call = self.tree.up(attribute)
        return isinstance(attribute, cst.Attribute) and attribute.attr is name and isinstance(call, cst.Call) and \
            call.func is attribute and self.rules.qualified(attribute) == "numpy.random.seed"

    # the uses of a binding ------------------------------------------------------------------------

    def _scope(self, name: str, bindings: list[_Binding]) -> None:
        """Plan every use of `name` in the function of the bindings (or say why none converts)."""
        function = self.tree.function(bindings[0].statement)
        statements = {id(b.statement) for b in bindings}
        occurrences = [n for n in self.tree.names.get(name, ()) if self.tree.within(n, function)]
        uses = [n for n in occurrences if self.tree.stored(n) is False]
        stores = [n for n in occurrences if self.tree.stored(n)]
        first = min(self.tree.order[id(b.statement)] for b in bindings)
        devices = {b.device for b in bindings}
        why = next((b.blocked for b in bindings if b.blocked), "") if uses else ""  # (unused: it just goes)
        if why:
            pass
        elif any(b.flag for b in bindings) and (len(bindings) > 1 or len({b.rule for b in bindings}) > 1):
            why = f"`{name}` is chosen more than once here: convert its uses by hand"
        elif None in devices:
            source = next(b.source for b in bindings if b.device is None)
            why = f"`{name}` is also chosen by `{source}` here, which is not known to be a tensor: convert its " \
                  "uses by hand"
        elif len(devices) > 1:
            why = "it is chosen from different arrays"
        elif any(id(self.tree.statement(n)) not in statements or
                 not isinstance(self.tree.up(n), cst.AssignTarget) for n in stores):
            why = f"`{name}` is bound otherwise too"
        elif any(self.tree.scopes[id(n)][-1:] != (function,) for n in occurrences):
            why = f"`{name}` is used in a nested function"
        elif any(self.tree.order[id(n)] < first for n in uses):
            why = f"`{name}` is used before it is chosen"
        else:
            late = [n for root in bindings[0].roots for n in self.tree.names.get(root, ()) if
                    self.tree.within(n, function) and self.tree.stored(n) and self.tree.order[id(n)] > first]
            if late:
                why = f"`{late[0].value}` is assigned again after the choice"
        variable = bindings[0].variable
        strict = bindings[0].flag is not None
        pending = [] if why else uses
        saved = (dict(self.plans), dict(self.folds), set(self.absorbed), dict(self.casts), set(self.compared))
        while pending:  # (strict: an operand converted by a later use lets an earlier one convert: again)
            failed = []
            for use in pending:
                plan = self._use(use, bindings[0].device, variable, strict=strict)
                if plan.why:
                    failed.append(plan.why)
                    continue
                for binding in bindings:
                    binding.converted += 1
                    binding.devices += plan.function is not None and plan.function.device
            if not strict or len(failed) == len(pending):
                for binding in bindings:
                    binding.left.extend(failed)
                if strict and failed:  # PT110 converts all of its uses or none (they read the `device` it writes)
                    self.plans, self.folds, self.absorbed, self.casts, self.compared = saved
                    for binding in bindings:
                        binding.converted = binding.devices = 0
                break
            pending = [use for use in pending if not any(id(n) in self.plans for n in self._plan_nodes(use))]
        for binding in bindings:
            if why:
                binding.left.append(why)

    def _plan_nodes(self, use: cst.BaseExpression) -> list[cst.CSTNode]:
        """The nodes a use's plan may be recorded under (the name, its attribute, the call, a comparison)."""
        nodes, node = [use], use
        for _ in range(3):
            node = self.tree.up(node)
            if node is None:
                break
            nodes.append(node)
        return nodes

    def _parameter(self, function: cst.FunctionDef, shared=None) -> None:
        """PT123: the first plain parameter of a module-level function that the body uses only to create arrays
        (`xp.zeros(...)`, a dtype `xp.float32`), and that every call of the function in this file gives an array
        module whose device is known: the parameter becomes `device`, the calls pass the device. ``shared``: the
        project's facts of a function called from other files of the run too (their calls convert with these,
        all or none)."""
        if any(isinstance(n, cst.Name) and n.value == "device" for n in self.tree.names.get("device", ())
               if self.tree.within(n, function)):
            return
        for index, param in enumerate(function.params.params):
            name = param.name.value
            occurrences = [n for n in self.tree.names.get(name, ()) if self.tree.within(n, function) and
                           n is not param.name]
            if param.default is not None or not occurrences or any(
                    self.tree.stored(n) is not False or self.tree.scopes[id(n)][-1:] != (function,) or
                    not (isinstance(self.tree.up(n), cst.Attribute) and self.tree.up(n).value is n)
                    for n in occurrences):
                continue
            saved = (dict(self.plans), dict(self.folds), set(self.absorbed), dict(self.casts), set(self.compared))
            self.planned_parameter = (function, name)
            plans = [self._use(n, "device", None) for n in occurrences]
            self.planned_parameter = None
            arguments = self._call_arguments(function, index, shared is not None)
            # (a call must create an array: a function of arrays takes NumPy's or torch's by what the caller had;
            # an attribute, a dtype, is the same either way)
            body = not any(p.why or p.function is not None and not p.function.device for p in plans)
            if shared is not None and (shared.index != index or shared.why or arguments is None):
                if body and shared.index == index:  # (it would take the device, but not every call can pass one)
                    self.shared_blocked[id(function)] = shared.why or \
                        "a call in this file passes an array module netport cannot make a device"
                arguments = None
            if arguments is None or not body:
                self.plans, self.folds, self.absorbed, self.casts, self.compared = saved
                continue
            for plan in arguments:
                self.arguments[id(plan.node)] = plan
                if not isinstance(plan.node, cst.Name) or plan.text in ("'cpu'", "'cuda'"):
                    self.plans[id(plan.node)] = plan  # (an argument that is no binding's use: converted as it is)
            self.parameters[id(function)] = (index, name, not function.name.value.startswith("_"))
            self.parameter_plans[id(function)] = (saved, [plan.node for plan in arguments])
            return

    def _settle_parameters(self) -> None:
        """A function whose call passes a binding that did not convert (`xp` also used in a nested function, say)
        keeps its array module, and the calls that did convert pass the module again: all of its calls or none."""
        for key, (saved, nodes) in list(self.parameter_plans.items()):
            if all(id(node) in self.plans for node in nodes):
                continue
            plans, folds, absorbed, casts, compared = saved
            inside = {k for k in self.plans if k not in plans} - {id(node) for node in nodes}
            for k in inside:  # (the function's own conversions: the calls' arguments are undone below)
                del self.plans[k]
            for k in set(self.folds) - set(folds):
                del self.folds[k]
            self.absorbed -= self.absorbed - absorbed
            for k in set(self.casts) - set(casts):
                del self.casts[k]
            self.compared -= self.compared - compared
            del self.parameters[key]
            for node in nodes:
                if self.plans.pop(id(node), None) is None or not isinstance(node, cst.Name):
                    continue
                for binding in self.bindings.values():
                    if binding.name == node.value and \
                            self.tree.function(binding.statement) is self.tree.function(node):
                        binding.converted -= 1
                        binding.left.append(f"`{_short(code(self.tree.statement(node)).strip())}` passes the module "
                                            "itself on to a function of this file")

    def _call_arguments(self, function: cst.FunctionDef, index: int, shared: bool = False) -> list[_Plan] | None:
        """The device each call of ``function`` passes for its array-module parameter; None unless every reference
        to the function in this file is such a call (and there is one, unless other files call it: ``shared``)."""
        references = [n for n in self.tree.names.get(function.name.value, ()) if n is not function.name and
                      self.tree.stored(n) is not None]
        plans = []
        for reference in references:
            call = self.tree.up(reference)
            if not (isinstance(call, cst.Call) and call.func is reference) or \
                    any(a.star for a in call.args):
                return None
            positional = [a for a in call.args if a.keyword is None]  # (by keyword it would name the old parameter)
            argument = positional[index] if index < len(positional) else None
            device = self._argument_device(argument.value, call) if argument is not None else None
            if device is None:
                return None
            plans.append(_Plan(argument.value, "PT123", text=device))
        return plans if plans or shared else None

    def _shared_calls(self, callees: dict[str, str]) -> None:
        """PT123 across files: the calls of this file of a function of another file of the run that takes the
        device (the project's facts say every call of the run can pass one): each passes the device. Where one
        cannot after all, none of this file's does (the run then keeps the array module everywhere)."""
        functions = self.rules.project.shared_array_functions
        for text, key in callees.items():
            function = functions.get(key)
            if function is None or function.why:
                continue
            plans = []
            for name in self.tree.names.get(text.split(".")[0], ()):
                chain = name
                while isinstance(self.tree.up(chain), cst.Attribute) and self.tree.up(chain).value is chain:
                    chain = self.tree.up(chain)
                call = self.tree.up(chain)
                if code(chain) != text or not (isinstance(call, cst.Call) and call.func is chain):
                    continue
                positional = [a for a in call.args if a.keyword is None]
                if any(a.star for a in call.args) or function.index >= len(positional):
                    plans = None
                    break
                argument = positional[function.index].value
                device = self._argument_device(argument, call)
                if device is None:
                    plans = None
                    break
                plans.append(_Plan(argument, "PT123", text=device, callee=f"`{function.name}` of {function.shown}"))
            for plan in plans or ():
                self.arguments[id(plan.node)] = plan
                if not isinstance(plan.node, cst.Name) or plan.text in ("'cpu'", "'cuda'"):
                    self.plans[id(plan.node)] = plan

    def _argument_device(self, value: cst.BaseExpression, call: cst.Call) -> str | None:
        """The device an array-module argument stands for: NumPy's 'cpu', CuPy's 'cuda', a link's `R.xp` its
        parameters', a name bound once before the call to get_array_module of a tensor that tensor's."""
        module = self._module(value)
        if module is not None:
            return "'cpu'" if module == "numpy" else "'cuda'"
        if isinstance(value, cst.Attribute) and value.attr.value == "xp":
            return self._module_device(value)
        if not isinstance(value, cst.Name):
            return None
        caller = self.tree.function(call)
        stores = [n for n in self.tree.names.get(value.value, ()) if self.tree.within(n, caller) and
                  self.tree.stored(n)] if caller is not None else []
        if not stores or self.tree.order[id(stores[0])] > self.tree.order[id(call)]:
            return None
        bindings = []
        for store in stores:  # (each a choice by the same tensor: whichever reaches the call, the same device)
            assign = self.tree.up(self.tree.up(store))
            binding = self._binding(assign) if isinstance(assign, cst.Assign) else None
            if binding is None or binding.device is None or binding.flag is not None:
                return None
            bindings.append(binding)
        if len({b.device for b in bindings}) != 1 or any(
                self.tree.stored(n) and self.tree.within(n, caller) and
                self.tree.order[id(stores[0])] < self.tree.order[id(n)] < self.tree.order[id(call)]
                for root in bindings[0].roots for n in self.tree.names.get(root, ())):
            return None  # (the tensor it was chosen by is assigned again before the call)
        return bindings[0].device

    def _use(self, use: cst.BaseExpression, device: str, variable: str | None, strict: bool = False) -> _Plan:
        """The conversion of one use of an array module (`xp` or `R.xp`), recorded under the node it replaces."""
        if id(use) in self.arguments:  # PT123: passed to a function of the file that takes the device now
            plan = self.arguments[id(use)]
            self.plans[id(use)] = plan
            return plan
        parent = self.tree.up(use)
        shown = code(self.tree.statement(use) if not isinstance(parent, cst.Attribute) else parent).strip()
        if isinstance(parent, cst.Comparison) and len(parent.comparisons) == 1:
            plan = self._comparison(parent, use, device)
        elif not (isinstance(parent, cst.Attribute) and parent.value is use):
            plan = _Plan(use, why=f"`{_short(shown)}` uses the module itself: pass the device "
                                  f"(`{device}`) instead and create the tensors on it")
        else:
            plan = self._attribute(parent, device, variable, strict)
        if not plan.why:
            self.plans[id(plan.node)] = plan
            if plan.fold is not None:
                self.folds[id(plan.fold)] = plan
            if plan.dtype_node is not None:
                self.absorbed.add(id(plan.dtype_node))
        return plan

    def _comparison(self, comparison: cst.Comparison, use, device: str) -> _Plan:
        """`xp is numpy` / `xp != np` / `xp == cuda.cupy`: whether the tensor is on the host or a GPU."""
        target = comparison.comparisons[0]
        other = target.comparator if comparison.left is use else comparison.left
        module = self.rules.qualified(other) if is_dotted(other) else None
        kind = "cpu" if module == "numpy" else "cuda" if _cuda_name(module) == "cupy" else None
        operator = {cst.Equal: "==", cst.Is: "==", cst.NotEqual: "!=", cst.IsNot: "!="}.get(type(target.operator))
        if kind is None or operator is None:
            return _Plan(comparison, why=f"`{code(comparison)}` compares the module: compare `{device}.type` "
                                         "with 'cpu' or 'cuda' instead")
        self.compared.add(id(other))  # (not CuPy's any more: PT063 leaves it)
        return _Plan(comparison, "PT085", device, text=f"{device}.type {operator} '{kind}'")

    def _attribute(self, attribute: cst.Attribute, device: str, variable: str | None, strict: bool = False) -> _Plan:
        name = attribute.attr.value
        parent = self.tree.up(attribute)
        called = isinstance(parent, cst.Call) and parent.func is attribute
        if name in DTYPES:  # (a converted call's dtype argument: the call writes torch's; `xp.float32(2)` is NumPy's)
            return _Plan(attribute, "PT085", device, text="" if id(attribute) in self.absorbed else f"numpy.{name}")
        if name == "newaxis" and not called:
            return _Plan(attribute, "PT085", device, text="None")
        if name == "ndarray" and self._isinstance_type(attribute):
            return _Plan(attribute, "PT085", device, text="torch.Tensor")
        if name == "random" and isinstance(parent, cst.Attribute) and parent.value is attribute:
            call = self.tree.up(parent)
            function = RANDOM_FUNCTIONS.get(parent.attr.value)
            if function is not None and isinstance(call, cst.Call) and call.func is parent:
                return self._call(call, f"random.{parent.attr.value}", function, device, variable, strict)
            return _Plan(parent, why=f"`{code(parent)}` has no torch counterpart in netport's table: draw with "
                                     f"torch's generator on `{device}` (torch.rand/randn/randint, Tensor.normal_...)")
        if called and name in ARRAY_FUNCTIONS:
            return self._call(parent, name, ARRAY_FUNCTIONS[name], device, variable, strict)
        return _Plan(attribute, why=f"`{_short(code(parent if called else attribute))}` is not in netport's table: "
                                    f"write the torch function (on `{device}` for a new tensor)")

    def _isinstance_type(self, node) -> bool:
        element = self.tree.up(node)
        call = self.tree.up(element)
        return isinstance(element, cst.Arg) and isinstance(call, cst.Call) and isinstance(call.func, cst.Name) and \
            call.func.value == "isinstance" and len(call.args) == 2 and call.args[1] is element

    def _call(self, call: cst.Call, name: str, function: ArrayFunction, device: str, variable: str | None,
              strict: bool = False) -> _Plan:
        shown = f"`{_short(code(call))}`"
        values = _bind(call, function)
        if isinstance(values, str):
            return _Plan(call, why=f"{shown}: {values}")
        plan = _Plan(call, "PT087" if name.startswith("random.") else "PT085" if function.device else
                     "PT112" if name == "where" else "PT086", device, function, name)
        problem = self._arguments(values, function)
        if not problem and strict:  # PT110: NumPy's arrays on the CPU; tensors only where they are Variables' arrays
            operands = [values[p] for p in function.arrays if p in values] + \
                [e.value for p in function.sequences if isinstance(values.get(p), (cst.List, cst.Tuple))
                 for e in values[p].elements]
            if any(isinstance(values.get(p), (cst.List, cst.Tuple)) is False and p in values
                   for p in function.sequences):
                problem = "a sequence of arrays netport cannot see"
            unknown = next((o for o in operands if not self._known_tensor(o)), None)
            if unknown is not None:
                problem = f"`{_short(code(unknown))}` is a NumPy array on the CPU, which torch functions do not " \
                          "take: keep NumPy for it, or make it a tensor on the device"
            elif self._shown(self._astype(call) or call):
                problem = "the array is printed (NumPy's text, which a tensor's is not): keep NumPy for it"
        if problem:
            return _Plan(call, why=f"{shown}: {problem}")
        outer = self._astype(call) if function.fresh else None
        if "dtype" in values:
            plan.dtype, plan.dtype_node = self._dtype(values["dtype"]), values["dtype"]
            if plan.dtype is None:
                return _Plan(call, why=f"{shown}: its dtype `{code(values['dtype'])}` is not one netport reads")
        elif outer is not None:
            plan.dtype, plan.fold, plan.dtype_node = self._dtype(outer.args[0].value), outer, outer.args[0].value
        if plan.dtype is None:
            default = self._default_dtype(function, values)
            if default is None:
                return _Plan(call, why=f"{shown}: NumPy's dtype here depends on the values: give dtype=")
            plan.dtype = default or None
            if default == "torch.float64":
                context, operand = self._arithmetic(call, variable)
                if context == "variable":  # Chainer cast an array combined with a Variable to the Variable's dtype
                    plan.dtype = f"{variable}.dtype"
                elif context == "unknown":
                    plan.warning = f"NumPy gave float64 here; if `{operand}` is a Variable, Chainer cast the " \
                                   f"array to its dtype: write dtype={operand}.dtype then"
        if function.dtype == "literal" and function.literal and not plan.warning and "dtype" not in values:
            value = values.get(function.literal[0])
            if function.literal[0] in ("a", "object") and value is not None and \
                    _literal_kind(value) is None and not _is_shape(value) and not self._known_array(value):
                plan.warning = f"`{_short(code(value))}` keeps its dtype if it is an array; a Python list of " \
                               "floats is float64 in NumPy but float32 in torch: give dtype=torch.float64 then"
        result = (plan.fold or call)
        parent = self.tree.up(result)
        if isinstance(parent, cst.Attribute) and parent.value is result and parent.attr.value in NUMPY_ONLY:
            return _Plan(call, why=f"{shown}: its result is used as a NumPy array (`.{parent.attr.value}`), which a "
                                   "tensor is not")
        problem = self._result_uses(result)
        if problem:
            return _Plan(call, why=f"{shown}: {problem}")
        return plan

    def _arguments(self, values: dict, function: ArrayFunction) -> str:
        for parameter in function.arrays:
            if parameter in values and _literal_kind(values[parameter]) is not None or \
                    isinstance(values.get(parameter), (cst.List, cst.Tuple, cst.SimpleString)):
                return "a torch function takes tensors only, not Python numbers or lists"
        for parameter in function.sequences:
            if parameter in values and _literal_kind(values[parameter]) is not None:
                return "a torch function takes tensors only"
        for parameter in function.integers:
            if parameter in values and not _integer(values[parameter]):
                return f"`{code(values[parameter])}` is not known to be an integer"
        for parameter in ("loc", "scale", "low", "high"):  # torch draws with Python numbers as the bounds
            value = values.get(parameter)
            if function.then and value is not None and isinstance(value, (cst.List, cst.Tuple)) or \
                    function.then and value is not None and self._known_array(value):
                return "NumPy broadcast array bounds; torch's in-place draws take numbers"
        if function.same_dtype and not _same_dtype(*(values[p] for p in function.same_dtype)):
            return f"NumPy promotes `{'`, `'.join(code(values[p]) for p in function.same_dtype)}` otherwise than " \
                   "torch where their dtypes differ (int with float: float64, torch float32): give them one dtype"
        axis = values.get(function.axis) if function.axis else None
        if axis is not None:
            if isinstance(axis, cst.Tuple) and not axis.elements:
                return "an empty axis tuple reduces nothing in NumPy, everything in torch"
            if function.single_axis and not _integer(axis):
                return "torch takes a single dim here"
        if "keepdims" in values and axis is None and function.single_axis and function.torch != "torch.argmax" and \
                function.torch != "torch.argmin":
            return "keepdims without an axis"
        return ""

    def _dtype(self, node: cst.BaseExpression) -> str | None:
        """The torch dtype of a NumPy dtype argument (`xp.float32`, `np.float32`, 'float32', float, `a.dtype`)."""
        if isinstance(node, cst.Attribute) and node.attr.value in DTYPES and is_dotted(node):
            module = self.rules.qualified(node.value)
            if module == "numpy" or _cuda_name(module) == "cupy" or self._module_use(node.value):
                return f"torch.{DTYPES[node.attr.value]}"
            return None
        if isinstance(node, cst.SimpleString) and node.evaluated_value in DTYPE_STRINGS:
            return f"torch.{DTYPE_STRINGS[node.evaluated_value]}"
        if isinstance(node, cst.Name) and node.value in BUILTIN_DTYPES:
            return f"torch.{BUILTIN_DTYPES[node.value]}"
        if isinstance(node, cst.Attribute) and node.attr.value == "dtype" and _pure(node.value):
            return code(node)  # an array's dtype: a tensor's in torch, as the array is one
        return None

    def _module_use(self, node: cst.BaseExpression) -> bool:
        """`xp` (a binding's name in scope) or `R.xp` of a link: the array module planned here."""
        if isinstance(node, cst.Attribute) and node.attr.value == "xp":
            return self._module_device(node) is not None
        if isinstance(node, cst.Name):
            function = self.tree.function(node)
            if self.planned_parameter == (function, node.value):  # PT123's parameter, being planned
                return True
            return any(b.name == node.value and b.device is not None and self.tree.function(b.statement) is function
                       for b in self.bindings.values())
        return False

    def _default_dtype(self, function: ArrayFunction, values: dict) -> str | None:
        """The torch dtype NumPy's default gives ("" where torch's own default is the same); None: unknown."""
        if function.dtype in ("float64", "int64"):
            return f"torch.{function.dtype}"
        if function.dtype != "literal":
            return ""
        kinds = [_literal_kind(values[p]) for p in function.literal if p in values]
        if "float" in kinds:
            return "torch.float64"
        if kinds and all(kind in ("int", "bool") for kind in kinds):
            return ""  # torch infers int64 and bool as NumPy does
        if function.literal[0] in ("a", "object"):
            return ""  # an array keeps its dtype (a list of Python floats: see the warning)
        return None

    def _shown(self, result: cst.CSTNode) -> bool:
        """The result, or a name it is assigned to, printed or made text (print, str, repr, format, f-strings)."""
        def shown(node) -> bool:
            parent = self.tree.up(node)
            call = self.tree.up(parent) if isinstance(parent, cst.Arg) else None
            return isinstance(parent, cst.FormattedStringExpression) or isinstance(call, cst.Call) and \
                isinstance(call.func, cst.Name) and call.func.value in ("print", "str", "repr", "format") or \
                isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value == "format"
        if shown(result):
            return True
        assign = self.tree.up(result)
        if not isinstance(assign, cst.Assign):
            return False
        function = self.tree.function(assign)
        names = {t.target.value for t in assign.targets if isinstance(t.target, cst.Name)}
        return any(shown(n) for name in names for n in self.tree.names.get(name, ()) if self.tree.within(n, function))

    def _known_tensor(self, node: cst.BaseExpression, seen: frozenset = frozenset()) -> bool:
        """An expression that is a tensor in torch: a Variable's array (`v.data`, `v.grad`, not `self.data`), an
        array this scan converts, a name the function binds to those only."""
        if isinstance(node, cst.Attribute) and node.attr.value in ("data", "array", "grad"):
            return not (isinstance(node.value, cst.Name) and node.value.value == "self")
        if id(node) in self.plans and self.plans[id(node)].function is not None or id(node) in self.folds:
            return True
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, ARITHMETIC):
            sides = (node.left, node.right)  # tensor arithmetic (with numbers) is a tensor
            return any(self._known_tensor(n, seen) for n in sides) and \
                all(self._known_tensor(n, seen) or _literal_kind(n) in ("int", "float") for n in sides)
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus) or \
                isinstance(node, cst.Subscript):
            return self._known_tensor(node.expression if isinstance(node, cst.UnaryOperation) else node.value, seen)
        if isinstance(node, cst.Name) and node.value not in seen:
            function = self.tree.function(node)
            stores = [n for n in self.tree.names.get(node.value, ()) if self.tree.within(n, function) and
                      self.tree.stored(n)]
            values = [self.tree.up(self.tree.up(n)) for n in stores]
            return bool(stores) and all(isinstance(self.tree.up(n), cst.AssignTarget) and isinstance(v, cst.Assign)
                                        and self._known_tensor(v.value, seen | {node.value}) for n, v in
                                        zip(stores, values))
        return False

    def _known_array(self, node: cst.BaseExpression, seen: frozenset = frozenset()) -> bool:
        """An expression that is an array (a tensor in torch, or a NumPy array): an array's data, a NumPy call."""
        if isinstance(node, cst.Attribute) and node.attr.value in ("data", "array", "grad"):
            return True
        if id(node) in self.plans:
            return True
        if isinstance(node, cst.Name) and node.value not in seen:  # a name the function binds to arrays only
            function = self.tree.function(node)
            stores = [n for n in self.tree.names.get(node.value, ()) if self.tree.within(n, function) and
                      self.tree.stored(n)]
            values = [self.tree.up(self.tree.up(n)) for n in stores]
            return bool(stores) and all(isinstance(self.tree.up(n), cst.AssignTarget) and isinstance(v, cst.Assign)
                                        and self._known_array(v.value, seen | {node.value}) for n, v in
                                        zip(stores, values))
        if isinstance(node, cst.Call):
            if is_dotted(node.func) and (self.rules.qualified(node.func) or "").startswith("numpy."):
                return True
            return isinstance(node.func, cst.Attribute) and node.func.attr.value in ("astype", "copy", "reshape")
        return False

    def _astype(self, call: cst.Call) -> cst.Call | None:
        """`<call>.astype(t)` right after the call, with t a dtype netport reads."""
        attribute = self.tree.up(call)
        outer = self.tree.up(attribute)
        if isinstance(attribute, cst.Attribute) and attribute.attr.value == "astype" and attribute.value is call and \
                isinstance(outer, cst.Call) and outer.func is attribute and len(outer.args) == 1 and \
                outer.args[0].keyword is None and self._dtype(outer.args[0].value) is not None:
            return outer
        return None

    def _arithmetic(self, call: cst.CSTNode, variable: str | None) -> tuple[str, str]:
        """Whether the array is an operand (through arithmetic) of the Variable `variable` ("variable"), of
        something not known to be no Variable ("unknown", its text), or of numbers and arrays only ("")."""
        node, parent, unknown = call, self.tree.up(call), ""
        while isinstance(parent, (cst.BinaryOperation, cst.UnaryOperation)):
            if isinstance(parent, cst.BinaryOperation):
                if not isinstance(parent.operator, ARITHMETIC):
                    break
                other = parent.right if parent.left is node else parent.left
                if variable is not None and code(other).strip("() ") == variable:
                    return "variable", variable
                if not unknown and not self._no_variable(other):
                    unknown = code(other)
            node, parent = parent, self.tree.up(parent)
        return ("unknown", unknown) if unknown else ("", "")

    def _no_variable(self, node: cst.BaseExpression) -> bool:
        """A number, an array, or arithmetic of them: nothing Chainer's Variable arithmetic took part in."""
        if _literal_kind(node) is not None or self._known_array(node) or id(node) in self.plans:
            return True
        if isinstance(node, cst.BinaryOperation):
            return self._no_variable(node.left) and self._no_variable(node.right)
        if isinstance(node, cst.UnaryOperation):
            return self._no_variable(node.expression)
        if isinstance(node, cst.Name):  # a parameter with a number as its default, never assigned
            function = self.tree.function(node)
            stores = [n for n in self.tree.names.get(node.value, ()) if self.tree.within(n, function) and
                      self.tree.stored(n)]
            return len(stores) == 1 and isinstance(self.tree.up(stores[0]), cst.Param) and \
                self.tree.up(stores[0]).default is not None and \
                _literal_kind(self.tree.up(stores[0]).default) in ("int", "float")
        return False

    def _result_uses(self, result: cst.CSTNode) -> str:
        """Why the result cannot be a tensor: a name it is assigned to is used as a NumPy array (`a.astype`)."""
        target = self.tree.up(result)
        assign = self.tree.up(target) if isinstance(target, cst.AssignTarget) else target
        if not isinstance(assign, cst.Assign):
            return ""
        names = [t.target.value for t in assign.targets if isinstance(t.target, cst.Name)]
        function = self.tree.function(assign)
        casts: dict[int, str] = {}
        for name in names:
            occurrences = [n for n in self.tree.names.get(name, ()) if self.tree.within(n, function)]
            only = [n for n in occurrences if self.tree.stored(n)] == [assign.targets[0].target] and \
                all(self.tree.scopes[id(n)][-1:] == (function,) for n in occurrences)
            for use in occurrences:
                parent = self.tree.up(use)
                if isinstance(parent, cst.Attribute) and parent.value is use and parent.attr.value in NUMPY_ONLY:
                    cast = self._cast(parent) if only and self.tree.order[id(use)] > self.tree.order[id(assign)] \
                        else None
                    if cast is None:
                        return f"`{name}` is used as a NumPy array (`{code(parent)}`), which a tensor is not"
                    casts[id(self.tree.up(parent))] = cast
        self.casts.update(casts)
        return ""

    def _cast(self, attribute: cst.Attribute) -> str | None:
        """PT085: `a.astype(t)` of an array made a tensor here is `a.to(t, copy=True)`: NumPy's astype copies
        (copy=True) and casts as torch does (casting='unsafe'); the torch dtype of t, else None."""
        call = self.tree.up(attribute)
        if not (attribute.attr.value == "astype" and isinstance(call, cst.Call) and call.func is attribute and
                len(call.args) == 1 and call.args[0].keyword is None and not call.args[0].star):
            return None
        return self._dtype(call.args[0].value)


ARRAY_MODULE_OF = {"get_array_module", "cupy.get_array_module"}


def _names(node: cst.CSTNode) -> tuple[str, ...]:
    """The variables an expression reads (not attribute names)."""
    found: list[str] = []

    class Names(cst.CSTVisitor):
        def visit_Attribute(self, attribute: cst.Attribute) -> bool:
            attribute.value.visit(self)
            return False

        def visit_Name(self, name: cst.Name) -> None:
            found.append(name.value)

    node.visit(Names())
    return tuple(dict.fromkeys(found))


def _is_shape(node: cst.BaseExpression) -> bool:
    """`a.shape`: a tuple of ints (a torch.Size in torch), which NumPy and torch both read as int64."""
    return isinstance(node, cst.Attribute) and node.attr.value == "shape"


def _root(node: cst.BaseExpression) -> cst.Name:
    while isinstance(node, cst.Attribute):
        node = node.value
    return node


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 70 else text[:67] + "..."


def _bind(call: cst.Call, function: ArrayFunction) -> dict | str:
    """The call's arguments by NumPy parameter; a string saying why they do not map."""
    if function.star:
        if not call.args or any(a.keyword is not None for a in call.args):
            return "no size (NumPy gives a Python number)" if not call.args else "keyword arguments"
        return {"*": call.args}
    values = bind_arguments(call, list(function.parameters))
    if values is None:
        return "arguments NumPy takes and torch has no equivalent for"
    values = {k: v for k, v in values.items() if not (isinstance(v, cst.Name) and v.value == "None") or
              any(k == p for p, _ in function.fixed)}
    emitted = {p for p, _ in function.emit} | {p for p, _ in function.spelled} | \
        set(function.then[1] if function.then else ())
    for parameter, value in values.items():
        fixed = dict(function.fixed).get(parameter)
        if fixed is not None and code(value) != fixed and not (
                isinstance(value, cst.SimpleString) and repr(value.evaluated_value) == fixed):
            return f"`{parameter}={code(value)}` has no torch equivalent"
        if fixed is None and parameter not in emitted:
            return f"`{parameter}=` has no torch equivalent"
    missing = [p for p in function.required if p not in values]
    if missing:
        return f"no `{missing[0]}`" + (" (NumPy gives a Python number)" if missing[0] == "size" else "")
    positional = [p for p, keyword in function.emit if not keyword]
    given = [p in values or p in dict(function.spelled) for p in positional]
    if any(not g and later for g, later in zip(given, [any(given[i + 1:]) for i in range(len(given))])):
        return "positional arguments torch cannot take in this order"
    return values


def _same_dtype(first: cst.BaseExpression, second: cst.BaseExpression) -> bool:
    """Two arrays known to have one dtype: the same pure expression, or `M.zeros_like(a)` (ones_, empty_) of
    the other, which keeps its dtype."""
    def like(node, other) -> bool:
        return isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and \
            node.func.attr.value in ("zeros_like", "ones_like", "empty_like") and len(node.args) == 1 and \
            node.args[0].keyword is None and not node.args[0].star and code(node.args[0].value) == code(other)
    return _pure(first) and (code(first) == code(second) or like(second, first)) or \
        _pure(second) and like(first, second)


# attributes of NumPy's and CuPy's ndarray and of Chainer 1.24's Variable (dir() of each, and the instance ones)
ARRAY_ATTRIBUTES = {
    "T", "addgrad", "all", "any", "argmax", "argmin", "argpartition", "argsort", "astype", "backward", "base",
    "byteswap", "choose", "cleargrad", "clip", "compress", "conj", "conjugate", "copy", "copydata", "ctypes",
    "cumprod", "cumsum", "data", "debug_print", "diagonal", "dot", "dtype", "dump", "dumps", "fill", "flags", "flat",
    "flatten", "getfield", "grad", "imag", "item", "itemset", "itemsize", "label", "max", "mean", "min", "nbytes",
    "ndim", "newbyteorder", "nonzero", "partition", "prod", "ptp", "put", "ravel", "real", "repeat", "reshape",
    "resize", "round", "searchsorted", "set_creator", "setfield", "setflags", "shape", "size", "sort", "squeeze",
    "std", "strides", "sum", "swapaxes", "take", "to_cpu", "to_gpu", "tobytes", "tofile", "tolist", "tostring",
    "trace", "transpose", "unchain_backward", "var", "view", "volatile", "zerograd", "creator", "name", "rank",
    "get", "set", "device", "reduced_view", "toDlpack", "cstruct", "mT", "scatter_add", "scatter_max", "scatter_min",
}


def _non_array_branch(branch, value: cst.BaseExpression) -> str | None:
    """`x.A` (A no array's or Variable's attribute) read unconditionally by the first statement of the else branch
    of the `if` whose test is the check (x a plain name): the text shown; else None."""
    if not (isinstance(branch, cst.If) and isinstance(value, cst.Name) and isinstance(branch.orelse, cst.Else) and
            isinstance(branch.orelse.body, cst.IndentedBlock) and branch.orelse.body.body):
        return None
    first = branch.orelse.body.body[0]
    if not (isinstance(first, cst.SimpleStatementLine) and len(first.body) == 1 and
            isinstance(first.body[0], (cst.Assign, cst.Expr, cst.Return, cst.AugAssign))):
        return None
    found: list[str] = []

    class Reads(cst.CSTVisitor):
        def visit_Attribute(self, node: cst.Attribute) -> bool:
            if isinstance(node.value, cst.Name) and node.value.value == value.value and \
                    node.attr.value not in ARRAY_ATTRIBUTES and not node.attr.value.startswith("_"):
                found.append(code(node))
            return True

        def visit_Lambda(self, node) -> bool:  # (read conditionally or later: no proof)
            return False

        visit_IfExp = visit_BooleanOperation = visit_ListComp = visit_GeneratorExp = visit_SetComp = \
            visit_DictComp = visit_Lambda

    if first.body[0].value is not None:  # (the value is evaluated first: `return x.W`, `n = x.W.shape[1]`)
        first.body[0].value.visit(Reads())
    return f"`{found[0]}`" if found else None


def _integer(node: cst.BaseExpression) -> bool:
    return _literal_kind(node) == "int" and not isinstance(node, (cst.List, cst.Tuple))


def _literal_kind(node: cst.BaseExpression) -> str | None:
    """"int", "float" or "bool" for a literal number (or a list of them, or an integer expression: len(),
    .shape[i], int(...)); None for anything else."""
    if isinstance(node, cst.Integer):
        return "int"
    if isinstance(node, cst.Float):
        return "float"
    if isinstance(node, cst.Name) and node.value in ("True", "False"):
        return "bool"
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        return _literal_kind(node.expression)
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.Subtract, cst.Multiply,
                                                                            cst.FloorDivide)):
        kinds = {_literal_kind(node.left), _literal_kind(node.right)}
        return "int" if kinds == {"int"} else None
    if isinstance(node, (cst.List, cst.Tuple)):
        kinds = {_literal_kind(e.value) for e in node.elements}
        if not kinds or None in kinds:
            return None if kinds else "float"  # numpy.array([]) is float64
        return "float" if "float" in kinds else "int" if "int" in kinds else "bool"
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in ("len", "int"):
        return "int"
    if isinstance(node, cst.Subscript) and isinstance(node.value, cst.Attribute) and node.value.attr.value == "shape":
        return "int"
    if isinstance(node, cst.Attribute) and node.attr.value == "ndim":
        return "int"
    return None


def _is_range(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "range"


def _unknown_source(text: str, name: str, array: str) -> str:
    return f"`{text}` chose NumPy or CuPy by where `{array}` lives, which is not known to be a tensor here (a " \
        f"Variable's `.data`, or a name bound to chainer.Variable, is): if it is one in torch, replace each " \
        f"`{name}.` call by the torch function on its device (e.g. `torch.zeros(shape, dtype=torch.float64, " \
        f"device={paren(array)}.device)`: NumPy's default dtype is float64), and keep NumPy for host arrays"


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
