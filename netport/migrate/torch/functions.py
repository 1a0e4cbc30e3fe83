"""PT010-PT018, PT050-PT059: chainer.functions calls become torch calls, with Chainer's behaviour spelled
out where torch's default differs (dropout's training flag, linear's flattening, softmax's axis, ...).

Most functions are rows of FUNCTIONS (Chainer name -> its signature with Chainer 1.24's defaults -> a torch
template); the few whose form depends on more than literal arguments have a method of their own."""

from __future__ import annotations

import ast
import collections
import itertools
import re
from dataclasses import dataclass

import libcst as cst

from netport.migrate.passes import RulePass, bind_arguments, code, insert_definition, is_dotted, paren, primary
from netport.migrate.registry import rule_pass
from netport.migrate.rules import Rule, register
from netport.migrate.torch.written_in import NEGATIVE_SAMPLING_FUNCTION

# Chainer's max_pooling_2d with cover_all=True (1.24 and 5-7: im2col with pval=-inf) pads the input with
# -inf by pad on the top and left and by pad + stride - 1 on the bottom and right, and slides the windows
# over that: out = (in + 2 * pad - ksize + stride - 1) // stride + 1. torch's ceil_mode gives the same
# size and values except that it drops a last window starting in the right padding (possible only when
# stride > ksize - pad), which Chainer keeps, with the maximum -inf.
MAX_POOL_COVER_ALL = '''def max_pool2d_cover_all(x, ksize, stride=None, pad=0):
    """Chainer's F.max_pooling_2d(x, ksize, stride, pad) with cover_all=True: the input padded with -inf by pad, and
    by pad + stride - 1 at the bottom and right, so that windows cover every row and column; torch's ceil_mode
    drops a last window that starts in the padding, which Chainer kept (its maximum is -inf)."""
    kh, kw = ksize if isinstance(ksize, (tuple, list)) else (ksize, ksize)
    sh, sw = (kh, kw) if stride is None else stride if isinstance(stride, (tuple, list)) else (stride, stride)
    ph, pw = pad if isinstance(pad, (tuple, list)) else (pad, pad)
    x = nn.functional.pad(x, (pw, pw + sw - 1, ph, ph + sh - 1), value=float('-inf'))
    return nn.functional.max_pool2d(x, (kh, kw), stride=(sh, sw))
'''

register(
    Rule("PT010", "activations and losses map to their torch functions",
         before="import chainer.functions as F\ny = F.sigmoid(F.relu(x))\nl = F.mean_squared_error(y, t)\n",
         after='import torch\nfrom torch import nn\n\ny = torch.sigmoid(torch.relu(x))\nl = nn.functional.mse_loss(y, t)\n',
         target="torch",
         noop=("# ported from chainer\nimport torch.nn.functional as F\ny = F.sigmoid(F.relu(x))\n"
               "l = F.mse_loss(y, t)\n",
               "# ported from chainer\nimport torch\ny = torch.sigmoid(torch.relu(x))\n")),
    Rule("PT011", "F.dropout inside a module passes training=self.training (torch's functional default is "
         "always-on)",
         before="import chainer\nimport chainer.functions as F\n\n\nclass Net(chainer.Chain):\n"
                "    def __call__(self, x):\n        return F.dropout(x, ratio=0.2)\n",
         after="from torch import nn\n\n\nclass Net(nn.Module):\n    def forward(self, x):\n"
               "        return nn.functional.dropout(x, p=0.2, training=self.training)\n",
         target="torch",
         noop=("# ported from chainer\nfrom torch import nn\n\n\nclass Net(nn.Module):\n    def forward(self, x):\n"
               "        return nn.functional.dropout(x, p=0.2, training=self.training)\n",
               "# ported from chainer\nimport torch.nn.functional as F\nfrom torch import nn\n\n\n"
               "class Net(nn.Module):\n    def forward(self, x):\n        return F.dropout(x, 0.2, self.training)\n")),
    Rule("PT012", "F.linear flattens its input after the batch axis, as Chainer did",
         before="import chainer.functions as F\ny = F.linear(x, W, b)\n",
         after='from torch import nn\n\ny = nn.functional.linear(x.flatten(1), W, b)\n',
         target="torch",
         noop=("# ported from chainer\nimport torch.nn.functional as F\ny = F.linear(x, W, b)\n",
               "# ported from chainer\nfrom torch import nn\ny = nn.functional.linear(x.flatten(1), W, b)\n")),
    Rule("PT015", "softmax_cross_entropy/accuracy keep Chainer's ignore label and int64 targets",
         before="import chainer.functions as F\nl = F.softmax_cross_entropy(y, t)\na = F.accuracy(y, t)\n",
         after='from torch import nn\n\nl = nn.functional.cross_entropy(y, t.long(), ignore_index=-1)\na = (y.argmax(1) == t).float().mean()\n', target="torch",
         noop=("# ported from chainer\nimport torch.nn.functional as F\nl = F.cross_entropy(y, t)\n",
               "# ported from chainer\nfrom sklearn.metrics import accuracy_score\na = accuracy_score(y, t)\n")),
    Rule("PT016", "max_pooling_2d keeps cover_all (ceil_mode=True) and stride=ksize explicit; where ceil_mode "
         "would drop Chainer's last window (stride > ksize - pad, or sizes not literal) a max_pool2d_cover_all "
         "written into the file pads as Chainer did",
         before="import chainer.functions as F\nh = F.max_pooling_2d(x, 2)\nh = F.max_pooling_2d(h, 2, 2, 1)\n",
         after='from torch import nn\n\n\n' + MAX_POOL_COVER_ALL + '\n\nh = nn.functional.max_pool2d(x, 2, stride=2, '
               'padding=0, ceil_mode=True)\nh = max_pool2d_cover_all(h, 2, stride=2, pad=1)\n', target="torch",
         noop=("# ported from chainer\nimport torch.nn.functional as F\nh = F.max_pool2d(x, 2)\n",
               "# ported from chainer\nfrom torch import nn\n"
               "h = nn.functional.max_pool2d(x, 2, stride=2, padding=0, ceil_mode=True)\n")),
    Rule("PT017", "concat/split_axis/reshape keep Chainer's axis defaults and section semantics",
         before="import chainer.functions as F\nh = F.concat((a, b))\nc, d = F.split_axis(h, 2, 1)\n",
         after='import torch\n\nh = torch.cat((a, b), dim=1)\nc, d = torch.tensor_split(h, 2, dim=1)\n', target="torch",
         noop=("# ported from chainer\nimport torch\nh = torch.cat((a, b), dim=1)\n"
               "c, d = torch.tensor_split(h, 2, dim=1)\n",
               "# ported from chainer\nimport numpy as np\nh = np.concatenate((a, b))\nc, d = np.split(h, 2, 1)\n")),
    Rule("PT013", "F.transpose without axes reverses the axes: .T",
         before="import chainer.functions as F\nWt = F.transpose(W)\n", after="Wt = W.T\n", target="torch",
         noop=("# ported from chainer\nimport numpy as np\nWt = np.transpose(W)\n",
               "# ported from chainer\nimport torch\nWt = torch.transpose(W, 0, 1)\n")),
    Rule("PT014", "F.identity is nn.Identity() as a value and disappears as a call",
         before="import chainer.functions as F\nf = F.identity\ny = F.identity(x)\n",
         after='from torch import nn\n\nf = nn.Identity()\ny = x\n',
         target="torch",
         noop=("# ported from chainer\nfrom torch import nn\nf = nn.Identity()\n",
               "# ported from chainer\nimport numpy as np\nI = np.identity(3)\n")),
)

register(
    Rule("PT018", "F.leaky_relu (Chainer's slope 0.2, torch's 0.01), F.average_pooling_2d and F.sum, with "
         "Chainer's defaults spelled out",
         before="import chainer.functions as F\ny = F.leaky_relu(x)\np = F.average_pooling_2d(y, 2)\n"
                "s = F.sum(p, axis=1)\n",
         after="import torch\nfrom torch import nn\n\ny = nn.functional.leaky_relu(x, negative_slope=0.2)\n"
               "p = nn.functional.avg_pool2d(y, 2, stride=2, padding=0)\ns = torch.sum(p, dim=1)\n",
         target="torch",
         noop=("# ported from chainer\nfrom torch import nn\ny = nn.functional.leaky_relu(x, negative_slope=0.2)\n",
               "# ported from chainer\nimport numpy as np\ns = np.sum(x, axis=1)\n")),
)


@dataclass(frozen=True)
class Function:
    """How calls of one chainer.functions function become torch. ``signature`` is Chainer 1.24's, with its
    defaults, as the Chainer 5 rules leave calls (use_cudnn gone); ``torch`` is a template: ``{x}`` is the
    argument's text (Chainer's default when not passed), ``{(x)}`` the same as an operand, ``{,kw=x}`` is
    ``, kw=<x>`` when x was passed with another value than the default, else nothing. A dict picks a
    template by the literal values of ``keys`` (``...``: any other value, or one not literal); a value
    it does not list leaves the call marked, with ``hint`` saying what to do. ``value`` is a torch
    callable taking the same positional arguments, for the function used as a value."""

    rule: str
    signature: str
    torch: str | dict
    note: str = ""
    keys: tuple[str, ...] = ()
    hint: str = ""
    value: str | None = None


def _same(name: str, signature: str = "x", torch: str | None = None) -> Function:
    """A function that torch has with the same meaning and positional arguments (numpy's, for both)."""
    torch = torch or f"torch.{name}"
    parameters = [p.split("=")[0].strip() for p in signature.split(",")]
    return Function("PT050", signature, f"{torch}({', '.join('{' + p + '}' for p in parameters)})", value=torch)


_REDUCE_SUM = "Chainer 1.24 sums the loss (reduce='sum') or keeps it elementwise (reduce='no')"
# Chainer 1.24 (chainer/functions/*/*.py, checked function by function) -> torch 2.x
FUNCTIONS: dict[str, Function] = {
    **{name: _same(name) for name in ("sqrt", "square", "log1p", "expm1", "log2", "log10", "sin", "cos", "tan",
                                      "sinh", "cosh", "floor", "ceil", "rsqrt", "flatten", "fliplr", "flipud",
                                      "hstack", "vstack", "dstack")},
    "absolute": _same("abs"), "arcsin": _same("asin"), "arccos": _same("acos"), "arctan": _same("atan"),
    "maximum": _same("maximum", "x1, x2"), "minimum": _same("minimum", "x1, x2"),
    "fmod": _same("fmod", "x, divisor"), "clip": _same("clip", "x, x_min, x_max", "torch.clamp"),
    "where": _same("where", "condition, x, y"), "broadcast_to": _same("broadcast_to", "x, shape"),
    "expand_dims": _same("expand_dims", "x, axis", "torch.unsqueeze"),

    "swapaxes": _same("swapaxes", "x, axis1, axis2"),
    "squeeze": Function("PT050", "x, axis=None", "torch.squeeze({x}{,dim=axis})"),  # (torch's takes no dim=None)
    "stack": Function("PT050", "xs, axis=0", "torch.stack({xs}{,dim=axis})", value="torch.stack"),
    "elu": Function("PT050", "x, alpha=1.0", "nn.functional.elu({x}{,alpha=alpha})", value="nn.functional.elu"),
    # torch's threshold=20 returns x where beta * x > 20, where log1p(exp(-20)) is below float32's resolution
    "softplus": Function("PT050", "x, beta=1.0", "nn.functional.softplus({x}{,beta=beta})",
                         value="nn.functional.softplus"),

    # (as values, lambdas with Chainer's signature and defaults)
    "softmax": Function("PT051", "x, axis=1", "torch.softmax({x}, dim={axis})", "Chainer's axis is 1 by default",
                        value="lambda x, axis=1: torch.softmax(x, dim=axis)"),
    "log_softmax": Function("PT051", "x, axis=1", "torch.log_softmax({x}, dim={axis})",
                            "Chainer 1.24 normalizes over axis 1", value="lambda x: torch.log_softmax(x, dim=1)"),
    "clipped_relu": Function("PT051", "x, z=20.0", "torch.clamp({x}, 0.0, {z})", "min(max(0, x), z), z=20 by "
                             "default", value="lambda x, z=20.0: torch.clamp(x, 0.0, z)"),
    "hard_sigmoid": Function("PT051", "x", "torch.clamp({(x)} * 0.2 + 0.5, 0.0, 1.0)",
                             "Chainer's is clip(0.2 * x + 0.5, 0, 1); torch's hardsigmoid is x / 6 + 0.5",
                             value="lambda x: torch.clamp(x * 0.2 + 0.5, 0.0, 1.0)"),
    "normalize": Function("PT051", "x, eps=1e-05, axis=1",
                          "{(x)} / (torch.linalg.vector_norm({x}, dim={axis}, keepdim=True) + {eps})",
                          "Chainer divides by norm + eps; torch's normalize by max(norm, eps)"),

    "select_item": Function("PT052", "x, t", "{(x)}.gather(1, {(t)}.long()[:, None])[:, 0]", "x[i, t[i]] per row"),
    "get_item": Function("PT052", "x, slices", "{(x)}[{slices}]", "indexing"),
    "transpose": Function("PT052", "x, axes=None", {None: "{(x)}.T", ...: "torch.permute({x}, {axes})"},
                          "numpy's transpose: the axes reversed by default", keys=("axes",)),
    "embed_id": Function("PT052", "x, W, ignore_label=None", {
        None: "nn.functional.embedding({x}, {W})",
        ...: "nn.functional.embedding({(x)}.masked_fill({(x)} == {(ignore_label)}, 0), {W})"
             ".masked_fill(({(x)} == {(ignore_label)})[..., None], 0)"},
        "rows of W (Chainer's ignore_label gives zero vectors; torch's padding_idx would not)",
        keys=("ignore_label",)),

    "max": Function("PT053", "x, axis=None, keepdims=False", "torch.amax({x}{,dim=axis}{,keepdim=keepdims})",
                    "torch.max with a dim returns (values, indices)"),
    "min": Function("PT053", "x, axis=None, keepdims=False", "torch.amin({x}{,dim=axis}{,keepdim=keepdims})",
                    "torch.min with a dim returns (values, indices)"),
    "argmax": Function("PT053", "x, axis=None", "torch.argmax({x}{,dim=axis})", "int64 indices (Chainer's int32)"),
    "argmin": Function("PT053", "x, axis=None", "torch.argmin({x}{,dim=axis})", "int64 indices (Chainer's int32)"),
    **{name: Function("PT053", "x, axis=None, weights=None, keepdims=False",
                      {(None, False): "torch.mean({x}{,dim=axis})",  # (keepdim needs a dim, None for all axes)
                       (None, ...): "torch.mean({x}, dim={axis}, keepdim={keepdims})"},
                      "axis -> dim, keepdims -> keepdim", keys=("weights", "keepdims"),
                      hint="with weights Chainer computes sum(x * w, axis) / sum(w), w along axis: write that in "
                      "torch by hand") for name in ("mean", "average")},
    "logsumexp": Function("PT053", "x, axis=None", {None: "torch.logsumexp({(x)}.flatten(), 0)",
                                                    ...: "torch.logsumexp({x}, {axis})"},
                          "Chainer reduces every axis by default, torch needs a dim", keys=("axis",)),

    # 1.24's matmul takes 1-D or 2-D operands (1-D as an (N, 1) column) and returns a matrix; batch_matmul
    # takes (B, M, N) or (B, N) (as (B, N, 1)): torch.mm/bmm compute the 2-D/3-D cases and refuse the others
    "matmul": Function("PT054", "a, b, transa=False, transb=False", {
        (False, False): "torch.mm({a}, {b})", (True, False): "torch.mm({(a)}.T, {b})",
        (False, True): "torch.mm({a}, {(b)}.T)", (True, True): "torch.mm({(a)}.T, {(b)}.T)"},
        "matrices as in Chainer 1.24 (a 1-D operand, Chainer's (N, 1) column, is an error for torch.mm: reshape "
        "it)", keys=("transa", "transb"), hint="transa/transb must be known to pick the transposes"),
    "batch_matmul": Function("PT054", "a, b, transa=False, transb=False", {
        (False, False): "torch.bmm({a}, {b})", (True, False): "torch.bmm({(a)}.mT, {b})",
        (False, True): "torch.bmm({a}, {(b)}.mT)", (True, True): "torch.bmm({(a)}.mT, {(b)}.mT)"},
        "batches of matrices (a 2-D operand, Chainer's (B, N, 1), is an error for torch.bmm: add the axis)",
        keys=("transa", "transb"), hint="transa/transb must be known to pick the transposes"),

    # labels -1 are ignored (weight 0); the mean is over the others (normalize) or over the batch
    "sigmoid_cross_entropy": Function("PT055", "x, t, normalize=True, reduce='mean'", {
        (True, "mean"): "nn.functional.binary_cross_entropy_with_logits({x}, {(t)}.float(), weight=({(t)} != -1)"
                        ".float(), reduction='sum') / ({(t)} != -1).sum().clamp(min=1)",
        (False, "mean"): "nn.functional.binary_cross_entropy_with_logits({x}, {(t)}.float(), weight=({(t)} != -1)"
                         ".float(), reduction='sum') / len({t})",
        (True, "no"): "nn.functional.binary_cross_entropy_with_logits({x}, {(t)}.float(), weight=({(t)} != -1)"
                      ".float(), reduction='none')",
        (False, "no"): "nn.functional.binary_cross_entropy_with_logits({x}, {(t)}.float(), weight=({(t)} != -1)"
                       ".float(), reduction='none')"},
        "Chainer ignores the labels -1 and averages over the others (normalize=True) or over the batch",
        keys=("normalize", "reduce"), hint="normalize and reduce must be known to pick the torch reduction"),
    "huber_loss": Function("PT055", "x, t, delta, reduce='sum_along_second_axis'", {
        "sum_along_second_axis": "nn.functional.huber_loss({x}, {t}, reduction='none', delta={delta}).sum(1)",
        "no": "nn.functional.huber_loss({x}, {t}, reduction='none', delta={delta})"},
        "Chainer 1.24 sums over axis 1 by default", keys=("reduce",), hint="reduce must be known"),
    "mean_absolute_error": Function("PT055", "x0, x1", "nn.functional.l1_loss({x0}, {x1})", "the mean of |x0 - x1|"),
    "squared_error": Function("PT055", "x0, x1", "torch.square({(x0)} - {(x1)})", "elementwise"),
    "squared_difference": Function("PT055", "x1, x2", "torch.square({(x1)} - {(x2)})", "elementwise"),
    "absolute_error": Function("PT055", "x0, x1", "torch.abs({(x0)} - {(x1)})", "elementwise"),
    "bernoulli_nll": Function("PT055", "x, y, reduce='sum'", {
        "sum": "nn.functional.binary_cross_entropy_with_logits({y}, {x}, reduction='sum')",
        "no": "nn.functional.binary_cross_entropy_with_logits({y}, {x}, reduction='none')"},
        _REDUCE_SUM + " of softplus(y) - x * y, y the logits", keys=("reduce",), hint="reduce must be known"),
    "gaussian_kl_divergence": Function("PT055", "mean, ln_var, reduce='sum'", {
        "sum": "torch.sum((torch.square({mean}) + torch.exp({ln_var}) - {(ln_var)} - 1) * 0.5)",
        "no": "(torch.square({mean}) + torch.exp({ln_var}) - {(ln_var)} - 1) * 0.5"},
        _REDUCE_SUM + " of (mean**2 + exp(ln_var) - ln_var - 1) / 2", keys=("reduce",), hint="reduce must be known"),
    "gaussian_nll": Function("PT055", "x, mean, ln_var, reduce='sum'", {
        "sum": "torch.sum(({(ln_var)} + math.log(2 * math.pi)) / 2 + torch.square({(x)} - {(mean)}) * "
               "torch.exp(-{(ln_var)}) * 0.5)",
        "no": "({(ln_var)} + math.log(2 * math.pi)) / 2 + torch.square({(x)} - {(mean)}) * torch.exp(-{(ln_var)}) * "
              "0.5"},
        _REDUCE_SUM + "; torch's gaussian_nll_loss clamps the variance and averages", keys=("reduce",),
        hint="reduce must be known"),
    "softmax_cross_entropy": Function("PT058", "x, t, normalize=True, cache_score=True, class_weight=None, "
                                      "ignore_label=-1, reduce='mean'", {
        (True, "mean", None): "nn.functional.cross_entropy({x}, {(t)}.long(), ignore_index={ignore_label})",
        (True, "mean", ...): "nn.functional.cross_entropy({x}, {(t)}.long(), weight={class_weight}, "
                             "ignore_index={ignore_label}, reduction='sum') / ({(t)} != {ignore_label}).sum()"
                             ".clamp(min=1)",
        (False, "mean", None): "nn.functional.cross_entropy({x}, {(t)}.long(), ignore_index={ignore_label}, "
                               "reduction='sum') / len({t})",
        (False, "mean", ...): "nn.functional.cross_entropy({x}, {(t)}.long(), weight={class_weight}, "
                              "ignore_index={ignore_label}, reduction='sum') / len({t})",
        (True, "no", None): "nn.functional.cross_entropy({x}, {(t)}.long(), ignore_index={ignore_label}, "
                            "reduction='none')",
        (False, "no", None): "nn.functional.cross_entropy({x}, {(t)}.long(), ignore_index={ignore_label}, "
                             "reduction='none')",
        (True, "no", ...): "nn.functional.cross_entropy({x}, {(t)}.long(), weight={class_weight}, "
                           "ignore_index={ignore_label}, reduction='none')",
        (False, "no", ...): "nn.functional.cross_entropy({x}, {(t)}.long(), weight={class_weight}, "
                            "ignore_index={ignore_label}, reduction='none')"},
        "Chainer averages over the labels not ignored (normalize=True) or over the batch, class_weight "
        "weighting the sum (torch's weighted mean would divide by the weights; torch wants it a tensor)",
        keys=("normalize", "reduce", "class_weight"), hint="normalize and reduce must be known to pick the "
        "torch reduction"),

    # eps ~ N(0, 1), drawn from torch's generator instead of NumPy's (1.24 noise/gaussian.py)
    "gaussian": Function("PT056", "mean, ln_var", "{(mean)} + torch.exp({(ln_var)} * 0.5) * torch.randn_like({mean})",
                         "mean + exp(ln_var / 2) * eps, eps ~ N(0, 1) from torch's generator (seeded by "
                         "torch.manual_seed, no longer by numpy.random.seed)"),
}

register(
    Rule("PT050", "elementwise, array and activation functions torch has with the same meaning (sqrt, maximum, "
         "where, expand_dims -> unsqueeze, stack, elu, softplus, ...), as calls and as values",
         before="import chainer.functions as F\ny = F.sqrt(F.maximum(x, 0))\nz = F.expand_dims(y, axis=1)\n"
                "act = F.softplus\n",
         after="import torch\nfrom torch import nn\n\ny = torch.sqrt(torch.maximum(x, 0))\nz = torch.unsqueeze(y, 1)\n"
               "act = nn.functional.softplus\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\ny = torch.sqrt(torch.maximum(x, y))\n",
               "# ported from chainer\nimport numpy as np\nz = np.expand_dims(np.sqrt(x), 1)\n")),
    Rule("PT051", "softmax/log_softmax (Chainer's axis 1), clipped_relu (clamp to [0, z], z=20), hard_sigmoid "
         "(0.2 * x + 0.5) and normalize (/ (norm + eps)) with Chainer's definition spelled out",
         before="import chainer.functions as F\np = F.softmax(h)\nq = F.log_softmax(h)\nr = F.clipped_relu(h)\n",
         after="import torch\n\np = torch.softmax(h, dim=1)\nq = torch.log_softmax(h, dim=1)\n"
               "r = torch.clamp(h, 0.0, 20.0)\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\np = torch.softmax(h, dim=1)\n",
               "# ported from chainer\nfrom scipy.special import softmax\np = softmax(h)\n")),
    Rule("PT052", "select_item, get_item, transpose with axes, broadcast, embed_id (zero vectors for "
         "ignore_label), cast (to a NumPy dtype: literal, or in a variable through NumPy's reading of it) and copy (to "
         "a device, always a copy)",
         before="import numpy as np\nimport chainer.functions as F\np = F.select_item(y, t)\n"
                "h = F.cast(x, np.float32)\ne = F.embed_id(ids, W)\ng = F.cast(x, dtype)\n",
         after="import numpy as np\nimport torch\nfrom torch import nn\n\np = y.gather(1, t.long()[:, None])[:, 0]\n"
               "h = x.to(torch.float32)\ne = nn.functional.embedding(ids, W)\n"
               "g = x.to(torch.from_numpy(np.empty(0, dtype)).dtype)\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\nh = x.to(torch.float32)\np = y.gather(1, t[:, None])[:, 0]\n",
               "# ported from chainer\nimport copy\ny = copy.copy(x)\n")),
    Rule("PT117", "F.negative_sampling becomes chainer_negative_sampling written into the file: Chainer 1.24's "
         "loss over the samples the sampler draws (0 for t == -1, summed unless reduce='no')",
         before="import chainer.functions as F\nloss = F.negative_sampling(x, t, W, sampler.sample, 5)\n",
         after="import torch\n\n\n" + NEGATIVE_SAMPLING_FUNCTION +
               "\n\nloss = chainer_negative_sampling(x, t, W, sampler.sample, 5)\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\nloss = torch.logaddexp(x, y)\n",
               "# ported from chainer\nfrom mylib import functions as F\nloss = F.negative_sampling(x, t, W, s, 5)\n")),
    Rule("PT053", "max/min are torch.amax/amin (torch.max with a dim returns indices too), argmax/argmin, "
         "mean, logsumexp over every axis by default",
         before="import chainer.functions as F\nm = F.max(x, axis=1)\ni = F.argmax(x, axis=1)\n"
                "s = F.logsumexp(x)\n",
         after="import torch\n\nm = torch.amax(x, dim=1)\ni = torch.argmax(x, dim=1)\n"
               "s = torch.logsumexp(x.flatten(), 0)\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\nm = torch.amax(x, dim=1)\n",
               "# ported from chainer\nimport numpy as np\nm = np.max(x, axis=1)\n")),
    Rule("PT054", "matmul/batch_matmul (Chainer 1.24: matrices and batches of matrices) are torch.mm/bmm, "
         "transa/transb transposing the operand",
         before="import chainer.functions as F\nc = F.matmul(a, b, transb=True)\nd = F.batch_matmul(a, b)\n",
         after="import torch\n\nc = torch.mm(a, b.T)\nd = torch.bmm(a, b)\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\nc = torch.mm(a, b.T)\n",
               "# ported from chainer\nimport numpy as np\nc = np.matmul(a, b)\n")),
    Rule("PT055", "losses keep Chainer 1.24's reductions: sigmoid_cross_entropy ignores labels -1, huber_loss "
         "sums over axis 1, bernoulli_nll/gaussian_kl_divergence/gaussian_nll sum",
         before="import chainer.functions as F\nl = F.bernoulli_nll(x, y) + F.gaussian_kl_divergence(mu, ln_var)\n",
         after="import torch\nfrom torch import nn\n\nl = nn.functional.binary_cross_entropy_with_logits(y, x, "
               "reduction='sum') + torch.sum((torch.square(mu) + torch.exp(ln_var) - ln_var - 1) * 0.5)\n",
         target="torch",
         noop=("# ported from chainer\nfrom torch import nn\n"
               "l = nn.functional.binary_cross_entropy_with_logits(y, x)\n",
               "# ported from chainer\nfrom sklearn.metrics import mean_absolute_error\n"
               "l = mean_absolute_error(y, t)\n")),
    Rule("PT056", "F.gaussian(mean, ln_var) is mean + exp(ln_var / 2) * torch.randn_like(mean)",
         before="import chainer.functions as F\nz = F.gaussian(mu, ln_var)\n",
         after="import torch\n\nz = mu + torch.exp(ln_var * 0.5) * torch.randn_like(mu)\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\nz = mu + torch.exp(ln_var * 0.5) * torch.randn_like(mu)\n",
               "# ported from chainer\nimport random\nz = random.gauss(0, 1)\n")),
    Rule("PT057", "local_response_normalization is local_response_norm with Chainer's k=2 and alpha times n "
         "(torch averages the window, Chainer sums it)",
         before="import chainer.functions as F\nh = F.local_response_normalization(x)\n",
         after="from torch import nn\n\nh = nn.functional.local_response_norm(x, 5, alpha=0.0001 * 5, beta=0.75, "
               "k=2)\n",
         target="torch",
         noop=("# ported from chainer\nfrom torch import nn\nh = nn.functional.local_response_norm(x, 5)\n",
               "# ported from chainer\nlrn = {'n': 5, 'k': 2}\n")),
    Rule("PT058", "softmax_cross_entropy with normalize, class_weight, ignore_label or reduce keeps Chainer's "
         "reduction (a sum divided by the labels kept, or by the batch)",
         before="import chainer.functions as F\nl = F.softmax_cross_entropy(y, t, normalize=False)\n",
         after="from torch import nn\n\nl = nn.functional.cross_entropy(y, t.long(), ignore_index=-1, "
               "reduction='sum') / len(t)\n",
         target="torch",
         noop=("# ported from chainer\nfrom torch import nn\nl = nn.functional.cross_entropy(y, t, reduction='sum')\n",
               "# ported from chainer\nfrom sklearn.metrics import log_loss\nl = log_loss(t, y)\n")),
)

# Chainer's F.lstm (1.24 activation/lstm.py): the four gate pre-activations a, i, f, o interleaved along axis 1
# (x.reshape(B, H, 4)), where torch's LSTM cells keep four blocks; c = tanh(a) * sigmoid(i) + sigmoid(f) * c_prev,
# h = sigmoid(o) * tanh(c). A batch smaller than c_prev's updates its first rows (1.24 left the others
# uninitialised, Chainer 2+ copies them: so does this).
CHAINER_LSTM = '''def chainer_lstm(c_prev, x):
    """Chainer's F.lstm(c_prev, x): x holds the pre-activations of the gates a, i, f, o interleaved along axis 1
    (unit by unit, not in four blocks as in torch's LSTM cells); rows of c_prev beyond len(x) are kept."""
    a, i, f, o = x.reshape(len(x), x.shape[1] // 4, 4, *x.shape[2:]).unbind(2)
    c = torch.tanh(a) * torch.sigmoid(i) + torch.sigmoid(f) * c_prev[:len(x)]
    return torch.cat([c, c_prev[len(x):]]), torch.sigmoid(o) * torch.tanh(c)
'''

register(Rule(
    "PT059", "F.lstm(c, x) is `chainer_lstm` (written into the file): Chainer's gates interleaved along axis 1",
    before="import chainer.functions as F\nc, h = F.lstm(c, x)\n",
    after="import torch\n\n\n" + CHAINER_LSTM + "\n\nc, h = chainer_lstm(c, x)\n",
    target="torch",
    noop=("# ported from chainer\nimport torch\nh, c = torch.nn.functional.lstm_cell(x, (h, c), w_ih, w_hh)\n",
          "# ported from chainer\nfrom torch import nn\ncell = nn.LSTMCell(3, 4)\n")))

# NumPy dtypes F.cast may be given -> torch's (the type codes as NumPy reads them on every platform)
DTYPES = {**{f"numpy.{name}": f"torch.{name}" for name in ("float16", "float32", "float64", "int8", "int16", "int32",
                                                           "int64", "uint8")},
          **{name: f"torch.{name}" for name in ("float16", "float32", "float64", "int8", "int16", "int32", "int64",
                                                "uint8")},
          "f": "torch.float32", "d": "torch.float64", "e": "torch.float16", "i": "torch.int32"}

_PLACEHOLDER = re.compile(r"\{(\(|,\w+=)?(\w+)\)?\}")
_NUMBER = re.compile(r"-?[0-9][0-9.e+-]*")
PREFIX = "chainer.functions."
# functions of the earlier rules used as values: (rule, torch callable with Chainer's signature and defaults)
VALUES = {"leaky_relu": ("PT018", "lambda x, slope=0.2: nn.functional.leaky_relu(x, negative_slope=slope)")}
# functions whose torch form depends on more than literal arguments: the FunctionRules method for each
SPECIAL = {"cast": "_cast", "copy": "_copy", "tile": "_tile", "broadcast": "_broadcast", "lstm": "_lstm",
           "local_response_normalization": "_local_response_normalization", "negative_sampling": "_negative_sampling"}

SIMPLE = {"chainer.functions.sigmoid": "torch.sigmoid", "chainer.functions.relu": "torch.relu",
          "chainer.functions.tanh": "torch.tanh", "chainer.functions.exp": "torch.exp",
          "chainer.functions.log": "torch.log",
          "chainer.functions.mean_squared_error": "nn.functional.mse_loss"}


@rule_pass("torch.functions", 10)
class FunctionRules(RulePass):
    def __init__(self, ctx):
        super().__init__(ctx)
        self._methods: list[bool] = []  # inside a method of a class (self.training exists)
        self._needs_cover_all = False
        self._needs_lstm = False
        self._needs_negative_sampling = False

    def finish_module(self, module: cst.Module) -> cst.Module:
        if self._needs_lstm:
            module = insert_definition(module, CHAINER_LSTM)
        if self._needs_negative_sampling and not _defines_function(module, "chainer_negative_sampling"):
            module = insert_definition(module, NEGATIVE_SAMPLING_FUNCTION)
        return insert_definition(module, MAX_POOL_COVER_ALL) if self._needs_cover_all else module

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._methods.append(False)

    def leave_ClassDef(self, original, updated):
        self._methods.pop()
        return updated

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        params = node.params.params
        self._methods.append(bool(params) and params[0].name.value == "self")

    def leave_FunctionDef(self, original, updated):
        self._methods.pop()
        return updated

    def _spell(self, target: str) -> str:
        if target.startswith("nn."):
            self.ctx.imports.add(("torch", "nn", None))
        else:
            self.need_import("torch")
        return target

    def visit_Import(self, node: cst.Import) -> bool:
        return False  # `from chainer.functions import relu` names the function, it does not use it

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def leave_Attribute(self, original: cst.Attribute, updated):
        return self._reference(original, updated)

    def leave_Name(self, original: cst.Name, updated):
        return self._reference(original, updated)

    def _reference(self, original, updated):
        """Functions used as values (``ACTIVATIONS = {'relu': F.relu}``) or called."""
        qualified = self.qualified(original) if is_dotted(original) else None
        if qualified in SIMPLE:
            self.info(original, "PT010", f"`{code(original)}` is `{SIMPLE[qualified]}`")
            return cst.parse_expression(self._spell(SIMPLE[qualified]))
        if qualified == "chainer.functions.identity":
            return cst.parse_expression(self._spell("nn.Identity()"))
        parent = self.parent(original)
        if isinstance(parent, cst.Call) and parent.func is original:
            return updated  # a call: leave_Call converts it with its arguments
        name = qualified[len(PREFIX):] if qualified and qualified.startswith(PREFIX) else None
        function = FUNCTIONS.get(name)
        rule, value = (function.rule, function.value) if function else VALUES.get(name, (None, None))
        if value:
            self.info(original, rule, f"`{code(original)}` is `{value}`")
            for module in set(re.findall(r"(?<![\w.])(torch|nn)\.", value)):
                self._spell(f"{module}.")
            expression = cst.parse_expression(value)
            if isinstance(expression, cst.Lambda) and not isinstance(
                    parent, (cst.Assign, cst.AnnAssign, cst.DictElement, cst.Arg, cst.Element, cst.Return)):
                expression = expression.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
            return expression
        if qualified == "chainer.config.train" and self._is_read(original):
            training = self._training()
            if training is not None:
                self.info(original, "PT011", f"`chainer.config.train` read here is `{training}`")
                return cst.parse_expression(training)
        return updated

    def _is_read(self, node) -> bool:
        parent = self.parent(node)
        return not (isinstance(parent, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign)) or
                    isinstance(parent, cst.Attribute) and parent.value is node)

    def _training(self) -> str | None:
        """What tells the train mode here: the module's own flag inside a method, the program's one
        module-level model in a function; None when nothing does."""
        if self._methods and self._methods[-1]:
            return "self.training"
        if len(self.ctx.global_models) == 1:  # a function using the program's one module-level model
            return f"{self.ctx.global_models[0]}.training"
        return None

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        qualified = self.callee(original)
        args = [a for a in updated.args]
        if qualified == "chainer.functions.identity" and len(args) == 1 and args[0].keyword is None:
            self.info(original, "PT014", "`F.identity(x)` is `x`")
            return args[0].value
        if qualified == "chainer.functions.dropout":
            return self._dropout(original, updated)
        if qualified == "chainer.functions.linear" and args and args[0].keyword is None:
            self.info(original, "PT012", "F.linear flattened its input to (batch, -1); torch applies to the last "
                      "axis: `.flatten(1)` keeps Chainer's behaviour")
            flattened = args[0].with_changes(value=cst.parse_expression(f"{paren(code(args[0].value))}.flatten(1)"))
            return updated.with_changes(func=cst.parse_expression(self._spell("nn.functional.linear")),
                                        args=[flattened, *args[1:]])
        if qualified == "chainer.functions.softmax_cross_entropy" and len(args) == 2 and \
                not any(a.keyword or a.star for a in args):
            y, t = (code(a.value) for a in args)
            self.info(original, "PT015", "F.softmax_cross_entropy is nn.functional.cross_entropy with Chainer's "
                      "ignore label -1 and int64 labels")
            return cst.parse_expression(f"{self._spell('nn.functional.cross_entropy')}({y}, {paren(t)}.long(), "
                                        "ignore_index=-1)")
        if qualified == "chainer.functions.accuracy" and len(args) == 2 and not any(a.keyword or a.star for a in args):
            y, t = (code(a.value) for a in args)
            self.info(original, "PT015", "F.accuracy is the mean of argmax matches")
            return cst.parse_expression(f"({paren(y)}.argmax(1) == {paren(t)}).float().mean()")
        if qualified == "chainer.functions.max_pooling_2d":
            return self._max_pooling(original, updated)
        if qualified in ("chainer.functions.leaky_relu", "chainer.functions.average_pooling_2d",
                         "chainer.functions.sum"):
            return self._defaults_differ(original, updated, qualified.rsplit(".", 1)[1])
        if qualified in ("chainer.functions.concat", "chainer.functions.split_axis", "chainer.functions.reshape"):
            return self._array_function(original, updated, qualified.rsplit(".", 1)[1])
        if qualified == "chainer.functions.transpose" and len(args) == 1 and args[0].keyword is None:
            self.info(original, "PT013", "F.transpose without axes reverses them: `.T`")
            return cst.parse_expression(f"{paren(code(args[0].value))}.T")
        name = qualified[len(PREFIX):] if qualified and qualified.startswith(PREFIX) else None
        if name in SPECIAL:
            return getattr(self, SPECIAL[name])(original, updated)
        if name in FUNCTIONS:
            return self._function(original, updated, FUNCTIONS[name])
        return updated

    def _function(self, original: cst.Call, updated: cst.Call, function: Function) -> cst.BaseExpression:
        """A call of a FUNCTIONS row: its template with the arguments put in."""
        parameters = _parameters(function.signature)
        nodes = bind_arguments(updated, list(parameters))
        if nodes is None or any(default is None and name not in nodes for name, default in parameters.items()):
            self.todo(original, function.rule, f"{code(original.func)}: arguments other than ({function.signature}); "
                      "convert by hand")
            return updated
        texts = {name: code(nodes[name]) if name in nodes else default for name, default in parameters.items()}
        template = function.torch
        if isinstance(template, dict):
            values = [_literal(texts[key]) for key in function.keys]
            choices = [[value, ...] if value is not ... else [...] for value in values]
            keys = [key[0] if len(key) == 1 else key for key in itertools.product(*choices)]
            template = next((template[key] for key in keys if key in template), None)
            if template is None:
                passed = ", ".join(f"{key}={texts[key]}" for key in function.keys)
                self.todo(original, function.rule, f"{code(original.func)} with {passed}: {function.hint}")
                return updated
        for name, count in collections.Counter(m.group(2) for m in _PLACEHOLDER.finditer(template)).items():
            if count > 1 and name in nodes and not _pure(nodes[name]):
                self.todo(original, function.rule, f"{code(original.func)}: its torch form evaluates {name} "
                          f"`{texts[name]}` {count} times; assign it to a name first")
                return updated

        def argument(match: re.Match) -> str:
            kind, name = match.groups()
            if kind and kind.startswith(","):  # a keyword torch needs only when Chainer's value is not the default
                return f", {kind[1:]}{texts[name]}" if texts[name] != parameters[name] else ""
            if kind == "(" and not _NUMBER.fullmatch(texts[name]):  # (-1 needs none before an operator)
                return primary(nodes[name]) if name in nodes else paren(texts[name])
            return texts[name]

        text = _PLACEHOLDER.sub(argument, template)
        for module in set(re.findall(r"(?<![\w.])(torch|nn|math)\.", template)):
            self.need_import("math") if module == "math" else self._spell(f"{module}.")
        self.info(original, function.rule, f"{code(original.func)} is `{text}`" +
                  (f": {function.note}" if function.note else ""))
        return self._expression(original, text)

    def _expression(self, original: cst.Call, text: str) -> cst.BaseExpression:
        """``text`` in place of the call, parenthesised where an operator or attribute around it would bind it."""
        expression = cst.parse_expression(text)
        parent = self.parent(original)
        if not isinstance(expression, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)) and (
                isinstance(parent, (cst.BinaryOperation, cst.UnaryOperation, cst.Await)) or
                isinstance(parent, (cst.Attribute, cst.Subscript)) and parent.value is original or
                isinstance(parent, cst.Call) and parent.func is original):
            expression = expression.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return expression

    def _tile(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        """F.tile(x, reps): numpy's tile (1.24 array/tile.py), whose reps may be an int; torch.tile takes a tuple."""
        nodes = bind_arguments(updated, ["x", "reps"])
        if nodes is None or len(nodes) != 2:
            self.todo(original, "PT050", "F.tile with these arguments: use torch.tile(x, reps_tuple)")
            return updated
        reps, value = nodes["reps"], _literal(code(nodes["reps"]))
        if isinstance(value, int) and not isinstance(value, bool):
            text = f"({code(reps)},)"
        elif isinstance(value, (tuple, list)):
            text = code(reps)
        elif isinstance(reps, cst.Name):
            text = f"{reps.value} if isinstance({reps.value}, (tuple, list)) else ({reps.value},)"
        else:
            self.todo(original, "PT050", f"F.tile with reps `{code(reps)}`: torch.tile takes a tuple (numpy also took "
                      "an int): assign reps to a name first, or write the tuple")
            return updated
        self.info(original, "PT050", "F.tile is torch.tile, with reps as a tuple")
        return cst.parse_expression(f"{self._spell('torch.tile')}({code(nodes['x'])}, {text})")

    def _negative_sampling(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        """F.negative_sampling(x, t, W, sampler, sample_size, reduce='sum'): chainer_negative_sampling (written
        into the file, Chainer 1.24's loss), with the sampler called as Chainer called it."""
        values = bind_arguments(updated, ["x", "t", "W", "sampler", "sample_size", "reduce"])
        if values is None or len(values) < 5:
            self.todo(original, "PT117", "F.negative_sampling with these arguments: call chainer_negative_sampling "
                      "(netport's written-in Chainer loss) or write the loss by hand")
            return updated
        self._needs_negative_sampling = True
        self._spell("torch.")
        self.info(original, "PT117", "F.negative_sampling is `chainer_negative_sampling` (written into this file): "
                  "Chainer 1.24's loss, -log sigmoid(w_t . x) - sum of log sigmoid(-w_s . x) over the samples the "
                  "sampler draws (a NumPy or torch array), 0 for t == -1, summed unless reduce='no'")
        return updated.with_changes(func=cst.Name("chainer_negative_sampling"))

    def _cast(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        nodes = bind_arguments(updated, ["x", "typ"])
        typ = nodes.get("typ") if nodes and "x" in nodes else None
        if typ is None:
            self.todo(original, "PT052", "F.cast with these arguments: convert by hand, `x.to(dtype)`")
            return updated
        literal = _literal(code(typ))
        dtype = DTYPES.get(self.qualified(typ)) if is_dotted(typ) else DTYPES.get(literal) if isinstance(
            literal, str) else None
        if isinstance(typ, cst.Name) and typ.value == "float" and self.qualified(typ) is None and \
                "float" not in self.aliases.values():
            dtype = "torch.float64"  # NumPy reads the builtin float as float64
        if dtype is None and self.qualified(typ) is None and (isinstance(typ, cst.Name) or isinstance(
                typ, cst.Attribute) and isinstance(typ.value, cst.Name) and typ.value.value == "self"):
            # a dtype held in a variable: NumPy's reading of it (astype; None is float64 there too) as torch's,
            # exact for every NumPy dtype torch has (and an error for one it has not)
            numpy = self.need_import("numpy")
            dtype = f"torch.from_numpy({numpy}.empty(0, {code(typ)})).dtype"
        if dtype is None:
            self.todo(original, "PT052", f"F.cast to `{code(typ)}`, a NumPy dtype: use `.to(...)` with the torch "
                      "dtype it stands for (np.float32 -> torch.float32, ...)")
            return updated
        self.info(original, "PT052", f"F.cast to `{code(typ)}` is `.to({dtype})`")
        return cst.parse_expression(f"{primary(nodes['x'])}.to({self._spell(dtype)})")

    def _copy(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        """F.copy(x, dst): a new array on GPU dst, or on the CPU for dst == -1 (1.24 array/copy.py), which
        gradients flow back through: Tensor.to(device, copy=True)."""
        nodes = bind_arguments(updated, ["x", "dst"])
        if nodes is None or len(nodes) != 2:
            self.todo(original, "PT052", "F.copy with these arguments: use `x.to(device, copy=True)`")
            return updated
        dst, value = nodes["dst"], _literal(code(nodes["dst"]))
        if value == -1:
            device = "'cpu'"
        elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            device = f"'cuda:{value}'"
        elif value is ... and _pure(dst):
            device = f"'cpu' if {paren(code(dst))} == -1 else {self._spell('torch.device')}('cuda', {code(dst)})"
        else:
            self.todo(original, "PT052", f"F.copy to device `{code(dst)}`: use `x.to(device, copy=True)` with the "
                      "torch device (Chainer's -1 is the CPU, n >= 0 is GPU n)")
            return updated
        self.info(original, "PT052", f"F.copy to device `{code(dst)}` is `.to({device}, copy=True)` (Chainer's -1 "
                  "is the CPU; the result is always a new array, as Chainer's)")
        return cst.parse_expression(f"{primary(nodes['x'])}.to({device}, copy=True)")

    def _broadcast(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        args = updated.args
        if len(args) < 2 or any(a.keyword or a.star for a in args):
            self.todo(original, "PT052", "F.broadcast returns its one input itself and a tuple of several: use "
                      "torch.broadcast_tensors(...) for several")
            return updated
        self.info(original, "PT052", "F.broadcast of several arrays is torch.broadcast_tensors")
        return cst.parse_expression(f"{self._spell('torch.broadcast_tensors')}"
                                    f"({', '.join(code(a.value) for a in args)})")

    def _local_response_normalization(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        """Chainer (1.24 normalization/local_response_normalization.py, CPU) divides x by (k + alpha * s) ** beta,
        s the sum of x**2 over the n // 2 channels each side; torch by (k + alpha / n * s) ** beta over a window
        of n channels (n // 2 before, (n - 1) // 2 after): the same for odd n with alpha times n. For even n
        Chainer's CPU code sums n + 1 channels and its GPU code n, shifted: neither is torch's."""
        values = self._bind(original, updated, ["x", "n", "k", "alpha", "beta"], "PT057")
        if values is None:
            return updated
        n = values.get("n", "5")
        size = _integer(n)
        if size is None or size % 2 == 0:
            self.todo(original, "PT057", f"F.local_response_normalization with n={n}: for an odd n it is "
                      "nn.functional.local_response_norm(x, n, alpha=alpha * n, beta=beta, k=k); Chainer's even n "
                      "sums n + 1 channels on the CPU and n, shifted, on the GPU")
            return updated
        alpha = values.get("alpha", "0.0001")
        alpha = alpha if _NUMBER.fullmatch(alpha) else paren(alpha)
        self.info(original, "PT057", f"F.local_response_normalization is local_response_norm with Chainer's k=2 "
                  f"default and alpha * {n} (torch divides the window's sum by its size)")
        return cst.parse_expression(f"{self._spell('nn.functional.local_response_norm')}({values['x']}, {n}, "
                                    f"alpha={alpha} * {n}, beta={values.get('beta', '0.75')}, "
                                    f"k={values.get('k', '2')})")

    def _lstm(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        values = self._bind(original, updated, ["c_prev", "x"], "PT059")
        if values is None or len(values) != 2:
            return updated
        self._needs_lstm = True
        self._spell("torch.tanh")
        self.info(original, "PT059", "F.lstm is `chainer_lstm` (written into this file): Chainer's gates are "
                  "interleaved along axis 1, torch's LSTM cells keep them in blocks")
        return cst.parse_expression(f"chainer_lstm({values['c_prev']}, {values['x']})")

    def _array_function(self, original: cst.Call, updated: cst.Call, name: str) -> cst.BaseExpression:
        signature = {"concat": ["xs", "axis"], "split_axis": ["x", "indices_or_sections", "axis", "force_tuple"],
                     "reshape": ["x", "shape"]}[name]
        values = self._bind(original, updated, signature, "PT017")
        if values is None:
            return updated
        if name == "concat":  # Chainer concatenates along axis 1 by default, torch along 0
            self.info(original, "PT017", "F.concat is torch.cat, with Chainer's default axis=1 spelled out")
            return cst.parse_expression(f"{self._spell('torch.cat')}({values['xs']}, dim={values.get('axis', '1')})")
        if name == "reshape":
            self.info(original, "PT017", "F.reshape is torch.reshape")
            return cst.parse_expression(f"{self._spell('torch.reshape')}({values['x']}, {values['shape']})")
        sections = values["indices_or_sections"]
        single = values.get("force_tuple", "True") == "False" and not (sections.isdigit() and int(sections) > 1)
        if single:  # force_tuple=False returned a lone section unwrapped: only safe with a literal count > 1
            self.todo(original, "PT017", "F.split_axis(..., force_tuple=False) may return one section unwrapped: "
                      "use torch.tensor_split and unwrap a single section by hand")
            return updated
        self.info(original, "PT017", "F.split_axis is torch.tensor_split (a count of sections, or split indices, "
                  "as in Chainer; torch.split would read an int as a section size)")
        return cst.parse_expression(f"{self._spell('torch.tensor_split')}({values['x']}, {sections}, "
                                    f"dim={values.get('axis', '0')})")

    def _bind(self, original: cst.Call, updated: cst.Call, names: list[str], rule: str) -> dict[str, str] | None:
        """Arguments as source text by name, or a TODO when they cannot all be matched."""
        values = bind_arguments(updated, names)
        if values is None:
            self.todo(original, rule, f"{code(original.func)}: arguments beyond {', '.join(names)}; convert by hand")
            return None
        return {name: code(value) for name, value in values.items()}

    def _defaults_differ(self, original: cst.Call, updated: cst.Call, name: str) -> cst.BaseExpression:
        """Functions whose torch counterpart names or defaults its arguments otherwise (checked against
        Chainer 1.24's signatures and torch's)."""
        signature = {"leaky_relu": ["x", "slope"], "average_pooling_2d": ["x", "ksize", "stride", "pad"],
                     "sum": ["x", "axis", "keepdims"]}[name]
        values = self._bind(original, updated, signature, "PT018")
        if values is None:
            return updated
        x = values["x"]
        if name == "leaky_relu":
            text = f"{self._spell('nn.functional.leaky_relu')}({x}, negative_slope={values.get('slope', '0.2')})"
            message = "F.leaky_relu's slope is 0.2 by default, torch's negative_slope 0.01: written out"
        elif name == "average_pooling_2d":
            # both average the zero padding in (count_include_pad) and floor the output size (cover_all=False)
            ksize = values["ksize"]
            text = (f"{self._spell('nn.functional.avg_pool2d')}({x}, {ksize}, stride={values.get('stride', ksize)}, "
                    f"padding={values.get('pad', '0')})")
            message = "F.average_pooling_2d is avg_pool2d with Chainer's stride (ksize by default)"
        else:
            axis = f", dim={values['axis']}" if "axis" in values and values["axis"] != "None" else ""
            keep = f", keepdim={values['keepdims']}" if "keepdims" in values and axis else ""
            if "keepdims" in values and not axis and values["keepdims"] != "False":
                self.todo(original, "PT018", "F.sum over every axis with keepdims: write the torch sum by hand")
                return updated
            text = f"{self._spell('torch.sum')}({x}{axis}{keep})"
            message = "F.sum is torch.sum (axis -> dim, keepdims -> keepdim)"
        self.info(original, "PT018", message)
        return cst.parse_expression(text)

    def _max_pooling(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        values = self._bind(original, updated, ["x", "ksize", "stride", "pad", "cover_all"], "PT016")
        if values is None:
            return updated
        stride = values.get("stride", values["ksize"])
        pad = values.get("pad", "0")
        cover_all = values.get("cover_all", "True")
        if cover_all not in ("True", "False"):
            self.todo(original, "PT016", f"F.max_pooling_2d with cover_all={cover_all}: torch's ceil_mode=True is "
                      "Chainer's cover_all=True only when stride <= ksize - pad; pick the form by hand")
            return updated
        sizes = [_integer(v) for v in (values["ksize"], values["ksize"] if stride == "None" else stride, pad)]
        if cover_all == "True" and (None in sizes or sizes[1] > sizes[0] - sizes[2]):
            # ceil_mode would drop a last window that Chainer keeps (at some input sizes): pad as Chainer did
            self._needs_cover_all = True
            self._spell("nn.functional.max_pool2d")
            self.info(original, "PT016", "F.max_pooling_2d is `max_pool2d_cover_all` (written into this file): with "
                      f"stride {stride} > ksize {values['ksize']} - pad {pad} (or sizes not known here) ceil_mode=True "
                      "drops a last window that starts in the padding, which Chainer's cover_all kept (its output "
                      "is -inf), so the output sizes would differ")
            return cst.parse_expression(f"max_pool2d_cover_all({values['x']}, {values['ksize']}, stride={stride}, "
                                        f"pad={pad})")
        self.info(original, "PT016", "F.max_pooling_2d is nn.functional.max_pool2d; Chainer's cover_all=True is "
                  "ceil_mode=True (torch's default is False)")
        return cst.parse_expression(f"{self._spell('nn.functional.max_pool2d')}({values['x']}, {values['ksize']}, "
                                    f"stride={stride}, padding={pad}, ceil_mode={cover_all})")

    def _dropout(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        training = self._training()
        if training is None:
            self.todo(original, "PT011", "F.dropout outside a module method: pass training= explicitly "
                      "(torch's functional dropout is always on)")
            return updated
        values = self._bind(original, updated, ["x", "ratio"], "PT011")
        if values is None:
            return updated
        ratio = values.get("ratio", "0.5")
        self.info(original, "PT011", f"F.dropout is nn.functional.dropout with `training={training}` "
                  "(Chainer followed chainer.config.train)")
        return cst.parse_expression(f"{self._spell('nn.functional.dropout')}({values['x']}, p={ratio}, "
                                    f"training={training})")


def _parameters(signature: str) -> dict[str, str | None]:
    """``"x, axis=1"`` -> {"x": None, "axis": "1"}: each parameter's default as source text (None: required)."""
    arguments = ast.parse(f"def f({signature}): pass").body[0].args
    defaults = [None] * (len(arguments.args) - len(arguments.defaults)) + [ast.unparse(d) for d in arguments.defaults]
    return {argument.arg: default for argument, default in zip(arguments.args, defaults)}


def _literal(text: str):
    """The value of a literal (hashable), else ``...``."""
    try:
        value = ast.literal_eval(text)
        hash(value)
    except (ValueError, SyntaxError, TypeError):
        return ...
    return value


def _defines_function(module: cst.Module, name: str) -> bool:
    return any(isinstance(statement, cst.FunctionDef) and statement.name.value == name for statement in module.body)


def _pure(node: cst.BaseExpression) -> bool:
    """Whether evaluating the expression twice is as good as once: names, attributes, literals, and
    subscripts and arithmetic of them (no calls)."""
    if isinstance(node, (cst.Name, cst.Integer, cst.Float, cst.SimpleString)):
        return True
    if isinstance(node, cst.Attribute):
        return _pure(node.value)
    if isinstance(node, cst.UnaryOperation):
        return _pure(node.expression)
    if isinstance(node, cst.BinaryOperation):
        return _pure(node.left) and _pure(node.right)
    if isinstance(node, cst.Subscript):
        return _pure(node.value) and all(
            _pure(e.slice.value) if isinstance(e.slice, cst.Index) else
            all(part is None or _pure(part) for part in (e.slice.lower, e.slice.upper, e.slice.step))
            for e in node.slice)
    return False


def _integer(text: str) -> int | None:
    """The value of an integer literal (``2``, ``(2)``), else None."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None
