"""PT001-PT009, PT030-PT039, PT070-PT074, PT097: Chainer model definitions become torch.nn modules.

Runs on Chainer 5 idiom (the Chainer rules have run first): ``Chain``/``ChainList`` ->
``nn.Module``/``nn.ModuleList``, ``init_scope`` blocks dissolved, ``__call__`` -> ``forward``,
links -> ``nn`` modules that keep Chainer's initialisation (LeCun-normal weights, zero or given
bias, ``wscale`` folded in by CH011; initialW/initial_bias initializers, numbers and arrays as nn.init
calls with Chainer 1.24's formulas), links sized at the first call -> Lazy* modules written into the file,
BatchNormalization -> BatchNorm1d/2d/3d by the rank its input has in the code, ``chainer.Parameter`` ->
``nn.Parameter``, and ``.W``/``.b`` of links -> ``.weight``/``.bias``, ``link.copy()`` -> ``chainer_copy``,
``L.Deconvolution2D`` -> ``nn.ConvTranspose2d``, ``L.LSTM`` -> a stateful ``nn.LSTMCell`` subclass and
``L.NStepLSTM`` -> an ``nn.LSTM`` subclass over lists of sequences, both written into the file; Chainer's
link API (add_persistent, namedparams, copyparams, FunctionSet.parameters, Chain(**links), isinstance) where
torch has its equivalent. Anything else is left for the residual sweep (PT099).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from netport.migrate.passes import (RulePass, bind_arguments, code, defines_class, insert_definition, is_bool,
                                    is_dotted, paren)
from netport.migrate.torch.functions import DTYPES
from netport.migrate.torch.written_in import (BINARY_HIERARCHICAL_SOFTMAX, INCEPTION_BN, NEGATIVE_SAMPLING,
                                              NEGATIVE_SAMPLING_FUNCTION, PARAMETER_LINK)
from netport.migrate.registry import rule_pass
from netport.migrate.imports import import_map, qualified_name
from netport.migrate.chainer.api import public_name
from netport.migrate.project import BATCH_NORMALIZATION_V1, _netport_link_subclasses, instance_classes
from netport.migrate.rules import Rule, register
from netport.migrate.torch.modes import TRAINING_MODE
from netport.migrate.torch.own_methods import OwnMethods

# Chainer's L.LSTM (v1.24 links/connection/lstm.py): upward Linear(in, 4H) and lateral Linear(H, 4H,
# nobias) with each gate's block LeCun-normal, biases bias_init and forget_bias_init; the state (h, c)
# is kept between calls until reset_state(), starts at zero, and a smaller batch than the state's
# updates the state's first rows. As an nn.LSTMCell its parameters are what `netport convert-weights`
# writes for an L.LSTM (gates reordered to torch's (i, f, g, o); bias_hh zero and kept at zero).
LSTM_CLASS = '''class LSTM(nn.LSTMCell):
    """Chainer's L.LSTM: an LSTM cell that keeps its state (h, c) between calls until reset_state();
    a batch smaller than the state's updates the state's first rows, as in Chainer."""

    def __init__(self, in_size, out_size, bias_init=0, forget_bias_init=0):
        super().__init__(in_size, out_size)
{init}        with torch.no_grad():  # Chainer's biases; torch's gate order is (i, f, g, o)
            self.bias_ih.fill_(bias_init)
            self.bias_ih[out_size:2 * out_size] = forget_bias_init
            self.bias_hh.zero_()
        self.bias_hh.requires_grad_(False)  # Chainer's lateral connection has no bias
        self.reset_state()

    def reset_state(self):
        self.c = self.h = None

    def set_state(self, c, h):
        self.c, self.h = c, h

    def detach_state(self):
        """Chainer's `loss.unchain_backward()` for this state: (h, c) kept, the graph behind them cut."""
        if self.h is not None:
            self.h, self.c = self.h.detach(), self.c.detach()

    def forward(self, x):
        n = x.shape[0]
        if self.h is not None and self.h.shape[0] < n:
            raise TypeError('The batch size of x must be equal to or less than the size of the previous state h.')
        y, c = super().forward(x, None if self.h is None else (self.h[:n], self.c[:n]))
        if self.h is None:
            self.h, self.c = y, c
        else:
            self.h, self.c = torch.cat([y, self.h[n:]]), torch.cat([c, self.c[n:]])
        return y
'''
LSTM_ARGUMENTS = ["in_size", "out_size", "lateral_init", "upward_init", "bias_init", "forget_bias_init"]


def lstm_problem(arguments: dict[str, bool] | None, classes) -> str | None:
    """Why an L.LSTM call is not converted to the LSTM module above (it is marked PT030), or None. ``arguments``:
    the call's arguments bound to LSTM_ARGUMENTS, each name -> whether it is the literal None (None: unbound)."""
    if arguments is None or set(arguments) - {"in_size", "out_size", "bias_init", "forget_bias_init"}:
        return "initialisers or arguments other than bias_init/forget_bias_init"
    if "out_size" not in arguments or arguments.get("in_size", True):
        return "an input size inferred at the first call"
    if "LSTM" in classes:
        return "a class named LSTM of the program's own"
    return None


LSTM_INIT = """        nn.init.normal_(self.weight_ih, std=1 / math.sqrt(in_size))  # Chainer's LeCun normal
        nn.init.normal_(self.weight_hh, std=1 / math.sqrt(out_size))
"""

# Chainer's L.NStepLSTM (v1.24 links/connection/n_step_lstm.py): per layer w0..w7 drawn from
# N(0, 1/fan_in), biases b0..b7 zero, inputs sorted by length inside, hx/cx None for zeros, dropout on
# the input of every layer but the first (torch's nn.LSTM: on the output of every layer but the
# last, the same places). `netport convert-weights` writes nn.LSTM's names for it.
NSTEP_LSTM_CLASS = '''class NStepLSTM(nn.LSTM):
    """Chainer's L.NStepLSTM: an nn.LSTM over a list of sequences of different lengths, returning
    (hy, cy, ys) with ys a list in the order of xs; hx, cx of shape (n_layers, len(xs), out_size) or None."""

    def __init__(self, n_layers, in_size, out_size, dropout):
        super().__init__(in_size, out_size, n_layers, dropout=dropout)
{init}
    def forward(self, hx, cx, xs):
        if (hx is None) != (cx is None):  # Chainer starts a missing one at zero
            zeros = torch.zeros(self.num_layers, len(xs), self.hidden_size, dtype=xs[0].dtype, device=xs[0].device)
            hx, cx = zeros if hx is None else hx, zeros if cx is None else cx
        packed = nn.utils.rnn.pack_sequence(list(xs), enforce_sorted=False)
        ys, (hy, cy) = super().forward(packed, None if hx is None else (hx, cx))
        ys, lengths = nn.utils.rnn.pad_packed_sequence(ys)
        return hy, cy, [ys[:n, i] for i, n in enumerate(lengths.tolist())]
'''
NSTEP_LSTM_INIT = """        for name, parameter in self.named_parameters():  # Chainer's N(0, 1/fan_in) weights, zero biases
            if name.startswith('weight'):
                nn.init.normal_(parameter, std=1 / math.sqrt(parameter.shape[1]))
            else:
                nn.init.zeros_(parameter)
"""

LSTM_TODO = (
    "L.LSTM keeps its state (h, c) between calls until reset_state() and orders its gates (a, i, f, o) where "
    "nn.LSTMCell has (i, f, g, o): use nn.LSTMCell(in_size, out_size) with the state kept in the module "
    "(None after reset_state(); Chainer also accepted a smaller batch than the state's, updating its first rows), "
    "LeCun-normal weights, forget_bias_init in bias_ih[out_size:2 * out_size], bias_hh zero; "
    "`netport convert-weights` reorders the gates of saved weights")
NSTEP_LSTM_TODO = (
    "L.NStepLSTM(n_layers, in_size, out_size, dropout) runs over a list of variable-length sequences and returns "
    "(hy, cy, ys): nn.LSTM(in_size, out_size, n_layers, dropout=dropout) on "
    "nn.utils.rnn.pack_sequence(xs, enforce_sorted=False), ys unpacked into a list, hx/cx of shape "
    "(n_layers, batch, out_size) or None; `netport convert-weights` maps w0..w7/b0..b7 to weight_ih/hh_l<k> and "
    "bias_ih/hh_l<k>")

# A link that is not assigned to a name (`L.Classifier(L.Linear(3, 2))`, `ChainList(L.Linear(..), ..)`) has no
# statement to put the init calls after: it is wrapped in this function, written into the file.
CHAINER_INIT = '''def chainer_init(module, scale=1, bias=0):
    """A torch.nn Linear/Conv2d/ConvTranspose2d initialised as the Chainer link was: LeCun-normal weights (std
    scale / sqrt(fan-in), the fan-in being the size of one output unit's weights, module.weight[0]) and a
    constant bias."""
    nn.init.normal_(module.weight, std=scale / math.sqrt(module.weight[0].numel()))
    if module.bias is not None:
        nn.init.constant_(module.bias, bias)
    return module
'''

# L.Linear(None, out) / L.Convolution2D(None, out, k) / L.Deconvolution2D(None, out, k): Chainer sized W at the
# first call from the input and drew it then (LeCun normal, or the link's initialW); torch's Lazy* modules do the
# same with torch's init, so reset_parameters (which they run when the first input arrives) draws Chainer's.
# The fan-in is the size of weight[0], Chainer's for all three (W is (out, in), (out, in, kh, kw) and, for a
# deconvolution, (in, out, kh, kw), torch's layouts too). torch.optim takes the uninitialised parameters: they
# are the same objects once materialised, so the optimizer can be built before the first call, as in Chainer.
LAZY_CLASS = '''class {name}(nn.{name}):
    """Chainer's {link}(None, ...): the input size comes from the first input, and the weights are
    then drawn as Chainer drew them: LeCun normal (std scale / sqrt(fan-in), the size of weight[0]), or by
    `init` (a function that fills the weight in place) for the link's initialW; the bias is initial_bias."""

    def __init__(self, *args, scale=1, initial_bias=0, init=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.scale, self.initial_bias, self.init = scale, initial_bias, init

    def reset_parameters(self):
        if not nn.parameter.is_lazy(self.weight) and self.weight.numel() != 0:  # once the first input gave the size
            with torch.no_grad():
                if self.init is None:
                    nn.init.normal_(self.weight, std=self.scale / math.sqrt(self.weight[0].numel()))
                else:
                    self.init(self.weight)
                if self.bias is not None:
                    nn.init.constant_(self.bias, self.initial_bias)
'''
_LAZY_LINKS = {"Linear": ("LazyLinear", "L.Linear"), "Conv2d": ("LazyConv2d", "L.Convolution2D"),
               "ConvTranspose2d": ("LazyConvTranspose2d", "L.Deconvolution2D")}
LAZY_LINEAR = LAZY_CLASS.format(name="LazyLinear", link="L.Linear")

# Chainer's Link.copy() (link.py, v1.24): a shallow copy whose parameters are new Variables on the same data
# arrays (grad None) and whose persistent values are the same objects; Chain.copy copies the children so.
CHAINER_COPY = '''def chainer_copy(module):
    """Chainer's link.copy(): a copy of the module whose parameters are new ones on the original's data
    (an update of either changes both; each has its own gradient) and whose buffers and other tensors (a
    loss kept from the last step, say) are the original's, as Chainer's shallow copy shared them."""
    memo = {id(buffer): buffer for buffer in module.buffers()}
    for submodule in module.modules():
        memo.update((id(value), value) for value in vars(submodule).values() if hasattr(value, 'grad_fn'))
    for parameter in module.parameters():
        memo[id(parameter)] = nn.Parameter(parameter.data, parameter.requires_grad)
    return copy.deepcopy(module, memo)
'''

# Chainer's L.MLPConvolution2D (links/connection/mlp_convolution_2d.py): Convolution2D(in, out[0], ksize, stride,
# pad), then 1x1 Convolution2D(out[i-1], out[i]), all with initialW=conv_init, initial_bias=bias_init; the
# activation after every convolution but the last.
MLP_CONVOLUTION = '''class MLPConvolution2D(nn.ModuleList):
    """Chainer's L.MLPConvolution2D: a convolution, then 1x1 convolutions, with `activation` between them
    (not after the last), initialised as Chainer did: LeCun normal times scale, the constant initial_bias
    (the first convolution a LazyConv2d when in_channels is None: sized at the first input)."""

    def __init__(self, in_channels, out_channels, ksize, stride=1, pad=0, activation=torch.relu, scale=1,
                 initial_bias=0):
        if in_channels is None:
            first = LazyConv2d(out_channels[0], ksize, stride=stride, padding=pad, scale=scale,
                               initial_bias=initial_bias)
        else:
            first = chainer_init(nn.Conv2d(in_channels, out_channels[0], ksize, stride=stride, padding=pad),
                                 scale, initial_bias)
        super().__init__([first] + [chainer_init(nn.Conv2d(n_in, n_out, 1), scale, initial_bias)
                                    for n_in, n_out in zip(out_channels, out_channels[1:])])
        self.activation = activation

    def forward(self, x):
        *hidden, last = self  # (a slice of a ModuleList would build this class anew)
        for conv in hidden:
            x = self.activation(conv(x))
        return last(x)
'''

# Chainer's L.Inception (links/connection/inception.py, v1.24): Convolution2D conv1 (1x1), proj3 (1x1) -> conv3 (3x3,
# pad 1), proj5 (1x1) -> conv5 (5x5, pad 2), and a 3x3 max pooling (stride 1, pad 1; cover_all changes nothing at
# stride 1) -> projp (1x1), built in that order with initialW=conv_init, initial_bias=bias_init; ReLU after each
# projection and once after the concatenation along the channels.
INCEPTION = '''class Inception(nn.Module):
    """Chainer's L.Inception (GoogLeNet's block): 1x1, 3x3 and 5x5 convolution paths and a max-pooling path over
    the input, joined along the channels, initialised as Chainer did: LeCun normal times scale, the constant
    initial_bias (the convolutions of the input LazyConv2d when in_channels is None: sized at the first input)."""

    def __init__(self, in_channels, out1, proj3, out3, proj5, out5, proj_pool, scale=1, initial_bias=0):
        super().__init__()

        def conv(n_in, n_out, ksize, pad=0):
            if n_in is None:
                return LazyConv2d(n_out, ksize, padding=pad, scale=scale, initial_bias=initial_bias)
            return chainer_init(nn.Conv2d(n_in, n_out, ksize, padding=pad), scale, initial_bias)

        self.conv1 = conv(in_channels, out1, 1)
        self.proj3 = conv(in_channels, proj3, 1)
        self.conv3 = conv(proj3, out3, 3, pad=1)
        self.proj5 = conv(in_channels, proj5, 1)
        self.conv5 = conv(proj5, out5, 5, pad=2)
        self.projp = conv(in_channels, proj_pool, 1)

    def forward(self, x):
        out1 = self.conv1(x)
        out3 = self.conv3(torch.relu(self.proj3(x)))
        out5 = self.conv5(torch.relu(self.proj5(x)))
        pool = self.projp(nn.functional.max_pool2d(x, 3, stride=1, padding=1))
        return torch.relu(torch.cat((out1, out3, out5, pool), dim=1))
'''

CLASSIFIER = '''class Classifier(nn.Module):
    """Chainer's L.Classifier: softmax cross-entropy loss and accuracy around a predictor."""

    def __init__(self, predictor):
        super().__init__()
        self.predictor = predictor

    def forward(self, x, t):
        y = self.predictor(x)
        self.loss = nn.functional.cross_entropy(y, t.long(), ignore_index=-1)
        self.accuracy = (y.argmax(1) == t).float().mean()
        return self.loss
'''

# CH017's BatchNormalizationV1 on torch: nn.BatchNorm averages the batch variance alone into running_var,
# Chainer 1.24 (CPU) the batch variance plus eps; evaluation normalises by sqrt(running_var + eps) in both.
CHAINER_BATCH_NORM = '''class Chainer{base}({parent}):
    """{parent} with Chainer 1.24's running-variance update: on the CPU v1 averaged the batch
    variance plus eps, torch averages the batch variance alone."""

    def forward(self, x):
        y = super().forward(x)
        if self.training and self.track_running_stats:
            # momentum None is the cumulative average: Chainer's finetune, decay = 1 - 1/N
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
            m = x.numel() // x.shape[1]
            # through .data: autograd saved running_var for the backward (which reads it only in eval
            # mode) and would refuse a new version of it
            self.running_var.data += factor * (m / max(m - 1.0, 1.0)) * self.eps
        return y
'''

# Chainer's BatchNormalization took an (N, C, ...) input of any rank and normalised over every axis but C
# (1.24 batch_normalization.py: axis = (0,) + range(2, ndim)); nn.BatchNorm1d/2d/3d compute the same, each for
# the ranks its _check_input_dim allows. Written into a file where the rank that reaches a link is not known.
BATCH_NORM_ND = '''class BatchNormNd(nn.BatchNorm1d):
    """nn.BatchNorm1d/2d/3d for an (N, C, ...) input of any rank, as Chainer's BatchNormalization took:
    the statistics are over every axis but C."""

    def _check_input_dim(self, x):
        if x.dim() < 2:
            raise ValueError(f"expected an (N, C, ...) input (got {x.dim()}D input)")
'''


def _chainer_batch_norm(base: str) -> str:
    """CHAINER_BATCH_NORM over nn.BatchNorm1d/2d/3d, or over BatchNormNd (written into the file too)."""
    return CHAINER_BATCH_NORM.format(base=base, parent=base if base == "BatchNormNd" else f"nn.{base}")


HIERARCHICAL_SOFTMAX = "chainer.links.BinaryHierarchicalSoftmax"  # (PT119, a written-in class)
PARAMETER = "chainer.links.Parameter"  # (PT124, a written-in class)
# links with no torch counterpart, and what a port takes
_NO_TORCH_LINKS = {
    "chainer.links.caffe.CaffeFunction": "it loads a .caffemodel into Chainer links called by layer name; convert the "
    "model with a Caffe-to-PyTorch converter (or define the network in torch and copy the weights in)",
    "chainer.links.NegativeSampling": "the negative-sampling loss with its own output embedding W (n_vocab x in_size) "
    "and a sampler over counts ** power; write it with nn.Embedding and torch.multinomial: "
    "-log sigmoid(x . W[t]) - sum over the samples of log sigmoid(-x . W[s])",
    "chainer.links.BinaryHierarchicalSoftmax": "the hierarchical softmax over a Huffman tree "
    "(create_huffman_tree); write the tree's path probabilities by hand (nn.AdaptiveLogSoftmaxWithLoss is a "
    "different model)",
}

_PT135_CLASS = ("class Net(chainer.Chain):\n    def __init__(self, train=True):\n"
                 "        super(Net, self).__init__()\n        self.train = train\n\n"
                 "    def __call__(self, x):\n        return F.dropout(x, train=self.train)\n")
_PT135_UNPROVEN = ("netport cannot tell which class `net` is, so not what `net.train = False` did: if it is `Net` "
                   "(whose `train` is a flag of its own, `train_flag` in torch, which its training_mode() blocks follow), set "
                   "`net.train_flag = False`; if it is anything else (an L.Classifier around one: its predictor's mode "
                   "did not change), neither; as it stands, `net.train = ...` hides nn.Module.train()")
register(Rule(
    "PT135", "an attribute netport renames in a class (a `train` flag of its own is `train_flag`, a v1.4 `forward` "
    "next to `__call__` is `legacy_forward`) is renamed on every object proven to be of that class or a subclass, "
    "in this file or another of the program (`L.Classifier(mod.Net(...)).predictor`, a `.copy()` of it, a child "
    "`self.l = Net()`, the argument every call of a nested function passes); `x.train = v` on an object netport cannot "
    "place is marked with what to set for each class it may be",
    before="import chainer\nimport chainer.functions as F\n\n\n" + _PT135_CLASS +
           "\n\ndef main(x):\n    def evaluate(net):\n        net.train = False\n        return net(x)\n\n"
           "    return evaluate(Net())\n\n\ndef report(net, x):\n    net.train = False\n    return net(x)\n",
    after="import contextlib\nfrom torch import nn\n\n\n" + TRAINING_MODE +
          "\n\nclass Net(nn.Module):\n    def __init__(self, train=True):\n        super(Net, self).__init__()\n"
          "        self.train_flag = train\n\n    def forward(self, x):\n"
          "        with training_mode(self, self.train_flag):\n"
          "            return nn.functional.dropout(x, p=0.5, training=self.training)\n"
          "\n\ndef main(x):\n    def evaluate(net):\n        net.train_flag = False\n        return net(x)\n\n"
          "    return evaluate(Net())\n\n\ndef report(net, x):\n"
          "    net.train = False  # netport: TODO(PT135): " + _PT135_UNPROVEN + "\n    return net(x)\n",
    target="torch",
    noop=("# ported from chainer\nimport contextlib\nfrom torch import nn\n\n\n" + TRAINING_MODE +
          "\n\nclass Net(nn.Module):\n    def __init__(self, train=True):\n        super(Net, self).__init__()\n"
          "        self.train_flag = train\n\n    def forward(self, x):\n"
          "        with training_mode(self, self.train_flag):\n            return x\n\n\n"
          "def evaluate(net, x):\n    net.train_flag = False\n    return net(x)\n",
          # Module.train() itself, called on an instance of a class whose flag is `train_flag`
          "# ported from chainer\nfrom torch import nn\n\n\nclass Net(nn.Module):\n    def __init__(self, train=True):\n"
          "        super().__init__()\n        self.train_flag = train\n\n\nnet = Net()\nnet.train(False)\n"
          "net.eval()\n"),
))

register(
    Rule("PT035", "CH017's BatchNormalizationV1 (v1's running variance) becomes a ChainerBatchNorm1d/2d written "
         "into the file: nn.BatchNorm1d/2d whose running variance takes in eps at every update, as v1's did",
         before="import chainer.links as L\nbn = L.BatchNormalization(16)\ny = bn(x.reshape(-1, 16))\n",
         after="from torch import nn\n\n\n" + _chainer_batch_norm("BatchNorm1d") +
               "\n\nbn = ChainerBatchNorm1d(16, eps=2e-05, momentum=0.1)\nnn.init.zeros_(bn.running_var)\n"
               "y = bn(x.reshape(-1, 16))\n",
         target="torch",
         noop=("# ported from chainer\nfrom torch import nn\nbn = nn.BatchNorm2d(16)\n",
               "# ported from chainer\nfrom mylib import links as L\nbn = L.BatchNormalization(16)\n")),
    Rule("PT001", "Chain/ChainList classes become nn.Module/nn.ModuleList; __call__ becomes forward",
         before="import chainer\n\n\nclass Net(chainer.Chain):\n    def __call__(self, x):\n        return x\n",
         after="from torch import nn\n\n\nclass Net(nn.Module):\n    def forward(self, x):\n        return x\n",
         target="torch",
         noop=("# ported from chainer\nfrom torch import nn\n\n\nclass Net(nn.Module):\n    def forward(self, x):\n"
               "        return x\n",
               "# ported from chainer\nclass Chain(object):\n    pass\n\n\nclass Net(Chain):\n"
               "    def __call__(self, x):\n        return x\n")),
    Rule("PT002", "init_scope blocks are dissolved: torch registers modules on assignment",
         before="import chainer\n\n\nclass Net(chainer.Chain):\n    def __init__(self):\n"
                "        super(Net, self).__init__()\n        with self.init_scope():\n            self.k = 3\n",
         after="from torch import nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
               "        super(Net, self).__init__()\n        self.k = 3\n",
         target="torch",
         noop=("# ported from chainer\nimport threading\nfrom torch import nn\n\n\nclass Net(nn.Module):\n"
               "    def __init__(self):\n        super(Net, self).__init__()\n"
               "        self.lock = threading.Lock()\n        with self.lock:\n            self.k = 3\n",
               "# ported from chainer\nfrom torch import nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
               "        super(Net, self).__init__()\n        self.k = 3\n")),
    Rule("PT009", "L.Deconvolution2D becomes nn.ConvTranspose2d with Chainer's initialisation (fan-in "
         "out_channels * k * k) and output size",
         before="import chainer.links as L\nup = L.Deconvolution2D(16, 1, 4, 2, 1)\n",
         after="import math\nfrom torch import nn\n\nup = nn.ConvTranspose2d(16, 1, 4, stride=2, padding=1)\n"
               "nn.init.normal_(up.weight, std=1 / math.sqrt(1 * 4 * 4))\nnn.init.zeros_(up.bias)\n",
         target="torch",
         noop=("# ported from chainer\nfrom torch import nn\n"
               "up = nn.ConvTranspose2d(16, 1, 4, stride=2, padding=1)\n",
               "# ported from chainer\nfrom mylib import links as L\nup = L.Deconvolution2D(16, 1, 4, 2, 1)\n")),
    Rule("PT003", "L.Linear/L.Convolution2D become nn.Linear/nn.Conv2d with Chainer's initialisation kept",
         before="import chainer.links as L\nfc = L.Linear(784, 10)\n",
         after='import math\nfrom torch import nn\n\nfc = nn.Linear(784, 10)\nnn.init.normal_(fc.weight, std=1 / math.sqrt(784))\nnn.init.zeros_(fc.bias)\n',
         target="torch",
         noop=("# ported from chainer\nfrom torch import nn\nfc = nn.Linear(784, 10)\n",
               "# ported from chainer\nfrom mylib import links as L\nfc = L.Linear(784, 10)\n")),
    Rule("PT004", "chainer.Parameter becomes nn.Parameter filled like the Chainer initializer (NaN, Zero, One, "
         "Constant or a scalar, Normal, Uniform), or holding the array it was given",
         before="import chainer\nb = chainer.Parameter(chainer.initializers.NaN(), (3,))\n"
                "w = chainer.Parameter(chainer.initializers.Normal(0.01), (3, 4))\nc = chainer.Parameter(0.5, (3,))\n"
                "a = chainer.Parameter(array)\n",
         after="import torch\nfrom torch import nn\n\nb = nn.Parameter(torch.full((3,), float('nan')))\n"
               "w = nn.Parameter(torch.normal(0.0, 0.01, size=(3, 4)))\nc = nn.Parameter(torch.full((3,), 0.5))\n"
               "a = nn.Parameter(torch.as_tensor(array))\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\nfrom torch import nn\nb = nn.Parameter(torch.zeros(3))\n",
               "# ported from chainer\nimport inspect\n"
               "p = inspect.Parameter('x', inspect.Parameter.POSITIONAL_ONLY)\n")),
    Rule("PT006", "L.Classifier becomes a small Classifier module written into the file",
         before="import chainer.links as L\nmodel = L.Classifier(net)\n", after='from torch import nn\n\n\nclass Classifier(nn.Module):\n    """Chainer\'s L.Classifier: softmax cross-entropy loss and accuracy around a predictor."""\n\n    def __init__(self, predictor):\n        super().__init__()\n        self.predictor = predictor\n\n    def forward(self, x, t):\n        y = self.predictor(x)\n        self.loss = nn.functional.cross_entropy(y, t.long(), ignore_index=-1)\n        self.accuracy = (y.argmax(1) == t).float().mean()\n        return self.loss\n\n\nmodel = Classifier(net)\n', target="torch",
         noop=("# ported from chainer\nfrom sklearn import svm\nmodel = svm.SVC()\n",
               "# ported from chainer\nfrom torch import nn\n\n\nclass Classifier(nn.Module):\n"
               "    def __init__(self, predictor):\n        super().__init__()\n"
               "        self.predictor = predictor\n\n\nmodel = Classifier(net)\n")),
    Rule("PT007", "L.EmbedID becomes nn.Embedding (the same N(0, 1) initialisation)",
         before="import chainer.links as L\nembed = L.EmbedID(1000, 64)\n",
         after="from torch import nn\n\nembed = nn.Embedding(1000, 64)\n", target="torch",
         noop=("# ported from chainer\nfrom torch import nn\nembed = nn.Embedding(1000, 64)\n",
               "# ported from chainer\nfrom mylib import links as L\nembed = L.EmbedID(1000, 64)\n")),
    Rule("PT008", "link.copy() becomes chainer_copy (written into the file): a deepcopy whose parameters are new ones "
         "on the original's data and whose buffers are the original's, as Chainer's copy; copy(mode='copy') is a "
         "plain deepcopy",
         before="import chainer.links as L\nfc = L.EmbedID(10, 4)\nshared = fc.copy()\nown = fc.copy(mode='copy')\n",
         after="import copy\nfrom torch import nn\n\n\n" + CHAINER_COPY + "\n\nfc = nn.Embedding(10, 4)\n"
               "shared = chainer_copy(fc)\nown = copy.deepcopy(fc)\n",
         target="torch",
         noop=("# ported from chainer\nimport numpy as np\na = np.zeros(3)\nb = a.copy()\nd = {}.copy()\n",
               "# ported from chainer\nimport copy\nfrom torch import nn\nfc = nn.Embedding(10, 4)\n"
               "own = copy.deepcopy(fc)\n")),
    Rule("PT030", "L.LSTM/L.NStepLSTM with custom initialisers, a lazy input size or other arguments are marked "
         "with what a faithful torch version needs (state, gate order, packing)",
         before="import chainer.links as L\nrnn = L.NStepLSTM(2, None, 20, 0.1)\n",
         after="import chainer.links as L\nrnn = L.NStepLSTM(2, None, 20, 0.1)  # netport: TODO(PT030): L.NStepLSTM "
               "with an input size inferred at the first call: " + NSTEP_LSTM_TODO + "\n",
         target="torch",
         noop=("# ported from chainer\nfrom torch import nn\nrnn = nn.LSTM(10, 20, num_layers=2, dropout=0.1)\n",
               "# ported from chainer\nfrom mylib import links as L\nrnn = L.NStepLSTM(2, None, 20, 0.1)\n")),
    Rule("PT032", "L.NStepLSTM becomes an NStepLSTM module written into the file: an nn.LSTM over a list of "
         "sequences (packed), returning Chainer's (hy, cy, ys), with Chainer's initialisation",
         before="import chainer.links as L\nrnn = L.NStepLSTM(2, 10, 20, 0.1)\n",
         after="import math\nimport torch\nfrom torch import nn\n\n\n" +
               NSTEP_LSTM_CLASS.format(init=NSTEP_LSTM_INIT) + "\n\nrnn = NStepLSTM(2, 10, 20, 0.1)\n",
         target="torch",
         noop=("# ported from chainer\nfrom torch import nn\nrnn = nn.LSTM(10, 20, num_layers=2, dropout=0.1)\n",
               "# ported from chainer\nfrom mylib import links as L\nrnn = L.NStepLSTM(2, 10, 20, 0.1)\n")),
    Rule("PT031", "L.LSTM becomes an LSTM module written into the file: an nn.LSTMCell that keeps its state like "
         "Chainer's (reset_state, smaller batches), with Chainer's initialisation and gate biases",
         before="import chainer.links as L\nlstm = L.LSTM(10, 20)\n",
         after="import math\nimport torch\nfrom torch import nn\n\n\n" +
               LSTM_CLASS.format(init=LSTM_INIT) + "\n\nlstm = LSTM(10, 20, forget_bias_init=0)\n",
         target="torch",
         noop=("# ported from chainer\nfrom torch import nn\ncell = nn.LSTMCell(10, 20)\n",
               "# ported from chainer\nfrom mylib import links as L\nlstm = L.LSTM(10, 20)\n")),
    Rule("PT033", "L.Linear(None, n) becomes a LazyLinear written into the file: nn.LazyLinear drawing Chainer's "
         "LeCun-normal weights when the first input arrives",
         before="import chainer.links as L\nfc = L.Linear(None, 10)\n",
         after="import math\nimport torch\nfrom torch import nn\n\n\n" + LAZY_LINEAR + "\n\nfc = LazyLinear(10)\n",
         target="torch",
         noop=("# ported from chainer\nfrom torch import nn\nfc = nn.LazyLinear(10)\n",
               "# ported from chainer\nfrom mylib import links as L\nfc = L.Linear(None, 10)\n")),
    Rule("PT034", "a link built where no name holds it (an argument of L.Classifier or ChainList) is wrapped in "
         "chainer_init, written into the file, to keep Chainer's initialisation",
         before="import chainer.links as L\nmodel = L.Classifier(L.Linear(784, 10))\n",
         after="import math\nfrom torch import nn\n\n\n" + CLASSIFIER + "\n\n" + CHAINER_INIT +
               "\n\nmodel = Classifier(chainer_init(nn.Linear(784, 10)))\n", target="torch",
         noop=("# ported from chainer\nfrom torch import nn\nmodel = nn.Sequential(nn.Linear(784, 10))\n",
               "# ported from chainer\nfrom mylib import links as L\nmodel = L.Classifier(L.Linear(784, 10))\n")),
    Rule("PT005", ".W/.b of a link become .weight/.bias (gamma/beta/avg_mean/avg_var of a BatchNormalization "
         "weight/bias/running_mean/running_var)",
         before="import chainer\nimport chainer.links as L\n\n\nclass Net(chainer.Chain):\n"
                "    def __init__(self):\n        super(Net, self).__init__()\n        with self.init_scope():\n"
                "            self.fc = L.Linear(3, 2, nobias=True)\n\n    def __call__(self, x):\n"
                "        return self.fc.W\n",
         after="import math\nfrom torch import nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
               "        super(Net, self).__init__()\n        self.fc = nn.Linear(3, 2, bias=False)\n"
               "        nn.init.normal_(self.fc.weight, std=1 / math.sqrt(3))\n\n    def forward(self, x):\n"
               "        return self.fc.weight\n",
         target="torch",
         noop=("# ported from chainer\nfrom torch import nn\nfc = nn.Linear(3, 2)\nw, b = fc.weight, fc.bias\n",
               "# ported from chainer\nimport collections\nPair = collections.namedtuple('Pair', 'W b')\n"
               "p = Pair(1, 2)\nprint(p.W, p.b)\n")),
    Rule("PT137", "`.W`/`.b` read on a value netport cannot type (a function's parameter, getattr(...), a loop "
         "variable) is left as it was with a WARNING: if it is a Chainer link, the parameter is .weight/.bias",
         before="import numpy as np\nimport chainer\n\n\ndef first_weight(link):\n    return link.W.data[0]\n",
         after="import numpy as np\n\n\ndef first_weight(link):\n    return link.W.data[0]\n",
         target="torch",
         noop=("# ported from chainer\nimport argparse\nparser = argparse.ArgumentParser()\n"
               "args = parser.parse_args()\nprint(args.b)\n",
               "# ported from chainer\nclass Net:\n    def __init__(self):\n        self.W = 1\n\n"
               "    def f(self):\n        return self.W\n")),
    Rule("PT036", "L.BatchNormalization becomes nn.BatchNorm1d/2d/3d by the rank of the input that reaches the link "
         "in the code of its class (or of its file): the link before it, reshapes, poolings; where that rank is "
         "not known, a BatchNormNd written into the file that takes any rank, as Chainer's link did",
         before="import chainer\nimport chainer.functions as F\nimport chainer.links as L\n\n\n"
                "class Generator(chainer.Chain):\n    def __init__(self):\n        super(Generator, self).__init__()\n"
                "        with self.init_scope():\n            self.l0 = L.Linear(10, 128, nobias=True)\n"
                "            self.bn0 = L.BatchNormalization(128)\n"
                "            self.dc1 = L.Deconvolution2D(8, 3, 4, stride=2, pad=1, nobias=True)\n"
                "            self.bn1 = L.BatchNormalization(3)\n\n    def __call__(self, z):\n"
                "        h = F.reshape(F.relu(self.bn0(self.l0(z))), (-1, 8, 4, 4))\n"
                "        return F.relu(self.bn1(self.dc1(h)))\n",
         after="import math\nimport torch\nfrom torch import nn\n\n\n" + _chainer_batch_norm("BatchNorm1d") +
               "\n\n" + _chainer_batch_norm("BatchNorm2d") + "\n\nclass Generator(nn.Module):\n"
               "    def __init__(self):\n        super(Generator, self).__init__()\n"
               "        self.l0 = nn.Linear(10, 128, bias=False)\n"
               "        nn.init.normal_(self.l0.weight, std=1 / math.sqrt(10))\n"
               "        self.bn0 = ChainerBatchNorm1d(128, eps=2e-05, momentum=0.1)\n"
               "        nn.init.zeros_(self.bn0.running_var)\n"
               "        self.dc1 = nn.ConvTranspose2d(8, 3, 4, stride=2, padding=1, bias=False)\n"
               "        nn.init.normal_(self.dc1.weight, std=1 / math.sqrt(3 * 4 * 4))\n"
               "        self.bn1 = ChainerBatchNorm2d(3, eps=2e-05, momentum=0.1)\n"
               "        nn.init.zeros_(self.bn1.running_var)\n\n    def forward(self, z):\n"
               "        h = torch.reshape(torch.relu(self.bn0(self.l0(z.flatten(1)))), (-1, 8, 4, 4))\n"
               "        return torch.relu(self.bn1(self.dc1(h)))\n",
         target="torch",
         noop=("# ported from chainer\nfrom torch import nn\nbn = nn.BatchNorm2d(3)\ny = bn(x.reshape(-1, 3, 4, 4))\n",
               "# ported from chainer\nfrom mylib import links as L\nbn = L.BatchNormalization(3)\n")),
    Rule("PT037", "initialW=/initial_bias= (a Chainer initializer, a number or an array, directly or through a name) "
         "become nn.init calls on the module's weight/bias with Chainer 1.24's formulas and fans, or a copy of the "
         "array under torch.no_grad()",
         before="import chainer.links as L\nimport numpy as np\nfrom chainer import initializers\n\n"
                "w = initializers.HeNormal(0.5)\n"
                "fc = L.Linear(3, 2, initialW=w, initial_bias=initializers.Uniform(0.1))\n"
                "out = L.Linear(2, 2, initialW=np.eye(2, dtype=np.float32))\n",
         after="import numpy as np\nimport math\nimport torch\nfrom torch import nn\n\nfc = nn.Linear(3, 2)\n"
               "nn.init.normal_(fc.weight, std=0.5 * math.sqrt(2 / 3))\nnn.init.uniform_(fc.bias, -0.1, 0.1)\n"
               "out = nn.Linear(2, 2)\nwith torch.no_grad():\n"
               "    out.weight.copy_(torch.as_tensor(np.eye(2, dtype=np.float32)))\nnn.init.zeros_(out.bias)\n",
         target="torch",
         noop=("# ported from chainer\nfrom torch import nn\nfc = nn.Linear(3, 2)\n"
               "nn.init.normal_(fc.weight, std=0.02)\n",
               "# ported from chainer\nfrom mylib import initializers\nw = initializers.HeNormal(0.5)\n")),
    Rule("PT038", "L.Convolution2D/L.Deconvolution2D(None, out, k) (the input channels come at the first call) become "
         "LazyConv2d/LazyConvTranspose2d written into the file: torch's lazy module drawing Chainer's weights "
         "(LeCun normal, or the initialW) when the first input arrives",
         before="import chainer.links as L\nconv = L.Convolution2D(None, 16, 3, pad=1)\n",
         after="import math\nimport torch\nfrom torch import nn\n\n\n" +
               LAZY_CLASS.format(name="LazyConv2d", link="L.Convolution2D") +
               "\n\nconv = LazyConv2d(16, 3, padding=1)\n",
         target="torch",
         noop=("# ported from chainer\nfrom torch import nn\nconv = nn.LazyConv2d(16, 3, padding=1)\n",
               "# ported from chainer\nfrom mylib import links as L\nconv = L.Convolution2D(None, 16, 3, pad=1)\n")),
    Rule("PT039", "link.add_persistent(name, value): an array is register_buffer (in state_dict, moved by .to()); a "
         "number or flag a plain attribute (warned: state_dict keeps tensors only); other values are marked",
         before="import chainer\nimport numpy as np\n\n\nclass Counter(chainer.Link):\n"
                "    def __init__(self, stateful=False):\n        super(Counter, self).__init__()\n"
                "        self.add_persistent('stateful', stateful)\n"
                "        self.add_persistent('mean', np.zeros(3, dtype=np.float32))\n",
         after="import numpy as np\nimport torch\nfrom torch import nn\n\n\nclass Counter(nn.Module):\n"
               "    def __init__(self, stateful=False):\n        super(Counter, self).__init__()\n"
               "        self.stateful = stateful\n"
               "        self.register_buffer('mean', torch.as_tensor(np.zeros(3, dtype=np.float32)))\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\nfrom torch import nn\nm = nn.Module()\n"
               "m.register_buffer('mean', torch.zeros(3))\n",
               "# ported from chainer\nclass Store(object):\n    def add_persistent(self, name, value):\n"
               "        setattr(self, name, value)\n")),
    Rule("PT070", "link.namedparams() becomes named_parameters() where the names only serve as keys (d[name], name in "
         "d) of a loop or of dict(...) (where the code reads Chainer's paths '/l1/W' as text it is marked); "
         "target.copyparams(source) copies each parameter from the source's of the same name",
         before="import chainer\n\n\ndef share(target, source):\n    params = dict(target.namedparams())\n"
                "    for name, param in source.namedparams():\n        params[name].data[...] = param.data\n"
                "    target.copyparams(source)\n",
         after="import torch\n\n\ndef share(target, source):\n    params = dict(target.named_parameters())\n"
               "    for name, param in source.named_parameters():\n        params[name].data[...] = param.data\n"
               "    with torch.no_grad():\n        for name, parameter in target.named_parameters():\n"
               "            parameter.copy_(source.get_parameter(name))\n",
         target="torch",
         noop=("# ported from chainer\nfor name, p in model.named_parameters():\n    print(name)\n",
               "# ported from chainer\nnames = [name for name, _ in model.named_parameters()]\n")),
    Rule("PT071", "v1 FunctionSet's `model.parameters` (a tuple of the parameter arrays) becomes the NumPy views of "
         "the module's parameters, which write through as Chainer's arrays did",
         before="import chainer\nimport chainer.functions as F\nmodel = chainer.FunctionSet(l1=F.Linear(3, 2))\n"
                "for param in model.parameters:\n    param[:] = 0\n",
         after="import math\nfrom torch import nn\n\nmodel = nn.Module()\nmodel.l1 = nn.Linear(3, 2)\n"
               "nn.init.normal_(model.l1.weight, std=1 / math.sqrt(3))\nnn.init.zeros_(model.l1.bias)\n"
               "for param in tuple(p.detach().numpy() for p in model.parameters()):\n    param[:] = 0\n",
         target="torch",
         noop=("# ported from chainer\nfor param in model.parameters():\n    param.data.zero_()\n",
               "# ported from chainer\nimport inspect\nparams = inspect.signature(f).parameters\n")),
    Rule("PT072", "Chainer's link classes in module code: chainer.Chain(name=link, ...) is nn.ModuleDict, "
         "ChainList(*links) nn.ModuleList(links), chainer.Chain.__init__(self) nn.Module.__init__(self), and "
         "isinstance(x, chainer.Link / L.Linear / ...) tests the torch class",
         before="import chainer\n\n\ndef wrap(l1, links):\n"
                "    assert all(isinstance(link, chainer.Link) for link in links)\n"
                "    return chainer.Chain(l1=l1), chainer.ChainList(*links)\n",
         after="from torch import nn\n\n\ndef wrap(l1, links):\n"
               "    assert all(isinstance(link, nn.Module) for link in links)\n"
               "    return nn.ModuleDict({'l1': l1}), nn.ModuleList(links)\n",
         target="torch",
         noop=("# ported from chainer\nfrom torch import nn\nparts = nn.ModuleDict({'l1': nn.Linear(3, 2)})\n",
               "# ported from chainer\nok = isinstance(x, (list, tuple))\n")),
    Rule("PT073", "L.MLPConvolution2D becomes an MLPConvolution2D written into the file: an nn.ModuleList of the "
         "convolution and its 1x1 convolutions, ReLU between them, initialised as Chainer's",
         before="import chainer.links as L\nmlp = L.MLPConvolution2D(3, (16, 16, 10), 3)\n",
         after="import math\nimport torch\nfrom torch import nn\n\n\n" +
               LAZY_CLASS.format(name="LazyConv2d", link="L.Convolution2D") + "\n\n" + MLP_CONVOLUTION + "\n\n" +
               CHAINER_INIT + "\n\nmlp = MLPConvolution2D(3, (16, 16, 10), 3)\n",
         target="torch",
         noop=("# ported from chainer\nfrom torch import nn\nmlp = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU())\n",
               "# ported from chainer\nfrom mylib import links as L\nmlp = L.MLPConvolution2D(3, (16, 16, 10), 3)\n")),
    Rule("PT097", "L.Inception becomes an Inception written into the file: GoogLeNet's 1x1, 3x3 and 5x5 "
         "convolution paths and max-pooling path joined along the channels, initialised as Chainer's; marked with "
         "an initializer it cannot convert",
         before="import chainer.links as L\ninc = L.Inception(3, 4, 2, 4, 2, 4, 4)\n",
         after="import math\nimport torch\nfrom torch import nn\n\n\n" +
               LAZY_CLASS.format(name="LazyConv2d", link="L.Convolution2D") + "\n\n" + INCEPTION + "\n\n" +
               CHAINER_INIT + "\n\ninc = Inception(3, 4, 2, 4, 2, 4, 4)\n",
         target="torch",
         noop=("# ported from chainer\nfrom torch import nn\ninc = nn.Conv2d(3, 4, 1)\n",
               "# ported from chainer\nfrom mylib import links as L\ninc = L.Inception(3, 4, 2, 4, 2, 4, 4)\n")),
    Rule("PT074", "links with no torch counterpart (CaffeFunction, ...) are marked with "
         "what a port takes",
         before="import chainer.links as L\nnet = L.caffe.CaffeFunction('a.caffemodel')\n",
         after="import chainer.links as L\nnet = L.caffe.CaffeFunction('a.caffemodel')  # netport: TODO(PT074): "
               "`chainer.links.caffe.CaffeFunction` has no torch counterpart: " +
               _NO_TORCH_LINKS["chainer.links.caffe.CaffeFunction"] + "\n",
         target="torch",
         noop=("# ported from chainer\nfrom torch import nn\nloss = nn.CrossEntropyLoss()\n",
               "# ported from chainer\nfrom mylib import links as L\nnet = L.caffe.CaffeFunction('a.caffemodel')\n")),
    Rule("PT115", "L.InceptionBN becomes an InceptionBN written into the file: Chainer 1.24's block (bias-free "
         "convolutions, each with v1's batch normalization and ReLU; max or average pooling path), conv_init and "
         "dtype kept, Chainer's link names",
         before="import chainer.links as L\ninc = L.InceptionBN(3, 0, 2, 4, 2, 4, 'max', stride=2)\n",
         after="import math\nimport torch\nfrom torch import nn\n\n\n" + _chainer_batch_norm("BatchNorm2d") + "\n\n" +
               LAZY_CLASS.format(name="LazyConv2d", link="L.Convolution2D") + "\n\n" + INCEPTION_BN +
               "\n\ninc = InceptionBN(3, 0, 2, 4, 2, 4, 'max', stride=2)\n",
         target="torch",
         noop=("# ported from chainer\nfrom torch import nn\ninc = nn.Conv2d(3, 4, 1)\n",
               "# ported from chainer\nfrom mylib import links as L\ninc = L.InceptionBN(3, 0, 2, 4, 2, 4, 'max')\n")),
    Rule("PT116", "L.NegativeSampling becomes a NegativeSampling written into the file: Chainer 1.24's loss and W "
         "(`weight`), negatives drawn by torch.multinomial from counts ** power",
         before="import chainer.links as L\nloss = L.NegativeSampling(100, counts, 5)\n",
         after="import torch\nfrom torch import nn\n\n\n" + NEGATIVE_SAMPLING_FUNCTION + "\n\n" + NEGATIVE_SAMPLING +
               "\n\nloss = NegativeSampling(100, counts, 5)\n",
         target="torch",
         noop=("# ported from chainer\nfrom torch import nn\nloss = nn.CrossEntropyLoss()\n",
               "# ported from chainer\nfrom mylib import links as L\nloss = L.NegativeSampling(100, counts, 5)\n")),
    Rule("PT119", "L.BinaryHierarchicalSoftmax (a call or a reference, with its create_huffman_tree) becomes a "
         "BinaryHierarchicalSoftmax written into the file: Chainer 1.24's tree parsing, Huffman tree, loss and W "
         "(`weight`)",
         before="import chainer.links as L\nHSM = L.BinaryHierarchicalSoftmax\ntree = HSM.create_huffman_tree(counts)\n"
                "loss = HSM(100, tree)\n",
         after="import heapq\nimport torch\nfrom torch import nn\n\n\n" + BINARY_HIERARCHICAL_SOFTMAX +
               "\n\nHSM = BinaryHierarchicalSoftmax\ntree = HSM.create_huffman_tree(counts)\nloss = HSM(100, tree)\n",
         target="torch",
         noop=("# ported from chainer\nfrom torch import nn\nloss = nn.AdaptiveLogSoftmaxWithLoss(100, 10, [5])\n",
               "# ported from chainer\nfrom mylib import links as L\nloss = L.BinaryHierarchicalSoftmax(100, tree)\n")),
    Rule("PT124", "L.Parameter(array) becomes a ParameterLink written into the file: one parameter `weight` "
         "(Chainer's W, also readable as W) holding the array (its dtype, its memory), returned by a call",
         before="import numpy as np\nimport chainer\nimport chainer.links as L\n\n\nclass Net(chainer.Chain):\n"
                "    def __init__(self):\n        super(Net, self).__init__(p=L.Parameter(np.zeros((2, 3), 'f')))\n\n"
                "    def __call__(self, x):\n        return x + self.p() * self.p.W\n",
         after="import numpy as np\nimport torch\nfrom torch import nn\n\n\n" + PARAMETER_LINK + "\n\n"
               "class Net(nn.Module):\n    def __init__(self):\n        super(Net, self).__init__()\n"
               "        self.p = ParameterLink(np.zeros((2, 3), 'f'))\n\n"
               "    def forward(self, x):\n        return x + self.p() * self.p.weight\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\nfrom torch import nn\np = nn.Parameter(torch.zeros(3))\n",
               "# ported from chainer\nfrom mylib import links as L\np = L.Parameter(array)\n")),
    Rule("PT118", "an initializer's dtype (initialW=/initial_bias=, conv_init=) and BatchNormalization's dtype are "
         "the torch module's dtype= (float32, torch's default, left out)",
         before="import numpy as np\nimport chainer.links as L\nfrom chainer import initializers\n\n"
                "w = initializers.Normal(0.1, np.float16)\nfc = L.Linear(3, 2, initialW=w, nobias=True)\n"
                "bn = L.BatchNormalization(2, dtype=np.float16)\ny = bn(fc(x))\n",
         after="import numpy as np\nimport torch\nfrom torch import nn\n\n\n" + _chainer_batch_norm("BatchNorm1d") +
               "\n\nfc = nn.Linear(3, 2, bias=False, dtype=torch.float16)\nnn.init.normal_(fc.weight, std=0.1)\n"
               "bn = ChainerBatchNorm1d(2, eps=2e-05, momentum=0.1, dtype=torch.float16)\n"
               "nn.init.zeros_(bn.running_var)\ny = bn(fc(x))\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\nfrom torch import nn\nfc = nn.Linear(3, 2, dtype=torch.float16)\n",
               "# ported from chainer\nfrom mylib import initializers\nw = initializers.Normal(0.1, 'float16')\n")),
)

_MODULE_BASES = {"chainer.Chain": "Module", "chainer.link.Chain": "Module", "chainer.Link": "Module",
                 "chainer.link.Link": "Module", "chainer.ChainList": "ModuleList",
                 "chainer.link.ChainList": "ModuleList"}
# link -> (torch module, Chainer's positional parameter names)
_LINKS = {
    "chainer.links.Linear": ("Linear", ["in_size", "out_size", "nobias", "initialW", "initial_bias"]),
    "chainer.links.Convolution2D": ("Conv2d", ["in_channels", "out_channels", "ksize", "stride", "pad", "nobias",
                                               "initialW", "initial_bias"]),
    "chainer.links.Deconvolution2D": ("ConvTranspose2d", ["in_channels", "out_channels", "ksize", "stride", "pad",
                                                          "nobias", "outsize", "initialW", "initial_bias"]),
}
_IMAGE_LINKS = ("chainer.links.Convolution2D", "chainer.links.Deconvolution2D")
_BATCH_NORMS = {2: "BatchNorm1d", 3: "BatchNorm1d", 4: "BatchNorm2d", 5: "BatchNorm3d"}  # by the input's rank
# isinstance(x, <link class>): the torch class its modules are (Lazy* and chainer_init's are subclasses or these)
_ISINSTANCE_CLASSES = {"chainer.Link": "Module", "chainer.link.Link": "Module", "chainer.links.Linear": "Linear",
                       "chainer.links.Convolution2D": "Conv2d", "chainer.links.Deconvolution2D": "ConvTranspose2d",
                       "chainer.links.EmbedID": "Embedding"}
# what nn.ModuleDict has as attributes: a link of that name would be hidden behind them
_MODULE_DICT_ATTRIBUTES = frozenset({
    "clear", "items", "keys", "pop", "update", "values", "add_module", "apply", "buffers", "children", "cpu", "cuda",
    "double", "eval", "extra_repr", "float", "forward", "half", "load_state_dict", "modules", "named_buffers",
    "named_children", "named_modules", "named_parameters", "parameters", "register_buffer", "register_parameter",
    "requires_grad_", "state_dict", "to", "train", "training", "type", "zero_grad", "get_submodule", "get_parameter"})
_PARAM_RENAMES = {"W": "weight", "b": "bias"}
_BN_RENAMES = {"gamma": "weight", "beta": "bias", "avg_mean": "running_mean", "avg_var": "running_var"}
_FILLS = {"chainer.initializers.NaN": "float('nan')", "chainer.initializers.Zero": "0.0",
          "chainer.initializers.One": "1.0"}


@rule_pass("torch.modules", 10)
class ModuleRules(RulePass):
    def __init__(self, ctx):
        super().__init__(ctx)
        self._module_classes: list[bool] = []
        self._needs_classifier = False
        self._needs_lstm = False
        self._needs_nstep_lstm = False
        self._needs_chainer_init = False
        self._needs_chainer_copy = False
        self._needs_mlp_convolution = False
        self._needs_inception = False
        self._needs_inception_bn = False
        self._needs_negative_sampling = False
        self._needs_hierarchical_softmax = False
        self._needs_parameter_link = False
        self._lazy_classes: set[str] = set()  # the Lazy* classes of LAZY_CLASS to write
        self._chainer_batch_norms: set[str] = set()  # "BatchNorm1d"/"BatchNorm2d" of CHAINER_BATCH_NORM to write
        self._needs_batch_norm_nd = False  # BATCH_NORM_ND, for a link whose input rank is not known
        self._module_lists: list[bool] = []

    def finish_module(self, module: cst.Module) -> cst.Module:
        if self._initializer_uses:
            module = module.with_changes(body=self._drop_initializers((), list(module.body)))
        if self._needs_chainer_init:
            module = insert_definition(module, CHAINER_INIT)
        if self._needs_chainer_copy:
            module = insert_definition(module, CHAINER_COPY)
        if self._needs_mlp_convolution:
            module = insert_definition(module, MLP_CONVOLUTION)
        if self._needs_inception:
            module = insert_definition(module, INCEPTION)
        if self._needs_inception_bn:
            module = insert_definition(module, INCEPTION_BN)
        if self._needs_hierarchical_softmax:
            module = insert_definition(module, BINARY_HIERARCHICAL_SOFTMAX)
        if self._needs_parameter_link:
            module = insert_definition(module, PARAMETER_LINK)
        if self._needs_negative_sampling:
            module = insert_definition(module, NEGATIVE_SAMPLING)
            if not any(isinstance(statement, cst.FunctionDef) and statement.name.value == "chainer_negative_sampling"
                       for statement in module.body):  # (the functions pass may have written it)
                module = insert_definition(module, NEGATIVE_SAMPLING_FUNCTION)
        for lazy, link in reversed(_LAZY_LINKS.values()):
            if lazy in self._lazy_classes:
                module = insert_definition(module, LAZY_CLASS.format(name=lazy, link=link))
        if self._needs_nstep_lstm:
            module = insert_definition(module, NSTEP_LSTM_CLASS.format(
                init="" if self.ctx.init == "torch" else NSTEP_LSTM_INIT))
        for base in sorted(self._chainer_batch_norms, reverse=True):
            module = insert_definition(module, _chainer_batch_norm(base))
        if self._needs_batch_norm_nd:  # before the ChainerBatchNormNd that derives from it
            module = insert_definition(module, BATCH_NORM_ND)
        if self._needs_lstm:
            module = insert_definition(module, LSTM_CLASS.format(init="" if self.ctx.init == "torch" else LSTM_INIT))
        return insert_definition(module, CLASSIFIER) if self._needs_classifier else module

    def visit_Module(self, node: cst.Module) -> None:
        super().visit_Module(node)
        self._scope_path: list[str] = []
        self._class_names: list[str] = []
        self._bindings = _bindings(self.ctx.syntax_tree(), self.project.chain_classes)
        self._batch_normalization_v1 = defines_class(node, BATCH_NORMALIZATION_V1)
        self._renames = _attribute_renames(self.ctx.syntax_tree(), self.project.chain_classes)
        self._program_methods = OwnMethods(self.ctx.syntax_tree(), self.project)  # PT120
        batch_norms = {name for name, link in self.project.link_types.items()
                       if link == "chainer.links.BatchNormalization"}
        self._finetune = _finetune_calls(self.ctx.source, self.ctx.syntax_tree(), batch_norms)
        self._bn_ranks: dict | None = None  # (see _batch_norm_ranks), read when the file has a BatchNormalization
        self._scope_values: dict | None = None  # (see _scope_bindings), read for initialW=name
        self._attribute_links: dict | None = None  # (see _attribute_links), read for `.W` of `model.l1`
        self._initializer_uses: dict[tuple[tuple[str, ...], str], int] = {}  # (scope, name) -> uses converted

    def _nn(self, name: str) -> str:
        self.ctx.imports.add(("torch", "nn", None))
        return f"nn.{name}"

    # classes
    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self._module_classes.append(any(self.qualified(b.value) in _MODULE_BASES for b in node.bases))
        self._module_lists.append(any(_MODULE_BASES.get(self.qualified(b.value)) == "ModuleList" for b in node.bases))
        self._scope_path.append(node.name.value)
        self._class_names.append(node.name.value)
        return not self._is_batch_normalization_v1(node)  # its body is Chainer code that goes with it

    def _is_batch_normalization_v1(self, node: cst.ClassDef) -> bool:
        return self._batch_normalization_v1 and node.name.value == BATCH_NORMALIZATION_V1 and \
            len(self._class_names) == 1

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        if self._is_batch_normalization_v1(original):  # CH017's subclass: its calls become ChainerBatchNorm
            self.remove(original)
            updated = updated.with_changes(leading_lines=[line for line in updated.leading_lines if line.comment])
        self._module_classes.pop()
        self._module_lists.pop()
        self._scope_path.pop()
        self._class_names.pop()
        bases = []
        for old, base in zip(original.bases, updated.bases):
            qualified = self.qualified(old.value)
            if qualified in _MODULE_BASES:
                base = base.with_changes(value=cst.parse_expression(self._nn(_MODULE_BASES[qualified])))
                self.info(original, "PT001", f"`{original.name.value}` derives from `nn.{_MODULE_BASES[qualified]}`")
            bases.append(base)
        return updated.with_changes(bases=bases)

    @property
    def _in_module_class(self) -> bool:
        return bool(self._module_classes) and self._module_classes[-1]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._scope_path.append(node.name.value)

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        if self._initializer_uses and isinstance(updated.body, cst.IndentedBlock):
            body = self._drop_initializers(tuple(self._scope_path), list(updated.body.body))
            if len(body) != len(updated.body.body):
                updated = updated.with_changes(body=updated.body.with_changes(body=body or [cst.SimpleStatementLine(
                    [cst.Pass()])]))
        self._scope_path.pop()
        if self._in_module_class and original.name.value == "__call__":
            self.info(original, "PT001", "`__call__` is `forward` in torch (nn.Module.__call__ runs hooks, then forward)")
            return updated.with_changes(name=cst.Name("forward"))
        method = self._in_module_class and self._scope_path[-1:] == self._class_names[-1:]  # not a nested def
        renames = self._renames.get(self._class_names[-1], {}) if method else {}
        if original.name.value in renames:  # a v1.4 forward(x_data, y_data) next to __call__
            new = renames[original.name.value]
            self.info(original, "PT001", f"the class's own `{original.name.value}` method is `{new}`: `forward` is "
                      "what nn.Module.__call__ runs, and `__call__` became it")
            return updated.with_changes(name=cst.Name(new))
        return updated

    # init_scope
    def leave_With(self, original: cst.With, updated: cst.With):
        if len(original.items) == 1 and isinstance(original.items[0].item, cst.Call):
            func = original.items[0].item.func
            if isinstance(func, cst.Attribute) and func.attr.value == "init_scope" and \
                    isinstance(updated.body, cst.IndentedBlock):
                self.insert_after(original, list(updated.body.body))
                self.remove(original)
                self.info(original, "PT002", "`init_scope()` dissolved: nn.Module registers what is assigned")
        return updated

    # links, parameters, super().__init__(*links)
    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        qualified = self.callee(original)
        if qualified in _LINKS:
            return self._link(original, updated, qualified)
        if qualified == "chainer.links.BatchNormalization":
            return self._batch_normalization(original, updated)
        if self._batch_normalization_v1 and isinstance(original.func, cst.Name) and \
                original.func.value == BATCH_NORMALIZATION_V1:
            return self._batch_normalization(original, updated, v1=True)
        if qualified == "chainer.links.LSTM":
            return self._lstm(original, updated)
        if qualified == "chainer.links.NStepLSTM":
            return self._nstep_lstm(original, updated)
        if qualified == "chainer.links.EmbedID":
            return self._embed_id(original, updated)
        if qualified == "chainer.links.MLPConvolution2D":
            return self._mlp_convolution(original, updated)
        if qualified == "chainer.links.Inception":
            return self._inception(original, updated)
        if qualified == "chainer.links.InceptionBN":
            return self._inception_bn(original, updated)
        if qualified == "chainer.links.NegativeSampling":
            return self._negative_sampling(original, updated)
        if qualified == HIERARCHICAL_SOFTMAX:
            return self._hierarchical_softmax(original, updated)
        if qualified == PARAMETER:
            return self._parameter_link(original, updated)
        if qualified == "chainer.links.Classifier" and len(updated.args) == 1 and updated.args[0].keyword is None:
            if "Classifier" in self.project.classes:
                self.todo(original, "PT006", "L.Classifier: this program defines its own Classifier; write the loss "
                          "and accuracy wrapper by hand")
                return updated
            self._needs_classifier = True
            self._nn("Module")  # the inserted class needs `from torch import nn`
            target = _assignment_target(self.statement, original)
            if target is not None and not self._module_classes:
                self.ctx.global_models.append(target)
            self.info(original, "PT006", "L.Classifier is the `Classifier` module defined at the top of this file "
                      "(softmax cross-entropy loss and accuracy around the predictor, as Chainer's)")
            return updated.with_changes(func=cst.Name("Classifier"))
        if qualified in ("chainer.Chain", "chainer.ChainList") and not updated.args:
            target = _assignment_target(self.statement, original)
            if target is not None and not self._module_classes:
                self.ctx.global_models.append(target)
            kind = "Module" if qualified == "chainer.Chain" else "ModuleList"
            self.info(original, "PT001", f"an empty {qualified.split('.')[-1]} is `nn.{kind}()`")
            return cst.parse_expression(f"{self._nn(kind)}()")
        if qualified == "chainer.Parameter":
            return self._parameter(original, updated)
        if isinstance(original.func, cst.Attribute) and isinstance(original.func.value, cst.Name) and \
                original.func.value.value == "self" and original.func.attr.value in self._finetune and \
                any(a.keyword is not None and a.keyword.value == "finetune" for a in original.args):
            return self._finetune_call(original, updated)
        if self._is_linear_link_call(original) and updated.args and updated.args[0].keyword is None \
                and not _is_flattened(updated.args[0].value):
            # L.Linear flattened its input to (batch, -1) like F.linear; nn.Linear applies to the last
            # axis. Only programs with convolutions feed it images, so only there is it spelled out.
            self.info(original, "PT003", "a Linear link flattened its input after the batch axis: `.flatten(1)`")
            first = updated.args[0]
            return updated.with_changes(args=[first.with_changes(
                value=cst.parse_expression(f"{paren(code(first.value))}.flatten(1)")), *updated.args[1:]])
        if isinstance(original.func, cst.Attribute) and original.func.attr.value == "copy" and \
                self._is_link(original.func.value):
            return self._copy(original, updated)
        converted = self._chainer_names(original, updated, qualified)
        if converted is not None:
            return converted
        func = updated.func
        if self._module_classes and isinstance(func, cst.Attribute) and func.attr.value == "__init__" and \
                len(updated.args) == 1 and updated.args[0].star == "*":
            # ChainList.__init__(*links) -> ModuleList.__init__(links)
            return updated.with_changes(args=[updated.args[0].with_changes(star="")])
        if self._module_lists and self._module_lists[-1] and isinstance(func, cst.Attribute) and \
                func.attr.value == "__init__" and updated.args and \
                all(a.keyword is None and not a.star for a in updated.args) and _is_super_call(func.value):
            # ChainList.__init__(l1, l2) -> ModuleList.__init__([l1, l2])
            self.info(original, "PT001", "ChainList.__init__(*links) is ModuleList.__init__([links])")
            return updated.with_changes(args=[cst.Arg(cst.parse_expression(
                "[" + ", ".join(code(a.value) for a in updated.args) + "]"))])
        if isinstance(func, cst.Attribute) and func.attr.value == "add_link" and len(updated.args) == 1 and \
                updated.args[0].keyword is None and not updated.args[0].star and (
                    code(func.value) == "self" and self._module_lists and self._module_lists[-1] or
                    self._is_link(original.func.value)):
            self.info(original, "PT001", "ChainList.add_link(link) is ModuleList.append(link)")
            return updated.with_changes(func=func.with_changes(attr=cst.Name("append")))
        if qualified == "chainer.ChainList" and updated.args and \
                all(a.keyword is None and not a.star for a in updated.args):
            self.info(original, "PT001", "a ChainList of links is an nn.ModuleList of them")
            return cst.parse_expression(f"{self._nn('ModuleList')}([" + ", ".join(code(a.value) for a in updated.args)
                                        + "])")
        return updated

    def _mlp_convolution(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        names = ["in_channels", "out_channels", "ksize", "stride", "pad", "activation"]
        values = bind_arguments(updated, [*names, "conv_init", "bias_init", "initialW", "initial_bias"])
        if values is not None and "ksize" not in values and {"in_channels", "out_channels"} <= set(values):
            values = {**values, "in_channels": cst.Name("None"), "out_channels": values["in_channels"],
                      "ksize": values["out_channels"]}  # Chainer 2+'s (out_channels, ksize)
        problem = None
        if values is None or not {"in_channels", "out_channels", "ksize"} <= set(values):
            problem = "arguments netport cannot match"
        elif "activation" in values and self.qualified(values["activation"]) != "chainer.functions.relu":
            problem = f"activation={code(values['activation'])}"
        scale = bias = None
        weight = values.get("conv_init", values.get("initialW")) if problem is None else None  # (CH011's initialW)
        if weight is not None and not is_none(weight):
            fill = self._fill(weight, "w", "fan_in", "fan_out")
            if not fill.lecun:
                problem = f"conv_init={code(weight)}"
            else:
                self._use_fill(fill)
                scale = fill.scale
        initial = values.get("bias_init", values.get("initial_bias")) if problem is None else None
        if initial is not None and not is_none(initial):
            if _number(initial) is None:
                problem = f"bias_init={code(initial)}"
            bias = code(initial)
        if problem is not None:
            self.todo(original, "PT073", f"L.MLPConvolution2D with {problem}: write its convolutions by hand (an "
                      "nn.ModuleList of nn.Conv2d, the first with ksize/stride/pad, the others 1x1, the activation "
                      "between them)")
            return updated
        args = ", ".join(code(values[name]) for name in ("in_channels", "out_channels", "ksize"))
        for name in ("stride", "pad"):
            if name in values:
                args += f", {name}={code(values[name])}"
        args += (f", scale={scale}" if scale is not None else "") + (f", initial_bias={bias}" if bias else "")
        self._needs_mlp_convolution = self._needs_chainer_init = True
        self._lazy_classes.add("LazyConv2d")
        self._nn("Conv2d")
        self.need_import("math")
        self.need_import("torch")
        self.info(original, "PT073", "L.MLPConvolution2D is the `MLPConvolution2D` written into this file: an "
                  "nn.ModuleList of the convolution and its 1x1 convolutions, ReLU between them, initialised as "
                  "Chainer's")
        return cst.parse_expression(f"MLPConvolution2D({args})")

    def _inception(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        sizes = ["in_channels", "out1", "proj3", "out3", "proj5", "out5", "proj_pool"]
        values = bind_arguments(updated, [*sizes, "conv_init", "bias_init"])
        problem = None if values is not None and set(sizes) <= set(values) else "arguments netport cannot match"
        scale = bias = None
        weight = values.get("conv_init") if problem is None else None
        if weight is not None and not is_none(weight):
            fill = self._fill(weight, "w", "fan_in", "fan_out")
            if not fill.lecun:
                problem = f"conv_init={code(weight)}"
            else:
                self._use_fill(fill)
                scale = fill.scale
        initial = values.get("bias_init") if problem is None else None
        if initial is not None and not is_none(initial):
            if _number(initial) is None:
                problem = f"bias_init={code(initial)}"
            bias = code(initial)
        if problem is not None:
            self.todo(original, "PT097", f"L.Inception with {problem}: write GoogLeNet's block by hand (the 1x1, "
                      "1x1-3x3 and 1x1-5x5 nn.Conv2d paths and a 3x3 max pooling with a 1x1 nn.Conv2d, joined by "
                      "torch.cat(..., dim=1) and one ReLU)")
            return updated
        args = ", ".join(code(values[name]) for name in sizes)
        args += (f", scale={scale}" if scale is not None else "") + (f", initial_bias={bias}" if bias else "")
        self._needs_inception = self._needs_chainer_init = True
        self._lazy_classes.add("LazyConv2d")
        self._nn("Conv2d")
        self.need_import("math")
        self.need_import("torch")
        self.info(original, "PT097", "L.Inception is the `Inception` written into this file: its convolution and "
                  "max-pooling paths joined along the channels, initialised as Chainer's")
        return cst.parse_expression(f"Inception({args})")

    def _inception_bn(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        sizes = ["in_channels", "out1", "proj3", "out3", "proj33", "out33", "pooltype"]
        values = bind_arguments(updated, [*sizes, "proj_pool", "stride", "conv_init", "dtype"])
        problem = None if values is not None and set(sizes) <= set(values) else "arguments netport cannot match"
        init = conv_dtype = norm_dtype = fill = None
        weight = values.get("conv_init") if problem is None else None
        if weight is not None and not is_none(weight):
            fill = self._fill(weight, "w", "w[0].numel()", "w.shape[0]", dtypes=True)
            if fill.code is None:
                problem = f"conv_init={code(weight)} ({fill.text})"
            else:
                init, conv_dtype = f"lambda w: {fill.code}", fill.dtype
        if problem is None and "dtype" in values:
            norm_dtype = self._torch_dtype(values["dtype"], none="float64")
            if norm_dtype is None:
                problem = f"dtype={code(values['dtype'])}, which netport cannot follow"
            norm_dtype = None if norm_dtype == "torch.float32" else norm_dtype
        if problem is None and conv_dtype != norm_dtype:
            problem = (f"convolutions of dtype {conv_dtype or 'torch.float32'} (conv_init's) and batch "
                       f"normalizations of dtype {norm_dtype or 'torch.float32'}")
        if problem is not None:
            self.todo(original, "PT115", f"L.InceptionBN with {problem}: write GoogLeNet's block by hand (1x1, "
                      "1x1-3x3 and 1x1-3x3-3x3 bias-free nn.Conv2d paths and a 3x3 pooling path, each convolution "
                      "followed by batch normalization (eps 2e-5, momentum 0.1) and ReLU, joined by torch.cat)")
            return updated
        if fill is not None:
            self._use_fill(fill)
        args = ", ".join(code(values[name]) for name in sizes)
        args += "".join(f", {name}={code(values[name])}" for name in ("proj_pool", "stride") if name in values)
        args += (f", init={init}" if init else "") + (f", dtype={conv_dtype}" if conv_dtype else "")
        self._needs_inception_bn = True
        self._lazy_classes.add("LazyConv2d")
        self._chainer_batch_norms.add("BatchNorm2d")
        self._nn("Conv2d")
        self.need_import("math")
        self.need_import("torch")
        self.info(original, "PT115", "L.InceptionBN is the `InceptionBN` written into this file (Chainer 1.24's "
                  "block: its convolution paths with v1's batch normalization and ReLU, and its pooling path, joined "
                  "along the channels; Chainer's link names, for convert-weights)" +
                  (f"; conv_init: {fill.text}" if fill is not None else ""))
        return cst.parse_expression(f"InceptionBN({args})")

    def _negative_sampling(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        values = bind_arguments(updated, ["in_size", "counts", "sample_size", "power"])
        if values is None or len(values) < 3 or "NegativeSampling" in self.project.classes:
            self.todo(original, "PT116", "L.NegativeSampling " + ("with these arguments" if values is None or
                      len(values) < 3 else "in a program that defines its own NegativeSampling") + ": write the "
                      "loss module by hand (" + _NO_TORCH_LINKS["chainer.links.NegativeSampling"] + ")")
            return updated
        self._needs_negative_sampling = True
        self._nn("Module")
        self.need_import("torch")
        self.info(original, "PT116", "L.NegativeSampling is the `NegativeSampling` written into this file: Chainer "
                  "1.24's loss with its W (here `weight`, zero at the start); the negatives are drawn by "
                  "torch.multinomial from counts ** power, the distribution of Chainer's WalkerAlias (another random "
                  "stream: the loss equals Chainer's for the same samples, which forward(..., samples=) takes)")
        return updated.with_changes(func=cst.Name("NegativeSampling"))

    def _hierarchical_softmax(self, original: cst.CSTNode, updated: cst.BaseExpression) -> cst.BaseExpression:
        """L.BinaryHierarchicalSoftmax called or referred to (``HSM = L.BinaryHierarchicalSoftmax``,
        ``L.BinaryHierarchicalSoftmax.create_huffman_tree(counts)``): the written-in class takes Chainer's
        arguments (in_size, tree) and has its static create_huffman_tree, so any use of the link is one of it."""
        func = original.func if isinstance(original, cst.Call) else original
        if "BinaryHierarchicalSoftmax" in self.project.classes or isinstance(func, cst.Name):
            # (a name imported from chainer.links would shadow or be shadowed by the written-in class's)
            self.todo(original, "PT119", "L.BinaryHierarchicalSoftmax " + ("imported by name: use it as "
                      "`L.BinaryHierarchicalSoftmax` (chainer.links imported as a module) for netport to write its "
                      "class in, or write" if isinstance(func, cst.Name) else "in a program that defines its own "
                      "BinaryHierarchicalSoftmax: write") + " the loss module by hand (" +
                      _NO_TORCH_LINKS[HIERARCHICAL_SOFTMAX] + ")")
            return updated
        self._needs_hierarchical_softmax = True
        self._nn("Module")
        self.need_import("torch")
        self.need_import("heapq")
        self.info(original, "PT119", "L.BinaryHierarchicalSoftmax is the `BinaryHierarchicalSoftmax` written into "
                  "this file: Chainer 1.24's tree parsing, create_huffman_tree (the same tree for the same counts) "
                  "and loss (summed over the batch and the path), its W here `weight` (uniform(-1, 1) at the start, "
                  "from torch's random stream)")
        if isinstance(updated, cst.Call):
            return updated.with_changes(func=cst.Name("BinaryHierarchicalSoftmax"))
        return cst.Name("BinaryHierarchicalSoftmax")

    def _parameter_link(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        values = bind_arguments(updated, ["array"])
        if values is None or "array" not in values or "ParameterLink" in self.project.classes:
            self.todo(original, "PT124", "L.Parameter " + ("in a program that defines its own ParameterLink" if
                      values is not None and "array" in values else "with these arguments") + ": write a module "
                      "holding `nn.Parameter(torch.as_tensor(array))` whose forward() returns it")
            return updated
        self._needs_parameter_link = True
        self._nn("Module")
        self.need_import("torch")
        self.info(original, "PT124", "L.Parameter is the `ParameterLink` written into this file: Chainer 1.24's link "
                  "holding one parameter, the array it was given (its dtype; the same memory, for a NumPy array on "
                  "the CPU), returned by a call; its W here `weight` (`.W` reads it too)")
        return updated.with_changes(func=cst.Name("ParameterLink"))

    def _embed_id(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        values = bind_arguments(updated, ["in_size", "out_size", "initialW", "ignore_label"])
        initial = values.get("initialW") if values is not None else None
        initial = None if initial is None or is_none(initial) else initial
        target = _assignment_target(self.statement, original)
        if values is None or not {"in_size", "out_size"} <= set(values) or \
                not is_none(values.get("ignore_label", cst.Name("None"))):
            self.todo(original, "PT007", "L.EmbedID with ignore_label or arguments netport cannot match: torch's "
                      "padding_idx is not Chainer's ignore_label (which yields zero vectors for -1); write "
                      "nn.Embedding by hand")
            return updated
        embedding = f"{self._nn('Embedding')}({code(values['in_size'])}, {code(values['out_size'])})"
        if initial is None:
            # Chainer's default initialW is Normal(1.0), torch's Embedding default N(0, 1): the same
            self.info(original, "PT007", "L.EmbedID is nn.Embedding (both draw the table from N(0, 1))")
            return cst.parse_expression(embedding)
        # W is (in_size, out_size), as torch's weight: Chainer 1.24's fans are out_size and in_size
        fill = self._fill(initial, f"{target}.weight", code(values["out_size"]), code(values["in_size"])) \
            if target is not None else _Fill(None, "no assignment to attach the initialisation to")
        if fill.code is None:
            self.todo(original, "PT037", f"L.EmbedID with initialW={code(initial)}: {fill.text}; initialise the "
                      "nn.Embedding's weight by hand")
            return updated
        self._use_fill(fill)
        self.info(original, "PT037", f"L.EmbedID with initialW={code(initial)} is nn.Embedding with `{fill.code}`: "
                  f"{fill.text}")
        self.insert_after(self.statement, [cst.parse_statement(fill.statement() + "\n")])
        return cst.parse_expression(embedding)

    # Chainer names in module code (PT039, PT070-PT074)
    def _chainer_names(self, original: cst.Call, updated: cst.Call, qualified: str | None):
        """The conversions of Chainer's link API that keep a call a call; None where none applies."""
        func = original.func
        if qualified == "chainer.Chain" and updated.args and all(a.keyword is not None for a in updated.args):
            return self._module_dict(original, updated)
        if qualified == "chainer.ChainList" and updated.args and any(a.star == "*" for a in updated.args) and \
                not any(a.keyword is not None or a.star == "**" for a in updated.args):
            items = updated.args
            inner = code(items[0].value) if len(items) == 1 else "[" + ", ".join(code(a) .rstrip(", ") for a in
                                                                                   items) + "]"
            self.info(original, "PT072", "a ChainList of links is an nn.ModuleList of them")
            return cst.parse_expression(f"{self._nn('ModuleList')}({inner})")
        if isinstance(func, cst.Attribute) and func.attr.value == "__init__" and \
                self.qualified(func.value) in _MODULE_BASES and updated.args and updated.args[0].keyword is None \
                and not updated.args[0].star:
            return self._base_init(original, updated, self.qualified(func.value))
        if isinstance(func, cst.Name) and func.value in ("isinstance", "issubclass") and len(updated.args) == 2:
            return self._isinstance(original, updated)
        if qualified in _NO_TORCH_LINKS:
            self.todo(original, "PT074", f"`{qualified}` has no torch counterpart: {_NO_TORCH_LINKS[qualified]}")
            return updated
        # (methods no other library has: matched by name, whatever the receiver the program's own classes do not
        # define them for, PT120)
        if isinstance(func, cst.Attribute) and func.attr.value in ("add_persistent", "namedparams", "copyparams") \
                and is_dotted(func.value) and self._program_methods.owner(
                    func.attr.value, code(func.value),
                    next((a.name.value for a in self.ancestors(original) if isinstance(a, cst.ClassDef)), None)):
            return None
        if isinstance(func, cst.Attribute) and func.attr.value == "add_persistent":
            return self._add_persistent(original, updated)
        if isinstance(func, cst.Attribute) and func.attr.value == "namedparams" and not updated.args:
            return self._namedparams(original, updated)
        if isinstance(func, cst.Attribute) and func.attr.value == "copyparams" and len(updated.args) == 1 and \
                updated.args[0].keyword is None and not updated.args[0].star:
            return self._copyparams(original, updated)
        return None

    def _copyparams(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        """``target.copyparams(source)``: each parameter's data copied from the source's of the same name (Chainer
        went through the children by name), gradients and persistent values left."""
        target, source = code(original.func.value), code(updated.args[0].value)
        statement = self.statement
        if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 and
                isinstance(statement.body[0], cst.Expr) and statement.body[0].value is original):
            self.todo(original, "PT070", f"`{target}.copyparams({source})` inside an expression: copy each parameter "
                      f"of `{source}` into `{target}`'s of the same name under torch.no_grad()")
            return updated
        self.need_import("torch")
        self.info(original, "PT070", f"`{target}.copyparams({source})` copies each parameter's data from the "
                  f"parameter of the same name of `{source}` (get_parameter), under torch.no_grad(), as Chainer did")
        block = cst.parse_statement(f"with torch.no_grad():\n    for name, parameter in {target}.named_parameters():\n"
                                    f"        parameter.copy_({paren(source)}.get_parameter(name))\n")
        self.insert_after(statement, [block.with_changes(leading_lines=statement.leading_lines)])
        self.remove(statement)
        return updated

    def _module_dict(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        """``chainer.Chain(l1=link, ...)``: the links by name, ``chain.l1`` and ``chain['l1']``: nn.ModuleDict."""
        names = [a.keyword.value for a in updated.args]
        clashes = [name for name in names if name in _MODULE_DICT_ATTRIBUTES]
        if clashes:
            self.todo(original, "PT072", f"chainer.Chain(**links) with a link named `{clashes[0]}`, which "
                      "nn.ModuleDict (and nn.Module) has as a method: build an nn.Module subclass with its own "
                      "attribute names")
            return updated
        self.info(original, "PT072", "chainer.Chain(name=link, ...) is nn.ModuleDict({'name': link, ...}): its links "
                  "by attribute (`chain.name`) and by key, as Chain's")
        items = ", ".join(f"{name!r}: {code(a.value)}" for name, a in zip(names, updated.args))
        return cst.parse_expression(f"{self._nn('ModuleDict')}({{{items}}})")

    def _base_init(self, original: cst.Call, updated: cst.Call, base: str) -> cst.BaseExpression:
        """``chainer.Chain.__init__(self)`` -> ``nn.Module.__init__(self)``;
        ``chainer.ChainList.__init__(self, *links)`` -> ``nn.ModuleList.__init__(self, links)``."""
        kind = _MODULE_BASES[base]
        rest = updated.args[1:]
        if any(a.keyword is not None or a.star == "**" for a in rest) or rest and kind != "ModuleList":
            return updated  # links by keyword: CH030 makes them assignments; anything else stays marked
        args = code(updated.args[0].value)
        if rest:
            args += ", " + (code(rest[0].value) if len(rest) == 1 and rest[0].star == "*" else
                            "[" + ", ".join(code(a).rstrip(", ") for a in rest) + "]")
        self.info(original, "PT072", f"`{base}.__init__(self, ...)` is `nn.{kind}.__init__`")
        return cst.parse_expression(f"{self._nn(kind)}.__init__({args})")

    def _isinstance(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        """``isinstance(x, L.Linear)`` -> ``isinstance(x, nn.Linear)``: the torch class each link becomes."""
        classes = updated.args[1].value
        elements = [e.value for e in classes.elements] if isinstance(classes, cst.Tuple) else [classes]
        names = [self.qualified(e) for e in elements]
        if not any(name in _ISINSTANCE_CLASSES or name in _MODULE_BASES for name in names):
            return updated
        unknown = [name for name in names if (name or "").startswith("chainer.") and name not in _ISINSTANCE_CLASSES]
        if unknown:
            self.todo(original, "PT072", f"`{original.func.value}(..., {unknown[0]})`: netport's torch modules do not "
                      "keep this class (a Chain and a Link are both nn.Module): test for what the code needs")
            return updated
        new = [cst.parse_expression(self._nn(_ISINSTANCE_CLASSES[name])) if name in _ISINSTANCE_CLASSES else element
               for name, element in zip(names, elements)]
        self.info(original, "PT072", f"`{code(classes)}` is `{', '.join(code(n) for n in new)}` in torch")
        value = classes.with_changes(elements=[e.with_changes(value=n) for e, n in zip(classes.elements, new)]) \
            if isinstance(classes, cst.Tuple) else new[0]
        return updated.with_changes(args=[updated.args[0], updated.args[1].with_changes(value=value)])

    def _add_persistent(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        """``link.add_persistent(name, value)`` (serialized with the link and set as its attribute): an array is a
        buffer (saved in state_dict and moved by .to(), as Chainer's persistent arrays were); a number or flag
        a plain attribute."""
        values = bind_arguments(updated, ["name", "value"])
        receiver = code(original.func.value)
        if values is None or set(values) != {"name", "value"} or not isinstance(values["name"], cst.SimpleString):
            self.todo(original, "PT039", f"`{receiver}.add_persistent(...)` with these arguments: register the value "
                      f"with {receiver}.register_buffer(name, tensor) (an array) or set it as an attribute by hand")
            return updated
        name, value = values["name"], values["value"]
        kind, _, _ = self._init_value(value)
        if kind == "array":
            self.need_import("torch")
            self.info(original, "PT039", f"`add_persistent({code(name)}, array)` is `register_buffer`: a tensor saved "
                      "in state_dict() and moved with the module, as Chainer's persistent array")
            return cst.parse_expression(f"{receiver}.register_buffer({code(name)}, torch.as_tensor({code(value)}))")
        scalar = kind == "number" or code(value) in ("True", "False", "None") or self._scalar_parameter(value)
        if not scalar:
            self.todo(original, "PT039", f"`{receiver}.add_persistent({code(name)}, {code(value)})`: a value of a type "
                      f"this file does not show: register an array with {receiver}.register_buffer({code(name)}, "
                      "torch.as_tensor(value)); set a number or flag as an attribute")
            return updated
        self.warn(original, "PT039", f"`add_persistent({code(name)}, {code(value)})` of a number or flag is the "
                  f"attribute `{receiver}.{ast.literal_eval(code(name))}`: torch keeps only tensors in "
                  "state_dict(), so a saved model no longer carries it (Chainer's serializers saved it)")
        attribute = ast.literal_eval(code(name))
        statement = self.statement
        if attribute.isidentifier() and isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 \
                and isinstance(statement.body[0], cst.Expr) and statement.body[0].value is original:
            self.insert_after(statement, [statement.with_changes(body=[cst.parse_statement(
                f"{receiver}.{attribute} = {code(value)}\n").body[0]])])
            self.remove(statement)
            return updated
        return cst.parse_expression(f"setattr({receiver}, {code(name)}, {code(value)})")

    def _scalar_parameter(self, node: cst.BaseExpression) -> bool:
        """A parameter of the enclosing function whose default is a number, bool or None."""
        if not isinstance(node, cst.Name):
            return False
        function = next((n for n in reversed(self._path) if isinstance(n, cst.FunctionDef)), None)
        if function is None:
            return False
        for param in function.params.params:
            if param.name.value == node.value and param.default is not None:
                return code(param.default) in ("True", "False", "None") or _number(param.default) is not None
        return False

    def _namedparams(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        """``link.namedparams()`` -> ``named_parameters()`` where the names are only compared with each other
        (keys of dicts both sides fill); their text is Chainer's path ('/l1/W') and torch's 'l1.weight'."""
        receiver = code(original.func.value)
        why = self._path_uses(original)
        if why is not None:
            self.todo(original, "PT070", f"`{receiver}.namedparams()` yields Chainer's paths ('/l1/W'), which this "
                      f"code {why}: torch's named_parameters() names them 'l1.weight'; adapt the names by hand")
            return updated
        self.info(original, "PT070", f"`{receiver}.namedparams()` is `named_parameters()`: the names are only used as "
                  "keys here (torch's 'l1.weight' for Chainer's '/l1/W', the same for every model)")
        return updated.with_changes(func=updated.func.with_changes(attr=cst.Name("named_parameters")))

    def _path_uses(self, call: cst.Call) -> str | None:
        """None when the names ``call`` (``x.namedparams()``) yields are only keys (``d[name]``, ``name in d``) of
        ``for name, param in call:`` or of ``d = dict(call)``; else how the code reads them."""
        parent = self.parent(call)
        if isinstance(parent, cst.For) and parent.iter is call:
            target = parent.target
            if isinstance(target, cst.Tuple) and len(target.elements) == 2 and \
                    isinstance(target.elements[0].value, cst.Name):
                return _key_only(parent.body, target.elements[0].value.value)
            return "reads from the (name, parameter) pairs by index"
        grand = self.parent(parent) if isinstance(parent, cst.Arg) else None
        assign = self.parent(grand) if isinstance(grand, cst.Call) else None
        if isinstance(grand, cst.Call) and isinstance(grand.func, cst.Name) and grand.func.value == "dict" and \
                isinstance(assign, cst.Assign) and len(assign.targets) == 1 and \
                isinstance(assign.targets[0].target, cst.Name):
            function = next((n for n in reversed(self._path) if isinstance(n, (cst.FunctionDef, cst.Module))), None)
            return _key_only(function, assign.targets[0].target.value, subscripts_only=True, skip=assign)
        return "passes on"

    def _finetune_call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        """``self.bn(h, finetune=...)``: finetune=False is the default; finetune=True, when every call of the
        link passes it, is the module's momentum=None (set at its construction); anything else is marked."""
        name = original.func.attr.value
        value = next(code(a.value) for a in original.args if a.keyword is not None and a.keyword.value == "finetune")
        calls = self._finetune[name]
        if value == "False" or value == "True" and set(calls) == {"True"}:
            self.info(original, "PT003", "`finetune=False` is the default" if value == "False" else
                      f"`finetune=True` (in every call of `self.{name}`): Chainer's cumulative average of the batch "
                      "statistics is the module's momentum=None")
            args = [a for a in updated.args if not (a.keyword is not None and a.keyword.value == "finetune")]
            if args:
                args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            return updated.with_changes(args=args)
        self.todo(original, "PT003", f"`self.{name}(..., finetune={value})`: Chainer's fine-tuning mode (running "
                  "statistics as the cumulative average of the batches, decay = 1 - 1/N) is nn.BatchNorm's "
                  "momentum=None, a setting of the module, not of a call: set `momentum` for the calls by hand")
        return updated

    def _lstm(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        values = bind_arguments(updated, LSTM_ARGUMENTS)
        problem = lstm_problem(None if values is None else {k: is_none(v) for k, v in values.items()},
                               self.project.classes)
        if problem is not None:
            self.todo(original, "PT030", f"L.LSTM with {problem}: " + LSTM_TODO)
            return updated
        self._needs_lstm = True
        self._nn("LSTMCell")
        self.need_import("torch")
        if self.ctx.init != "torch":
            self.need_import("math")
        # Chainer 2+ starts the forget gate's bias at 1 (v1 code has forget_bias_init=0 from CH015 by now)
        forget = code(values["forget_bias_init"]) if "forget_bias_init" in values else "1"
        args = f"{code(values['in_size'])}, {code(values['out_size'])}"
        if "bias_init" in values:
            args += f", bias_init={code(values['bias_init'])}"
        self.info(original, "PT031", "L.LSTM is the `LSTM` module written at the top of this file: an nn.LSTMCell "
                  "that keeps its state (h, c) between calls until reset_state(), as Chainer's did")
        return cst.parse_expression(f"LSTM({args}, forget_bias_init={forget})")

    def _nstep_lstm(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        values = bind_arguments(updated, ["n_layers", "in_size", "out_size", "dropout"])
        problem = None
        if values is None or len(values) != 4:
            problem = "arguments other than (n_layers, in_size, out_size, dropout)"
        elif is_none(values["in_size"]):
            problem = "an input size inferred at the first call"
        elif "NStepLSTM" in self.project.classes:
            problem = "a class named NStepLSTM of the program's own"
        if problem is not None:
            self.todo(original, "PT030", f"L.NStepLSTM with {problem}: " + NSTEP_LSTM_TODO)
            return updated
        self._needs_nstep_lstm = True
        self._nn("LSTM")
        self.need_import("torch")
        if self.ctx.init != "torch":
            self.need_import("math")
        self.info(original, "PT032", "L.NStepLSTM is the `NStepLSTM` module written at the top of this file: an "
                  "nn.LSTM over the packed list of sequences that returns Chainer's (hy, cy, ys)")
        return updated.with_changes(func=cst.Name("NStepLSTM"))

    def _is_link(self, node: cst.BaseExpression) -> bool:
        """A plain name that only ever holds a link or chain, or a child link ``self.<name>``."""
        if isinstance(node, cst.Name):
            for depth in range(len(self._scope_path), -1, -1):  # the innermost scope that binds the name
                scope = tuple(self._scope_path[:depth])
                bound = self._bindings.get(scope, {})
                if node.value in bound:
                    return bound[node.value]
            return False
        return isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and \
            node.value.value == "self" and node.attr.value in self.project.link_types

    def _copy(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        receiver = code(original.func.value)
        values = bind_arguments(updated, ["mode"])
        mode = code(values["mode"]).strip("'\"") if values is not None and "mode" in values else "share"
        if values is None or mode not in ("share", "copy"):
            self.todo(original, "PT008", f"`{receiver}.copy(...)` with these arguments: copy the module by hand "
                      "(copy.deepcopy, then re-initialise for mode='init')")
            return updated
        if mode == "copy":
            deepcopy = f"{self.need_import('copy')}.deepcopy"
            self.info(original, "PT008", f"`{receiver}.copy(mode='copy')` is `copy.deepcopy({receiver})`")
            return cst.parse_expression(f"{deepcopy}({receiver})")
        self.need_import("copy")
        self._nn("Parameter")
        self._needs_chainer_copy = True
        self.info(original, "PT008", f"`{receiver}.copy()` (Chainer's default mode='share') is `chainer_copy("
                  f"{receiver})`, written into this file: new parameters on the original's data (an update of "
                  "either changes both; each has its own gradient) and the original's buffers, as Chainer's copy")
        return cst.parse_expression(f"chainer_copy({receiver})")

    def _renamed_attribute(self, node: cst.Attribute) -> str | None:
        """The new name of ``self.train``/``self.forward`` (and of the same on a known instance) when the
        class's own attribute or method clashes with nn.Module's (see _attribute_renames); on an object of a class
        of another file, or of a subclass, that netport proves (PT135, InstanceClasses), the same."""
        name = node.attr.value
        if name not in ("train", "forward") or not isinstance(node.value, (cst.Name, cst.Attribute)):
            return None
        parent = self.parent(node)
        called = isinstance(parent, cst.Call) and parent.func is node
        if name == "train" and called or name == "forward" and not called:
            return None  # Module.train() itself; a read of forward is Module.forward
        receiver = code(node.value)
        new = None
        if self._renames:
            if receiver == "self":
                owner = self._class_names[-1] if self._class_names and self._in_module_class else None
            else:
                if not hasattr(self, "_instance_classes"):
                    self._instance_classes = _instances(self.ctx.syntax_tree(), set(self._renames))
                names, children = self._instance_classes
                owner = names.get(receiver) if isinstance(node.value, cst.Name) else \
                    children.get(node.value.attr.value)
            new = self._renames.get(owner, {}).get(name) if owner is not None else None
        if new is not None:
            self.info(node, "PT001", f"`{receiver}.{name}` is `{receiver}.{new}`: `{name}` is nn.Module's own")
            return new
        project = self.project
        if not (name == "train" and (project.train_flag_classes or project.train_attribute_classes) or
                name == "forward" and any({"forward", "__call__"} <= m for m in project.class_methods.values())):
            return None
        classes = instance_classes(self)
        instance = classes.at(receiver, self._scope_path)
        new = classes.renames(instance).get(name) if instance is not None else None
        if new is not None:
            where = "" if instance.path == self.ctx.path else f" ({Path(instance.path).name})"
            what = "which reads no `train` (the attribute set here did nothing in Chainer 1.24), so `train_flag` " \
                "in torch, where `train` is nn.Module's" if instance.node is None else \
                f"whose `{name}` is `{new}` in torch"
            self.info(node, "PT135", f"`{receiver}` is a `{instance.name}`{where}, {what}: `{receiver}.{name}` is "
                      f"`{receiver}.{new}`")
            return new
        if name == "train" and instance is None and receiver != "self" and isinstance(parent, cst.AssignTarget):
            self._unproven_train(node, receiver)
        return None

    def _unproven_train(self, node: cst.Attribute, receiver: str) -> None:
        """PT135: `x.train = v` on an object netport cannot place, in a program some class of which keeps a `train`
        flag of its own (renamed `train_flag`): which torch statement does what the assignment did depends on it."""
        chains = self.project.chain_classes & instance_classes(self).reachable_classes()
        flags = sorted(self.project.train_flag_classes & chains - self.project.train_attribute_classes)
        modes = sorted(self.project.train_attribute_classes & chains)
        if not flags and not modes:
            return  # (no class of the program it can be keeps a `train`: the residual sweep marks it, PT099)
        assignment = self.statement
        value = next((code(s.value) for s in getattr(assignment, "body", ()) if isinstance(s, cst.Assign)), "...")
        spelled = ", ".join(f"`{c}`" for c in flags)
        options = []
        if flags:
            options.append(f"if it is {spelled} (whose `train` is a flag of its own, `train_flag` in torch, which its "
                           f"training_mode() blocks follow), set `{receiver}.train_flag = {value}`")
        if modes:
            options.append(f"if it is {', '.join(f'`{c}`' for c in modes)} (whose `train` was Chainer's mode, the "
                           f"module's own in torch), call `{receiver}.eval()`/`{receiver}.train()`")
        self.todo(node, "PT135", f"netport cannot tell which class `{receiver}` is, so not what `{receiver}.train = "
                  f"{value}` did: " + "; ".join(options) + "; if it is anything else (an L.Classifier around "
                  f"one: its predictor's mode did not change), neither; as it stands, `{receiver}.train = ...` hides "
                  "nn.Module.train()")

    def _is_linear_link_call(self, call: cst.Call) -> bool:
        func = call.func
        links = self.project.link_types
        return isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self" \
            and links.get(func.attr.value) == "chainer.links.Linear" and \
            any(kind in _IMAGE_LINKS for kind in links.values())

    def _link(self, original: cst.Call, updated: cst.Call, qualified: str) -> cst.BaseExpression:
        module, names = _LINKS[qualified]
        rule = "PT009" if module == "ConvTranspose2d" else "PT003"
        values = bind_arguments(updated, names)
        statement = self.statement
        target = _assignment_target(statement, original)
        link = code(original.func)
        sizes = ("in_size", "out_size") if module == "Linear" else ("in_channels", "out_channels")
        if values is not None and sizes[0] in values and sizes[1] not in values and module == "Linear":
            values = {**values, "in_size": cst.Name("None"), "out_size": values["in_size"]}  # L.Linear(out)
        elif values is not None and module != "Linear" and "ksize" not in values and set(sizes) <= set(values):
            # Chainer 2+'s Convolution2D(out_channels, ksize): the input size comes at the first call
            values = {**values, "in_channels": cst.Name("None"), "out_channels": values["in_channels"],
                      "ksize": values["out_channels"]}
        problem = None
        if values is None or sizes[1] not in values or module != "Linear" and "ksize" not in values:
            problem = "arguments it cannot match"
        elif module != "Linear" and isinstance(values["ksize"], (cst.Tuple, cst.List)) and \
                len(values["ksize"].elements) != 2:
            problem = f"ksize={code(values['ksize'])}"
        elif not is_none(values.get("outsize", cst.Name("None"))):
            problem = (f"outsize={code(values['outsize'])} (torch takes the output size at the call: "
                       "`deconv(x, output_size=...)`, or output_padding = outsize - the default size)")
        if problem is not None:
            self.todo(original, rule, f"{link} with {problem}: write the torch.nn module by hand")
            return updated
        has_bias = not is_bool(values.get("nobias"), True)
        nobias = values.get("nobias")
        # nobias=flag (not a literal): bias=not flag, and the bias initialised where there is one
        flag = None if nobias is None or is_bool(nobias, True) or is_bool(nobias, False) else code(nobias)
        weight_init = values.get("initialW")
        weight_init = None if weight_init is None or is_none(weight_init) else weight_init
        bias_init = values.get("initial_bias") if has_bias else None
        bias_init = None if bias_init is None or is_none(bias_init) else bias_init
        if is_none(values[sizes[0]]):
            return self._lazy(original, updated, module, values, has_bias, weight_init, bias_init, flag)
        if module == "Linear":
            args = f"{code(values['in_size'])}, {code(values['out_size'])}"
            fan_in, fan_out = code(values["in_size"]), code(values["out_size"])
        else:
            ksize = values["ksize"]
            args = f"{code(values['in_channels'])}, {code(values['out_channels'])}, {code(ksize)}"
            if "stride" in values:
                args += f", stride={code(values['stride'])}"
            if "pad" in values:
                args += f", padding={code(values['pad'])}"
            kernel = [code(e.value) for e in ksize.elements] if isinstance(ksize, (cst.Tuple, cst.List)) \
                else [code(ksize)] * 2
            # Chainer 1.24's fans (initializer.get_fans) are the sizes of W[0] and W.shape[0]: for a
            # deconvolution, whose W is (in, out, kh, kw) like torch's weight, out * kh * kw and in
            inputs, outputs = ("in_channels", "out_channels") if module == "Conv2d" else ("out_channels", "in_channels")
            fan_in = " * ".join(paren(text) for text in [code(values[inputs]), *kernel])
            fan_out = code(values[outputs])
        if not has_bias or flag is not None:
            args += ", bias=False" if flag is None else f", bias=not {_atom(flag)}"
        if target is None:  # not assigned: wrapped in chainer_init (written into the file)
            return self._unassigned_link(original, updated, module, args, weight_init, bias_init, rule)
        # --init torch keeps torch's defaults and only what the program asked for explicitly
        torch_defaults = self.ctx.init == "torch"
        init: list[str] = []
        weight_text, bias_text = "LeCun normal", "no bias" if not has_bias else "zero bias"
        fills = []
        if weight_init is not None:
            fill = self._fill(weight_init, f"{target}.weight", fan_in, fan_out, dtypes=True)
            fills.append(("initialW", weight_init, fill))
        elif not torch_defaults:
            init.append(f"{self._nn('init')}.normal_({target}.weight, std=1 / {self.need_import('math')}.sqrt("
                        f"{fan_in}))")
        if bias_init is not None:
            fill = self._fill(bias_init, f"{target}.bias", None, None, plain=True, dtypes=True)
            fills.append(("initial_bias", bias_init, fill))
        for name, value, fill in fills:
            if fill.code is None:
                self.todo(original, "PT037", f"{link} with {name}={code(value)}: {fill.text}; write the "
                          "initialisation of the torch.nn module by hand")
                return updated
        dtype = self._parameter_dtype(original, link, [fill for _, _, fill in fills], weight_init, has_bias)
        if dtype is False:
            return updated
        args += f", dtype={dtype}" if dtype else ""
        for name, value, fill in fills:
            init.insert(len(init) if name == "initial_bias" else 0, fill.statement())
            self._use_fill(fill)
            if name == "initialW":
                weight_text = fill.text
            else:
                bias_text = "bias as given"
            if not fill.lecun and fill.kind != "plain":
                self.info(original, "PT037", f"{name}={code(value)} of {link} is `{fill.code}`: {fill.text}")
        if has_bias and bias_init is None and not torch_defaults:
            init.append(f"{self._nn('init')}.zeros_({target}.bias)")
        if flag is not None and has_bias and init and init[-1].startswith(("nn.init", "with")) and \
                f"{target}.bias" in init[-1]:
            init[-1] = f"if {target}.bias is not None:\n" + "".join(f"    {line}\n" for line in init[-1].split("\n"))
        self.info(original, rule, f"{link} is `nn.{module}`, initialised as Chainer did ({weight_text}, {bias_text})")
        self.insert_after(statement, [cst.parse_statement(line + "\n") for line in init])
        return cst.parse_expression(f"{self._nn(module)}({args})")

    def _parameter_dtype(self, original: cst.Call, link: str, fills: list, weight_init, has_bias: bool):
        """The torch dtype= of a link whose initializers carry a dtype (Chainer's W and b took the dtype of
        their initializer, float32 without one: initializers.generate_array): None for float32, False (marked)
        where W and b differ."""
        weight = next((fill.dtype for fill in fills if fill is fills[0] and weight_init is not None), None)
        bias = next((fill.dtype for fill in fills if fill is not fills[0] or weight_init is None), None)
        if has_bias and weight != bias:
            self.todo(original, "PT037", f"{link}: W of dtype {weight or 'float32'} and b of dtype {bias or 'float32'}"
                      " (Chainer made each in its initializer's dtype; a torch module takes one dtype): build the "
                      "torch.nn module and convert its weight and bias by hand")
            return False
        if weight is not None:
            self.info(original, "PT118", f"{link}: its initializer's dtype is the module's `dtype={weight}` (Chainer "
                      "made the parameters in the initializer's dtype)")
        return weight

    def _unassigned_link(self, original: cst.Call, updated: cst.Call, module: str, args: str, weight_init,
                         bias_init, rule: str) -> cst.BaseExpression:
        """A link built where no name holds it: chainer_init (written into the file) draws LeCun-normal weights
        (scaled) and a constant bias; other initialisations are marked."""
        link = code(original.func)
        scale = bias = None
        if weight_init is not None:
            fill = self._fill(weight_init, "w", "fan_in", "fan_out")
            if not fill.lecun:
                self.todo(original, "PT037", f"{link} with initialW={code(weight_init)} and no assignment to attach "
                          "the initialisation to: assign the module to a name and initialise its weight by hand")
                return updated
            self._use_fill(fill)
            scale = fill.scale
        if bias_init is not None:
            fill = self._fill(bias_init, "b", None, None, plain=True)
            if fill.kind not in ("number", "plain"):
                self.todo(original, "PT037", f"{link} with initial_bias={code(bias_init)} and no assignment to "
                          "attach the initialisation to: assign the module to a name and initialise its bias by hand")
                return updated
            bias = fill.value
        self.info(original, rule, f"{link} is `nn.{module}`, initialised as Chainer did (LeCun normal"
                  f"{' scaled by ' + scale if scale else ''}, {'bias as given' if bias else 'zero bias'})")
        if self.ctx.init == "torch" and scale is None and bias is None:
            return cst.parse_expression(f"{self._nn(module)}({args})")
        self.info(original, "PT034", f"{link} is not assigned to a name: `chainer_init(...)` (written into this "
                  "file) initialises it as Chainer did")
        self._needs_chainer_init = True
        self.need_import("math")
        extra = (f", scale={scale}" if scale is not None else "") + (f", bias={bias}" if bias is not None else "")
        return cst.parse_expression(f"chainer_init({self._nn(module)}({args}){extra})")

    def _lazy(self, original: cst.Call, updated: cst.Call, module: str, values, has_bias: bool, weight_init,
              bias_init, flag: str | None = None) -> cst.BaseExpression:
        """A link whose input size comes at the first call: the Lazy* module written into the file (PT033/PT038)."""
        lazy, _ = _LAZY_LINKS[module]
        link = code(original.func)
        rule = "PT033" if module == "Linear" else "PT038"
        if module == "Linear":
            args = code(values["out_size"])
        else:
            args = f"{code(values['out_channels'])}, {code(values['ksize'])}"
            if "stride" in values:
                args += f", stride={code(values['stride'])}"
            if "pad" in values:
                args += f", padding={code(values['pad'])}"
        if not has_bias or flag is not None:
            args += ", bias=False" if flag is None else f", bias=not {_atom(flag)}"
        options = ""
        fills = []
        if weight_init is not None:
            fill = self._fill(weight_init, "w", "w[0].numel()", "w.shape[0]", dtypes=True)
            if fill.code is None:
                self.todo(original, "PT037", f"{link}(None, ...) with initialW={code(weight_init)}: {fill.text}; "
                          "write the torch.nn module by hand")
                return updated
            fills.append(fill)
            options += (f", scale={fill.scale}" if fill.scale is not None else "") if fill.lecun else \
                f", init=lambda w: {fill.code}"
        if bias_init is not None:
            fill = self._fill(bias_init, "b", None, None, plain=True, dtypes=True)
            if fill.kind not in ("number", "plain"):
                self.todo(original, "PT037", f"{link}(None, ...) with initial_bias={code(bias_init)}: the written "
                          f"{lazy} takes a constant bias only; write the torch.nn module by hand")
                return updated
            options += f", initial_bias={fill.value}"
            bias_fill = fill
        else:
            bias_fill = None
        dtype = self._parameter_dtype(original, f"{link}(None, ...)", fills + ([bias_fill] if bias_fill else []),
                                      weight_init, has_bias)
        if dtype is False:
            return updated
        args += f", dtype={dtype}" if dtype else ""
        if bias_fill is not None and bias_fill.name is not None:
            self._use_fill(bias_fill)
        for fill in fills:
            self._use_fill(fill)
            if not fill.lecun:
                self.info(original, "PT037", f"initialW={code(weight_init)} of {link} is `{fill.code}` (on the "
                          f"weight `w`, once its size is known): {fill.text}")
        if self.ctx.init == "torch" and not options:
            self.info(original, rule, f"{link} with its input size inferred at the first call is nn.{lazy}")
            return cst.parse_expression(f"{self._nn(lazy)}({args})")
        self._lazy_classes.add(lazy)
        self._nn(lazy)
        self.need_import("math")
        self.need_import("torch")
        self.info(original, rule, f"{link} with its input size inferred at the first call is the `{lazy}` written "
                  f"into this file: nn.{lazy} drawing Chainer's {'initialW' if 'init=' in options else 'LeCun-normal'}"
                  " weights when the first input arrives (the optimizer can be built before that, as in Chainer)")
        return cst.parse_expression(f"{lazy}({args}{options})")

    # initializers (PT037)
    def _fill(self, value: cst.BaseExpression, tensor: str, fan_in: str | None, fan_out: str | None,
              plain: bool = False, dtypes: bool = False) -> "_Fill":
        """How to fill ``tensor`` as a Chainer link filled W (``fan_in``/``fan_out`` given) or b from the value of
        initialW/initial_bias: a Chainer initializer, a number or an array, directly or through a name. An
        initializer's dtype other than float32 is a failure unless ``dtypes`` (the caller gives the module it)."""
        fill = self._fill_any(value, tensor, fan_in, fan_out, plain)
        if fill.dtype is not None and not dtypes:
            return _Fill(None, f"dtype {fill.dtype} (the parameter's dtype: torch's modules are float32 until "
                         "`.to(dtype)`)")
        return fill

    def _fill_any(self, value: cst.BaseExpression, tensor: str, fan_in: str | None, fan_out: str | None,
                  plain: bool = False) -> "_Fill":
        kind, node, name = self._init_value(value)
        if kind == "number":
            return _Fill(f"nn.init.constant_({tensor}, {code(node)})", f"the constant {code(node)}", "number",
                         value=code(node), name=name)
        if kind == "array":  # Chainer's Constant(array): assigned with broadcasting, as copy_ does
            return _Fill(f"{tensor}.copy_(torch.as_tensor({code(value)}))", f"a copy of the array `{code(value)}` "
                         "(Chainer's W has torch's weight layout)", "array", name=name)
        if kind == "initializer":
            fill = self._initializer(node, tensor, fan_in, fan_out)
            fill.name = name
            return fill
        if plain:  # a value of unknown type: a constant, as before (a wrong type fails at once)
            return _Fill(f"nn.init.constant_({tensor}, {code(value)})", f"the constant {code(value)}", "plain",
                         value=code(value))
        return _Fill(None, f"`{code(value)}` is not a Chainer initializer, array or number that this file shows")

    def _init_value(self, node: cst.BaseExpression, depth: int = 0) -> tuple[str, cst.BaseExpression, tuple | None]:
        """("number" | "initializer" | "array" | "unknown", the value, (scope, name) of the name an initializer
        was read through)."""
        if _number(node) is not None:
            return "number", node, None
        if isinstance(node, cst.Call) and (self.qualified(node.func) or "").startswith("chainer.initializers."):
            return "initializer", node, None
        if _is_array_expression(self, node):
            return "array", node, None
        if isinstance(node, cst.Name) and depth < 3:
            values, scope = self._bound_values(node.value)
            if values:
                kinds = [self._init_value(v, depth + 1) for v in values]
                if len(kinds) == 1 and kinds[0][0] == "initializer":
                    return "initializer", kinds[0][1], (scope, node.value)
                if len(kinds) == 1 and kinds[0][0] == "number":
                    return "number", node, None
                if all(kind in ("array", "number") for kind, _, _ in kinds):
                    return "array", node, None
        return "unknown", node, None

    def _torch_dtype(self, node: cst.BaseExpression, none: str, depth: int = 0) -> str | None:
        """The torch dtype (an expression) of a NumPy dtype argument: a literal (np.float16, 'float16'), or a
        name / ``self.attr`` bound once in this function to one; a parameter (or an attribute this function
        does not set) read through ``torch.from_numpy(numpy.empty(0, d)).dtype``, exact for every NumPy dtype
        torch has. ``none``: the dtype Chainer made for None there. None where netport cannot follow it."""
        literal = f"torch.{none}" if is_none(node) else DTYPES.get(self.qualified(node) or "") if is_dotted(node) \
            else DTYPES.get(node.evaluated_value) if isinstance(node, cst.SimpleString) else None
        if literal is not None:
            if literal != "torch.float32":  # (float32 is left out of the output)
                self.need_import("torch")
            return literal
        values: list | None = None
        if isinstance(node, cst.Name) and depth < 3:
            values, _ = self._bound_values(node.value)
            if values is None and not self._is_parameter(node.value):
                return None
        elif isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self" \
                and depth < 3:
            values = _attribute_values(self.ctx.syntax_tree(), tuple(self._scope_path), node.attr.value)
            if values is None:
                return None
        else:
            return None
        if values:
            return self._torch_dtype(values[0], none, depth + 1) if len(values) == 1 else None
        numpy = self.need_import("numpy")
        self.need_import("torch")
        value = code(node) if none == "float64" else f"{numpy}.{none} if {code(node)} is None else {code(node)}"
        return f"torch.from_numpy({numpy}.empty(0, {value})).dtype"

    def _is_parameter(self, name: str) -> bool:
        """Whether ``name`` is bound in the innermost scope that binds it by a parameter alone."""
        tree = self.ctx.syntax_tree()
        if tree is None:
            return False
        if self._scope_values is None:
            self._scope_values = _scope_bindings(tree)
        for depth in range(len(self._scope_path), -1, -1):
            bindings = self._scope_values.get(tuple(self._scope_path[:depth]), {}).get(name)
            if bindings is not None:
                return all(kind == "param" for kind, _ in bindings)
        return False

    def _bound_values(self, name: str) -> tuple[list[cst.BaseExpression] | None, tuple[str, ...]]:
        """The values ``name`` is assigned in the innermost scope that binds it (and that scope), when every
        binding there is a plain assignment; else None."""
        tree = self.ctx.syntax_tree()
        if tree is None:
            return None, ()
        if self._scope_values is None:
            self._scope_values = _scope_bindings(tree)
        for depth in range(len(self._scope_path), -1, -1):
            scope = tuple(self._scope_path[:depth])
            bindings = self._scope_values.get(scope, {}).get(name)
            if bindings is not None:
                if any(kind != "value" for kind, _ in bindings):
                    return None, scope
                segments = [ast.get_source_segment(self.ctx.source, value) for _, value in bindings]
                return [_parse_expression(segment) for segment in segments if segment] or None, scope
        return None, ()

    def _initializer(self, call: cst.Call, tensor: str, fan_in: str | None, fan_out: str | None) -> "_Fill":
        kind = self.qualified(call.func).rpartition(".")[2]
        parameters = {"Constant": ["fill_value", "dtype"], "Zero": ["dtype"], "One": ["dtype"], "NaN": ["dtype"],
                      "HeNormal": ["scale", "dtype", "fan_option"]}.get(kind, ["scale", "dtype"])
        args = bind_arguments(call, [*parameters, "rng"])
        if args is None:
            return _Fill(None, f"`{code(call)}` with arguments netport cannot match")
        dtype = None
        if not is_none(args.get("dtype", cst.Name("None"))):
            # the parameter's dtype (initializers.generate_array: float32 for None): the module's dtype= in torch
            dtype = self._torch_dtype(args["dtype"], none="float32")
            if dtype is None:
                return _Fill(None, f"dtype={code(args['dtype'])} (the parameter's dtype, which netport cannot "
                             "follow here: give the torch module `dtype=` with the torch dtype it stands for)")
        fill = self._initializer_fill(kind, args, tensor, fan_in, fan_out)
        fill.dtype = None if dtype == "torch.float32" else dtype
        return fill

    def _initializer_fill(self, kind: str, args: dict, tensor: str, fan_in: str | None,
                          fan_out: str | None) -> "_Fill":
        if "rng" in args:
            return _Fill(None, "rng= (a random generator of its own)")
        if code(args.get("fan_option", cst.SimpleString("'fan_in'"))).strip("'\"") != "fan_in":
            return _Fill(None, "fan_option (Chainer 2+'s fan-out multiplies W.shape[0] by the kernel size)")
        if kind in ("Zero", "One", "NaN"):
            value = {"Zero": "0.0", "One": "1.0", "NaN": "float('nan')"}[kind]
            return _Fill(f"nn.init.constant_({tensor}, {value})", f"Chainer's {kind}: the constant {value}", "number",
                         value=value)
        if kind == "Constant" and "fill_value" in args:
            fill = args["fill_value"]
            if _number(fill) is not None:
                return _Fill(f"nn.init.constant_({tensor}, {code(fill)})", f"the constant {code(fill)}", "number",
                             value=code(fill))
            return _Fill(f"{tensor}.copy_(torch.as_tensor({code(fill)}))", f"Chainer's Constant: `{code(fill)}`, "
                         "broadcast", "array")
        if kind not in _INITIALIZERS:
            return _Fill(None, f"chainer.initializers.{kind} has no torch conversion in netport")
        distribution, spread, default = _INITIALIZERS[kind]
        scale = code(args["scale"]) if "scale" in args else default
        if "{fan" in spread and fan_in is None:
            return _Fill(None, f"{kind} on a bias (Chainer raised ValueError: a bias has one axis, no fans)")
        spread = spread.format(s=paren(scale), fan_in=fan_in, fan_in_p=_atom(fan_in or "0"),
                               fans=f"({fan_in} + {fan_out})")
        if spread.startswith("(1) * ") or spread.startswith("1 * "):
            spread = spread.split(" * ", 1)[1]
        if "math." in spread:
            self.need_import("math")
        if distribution == "normal":
            text = f"nn.init.normal_({tensor}, std={spread})"
        else:
            text = f"nn.init.uniform_({tensor}, -{_atom(spread)}, {spread})"
        what = f"Chainer's {kind}({'' if 'scale' not in args else scale}): " + \
            ("N(0, " if distribution == "normal" else "U(-b, b), b = ") + spread + (")" if distribution == "normal"
                                                                                   else "")
        return _Fill(text, what, "initializer", lecun=kind == "LeCunNormal",
                     scale=code(args["scale"]) if kind == "LeCunNormal" and "scale" in args else None)

    def _use_fill(self, fill: "_Fill") -> None:
        """Imports for a fill that goes into the output; a name read counts towards dropping its assignment."""
        self._nn("init")
        if fill.kind == "array":
            self.need_import("torch")
        if fill.name is not None:
            self._initializer_uses[fill.name] = self._initializer_uses.get(fill.name, 0) + 1

    def _drop_initializers(self, scope: tuple[str, ...], body: list) -> list:
        """Without the assignments ``w = chainer.initializers.X(...)`` of ``scope`` whose every use was converted."""
        names = {name for (where, name), uses in self._initializer_uses.items() if where == scope and
                 uses == _loads(self.ctx.syntax_tree(), scope, name)}
        if not names:
            return body
        kept = []
        for statement in body:
            small = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) and \
                len(statement.body) == 1 else None
            if isinstance(small, cst.Assign) and len(small.targets) == 1 and \
                    isinstance(small.targets[0].target, cst.Name) and small.targets[0].target.value in names and \
                    isinstance(small.value, cst.Call) and \
                    (self.qualified(small.value.func) or "").startswith("chainer.initializers."):
                self.info(small, "PT037", f"`{small.targets[0].target.value}` ({code(small.value)}) is written "
                          "into each initialisation that used it")
                continue
            kept.append(statement)
        return kept

    def _batch_normalization(self, original: cst.Call, updated: cst.Call, v1: bool = False) -> cst.BaseExpression:
        names = ["size", "decay", "eps", "dtype", "use_gamma", "use_beta", "initial_gamma", "initial_beta", "axis",
                 "initial_avg_mean", "initial_avg_var"]
        values = bind_arguments(updated, names)
        target = _assignment_target(self.statement, original)
        supported = {"size", "decay", "eps", "initial_avg_var", "use_gamma", "use_beta", "dtype"}
        flags = {name: code(values[name]) for name in ("use_gamma", "use_beta") if values and name in values}
        # dtype: of gamma, beta, avg_mean, avg_var (1.24: add_param/numpy.zeros with it; None is float64 there)
        dtype = self._torch_dtype(values["dtype"], none="float64") if values and "dtype" in values else None
        if values is None or "size" not in values or set(values) - supported or target is None or \
                any(value not in ("True", "False") for value in flags.values()) or "dtype" in values and dtype is None:
            unsupported = sorted(set(values or ()) - supported) + (["dtype"] if values and "dtype" in values and
                                                                   dtype is None else [])
            self.todo(original, "PT003", "L.BatchNormalization with these arguments" +
                      (f" ({', '.join(unsupported)})" if unsupported else "") + ": write the nn.BatchNorm module "
                      "by hand")
            if v1:  # CH017's subclass goes with the Chainer code: the marked line keeps the Chainer link
                link = self.spell("chainer.links.BatchNormalization")
                kept = [a for a in updated.args if not (a.keyword and a.keyword.value == "initial_avg_var")]
                kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                return updated.with_changes(func=cst.parse_expression(link), args=kept)
            return updated
        module = self._batch_norm_module(original, target)
        decay = values.get("decay")
        momentum = f"1 - {paren(code(decay))}" if decay is not None else "0.1"
        attribute = target.split(".", 1)[1] if target.startswith("self.") else None
        if attribute is not None and self._finetune.get(attribute) and set(self._finetune[attribute]) == {"True"}:
            momentum = "None"  # every call fine-tunes: Chainer's cumulative average (decay = 1 - 1/N)
        eps = code(values["eps"]) if "eps" in values else "2e-05"
        if "initial_avg_var" in values and code(values["initial_avg_var"]) in ("0", "0.0"):
            self.insert_after(self.statement, [cst.parse_statement(f"{self._nn('init')}.zeros_({target}.running_var)\n")])
        # use_gamma=False / use_beta=False: Chainer has no scale (1) / shift (0); torch's affine=False drops
        # both, and one alone stays at its initial value, out of the optimizer's reach (no gradient)
        fixed = [torch_name for name, torch_name in (("use_gamma", "weight"), ("use_beta", "bias"))
                 if flags.get(name) == "False"]
        affine = ", affine=False" if len(fixed) == 2 else ""
        if dtype is not None and dtype != "torch.float32":
            affine += f", dtype={dtype}"  # parameters and running averages both, as Chainer's dtype= made them
        if len(fixed) == 1:
            self.insert_after(self.statement, [cst.parse_statement(f"{target}.{fixed[0]}.requires_grad_(False)\n")])
        if v1:
            self._chainer_batch_norms.add(module)
            self._nn(module)
            base = module if module == "BatchNormNd" else f"nn.{module}"
            self.info(original, "PT035", f"{BATCH_NORMALIZATION_V1} is `Chainer{module}` (written into this file): "
                      f"{base} with Chainer's eps={eps}, momentum = 1 - decay = {momentum}, and v1's running "
                      "variance, which takes in eps at every update")
            return cst.parse_expression(f"Chainer{module}({code(values['size'])}, eps={eps}, momentum={momentum}{affine})")
        self.info(original, "PT003", f"L.BatchNormalization is `nn.{module}` with Chainer's eps={eps} and "
                  f"momentum = 1 - decay = {momentum}")
        spelled = module if module == "BatchNormNd" else self._nn(module)
        return cst.parse_expression(f"{spelled}({code(values['size'])}, eps={eps}, momentum={momentum}{affine})")

    def _batch_norm_module(self, original: cst.Call, target: str) -> str:
        """BatchNorm1d/2d/3d for the rank of the input that reaches the link (Chainer's took any), as the code
        of its class (or of the file) shows; a guess, marked, where the rank is not known here."""
        if self._bn_ranks is None:
            self._bn_ranks = _batch_norm_ranks(self.ctx.syntax_tree())
        owner = self._class_names[-1] if target.startswith("self.") and self._class_names else None
        key = (owner, target[5:]) if owner is not None else (None, target)
        ranks = self._bn_ranks.get(key, set())
        modules = {_BATCH_NORMS.get(rank) for rank in ranks}
        if len(modules) == 1 and None not in modules:
            module = modules.pop()
            self.info(original, "PT036", f"`{target}` normalises a {'/'.join(map(str, sorted(ranks)))}-D input "
                      f"(the data flow of {'its class' if owner else 'this file'}): nn.{module}")
            return module
        odd = sorted(rank for rank in ranks if rank is not None and rank not in _BATCH_NORMS)
        why = ("inputs of different ranks" if len(modules - {None}) > 1 else
               f"a {odd[0]}-D input, which no nn.BatchNorm takes" if odd else
               "an input whose rank this file does not show" if ranks else "no call of it in this file")
        self._needs_batch_norm_nd = True
        self.info(original, "PT036", f"`{target}` gets {why}: BatchNormNd (written into this file) is nn.BatchNorm1d "
                  "taking an (N, C, ...) input of any rank, as Chainer's BatchNormalization did")
        return "BatchNormNd"

    def _parameter(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        values = bind_arguments(updated, ["initializer", "shape", "name"])
        init = values.get("initializer") if values is not None and "name" not in values else None
        shape = values.get("shape") if values is not None else None
        tensor = None
        if init is not None and shape is None and not self._is_initializer(init) and _number(init) is None:
            tensor = f"torch.as_tensor({code(init)})"  # chainer.Parameter(array): that array
        elif init is not None and shape is not None:
            tensor = self._initialized(init, _size(shape))
        if tensor is None:
            self.todo(original, "PT004", "chainer.Parameter with this initializer (or without a shape): build the "
                      "tensor and wrap it in nn.Parameter by hand")
            return updated
        self.need_import("torch")
        self.info(original, "PT004", f"chainer.Parameter is nn.Parameter({tensor})")
        return cst.parse_expression(f"{self._nn('Parameter')}({tensor})")

    def _is_initializer(self, node: cst.BaseExpression) -> bool:
        return isinstance(node, cst.Call) and (self.qualified(node.func) or "").startswith("chainer.initializers.")

    def _initialized(self, init: cst.BaseExpression, shape: str) -> str | None:
        """A float32 tensor of ``shape`` filled as the Chainer initializer (or scalar) ``init`` fills it."""
        number = _number(init)
        if number is not None:  # a scalar is Constant(scalar)
            return f"torch.full({shape}, {number})"
        if not self._is_initializer(init):
            return None
        kind = self.qualified(init.func)
        if kind in _FILLS and not init.args:
            return f"torch.full({shape}, {_FILLS[kind]})"
        arguments = bind_arguments(init, ["value" if kind.endswith("Constant") else "scale", "dtype"])
        if arguments is None or "dtype" in arguments:
            return None
        if kind == "chainer.initializers.Constant" and "value" in arguments:
            value = _number(arguments["value"])
            return f"torch.full({shape}, {value if value is not None else code(arguments['value'])})"
        scale = code(arguments["scale"]) if "scale" in arguments else "0.05"
        if kind == "chainer.initializers.Normal":  # N(0, scale)
            return f"torch.normal(0.0, {scale}, size={shape})"
        if kind == "chainer.initializers.Uniform":  # U(-scale, scale)
            return f"torch.empty({shape}).uniform_(-{paren(scale)}, {scale})"
        return None

    def leave_Subscript(self, original: cst.Subscript, updated: cst.Subscript) -> cst.BaseExpression:
        """``self['l0']`` of a Chain (its child by name) is ``getattr(self, 'l0')``; a ModuleList indexes as
        a ChainList did."""
        if not (self._in_module_class and not self._module_lists[-1] and isinstance(original.value, cst.Name) and
                original.value.value == "self" and len(original.slice) == 1 and
                isinstance(original.slice[0].slice, cst.Index)):
            return updated
        parent = self.parent(original)
        if isinstance(parent, (cst.AssignTarget, cst.AugAssign, cst.Del)):
            return updated
        self.info(original, "PT001", "`self[name]` of a Chain is `getattr(self, name)`")
        return cst.parse_expression(f"getattr(self, {code(updated.slice[0].slice.value)})")

    # .W / .b of links
    def leave_Attribute(self, original: cst.Attribute, updated: cst.BaseExpression) -> cst.BaseExpression:
        name = original.attr.value
        if name == "BinaryHierarchicalSoftmax" and self.qualified(original) == HIERARCHICAL_SOFTMAX:
            parent = self.parent(original)
            if not (isinstance(parent, cst.Call) and parent.func is original):  # (a call: leave_Call)
                return self._hierarchical_softmax(original, updated)
        renamed = self._renamed_attribute(original)
        if renamed is not None:
            return updated.with_changes(attr=cst.Name(renamed))
        if name == "parameters":
            return self._parameter_arrays(original, updated)
        if name not in _PARAM_RENAMES and name not in _BN_RENAMES:
            return updated
        link = self._link_kind(original.value, original)
        renames = _PARAM_RENAMES if link in _LINKS else _BN_RENAMES if link == "chainer.links.BatchNormalization" \
            else {"W": "weight"} if link in ("chainer.links.EmbedID", "chainer.links.NegativeSampling",
                                             HIERARCHICAL_SOFTMAX, PARAMETER) else {}
        if name not in renames:
            if name in _PARAM_RENAMES and link is None and self._may_be_link(original.value):
                self.warn(original, "PT137", f"`{code(original)}` is left as it was: netport cannot tell what "
                          f"`{code(original.value)}` holds; if it is a Chainer link (Linear, Convolution2D, EmbedID, "
                          f"...), its parameter is `.{_PARAM_RENAMES[name]}` in torch (netport's written-in "
                          "NegativeSampling and ParameterLink keep a `W`)")
            return updated
        self.info(original, "PT005", f"`.{name}` of a link is `.{renames[name]}`")
        return updated.with_changes(attr=cst.Name(renames[name]))

    def _may_be_link(self, receiver: cst.BaseExpression) -> bool:
        """Whether ``receiver`` (whose `.W`/`.b` is read, and which no rule typed) may hold a Chainer link: not
        `self` (the class's own attribute), a module, what parse_args() returned, or a name bound only to instances
        of classes that are neither Chainer links nor chains of the program."""
        root = receiver
        while isinstance(root, (cst.Attribute, cst.Subscript)):
            root = root.value
        if isinstance(receiver, cst.Name) and receiver.value == "self":
            return False
        if isinstance(root, cst.Name):
            if root.value in self.aliases.values():
                return False  # an attribute of a module
            if root.value == "self":
                return True  # `self.x.W`: a child no rule typed
            values, _ = self._bound_values(root.value)
            calls = [v for v in values or () if isinstance(v, cst.Call)]
            if values and len(calls) == len(values) and all(
                    isinstance(c.func, cst.Attribute) and c.func.attr.value == "parse_args" for c in calls):
                return False
            if values and len(calls) == len(values) and root is receiver and all(
                    not (self._link_class(c) or "").startswith("chainer.") and
                    code(c.func).split(".")[-1] not in self.project.chain_classes for c in calls):
                return False
        return True

    def _link_kind(self, node: cst.BaseExpression, at: cst.CSTNode) -> str | None:
        """The Chainer link class ``node`` holds: a child ``x.<name>`` of a chain (by the name the program's
        chains give their links, or by this file's ``model.<name> = L.X(...)``), a name only ever bound to one
        kind of link, or a name that an enclosing ``if isinstance(name, L.X):`` narrows."""
        if isinstance(node, cst.Attribute):
            if self._attribute_links is None:
                self._attribute_links = _attribute_links(self.ctx.syntax_tree(), self)
            text = code(node)
            if text in self._attribute_links:
                return self._attribute_links[text]
            return self.project.link_types.get(node.attr.value)
        if not isinstance(node, cst.Name):
            return None
        for ancestor in self.ancestors(at):  # if isinstance(l, L.Linear): ... l.W ...
            if isinstance(ancestor, cst.If) and isinstance(ancestor.test, cst.Call) and \
                    code(ancestor.test.func) == "isinstance" and len(ancestor.test.args) == 2 and \
                    code(ancestor.test.args[0].value) == node.value and self._inside(at, ancestor.body):
                kind = self.qualified(ancestor.test.args[1].value)
                if kind in _LINKS or kind in ("chainer.links.BatchNormalization", "chainer.links.EmbedID"):
                    return kind
        values, _ = self._bound_values(node.value)
        kinds = {self._link_class(v) for v in values or ()}
        return kinds.pop() if len(kinds) == 1 else None

    def _link_class(self, node: cst.BaseExpression) -> str | None:
        """The link class a call makes (netport's BatchNormalizationV1 is Chainer's BatchNormalization)."""
        if not isinstance(node, cst.Call):
            return None
        if self._batch_normalization_v1 and isinstance(node.func, cst.Name) and \
                node.func.value == BATCH_NORMALIZATION_V1:
            return "chainer.links.BatchNormalization"
        return self.callee(node)

    def _inside(self, node: cst.CSTNode, block: cst.CSTNode) -> bool:
        return any(ancestor is block for ancestor in self.ancestors(node))

    def _parameter_arrays(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        """v1's ``FunctionSet.parameters`` (a property: the tuple of the parameter arrays) on a link."""
        parent = self.parent(original)
        if isinstance(parent, cst.Call) and parent.func is original:
            return updated  # Module.parameters(): torch's, or a migration's
        receiver = original.value
        own = code(receiver) == "self" and self._in_module_class and \
            "parameters" not in self.project.class_methods.get(self._class_names[-1], set())
        if not own and not self._is_link(receiver):
            return updated
        if isinstance(parent, cst.AssignTarget):
            self.todo(original, "PT071", f"`{code(receiver)}.parameters = ...` set v1 FunctionSet's parameter arrays "
                      f"in order: copy each array into the matching tensor of `{code(receiver)}.parameters()` under "
                      "torch.no_grad()")
            return updated
        self.info(original, "PT071", f"v1 FunctionSet's `{code(receiver)}.parameters` (the tuple of the parameter "
                  "arrays, in torch's order too) is the NumPy views of the parameters: writing into one writes the "
                  "parameter, as with Chainer's arrays (on the CPU; .numpy() refuses a GPU tensor)")
        return cst.parse_expression(f"tuple(p.detach().numpy() for p in {code(receiver)}.parameters())")


# Chainer 1.24's initializers (chainer/initializers/normal.py, uniform.py) as torch.nn.init draws: the distribution,
# its spread (the std of N(0, std), or b of U(-b, b)) from the scale s and the fans of W (initializer.get_fans:
# fan-in the size of W[0], fan-out W.shape[0]), and the default scale. (LeCunNormal is Chainer 2+'s, and CH011's
# for v1's wscale: Chainer's own default initialisation, scaled.)
_INITIALIZERS = {
    "Normal": ("normal", "{s}", "0.05"),
    "Uniform": ("uniform", "{s}", "0.05"),
    "LeCunNormal": ("normal", "{s} / math.sqrt({fan_in})", "1"),
    "HeNormal": ("normal", "{s} * math.sqrt(2 / {fan_in_p})", "1"),
    "GlorotNormal": ("normal", "{s} * math.sqrt(2 / {fans})", "1"),
    "LeCunUniform": ("uniform", "{s} * math.sqrt(3 / {fan_in_p})", "1"),
    "HeUniform": ("uniform", "{s} * math.sqrt(6 / {fan_in_p})", "1"),
    "GlorotUniform": ("uniform", "{s} * math.sqrt(6 / {fans})", "1"),
}
# what returns an array (for initialW=/initial_bias=, which Chainer copied in with broadcasting)
_ARRAY_MODULES = ("numpy.", "cupy.", "chainer.backends.cuda.cupy.", "chainer.cuda.cupy.")
_ARRAY_FUNCTIONS = {"chainer.backends.cuda.to_cpu", "chainer.cuda.to_cpu"}
_ARRAY_METHODS = {"copy", "astype", "reshape", "transpose", "ravel", "flatten"}


@dataclass
class _Fill:
    """How a torch tensor is filled as Chainer filled a link's W or b from its initialW/initial_bias."""

    code: str | None  # an expression that fills the tensor in place; None: no conversion (text says why)
    text: str  # what it draws, or why there is no conversion
    kind: str = ""  # "number", "array", "initializer", or "plain" (a value of unknown type, used as a constant)
    lecun: bool = False  # LeCunNormal: Chainer's default initialisation, with `scale`
    scale: str | None = None
    value: str | None = None  # the constant of a number
    name: tuple | None = None  # (scope, name): the local name the initializer was read through
    dtype: str | None = None  # the torch dtype of the initializer's dtype= (None: float32, torch's default)

    def statement(self) -> str:
        return f"with torch.no_grad():\n    {self.code}" if self.kind == "array" else self.code


def _is_array_expression(rule_pass: RulePass, node: cst.BaseExpression) -> bool:
    """An expression that computes an array: a NumPy/CuPy function, a Variable's ``.data``, arithmetic or a
    method of one (not a NumPy class: ``np.random.RandomState(0)``)."""
    if isinstance(node, cst.Call):
        qualified = rule_pass.callee(node) or ""
        leaf = qualified.rpartition(".")[2]
        if qualified in _ARRAY_FUNCTIONS or qualified.startswith(_ARRAY_MODULES) and leaf[:1].islower() and \
                leaf not in ("dtype", "finfo", "iinfo"):
            return True
        return isinstance(node.func, cst.Attribute) and node.func.attr.value in _ARRAY_METHODS and \
            _is_array_expression(rule_pass, node.func.value)
    if isinstance(node, cst.Attribute):
        return node.attr.value in ("data", "array") or node.attr.value == "T" and \
            _is_array_expression(rule_pass, node.value)
    if isinstance(node, cst.Subscript):
        return _is_array_expression(rule_pass, node.value)
    if isinstance(node, cst.BinaryOperation):
        sides = [node.left, node.right]
        return any(_is_array_expression(rule_pass, side) for side in sides) and \
            all(_number(side) is not None or _is_array_expression(rule_pass, side) for side in sides)
    return False


def _finetune_calls(source: str, tree: ast.Module | None, batch_norms: set[str]) -> dict[str, list[str]]:
    """For each BatchNormalization child ``self.<name>``, the finetune= value of every call of it
    (source text; "False" where the call does not pass it)."""
    if not batch_norms or "finetune" not in source or tree is None:
        return {}
    calls: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in batch_norms \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "self":
            value = next((ast.unparse(k.value) for k in node.keywords if k.arg == "finetune"), "False")
            calls.setdefault(node.func.attr, []).append(value)
    return calls


def _attribute_renames(tree: ast.Module | None, chain_classes: set[str]) -> dict[str, dict[str, str]]:
    """Per model class, the attributes and methods of its own that clash with nn.Module's and their new
    names: a ``self.train`` attribute (it would hide ``Module.train()``) -> ``train_flag``, and a v1.4
    ``forward(x_data, y_data)`` of a class that also has ``__call__`` (which becomes ``forward``) ->
    ``legacy_forward``."""
    if tree is None:
        return {}
    renames: dict[str, dict[str, str]] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.ClassDef) and node.name in chain_classes):
            continue
        methods = {item.name for item in node.body if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))}
        names: dict[str, str] = {}
        if "train" not in methods and any(
                isinstance(n, ast.Attribute) and n.attr == "train" and isinstance(n.ctx, ast.Store) and
                isinstance(n.value, ast.Name) and n.value.id == "self" for n in ast.walk(node)):
            names["train"] = "train_flag"
        if {"forward", "__call__"} <= methods:
            names["forward"] = "legacy_forward"
        if names:
            renames[node.name] = names
    return renames


def _instances(tree: ast.Module | None, classes) -> tuple[dict[str, str], dict[str, str]]:
    """Plain names assigned an instance of one of ``classes`` (``net = Net(...)``), and child links
    (``self.old = Old()``, ``Chain.__init__(old=Old())``) by attribute name, with their class; a name
    also assigned anything else is left out."""
    if tree is None:
        return {}, {}
    names: dict[str, str | None] = {}
    children: dict[str, str | None] = {}

    def record(table, name, value) -> None:
        cls = value.func.id if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and \
            value.func.id in classes else None
        table[name] = cls if table.get(name, cls) == cls else None

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    record(names, target.id, node.value)
                elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and \
                        target.value.id == "self":
                    record(children, target.attr, node.value)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "__init__":
            for keyword in node.keywords:
                if keyword.arg is not None:
                    record(children, keyword.arg, keyword.value)
    return ({name: cls for name, cls in names.items() if cls is not None},
            {name: cls for name, cls in children.items() if cls is not None})


def _attribute_values(tree: ast.Module | None, scope: tuple[str, ...], attribute: str) -> list | None:
    """The values the function at ``scope`` assigns to ``self.<attribute>`` (``self.a = x``, ``self.a = b = x``),
    as LibCST expressions; None where it binds it otherwise (augmented, unpacked) or the function is not found."""
    node = tree
    for name in scope:
        node = next((child for child in getattr(node, "body", []) if isinstance(
            child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and child.name == name), None)
        if node is None:
            return None
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    values = []
    stack = list(node.body)
    while stack:
        child = stack.pop()
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        targets = child.targets if isinstance(child, ast.Assign) else [child.target] if isinstance(
            child, (ast.AugAssign, ast.AnnAssign, ast.For)) else []
        for target in targets:
            for sub in ast.walk(target):
                if isinstance(sub, ast.Attribute) and sub.attr == attribute and isinstance(sub.value, ast.Name) and \
                        sub.value.id == "self":
                    if not isinstance(child, ast.Assign) or sub is not target:
                        return None
                    values.append(cst.parse_expression(ast.unparse(child.value)))
        stack.extend(ast.iter_child_nodes(child))
    return values


def _scope_bindings(tree: ast.Module, calls: dict | None = None) -> dict[tuple[str, ...], dict[str, list]]:
    """Per scope (the path of enclosing def/class names), each name bound there with its bindings:
    ``("value", expr)`` for ``name = expr``, ``("for", iterable)`` for a loop variable, ``("param", (function,
    position, name))`` for a parameter, ``("other", None)`` for anything else (an unpacking, ``with ... as``, an
    augmented assignment). ``calls``, when given, gets each call of a plain name or method, by that name, with
    the scope it is made in: ``{name: [(scope, call), ...]}``."""
    found: dict[tuple[str, ...], dict[str, list]] = {}

    def bind(scope, target, kind, value) -> None:
        names = found.setdefault(scope, {})
        for name in _bound_names(target):  # (`model.l1 = ...` binds no name: it sets an attribute)
            names.setdefault(name, []).append((kind, value) if isinstance(target, ast.Name) else ("other", None))

    def walk(node, scope) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner = (*scope, child.name)
                if not isinstance(child, ast.ClassDef):
                    positional = [*child.args.posonlyargs, *child.args.args]
                    for arg in ast.walk(child.args):  # a parameter holds what the calls pass
                        if isinstance(arg, ast.arg):
                            index = positional.index(arg) if arg in positional else None
                            found.setdefault(inner, {}).setdefault(arg.arg, []).append(
                                ("param", (child.name, index, arg.arg)) if arg.annotation is None and
                                arg is not child.args.vararg and arg is not child.args.kwarg else ("other", None))
                walk(child, inner)
                continue
            if isinstance(child, ast.Assign):
                for target in child.targets:
                    bind(scope, target, "value", child.value)
            elif isinstance(child, (ast.AnnAssign, ast.NamedExpr)):
                bind(scope, child.target, "value" if child.value is not None else "other", child.value)
            elif isinstance(child, (ast.For, ast.AsyncFor)):
                bind(scope, child.target, "for", child.iter)
            elif isinstance(child, ast.AugAssign):
                bind(scope, child.target, "other", None)
            elif isinstance(child, (ast.With, ast.AsyncWith)):
                for item in child.items:
                    if item.optional_vars is not None:
                        bind(scope, item.optional_vars, "other", None)
            elif isinstance(child, ast.Call) and calls is not None:
                func = child.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
                if name is not None:
                    calls.setdefault(name, []).append((scope, child))
            walk(child, scope)

    walk(tree, ())
    return found


def _bound_names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [name for element in target.elts for name in _bound_names(element)]
    if isinstance(target, ast.Starred):
        return _bound_names(target.value)
    return []


def _bindings(tree: ast.Module | None, chain_classes: set[str]) -> dict[tuple[str, ...], dict[str, bool]]:
    """Per scope (the path of enclosing def/class names), each name bound there and whether every
    binding sets it to a new link or chain (``model = L.Classifier(MLP())``), to an element of a list of
    links (``for ae in aes``, ``ae = aes[i]`` where ``aes`` is a list only ever given links), or, for a
    parameter, whether every call of its function in the file passes one."""
    if tree is None:
        return {}
    aliases = import_map(tree)
    calls: dict[str, list] = {}
    scopes = _scope_bindings(tree, calls)
    appended: dict[str, list] = {}  # name -> what `name.append(x)` adds, anywhere
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "append" and \
                isinstance(node.func.value, ast.Name) and len(node.args) == 1:
            appended.setdefault(node.func.value.id, []).append(node.args[0])
    methods = {item.name for cls in ast.walk(tree) if isinstance(cls, ast.ClassDef) for item in cls.body
               if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))}
    pending: set = set()  # the questions being answered: a question that depends on itself holds

    def is_link(value) -> bool:
        if not isinstance(value, ast.Call):
            return False
        qualified = qualified_name(value.func, aliases) or ""
        return qualified.startswith("chainer.links.") or qualified in ("chainer.Chain", "chainer.ChainList") or \
            (isinstance(value.func, ast.Name) and value.func.id in chain_classes)

    def lookup(scope, name):  # the bindings of name in the innermost scope that binds it
        for depth in range(len(scope), -1, -1):
            bindings = scopes.get(scope[:depth], {}).get(name)
            if bindings is not None:
                return scope[:depth], bindings
        return scope, []

    def holds_link(scope, value) -> bool:
        if isinstance(value, ast.Name):
            where, bindings = lookup(scope, value.id)
            return bool(bindings) and all(verdict(where, kind, v) for kind, v in bindings)
        return verdict(scope, "value", value)

    def link_list(scope, name) -> bool:
        where, bindings = lookup(scope, name)
        key = ("list", where, name)
        if key in pending:
            return True
        pending.add(key)
        try:
            return bool(bindings) and all(kind == "value" and isinstance(v, ast.List) and
                                          all(holds_link(where, e) for e in v.elts) for kind, v in bindings) and \
                all(holds_link(where, x) for x in appended.get(name, []))
        finally:
            pending.discard(key)

    def passed_links(function, index, name) -> bool:
        key = ("param", function, index, name)
        if key in pending:
            return True
        sites = calls.get(function, [])
        if not sites or function in ("__init__", "__call__", "forward"):
            return False
        pending.add(key)
        try:
            for scope, call in sites:
                shift = 1 if isinstance(call.func, ast.Attribute) and function in methods else 0
                keyword = next((k.value for k in call.keywords if k.arg == name), None)
                position = None if index is None else index - shift
                if keyword is None and (position is None or position < 0 or position >= len(call.args) or
                                        any(isinstance(a, ast.Starred) for a in call.args[:position + 1])):
                    return False
                if not holds_link(scope, keyword if keyword is not None else call.args[position]):
                    return False
            return True
        finally:
            pending.discard(key)

    def verdict(scope, kind, value) -> bool:
        if kind == "for":
            return isinstance(value, ast.Name) and link_list(scope, value.id)
        if kind == "param":
            return passed_links(*value)
        if kind == "value" and isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name) and \
                not isinstance(value.slice, ast.Slice):
            return link_list(scope, value.value.id)
        return kind == "value" and is_link(value)

    return {scope: {name: all(verdict(scope, kind, value) for kind, value in bindings)
                    for name, bindings in names.items()} for scope, names in scopes.items()}


def _is_super_call(node: cst.BaseExpression) -> bool:
    """``super()`` / ``super(C, self)``, or a class named explicitly (``chainer.ChainList.__init__(self, ...)``
    has the instance first, which is not a link: only the super() forms are rewritten)."""
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "super"


def _assignment_target(statement: cst.CSTNode | None, call: cst.Call) -> str | None:
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        small = statement.body[0]
        if isinstance(small, cst.Assign) and small.value is call and len(small.targets) == 1:
            target = small.targets[0].target
            if isinstance(target, (cst.Name, cst.Attribute)) or _pure_subscript(target):
                return code(target)
    return None


def _pure_subscript(node: cst.BaseExpression) -> bool:
    """`links["bn%d" % i]`: a subscript of a name whose key has no side effects, so the statements written
    after the assignment can name the same item again."""
    def pure(expr: cst.BaseExpression) -> bool:
        if isinstance(expr, (cst.Name, cst.Integer, cst.Float, cst.SimpleString)):
            return True
        if isinstance(expr, cst.Attribute):
            return pure(expr.value)
        if isinstance(expr, cst.BinaryOperation):
            return pure(expr.left) and pure(expr.right)
        return False

    return isinstance(node, cst.Subscript) and isinstance(node.value, (cst.Name, cst.Attribute)) and \
        pure(node.value) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index) and \
        pure(node.slice[0].slice.value)


def _number(node: cst.BaseExpression) -> str | None:
    """A numeric literal (``0.5``, ``-1``, ``2``) as float source text, else None."""
    try:
        value = ast.literal_eval(code(node))
    except (ValueError, SyntaxError):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return repr(float(value))


def _loads(tree: ast.Module | None, scope: tuple[str, ...], name: str) -> int:
    """How often ``name`` is read in the def/class at ``scope`` (functions nested in it included)."""
    node = tree
    for part in scope:
        node = next((child for child in ast.walk(node) if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                     ast.ClassDef)) and child.name == part and child is not node), None) if node is not None else None
    if node is None:
        return -1
    return sum(1 for n in ast.walk(node) if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load))


def _attribute_links(tree: ast.Module | None, rule_pass: RulePass) -> dict[str, str]:
    """``model.l1`` -> the link class, for each ``<name>.<attribute> = L.X(...)`` outside a class's ``self`` (the
    Chainer 5 form of a v1 FunctionSet), when every such assignment of it makes the same kind of link."""
    if tree is None:
        return {}
    aliases = import_map(tree)
    aliases.update(_netport_link_subclasses(tree, aliases))
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            kind = qualified_name(node.value.func, aliases) or ""
            kind = public_name(kind) if kind.startswith("chainer.") else ""
            for target in node.targets:
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and \
                        target.value.id != "self":
                    text = ast.unparse(target)
                    found[text] = kind if found.get(text, kind) == kind else ""
    return {text: kind for text, kind in found.items() if kind}


def _key_only(scope: cst.CSTNode | None, name: str, subscripts_only: bool = False, skip=None) -> str | None:
    """None when every read of ``name`` in ``scope`` uses it as a key: ``d[name]`` (or, unless
    ``subscripts_only``, ``name in d``, ``d.get(name)``) and ``name[key]`` for the dict ``name`` itself;
    else what the code does with it."""
    if scope is None:
        return "passes on"
    found: list[str] = []

    class Reads(cst.CSTVisitor):
        def __init__(self):
            self.stack: list[cst.CSTNode] = []

        def on_visit(self, node):
            if isinstance(node, cst.Name) and node.value == name and self.stack and node is not skip:
                self.check(node, self.stack[-1], self.stack[-2] if len(self.stack) > 1 else None)
            self.stack.append(node)
            return node is not skip

        def on_leave(self, node):
            self.stack.pop()

        def check(self, node, parent, grand):
            if isinstance(parent, (cst.AssignTarget, cst.Attribute)) and getattr(parent, "attr", None) is node:
                return
            if isinstance(parent, cst.Index) and isinstance(grand, cst.SubscriptElement) or \
                    isinstance(parent, cst.Subscript) and subscripts_only and parent.value is node and all(
                        not isinstance(e.slice, cst.Index) or not isinstance(e.slice.value, cst.SimpleString)
                        for e in parent.slice):
                return
            if isinstance(parent, cst.Subscript) and parent.value is node and not subscripts_only:
                found.append("reads by index")
            elif not subscripts_only and isinstance(parent, cst.Comparison) and parent.left is node and all(
                    isinstance(c.operator, (cst.In, cst.NotIn)) and not isinstance(c.comparator, cst.SimpleString)
                    for c in parent.comparisons):
                return
            elif isinstance(parent, cst.AssignTarget):
                return
            else:
                found.append("compares, formats or passes on as text")

    scope.visit(Reads())
    return found[0] if found else None


def _atom(text: str) -> str:
    """``text`` parenthesised unless it is one operand already (a name, number, call, subscript, attribute or a
    parenthesised expression)."""
    try:
        node = cst.parse_expression(text)
    except cst.ParserSyntaxError:
        return f"({text})"
    atomic = (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.Integer, cst.Float)
    return text if isinstance(node, atomic) or getattr(node, "lpar", None) else f"({text})"


def _parse_expression(text: str) -> cst.BaseExpression:
    try:
        return cst.parse_expression(text)
    except cst.ParserSyntaxError:  # a value over several lines
        return cst.parse_expression(f"({text})")


def is_none(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def _size(shape: cst.BaseExpression) -> str:
    """A torch size for a Chainer shape, which may be one int (``add_param('b', n_in)``): torch's
    factories take a sequence."""
    if isinstance(shape, (cst.Tuple, cst.List)):
        return code(shape)
    if isinstance(shape, cst.Integer):
        return f"({code(shape)},)"
    text = code(shape)
    return f"({text},) if isinstance({text}, int) else tuple({text})"


def _is_flattened(node: cst.BaseExpression) -> bool:
    """``x.flatten(1)``: an input flattened already (by an earlier run, or by hand)."""
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "flatten" \
        and len(node.args) == 1 and code(node.args[0].value) == "1"


# --- the rank of the input that reaches each BatchNormalization link (PT036) -----------------------------------
# Chainer's link normalised an input of any rank over every axis but the channels (axis 1); torch's
# BatchNorm1d/2d/3d compute the same but accept only (N, C) or (N, C, L), (N, C, H, W), (N, C, D, H, W). The rank
# is followed through the code of the class (and of the file, for the arguments its models are called with).

_F = "chainer.functions."
_SAME_RANK_FUNCTIONS = frozenset(_F + name for name in (
    "relu", "leaky_relu", "elu", "selu", "rrelu", "sigmoid", "hard_sigmoid", "tanh", "softplus", "clipped_relu",
    "crelu", "swish", "prelu", "dropout", "identity", "absolute", "exp", "log", "sqrt", "square", "sin", "cos", "clip",
    "cast", "copy", "softmax", "log_softmax", "batch_normalization", "fixed_batch_normalization",
    "local_response_normalization", "normalize", "transpose", "swapaxes", "flip", "pad", "maximum", "minimum",
    "gaussian", "scale", "bias"))
_FIXED_RANK_FUNCTIONS = {_F + name: rank for name, rank in (
    ("linear", 2), ("convolution_2d", 4), ("deconvolution_2d", 4), ("dilated_convolution_2d", 4),
    ("max_pooling_2d", 4), ("average_pooling_2d", 4), ("unpooling_2d", 4), ("upsampling_2d", 4),
    ("resize_images", 4), ("spatial_pyramid_pooling_2d", 2), ("flatten", 1))}
_LINK_RANKS = {"chainer.links." + name: rank for name, rank in (
    ("Linear", 2), ("Convolution2D", 4), ("Deconvolution2D", 4), ("DilatedConvolution2D", 4), ("LSTM", 2),
    ("StatefulGRU", 2), ("GRU", 2), ("Highway", 2), ("Maxout", 2), ("MLPConvolution2D", 4))}
_SAME_RANK_LINKS = frozenset({"chainer.links.BatchNormalization", "chainer.links.PReLU"})
# array constructors whose rank is the length of their shape argument (first positional, or shape=/size=)
_SHAPE_CONSTRUCTORS = frozenset({"zeros", "ones", "empty", "full"})
_SIZE_SAMPLERS = frozenset({"uniform", "normal", "randint", "binomial", "poisson", "choice"})
_ARGS_SAMPLERS = frozenset({"randn", "rand"})  # np.random.randn(2, 3): one argument per axis


def _batch_norm_ranks(tree: ast.Module | None) -> dict[tuple[str | None, str], set]:
    """For each BatchNormalization link of the file, keyed (class, attribute) for ``self.<attribute>`` of a
    class's own link or (None, name) for one held by a name (or ``model.<name>``) outside classes: the ranks
    of the inputs it is called with in this file (None for an input of unknown rank)."""
    if tree is None:
        return {}
    aliases = import_map(tree)
    aliases.update(_netport_link_subclasses(tree, aliases))
    return _RankFlow(tree, aliases).run()


class _RankFlow:
    def __init__(self, tree: ast.Module, aliases: dict[str, str]):
        self.tree = tree
        self.aliases = aliases
        self.classes = {node.name: node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
        self.children = {name: self._children(node) for name, node in self.classes.items()}
        self.calls: dict[str, list[list]] = {}  # class -> the argument ranks of each call of an instance
        self.found: dict[tuple[str | None, str], set] = {}
        self.owner: str | None = None

    def qualified(self, node: ast.expr) -> str:
        name = qualified_name(node, self.aliases) or ""
        return public_name(name) if name.startswith("chainer.") else name

    def _children(self, cls: ast.ClassDef) -> dict[str, str]:
        """``self.<name> = <link or instance of a class of the file>`` in the class's methods: name -> kind."""
        found: dict[str, str] = {}
        for node in ast.walk(cls):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                kind = self._kind(node.value)
                for target in node.targets:
                    if kind and isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and \
                            target.value.id == "self":
                        found[target.attr] = kind if found.get(target.attr, kind) == kind else ""
        return {name: kind for name, kind in found.items() if kind}

    def _kind(self, call: ast.Call) -> str:
        """The link class, or ``class:<Name>`` for an instance of one of the file's classes (``class:<Name>``
        also for ``L.Classifier(<Name>(...))``, which calls it), or ''."""
        qualified = self.qualified(call.func)
        if isinstance(call.func, ast.Name) and call.func.id in self.classes and not qualified:
            return "class:" + call.func.id
        if qualified == "chainer.links.Classifier" and call.args and isinstance(call.args[0], ast.Call):
            inner = self._kind(call.args[0])
            return "classifier:" + inner[6:] if inner.startswith("class:") else ""
        return qualified if qualified.startswith("chainer.links.") else ""

    def run(self) -> dict[tuple[str | None, str], set]:
        module_children: dict[str, str] = {}
        for node in ast.walk(self.tree):  # names (and model.<name>) holding links outside classes
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and (kind := self._kind(node.value)):
                for target in node.targets:
                    if isinstance(target, ast.Name) or isinstance(target, ast.Attribute) and \
                            isinstance(target.value, ast.Name) and target.value.id != "self":
                        text = ast.unparse(target)
                        module_children[text] = kind if module_children.get(text, kind) == kind else ""
        module_children = {name: kind for name, kind in module_children.items() if kind}
        for _ in range(3):  # the calls of one class's instances made in another's methods: a few rounds
            self.found = {}
            calls, self.calls = self.calls, {}
            self.owner = None
            self.walk(self.tree.body, {}, module_children)
            for node in ast.walk(self.tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not self._method_of(node):
                    self.walk(node.body, {}, module_children)
            for name, cls in self.classes.items():
                self.owner = name
                for item in cls.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        env = {arg.arg: None for arg in ast.walk(item.args) if isinstance(arg, ast.arg)}
                        if item.name in ("__call__", "forward") and calls.get(name):
                            params = [a.arg for a in item.args.args[1:]]
                            for i, param in enumerate(params):
                                ranks = {site[i] if i < len(site) else None for site in calls[name]}
                                env[param] = ranks.pop() if len(ranks) == 1 else None
                        self.walk(item.body, env, {"self." + k: v for k, v in self.children[name].items()})
        return self.found

    def _method_of(self, function: ast.AST) -> bool:
        return any(function in cls.body for cls in self.classes.values())

    # statements
    def walk(self, body: list[ast.stmt], env: dict, children: dict) -> dict:
        for statement in body:
            env = self.statement(statement, env, children)
        return env

    def statement(self, node: ast.stmt, env: dict, children: dict) -> dict:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return env
        if isinstance(node, ast.Assign):
            rank = self.rank(node.value, env, children)
            env = dict(env)
            for target in node.targets:
                for name in (n.id for n in ast.walk(target) if isinstance(n, ast.Name)):
                    env[name] = rank if isinstance(target, ast.Name) else None
            return env
        if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            rank = self.rank(node.value, env, children) if node.value is not None else None
            env = dict(env)
            if isinstance(node.target, ast.Name):
                env[node.target.id] = _broadcast(env.get(node.target.id), rank) if isinstance(node, ast.AugAssign) \
                    else rank
            return env
        if isinstance(node, ast.If):
            self.rank(node.test, env, children)
            return _merge(self.walk(node.body, env, children), self.walk(node.orelse, env, children))
        if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            if isinstance(node, ast.While):
                self.rank(node.test, env, children)
                start = env
            else:
                iterated = node.iter
                counting = isinstance(iterated, ast.Call) and isinstance(iterated.func, ast.Name) and \
                    iterated.func.id in ("range", "xrange")
                self.rank(iterated, env, children)
                start = dict(env)
                for name in (n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)):
                    start[name] = 0 if counting and isinstance(node.target, ast.Name) else None
            once = _merge(start, self.walk(node.body, start, children))
            twice = _merge(once, self.walk(node.body, once, children))
            return _merge(twice, self.walk(node.orelse, twice, children))
        if isinstance(node, (ast.With, ast.AsyncWith)):
            env = dict(env)
            for item in node.items:
                self.rank(item.context_expr, env, children)
                if item.optional_vars is not None:
                    for name in (n.id for n in ast.walk(item.optional_vars) if isinstance(n, ast.Name)):
                        env[name] = None
            return self.walk(node.body, env, children)
        if isinstance(node, ast.Try):
            after = self.walk(node.body, env, children)
            for handler in node.handlers:
                after = _merge(after, self.walk(handler.body, env, children))
            return self.walk(node.finalbody, _merge(after, self.walk(node.orelse, after, children)), children)
        for child in ast.iter_child_nodes(node):  # return, expression statements, assert, ...
            if isinstance(child, ast.expr):
                self.rank(child, env, children)
        return env

    # expressions
    def rank(self, node: ast.expr, env: dict, children: dict):
        """The rank of the value of ``node`` (0 for a number), or None; records the calls of the links."""
        if isinstance(node, ast.Constant):
            return 0 if isinstance(node.value, (int, float)) and not isinstance(node.value, bool) else None
        if isinstance(node, ast.Name):
            return env.get(node.id)
        if isinstance(node, ast.BinOp):
            return _broadcast(self.rank(node.left, env, children), self.rank(node.right, env, children))
        if isinstance(node, ast.UnaryOp):
            return self.rank(node.operand, env, children)
        if isinstance(node, ast.IfExp):
            self.rank(node.test, env, children)
            body, orelse = self.rank(node.body, env, children), self.rank(node.orelse, env, children)
            return body if body == orelse else None
        if isinstance(node, ast.Attribute) and node.attr in ("data", "array"):  # a Variable's array
            return self.rank(node.value, env, children)
        if isinstance(node, ast.Call):
            return self.call(node, env, children)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.rank(child, env, children)
            elif isinstance(child, ast.comprehension):
                for part in (child.iter, *child.ifs):
                    self.rank(part, env, children)
        return None

    def call(self, node: ast.Call, env: dict, children: dict):
        ranks = [self.rank(a.value if isinstance(a, ast.Starred) else a, env, children) for a in node.args]
        for keyword in node.keywords:
            self.rank(keyword.value, env, children)
        first = ranks[0] if ranks and not isinstance(node.args[0], ast.Starred) else None
        func = node.func
        if not isinstance(func, ast.Starred) and not isinstance(func, (ast.Name, ast.Attribute)):
            self.rank(func, env, children)
        callee = ast.unparse(func) if isinstance(func, (ast.Name, ast.Attribute)) else None
        kind = children.get(callee) if callee is not None else None
        if kind:
            return self._link_call(kind, callee, node, ranks, first)
        qualified = self.qualified(func)
        if qualified in _SAME_RANK_FUNCTIONS or qualified in ("chainer.Variable", "chainer.variable.Variable",
                                                             "numpy.asarray", "numpy.array", "numpy.ascontiguousarray"):
            return first
        if qualified in _FIXED_RANK_FUNCTIONS:
            return _FIXED_RANK_FUNCTIONS[qualified]
        if qualified == _F + "reshape" and len(node.args) >= 2:
            return _shape_length(node.args[1])
        if qualified == _F + "broadcast_to" and len(node.args) >= 2:
            return _shape_length(node.args[1])
        if qualified in (_F + "expand_dims", _F + "stack", _F + "embed_id"):
            element = self._element_rank(node.args[0], env, children) if qualified == _F + "stack" else first
            return element + 1 if element is not None else None
        if qualified == _F + "concat" and node.args:
            return self._element_rank(node.args[0], env, children)
        if isinstance(func, ast.Attribute):
            method = func.attr
            module = qualified.rpartition(".")[0] if qualified else ""
            receiver = None if qualified else self.rank(func.value, env, children)
            if method == "reshape" and not qualified:
                args = node.args
                return _shape_length(args[0]) if len(args) == 1 else len(args) if args else None
            if method in ("astype", "copy", "transpose", "clip") and not qualified:
                return receiver
            if module in ("numpy", "cupy") and method in _SHAPE_CONSTRUCTORS and node.args:
                return _shape_length(node.args[0])
            if method in _ARGS_SAMPLERS and (module.endswith("random") or not qualified):
                return len(node.args) if node.args and all(r == 0 for r in ranks) else None
            if method in _SIZE_SAMPLERS and (module.endswith("random") or not qualified):
                size = next((k.value for k in node.keywords if k.arg == "size"), None)
                return _shape_length(size) if size is not None else None
        return None

    def _element_rank(self, node: ast.expr, env: dict, children: dict):
        if isinstance(node, (ast.List, ast.Tuple)) and node.elts:
            ranks = {self.rank(element, env, children) for element in node.elts}
            return ranks.pop() if len(ranks) == 1 else None
        return None

    def _link_call(self, kind: str, callee: str, node: ast.Call, ranks: list, first):
        if kind.startswith(("class:", "classifier:")):
            cls = kind.partition(":")[2]
            sites = self.calls.setdefault(cls, [])
            sites.append(ranks[:-1] if kind.startswith("classifier:") else ranks)
            return None
        if kind in _SAME_RANK_LINKS:
            if kind == "chainer.links.BatchNormalization":
                name = callee[5:] if callee.startswith("self.") and self.owner else callee
                self.found.setdefault((self.owner if callee.startswith("self.") else None, name), set()).add(first)
            return first
        if kind == "chainer.links.EmbedID":
            return first + 1 if first is not None else None
        return _LINK_RANKS.get(kind)


def _broadcast(a, b):
    return max(a, b) if a is not None and b is not None else None


def _merge(a: dict, b: dict) -> dict:
    return {name: a.get(name) if a.get(name) == b.get(name) else None for name in {*a, *b}}


def _shape_length(node: ast.expr | None):
    if isinstance(node, (ast.Tuple, ast.List)) and not any(isinstance(e, ast.Starred) for e in node.elts):
        return len(node.elts)
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return 1
    return None
