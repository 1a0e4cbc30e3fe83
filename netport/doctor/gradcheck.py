"""Gradient check for hand-written backward code: which parameter's gradient is wrong.

:func:`gradcheck` compares a hand-written gradient with central finite differences in float64 and
names every parameter (or input) whose gradient disagrees. Four forms of hand-written code:

* **numpy gradient function** -- ``gradcheck(loss, params, grad=grad_fn, args=(x, t))``.
  ``params`` is a dict name -> array, or an object whose array attributes are the parameters
  (``net.W1``, ``net.b1``); ``loss(params, *args)`` returns the scalar the gradient belongs to
  (mind sum versus mean) and ``grad_fn(params, *args)`` returns a dict name -> gradient.
* **numpy update step** -- ``gradcheck(loss, params, step=train_step, lr=0.5, args=(x, t))``, for
  programs whose "backward" is the update itself: ``train_step(params, *args)`` changes the
  parameters in place (or returns the new dict) with the learning rate ``lr``. The implied gradient
  is ``(before - after) / lr``, so the step must be one plain gradient-descent step on ``loss`` over
  the given batch (no momentum, no weight decay); a step that reuses an already-updated weight
  within the same call is reported as wrong, because it is not the gradient of ``loss``.
* **torch.autograd.Function** subclass -- ``gradcheck(MyFunction, (x, w, b))``: its ``backward``
  is compared, in float64, with finite differences of ``sum(c * forward(...))`` for a fixed random
  ``c`` (a vector-Jacobian product, so one check covers all outputs), and
  ``torch.autograd.gradcheck`` (full numerical Jacobian) is run as a second opinion. Inputs are
  named after ``forward``'s parameters.
* **chainer.Function** (or ``FunctionNode``) subclass or instance -- ``gradcheck(MyFunction,
  (x, W))``: its ``backward``, reached through Chainer's own backprop, against finite differences
  of the same projected sum. Inputs are named from ``x, W = inputs`` in ``forward`` when present.

Only floating-point arrays are checked; integer inputs (labels) are passed through untouched.

Tolerance, from the error bound of the reference. The central difference
``D_h = (f(x+h) - f(x-h)) / 2h`` in float64 differs from ``f'(x)`` by at most
``h**2/6 * |f'''| + eps_f * |f| / h`` (truncation plus the rounding of the two evaluations, each
with relative error ``eps_f``). ``h = 1e-5`` balances the two for O(1) parameters and values. The
truncation term is estimated per element by Richardson's rule, ``|D_2h - D_h| / 3``; the rounding
term takes ``eps_f = 64 * 2.2e-16`` (a forward pass of some dozens of float64 operations). An
element passes when ``|g - D_h| <= 10 * bound + RTOL * |D_h|``: the factor 10 covers the bound
being an estimate, and ``RTOL = 1e-6`` lies far above the float64 rounding of the hand-written
gradient (~1e-13) and far below the error of any real bug (a wrong factor, sign or term is >= 1e-2).
At a kink (ReLU at 0) the Richardson estimate is large and the element passes: it cannot be checked.

Command line: ``netport doctor --gradcheck SPEC`` with ``SPEC`` = ``module:function``, where
``module`` is a dotted module name (importable from the current directory) or a path to a ``.py``
file, and ``function`` a zero-argument callable returning a :class:`GradcheckCase` (or a dict of
:func:`gradcheck`'s keyword arguments, ``target`` included). Without ``:function`` the callable
``gradcheck_case`` is used. Exit status: 0 all gradients right, 1 some wrong, 2 a bad spec, a module
that cannot be imported, or code that raised (a one-line ``netport doctor: error: ...`` message).
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import importlib
import importlib.util
import inspect
import json
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["GradcheckCase", "GradcheckResult", "ParamCheck", "gradcheck", "main_gradcheck",
           "DEFAULT_STEP", "RTOL"]

DEFAULT_STEP = 1e-5
RTOL = 1e-6
EPS_F = 64 * np.finfo(np.float64).eps  # relative rounding error allowed for one float64 forward pass
BOUND_SAFETY = 10.0
# A wrong gradient that is a constant multiple of the true one (within this relative residual)
# gets that multiple printed: -1 is a sign error, lr is a learning rate applied twice, N a sum/mean mix-up.
SCALE_FIT = 1e-3


@dataclasses.dataclass
class GradcheckCase:
    """Everything :func:`gradcheck` needs, as returned by a ``--gradcheck module:function`` factory."""

    target: Any
    params: Any = None
    args: Sequence = ()
    grad: Callable | None = None
    step: Callable | None = None
    lr: float | None = None
    names: Sequence[str] | None = None
    name: str | None = None
    h: float = DEFAULT_STEP
    rtol: float = RTOL
    seed: int = 0

    def run(self) -> GradcheckResult:
        return gradcheck(self.target, self.params, args=self.args, grad=self.grad, step=self.step, lr=self.lr,
                         names=self.names, name=self.name, h=self.h, rtol=self.rtol, seed=self.seed)


@dataclasses.dataclass
class ParamCheck:
    """The comparison for one parameter (or input)."""

    name: str
    shape: tuple
    ok: bool
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple
    hand: float  # the hand-written gradient at worst_index
    numerical: float  # the central difference there
    scale: float | None = None  # hand = scale * numerical, when that fits a wrong gradient
    # against torch autograd of the loss, when the loss runs on tensors (informative: the verdict is ok's)
    autograd_max_abs_error: float | None = None
    line: int | None = None  # where the hand-written code writes this gradient or update
    problem: str | None = None  # a gradient that is missing or has the wrong shape

    def message(self, file: str | None = None) -> str:
        if self.problem:
            return f"gradient of {self.name!r} is wrong: {self.problem}"
        text = (f"gradient of {self.name!r} is wrong: max rel error {self.max_rel_error:.3g} "
                f"(max abs error {self.max_abs_error:.3g}) at index {self.worst_index}: "
                f"hand-written {self.hand:.6g}, finite differences {self.numerical:.6g}")
        if self.scale is not None and np.prod(self.shape) > 1:  # any one number is a multiple of another
            hint = " (wrong sign)" if abs(self.scale + 1) < 1e-3 else ""
            text += f"; hand-written = {self.scale:.6g} x true gradient{hint}"
        if self.line is not None:
            text += f"; written at {file}:{self.line}" if file else f"; written at line {self.line}"
        return text


@dataclasses.dataclass
class GradcheckResult:
    kind: str
    name: str
    checks: list[ParamCheck]
    h: float
    rtol: float
    file: str | None = None
    torch_gradcheck: bool | None = None  # torch.autograd.gradcheck's verdict, for a torch Function
    lr: float | None = None  # the update step's learning rate

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks) and self.torch_gradcheck is not False

    @property
    def wrong(self) -> list[str]:
        return [check.name for check in self.checks if not check.ok]

    def __getitem__(self, name: str) -> ParamCheck:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)

    def common_scale(self) -> float | None:
        """The multiple shared by every wrong gradient, when they all have the same one."""
        scales = [check.scale for check in self.checks if not check.ok]
        if len(scales) < 2 or any(scale is None for scale in scales):
            return None
        return scales[0] if all(abs(s - scales[0]) <= 1e-3 * abs(scales[0]) for s in scales) else None

    def format(self) -> str:
        lines = [f"gradcheck: {self.name} ({self.kind}); central differences in float64, h = {self.h:g}, "
                 f"rtol = {self.rtol:g}"]
        width = max([len(check.name) for check in self.checks] + [4])
        for check in self.checks:
            shape = "x".join(map(str, check.shape)) or "scalar"
            status = "ok" if check.ok else "WRONG"
            lines.append(f"  {check.name:<{width}}  {shape:<8} max abs error {check.max_abs_error:9.3g}  "
                         f"max rel error {check.max_rel_error:9.3g}  {status}")
        if self.torch_gradcheck is not None:
            verdict = "passed" if self.torch_gradcheck else "FAILED"
            lines.append(f"  torch.autograd.gradcheck (full Jacobian): {verdict}")
        for check in self.checks:
            if not check.ok:
                lines.append(check.message(self.file))
        scale = self.common_scale()
        if scale is not None:
            if self.lr and abs(scale - self.lr) <= 1e-3 * self.lr:
                cause = "the learning rate, applied twice"
            elif abs(scale + 1) <= 1e-3:
                cause = "the wrong sign everywhere"
            else:
                cause = "a loss summed where it is averaged (or the reverse), or a factor in every delta"
            lines.append(f"every wrong gradient is {scale:.6g} x the true one: {cause}")
        if self.torch_gradcheck is False and not self.wrong:
            # the projection onto one random output direction passed, the full Jacobian did not
            lines.append("the backward is wrong for some output direction: torch.autograd.gradcheck's full "
                         "Jacobian disagrees, though every input's projected gradient agrees")
        elif self.ok:
            lines.append(f"all gradients right ({len(self.checks)} checked)")
        else:
            lines.append(f"{len(self.wrong)} of {len(self.checks)} gradients wrong")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "ok": self.ok, "wrong": self.wrong, "h": self.h,
                "rtol": self.rtol, "file": self.file, "torch_gradcheck": self.torch_gradcheck, "lr": self.lr,
                "checks": [dict(dataclasses.asdict(check), shape=list(check.shape),
                                worst_index=list(check.worst_index), message=None if check.ok else
                                check.message(self.file)) for check in self.checks]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"


class GradcheckError(ValueError):
    """Arguments gradcheck cannot work with; the message is one line."""


# ---------------------------------------------------------------------------------------------------
# the comparison shared by every form


def _central_differences(f: Callable[[], float], array: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """D_h and the error bound of D_h for each element of ``array`` (changed in place and restored)."""
    flat = array.reshape(-1)  # a view: every change reaches f
    numerical = np.empty(flat.size)
    bound = np.empty(flat.size)
    for i in range(flat.size):
        original = flat[i]
        values = {}
        for offset in (h, -h, 2 * h, -2 * h):
            flat[i] = original + offset
            values[offset] = float(f())
        flat[i] = original
        d_h = (values[h] - values[-h]) / (2 * h)
        d_2h = (values[2 * h] - values[-2 * h]) / (4 * h)
        scale = max(abs(v) for v in values.values())
        numerical[i] = d_h
        bound[i] = abs(d_2h - d_h) / 3 + EPS_F * scale / h
    return numerical.reshape(array.shape), bound.reshape(array.shape)


def _compare(name: str, hand: Any, numerical: np.ndarray, bound: np.ndarray, rtol: float,
             hand_bound: Any = 0.0) -> ParamCheck:
    """``bound``: the reference's error bound per element; ``hand_bound``: the hand-written gradient's own
    (an implied gradient (before - after) / lr carries the rounding of ``after``, eps * |param| / lr)."""
    shape = tuple(numerical.shape)
    if hand is None:
        return ParamCheck(name, shape, False, np.inf, np.inf, (), np.nan, np.nan, problem="no gradient was given")
    hand = np.asarray(hand, dtype=np.float64)
    if hand.shape != numerical.shape:
        if hand.size == numerical.size:
            hand = hand.reshape(numerical.shape)  # (n,) versus (1, n) biases: the values are what matters
        else:
            return ParamCheck(name, shape, False, np.inf, np.inf, (), np.nan, np.nan,
                              problem=f"shape {hand.shape}, the parameter's is {shape}")
    diff = np.abs(hand - numerical)
    allowed = BOUND_SAFETY * (bound + hand_bound) + rtol * np.abs(numerical)
    passed = bool(np.all(diff <= allowed))
    largest = np.maximum(np.abs(hand), np.abs(numerical))
    # relative to the larger magnitude, or to the tolerance where both are at the reference's noise level
    denominator = np.maximum(largest, allowed)
    rel = np.divide(diff, denominator, out=np.zeros_like(diff), where=denominator > 0)
    worst = np.unravel_index(int(np.argmax(diff - allowed)), shape) if diff.size else ()
    check = ParamCheck(name, shape, passed, float(diff.max(initial=0.0)), float(rel.max(initial=0.0)),
                       tuple(int(i) for i in worst), float(hand[worst]) if diff.size else 0.0,
                       float(numerical[worst]) if diff.size else 0.0)
    if not passed:
        norm = float(np.vdot(numerical, numerical))
        if norm > 0:
            scale = float(np.vdot(hand, numerical)) / norm
            if np.linalg.norm(hand - scale * numerical) <= SCALE_FIT * max(np.linalg.norm(hand), 1e-300):
                check.scale = scale
    return check


# ---------------------------------------------------------------------------------------------------
# numpy code: dict or object of arrays


class _ParamAccess:
    """Uniform get/set over a dict of arrays or an object with array attributes."""

    def __init__(self, params: Any, names: Sequence[str] | None):
        self.params = params
        self.is_mapping = isinstance(params, Mapping)
        found = [key for key, value in self._items() if _is_float_array(value)]
        if names is not None:
            missing = [n for n in names if n not in dict(self._items())]
            if missing:
                raise GradcheckError(f"no parameter named {missing[0]!r}; the parameters are {found}")
            found = list(names)
        if not found:
            raise GradcheckError("no floating-point arrays among the parameters")
        self.names = found

    def _items(self):
        return self.params.items() if self.is_mapping else vars(self.params).items()

    def get(self, name: str) -> np.ndarray:
        return self.params[name] if self.is_mapping else getattr(self.params, name)

    def set(self, name: str, value: np.ndarray) -> None:
        if self.is_mapping:
            self.params[name] = value
        else:
            setattr(self.params, name, value)

    def snapshot(self) -> dict[str, np.ndarray]:
        return {name: np.array(self.get(name), dtype=np.float64, copy=True) for name in self.names}

    def restore(self, values: Mapping[str, np.ndarray]) -> None:
        for name, value in values.items():
            self.set(name, np.array(value, copy=True))


def _eps_of(array: Any) -> float:
    dtype = getattr(array, "dtype", np.float64)
    return float(np.finfo(dtype).eps) if np.issubdtype(dtype, np.floating) else float(np.finfo(np.float64).eps)


def _is_float_array(value: Any) -> bool:
    return isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating)


def _numpy_check(loss: Callable, params: Any, args: Sequence, grad: Callable | None, step: Callable | None,
                 lr: float | None, names: Sequence[str] | None, h: float, rtol: float) -> tuple[str, list[ParamCheck]]:
    if (grad is None) == (step is None):
        raise GradcheckError("give exactly one of grad= (a gradient function) and step= (an update step)")
    if step is not None and not lr:
        raise GradcheckError("step= needs lr=, the learning rate the step applies")
    if params is None:
        raise GradcheckError("numpy code needs params: a dict of arrays or an object with array attributes")
    access = _ParamAccess(params, names)
    original = {name: access.get(name) for name in access.names}
    start = access.snapshot()  # float64 copies: the differences need the precision
    access.restore(start)
    try:
        if step is not None:
            returned = step(params, *args)
            after = returned if isinstance(returned, Mapping) else {n: access.get(n) for n in access.names}
            hand = {n: (start[n] - np.asarray(after[n], dtype=np.float64)) / lr if n in after else None
                    for n in access.names}
            # after = before - lr * g is rounded to the parameter's own precision (float32 code loses more)
            hand_bound = {n: 2 * _eps_of(original[n]) * np.maximum(np.abs(start[n]), np.abs(
                np.asarray(after[n], dtype=np.float64))) / abs(lr) if n in after else 0.0 for n in access.names}
            kind = f"update step, implied gradient = (before - after) / lr, lr = {lr:g}"
        else:
            returned = grad(params, *args)
            if not isinstance(returned, Mapping):
                raise GradcheckError(f"grad= must return a dict name -> gradient, not {type(returned).__name__}")
            hand = {n: returned.get(n) for n in access.names}
            hand_bound = {n: 0.0 for n in access.names}
            kind = "hand-written gradient function"
        access.restore(start)
        checks = []
        for name in access.names:
            array = access.get(name)
            numerical, bound = _central_differences(lambda: loss(params, *args), array, h)
            checks.append(_compare(name, hand[name], numerical, bound, rtol, hand_bound[name]))
        _autograd_cross_check(loss, params, args, access, hand, checks)
    finally:
        for name, value in original.items():  # the caller's arrays, dtype and identity, as they were
            access.set(name, value)
    function = step or grad
    for check in checks:
        check.line = _locate(function, check.name)
    return kind, checks


def _autograd_cross_check(loss: Callable, params: Any, args: Sequence, access: _ParamAccess,
                          hand: Mapping[str, Any], checks: list[ParamCheck]) -> None:
    """Autograd of the loss too, when the loss happens to run on torch tensors (most numpy code does not)."""
    torch = sys.modules.get("torch")  # code written for tensors has torch imported; numpy code need not pay for it
    if torch is None:
        return
    saved = {name: access.get(name) for name in access.names}
    try:
        tensors = {name: torch.tensor(saved[name], dtype=torch.float64, requires_grad=True) for name in access.names}
        for name, tensor in tensors.items():
            access.set(name, tensor)
        value = loss(params, *[torch.as_tensor(a) if isinstance(a, np.ndarray) else a for a in args])
        grads = torch.autograd.grad(value, list(tensors.values()), allow_unused=True)
    except Exception:  # numpy functions refuse tensors that require grad: finite differences alone decide
        return
    finally:
        for name, value in saved.items():
            access.set(name, value)
    for check, name, g in zip(checks, access.names, grads):
        if check.problem is None and g is not None:
            given = np.asarray(hand[name], dtype=np.float64).reshape(check.shape)
            check.autograd_max_abs_error = float(np.abs(g.detach().numpy() - given).max(initial=0.0))


def _locate(function: Callable | None, name: str) -> int | None:
    """The line where ``function`` assigns the gradient or update of ``name`` (best effort)."""
    try:
        lines, first = inspect.getsourcelines(function)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError):
        return None

    def names_it(node: ast.AST) -> bool:
        if isinstance(node, ast.Subscript):
            return isinstance(node.slice, ast.Constant) and node.slice.value == name
        if isinstance(node, ast.Attribute):
            return node.attr == name
        return False

    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.AugAssign):
            targets = [node.target]
        elif isinstance(node, ast.Assign):
            targets = node.targets
        if any(names_it(target) for target in targets):
            return first + node.lineno - 1
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == name:
                    return first + value.lineno - 1
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
            for keyword in node.keywords:
                if keyword.arg == name:
                    return first + keyword.value.lineno - 1
    return None


# ---------------------------------------------------------------------------------------------------
# torch.autograd.Function


def _is_torch_function(target: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and inspect.isclass(target) and issubclass(target, torch.autograd.Function)


def _torch_check(function: type, inputs: Any, names: Sequence[str] | None, h: float, rtol: float,
                 seed: int) -> tuple[list[ParamCheck], bool | None]:
    import torch

    if isinstance(inputs, Mapping):
        names, inputs = list(inputs.keys()), list(inputs.values())
    elif inputs is None:
        raise GradcheckError("a torch.autograd.Function needs its inputs: gradcheck(Function, (x, w, ...))")
    inputs = list(inputs)
    if names is None:
        parameters = list(inspect.signature(function.forward).parameters)[1:]  # after ctx
        names = [parameters[i] if i < len(parameters) and not parameters[i].startswith("*") else f"input {i}"
                 for i in range(len(inputs))]
    converted = []
    for value in inputs:
        if isinstance(value, np.ndarray):
            value = torch.from_numpy(value)
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            value = value.detach().to(torch.float64).clone().requires_grad_(True)
        converted.append(value)
    checked = [i for i, value in enumerate(converted) if isinstance(value, torch.Tensor) and value.requires_grad]
    if not checked:
        raise GradcheckError("none of the inputs is a floating-point tensor or array")
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        outputs = _as_tuple(function.apply(*converted))
    weights = [torch.randn(o.shape, generator=generator, dtype=torch.float64) if o.is_floating_point() else None
               for o in outputs]

    def projected(outs) -> torch.Tensor:
        return sum((w * o).sum() for w, o in zip(weights, _as_tuple(outs)) if w is not None)

    value = projected(function.apply(*converted))
    hand = torch.autograd.grad(value, [converted[i] for i in checked], allow_unused=True)
    checks = []
    for i, g in zip(checked, hand):
        array = converted[i].detach().numpy().copy()
        tensors = list(converted)

        def f(array=array, i=i, tensors=tensors):
            tensors[i] = torch.from_numpy(array)
            with torch.no_grad():
                return float(projected(function.apply(*tensors)))

        numerical, bound = _central_differences(f, array, h)
        checks.append(_compare(names[i], None if g is None else g.detach().numpy(), numerical, bound, rtol))
        if g is None:  # autograd reads a None gradient as zero: compare it as zero, it may be right
            checks[-1] = _compare(names[i], np.zeros_like(numerical), numerical, bound, rtol)
    try:
        verdict = bool(torch.autograd.gradcheck(function.apply, tuple(converted), eps=h, atol=1e-7, rtol=1e-5,
                                                raise_exception=False))
    except Exception:  # a function gradcheck cannot drive (non-tensor outputs...): our check stands alone
        verdict = None
    lines = _backward_lines(function.backward, len(converted))
    for i, check in zip(checked, checks):
        check.line = lines[i]
    return checks, verdict


def _as_tuple(value: Any) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _backward_lines(backward: Callable, count: int) -> list[int | None]:
    """Per input, the line of its element in backward's returned tuple (else the return, else the def)."""
    try:
        lines, first = inspect.getsourcelines(backward)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError):
        return [None] * count
    returns = [node for node in ast.walk(tree) if isinstance(node, ast.Return) and node.value is not None]
    if not returns:
        return [first] * count
    last = max(returns, key=lambda node: node.lineno)  # the final return holds the gradients
    if isinstance(last.value, ast.Tuple) and len(last.value.elts) == count:
        return [first + elt.lineno - 1 for elt in last.value.elts]
    return [first + last.lineno - 1] * count


# ---------------------------------------------------------------------------------------------------
# chainer.Function / FunctionNode


def _is_chainer_function(target: Any) -> bool:
    chainer = sys.modules.get("chainer")
    if chainer is None:
        return False
    bases = (chainer.Function, chainer.FunctionNode)
    return (inspect.isclass(target) and issubclass(target, bases)) or isinstance(target, bases)


def _chainer_check(target: Any, inputs: Any, names: Sequence[str] | None, h: float, rtol: float,
                   seed: int) -> list[ParamCheck]:
    import chainer
    import chainer.functions as F

    if isinstance(inputs, Mapping):
        names, inputs = list(inputs.keys()), list(inputs.values())
    elif inputs is None:
        raise GradcheckError("a chainer Function needs its inputs: gradcheck(Function, (x, W, ...))")
    arrays = [np.array(v, dtype=np.float64) if np.issubdtype(np.asarray(v).dtype, np.floating) else np.asarray(v)
              for v in inputs]
    cls = target if inspect.isclass(target) else type(target)
    if names is None:
        names = _chainer_input_names(cls, len(arrays))

    def fresh():  # a Function object is used once per call graph: a new one for every evaluation
        return target() if inspect.isclass(target) else copy.deepcopy(target)

    def call(values):
        function = fresh()
        if isinstance(function, chainer.FunctionNode):
            return _as_tuple(function.apply(tuple(values)))
        return _as_tuple(function(*values))

    rng = np.random.RandomState(seed)
    with chainer.no_backprop_mode():
        outputs = call([chainer.Variable(a) for a in arrays])
    weights = [rng.standard_normal(o.shape) if np.issubdtype(o.dtype, np.floating) else None for o in outputs]

    def projected(outs):
        return sum(F.sum(w * o) for w, o in zip(weights, outs) if w is not None)

    variables = [chainer.Variable(a.copy()) if np.issubdtype(a.dtype, np.floating) else a for a in arrays]
    value = projected(call(variables))
    value.backward()
    checks = []
    for i, variable in enumerate(variables):
        if not isinstance(variable, chainer.Variable):
            continue
        array = arrays[i].copy()
        values = list(arrays)

        def f(array=array, i=i, values=values):
            values[i] = array
            with chainer.no_backprop_mode():
                return float(projected(call([chainer.Variable(v) if np.issubdtype(v.dtype, np.floating) else v
                                             for v in values])).array)

        numerical, bound = _central_differences(f, array, h)
        grad = variable.grad if variable.grad is not None else np.zeros_like(numerical)
        checks.append(_compare(names[i], grad, numerical, bound, rtol))
        checks[-1].line = _backward_lines(cls.backward, len(arrays))[i]
    return checks


def _chainer_input_names(cls: type, count: int) -> list[str]:
    """``x, W, b = inputs`` in forward (the Chainer idiom) gives the names; else input 0, input 1..."""
    names = [f"input {i}" for i in range(count)]
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls.forward)))
    except (OSError, TypeError, SyntaxError):
        return names
    function = tree.body[0]
    if not isinstance(function, ast.FunctionDef) or len(function.args.args) < 2:
        return names
    argument = function.args.args[-1].arg  # forward(self, inputs) / forward(self, xs)
    for node in ast.walk(function):
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id == argument
                and isinstance(node.targets[0], ast.Tuple)):
            found = [e.id if isinstance(e, ast.Name) else None for e in node.targets[0].elts]
            if len(found) == count and all(found):
                return found
    return names


# ---------------------------------------------------------------------------------------------------
# the entry points


def gradcheck(target: Any, params: Any = None, *, args: Sequence = (), grad: Callable | None = None,
              step: Callable | None = None, lr: float | None = None, names: Sequence[str] | None = None,
              name: str | None = None, h: float = DEFAULT_STEP, rtol: float = RTOL, seed: int = 0) -> GradcheckResult:
    """Check a hand-written gradient against central differences; see the module docstring for the forms.

    ``target`` is the loss function (numpy forms, with ``grad=`` or ``step=``), a
    ``torch.autograd.Function`` subclass, or a ``chainer.Function``/``FunctionNode`` class or
    instance; ``params`` the parameters (numpy) or the inputs (functions: a sequence, or a dict
    name -> array to name them). ``names`` restricts or names what is checked. The parameters are
    left as they were.
    """
    if h <= 0 or rtol < 0:
        raise GradcheckError(f"h must be > 0 and rtol >= 0, not h={h:g}, rtol={rtol:g}")
    file = None
    if _is_torch_function(target):
        checks, verdict = _torch_check(target, params, names, h, rtol, seed)
        file = _file_of(target)
        return GradcheckResult("torch.autograd.Function backward", name or target.__name__, checks, h, rtol,
                               file, verdict)
    if _is_chainer_function(target):
        checks = _chainer_check(target, params, names, h, rtol, seed)
        cls = target if inspect.isclass(target) else type(target)
        return GradcheckResult(f"{'chainer.FunctionNode' if _is_node(cls) else 'chainer.Function'} backward",
                               name or cls.__name__, checks, h, rtol, _file_of(cls))
    if not callable(target):
        raise GradcheckError(f"gradcheck needs a loss function or a Function class, not {type(target).__name__}")
    kind, checks = _numpy_check(target, params, args, grad, step, lr, names, h, rtol)
    return GradcheckResult(kind, name or getattr(step or grad, "__name__", "hand-written gradient"), checks, h,
                           rtol, _file_of(step or grad), lr=lr if step is not None else None)


def _is_node(cls: type) -> bool:
    import chainer

    return issubclass(cls, chainer.FunctionNode)


def _file_of(obj: Any) -> str | None:
    try:
        path = Path(inspect.getsourcefile(obj) or "")
    except TypeError:
        return None
    if not path.name:
        return None
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_case(spec: str) -> GradcheckCase:
    """``module:function`` -> the case its factory returns (GradcheckError on any problem, one line)."""
    module_name, _, function_name = spec.rpartition(":") if ":" in spec else (spec, "", "gradcheck_case")
    if not module_name or not function_name.isidentifier():
        raise GradcheckError(f"--gradcheck takes module:function or path/to/file.py:function, not {spec!r}")
    path = Path(module_name)
    try:
        if module_name.endswith(".py") or path.is_file():
            if not path.is_file():
                raise GradcheckError(f"{module_name}: no such file")
            unique = f"_netport_gradcheck_{abs(hash(str(path.resolve())))}"
            module_spec = importlib.util.spec_from_file_location(unique, path)
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[unique] = module  # dataclasses and pickling look the module up by name
            sys.path.insert(0, str(path.resolve().parent))  # the file's sibling imports
            try:
                module_spec.loader.exec_module(module)
            finally:
                sys.path.remove(str(path.resolve().parent))
        else:
            if "" not in sys.path and str(Path.cwd()) not in sys.path:
                sys.path.insert(0, str(Path.cwd()))
            module = importlib.import_module(module_name)
    except GradcheckError:
        raise
    except Exception as exc:  # the user's module: any failure is reported in one line
        raise GradcheckError(f"cannot import {module_name}: {type(exc).__name__}: {_one_line(exc)}") from None
    factory = getattr(module, function_name, None)
    if factory is None or not callable(factory):
        raise GradcheckError(f"{module_name} has no function {function_name!r}")
    try:
        case = factory()
    except Exception as exc:
        raise GradcheckError(f"{spec}: {function_name}() raised {type(exc).__name__}: {_one_line(exc)}") from None
    if isinstance(case, Mapping):
        try:
            case = GradcheckCase(**case)
        except TypeError as exc:
            raise GradcheckError(f"{spec}: {function_name}() returned a dict gradcheck cannot take: {exc}") from None
    if not isinstance(case, GradcheckCase):
        raise GradcheckError(f"{spec}: {function_name}() must return a GradcheckCase or a dict of gradcheck's "
                             f"arguments, not {type(case).__name__}")
    return case


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else ""


def main_gradcheck(spec: str, fmt: str = "text", output: str | None = None) -> int:
    """``netport doctor --gradcheck SPEC``: 0 all gradients right, 1 some wrong, 2 a usage error."""

    def fail(message: str) -> int:
        print(f"netport doctor: error: {message}", file=sys.stderr)
        return 2

    if fmt not in ("text", "json"):
        return fail(f"--gradcheck writes text or json, not {fmt}")
    try:
        case = load_case(spec)
        result = case.run()
    except GradcheckError as exc:
        return fail(str(exc))
    except Exception as exc:  # the hand-written code raised while being checked
        return fail(f"{spec}: {type(exc).__name__}: {_one_line(exc)}")
    rendered = result.format() if fmt == "text" else result.to_json()
    if output:
        from netport.atomic import write_atomic

        try:
            write_atomic(Path(output), rendered)
        except OSError as exc:
            return fail(f"-o {output}: cannot write the report ({exc.strerror or exc})")
    else:
        sys.stdout.write(rendered)
    return 0 if result.ok else 1
