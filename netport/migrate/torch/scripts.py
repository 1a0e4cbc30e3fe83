"""PT020-PT026: the training-script side of the torch target.

Optimizers become ``torch.optim`` with Chainer's hyper-parameters spelled out, ``update`` becomes
``zero_grad``/``backward``/``step`` (gradients cleared before the forward pass), Variables become
tensors, ``cuda.to_cpu(v.data)`` becomes ``.detach().cpu().numpy()``, inference scopes become
``model.eval()`` + ``torch.no_grad()`` with ``model.train()`` after, and ``save_npz``/``load_npz``
become ``torch.save``/``load_state_dict``. PT065-PT069: the optimizers torch.optim lacks (written into the file),
``use_cleargrads``, ``save_hdf5``/``load_hdf5``, hooks held in a name, and the setup of an unconverted optimizer.
"""

from __future__ import annotations

import ast
import builtins
import re
import collections

import libcst as cst

from netport.migrate.passes import (ZERO_GRAD, RulePass, bind_arguments, code, defines_class, insert_definition,
                                    is_dotted, primary)
from netport.migrate.registry import rule_pass
from netport.migrate.imports import import_map, qualified_name
from netport.migrate.rules import Rule, register
from netport.migrate.torch.modes import TRAINING_MODE, enclosing_module_method, train_flag, training_mode_item

# Chainer's graph kept the arrays of a forward pass by reference: an optimizer step between two backward passes
# through one graph (a GAN's discriminator update, then its generator's on the same y_fake) changed the weights the
# second backward read. torch saves tensors with their versions and refuses; saved as `.data` (the same storage,
# a version counter of its own) they are read as Chainer read them.
GRAPH_BY_REFERENCE = '''def chainer_graph_by_reference(function):
    """Runs `function` with autograd saving tensors by reference, as Chainer's graph kept its arrays: a backward()
    after an optimizer step reads the weights the step changed in place, with the forward pass's activations
    (torch would refuse: it checks the versions of the tensors it saved)."""
    @functools.wraps(function)
    def run(*args, **kwargs):
        with torch.autograd.graph.saved_tensors_hooks(lambda tensor: tensor.data, lambda tensor: tensor):
            return function(*args, **kwargs)
    return run
'''


register(
    Rule("PT019", "an array written into a Variable's data (`p.data[...] = a`) goes through torch.as_tensor",
         before="import numpy as np\nimport chainer\nfor p in model.params():\n    p.data[...] = np.random.uniform(-0.1, 0.1, "
                "p.data.shape)\n",
         after="import numpy as np\nimport torch\n\nfor p in model.parameters():\n    p.data[...] = torch.as_tensor("
               "np.random.uniform(-0.1, 0.1, p.data.shape))\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\nfor p in model.parameters():\n    p.data[...] = 0\n",
               "# ported from chainer\nimport numpy as np\na = np.zeros(3)\na[...] = np.ones(3)\n")),
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
    Rule("PT136", "two update(lossfun, ...) calls of a function given the same variable (a GAN's y_fake): the first "
         "backward keeps the graph, and the function runs under chainer_graph_by_reference (written into the file), "
         "so the second backward reads the weights the first step changed in place, as Chainer's did (WARNING)",
         before="from chainer import optimizers\ng = optimizers.SGD()\ng.setup(G)\nd = optimizers.SGD()\nd.setup(D)\n\n\n"
                "def step(z, x):\n    y_fake = D(G(z))\n    d.update(loss_dis, y_fake, D(x))\n"
                "    g.update(loss_gen, y_fake)\n",
         after="import functools\nimport torch\n\n\n" + GRAPH_BY_REFERENCE + "\n\n"
               "g = torch.optim.SGD(G.parameters(), lr=0.01)\nd = torch.optim.SGD(D.parameters(), lr=0.01)\n\n\n"
               "@chainer_graph_by_reference\ndef step(z, x):\n    y_fake = D(G(z))\n"
               "    d.zero_grad(set_to_none=False)\n    loss_dis(y_fake, D(x)).backward(retain_graph=True)\n"
               "    d.step()\n    g.zero_grad(set_to_none=False)\n    loss_gen(y_fake).backward()\n    g.step()\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\n\n\ndef step(z):\n    y_fake = D(G(z))\n"
               "    loss_gen(y_fake).backward()\n",
               "# ported from chainer\ndef step(y):\n    d.update(loss_dis, y)\n    g.update(loss_gen, y)\n")),
    Rule("PT022", "chainer.Variable(a) becomes torch.as_tensor(a); cuda.to_cpu(v.data) and v.data.get() (CuPy's copy "
         "to the host) become v.detach().cpu().numpy()",
         before="import chainer\nfrom chainer import cuda\nv = chainer.Variable(a)\nn = cuda.to_cpu(v.data)\n"
                "m = v.data.get()\n",
         after='import torch\n\nv = torch.as_tensor(a)\nn = v.detach().cpu().numpy()\nm = v.detach().cpu().numpy()\n',
         target="torch",
         noop=("# ported from chainer\nimport torch\nv = torch.as_tensor(a)\nn = v.detach().cpu().numpy()\n",
               "# ported from chainer\nimport tkinter\nv = tkinter.Variable(value=1)\n")),
    Rule("PT121", "chainer.Variable(a, name=...) becomes torch.as_tensor(a): the name only labelled the Variable in "
         "repr()/str() and graph dumps",
         before="import chainer\nh = chainer.Variable(a, name='h_init')\n",
         after="import torch\n\nh = torch.as_tensor(a)\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\nh = torch.as_tensor(a)\n",
               "# ported from chainer\nimport tkinter\nv = tkinter.Variable(value=1, name='h')\n")),
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
         after="import numpy as np\nimport torch\n\nif gpu >= 0:\n    torch.cuda.set_device(gpu)\n    model = model.cuda()\n"
               "xp = np\ndevice = torch.device('cpu') if gpu < 0 else torch.device('cuda')\n"
               "x = torch.as_tensor(batch, device=device)\n",
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
    correction, torch after it, so torch's eps is eps / sqrt(1 - beta2 ** t) during step t. Between steps
    param_groups[0]['eps'] is Chainer's eps, which the program may set."""

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-08, **kwargs):
        super().__init__(params, lr=lr, betas=betas, eps=eps, **kwargs)
        self.chainer_t = 0

    def step(self, closure=None):
        self.chainer_t += 1
        chainer_eps = [group['eps'] for group in self.param_groups]
        for group in self.param_groups:
            group['eps'] = group['eps'] / math.sqrt(1 - group['betas'][1] ** self.chainer_t)
        try:
            return super().step(closure)
        finally:
            for group, eps in zip(self.param_groups, chainer_eps):
                group['eps'] = eps
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

# Chainer optimizers whose update no torch.optim class computes: written into the file as torch.optim.Optimizer
# subclasses doing Chainer 1.24's update_one_cpu, operation for operation, in float32 as Chainer did. Like
# torch's optimizers, they skip a parameter whose .grad is None (PT021 zeroes gradients instead of clearing them).
# RMSpropGraves: Chainer adds eps inside the square root (delta = momentum * delta - lr * g / sqrt(n - m**2 + eps)),
# torch.optim.RMSprop(centered=True, momentum=...) outside it, and applies lr to the whole momentum buffer.
CHAINER_RMSPROP_GRAVES = '''class ChainerRMSpropGraves(torch.optim.Optimizer):
    """Chainer's RMSpropGraves (Graves 2013): n and g are running averages of grad**2 and grad, and
    delta = momentum * delta - lr * grad / sqrt(n - g**2 + eps); param += delta. torch.optim.RMSprop(centered=True)
    adds eps outside the square root instead."""

    def __init__(self, params, lr=0.0001, alpha=0.95, momentum=0.9, eps=0.0001):
        super().__init__(params, dict(lr=lr, alpha=alpha, momentum=momentum, eps=eps))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, alpha, momentum, eps = group['lr'], group['alpha'], group['momentum'], group['eps']
            for p in group['params']:
                if p.grad is None:
                    continue
                grad, state = p.grad, self.state[p]
                if not state:
                    state['n'], state['g'], state['delta'] = (torch.zeros_like(p) for _ in range(3))
                n, g, delta = state['n'], state['g'], state['delta']
                n.mul_(alpha).add_((1 - alpha) * grad * grad)
                g.mul_(alpha).add_((1 - alpha) * grad)
                delta.mul_(momentum).sub_(lr * grad / torch.sqrt(n - g * g + eps))
                p.add_(delta)
        return loss
'''

# NesterovAG: Chainer steps by momentum**2 * v - (1 + momentum) * lr * grad with the *new* velocity
# v = momentum * v - lr * grad; torch.optim.SGD(nesterov=True) amounts to the same with the old velocity.
CHAINER_NESTEROV_AG = '''class ChainerNesterovAG(torch.optim.Optimizer):
    """Chainer's NesterovAG: v = momentum * v - lr * grad; param += momentum**2 * v - (1 + momentum) * lr * grad.
    torch.optim.SGD(nesterov=True) uses the velocity of the step before in place of v."""

    def __init__(self, params, lr=0.01, momentum=0.9):
        super().__init__(params, dict(lr=lr, momentum=momentum))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, momentum = group['lr'], group['momentum']
            for p in group['params']:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state['v'] = torch.zeros_like(p)
                v = state['v']
                v.mul_(momentum).sub_(lr * p.grad)
                p.add_(momentum * momentum * v).sub_((1 + momentum) * lr * p.grad)
        return loss
'''

# class name -> its definition, for the optimizers above (written once into a file that uses them)
CHAINER_OPTIMIZERS = {"ChainerRMSpropGraves": CHAINER_RMSPROP_GRAVES, "ChainerNesterovAG": CHAINER_NESTEROV_AG}

register(
    Rule("PT065", "RMSpropGraves and NesterovAG, whose updates no torch.optim class computes, become Chainer-exact "
         "torch.optim.Optimizer subclasses written into the file; isinstance(x, chainer.Optimizer) checks "
         "torch.optim.Optimizer; SMORMS3 and optimizer classes of the program's own are marked",
         before="from chainer import optimizers\nopt = optimizers.NesterovAG(lr=0.1)\nopt.setup(model)\n",
         after="import torch\n\n\n" + CHAINER_NESTEROV_AG +
               "\n\nopt = ChainerNesterovAG(model.parameters(), lr=0.1, momentum=0.9)\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\nopt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, "
               "nesterov=True)\n",
               "# ported from chainer\nclass Optimizer:\n    pass\n\n\nassert isinstance(opt, Optimizer)\n")),
    Rule("PT066", "optimizer.use_cleargrads() goes: it chose how Chainer's update() cleared the gradients, which "
         "zero_grad() does in torch",
         before="from chainer import optimizers\nopt = optimizers.SGD()\nopt.use_cleargrads()\nopt.setup(model)\n",
         after="import torch\n\nopt = torch.optim.SGD(model.parameters(), lr=0.01)\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\nopt = torch.optim.SGD(model.parameters(), lr=0.01)\n"
               "opt.zero_grad()\n",
               "# ported from chainer\nuse_cleargrads = True\nflags = [use_cleargrads]\n")),
    Rule("PT067", "serializers.save_hdf5/load_hdf5 become torch.save/load of the state_dict at the same path (the "
         "file is a torch file, no longer HDF5)",
         before="from chainer import serializers\nserializers.save_hdf5('m.h5', model)\n"
                "serializers.load_hdf5('m.h5', model)\n",
         after="import torch\n\ntorch.save(model.state_dict(), 'm.h5')\nmodel.load_state_dict(torch.load('m.h5'))\n",
         target="torch",
         noop=("# ported from chainer\nimport h5py\nwith h5py.File('m.h5', 'w') as f:\n    f['w'] = w\n",
               "# ported from chainer\nimport torch\nopt.load_state_dict(torch.load('opt.h5'))\n")),
    Rule("PT068", "an optimizer hook built into a name just before add_hook, or added under a name, becomes the "
         "same step pre-hook",
         before="import chainer\nfrom chainer import optimizers\nopt = optimizers.SGD()\nopt.setup(model)\n"
                "clip = chainer.optimizer.GradientClipping(5.0)\nopt.add_hook(clip, 'clip')\n",
         after="import torch\n\nopt = torch.optim.SGD(model.parameters(), lr=0.01)\n"
               "def clip_gradients(optimizer, args, kwargs, threshold=5.0):\n"
               "    \"\"\"Chainer's GradientClipping hook: scale the gradients to an L2 norm of at most "
               "threshold.\"\"\"\n"
               "    torch.nn.utils.clip_grad_norm_([p for group in optimizer.param_groups for p in group['params']], "
               "threshold)\nopt.register_step_pre_hook(clip_gradients)\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\nhandle = opt.register_step_pre_hook(clip_gradients)\n",
               "# ported from chainer\nclip = 5.0\nlimits = [clip]\n")),
    Rule("PT069", "optimizer.setup(model) of an optimizer netport did not build (a class of the program's own, an "
         "unconverted one) is marked: only a converted optimizer is bound to model.parameters()",
         before="import chainer\nimport rmsprop_async\nopt = rmsprop_async.RMSpropAsync(lr=7e-4)\nopt.setup(model)\n",
         after="import rmsprop_async\nopt = rmsprop_async.RMSpropAsync(lr=7e-4)\nopt.setup(model)  "
               "# netport: TODO(PT069): `opt.setup(model)`: `opt` is not an optimizer netport built (it comes from "
               "code it cannot follow): construct the torch.optim optimizer with `model.parameters()` in its place "
               "and delete this call\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\nopt = torch.optim.SGD(model.parameters(), lr=0.01)\n",
               "# ported from chainer\nimport configparser\nparser = configparser.ConfigParser()\n"
               "parser.read(path)\n")),
)

# Chainer optimizer hooks -> (their parameters, a name for the torch step pre-hook doing the same to the
# gradients before the update, its definition). The hook's arguments are bound as defaults, evaluated once where
# the hook is added, as Chainer's hook object kept them. (WeightDecay is folded into the optimizer's weight_decay=
# instead when its construction is in view.) Chainer 1.24 optimizer.py: WeightDecay g += rate * p, Lasso
# g += rate * sign(p), GradientClipping g *= threshold / norm when that is < 1 (clip_grad_norm_ divides by
# norm + 1e-6: 1e-6 / norm relative), GradientHardClipping clip(g, lower, upper).
HOOKS = {
    "chainer.optimizer_hooks.WeightDecay": (("rate",), "weight_decay", (
        "def {name}(optimizer, args, kwargs, rate={rate}):\n"
        "    \"\"\"Chainer's WeightDecay hook: grad += rate * param before each step.\"\"\"\n"
        "    for group in optimizer.param_groups:\n"
        "        for p in group['params']:\n"
        "            if p.grad is None:  # Chainer decayed a parameter the loss did not reach as well\n"
        "                p.grad = torch.zeros_like(p)\n"
        "            p.grad.add_(p.detach(), alpha=rate)\n"
        "{opt}.register_step_pre_hook({name})\n")),
    "chainer.optimizer_hooks.Lasso": (("rate",), "lasso", (
        "def {name}(optimizer, args, kwargs, rate={rate}):\n"
        "    \"\"\"Chainer's Lasso hook: grad += rate * sign(param) before each step.\"\"\"\n"
        "    for group in optimizer.param_groups:\n"
        "        for p in group['params']:\n"
        "            if p.grad is None:  # Chainer regularized a parameter the loss did not reach as well\n"
        "                p.grad = torch.zeros_like(p)\n"
        "            p.grad.add_(torch.sign(p.detach()), alpha=rate)\n"
        "{opt}.register_step_pre_hook({name})\n")),
    "chainer.optimizer_hooks.GradientClipping": (("threshold",), "clip_gradients", (
        "def {name}(optimizer, args, kwargs, threshold={threshold}):\n"
        "    \"\"\"Chainer's GradientClipping hook: scale the gradients to an L2 norm of at most threshold.\"\"\"\n"
        "    torch.nn.utils.clip_grad_norm_([p for group in optimizer.param_groups for p in group['params']], "
        "threshold)\n"
        "{opt}.register_step_pre_hook({name})\n")),
    "chainer.optimizer_hooks.GradientHardClipping": (("lower_bound", "upper_bound"), "clip_gradient_values", (
        "def {name}(optimizer, args, kwargs, lower_bound={lower_bound}, upper_bound={upper_bound}):\n"
        "    \"\"\"Chainer's GradientHardClipping hook: each gradient element clipped to [lower_bound, "
        "upper_bound].\"\"\"\n"
        "    for group in optimizer.param_groups:\n"
        "        for p in group['params']:\n"
        "            if p.grad is not None:\n"
        "                p.grad.clamp_(lower_bound, upper_bound)\n"
        "{opt}.register_step_pre_hook({name})\n")),
}


# Chainer optimizer -> (torch optimizer, [(chainer hyper-parameter, default, torch keyword)])
OPTIMIZERS = {
    "chainer.optimizers.Adam": ("Adam", [("alpha", "0.001", "lr"), ("beta1", "0.9", None), ("beta2", "0.999", None),
                                         ("eps", "1e-08", "eps")]),
    "chainer.optimizers.MomentumSGD": ("SGD", [("lr", "0.01", "lr"), ("momentum", "0.9", "momentum")]),
    "chainer.optimizers.SGD": ("SGD", [("lr", "0.01", "lr")]),
    # h += grad**2 from 0; param -= lr * grad / (sqrt(h) + eps), in both (torch: lr_decay=0,
    # initial_accumulator_value=0)
    "chainer.optimizers.AdaGrad": ("Adagrad", [("lr", "0.001", "lr"), ("eps", "1e-08", "eps")]),
    # Chainer has no learning rate: dx = sqrt((msdx + eps) / (msg + eps)) * grad is torch's delta at lr=1.0
    # (a None Chainer name: a torch keyword Chainer has no parameter for)
    "chainer.optimizers.AdaDelta": ("Adadelta", [(None, "1.0", "lr"), ("rho", "0.95", "rho"),
                                                 ("eps", "1e-06", "eps")]),
    # ms = alpha * ms + (1 - alpha) * grad**2; param -= lr * grad / (sqrt(ms) + eps): torch's, not centered,
    # without momentum
    "chainer.optimizers.RMSprop": ("RMSprop", [("lr", "0.01", "lr"), ("alpha", "0.99", "alpha"),
                                               ("eps", "1e-08", "eps")]),
    "chainer.optimizers.RMSpropGraves": ("ChainerRMSpropGraves", [("lr", "0.0001", "lr"), ("alpha", "0.95", "alpha"),
                                                                  ("momentum", "0.9", "momentum"),
                                                                  ("eps", "0.0001", "eps")]),
    "chainer.optimizers.NesterovAG": ("ChainerNesterovAG", [("lr", "0.01", "lr"), ("momentum", "0.9", "momentum")]),
}
# Chainer's optimizer base classes: torch.optim.Optimizer in isinstance()/issubclass(); a class deriving from one
# is marked (PT065)
OPTIMIZER_BASES = ("chainer.Optimizer", "chainer.GradientMethod", "chainer.optimizer.Optimizer",
                   "chainer.optimizer.GradientMethod")
# Chainer optimizers that are marked, with what to do
UNMAPPED_OPTIMIZERS = {
    "chainer.optimizers.SMORMS3": "SMORMS3 has no torch.optim counterpart: write its update (Chainer's "
                                  "optimizers/smorms3.py) as a torch.optim.Optimizer subclass, or choose another "
                                  "optimizer",
}


# Chainer optimizer attribute -> where torch keeps it: (param_groups key, index in it or None), per optimizer
HYPERPARAMETERS = {
    "chainer.optimizers.SGD": {"lr": ("lr", None)},
    "chainer.optimizers.MomentumSGD": {"lr": ("lr", None), "momentum": ("momentum", None)},
    "chainer.optimizers.Adam": {"alpha": ("lr", None), "eps": ("eps", None), "beta1": ("betas", 0),
                                "beta2": ("betas", 1)},
    "chainer.optimizers.AdaGrad": {"lr": ("lr", None), "eps": ("eps", None)},
    "chainer.optimizers.AdaDelta": {"rho": ("rho", None), "eps": ("eps", None)},
    "chainer.optimizers.RMSprop": {"lr": ("lr", None), "alpha": ("alpha", None), "eps": ("eps", None)},
    "chainer.optimizers.RMSpropGraves": {"lr": ("lr", None), "alpha": ("alpha", None),
                                         "momentum": ("momentum", None), "eps": ("eps", None)},
    "chainer.optimizers.NesterovAG": {"lr": ("lr", None), "momentum": ("momentum", None)},
}
# attributes of Chainer optimizers that torch's do not have, and what to do instead
OPTIMIZER_ONLY = {
    "lr": "the learning rate is optimizer.param_groups[0]['lr'] (Chainer's Adam.lr is its bias-corrected step size "
          "alpha * sqrt(1 - beta2**t) / (1 - beta1**t), read-only)",
    "alpha": "Adam's alpha is optimizer.param_groups[0]['lr'], RMSprop's param_groups[0]['alpha']",
    "beta1": "betas are param_groups[0]['betas']", "rho": "rho is param_groups[0]['rho']",
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
# Chainer serializer -> (torch.save or torch.load of the object's state_dict, its Chainer 1.24 parameters, rule):
# the same path, a torch file in place of an .npz or HDF5 one
SERIALIZERS = {
    "chainer.serializers.save_npz": ("save", ["filename", "obj", "compression"], "PT024"),
    "chainer.serializers.load_npz": ("load", ["filename", "obj"], "PT024"),
    "chainer.serializers.save_hdf5": ("save", ["filename", "obj", "compression"], "PT067"),
    "chainer.serializers.load_hdf5": ("load", ["filename", "obj"], "PT067"),
}
# names of Chainer's Link/Variable API that torch spells differently, matched by name (as PT099 matches
# methods): attribute -> torch attribute
VARIABLE_ATTRIBUTES = {"creator": "grad_fn", "grad_var": "grad"}
LINK_METHODS = {"params": "parameters", "links": "modules"}


def _assigned_names(statement: cst.CSTNode) -> set[str]:
    """The plain names a statement binds (=, +=, a for loop's target, `as`): after it, such a name holds another
    value."""
    names: set[str] = set()

    class Targets(cst.CSTVisitor):
        def visit_AssignTarget(self, node):
            names.update(n.value for n in _target_names(node.target))

        def visit_AugAssign(self, node):
            names.update(n.value for n in _target_names(node.target))

        def visit_AnnAssign(self, node):
            names.update(n.value for n in _target_names(node.target))

        def visit_For(self, node):
            names.update(n.value for n in _target_names(node.target))

        def visit_AsName(self, node):
            names.update(n.value for n in _target_names(node.name))

    statement.visit(Targets())
    return names


def _target_names(target: cst.CSTNode) -> list[cst.Name]:
    if isinstance(target, cst.Name):
        return [target]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for element in target.elements for n in _target_names(element.value)]
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    return []


def _yields(function: cst.FunctionDef) -> bool:
    """Whether the function's own body yields (not a nested function's or lambda's)."""
    found = []

    class Visitor(cst.CSTVisitor):
        def visit_FunctionDef(self, node):
            return node is function

        def visit_Lambda(self, node):
            return False

        def visit_Yield(self, node):
            found.append(node)
    function.visit(Visitor())
    return bool(found)


@rule_pass("torch.scripts", 10)
class ScriptRules(RulePass):
    def visit_Module(self, node: cst.Module) -> None:
        super().visit_Module(node)
        self._needs_chainer_adam = False
        self._needs_chainer_momentum = False
        self._needs_training_mode = False
        self._by_reference: set[int] = set()  # id(function) that runs under chainer_graph_by_reference (PT021)
        self._variables = _variable_names(self.ctx.syntax_tree())
        self._fetched_optimizers = _fetched_optimizers(self.ctx.syntax_tree())
        # module-level objects the program's models are: the modules phase's, and `model = Net(...)` of a class
        # of the program that derives from a Chainer link
        self._models = list(dict.fromkeys([*self.ctx.global_models,
                                           *_program_models(self.ctx.syntax_tree(), self.project)]))
        self._trainer_objects = _trainer_objects(self.ctx.syntax_tree())
        self._optimizer_kinds, self._optimizer_targets = _optimizers(self.ctx.syntax_tree())
        # MomentumSGDs assigned to a name whose lr the program sets: ChainerMomentumSGD keeps Chainer's update
        self._exact_momentum = {name for name in _lr_stores(self.ctx.syntax_tree())
                                if self._optimizer_kinds.get(name) == {"chainer.optimizers.MomentumSGD"} and
                                name in _assigned_optimizers(self.ctx.syntax_tree())}
        self._folded: set[int] = set()  # id of setup statements folded into a constructor
        self._chainer_optimizers: set[str] = set()  # CHAINER_OPTIMIZERS classes the file needs (PT065)
        self._tuple_stores: dict[int, tuple] = {}  # statements `opt.beta1 = b`: (receiver, name, key, index)
        self._unconverted: set[str | None] = set()  # names assigned a Chainer optimizer left as it was
        self._file_names = _all_names(self.ctx.syntax_tree())  # for the names of generated hook functions
        self._array_modules: dict[str, str] = {}  # `xp` -> the device variable that replaced it
        for statement in node.body:  # xp = np if args.gpu < 0 else cuda.cupy
            choice = _array_module_choice(statement)
            if choice is not None and "device" not in self.aliases.values() and not self._file_names["device"]:
                self._array_modules[choice[0]] = "device"  # (a program's own `device` is left alone)
        # `xp = np` then `if gpu: ...; xp = cuda.cupy` (or an if/else of the two): the same choice, in statements
        self._array_module_statements: dict[int, str] = {}  # id(statement) -> the device it chose
        if "device" not in self.aliases.values() and not self._file_names["device"]:
            for name, statements in _array_module_branches(node.body).items():
                if name not in self._array_modules:
                    self._array_modules[name] = "device"
                    self._array_module_statements.update(statements)

    def finish_module(self, module: cst.Module) -> cst.Module:
        if self._by_reference:
            module = insert_definition(module, GRAPH_BY_REFERENCE)
        if self._needs_training_mode:
            module = insert_definition(module, TRAINING_MODE)
        if self._needs_chainer_momentum:
            module = insert_definition(module, CHAINER_MOMENTUM_SGD)
        for name in sorted(self._chainer_optimizers, reverse=True):
            if not defines_class(module, name):
                module = insert_definition(module, CHAINER_OPTIMIZERS[name])
        return insert_definition(module, CHAINER_ADAM) if self._needs_chainer_adam else module

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign):
        if all(_is_tensor_item(t.target) for t in updated.targets) and not _is_tensor_value(updated.value):
            # torch refuses an ndarray on the right (TypeError); NumPy cast it into the array's dtype, as this does
            self.need_import("torch")
            self.info(original, "PT019", f"`{code(updated.targets[0].target)} = ...` writes into a tensor: the value "
                      "goes through torch.as_tensor (a NumPy array cannot be assigned to a tensor)")
            return updated.with_changes(value=cst.parse_expression(f"torch.as_tensor({code(updated.value)})"))
        statement = self.statement
        if statement is not None and id(statement) in self._array_module_statements:
            where = self._array_module_statements[id(statement)]
            self.need_import("torch")
            self.insert_after(statement, [cst.parse_statement(f"device = torch.device('{where}')\n")])
            self.info(original, "PT025", f"`{code(updated.targets[0].target)}` chose NumPy or CuPy; tensors are "
                      f"created on `device` instead (here the {where.upper()})")
            return updated.with_changes(value=cst.Name("np"))
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
        bound = bind_arguments(call, [chainer_name for chainer_name, _, _ in spec if chainer_name is not None])
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
        if name in CHAINER_OPTIMIZERS:  # PT065: a class written into the file
            self._chainer_optimizers.add(name)
            head = f"{name}("
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
        if isinstance(original.func, cst.Name) and original.func.value in ("isinstance", "issubclass") and \
                len(original.args) == 2 and self.qualified(original.args[1].value) in OPTIMIZER_BASES and \
                not self._scopes.binds_locally(original.func.value):
            self.need_import("torch")
            self.info(original, "PT065", f"{code(original.args[1].value)} is torch.optim.Optimizer, the base of "
                      "every torch optimizer")
            return updated.with_changes(args=[updated.args[0], updated.args[1].with_changes(
                value=cst.parse_expression("torch.optim.Optimizer"))])
        if qualified in UNMAPPED_OPTIMIZERS:
            self._unconverted.add(self._assigned_to(original))
            self.todo(original, "PT065", UNMAPPED_OPTIMIZERS[qualified])
            return updated
        if qualified in OPTIMIZERS:
            self._decay = None
            # torch.optim's weight_decay= is the WeightDecay hook; the classes written into the file have none
            setup = self._following_setup(original, fold_decay=OPTIMIZERS[qualified][0] not in CHAINER_OPTIMIZERS)
            target = self._assigned_to(original)
            text = self._optimizer(updated, f"{setup[1]}.parameters()" if setup else None, target)
            if text is not None and self._decay is not None:
                text = text[:-1] + f", weight_decay={self._decay})"
                self.info(original, "PT021", f"the WeightDecay({self._decay}) hook is the optimizer's "
                          "weight_decay= (both add rate * param to the gradient before the update)")
            if text is None:
                self._unconverted.add(target)
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
            if OPTIMIZERS[qualified][0] in CHAINER_OPTIMIZERS:
                self.info(original, "PT065", f"{qualified.split('.')[-1]} is `{OPTIMIZERS[qualified][0]}` (written "
                          "into this file): torch.optim has no optimizer with Chainer's update for it, which this "
                          "class computes as Chainer 1.24 did")
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
                      "the host: chainer.Variable of it in this file is a tensor on `device`; elsewhere, on a GPU, "
                      "create the tensor made from it with `device=device`")
        if qualified == "chainer.Variable" and updated.args and updated.args[0].keyword is None and \
                all(a.keyword is not None and a.keyword.value == "name" and not a.star for a in updated.args[1:]):
            if len(updated.args) > 1:
                if self._name_read(original):
                    self.todo(original, "PT121", "`chainer.Variable(..., name=...)`: the program reads the Variable's "
                              "`.name`, which a tensor does not have: keep the name beside the tensor (a dict or a "
                              "variable of its own), then make the Variable `torch.as_tensor(a)`")
                    return updated
                # Chainer 1.24 kept `name` only for repr()/str() and graph dumps: a tensor has no name
                self.info(original, "PT121", f"`name={code(updated.args[1].value)}` of a Variable only labelled it "
                          "in repr()/str() and graph dumps (the program reads no `.name` of it); a tensor has none, "
                          "so it goes")
                updated = updated.with_changes(args=[updated.args[0].with_changes(comma=cst.MaybeSentinel.DEFAULT)])
            self.info(original, "PT022", "chainer.Variable is a tensor: torch.as_tensor")
            self.need_import("torch")
            value = updated.args[0].value
            if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and \
                    value.func.attr.value == "asarray" and code(value.func.value) in self._array_modules and \
                    len(value.args) == 1:
                # xp.asarray(a) chose the device in Chainer; the tensor is created there instead
                return cst.parse_expression(f"torch.as_tensor({code(value.args[0].value)}, "
                                            f"device={self._array_modules[code(value.func.value)]})")
            if self._array_modules:
                # With `xp` chosen, the Variables of a program that ran on the GPU held CuPy arrays (a model on
                # the GPU takes no other); on the CPU `device` is the CPU, where torch.as_tensor(a) is anyway.
                return cst.parse_expression(f"torch.as_tensor({code(value)}, device=device)")
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
        if isinstance(original.func, cst.Attribute) and original.func.attr.value == "get" and not original.args and \
                isinstance(original.func.value, cst.Attribute) and original.func.value.attr.value in ("data", "array") \
                and self.qualified(original.func) is None and isinstance(updated.func, cst.Attribute):
            receiver = updated.func.value  # `v.data` (`v.array`: maybe `v.detach()` by now)
            base = receiver.value if isinstance(receiver, cst.Attribute) and \
                receiver.attr.value in ("data", "array") else receiver.func.value if \
                isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Attribute) and \
                receiver.func.attr.value == "detach" and not receiver.args else None
            if base is not None:
                self.info(original, "PT022", "`v.data.get()` (CuPy's copy of the array to the host) is "
                          "v.detach().cpu().numpy()")
                return cst.parse_expression(f"{code(base)}.detach().cpu().numpy()")
        if qualified in SERIALIZERS:
            return self._serializer(original, updated, qualified)
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
            inner = updated.args[0].value  # `len(v.data)` of a Variable is `len(v)`; `len(self.data)` of a dataset stays
            if isinstance(inner, cst.Attribute) and inner.attr.value == "data" and isinstance(inner.value, cst.Name) \
                    and inner.value.value in self._variables and not self._is_parameter(original, inner.value.value):
                return updated.with_changes(args=[updated.args[0].with_changes(value=inner.value)])
        return updated

    def _serializer(self, original: cst.Call, updated: cst.Call, qualified: str) -> cst.BaseExpression:
        """save_npz/save_hdf5(path, obj) -> torch.save(obj.state_dict(), path), load_* -> obj.load_state_dict(...)."""
        action, parameters, rule = SERIALIZERS[qualified]
        bound = bind_arguments(updated, parameters)
        if bound is None or not {"filename", "obj"} <= set(bound):
            return updated
        path, model = code(bound["filename"]), code(bound["obj"])
        if model in self._trainer_objects:
            self.todo(original, rule, f"{code(original.func)} of `{model}`, a Trainer-era object (a Trainer "
                      "snapshot holds the model, the optimizer, the iterators and the extensions): save or load "
                      "the torch state_dicts of what the loop uses by hand")
            return updated
        self.need_import("torch")
        dropped = " (torch.save does not compress: compression= goes)" if "compression" in bound else ""
        if rule == "PT024":
            self.info(original, rule, f"{code(original.func)} saves/loads the torch state_dict{dropped}")
        elif action == "save":
            self.info(original, rule, f"{code(original.func)} is torch.save of the state_dict, to the same path: the "
                      f"file is a torch file now, not HDF5 (h5py and Chainer cannot read it){dropped}")
        else:
            self.warn(original, rule, f"{code(original.func)} is load_state_dict of what torch.load reads from the "
                      "same path: a file torch.save wrote (save_hdf5 migrated); an HDF5 file Chainer wrote cannot be "
                      "read" + (": Chainer's optimizer state cannot be carried over, start it afresh"
                                if model in self._optimizer_kinds else
                                ": load it once in Chainer, write it with save_npz and convert it with "
                                "`netport convert-weights`"))
        if action == "save":
            return cst.parse_expression(f"torch.save({primary(bound['obj'])}.state_dict(), {path})")
        return cst.parse_expression(f"{primary(bound['obj'])}.load_state_dict(torch.load({path}))")

    # attributes of optimizers and of links/variables ---------------------------------------------

    def leave_Attribute(self, original: cst.Attribute, updated: cst.BaseExpression) -> cst.BaseExpression:
        parent = self.parent(original)
        called = isinstance(parent, cst.Call) and parent.func is original
        name = original.attr.value
        receiver = code(original.value)
        if (not called or name == "target") and receiver in self._optimizer_kinds and name in OPTIMIZER_ONLY:
            return self._optimizer_attribute(original, updated, receiver, name)
        if name == "target" and not called and receiver not in self._optimizer_kinds and \
                _OPTIMIZER_NAME.search(receiver.rsplit(".", 1)[-1]) and self.qualified(original) is None:
            # an optimizer the file neither makes nor sets up (a parameter, an attribute): a torch optimizer has
            # no target, and nothing here says which model it was set up with
            self.todo(original, "PT027", f"`{receiver}.target`: if `{receiver}` is a Chainer optimizer (netport "
                      "cannot tell here), this is the model it was set up with: a torch optimizer has none, so use "
                      "that model")
            return updated
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
        if not called and name == "xp" and self.qualified(original) is None and receiver not in ("np", "numpy") and \
                id(original) not in getattr(self, "_xp_receivers", ()):  # (devices.py converts those uses)
            message = f"`{receiver}.xp` chose NumPy or CuPy by the device of the link: keep arrays that stay on the " \
                      "host NumPy, and create the tensors that reach the module on its device (e.g. `torch.ones(" \
                      f"shape, dtype=torch.float32, device=next({receiver}.parameters()).device)`)"
            if not any(message in todo for todo in self.edits().todos):  # `self.xp.ones(.., self.xp.float32)`: once
                self.todo(original, "PT025", message)
        return updated

    def _scope_path(self, node: cst.CSTNode) -> tuple[str, ...]:
        return tuple(reversed([a.name.value for a in self.ancestors(node) if isinstance(a, (cst.FunctionDef,
                                                                                            cst.ClassDef))]))

    def _optimizer_attribute(self, original, updated, receiver: str, name: str) -> cst.BaseExpression:
        kinds = self._optimizer_kinds[receiver]
        places = {HYPERPARAMETERS.get(kind, {}).get(name) for kind in kinds}
        parent = self.parent(original)
        store = isinstance(parent, (cst.AssignTarget, cst.AugAssign)) and parent.target is original
        call = self.parent(parent) if isinstance(parent, cst.Attribute) else None
        if name == "target" and isinstance(call, cst.Call) and call.func is parent and not call.args and \
                parent.attr.value == "cleargrads" and self._optimizer_target(original):
            return updated  # `opt.target.cleargrads()` is opt.zero_grad(): leave_SimpleStatementLine
        if name == "target" and not store and len(self._optimizer_targets.get(receiver, ())) == 1:
            ((scope, model),) = self._optimizer_targets[receiver]
            # elsewhere `model` may name nothing (an updater's method): the same function, or module names
            # that no function around this use rebinds
            roots = {receiver.split(".")[0].split("[")[0], model.split(".")[0].split("(")[0]}
            if scope == self._scope_path(original) or scope == () and not any(
                    self._scopes.binds_locally(root) for root in roots):
                self.info(original, "PT027", f"`{receiver}.target` is `{model}`, the model it was set up with")
                return cst.parse_expression(model)
        statement = self.statement
        if store and isinstance(parent, cst.AssignTarget) and len(places) == 1 and None not in places and \
                next(iter(places))[1] is not None and isinstance(statement, cst.SimpleStatementLine) and \
                len(statement.body) == 1 and len(getattr(statement.body[0], "targets", ())) == 1:
            self._tuple_stores[id(statement)] = (receiver, name, *next(iter(places)))  # `opt.beta1 = b`: below
            return updated
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

    def _optimizer_target(self, node: cst.BaseExpression) -> str | None:
        """``opt`` for ``opt.target``, the link set up in a converted optimizer ``opt``."""
        if isinstance(node, cst.Attribute) and node.attr.value == "target" and \
                code(node.value) in self._optimizer_kinds and \
                all(kind in OPTIMIZERS for kind in self._optimizer_kinds[code(node.value)]):
            return code(node.value)
        return None

    def _assigned_to(self, call: cst.Call) -> str | None:
        """``x`` for the statement ``x = <call>``."""
        statement = self.statement
        if isinstance(statement, cst.SimpleStatementLine) and isinstance(statement.body[0], cst.Assign) and \
                statement.body[0].value is call:
            return code(statement.body[0].targets[0].target)
        return None

    def _inside_variable(self, node: cst.CSTNode) -> bool:
        ancestors = list(self.ancestors(node))[:2]  # Arg, then the call that takes it
        return len(ancestors) == 2 and isinstance(ancestors[1], cst.Call) and \
            self.callee(ancestors[1]) == "chainer.Variable"

    def _following_setup(self, call: cst.Call, fold_decay: bool = True):
        """(statement, target) of `opt.setup(target)` after `opt = <call>` in the same block: the next statement
        that names `opt`, after simple statements that name neither `opt` (but for `opt.use_cleargrads()`, which
        goes) nor the target, so that taking the target's parameters where `opt` is built changes nothing."""
        statement = self.statement
        if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 and
                isinstance(statement.body[0], cst.Assign) and statement.body[0].value is call):
            return None
        name = code(statement.body[0].targets[0].target)
        block = self.parent(statement)
        body = list(getattr(block, "body", ()))
        index = next((i for i, s in enumerate(body) if s is statement), None)
        if index is None:
            return None
        between = []
        for position in range(index + 1, len(body)):
            following = body[position]
            if not isinstance(following, cst.SimpleStatementLine):
                return None
            if _clears_gradients_switch(following) == name:
                continue
            if name not in _dotted_names(following):
                between.append(following)
                continue
            if len(following.body) == 1 and isinstance(following.body[0], cst.Expr) and \
                    isinstance(following.body[0].value, cst.Call):
                setup = following.body[0].value
                if isinstance(setup.func, cst.Attribute) and setup.func.attr.value == "setup" and \
                        code(setup.func.value) == name and len(setup.args) == 1 and not setup.args[0].keyword:
                    target = setup.args[0].value
                    root = _root_name(target)
                    if root is None or any(root in _dotted_names(s) for s in between):
                        return None
                    self._decay = self._weight_decay_after(body[position + 1:position + 2], name,
                                                           body[position + 2:]) if fold_decay else None
                    return following, code(target)
            return None
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
            hook = self._added_hook(statement, name)
            rate = bind_arguments(hook, ["rate"]) if hook is not None and \
                self.callee(hook) == "chainer.optimizer_hooks.WeightDecay" else None
            if rate:
                self._folded.add(id(statement))
                self.remove(statement)
                return code(rate["rate"])
        return None

    def _adds_hook(self, statement, name: str, hook: str) -> bool:
        added = self._added_hook(statement, name)
        return added is not None and self.callee(added) == hook

    def _added_hook(self, statement, name: str) -> cst.Call | None:
        """The hook call ``Hook(...)`` of a statement ``name.add_hook(Hook(...)[, hook_name])``."""
        if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 and
                isinstance(statement.body[0], cst.Expr) and isinstance(statement.body[0].value, cst.Call)):
            return None
        call = statement.body[0].value
        bound = bind_arguments(call, ["hook", "name"]) or {}
        if isinstance(call.func, cst.Attribute) and call.func.attr.value == "add_hook" and \
                code(call.func.value) == name and isinstance(bound.get("hook"), cst.Call):
            return bound["hook"]
        return None

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
        if id(original) in self._tuple_stores:
            receiver, name, key, index = self._tuple_stores[id(original)]
            entry = f"{receiver}.param_groups[0]['{key}']"
            items = [f"{entry}[{i}]" for i in range(2)]  # betas: (beta1, beta2)
            items[index] = code(updated.body[0].value)
            self.info(original, "PT027", f"`{receiver}.{name} = ...` sets {entry}[{index}]: the tuple is replaced")
            return updated.with_changes(body=[cst.parse_statement(f"{entry} = ({', '.join(items)})\n").body[0]])
        if id(original) in self._folded or len(updated.body) != 1 or not isinstance(updated.body[0], cst.Expr):
            return updated
        call = updated.body[0].value
        if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)):
            return updated
        method, receiver = call.func.attr.value, code(call.func.value)
        if method == "setup" and len(call.args) == 1 and not call.args[0].keyword and is_dotted(call.func.value):
            return self._setup(original, updated, receiver, code(call.args[0].value))
        if _clears_gradients_switch(original) is not None:
            self.info(original, "PT066", f"`{receiver}.use_cleargrads()` chose how Chainer's update() cleared the "
                      "gradients (cleargrads or zerograds: the update saw zeros either way); torch's are cleared by "
                      "zero_grad() before each step (PT021), so the call goes")
            block = self.parent(original)
            if len(getattr(block, "body", ())) == 1:  # the block's only statement: `pass` keeps it a block
                return cst.SimpleStatementLine([cst.Pass()], leading_lines=updated.leading_lines)
            self.remove(original)
            return updated
        if method == "update" and call.args and not any(a.keyword or a.star for a in call.args) and \
                self._may_be_optimizer(original, receiver, call):
            lossfun, rest = call.args[0].value, ", ".join(code(a.value) for a in call.args[1:])
            if isinstance(lossfun, cst.Lambda) and not rest and not _has_parameters(lossfun):
                loss = primary(lossfun.body)  # update(lambda: model(x, t)): the body is the loss
            else:  # a lambda or any other expression is called in parentheses
                loss = f"{primary(lossfun)}({rest})"
            earlier, later = self._shared_update_arguments(original)
            # Chainer kept the graph after backward(); torch frees it unless asked to keep it
            backward = "retain_graph=True" if later else ""
            self.insert_after(original, [cst.parse_statement(f"{loss}.backward({backward})\n"),
                                         cst.parse_statement(f"{receiver}.step()\n")])
            self.info(original, "PT021", f"`{receiver}.update(lossfun, ...)` is {ZERO_GRAD}, lossfun(...).backward(), "
                      "step(): gradients are cleared before the forward pass, to zeros as Chainer's were (torch's "
                      "step() skips a parameter whose .grad is None; Chainer updated it with a zero gradient)")
            if later:
                self.info(original, "PT021", f"the backward() keeps the graph (retain_graph=True): a later update "
                          f"here is given {', '.join(f'`{n}`' for n in later)} too, whose graph Chainer kept and "
                          "torch frees at the first backward()")
            if earlier:
                shared = ", ".join(f"`{n}`" for n in earlier)
                function, why = self._graph_function(original, earlier)
                if function is not None:
                    self._by_reference.add(id(function))
                    self.need_import("functools")
                    self.need_import("torch")
                    self.warn(original, "PT136", f"{shared} reached an earlier update here too, whose step() "
                              "changed in place weights that its graph saved: Chainer's graph kept its arrays by "
                              "reference, so this backward() read the updated weights with the forward pass's "
                              f"activations; `{function.name.value}` runs under chainer_graph_by_reference (written "
                              "into the file), which saves the graph's tensors so too, where torch would refuse to "
                              "backpropagate (the usual torch GAN step computes the shared part again instead, "
                              "which gives other numbers)")
                else:
                    self.todo(original, "PT021", f"{shared} reached an earlier update here too, whose step() changed "
                              "in place weights that its graph saved: torch refuses to backpropagate through them "
                              f"(Chainer went on with the updated arrays), and {why}; where this update's parameters "
                              "are not behind that step's, pass backward(inputs=[p for g in "
                              f"{primary(call.func.value)}.param_groups for p in g['params']]), otherwise compute the "
                              "shared part again for this loss (the usual torch GAN step)")
            return cst.parse_statement(f"{receiver}.{ZERO_GRAD}\n").with_changes(leading_lines=updated.leading_lines)
        if method == "cleargrads" and not call.args and self._optimizer_target(call.func.value):
            optimizer = self._optimizer_target(call.func.value)  # the optimizer holds the target's parameters
            self.info(original, "PT021", f"`{receiver}.cleargrads()` clears the parameters {optimizer} updates: "
                      f"`{optimizer}.{ZERO_GRAD}` (to zeros, as Chainer's update() saw them)")
            return updated.with_changes(body=[updated.body[0].with_changes(
                value=cst.parse_expression(f"{optimizer}.{ZERO_GRAD}"))])
        if method == "cleargrads" and not call.args:
            self.info(original, "PT021", f"`{receiver}.cleargrads()` is `{receiver}.{ZERO_GRAD}`: Chainer's "
                      "update() gave a parameter without a gradient a zero one and updated it (momentum, Adam's "
                      "moments, weight decay); torch's step() skips a parameter whose .grad is None")
            return updated.with_changes(body=[updated.body[0].with_changes(
                value=cst.parse_expression(f"{primary(call.func.value)}.{ZERO_GRAD}"))])
        if method == "add_hook" and "hook" in (bind_arguments(call, ["hook", "name"]) or {}):
            return self._add_hook(original, updated, receiver)
        if method == "update" and not call.args and self._may_be_optimizer(original, receiver, call):
            return updated.with_changes(body=[updated.body[0].with_changes(
                value=call.with_changes(func=call.func.with_changes(attr=cst.Name("step"))))])
        return updated

    def _graph_function(self, original: cst.SimpleStatementLine, names: list[str]):
        """The function (and None) whose run builds the graph of ``names`` and runs both updates, to run under
        chainer_graph_by_reference; else (None, why not)."""
        function = next((a for a in self.ancestors(original) if isinstance(a, (cst.FunctionDef, cst.Lambda))), None)
        if not isinstance(function, cst.FunctionDef):
            return None, "the updates are not in a function (whose run could keep the graph as Chainer did)"
        if function.asynchronous is not None or _yields(function):
            return None, f"`{function.name.value}` is a generator or a coroutine"
        given = [n for n in names if self._is_parameter(original, n)]
        if given:
            return None, f"{', '.join(f'`{n}`' for n in given)} comes from the caller, which built its graph"
        return function, None

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        if id(original) not in self._by_reference:
            return updated
        return updated.with_changes(decorators=[*updated.decorators,
                                                cst.Decorator(cst.Name("chainer_graph_by_reference"))])

    def _shared_update_arguments(self, original: cst.SimpleStatementLine) -> tuple[list[str], list[str]]:
        """The names that ``original`` (an ``R.update(lossfun, *args)`` statement) passes which an earlier, and a
        later, such statement of its block passes too, with no assignment of the name between them: the same
        value, whose graph both backward passes go through (a GAN's `y_fake`)."""
        block = self.parent(original)
        body = list(getattr(block, "body", ()))
        if not any(statement is original for statement in body):
            return [], []
        index = next(i for i, statement in enumerate(body) if statement is original)

        def passed(statement) -> set[str]:
            call = statement.body[0].value if isinstance(statement, cst.SimpleStatementLine) and \
                len(statement.body) == 1 and isinstance(statement.body[0], cst.Expr) else None
            if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and \
                    call.func.attr.value == "update" and len(call.args) > 1 and \
                    not any(a.keyword or a.star for a in call.args):
                return {a.value.value for a in call.args[1:] if isinstance(a.value, cst.Name)}
            return set()

        def shared(others) -> list[str]:
            names, found = passed(original), set()
            for statement in others:  # (nearest first: an assignment ends what the name shares)
                names -= _assigned_names(statement)
                found |= names & passed(statement)
            return sorted(found)

        return shared(reversed(body[:index])), shared(body[index + 1:])

    def _name_read(self, call: cst.Call) -> bool:
        """Whether the file reads ``.name`` of what ``call`` is assigned to (or the call is not assigned to a name)."""
        target = self._assigned_to(call)
        tree = self.ctx.syntax_tree()
        return target is None or tree is None or any(
            isinstance(node, ast.Attribute) and node.attr == "name" and ast.unparse(node.value) == target
            for node in ast.walk(tree))

    def _is_parameter(self, node: cst.CSTNode, name: str) -> bool:
        """Whether ``name`` at ``node`` is a parameter of a function around it (not the file's Variable)."""
        return any(isinstance(a, (cst.FunctionDef, cst.Lambda)) and
                   any(p.name.value == name for p in (*a.params.params, *a.params.kwonly_params,
                                                      *a.params.posonly_params))
                   for a in self.ancestors(node))

    def _may_be_optimizer(self, original: cst.CSTNode, receiver: str, call: cst.Call) -> bool:
        """Whether ``receiver.update(...)`` is an optimizer's update rather than a dict's, set's, Counter's or the
        program's own: the file makes or sets up that optimizer, or takes it from an updater (get_optimizer).
        An update that only looks like an optimizer's (named so, or given a loss function) is marked."""
        if receiver in self._optimizer_kinds or receiver in self._fetched_optimizers:
            return True
        fetch = call.func.value  # `self.get_optimizer('gen').update(...)`: the updater's optimizer, looked up again
        if isinstance(fetch, cst.Call) and isinstance(fetch.func, cst.Attribute) and is_dotted(fetch.func.value) and \
                fetch.func.attr.value == "get_optimizer" and len(fetch.args) == 1 and not fetch.args[0].star and \
                (isinstance(fetch.args[0].value, cst.SimpleString) or is_dotted(fetch.args[0].value)):
            return True  # (get_optimizer is a dict lookup in Chainer's updaters and ChainerStandardUpdater)
        named = _OPTIMIZER_NAME.search(receiver.rsplit(".", 1)[-1]) is not None
        if named or call.args and isinstance(call.args[0].value, cst.Lambda):
            self.todo(original, "PT021", f"`{receiver}.update(...)`: if `{receiver}` is a Chainer optimizer (netport "
                      "cannot tell here), its update is `zero_grad(set_to_none=False)`, the loss's backward() and "
                      "step()")
        return False

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        bases = [code(base.value) for base in original.bases if self.qualified(base.value) in OPTIMIZER_BASES]
        if bases:
            self.todo(original, "PT065", f"`{original.name.value}` is a Chainer optimizer ({bases[0]}): write it as "
                      "a torch.optim.Optimizer subclass, whose step() updates each parameter p of "
                      "self.param_groups from p.grad (update_one), with its state in self.state[p] (init_state)")
        return updated

    def _setup(self, original, updated, receiver: str, model: str):
        """`opt.setup(model)` of an optimizer built as a functools.partial (its construction not followed by the
        setup): `opt = opt(model.parameters())`. Any other optimizer is marked, never called."""
        kinds = self._optimizer_kinds.get(receiver, set())
        if kinds and all(kind in OPTIMIZERS for kind in kinds) and receiver not in self._unconverted:
            self.info(original, "PT020", f"`{receiver}.setup(m)` binds the parameters: `{receiver} = "
                      f"{receiver}(m.parameters())`")
            return cst.parse_statement(f"{receiver} = {receiver}({model}.parameters())\n") \
                .with_changes(leading_lines=updated.leading_lines)
        left = sorted(kind.split(".")[-1] for kind in kinds if kind not in OPTIMIZERS)
        self.todo(original, "PT069", f"`{receiver}.setup({model})`: " + (
            f"`{receiver}` holds a Chainer optimizer that was not converted" + (f" ({', '.join(left)})" if left else
                                                                                 " (see where it is built)")
            if left or receiver in self._unconverted else
            f"`{receiver}` is not an optimizer netport built (it comes from code it cannot follow)") +
            f": construct the torch.optim optimizer with `{model}.parameters()` in its place and delete this call")
        return updated

    def _add_hook(self, original, updated, receiver: str):
        """`opt.add_hook(Hook(args)[, name])` -> a step pre-hook doing the same (HOOKS); the hook object may be
        built by the statement just before, into a name used nowhere else (PT068)."""
        bound = bind_arguments(updated.body[0].value, ["hook", "name"])
        hook, assignment = bound["hook"], None
        if isinstance(hook, cst.Name):
            assignment = self._hook_assignment(original, hook.value)
            if assignment is None:
                return updated
            hook = assignment.body[0].value
        if id(original) in self._folded or not isinstance(hook, cst.Call) or self.callee(hook) not in HOOKS:
            return updated
        kind = self.callee(hook)
        parameters, base, template = HOOKS[kind]
        values = bind_arguments(hook, list(parameters))
        if values is None or set(values) != set(parameters):
            return updated
        self.need_import("torch")
        name = self._fresh_name(base)
        new = list(cst.parse_module(template.format(name=name, opt=receiver,
                                                    **{k: code(v) for k, v in values.items()})).body)
        self.info(original, "PT021", f"{kind.split('.')[-1]} hook: a step pre-hook does the same to the "
                  "gradients before every step(), as Chainer's hook did inside update()" +
                  (" (not weight_decay=: the gradient clipping added after it clips the decayed gradient, "
                   "as in Chainer)" if id(original) == getattr(self, "_decay_before_clipping", None) else ""))
        if assignment is not None:
            self.remove(assignment)
            self.info(original, "PT068", f"the hook object `{code(bound['hook'])}` built just before is the "
                      "pre-hook's arguments")
        if "name" in bound:
            self.info(original, "PT068", f"the hook's name {code(bound['name'])} goes: register_step_pre_hook "
                      "returns a handle, whose .remove() removes the hook")
        self.insert_after(original, new[1:])
        return new[0].with_changes(leading_lines=updated.leading_lines)

    def _hook_assignment(self, statement, name: str):
        """The statement right before ``statement`` if it is ``name = <a Chainer hook>(...)`` and ``name`` is
        used nowhere else in the file."""
        body = list(getattr(self.parent(statement), "body", ()))
        index = next((i for i, s in enumerate(body) if s is statement), 0)
        before = body[index - 1] if index > 0 else None
        if self._file_names.get(name) == 2 and isinstance(before, cst.SimpleStatementLine) and \
                len(before.body) == 1 and isinstance(before.body[0], cst.Assign) and \
                len(before.body[0].targets) == 1 and isinstance(before.body[0].targets[0].target, cst.Name) and \
                before.body[0].targets[0].target.value == name and isinstance(before.body[0].value, cst.Call) and \
                self.callee(before.body[0].value) in HOOKS:
            return before
        return None

    def _fresh_name(self, base: str) -> str:
        """``base``, or ``base_hook``, ``base_hook2``... when the file uses ``base`` for something of its own."""
        name, count = base, 1
        while name in self._file_names:
            count += 1
            name = f"{base}_hook" + (str(count - 1) if count > 2 else "")
        return name

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
        in_method = enclosing_module_method(self, original)
        if "mode" in kinds or ("eval" in kinds and in_method):
            return self._training_mode_scope(original, updated, kinds, in_method)
        modules = _called_modules(original.body, self.project, self._models) if "eval" in kinds else []
        modules = [m for m in modules if self.qualified(cst.parse_expression(m)) is None]  # not `Variable(x)`
        if "self" in modules:  # not a module's method (that is PT029's): self is an estimator or agent, say
            modules.remove("self")
            modules += sorted({model for targets in self._optimizer_targets.values() for _, model in targets
                               if model.startswith("self.") and model not in modules})
        if "eval" in kinds and not modules and len(self._models) == 1:
            modules = list(self._models)  # code that calls the program's one module-level model
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

    def _training_mode_scope(self, original: cst.With, updated: cst.With, kinds: list[str], in_method: bool):
        """PT029: `with training_mode(modules, flag):`, the modules' mode for the block and restored after."""
        flags = [train_flag(self, item.item) for item, kind in zip(original.items, kinds) if kind != "no_grad"]
        if any(isinstance(f, cst.Attribute) and f.attr.value == "train" for f in flags):
            # v1's `x.train` attribute: on a torch module it is the train() method, which is always true
            self.todo(original, "PT029", "using_config('train', x.train): v1's `train` attribute is nn.Module.train(), "
                      "a method, in torch: pass the mode itself (`x.training`, or the program's flag)")
            return updated
        modules = ["self"] if in_method else [m for m in _called_modules(original.body, self.project, self._models)
                                              if self.qualified(cst.parse_expression(m)) is None]
        if not modules and len(self._models) == 1:
            modules = list(self._models)
        if not modules:
            self.todo(original, "PT029", "using_config('train', ...) around code that calls no model object: "
                      "set the mode of the modules it runs (module.train(flag)) by hand, and restore it after")
            return updated
        items = []
        for item, kind in zip(original.items, kinds):
            if kind == "no_grad":
                self.need_import("torch")
                items.append(cst.WithItem(cst.parse_expression("torch.no_grad()")))
            else:
                items.append(training_mode_item(modules, train_flag(self, item.item)))
        items[-1] = items[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        self.need_import("contextlib")
        self._needs_training_mode = True
        self.info(original, "PT029", f"using_config('train', ...) is training_mode(...) (written into this file) on "
                  f"{', '.join(modules)}: their train/eval mode for the block, each module's own mode restored "
                  "after it as Chainer's config was" + (" (torch.no_grad() for no_backprop_mode)"
                                                       if "no_grad" in kinds else ""))
        return updated.with_changes(items=items)

    def _scope_kind(self, expression: cst.BaseExpression) -> str | None:
        if not isinstance(expression, cst.Call):
            return None
        qualified = self.callee(expression)
        if qualified == "chainer.no_backprop_mode":
            return "no_grad"
        if qualified == "chainer.using_config" and len(expression.args) == 2 and \
                code(expression.args[0].value) in ("'enable_backprop'", '"enable_backprop"') and \
                code(expression.args[1].value) == "False":
            return "no_grad"
        flag = train_flag(self, expression)
        if flag is not None:
            return "eval" if code(flag) == "False" else "mode"
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


def _dotted_names(node: cst.CSTNode) -> set[str]:
    """The names and dotted names (``x``, ``self.opt``) that ``node`` contains."""
    found: set[str] = set()

    class Names(cst.CSTVisitor):
        def visit_Name(self, name):
            found.add(name.value)

        def visit_Attribute(self, attribute):
            if is_dotted(attribute):
                found.add(code(attribute))

    node.visit(Names())
    return found


def _root_name(node: cst.BaseExpression) -> str | None:
    """``model`` for ``model``, ``model.predictor``, ``self.model``: the name a dotted expression starts from."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


def _clears_gradients_switch(statement: cst.CSTNode) -> str | None:
    """The receiver of a statement ``opt.use_cleargrads(...)`` (a switch between two ways of clearing gradients
    in Chainer's update(), PT066), else None."""
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 and \
            isinstance(statement.body[0], cst.Expr) and isinstance(statement.body[0].value, cst.Call):
        call = statement.body[0].value
        bound = bind_arguments(call, ["use"])
        if isinstance(call.func, cst.Attribute) and call.func.attr.value == "use_cleargrads" and \
                is_dotted(call.func.value) and bound is not None and \
                all(isinstance(value, cst.Name) and value.value in ("True", "False") for value in bound.values()):
            return code(call.func.value)  # (a literal argument: dropping it drops no side effect)
    return None


def _all_names(tree: ast.Module | None) -> collections.Counter:
    """Every name the file binds or uses (variables, functions, classes, parameters, imports), with how often."""
    found: collections.Counter = collections.Counter()
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, ast.Name):
            found[node.id] += 1
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found[node.name] += 1
        elif isinstance(node, ast.arg):
            found[node.arg] += 1
        elif isinstance(node, ast.alias):
            found[(node.asname or node.name).split(".")[0]] += 1
    return found


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


_OPTIMIZER_NAME = re.compile(r"(^|_)opt(imizer)?s?(_|$|\d)", re.IGNORECASE)


def _fetched_optimizers(tree: ast.Module | None) -> set[str]:
    """Names (and ``self.x``) assigned ``<updater>.get_optimizer(...)``: the optimizers an updater steps."""
    if tree is None:
        return set()
    return {ast.unparse(target) for node in ast.walk(tree) if isinstance(node, ast.Assign) and
            isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute) and
            node.value.func.attr == "get_optimizer" for target in node.targets}


def names_bound_only_to(tree: ast.Module | None, wanted) -> set[str]:
    """Names (and ``self.x``, ``a.b``) that every assignment in the file binds to a call ``wanted(call)`` accepts;
    a name also bound otherwise (another value, a for loop, ``+=``, ``with ... as``) is left out."""
    if tree is None:
        return set()
    found: dict[str, bool] = {}

    def bind(target: ast.AST | None, value: bool) -> None:
        if isinstance(target, (ast.Name, ast.Attribute)):
            key = ast.unparse(target)
            found[key] = found.get(key, True) and value
        elif target is not None:  # a tuple or a starred target: none of its names holds the call
            for name in ast.walk(target):
                if isinstance(name, (ast.Name, ast.Attribute)):
                    found[ast.unparse(name)] = False

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            accepted = isinstance(node.value, ast.Call) and bool(wanted(node.value))
            for target in node.targets:
                bind(target, accepted)
        elif isinstance(node, (ast.For, ast.AugAssign, ast.AnnAssign, ast.comprehension)):
            bind(node.target, False)
        elif isinstance(node, ast.withitem):
            bind(node.optional_vars, False)
    return {name for name, value in found.items() if value}


def _variable_names(tree: ast.Module | None) -> set[str]:
    """Names the file binds to ``chainer.Variable(...)`` (or the ``torch.as_tensor(...)`` it became) and to nothing
    else."""
    aliases = import_map(tree) if tree is not None else {}
    return names_bound_only_to(tree, lambda call: qualified_name(call.func, aliases) in (
        "chainer.Variable", "chainer.variable.Variable", "torch.as_tensor"))


def _is_tensor_item(target: cst.BaseExpression) -> bool:
    """``p.data[...]``, ``v.grad[i]``: elements of a Variable's array, a tensor in torch."""
    return isinstance(target, cst.Subscript) and isinstance(target.value, cst.Attribute) and \
        target.value.attr.value in ("data", "grad")


def _is_tensor_value(value: cst.BaseExpression) -> bool:
    """A value torch assigns into a tensor as it is: a number, a tensor made here, or an element of one."""
    if isinstance(value, (cst.Integer, cst.Float)) or \
            isinstance(value, cst.UnaryOperation) and isinstance(value.expression, (cst.Integer, cst.Float)):
        return True
    if isinstance(value, cst.Call) and code(value.func).startswith(("torch.", "nn.")):
        return True
    return isinstance(value, (cst.Subscript, cst.Attribute)) and _is_tensor_item(value) or \
        isinstance(value, cst.Attribute) and value.attr.value in ("data", "grad")


def _program_models(tree: ast.Module | None, project) -> list[str]:
    """Module-level names bound to an instance of one of the program's model classes (``model = Net(...)``)."""
    if tree is None:
        return []
    found = []
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call):
            func = statement.value.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            if name in project.chain_classes:
                found += [t.id for t in statement.targets if isinstance(t, ast.Name)]
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


def _array_module_branches(body) -> dict[str, dict[int, str]]:
    """Module-level choices of an array module made by statements: ``xp = np`` followed by an ``if`` whose
    block sets ``xp = cuda.cupy`` (or an ``if``/``else`` setting one in each branch), for each name the ids of
    the assignments and the device each stands for ('cpu' or 'cuda'). A name assigned anything else at the module
    level is left out."""
    def kind(statement) -> tuple[str, str] | None:
        if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 and
                isinstance(statement.body[0], cst.Assign) and len(statement.body[0].targets) == 1 and
                isinstance(statement.body[0].targets[0].target, cst.Name)):
            return None
        value = code(statement.body[0].value)
        where = "cpu" if value in ("np", "numpy") else "cuda" if value.endswith(("cuda.cupy", "cupy")) and \
            value.split(".")[0] in ("cuda", "cupy", "chainer") else None
        return (statement.body[0].targets[0].target.value, where) if where else None

    found: dict[str, dict[int, str]] = {}
    spoiled: set[str] = set()

    def note(statement) -> None:
        choice = kind(statement)
        if choice is not None:
            found.setdefault(choice[0], {})[id(statement)] = choice[1]
        elif isinstance(statement, cst.SimpleStatementLine):  # `xp = something else`: not a choice to follow
            spoiled.update(t.target.value for small in statement.body if isinstance(small, cst.Assign)
                           for t in small.targets if isinstance(t.target, cst.Name))

    for statement in body:
        if isinstance(statement, cst.If) and not isinstance(statement.orelse, cst.If):
            blocks = [statement.body] + ([statement.orelse.body] if statement.orelse is not None else [])
            for block in blocks:
                for inner in block.body:
                    note(inner)
        else:
            note(statement)
    for name, statements in found.items():
        if set(statements.values()) != {"cpu", "cuda"}:
            spoiled.add(name)
    return {name: statements for name, statements in found.items() if name not in spoiled}


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
