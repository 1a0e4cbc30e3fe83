"""`netport doctor` static checks: training-loop mistakes read from the program's syntax tree.

Each rule reports only what the code proves: the statements are walked in order inside each function
(and the module's body), branches are joined so that a state counts only when every path leads to it, and
a loop's body is walked again from the state its previous pass ended in (what its second turn sees).
When a name, a callee or an order cannot be followed, the rule says nothing.
"""

from __future__ import annotations

import ast
import re
import warnings
from pathlib import Path

from netport.shapes.findings import Finding

RULE_GRAD_AFTER_CLEAR = "ND001"
RULE_NO_CLEARING = "ND002"
RULE_BACKWARD_WITHOUT_GRAPH = "ND003"
RULE_EVAL_MODE_TRAINING = "ND004"
RULE_RAW_PIXELS_SIGMOID = "ND005"

STATIC_RULES = {
    RULE_GRAD_AFTER_CLEAR: "a gradient is read after the gradients were cleared and before the next backward()",
    RULE_NO_CLEARING: "an optimizer steps in a loop that never clears the gradients: they add up over the steps",
    RULE_BACKWARD_WITHOUT_GRAPH: "backward() on a loss computed under torch.no_grad() or no_backprop_mode()",
    RULE_EVAL_MODE_TRAINING: "evaluation mode (eval(), train=False) is still in force where the model is trained",
    RULE_RAW_PIXELS_SIGMOID: "raw 0-255 (uint8) data is fed to a network with sigmoid units or a BCE loss",
}

# Chainer v1 (zero_grads, zerograds), Chainer 2+ (cleargrads) and torch (zero_grad)
CLEAR_METHODS = {"zero_grad", "zero_grads", "zerograds", "cleargrads", "cleargrad", "zerograd"}
OPTIMIZER_CLASSES = {"SGD", "Adam", "AdamW", "RMSprop", "MomentumSGD", "AdaGrad", "Adagrad", "AdaDelta", "Adadelta",
                     "NesterovAG", "RMSpropGraves", "SMORMS3", "Adamax", "NAdam", "RAdam", "LBFGS", "ASGD", "Rprop",
                     "SparseAdam", "CorrectedMomentumSGD", "MSVAG"}
_OPTIMIZER_NAME = re.compile(r"optimi[sz]er|^opt$|^optim$|^opt_|_opt$")
NO_GRAD_CONTEXTS = {"no_grad", "inference_mode", "no_backprop_mode"}
SIGMOID_WORDS = ("sigmoid", "Sigmoid", "binary_cross_entropy", "BCELoss", "BCEWithLogitsLoss")
UINT8_NAMES = {"np.uint8", "numpy.uint8", "torch.uint8", "xp.uint8", "cupy.uint8", "'uint8'", '"uint8"', "'B'",
               "np.ubyte", "numpy.ubyte"}
# calls that keep the values of their first argument (a reshape, a dtype or container change)
VALUE_KEEPING_CALLS = {"np.asarray", "np.array", "numpy.asarray", "numpy.array", "np.ascontiguousarray",
                       "xp.asarray", "xp.array", "torch.tensor", "torch.as_tensor", "torch.from_numpy",
                       "torch.Tensor", "torch.FloatTensor", "chainer.Variable", "Variable", "np.float32",
                       "np.copy", "numpy.float32", "cuda.to_gpu", "chainer.cuda.to_gpu"}
VALUE_KEEPING_METHODS = {"astype", "float", "double", "to", "reshape", "view", "flatten", "copy", "cuda", "cpu",
                         "transpose", "squeeze", "unsqueeze", "contiguous", "numpy", "half"}
RAW_IMAGE_READERS = {"cv2.imread", "read_image", "torchvision.io.read_image", "imageio.imread", "io.imread",
                     "skimage.io.imread"}


def text(node: ast.AST | None) -> str:
    return ast.unparse(node) if node is not None else ""


def _last_name(expression: str) -> str:
    return expression.rsplit(".", 1)[-1]


def _related(a: str, b: str) -> bool:
    """One names the other or a part of it (`model`, `model.predictor`)."""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def _own_nodes(node: ast.AST):
    """The nodes under `node` that run when it runs: not the bodies of the functions, lambdas and classes
    it defines."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        for child in ast.iter_child_nodes(current):
            if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                stack.append(child)


def _calls(node: ast.AST) -> list[ast.Call]:
    return sorted((n for n in _own_nodes(node) if isinstance(n, ast.Call)), key=lambda n: (n.lineno, n.col_offset))


def _method(call: ast.Call) -> str | None:
    return call.func.attr if isinstance(call.func, ast.Attribute) else None


def _receiver(call: ast.Call) -> str:
    return text(call.func.value) if isinstance(call.func, ast.Attribute) else ""


def _false(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


class Program:
    """What the rules look up across a file: its optimizers and the models they train, the functions that
    clear gradients or set train mode, and the network classes with sigmoid units."""

    def __init__(self, tree: ast.Module, path: Path):
        self.tree = tree
        self.path = path
        self.optimizer_model: dict[str, str] = {}  # optimizer expression -> the model it trains
        self.clearing_functions: set[str] = set()
        self.train_mode_functions: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and len(node.targets) == 1 \
                    and _last_name(text(node.value.func)) in OPTIMIZER_CLASSES:
                self.optimizer_model[text(node.targets[0])] = self._parameters_owner(node.value) or ""
            elif isinstance(node, ast.Call) and _method(node) == "setup" and len(node.args) == 1:
                self.optimizer_model[_receiver(node)] = text(node.args[0])  # Chainer: optimizer.setup(model)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                calls = _calls(node)
                if any(_is_clearing(call) for call in calls):
                    self.clearing_functions.add(node.name)
                if any(_method(call) == "train" and not call.args for call in calls):
                    self.train_mode_functions.add(node.name)
        self.sigmoid_classes = {name for name, body in _classes(tree, path).items()
                                if any(word in body for word in SIGMOID_WORDS)}

    @staticmethod
    def _parameters_owner(call: ast.Call) -> str | None:
        for node in ast.walk(call):
            if isinstance(node, ast.Call) and _method(node) in ("parameters", "named_parameters"):
                return _receiver(node)
        return None

    def is_optimizer(self, expression: str) -> bool:
        return expression in self.optimizer_model or bool(_OPTIMIZER_NAME.search(_last_name(expression).lower()))

    def calls_function_in(self, call: ast.Call, names: set[str]) -> bool:
        callee = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", None)
        return callee in names


def _classes(tree: ast.Module, path: Path) -> dict[str, str]:
    """Class name -> its source, for the classes of the file and of the modules it imports from its own
    directory (`import net`, `from net import MLP`)."""
    found = {node.name: text(node) for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
    for node in ast.walk(tree):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
            [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
        for name in names:
            module = path.parent / (name.replace(".", "/") + ".py")
            if module.is_file() and module.resolve() != path.resolve():
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")  # its invalid escape sequences are not ours to report
                        other = ast.parse(module.read_text(encoding="utf-8", errors="replace"))
                except (SyntaxError, ValueError, OSError):
                    continue  # a module that does not parse proves nothing
                found.update({n.name: text(n) for n in ast.walk(other) if isinstance(n, ast.ClassDef)})
    return found


def _is_clearing(call: ast.Call) -> bool:
    method = _method(call)
    if method in CLEAR_METHODS:
        return True
    # p.grad.zero_(), p.grad.data.zero_(), p.grad.fill_(0)
    return method in ("zero_", "fill_") and ".grad" in _receiver(call)


def _is_backward(call: ast.Call) -> bool:
    return _method(call) == "backward" or text(call.func) in ("torch.autograd.backward", "autograd.backward")


class FlowWalk:
    """Statements in order, with a state joined over branches; a loop's body walked from the state of the loop's
    entry and again from the state its previous pass ended in, until that repeats (at most three passes)."""

    def __init__(self, program: Program):
        self.program = program
        self.findings: dict[tuple, Finding] = {}

    def join(self, a, b):
        raise NotImplementedError

    def simple(self, node: ast.AST, state):
        raise NotImplementedError

    def enter_with(self, node: ast.With, state):
        return state

    def walk(self, body: list[ast.stmt], state):
        for statement in body:
            state = self.statement(statement, state)
        return state

    def statement(self, node: ast.stmt, state):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return state  # walked on its own
        if isinstance(node, ast.If):
            state = self.simple(node.test, state)
            return self.join(self.walk(node.body, state), self.walk(node.orelse, state))
        if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            state = self.simple(node.iter if isinstance(node, (ast.For, ast.AsyncFor)) else node.test, state)
            seen, current, end = [], state, state
            for _ in range(3):
                end = self.walk(node.body, current)
                if end == current or end in seen:
                    break
                seen.append(current)
                current = end
            return self.walk(node.orelse, self.join(state, end))
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                state = self.simple(item.context_expr, state)
            inner = self.enter_with(node, state)
            after = self.walk(node.body, inner)
            return self.leave_with(node, state, after)
        if isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            after = self.walk(node.body, state)
            for handler in node.handlers:
                after = self.join(after, self.walk(handler.body, state))
            after = self.walk(node.orelse, after)
            return self.walk(node.finalbody, after)
        if isinstance(node, ast.Match):
            state = self.simple(node.subject, state)
            ends = [self.walk(case.body, state) for case in node.cases]
            result = state
            for end in ends:
                result = self.join(result, end)
            return result
        return self.simple(node, state)

    def leave_with(self, node, before, after):
        return after

    def run(self, tree: ast.Module) -> None:
        functions = [n.body for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for body in [tree.body] + functions:
            self.walk(body, self.initial())

    def initial(self):
        raise NotImplementedError

    def add(self, finding: Finding) -> None:
        self.findings.setdefault((finding.rule, finding.line, finding.col), finding)


# ----------------------------------------------------------------- ND001

class GradAfterClear(FlowWalk):
    """State: the line of the clearing call in force on every path (None when a backward() came after it or
    when some path did not clear)."""

    def initial(self):
        return None

    def join(self, a, b):
        return a if a == b else None

    def simple(self, node, state):
        if state is not None:
            for read in _grad_reads(node):
                self.add(Finding(
                    RULE_GRAD_AFTER_CLEAR, "warning", str(self.program.path), read.lineno, read.col_offset + 1,
                    f"`{text(read)}` is read after the gradients were cleared at line {state[0]} "
                    f"(`{state[1]}`) and before the next backward(): it holds zeros (or None), not this step's "
                    f"gradient",
                    hint="read or save the gradients after backward() and before zero_grad()/cleargrads() "
                         "(e.g. copy them right after backward())"))
        for call in _calls(node):
            if _is_backward(call) or _method(call) == "update" and call.args \
                    and self.program.is_optimizer(_receiver(call)):
                state = None  # update(lossfun, ...) clears, then runs backward itself
            elif _method(call) in CLEAR_METHODS and _method(call) not in ("cleargrad", "zerograd"):
                state = (call.lineno, text(call))
        return state


def _grad_reads(node: ast.AST) -> list[ast.Attribute]:
    """The `.grad` attributes read under `node`: not those written, cleared, called (torch.autograd.grad,
    chainer.grad) or only compared with None."""
    excluded: set[int] = set()
    for child in _own_nodes(node):
        if isinstance(child, ast.Call):
            excluded.add(id(child.func))
            if isinstance(child.func, ast.Attribute):
                receiver = child.func.value
                if child.func.attr in ("zero_", "fill_", "detach_", "requires_grad_"):
                    excluded.add(id(receiver))
                    if isinstance(receiver, ast.Attribute) and receiver.attr == "data":
                        excluded.add(id(receiver.value))
        elif isinstance(child, ast.Compare) and all(isinstance(op, (ast.Is, ast.IsNot)) for op in child.ops):
            excluded.update(id(part) for part in [child.left, *child.comparators])
    return [child for child in _own_nodes(node)
            if isinstance(child, ast.Attribute) and child.attr == "grad" and isinstance(child.ctx, ast.Load)
            and id(child) not in excluded and _last_name(text(child.value)) not in ("autograd", "chainer", "torch")]


# ----------------------------------------------------------------- ND002

def check_no_clearing(program: Program) -> list[Finding]:
    findings = []
    scopes = [program.tree] + [n for n in ast.walk(program.tree) if isinstance(n, (ast.FunctionDef,
                                                                                   ast.AsyncFunctionDef))]
    for scope in scopes:
        for loop, step in _steps_in_loops(scope, program):
            calls = _calls(loop)
            if not any(_is_backward(call) for call in calls):
                continue  # the gradients come from elsewhere: nothing to prove here
            if any(_is_clearing(call) or program.calls_function_in(call, program.clearing_functions)
                   for call in calls) or _assigns_grad_none(loop):
                continue  # cleared in the loop, every step or every k steps (intended accumulation)
            findings.append(Finding(
                RULE_NO_CLEARING, "warning", str(program.path), step.lineno, step.col_offset + 1,
                f"`{text(step)}` steps in the loop at line {loop.lineno}, which calls backward() but never clears "
                f"the gradients: each step applies the sum of all the gradients so far",
                hint="clear them before each backward(): optimizer.zero_grad() (torch) or model.cleargrads() "
                     "(Chainer); to accumulate over k steps, clear after every k-th step"))
    return findings


def _steps_in_loops(scope: ast.AST, program: Program):
    """(innermost loop, call) for the optimizer steps of `scope` that sit in a loop of the same scope."""
    def visit(node, loop):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                continue  # a scope of its own
            if isinstance(child, ast.Call) and loop is not None and _is_plain_step(child, program):
                yield loop, child
            yield from visit(child, child if isinstance(child, (ast.For, ast.AsyncFor, ast.While)) else loop)

    yield from visit(ast.Module(body=scope.body, type_ignores=[]), None)


def _is_plain_step(call: ast.Call, program: Program) -> bool:
    """optimizer.step() (torch) or optimizer.update() with no loss function (Chainer: it does not clear)."""
    method = _method(call)
    return method in ("step", "update") and not call.args and not call.keywords \
        and program.is_optimizer(_receiver(call))


def _assigns_grad_none(loop: ast.AST) -> bool:
    return any(isinstance(node, ast.Assign) and any(isinstance(t, ast.Attribute) and t.attr == "grad"
                                                    for t in node.targets) for node in _own_nodes(loop))


# ----------------------------------------------------------------- ND003

def _no_grad_context(expression: ast.AST) -> str | None:
    """The text of a context manager that turns graph recording off, or None."""
    if not isinstance(expression, ast.Call):
        return None
    name = _last_name(text(expression.func))
    if name in NO_GRAD_CONTEXTS:
        return text(expression)
    if name == "set_grad_enabled" and expression.args and _false(expression.args[0]):
        return text(expression)
    if name == "using_config" and len(expression.args) == 2 and isinstance(expression.args[0], ast.Constant) \
            and expression.args[0].value == "enable_backprop" and _false(expression.args[1]):
        return text(expression)
    return None


def check_backward_without_graph(program: Program) -> list[Finding]:
    findings = []
    blocks = []
    for node in ast.walk(program.tree):
        if isinstance(node, (ast.With, ast.AsyncWith)):
            context = next((c for c in map(_no_grad_context, (i.context_expr for i in node.items)) if c), None)
            if context:
                blocks.append((node, context, node.lineno))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            context = next((c for c in map(_no_grad_context, node.decorator_list) if c), None)
            if context:
                blocks.append((node, "@" + context, node.lineno))
    for block, context, line in blocks:
        assigned: set[str] = set()
        for statement in _statements_in_order(block.body):
            for call in _calls(statement):
                receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
                computed_here = receiver is not None and (isinstance(receiver, ast.Call)
                                                          or text(receiver) in assigned)
                if _method(call) == "backward" and computed_here:
                    what = f"`{text(receiver)}` is computed"
                elif _method(call) == "update" and call.args and program.is_optimizer(_receiver(call)):
                    what = "the loss function of `update()` runs"
                else:
                    continue
                findings.append(Finding(
                    RULE_BACKWARD_WITHOUT_GRAPH, "warning", str(program.path), call.lineno, call.col_offset + 1,
                    f"`{text(call)}` runs inside `{context}` (line {line}), where {what} without recording the "
                    f"graph: torch raises 'element 0 of tensors does not require grad'; Chainer computes no "
                    f"gradient and the parameters do not change",
                    hint=f"compute the loss and call backward() outside `{context}`; keep it for evaluation"))
            if isinstance(statement, ast.Assign):
                assigned.update(text(target) for target in statement.targets)
            elif isinstance(statement, (ast.AugAssign, ast.AnnAssign)):
                assigned.add(text(statement.target))
    return findings


def _statements_in_order(body):
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        compound = [getattr(statement, name) for name in ("body", "orelse", "finalbody")
                    if isinstance(getattr(statement, name, None), list)]
        if compound:
            # the header (a loop's iterable, a test) first, then the bodies
            header = [getattr(statement, name) for name in ("test", "iter", "subject") if hasattr(statement, name)]
            for expression in header:
                yield ast.Expr(value=expression)
            for part in compound:
                yield from _statements_in_order(part)
            for handler in getattr(statement, "handlers", []):
                yield from _statements_in_order(handler.body)
        else:
            yield statement


# ----------------------------------------------------------------- ND004

GLOBAL_CONFIG = "chainer.config"


class EvalModeTraining(FlowWalk):
    """State: the models in evaluation mode on every path, each with the site that put it there."""

    def initial(self):
        return frozenset()

    def join(self, a, b):
        return a & b

    def enter_with(self, node, state):
        for item in node.items:
            call = item.context_expr
            if isinstance(call, ast.Call) and _last_name(text(call.func)) == "using_config" and len(call.args) == 2 \
                    and isinstance(call.args[0], ast.Constant) and call.args[0].value == "train" \
                    and _false(call.args[1]):
                state = state | {(GLOBAL_CONFIG, node.lineno, node.col_offset + 1, text(call))}
        return state

    def leave_with(self, node, before, after):
        inside = {entry for entry in after if entry[0] == GLOBAL_CONFIG and entry not in before}
        return after - inside if inside else after

    def simple(self, node, state):
        for call in _calls(node):
            method, receiver = _method(call), _receiver(call)
            if method in ("step", "update") and self.program.is_optimizer(receiver) or _is_backward(call):
                self._check_training(call, state)
            if method == "eval" and not call.args and receiver:
                state = state | {(receiver, call.lineno, call.col_offset + 1, text(call))}
            elif method == "train" and receiver and (not call.args or not _false(call.args[0])):
                state = frozenset(entry for entry in state if not _related(entry[0], receiver))
            elif method == "train" and receiver and call.args:
                state = state | {(receiver, call.lineno, call.col_offset + 1, text(call))}
            elif self.program.calls_function_in(call, self.program.train_mode_functions):
                state = frozenset(entry for entry in state if entry[0] == GLOBAL_CONFIG)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, bool):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and target.attr == "train":
                    owner = text(target.value)
                    owner = GLOBAL_CONFIG if owner in ("chainer.config", "config", "chainer.global_config") else owner
                    if node.value.value:
                        state = frozenset(entry for entry in state if not _related(entry[0], owner))
                    else:
                        state = state | {(owner, node.lineno, node.col_offset + 1, text(node))}
        return state

    def _check_training(self, call: ast.Call, state) -> None:
        step = _method(call) in ("step", "update")
        model = self.program.optimizer_model.get(_receiver(call)) if step else None
        for owner, line, col, site in state:
            if owner == GLOBAL_CONFIG or model and _related(owner, model):
                what = "optimizer step" if step else "backward()"
                later = " when the loop comes back to it" if line > call.lineno else ""
                self.add(Finding(
                    RULE_EVAL_MODE_TRAINING, "warning", str(self.program.path), line, col,
                    f"`{site}` is still in force at the {what} `{text(call)}` (line {call.lineno}){later}: the model "
                    f"trains in evaluation mode (dropout off, batch normalisation on its running averages, "
                    f"which are not updated)",
                    hint="switch back before training: model.train() at the top of each training epoch "
                         "(Chainer: leave `with chainer.using_config('train', False):` before the update)"))


# ----------------------------------------------------------------- ND005

def check_raw_pixels(program: Program) -> list[Finding]:
    findings = []
    scopes = [program.tree.body] + [n.body for n in ast.walk(program.tree)
                                    if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    for body in scopes:
        findings.extend(_raw_pixels_in(body, program))
    return findings


def _raw_pixels_in(body, program: Program) -> list[Finding]:
    raw: dict[str, tuple[int, bool]] = {}  # name -> (the line its 0-255 values come from, pixels for sure)
    networks: set[str] = set()  # names holding a network with sigmoid units
    bce_losses: set[str] = set()
    findings = []
    for statement in _statements_in_order(body):
        for call in _calls(statement):
            for argument, is_target in _network_input(call, program, networks, bce_losses):
                origin = _raw_origin(argument, raw)
                # a uint8 target may be a 0/1 label; only pixels (image files, 0..255 draws) are proven 0-255
                if origin is None or is_target and not origin[1]:
                    continue
                what = ("is the target of" if is_target else "is fed to")
                findings.append(Finding(
                    RULE_RAW_PIXELS_SIGMOID, "warning", str(program.path), call.lineno, call.col_offset + 1,
                    f"`{text(argument)}` holds raw 0-255 values (from line {origin[0]}) and {what} "
                    f"`{text(call.func)}`, which has sigmoid units or a binary cross-entropy loss: inputs in "
                    f"the hundreds drive the sigmoids to 0 or 1, where their gradient vanishes "
                    f"(and BCE needs targets in [0, 1])",
                    hint="scale the data to [0, 1] first: x.astype(np.float32) / 255."))
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = text(statement.targets[0])
            value = statement.value
            origin = _raw_origin(value, raw)
            if origin is not None:
                raw[target] = origin
            else:
                raw.pop(target, None)
            if _builds_sigmoid_network(value, program):
                networks.add(target)
            if isinstance(value, ast.Call) and _last_name(text(value.func)) in ("BCELoss", "BCEWithLogitsLoss"):
                bce_losses.add(target)
    return findings


def _raw_origin(node: ast.AST, raw: dict[str, tuple[int, bool]]) -> tuple[int, bool] | None:
    """(the line where the 0-255 values of `node` come from, whether they are pixels for sure rather than
    any uint8 array), if they provably are 0-255 data; None when unsure."""
    if isinstance(node, ast.Name) or isinstance(node, ast.Attribute):
        return raw.get(text(node))
    if isinstance(node, ast.Subscript):
        return _raw_origin(node.value, raw)
    if not isinstance(node, ast.Call):
        return None
    callee = text(node.func)
    method = _method(node)
    if callee in RAW_IMAGE_READERS or _last_name(callee) == "randint" and _randint_high(node) >= 200:
        return node.lineno, True  # an image file's 8-bit pixels, or random "pixels" drawn from 0..255
    if any(text(keyword.value) in UINT8_NAMES for keyword in node.keywords if keyword.arg == "dtype"):
        # the bytes of a file (MNIST's and CIFAR's binaries) are pixels; np.array(..., dtype=uint8) may be labels
        return node.lineno, _last_name(callee) in ("fromfile", "frombuffer")
    if callee in ("np.uint8", "numpy.uint8") or method == "astype" and node.args \
            and text(node.args[0]) in UINT8_NAMES:
        converted = node.func.value if method == "astype" else node.args[0] if node.args else None
        if isinstance(converted, (ast.Compare, ast.BoolOp)):
            return None  # a 0/1 mask
        inner = _raw_origin(converted, raw) if converted is not None else None
        return inner or (node.lineno, False)
    if method in VALUE_KEEPING_METHODS and text(node.func.value) not in ("np", "numpy", "torch", "xp", "F"):
        return _raw_origin(node.func.value, raw)
    if callee in VALUE_KEEPING_CALLS and node.args:
        if any(_last_name(text(c.func)) == "open" and "Image" in text(c.func) for c in _calls(node.args[0])):
            return node.lineno, True  # np.asarray(Image.open(path)): 8-bit pixels
        return _raw_origin(node.args[0], raw)
    return None


def _randint_high(call: ast.Call) -> int:
    bounds = [arg.value for arg in call.args[:2] if isinstance(arg, ast.Constant) and isinstance(arg.value, int)]
    high = next((k.value.value for k in call.keywords if k.arg == "high" and isinstance(k.value, ast.Constant)),
                None)
    if high is None and len(call.args) >= 2 and len(bounds) == 2:
        high = bounds[1]
    return high if isinstance(high, int) else 0


def _builds_sigmoid_network(value: ast.AST, program: Program) -> bool:
    """`MLP(...)` of a class with sigmoid units, L.Classifier(MLP(...)), nn.Sequential(..., nn.Sigmoid())."""
    if not isinstance(value, ast.Call):
        return False
    calls = [value] + [c for c in _calls(value) if c is not value]
    if any(_last_name(text(c.func)) in program.sigmoid_classes for c in calls):
        return True
    return _last_name(text(value.func)) == "Sequential" and any(word in text(value) for word in SIGMOID_WORDS)


def _network_input(call: ast.Call, program: Program, networks: set[str],
                   bce_losses: set[str]) -> list[tuple[ast.AST, bool]]:
    """(argument, is a target) for the data `call` gives a sigmoid network (its first argument: the others
    may be labels, as L.Classifier's) or a BCE loss (its target, which must be a probability)."""
    callee = text(call.func)
    if call.args and any(_related(callee, network) and callee.startswith(network) for network in networks):
        return [(call.args[0], False)]
    if callee in bce_losses or _last_name(callee) in ("binary_cross_entropy", "sigmoid_cross_entropy",
                                                      "binary_cross_entropy_with_logits"):
        return [(argument, True) for argument in call.args[1:2]]
    if _method(call) == "update" and len(call.args) >= 2 and program.is_optimizer(_receiver(call)):
        model = program.optimizer_model.get(_receiver(call), "")
        if text(call.args[0]) in networks or model in networks:
            return [(call.args[1], False)]  # optimizer.update(model, x, t)
    return []


# ----------------------------------------------------------------- entry point

def check_tree(tree: ast.Module, path: Path) -> list[Finding]:
    program = Program(tree, path)
    findings: list[Finding] = []
    for walk_class in (GradAfterClear, EvalModeTraining):
        walk = walk_class(program)
        walk.run(tree)
        findings.extend(walk.findings.values())
    findings += check_no_clearing(program)
    findings += check_backward_without_graph(program)
    findings += check_raw_pixels(program)
    unique = {(f.rule, f.line, f.col): f for f in findings}
    return sorted(unique.values(), key=lambda f: (f.line, f.col, f.rule))
