"""PT001-PT009, PT030-PT032: Chainer model definitions become torch.nn modules.

Runs on Chainer 5 idiom (the Chainer rules have run first): ``Chain``/``ChainList`` ->
``nn.Module``/``nn.ModuleList``, ``init_scope`` blocks dissolved, ``__call__`` -> ``forward``,
links -> ``nn`` modules that keep Chainer's initialisation (LeCun-normal weights, zero or given
bias, ``wscale`` folded in by CH011), ``chainer.Parameter`` -> ``nn.Parameter``, and ``.W``/``.b``
of links -> ``.weight``/``.bias``, ``link.copy()`` -> ``copy.deepcopy``, ``L.Deconvolution2D`` ->
``nn.ConvTranspose2d``, ``L.LSTM`` -> a stateful ``nn.LSTMCell`` subclass and ``L.NStepLSTM`` -> an
``nn.LSTM`` subclass over lists of sequences, both written into the file. Anything else is left for the residual sweep (PT099).
"""

from __future__ import annotations

import ast

import libcst as cst

from netport.migrate.passes import RulePass, bind_arguments, code, defines_class, insert_definition, is_bool, paren
from netport.migrate.registry import rule_pass
from netport.migrate.imports import import_map, qualified_name
from netport.migrate.project import BATCH_NORMALIZATION_V1
from netport.migrate.rules import Rule, register

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

# L.Linear(None, out) / L.Linear(out): Chainer sized W at the first call from the input and drew it then,
# LeCun normal; nn.LazyLinear does the same with torch's init, so reset_parameters (which it runs when the
# first input arrives) draws Chainer's. torch.optim takes the uninitialised parameters: they are the same
# objects once materialised, so the optimizer can be built before the first call, as in Chainer.
LAZY_LINEAR = '''class LazyLinear(nn.LazyLinear):
    """Chainer's L.Linear(None, out_size): the input size comes from the first input, and the weights are then
    drawn as Chainer drew them (LeCun normal, std scale / sqrt(in_size)) with a constant bias."""

    def __init__(self, out_features, bias=True, scale=1, initial_bias=0):
        super().__init__(out_features, bias=bias)
        self.scale, self.initial_bias = scale, initial_bias

    def reset_parameters(self):
        if self.in_features != 0:  # 0 until the first input has given the size
            nn.init.normal_(self.weight, std=self.scale / math.sqrt(self.in_features))
            if self.bias is not None:
                nn.init.constant_(self.bias, self.initial_bias)
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
CHAINER_BATCH_NORM = '''class Chainer{base}(nn.{base}):
    """nn.{base} with Chainer 1.24's running-variance update: on the CPU v1 averaged the batch
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

register(
    Rule("PT035", "CH017's BatchNormalizationV1 (v1's running variance) becomes a ChainerBatchNorm1d/2d written "
         "into the file: nn.BatchNorm1d/2d whose running variance takes in eps at every update, as v1's did",
         before="import chainer.links as L\nbn = L.BatchNormalization(16)\n",
         after="from torch import nn\n\n\n" + CHAINER_BATCH_NORM.format(base="BatchNorm1d") +
               "\n\nbn = ChainerBatchNorm1d(16, eps=2e-05, momentum=0.1)\nnn.init.zeros_(bn.running_var)\n",
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
    Rule("PT008", "link.copy() becomes copy.deepcopy sharing the parameters and buffers, as Chainer's copy shared "
         "the arrays; copy(mode='copy') is a plain deepcopy",
         before="import chainer.links as L\nfc = L.EmbedID(10, 4)\nshared = fc.copy()\nown = fc.copy(mode='copy')\n",
         after="import copy\nfrom torch import nn\n\nfc = nn.Embedding(10, 4)\n"
               "shared = copy.deepcopy(fc, memo={id(t): t for t in fc.state_dict(keep_vars=True).values()})\n"
               "own = copy.deepcopy(fc)\n",
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
         after="import math\nfrom torch import nn\n\n\n" + LAZY_LINEAR + "\n\nfc = LazyLinear(10)\n", target="torch",
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
        self._needs_lazy_linear = False
        self._chainer_batch_norms: set[str] = set()  # "BatchNorm1d"/"BatchNorm2d" of CHAINER_BATCH_NORM to write
        self._module_lists: list[bool] = []

    def finish_module(self, module: cst.Module) -> cst.Module:
        if self._needs_chainer_init:
            module = insert_definition(module, CHAINER_INIT)
        if self._needs_lazy_linear:
            module = insert_definition(module, LAZY_LINEAR)
        if self._needs_nstep_lstm:
            module = insert_definition(module, NSTEP_LSTM_CLASS.format(
                init="" if self.ctx.init == "torch" else NSTEP_LSTM_INIT))
        for base in sorted(self._chainer_batch_norms, reverse=True):
            module = insert_definition(module, CHAINER_BATCH_NORM.format(base=base))
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
        batch_norms = {name for name, link in self.project.link_types.items()
                       if link == "chainer.links.BatchNormalization"}
        self._finetune = _finetune_calls(self.ctx.source, self.ctx.syntax_tree(), batch_norms)

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
            values = bind_arguments(updated, ["in_size", "out_size", "initialW", "ignore_label"])
            if values is None or set(values) != {"in_size", "out_size"}:
                self.todo(original, "PT007", "L.EmbedID with initialW or ignore_label: torch's padding_idx is not "
                          "Chainer's ignore_label (which yields zero vectors for -1); write nn.Embedding by hand")
                return updated
            # Chainer's default initialW is Normal(1.0), torch's Embedding default N(0, 1): the same
            self.info(original, "PT007", "L.EmbedID is nn.Embedding (both draw the table from N(0, 1))")
            return cst.parse_expression(f"{self._nn('Embedding')}({code(values['in_size'])}, "
                                        f"{code(values['out_size'])})")
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
        values = bind_arguments(updated, ["in_size", "out_size", "lateral_init", "upward_init", "bias_init",
                                          "forget_bias_init"])
        problem = None
        if values is None or set(values) - {"in_size", "out_size", "bias_init", "forget_bias_init"}:
            problem = "initialisers or arguments other than bias_init/forget_bias_init"
        elif "out_size" not in values or is_none(values["in_size"]):
            problem = "an input size inferred at the first call"
        elif "LSTM" in self.project.classes:
            problem = "a class named LSTM of the program's own"
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
        deepcopy = f"{self.need_import('copy')}.deepcopy"
        if mode == "copy":
            self.info(original, "PT008", f"`{receiver}.copy(mode='copy')` is `copy.deepcopy({receiver})`")
            return cst.parse_expression(f"{deepcopy}({receiver})")
        self.warn(original, "PT008", f"`{receiver}.copy()` shared the parameter and persistent arrays with the "
                  "original (Chainer's default mode='share'): `copy.deepcopy` with a memo that maps each parameter "
                  "and buffer to itself does the same; unlike Chainer's copy it also shares their .grad. Use a plain "
                  "`copy.deepcopy` if the program wanted an independent copy")
        return cst.parse_expression(f"{deepcopy}({receiver}, memo={{id(t): t for t in "
                                    f"{receiver}.state_dict(keep_vars=True).values()}})")

    def _renamed_attribute(self, node: cst.Attribute) -> str | None:
        """The new name of ``self.train``/``self.forward`` (and of the same on a known instance) when the
        class's own attribute or method clashes with nn.Module's (see _attribute_renames)."""
        if not self._renames or not isinstance(node.value, (cst.Name, cst.Attribute)):
            return None
        name = node.attr.value
        receiver = code(node.value)
        if receiver == "self":
            owner = self._class_names[-1] if self._class_names and self._in_module_class else None
        else:
            if not hasattr(self, "_instance_classes"):
                self._instance_classes = _instances(self.ctx.syntax_tree(), set(self._renames))
            names, children = self._instance_classes
            owner = names.get(receiver) if isinstance(node.value, cst.Name) else children.get(node.value.attr.value)
        new = self._renames.get(owner, {}).get(name) if owner is not None else None
        if new is None:
            return None
        parent = self.parent(node)
        called = isinstance(parent, cst.Call) and parent.func is node
        if name == "train" and called:
            return None  # Module.train() itself
        if name == "forward" and not called:
            return None
        self.info(node, "PT001", f"`{receiver}.{name}` is `{receiver}.{new}`: `{name}` is nn.Module's own")
        return new

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
        problem = None
        if values is None:
            problem = "arguments it cannot match"
        elif module == "Linear" and (names[1] not in values or is_none(values.get(names[0]))):
            return self._lazy_linear(original, updated, values)
        elif names[1] not in values or is_none(values.get(names[0])):
            problem = "an input size inferred at the first call (use nn.Lazy* and a dry run)"
        elif target is None and self.ctx.init == "torch" and (
                "initialW" in values or not is_none(values.get("initial_bias", cst.Name("None")))):
            problem = "no assignment to attach the initialisation to"
        scale = None
        if problem is None and "initialW" in values:
            init = values["initialW"]
            if isinstance(init, cst.Call) and self.qualified(init.func) == "chainer.initializers.LeCunNormal":
                scale = code(init.args[0].value) if init.args else None
            else:
                problem = f"initialW={code(init)}"
        if problem is None and module != "Linear" and isinstance(values.get("ksize"), cst.Tuple):
            problem = "a non-square kernel"
        if problem is None and not is_none(values.get("outsize", cst.Name("None"))):
            problem = (f"outsize={code(values['outsize'])} (torch takes the output size at the call: "
                       "`deconv(x, output_size=...)`, or output_padding = outsize - the default size)")
        if problem is not None:
            self.todo(original, rule, f"{code(original.func)} with {problem}: write the torch.nn module by hand")
            return updated
        nobias = values.get("nobias")
        has_bias = not (nobias is not None and is_bool(nobias, True))
        if nobias is not None and not is_bool(nobias, True) and not is_bool(nobias, False):
            self.todo(original, rule, f"{code(original.func)}: nobias={code(nobias)} is not a literal")
            return updated
        if module == "Linear":
            args = f"{code(values['in_size'])}, {code(values['out_size'])}"
            fan_in = code(values["in_size"])
        else:
            args = f"{code(values['in_channels'])}, {code(values['out_channels'])}, {code(values['ksize'])}"
            if "stride" in values:
                args += f", stride={code(values['stride'])}"
            if "pad" in values:
                args += f", padding={code(values['pad'])}"
            k = code(values["ksize"])
            # Chainer's fan-in is the size of W[0]: (out, kh, kw) for a deconvolution, whose W is (in, out, kh, kw)
            channels = values["in_channels" if module == "Conv2d" else "out_channels"]
            fan_in = f"{paren(code(channels))} * {paren(k)} * {paren(k)}"
        if not has_bias:
            args += ", bias=False"
        # --init torch keeps torch's defaults and only what the program asked for explicitly
        torch_defaults = self.ctx.init == "torch"
        init = []
        if not torch_defaults or scale is not None:
            std = f"1 / {self.need_import('math')}.sqrt({fan_in})"
            if scale is not None:
                std = f"{paren(scale)} / {self.need_import('math')}.sqrt({fan_in})"
            init.append(f"{self._nn('init')}.normal_({target}.weight, std={std})")
        if has_bias:
            bias = values.get("initial_bias")
            if bias is not None and not is_none(bias):
                init.append(f"{self._nn('init')}.constant_({target}.bias, {code(bias)})")
            elif not torch_defaults:
                init.append(f"{self._nn('init')}.zeros_({target}.bias)")
        self.info(original, rule, f"{code(original.func)} is `nn.{module}`, initialised as Chainer did "
                  f"(LeCun normal{' scaled by ' + scale if scale else ''}, "
                  f"{'no bias' if not has_bias else 'bias as given' if values.get('initial_bias') else 'zero bias'})")
        if target is None:  # not assigned: wrapped in chainer_init (written into the file)
            if not init:
                return cst.parse_expression(f"{self._nn(module)}({args})")
            self.info(original, "PT034", f"{code(original.func)} is not assigned to a name: `chainer_init(...)` "
                      "(written into this file) initialises it as Chainer did")
            self._needs_chainer_init = True
            self.need_import("math")
            extra = (f", scale={scale}" if scale is not None else "") + \
                (f", bias={code(values['initial_bias'])}" if has_bias and "initial_bias" in values and
                 not is_none(values["initial_bias"]) else "")
            return cst.parse_expression(f"chainer_init({self._nn(module)}({args}){extra})")
        self.insert_after(statement, [cst.parse_statement(line + "\n") for line in init])
        return cst.parse_expression(f"{self._nn(module)}({args})")

    def _lazy_linear(self, original: cst.Call, updated: cst.Call, values) -> cst.BaseExpression:
        out = values.get("out_size", values.get("in_size"))
        nobias = values.get("nobias")
        scale = None
        if "initialW" in values:
            init = values["initialW"]
            if isinstance(init, cst.Call) and self.qualified(init.func) == "chainer.initializers.LeCunNormal":
                scale = code(init.args[0].value) if init.args else None
            else:
                self.todo(original, "PT003", f"{code(original.func)}(None, ...) with initialW={code(init)}: write "
                          "the torch.nn module by hand")
                return updated
        if nobias is not None and not is_bool(nobias, True) and not is_bool(nobias, False):
            self.todo(original, "PT003", f"{code(original.func)}: nobias={code(nobias)} is not a literal")
            return updated
        args = code(out) + (", bias=False" if nobias is not None and is_bool(nobias, True) else "")
        bias = values.get("initial_bias")
        if self.ctx.init == "torch" and scale is None and (bias is None or is_none(bias)):
            self.info(original, "PT033", "L.Linear with its input size inferred at the first call is nn.LazyLinear")
            return cst.parse_expression(f"{self._nn('LazyLinear')}({args})")
        if scale is not None:
            args += f", scale={scale}"
        if bias is not None and not is_none(bias) and not (nobias is not None and is_bool(nobias, True)):
            args += f", initial_bias={code(bias)}"
        self._needs_lazy_linear = True
        self._nn("LazyLinear")
        self.need_import("math")
        self.info(original, "PT033", "L.Linear with its input size inferred at the first call is the `LazyLinear` "
                  "written into this file: nn.LazyLinear drawing Chainer's LeCun-normal weights when the first input "
                  "arrives (the optimizer can be built before that, as in Chainer)")
        return cst.parse_expression(f"LazyLinear({args})")

    def _batch_normalization(self, original: cst.Call, updated: cst.Call, v1: bool = False) -> cst.BaseExpression:
        names = ["size", "decay", "eps", "dtype", "use_gamma", "use_beta", "initial_gamma", "initial_beta", "axis",
                 "initial_avg_mean", "initial_avg_var"]
        values = bind_arguments(updated, names)
        target = _assignment_target(self.statement, original)
        supported = {"size", "decay", "eps", "initial_avg_var", "use_gamma", "use_beta"}
        flags = {name: code(values[name]) for name in ("use_gamma", "use_beta") if values and name in values}
        if values is None or "size" not in values or set(values) - supported or target is None or \
                any(value not in ("True", "False") for value in flags.values()):
            self.todo(original, "PT003", "L.BatchNormalization with these arguments: write the nn.BatchNorm module "
                      "by hand")
            if v1:  # CH017's subclass goes with the Chainer code: the marked line keeps the Chainer link
                link = self.spell("chainer.links.BatchNormalization")
                kept = [a for a in updated.args if not (a.keyword and a.keyword.value == "initial_avg_var")]
                kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                return updated.with_changes(func=cst.parse_expression(link), args=kept)
            return updated
        # Chainer normalises any input; torch needs the input's rank: images after convolutions
        images = any(kind in _IMAGE_LINKS for kind in self.project.link_types.values())
        module = "BatchNorm2d" if images else "BatchNorm1d"
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
        if len(fixed) == 1:
            self.insert_after(self.statement, [cst.parse_statement(f"{target}.{fixed[0]}.requires_grad_(False)\n")])
        if v1:
            self._chainer_batch_norms.add(module)
            self._nn(module)
            self.info(original, "PT035", f"{BATCH_NORMALIZATION_V1} is `Chainer{module}` (written into this file): "
                      f"nn.{module} with Chainer's eps={eps}, momentum = 1 - decay = {momentum}, and v1's running "
                      "variance, which takes in eps at every update")
            return cst.parse_expression(f"Chainer{module}({code(values['size'])}, eps={eps}, momentum={momentum}{affine})")
        self.info(original, "PT003", f"L.BatchNormalization is `nn.{module}` with Chainer's eps={eps} and "
                  f"momentum = 1 - decay = {momentum}")
        return cst.parse_expression(f"{self._nn(module)}({code(values['size'])}, eps={eps}, momentum={momentum}{affine})")

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
        renamed = self._renamed_attribute(original)
        if renamed is not None:
            return updated.with_changes(attr=cst.Name(renamed))
        if not isinstance(original.value, cst.Attribute):
            return updated
        link = self.project.link_types.get(original.value.attr.value)
        renames = _PARAM_RENAMES if link in _LINKS else _BN_RENAMES if link == "chainer.links.BatchNormalization" \
            else {}
        if name not in renames:
            return updated
        self.info(original, "PT005", f"`.{name}` of a link is `.{renames[name]}`")
        return updated.with_changes(attr=cst.Name(renames[name]))


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


def _bindings(tree: ast.Module | None, chain_classes: set[str]) -> dict[tuple[str, ...], dict[str, bool]]:
    """Per scope (the path of enclosing def/class names), each name bound there and whether every
    binding sets it to a new link or chain (``model = L.Classifier(MLP())``)."""
    if tree is None:
        return {}
    aliases = import_map(tree)
    verdicts: dict[tuple[str, ...], dict[str, bool]] = {}

    def is_link(value) -> bool:
        if not isinstance(value, ast.Call):
            return False
        qualified = qualified_name(value.func, aliases) or ""
        return qualified.startswith("chainer.links.") or qualified in ("chainer.Chain", "chainer.ChainList") or \
            (isinstance(value.func, ast.Name) and value.func.id in chain_classes)

    def bind(scope, target, value) -> None:
        names = verdicts.setdefault(scope, {})
        for name in (n.id for n in ast.walk(target) if isinstance(n, ast.Name)):
            names[name] = names.get(name, True) and isinstance(target, ast.Name) and is_link(value)

    def walk(node, scope) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner = (*scope, child.name)
                if not isinstance(child, ast.ClassDef):
                    for arg in ast.walk(child.args):  # a parameter may hold anything
                        if isinstance(arg, ast.arg):
                            verdicts.setdefault(inner, {})[arg.arg] = False
                walk(child, inner)
                continue
            if isinstance(child, ast.Assign):
                for target in child.targets:
                    bind(scope, target, child.value)
            elif isinstance(child, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor, ast.NamedExpr)):
                bind(scope, child.target, None if isinstance(child, (ast.For, ast.AsyncFor, ast.AugAssign))
                     else child.value)
            elif isinstance(child, (ast.With, ast.AsyncWith)):
                for item in child.items:
                    if item.optional_vars is not None:
                        bind(scope, item.optional_vars, None)
            walk(child, scope)

    walk(tree, ())
    return verdicts


def _is_super_call(node: cst.BaseExpression) -> bool:
    """``super()`` / ``super(C, self)``, or a class named explicitly (``chainer.ChainList.__init__(self, ...)``
    has the instance first, which is not a link: only the super() forms are rewritten)."""
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "super"


def _assignment_target(statement: cst.CSTNode | None, call: cst.Call) -> str | None:
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        small = statement.body[0]
        if isinstance(small, cst.Assign) and small.value is call and len(small.targets) == 1:
            target = small.targets[0].target
            if isinstance(target, (cst.Name, cst.Attribute)):
                return code(target)
    return None


def _number(node: cst.BaseExpression) -> str | None:
    """A numeric literal (``0.5``, ``-1``, ``2``) as float source text, else None."""
    try:
        value = ast.literal_eval(code(node))
    except (ValueError, SyntaxError):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return repr(float(value))


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
