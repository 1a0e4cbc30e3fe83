"""PT020-PT026: the training-script side of the torch target.

Optimizers become ``torch.optim`` with Chainer's hyper-parameters spelled out, ``update`` becomes
``zero_grad``/``backward``/``step`` (gradients cleared before the forward pass), Variables become
tensors, ``cuda.to_cpu(v.data)`` becomes ``.detach().cpu().numpy()``, inference scopes become
``model.eval()`` + ``torch.no_grad()`` with ``model.train()`` after, and ``save_npz``/``load_npz``
become ``torch.save``/``load_state_dict``.
"""

from __future__ import annotations

import ast
import builtins

import libcst as cst

from netport.migrate.passes import ZERO_GRAD, RulePass, bind_arguments, code, insert_definition, primary
from netport.migrate.registry import rule_pass
from netport.migrate.imports import import_map, qualified_name
from netport.migrate.rules import Rule, register

register(
    Rule("PT020", "Chainer optimizers become torch.optim with Chainer's hyper-parameters; setup binds the "
         "parameters",
         before="from chainer import optimizers\nopt = optimizers.Adam()\nopt.setup(model)\n",
         after='import torch\n\nopt = torch.optim.Adam(model.parameters(), lr=0.001, betas=(0.9, 0.999), eps=1e-08)\n',
         target="torch",
         noop=("# ported from chainer\nimport torch\nopt = torch.optim.Adam(model.parameters())\n",
               "# ported from chainer\nfrom keras import optimizers\nopt = optimizers.Adam()\n")),
    Rule("PT021", "optimizer.update(lossfun, *args) becomes zero_grad, backward and step",
         before="from chainer import optimizers\nopt = optimizers.SGD()\nopt.setup(model)\nopt.update(lossfun, x, t)\n",
         after='import torch\n\nopt = torch.optim.SGD(model.parameters(), lr=0.01)\nopt.zero_grad(set_to_none=False)\n'
               'lossfun(x, t).backward()\nopt.step()\n',
         target="torch",
         noop=("# ported from chainer\nimport torch\nopt = torch.optim.SGD(model.parameters(), lr=0.01)\n"
               "opt.zero_grad()\nloss.backward()\nopt.step()\n",
               "# ported from chainer\nconfig = {}\nconfig.update(lr=0.1)\n")),
    Rule("PT022", "chainer.Variable(a) becomes torch.as_tensor(a); cuda.to_cpu(v.data) becomes "
         "v.detach().cpu().numpy()",
         before="import chainer\nfrom chainer import cuda\nv = chainer.Variable(a)\nn = cuda.to_cpu(v.data)\n",
         after='import torch\n\nv = torch.as_tensor(a)\nn = v.detach().cpu().numpy()\n',
         target="torch",
         noop=("# ported from chainer\nimport torch\nv = torch.as_tensor(a)\nn = v.detach().cpu().numpy()\n",
               "# ported from chainer\nimport tkinter\nv = tkinter.Variable(value=1)\n")),
    Rule("PT023", "inference scopes become model.eval() and torch.no_grad(), with model.train() after",
         before="import chainer\nimport chainer.functions as F\n\n\nclass M(chainer.Chain):\n"
                "    def __call__(self, x, train=True):\n        return F.dropout(x, train=train)\n\n\n"
                "with chainer.no_backprop_mode(), chainer.using_config('train', False):\n    y = model(x)\n",
         after="import torch\nfrom torch import nn\n\n\nclass M(nn.Module):\n    def forward(self, x):\n"
               "        return nn.functional.dropout(x, p=0.5, training=self.training)\n\n\nmodel.eval()\n"
               "with torch.no_grad():\n    y = model(x)\nmodel.train()\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\nmodel.eval()\nwith torch.no_grad():\n    y = model(x)\n"
               "model.train()\n",
               "# ported from chainer\nimport threading\nlock = threading.Lock()\nwith lock:\n    y = model(x)\n")),
    Rule("PT025", "GPU selection: get_device_from_id(g).use() -> torch.cuda.set_device(g), to_gpu() -> cuda(), "
         "and `xp = np if cpu else cuda.cupy` -> a torch.device that tensors are created on",
         before="import numpy as np\nimport chainer\nfrom chainer import cuda\nif gpu >= 0:\n"
                "    cuda.get_device_from_id(gpu).use()\n    model.to_gpu()\nxp = np if gpu < 0 else cuda.cupy\n"
                "x = chainer.Variable(xp.asarray(batch))\n",
         after="import numpy as np\nimport torch\n\nif gpu >= 0:\n    torch.cuda.set_device(gpu)\n    model.cuda()\nxp = np\ndevice = torch.device('cpu') if gpu < 0 else torch.device('cuda')\nx = torch.as_tensor(batch, device=device)\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\nif gpu >= 0:\n    torch.cuda.set_device(gpu)\n"
               "    model.cuda()\n",
               "# ported from chainer\nimport numpy as np\nxp = np\nx = xp.asarray(batch)\n")),
    Rule("PT026", "np.random.seed(s) also seeds torch: Chainer drew initial weights, dropout masks and shuffles from "
         "NumPy's generator, torch draws them from its own",
         before="import numpy as np\nimport chainer\nnp.random.seed(0)\n",
         after="import numpy as np\nimport torch\n\nnp.random.seed(0)\ntorch.manual_seed(0)\n",
         target="torch",
         noop=("# ported from chainer\nimport random\nrandom.seed(0)\n",
               "# ported from chainer\nimport numpy as np\nrng = np.random.RandomState(0)\n")),
    Rule("PT027", "optimizer hyper-parameter attributes (lr, Adam's alpha, momentum, eps, betas) are "
         "param_groups[0] entries; target is the model set up; t, epoch and the like are marked",
         before="from chainer import optimizers\nopt = optimizers.SGD(lr=0.1)\nopt.setup(model)\nopt.lr *= 0.5\n"
                "print(opt.lr)\n",
         after="import torch\n\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\nopt.param_groups[0]['lr'] *= 0.5\n"
               "print(opt.param_groups[0]['lr'])\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
               "opt.param_groups[0]['lr'] *= 0.5\n",
               "# ported from chainer\nimport argparse\nargs = argparse.Namespace(lr=0.1)\nargs.lr *= 0.5\n"
               "print(args.lr)\n")),
    Rule("PT028", "Chainer-only Variable and Link names: .array -> .detach() (float(v.array) -> v.item()), "
         ".creator -> .grad_fn, .grad_var -> .grad, .params() -> .parameters(), .links() -> .modules(), "
         ".count_params() -> a sum of numel()",
         before="import chainer\nn = model.count_params()\nfor p in model.params():\n    print(p.array.shape)\n"
                "a = float(loss.array)\n",
         after="n = sum(p.numel() for p in model.parameters())\nfor p in model.parameters():\n"
               "    print(p.detach().shape)\na = loss.item()\n",
         target="torch",
         noop=("# ported from chainer\nimport numpy as np\na = np.array([1, 2])\n",
               "# ported from chainer\nn = sum(p.numel() for p in model.parameters())\n"
               "for p in model.parameters():\n    print(p.detach().shape)\n")),
    Rule("PT024", "serializers.save_npz/load_npz become torch.save/load of the state_dict",
         before="from chainer import serializers\nserializers.save_npz('m.npz', model)\n"
                "serializers.load_npz('m.npz', model)\n",
         after="import torch\n\ntorch.save(model.state_dict(), 'm.npz')\nmodel.load_state_dict(torch.load('m.npz'))\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\ntorch.save(model.state_dict(), 'm.pt')\n"
               "model.load_state_dict(torch.load('m.pt'))\n",
               "# ported from chainer\nimport numpy as np\nnp.savez('m.npz', w=w)\nw = np.load('m.npz')['w']\n")),
)

# --adam-eps chainer: Chainer's Adam update, exactly. Chainer (1.24 optimizers/adam.py, 7.8 the same
# in update_core_cpu) does param -= alpha * sqrt(1 - beta2**t) / (1 - beta1**t) * m / (sqrt(v) + eps);
# torch.optim.Adam does param -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps), the
# same update with eps / sqrt(1 - beta2**t) in place of eps.
CHAINER_ADAM = '''class ChainerAdam(torch.optim.Adam):
    """torch.optim.Adam with Chainer's eps placement: Chainer adds eps to sqrt(v) before the bias
    correction, torch after it, so torch's eps is set to eps / sqrt(1 - beta2 ** t) at each step t."""

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-08, **kwargs):
        super().__init__(params, lr=lr, betas=betas, eps=eps, **kwargs)
        self.chainer_eps = eps
        self.chainer_t = 0

    def step(self, closure=None):
        self.chainer_t += 1
        for group in self.param_groups:
            group['eps'] = self.chainer_eps / math.sqrt(1 - group['betas'][1] ** self.chainer_t)
        return super().step(closure)
'''

# Chainer's MomentumSGD keeps v = momentum * v - lr * grad, so a new learning rate applies to new gradients
# only; torch's SGD keeps buf = momentum * buf + grad and steps by lr * buf, applying a new rate to the whole
# buffer. The two agree while the rate is constant (v = -lr * buf); rescaling buf by old / new when the rate
# changes keeps them agreeing. Written into programs that change a MomentumSGD's lr.
CHAINER_MOMENTUM_SGD = '''class ChainerMomentumSGD(torch.optim.SGD):
    """torch.optim.SGD with momentum, updating as Chainer's MomentumSGD when the learning rate changes: Chainer
    applies a new rate to new gradients only, torch to its whole momentum buffer, which is therefore rescaled by
    old_lr / new_lr before the next step."""

    def step(self, closure=None):
        for group in self.param_groups:
            last = group.setdefault('chainer_lr', group['lr'])
            if group['lr'] != last and group['lr'] != 0:
                for p in group['params']:
                    buffer = self.state[p].get('momentum_buffer')
                    if buffer is not None:
                        buffer.mul_(last / group['lr'])
            group['chainer_lr'] = group['lr']
        return super().step(closure)
'''

# Chainer optimizer hooks -> a torch step pre-hook doing the same to the gradients before the update
# (WeightDecay is folded into the optimizer's weight_decay= instead when its construction is in view)
HOOKS = {
    "chainer.optimizer_hooks.WeightDecay": (
        "def weight_decay(optimizer, args, kwargs):\n"
        "    \"\"\"Chainer's WeightDecay({value}) hook: grad += {value} * param before each step.\"\"\"\n"
        "    for group in optimizer.param_groups:\n"
        "        for p in group['params']:\n"
        "            if p.grad is None:  # Chainer decayed a parameter the loss did not reach as well\n"
        "                p.grad = torch.zeros_like(p)\n"
        "            p.grad.add_(p.detach(), alpha={value})\n"
        "{opt}.register_step_pre_hook(weight_decay)\n"),
    "chainer.optimizer_hooks.GradientClipping": (
        "def clip_gradients(optimizer, args, kwargs):\n"
        "    \"\"\"Chainer's GradientClipping({value}) hook: scale the gradients to an L2 norm of at most {value}."
        "\"\"\"\n"
        "    torch.nn.utils.clip_grad_norm_([p for group in optimizer.param_groups for p in group['params']], "
        "{value})\n"
        "{opt}.register_step_pre_hook(clip_gradients)\n"),
}


# Chainer optimizer -> (torch optimizer, [(chainer hyper-parameter, default, torch keyword)])
OPTIMIZERS = {
    "chainer.optimizers.Adam": ("Adam", [("alpha", "0.001", "lr"), ("beta1", "0.9", None), ("beta2", "0.999", None),
                                         ("eps", "1e-08", "eps")]),
    "chainer.optimizers.MomentumSGD": ("SGD", [("lr", "0.01", "lr"), ("momentum", "0.9", "momentum")]),
    "chainer.optimizers.SGD": ("SGD", [("lr", "0.01", "lr")]),
}


# Chainer optimizer attribute -> where torch keeps it: (param_groups key, index in it or None), per optimizer
HYPERPARAMETERS = {
    "chainer.optimizers.SGD": {"lr": ("lr", None)},
    "chainer.optimizers.MomentumSGD": {"lr": ("lr", None), "momentum": ("momentum", None)},
    "chainer.optimizers.Adam": {"alpha": ("lr", None), "eps": ("eps", None), "beta1": ("betas", 0),
                                "beta2": ("betas", 1)},
}
# attributes of Chainer optimizers that torch's do not have, and what to do instead
OPTIMIZER_ONLY = {
    "lr": "the learning rate is optimizer.param_groups[0]['lr'] (Chainer's Adam.lr is its bias-corrected step size "
          "alpha * sqrt(1 - beta2**t) / (1 - beta1**t), read-only)",
    "alpha": "Adam's alpha is optimizer.param_groups[0]['lr']", "beta1": "betas are param_groups[0]['betas']",
    "beta2": "betas are param_groups[0]['betas']", "eps": "eps is param_groups[0]['eps']",
    "momentum": "momentum is param_groups[0]['momentum']",
    "t": "Chainer's count of updates: torch keeps it per parameter, in optimizer.state[p]['step'] (Adam), or count "
         "the step() calls",
    "epoch": "Chainer's epoch counter (new_epoch()): keep an epoch counter of the program's own",
    "target": "the model the optimizer was set up with: use that model",
    "hyperparam": "the hyper-parameters are optimizer.param_groups[0]",
    "weight_decay_rate": "weight decay is param_groups[0]['weight_decay']",
    "eta": "Adam's eta has no torch counterpart", "amsgrad": "amsgrad is param_groups[0]['amsgrad']",
}
# names of Chainer's Link/Variable API that torch spells differently, matched by name (as PT099 matches
# methods): attribute -> torch attribute
VARIABLE_ATTRIBUTES = {"creator": "grad_fn", "grad_var": "grad"}
LINK_METHODS = {"params": "parameters", "links": "modules"}


@rule_pass("torch.scripts", 10)
class ScriptRules(RulePass):
    def visit_Module(self, node: cst.Module) -> None:
        super().visit_Module(node)
        self._needs_chainer_adam = False
        self._needs_chainer_momentum = False
        self._trainer_objects = _trainer_objects(self.ctx.syntax_tree())
        self._optimizer_kinds, self._optimizer_targets = _optimizers(self.ctx.syntax_tree())
        # MomentumSGDs assigned to a name whose lr the program sets: ChainerMomentumSGD keeps Chainer's update
        self._exact_momentum = {name for name in _lr_stores(self.ctx.syntax_tree())
                                if self._optimizer_kinds.get(name) == {"chainer.optimizers.MomentumSGD"} and
                                name in _assigned_optimizers(self.ctx.syntax_tree())}
        self._folded: set[int] = set()  # id of setup statements folded into a constructor
        self._array_modules: dict[str, str] = {}  # `xp` -> the device variable that replaced it
        for statement in node.body:  # xp = np if args.gpu < 0 else cuda.cupy
            choice = _array_module_choice(statement)
            if choice is not None and "device" not in self.aliases.values():
                self._array_modules[choice[0]] = "device"

    def finish_module(self, module: cst.Module) -> cst.Module:
        if self._needs_chainer_momentum:
            module = insert_definition(module, CHAINER_MOMENTUM_SGD)
        return insert_definition(module, CHAINER_ADAM) if self._needs_chainer_adam else module

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign):
        statement = self.statement
        choice = _array_module_choice(statement) if statement is not None else None
        if choice is None or choice[0] not in self._array_modules:
            return updated
        name, condition, cpu_first = choice
        self.need_import("torch")
        cpu, gpu = "torch.device('cpu')", "torch.device('cuda')"
        device = f"{cpu} if {condition} else {gpu}" if cpu_first else f"{gpu} if {condition} else {cpu}"
        self.insert_after(statement, [cst.parse_statement(f"device = {device}\n")])
        self.info(original, "PT025", f"`{name}` chose NumPy or CuPy; tensors are created on `device` instead")
        # arrays stay NumPy on the host; tensors made from them through chainer.Variable go to `device`
        return updated.with_changes(value=cst.Name("np"))

    # optimizers ------------------------------------------------------------------------------------

    def _optimizer(self, call: cst.Call, params: str | None, target: str | None = None) -> str | None:
        name, spec = OPTIMIZERS[self.callee(call)]
        bound = bind_arguments(call, [chainer_name for chainer_name, _, _ in spec])
        if bound is None:
            return None
        values = {key: code(value) for key, value in bound.items()}
        keywords = []
        for chainer_name, default, torch_name in spec:
            if torch_name is not None:
                keywords.append(f"{torch_name}={values.get(chainer_name, default)}")
        if name == "Adam":
            keywords.insert(1, f"betas=({values.get('beta1', '0.9')}, {values.get('beta2', '0.999')})")
        self.need_import("torch")
        head = f"torch.optim.{name}("
        if name == "Adam" and self.ctx.adam_eps == "chainer":
            self.need_import("math")
            self._needs_chainer_adam = True
            head = "ChainerAdam("
        if self.callee(call) == "chainer.optimizers.MomentumSGD" and target in self._exact_momentum:
            self._needs_chainer_momentum = True
            head = "ChainerMomentumSGD("
        return head + (f"{params}, " if params else "") + ", ".join(keywords) + ")"

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        qualified = self.callee(original)
        if qualified in OPTIMIZERS:
            self._decay = None
            setup = self._following_setup(original)
            statement = self.statement
            target = code(statement.body[0].targets[0].target) if isinstance(statement, cst.SimpleStatementLine) \
                and isinstance(statement.body[0], cst.Assign) and statement.body[0].value is original else None
            text = self._optimizer(updated, f"{setup[1]}.parameters()" if setup else None, target)
            if text is not None and self._decay is not None:
                text = text[:-1] + f", weight_decay={self._decay})"
                self.info(original, "PT021", f"the WeightDecay({self._decay}) hook is the optimizer's "
                          "weight_decay= (both add rate * param to the gradient before the update)")
            if text is None:
                self.todo(original, "PT020", f"{code(original.func)} with these arguments: build the torch.optim "
                          "optimizer by hand")
                return updated
            if setup:
                self._folded.add(id(setup[0]))
                self.remove(setup[0])
            elif not text.startswith("functools"):
                text = f"{self.need_import('functools')}.partial(" + text.replace("(", ", ", 1)
            self.info(original, "PT020", f"{code(original.func)} is `{text}` (Chainer's defaults spelled out)")
            if text.startswith("ChainerMomentumSGD("):
                self.info(original, "PT027", "MomentumSGD whose learning rate the program changes is "
                          "`ChainerMomentumSGD` (written into this file): torch.optim.SGD rescaling its momentum "
                          "buffer when the rate changes, which gives Chainer's update")
            if qualified == "chainer.optimizers.Adam" and self.ctx.adam_eps == "chainer":
                self.info(original, "PT020", "Adam is `ChainerAdam` (written into this file): torch.optim.Adam with "
                          "eps rescaled at every step to Chainer's placement, which gives Chainer's update exactly")
            elif qualified == "chainer.optimizers.Adam":
                self.warn(original, "PT020", "Chainer's Adam adds eps to sqrt(v) before the bias correction, "
                          "torch's after it (torch's eps acts as Chainer's eps / sqrt(1 - beta2**t)): the losses "
                          "drift apart slowly (4.1e-4 relative after 20 steps in the SAE example); migrate with "
                          "--adam-eps chainer for Chainer's update exactly")
            return cst.parse_expression(text)
        if isinstance(original.func, cst.Attribute) and original.func.attr.value == "asarray" and \
                code(original.func.value) in self._array_modules and not self._inside_variable(original):
            self.warn(original, "PT025", f"`{code(original.func.value)}.asarray(...)` now stays a NumPy array on "
                      "the host: on a GPU, create the tensor made from it with `device=device`")
        if qualified == "chainer.Variable" and len(updated.args) == 1 and updated.args[0].keyword is None:
            self.info(original, "PT022", "chainer.Variable is a tensor: torch.as_tensor")
            self.need_import("torch")
            value = updated.args[0].value
            if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and \
                    value.func.attr.value == "asarray" and code(value.func.value) in self._array_modules and \
                    len(value.args) == 1:
                # xp.asarray(a) chose the device in Chainer; the tensor is created there instead
                return cst.parse_expression(f"torch.as_tensor({code(value.args[0].value)}, "
                                            f"device={self._array_modules[code(value.func.value)]})")
            return updated.with_changes(func=cst.parse_expression("torch.as_tensor"))
        if qualified in ("chainer.backends.cuda.get_device_from_id", "chainer.cuda.get_device_from_id"):
            return updated  # handled with its .use() below
        if isinstance(original.func, cst.Attribute) and original.func.attr.value == "use" and \
                isinstance(original.func.value, cst.Call) and not original.args and \
                self.callee(original.func.value) in ("chainer.backends.cuda.get_device_from_id",
                                                     "chainer.cuda.get_device_from_id"):
            self.need_import("torch")
            self.info(original, "PT025", "get_device_from_id(g).use() is torch.cuda.set_device(g)")
            return cst.parse_expression(f"torch.cuda.set_device({code(original.func.value.args[0].value)})")
        if isinstance(updated.func, cst.Attribute) and updated.func.attr.value in ("to_gpu", "to_cpu") and \
                self.qualified(original.func) is None:
            new = "cuda" if updated.func.attr.value == "to_gpu" else "cpu"
            self.info(original, "PT025", f"`.{updated.func.attr.value}()` of a model is `.{new}()` (in place for "
                      "an nn.Module)")
            return updated.with_changes(func=updated.func.with_changes(attr=cst.Name(new)))
        if qualified in ("chainer.backends.cuda.to_cpu", "chainer.cuda.to_cpu") and len(updated.args) == 1:
            inner = updated.args[0].value
            if isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute) and \
                    inner.func.attr.value == "detach" and isinstance(original.args[0].value, cst.Attribute) and \
                    original.args[0].value.attr.value == "array":
                inner = cst.Attribute(value=inner.func.value, attr=cst.Name("array"))  # v.array, already v.detach()
            if isinstance(inner, cst.Attribute) and inner.attr.value in ("data", "array"):
                self.info(original, "PT022", "cuda.to_cpu(v.data) is v.detach().cpu().numpy()")
                return cst.parse_expression(f"{code(inner.value)}.detach().cpu().numpy()")
        if qualified in ("chainer.serializers.save_npz", "chainer.serializers.load_npz") and len(updated.args) == 2:
            path, model = (code(a.value) for a in updated.args)
            if model in self._trainer_objects:
                self.todo(original, "PT024", f"{code(original.func)} of `{model}`, a Trainer-era object (a Trainer "
                          "snapshot holds the model, the optimizer, the iterators and the extensions): save or load "
                          "the torch state_dicts of what the loop uses by hand")
                return updated
            self.need_import("torch")
            self.info(original, "PT024", f"{code(original.func)} saves/loads the torch state_dict")
            if qualified.endswith("save_npz"):
                return cst.parse_expression(f"torch.save({model}.state_dict(), {path})")
            return cst.parse_expression(f"{model}.load_state_dict(torch.load({path}))")
        if isinstance(original.func, cst.Attribute) and self.qualified(original.func) is None and not original.args:
            method = original.func.attr.value
            if method in LINK_METHODS:
                new = LINK_METHODS[method]
                self.info(original, "PT028", f"`.{method}()` of a link is `.{new}()` of a module")
                return updated.with_changes(func=updated.func.with_changes(attr=cst.Name(new)))
            if method == "count_params":
                self.info(original, "PT028", "`.count_params()` is the sum of the parameters' numel()")
                return cst.parse_expression(f"sum(p.numel() for p in {primary(updated.func.value)}.parameters())")
        if isinstance(original.func, cst.Name) and original.func.value == "float" and len(updated.args) == 1 and \
                isinstance(original.args[0].value, cst.Attribute) and original.args[0].value.attr.value == "array":
            inner = updated.args[0].value  # x.detach() by now
            value = inner.func.value if isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute) else None
            if value is not None:
                self.info(original, "PT028", "`float(v.array)` is `v.item()`")
                return cst.parse_expression(f"{primary(value)}.item()")
        if isinstance(original.func, cst.Name) and original.func.value == "len" and len(updated.args) == 1:
            inner = updated.args[0].value
            if isinstance(inner, cst.Attribute) and inner.attr.value == "data" and isinstance(inner.value, cst.Name):
                return updated.with_changes(args=[updated.args[0].with_changes(value=inner.value)])
        return updated

    # attributes of optimizers and of links/variables ---------------------------------------------

    def leave_Attribute(self, original: cst.Attribute, updated: cst.BaseExpression) -> cst.BaseExpression:
        parent = self.parent(original)
        called = isinstance(parent, cst.Call) and parent.func is original
        name = original.attr.value
        receiver = code(original.value)
        if not called and receiver in self._optimizer_kinds and name in OPTIMIZER_ONLY:
            return self._optimizer_attribute(original, updated, receiver, name)
        if not called and name in VARIABLE_ATTRIBUTES and self.qualified(original) is None:
            new = VARIABLE_ATTRIBUTES[name]
            self.info(original, "PT028", f"`.{name}` of a Variable is `.{new}` of a tensor")
            return updated.with_changes(attr=cst.Name(new))
        if not called and name == "array" and self.qualified(original) is None:
            store = isinstance(parent, cst.AssignTarget) and parent.target is original
            self.info(original, "PT028", "`.array` of a Variable is " +
                      ("`.data` of a tensor (assigned)" if store else "`.detach()` of a tensor"))
            if store:
                return updated.with_changes(attr=cst.Name("data"))
            return cst.parse_expression(f"{primary(updated.value)}.detach()")
        if not called and name == "xp" and self.qualified(original) is None and receiver not in ("np", "numpy"):
            self.todo(original, "PT025", f"`{receiver}.xp` chose NumPy or CuPy by the device of the link: keep "
                      "arrays NumPy and create tensors on a torch.device instead")
        return updated

    def _scope_path(self, node: cst.CSTNode) -> tuple[str, ...]:
        return tuple(reversed([a.name.value for a in self.ancestors(node) if isinstance(a, (cst.FunctionDef,
                                                                                            cst.ClassDef))]))

    def _optimizer_attribute(self, original, updated, receiver: str, name: str) -> cst.BaseExpression:
        kinds = self._optimizer_kinds[receiver]
        places = {HYPERPARAMETERS.get(kind, {}).get(name) for kind in kinds}
        parent = self.parent(original)
        store = isinstance(parent, (cst.AssignTarget, cst.AugAssign)) and parent.target is original
        if name == "target" and not store and len(self._optimizer_targets.get(receiver, ())) == 1:
            ((scope, model),) = self._optimizer_targets[receiver]
            # elsewhere `model` may name nothing (an updater's method): the same function, or module names
            # that no function around this use rebinds
            roots = {receiver.split(".")[0].split("[")[0], model.split(".")[0].split("(")[0]}
            if scope == self._scope_path(original) or scope == () and not any(
                    self._scopes.binds_locally(root) for root in roots):
                self.info(original, "PT027", f"`{receiver}.target` is `{model}`, the model it was set up with")
                return cst.parse_expression(model)
        if not kinds or None in places or len(places) != 1 or store and next(iter(places))[1] is not None:
            self.todo(original, "PT027", f"`{receiver}.{name}`: {OPTIMIZER_ONLY[name]}")
            return updated
        key, index = next(iter(places))
        text = f"{receiver}.param_groups[0]['{key}']" + (f"[{index}]" if index is not None else "")
        self.info(original, "PT027", f"`{receiver}.{name}` is `{text}`")
        if store and key == "lr" and "chainer.optimizers.MomentumSGD" in kinds and receiver not in self._exact_momentum:
            self.warn(original, "PT027", "a new learning rate: Chainer's MomentumSGD applies it to the new gradients "
                      "only (v = momentum * v - lr * grad), torch's SGD to the whole momentum buffer (p -= lr * buf), "
                      "so the updates after this change differ from Chainer's")
        return cst.parse_expression(text)

    def _inside_variable(self, node: cst.CSTNode) -> bool:
        ancestors = list(self.ancestors(node))[:2]  # Arg, then the call that takes it
        return len(ancestors) == 2 and isinstance(ancestors[1], cst.Call) and \
            self.callee(ancestors[1]) == "chainer.Variable"

    def _following_setup(self, call: cst.Call):
        """(statement, target) of `opt.setup(target)` right after `opt = <call>` in the same block."""
        statement = self.statement
        if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 and
                isinstance(statement.body[0], cst.Assign) and statement.body[0].value is call):
            return None
        name = code(statement.body[0].targets[0].target)
        block = self.parent(statement)
        body = list(getattr(block, "body", ()))
        index = next((i for i, s in enumerate(body) if s is statement), None)
        if index is None or index + 1 >= len(body):
            return None
        following = body[index + 1]
        if isinstance(following, cst.SimpleStatementLine) and len(following.body) == 1 and \
                isinstance(following.body[0], cst.Expr) and isinstance(following.body[0].value, cst.Call):
            setup = following.body[0].value
            if isinstance(setup.func, cst.Attribute) and setup.func.attr.value == "setup" and \
                    code(setup.func.value) == name and len(setup.args) == 1:
                self._decay = self._weight_decay_after(body[index + 2:index + 3], name, body[index + 3:])
                return following, code(setup.args[0].value)
        return None

    def _weight_decay_after(self, statements, name: str, rest=()) -> str | None:
        """`name.add_hook(WeightDecay(r))` right after the setup: fold r into weight_decay=, unless a
        GradientClipping hook is added after it: Chainer clipped the decayed gradient, and torch adds
        weight_decay= inside step(), after every pre-hook, so the decay stays a pre-hook before the clipping."""
        if any(self._adds_hook(statement, name, "chainer.optimizer_hooks.GradientClipping") for statement in rest):
            for statement in statements:
                if self._adds_hook(statement, name, "chainer.optimizer_hooks.WeightDecay"):
                    self._decay_before_clipping = id(statement)
            return None
        for statement in statements:
            if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 and \
                    isinstance(statement.body[0], cst.Expr) and isinstance(statement.body[0].value, cst.Call):
                call = statement.body[0].value
                if isinstance(call.func, cst.Attribute) and call.func.attr.value == "add_hook" and \
                        code(call.func.value) == name and len(call.args) == 1 and \
                        isinstance(call.args[0].value, cst.Call) and \
                        self.callee(call.args[0].value) == "chainer.optimizer_hooks.WeightDecay" and \
                        len(call.args[0].value.args) == 1:
                    self._folded.add(id(statement))
                    self.remove(statement)
                    return code(call.args[0].value.args[0].value)
        return None

    def _adds_hook(self, statement, name: str, hook: str) -> bool:
        if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 and
                isinstance(statement.body[0], cst.Expr) and isinstance(statement.body[0].value, cst.Call)):
            return False
        call = statement.body[0].value
        return isinstance(call.func, cst.Attribute) and call.func.attr.value == "add_hook" and \
            code(call.func.value) == name and len(call.args) == 1 and isinstance(call.args[0].value, cst.Call) and \
            self.callee(call.args[0].value) == hook

    def _seed(self, original: cst.SimpleStatementLine) -> None:
        """``np.random.seed(s)`` -> also ``torch.manual_seed(s)`` right after, unless it is there already."""
        call = original.body[0].value
        seed = code(call.args[0].value)
        block = self.parent(original)
        body = list(getattr(block, "body", ()))
        index = next((i for i, s in enumerate(body) if s is original), None)
        following = body[index + 1] if index is not None and index + 1 < len(body) else None
        if following is not None and code(following).strip().startswith(f"torch.manual_seed({seed})"):
            return
        self.need_import("torch")
        self.insert_after(original, [cst.parse_statement(f"torch.manual_seed({seed})\n")])
        self.info(original, "PT026", "NumPy's seed no longer reaches the weights, dropout masks and shuffles: "
                  f"torch.manual_seed({seed}) seeds torch's generator too (the numbers drawn differ from Chainer's)")

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine):
        if len(original.body) == 1 and isinstance(original.body[0], cst.Expr) and \
                isinstance(original.body[0].value, cst.Call) and \
                self.callee(original.body[0].value) == "numpy.random.seed" and \
                len(original.body[0].value.args) == 1 and original.body[0].value.args[0].keyword is None:
            self._seed(original)
        if id(original) in self._folded or len(updated.body) != 1 or not isinstance(updated.body[0], cst.Expr):
            return updated
        call = updated.body[0].value
        if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)):
            return updated
        method, receiver = call.func.attr.value, code(call.func.value)
        if method == "setup" and len(call.args) == 1 and isinstance(call.func.value, cst.Name):
            self.info(original, "PT020", f"`{receiver}.setup(m)` binds the parameters: `{receiver} = "
                      f"{receiver}(m.parameters())`")
            return cst.parse_statement(f"{receiver} = {receiver}({code(call.args[0].value)}.parameters())\n") \
                .with_changes(leading_lines=updated.leading_lines)
        if method == "update" and call.args and not any(a.keyword or a.star for a in call.args):
            lossfun, rest = call.args[0].value, ", ".join(code(a.value) for a in call.args[1:])
            if isinstance(lossfun, cst.Lambda) and not rest and not _has_parameters(lossfun):
                loss = primary(lossfun.body)  # update(lambda: model(x, t)): the body is the loss
            else:  # a lambda or any other expression is called in parentheses
                loss = f"{primary(lossfun)}({rest})"
            self.insert_after(original, [cst.parse_statement(f"{loss}.backward()\n"),
                                         cst.parse_statement(f"{receiver}.step()\n")])
            self.info(original, "PT021", f"`{receiver}.update(lossfun, ...)` is {ZERO_GRAD}, lossfun(...).backward(), "
                      "step(): gradients are cleared before the forward pass, to zeros as Chainer's were (torch's "
                      "step() skips a parameter whose .grad is None; Chainer updated it with a zero gradient)")
            return cst.parse_statement(f"{receiver}.{ZERO_GRAD}\n").with_changes(leading_lines=updated.leading_lines)
        if method == "cleargrads" and not call.args:
            self.info(original, "PT021", f"`{receiver}.cleargrads()` is `{receiver}.{ZERO_GRAD}`: Chainer's "
                      "update() gave a parameter without a gradient a zero one and updated it (momentum, Adam's "
                      "moments, weight decay); torch's step() skips a parameter whose .grad is None")
            return updated.with_changes(body=[updated.body[0].with_changes(
                value=cst.parse_expression(f"{primary(call.func.value)}.{ZERO_GRAD}"))])
        if method == "add_hook" and len(call.args) == 1 and isinstance(call.args[0].value, cst.Call):
            hook = call.args[0].value
            kind = self.callee(original.body[0].value.args[0].value)
            if id(original) in self._folded:
                return updated
            if kind in HOOKS and len(hook.args) == 1:
                value = code(hook.args[0].value)
                self.need_import("torch")
                new = list(cst.parse_module(HOOKS[kind].format(opt=receiver, value=value)).body)
                self.info(original, "PT021", f"{kind.split('.')[-1]} hook: a step pre-hook does the same to the "
                          "gradients before every step(), as Chainer's hook did inside update()" +
                          (" (not weight_decay=: the gradient clipping added after it clips the decayed gradient, "
                           "as in Chainer)" if id(original) == getattr(self, "_decay_before_clipping", None) else ""))
                self.insert_after(original, new[1:])
                return new[0].with_changes(leading_lines=updated.leading_lines)
        if method == "update" and not call.args:
            return updated.with_changes(body=[updated.body[0].with_changes(
                value=call.with_changes(func=call.func.with_changes(attr=cst.Name("step"))))])
        return updated

    # inference scopes ---------------------------------------------------------------------------

    def leave_With(self, original: cst.With, updated: cst.With):
        items = list(updated.items)
        for i, item in enumerate(original.items):  # using_config('use_cudnn', 'never')
            expression = item.item
            if isinstance(expression, cst.Call) and self.callee(expression) == "chainer.using_config" and \
                    len(expression.args) == 2 and code(expression.args[0].value) in ("'use_cudnn'", '"use_cudnn"') \
                    and code(expression.args[1].value) in ("'never'", '"never"'):
                self.need_import("torch")
                items[i] = items[i].with_changes(item=cst.parse_expression("torch.backends.cudnn.flags(enabled=False)"))
                self.info(original, "PT023", "using_config('use_cudnn', 'never') is torch.backends.cudnn.flags("
                          "enabled=False)")
        updated = updated.with_changes(items=items)
        kinds = [self._scope_kind(item.item) for item in original.items]
        if not kinds or None in kinds:
            return updated
        modules = _called_modules(original.body, self.project, self.ctx.global_models) if "eval" in kinds else []
        if "eval" in kinds and not modules and len(self.ctx.global_models) == 1:
            modules = list(self.ctx.global_models)  # code that calls the program's one module-level model
        if "eval" in kinds and not modules:
            self.todo(original, "PT023", "inference scope around code that calls no model object: call "
                      "model.eval() before it and model.train() after it by hand")
            return updated
        statements = [cst.parse_statement(f"{m}.eval()\n") for m in modules]
        if "no_grad" in kinds:
            self.need_import("torch")
            inner = [updated.with_changes(items=[cst.WithItem(cst.parse_expression("torch.no_grad()"))],
                                          leading_lines=())]
        else:
            inner = list(updated.body.body)
        restore = [cst.parse_statement(f"{m}.train()\n") for m in modules]
        leaves = modules and _leaves_early(original.body)
        if leaves:  # return/yield/break/continue/raise inside: the mode is restored on every way out
            statements.append(cst.Try(body=cst.IndentedBlock(body=inner),
                                      finalbody=cst.Finally(body=cst.IndentedBlock(body=restore))))
        else:
            statements += inner + restore
        self.insert_after(original, statements)
        self.remove(original)
        self.info(original, "PT023", "inference scope: " + ", ".join(f"{m}.eval()" for m in modules) +
                  (" + torch.no_grad()" if "no_grad" in kinds else "") + ", training mode restored after" +
                  (f" (in `finally:`, as the scope is left by {leaves})" if leaves else ""))
        return updated

    def _scope_kind(self, expression: cst.BaseExpression) -> str | None:
        if not isinstance(expression, cst.Call):
            return None
        qualified = self.callee(expression)
        if qualified == "chainer.no_backprop_mode":
            return "no_grad"
        if qualified == "chainer.using_config" and len(expression.args) == 2 and \
                code(expression.args[0].value) in ("'train'", '"train"') and code(expression.args[1].value) == "False":
            return "eval"
        return None


def _leaves_early(body: cst.CSTNode) -> str | None:
    """How the code of a scope can leave it before its end (return, yield, break, continue, raise),
    ignoring nested functions and classes and loops nested inside it; None when it runs to the end."""
    found: list[str] = []

    class Exits(cst.CSTVisitor):
        loops = 0

        def visit_FunctionDef(self, node):
            return False

        def visit_ClassDef(self, node):
            return False

        def visit_Lambda(self, node):
            return False

        def visit_Return(self, node):
            found.append("return")

        def visit_Raise(self, node):
            found.append("raise")

        def visit_Yield(self, node):
            found.append("yield")

        def visit_For(self, node):
            self.loops += 1

        def leave_For(self, node):
            self.loops -= 1

        def visit_While(self, node):
            self.loops += 1

        def leave_While(self, node):
            self.loops -= 1

        def visit_Break(self, node):
            if not self.loops:
                found.append("break")

        def visit_Continue(self, node):
            if not self.loops:
                found.append("continue")

    body.visit(Exits())
    return "/".join(dict.fromkeys(found)) or None


def _has_parameters(function: cst.Lambda) -> bool:
    params = function.params
    return bool(params.params or params.posonly_params or params.kwonly_params or
                not isinstance(params.star_arg, cst.MaybeSentinel) or params.star_kwarg is not None)


def _optimizers(tree: ast.Module | None) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """The optimizers of a file: each name (or ``self.x``) assigned a Chainer optimizer or set up with a
    model, with the optimizer classes it can hold (for one only set up, every class the file constructs),
    and the models each was set up with, as ``(scope, model)``: the path of the functions the setup is in."""
    if tree is None:
        return {}, {}
    aliases = import_map(tree)
    kinds: dict[str, set[str]] = {}
    targets: dict[str, set[tuple[tuple[str, ...], str]]] = {}
    constructed: set[str] = set()
    for node, scope in _walk_scopes(tree):
        if isinstance(node, ast.Call):
            qualified = qualified_name(node.func, aliases) or ""
            if qualified.startswith("chainer.optimizers."):
                constructed.add(qualified)
            if isinstance(node.func, ast.Attribute) and node.func.attr == "setup" and len(node.args) == 1:
                receiver = ast.unparse(node.func.value)
                kinds.setdefault(receiver, set())
                targets.setdefault(receiver, set()).add((scope, ast.unparse(node.args[0])))
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            qualified = qualified_name(node.value.func, aliases) or ""
            if qualified.startswith("chainer.optimizers."):
                for target in node.targets:
                    if isinstance(target, (ast.Name, ast.Attribute)):
                        kinds.setdefault(ast.unparse(target), set()).add(qualified)
    for receiver, found in kinds.items():
        if not found:
            found |= constructed
    return kinds, targets


def _walk_scopes(tree: ast.Module):
    """Every node with the path of the functions and classes around it."""
    pending = [(tree, ())]
    while pending:
        node, scope = pending.pop()
        yield node, scope
        inner = (*scope, node.name) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else scope
        pending.extend((child, inner) for child in ast.iter_child_nodes(node))


def _lr_stores(tree: ast.Module | None) -> set[str]:
    """Receivers of ``x.lr = ...`` / ``x.lr *= ...`` in the file."""
    if tree is None:
        return set()
    found = set()
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, (ast.AugAssign, ast.AnnAssign)) else []
        for target in targets:
            if isinstance(target, ast.Attribute) and target.attr == "lr":
                found.add(ast.unparse(target.value))
    return found


def _assigned_optimizers(tree: ast.Module | None) -> set[str]:
    """Names (or ``self.x``) assigned a Chainer optimizer directly, every time they are assigned."""
    if tree is None:
        return set()
    aliases = import_map(tree)
    verdict: dict[str, bool] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            direct = isinstance(node.value, ast.Call) and \
                (qualified_name(node.value.func, aliases) or "").startswith("chainer.optimizers.")
            for target in node.targets:
                if isinstance(target, (ast.Name, ast.Attribute)):
                    name = ast.unparse(target)
                    verdict[name] = verdict.get(name, True) and direct
    return {name for name, direct in verdict.items() if direct}


def _trainer_objects(tree: ast.Module | None) -> set[str]:
    """Names assigned a Trainer, an updater or an iterator anywhere in the file."""
    if tree is None:
        return set()
    aliases = import_map(tree)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            qualified = qualified_name(node.value.func, aliases) or ""
            if qualified.startswith(("chainer.training.", "chainer.iterators.")):
                found |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return found


def _called_modules(body: cst.BaseSuite, project, global_models=()) -> list[str]:
    """Objects called like models in ``body``: ``m(x)`` for an unknown name ``m`` and
    ``m.encode(x)`` for a method that took the train flag or that a model class of the program defines."""
    found: list[str] = []
    methods = set(project.flag_functions) | project.model_methods

    class Finder(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value in methods:
                found.append(code(func.value))
            elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and \
                    func.value.value in global_models:  # model.predictor(x): a part of the model
                found.append(func.value.value)
            elif isinstance(func, cst.Name) and func.value not in project.defined_functions and \
                    func.value not in project.classes and not hasattr(builtins, func.value):
                found.append(func.value)

    body.visit(Finder())
    return list(dict.fromkeys(found))


def _array_module_choice(statement) -> tuple[str, str, bool] | None:
    """(name, condition, numpy-when-true) for ``name = np if cond else cuda.cupy`` (either way round)."""
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 and
            isinstance(statement.body[0], cst.Assign) and len(statement.body[0].targets) == 1):
        return None
    assign = statement.body[0]
    value = assign.value
    if not (isinstance(value, cst.IfExp) and isinstance(assign.targets[0].target, cst.Name)):
        return None
    body, orelse = code(value.body), code(value.orelse)
    if body in ("np", "numpy") and orelse.endswith("cupy"):
        return assign.targets[0].target.value, code(value.test), True
    if orelse in ("np", "numpy") and body.endswith("cupy"):
        return assign.targets[0].target.value, code(value.test), False
    return None
