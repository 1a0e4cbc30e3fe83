"""CH010-CH016: keyword arguments of Chainer functions and links that changed after v1.24.

Runs after CH001, so every argument these rules care about is a keyword by now.
"""

from __future__ import annotations

import libcst as cst

from netport.migrate.chainer import api
from netport.migrate.passes import RulePass, code, defines_class, insert_definition, is_bool
from netport.migrate.registry import rule_pass
from netport.migrate.project import BATCH_NORMALIZATION_V1
from netport.migrate.rules import Rule, register

# Chainer 1.24's CPU batch normalization averaged the batch variance *plus eps* into the running
# variance (functions/normalization/batch_normalization.py: `var += self.eps` before the update); Chainer
# 5+ averages the batch variance alone, and no argument brings eps back. Evaluation then normalises by
# sqrt(running_var + eps) in both, so without this the evaluation outputs differ by about eps relative.
V1_BATCH_NORMALIZATION = '''class BatchNormalizationV1({base}):
    """Chainer 1.24's running-variance update (written by netport, rule CH017): on the CPU v1
    averaged the batch variance plus eps, Chainer 5+ averages the batch variance alone."""

    def forward(self, x, **kwargs):
        y = super(BatchNormalizationV1, self).forward(x, **kwargs)
        if chainer.config.train and not chainer.config.in_recomputing:
            decay = 1. - 1. / self.N if kwargs.get('finetune', False) else self.decay
            m = x.size // self.avg_var.size
            self.avg_var += (1 - decay) * (m / max(m - 1., 1.)) * self.eps
        return y
'''

register(
    Rule("CH010", "bias= on link constructors becomes initial_bias=",
         before="import chainer.links as L\nl = L.Linear(3, 2, bias=0.1)\n",
         after="import chainer.links as L\nl = L.Linear(3, 2, initial_bias=0.1)\n",
         noop=("import chainer.links as L\nl = L.Linear(3, 2, initial_bias=0.1)\n",
               "import chainer\nfrom torch import nn\nl = nn.Linear(3, 2, bias=False)\n",
               "import chainer.functions as F\ny = F.linear(x, W, b)\n")),
    Rule("CH011", "wscale=w becomes initialW=LeCunNormal(sqrt(w)), Chainer 1.24's exact initialisation",
         before="import chainer.links as L\nl = L.Linear(3, 2, wscale=2.0)\n",
         after='import chainer.links as L\nimport chainer\nimport math\n\nl = L.Linear(3, 2, initialW=chainer.initializers.LeCunNormal(math.sqrt(2.0)))\n',
         noop=("import chainer\nimport chainer.links as L\n"
               "l = L.Linear(3, 2, initialW=chainer.initializers.HeNormal())\n",
               "import chainer\n\n\ndef make(n, wscale=1.0):\n    return n * wscale\n\n\nw = make(3, wscale=2.0)\n")),
    Rule("CH012", "use_cudnn=True is dropped; use_cudnn=False becomes a using_config('use_cudnn', 'never') scope",
         before="import chainer.functions as F\nh = F.max_pooling_2d(x, 2, use_cudnn=False)\ny = F.relu(h, use_cudnn=True)\n",
         after="import chainer.functions as F\nimport chainer\n\nwith chainer.using_config('use_cudnn', 'never'):\n    h = F.max_pooling_2d(x, 2)\ny = F.relu(h)\n",
         noop=("import chainer\nimport chainer.functions as F\nwith chainer.using_config('use_cudnn', 'never'):\n"
               "    h = F.max_pooling_2d(x, 2)\n",
               "import chainer\n\n\ndef pool(x, use_cudnn=True):\n    return x\n\n\nh = pool(x, use_cudnn=False)\n")),
    Rule("CH013", "deterministic=True becomes a using_config('cudnn_deterministic', True) scope",
         before="import chainer.functions as F\ny = F.convolution_2d(x, W, deterministic=True)\n",
         after="import chainer.functions as F\nimport chainer\n\nwith chainer.using_config('cudnn_deterministic', True):\n    y = F.convolution_2d(x, W)\n",
         noop=("import chainer\nimport chainer.functions as F\n"
               "with chainer.using_config('cudnn_deterministic', True):\n    y = F.convolution_2d(x, W)\n",
               "import chainer\n\n\ndef sample(n, deterministic=False):\n    return n\n\n\n"
               "y = sample(3, deterministic=True)\n")),
    Rule("CH014", "F.split_axis keeps v1 semantics: force_tuple=False (the default became True in v2)",
         before="import chainer.functions as F\nh = F.split_axis(x, 2, 1)\n",
         after="import chainer.functions as F\nh = F.split_axis(x, 2, 1, force_tuple=False)\n",
         noop=("import chainer.functions as F\nh = F.split_axis(x, 2, 1, force_tuple=True)\n",
               "import chainer\nimport numpy as np\na, b = np.split(x, 2, axis=1)\n")),
    Rule("CH015", "L.LSTM keeps v1's forget-gate bias of 0 (the default became 1 in v2)",
         before="import chainer.links as L\nlstm = L.LSTM(10, 20)\n",
         after="import chainer.links as L\nlstm = L.LSTM(10, 20, forget_bias_init=0)\n",
         noop=("import chainer.links as L\nlstm = L.LSTM(10, 20, forget_bias_init=1)\n",
               "import chainer\nfrom torch import nn\nlstm = nn.LSTM(10, 20)\n",
               "import chainer.links as L\nrnn = L.NStepLSTM(1, 10, 20, 0.0)\n")),
    Rule("CH017", "L.BatchNormalization keeps v1's running variance: it starts at 0 (Chainer 5: 1) and takes in "
         "eps at every update (a BatchNormalizationV1 subclass written into the file)",
         before="import chainer.links as L\nbn = L.BatchNormalization(16)\n",
         after="import chainer.links as L\nimport chainer\n\n\n" + V1_BATCH_NORMALIZATION.format(base="L.BatchNormalization")
         + "\n\nbn = BatchNormalizationV1(16, initial_avg_var=0)\n",
         noop=("import chainer.functions as F\ny = F.batch_normalization(x, gamma, beta)\n",
               "import chainer\nfrom torch import nn\nbn = nn.BatchNorm2d(16)\n")),
    Rule("CH018", "L.ConvolutionND/DeconvolutionND without initial_bias keep v1's missing bias (nobias=True)",
         before="import chainer.links as L\nc = L.ConvolutionND(3, 1, 8, 3)\n",
         after="import chainer.links as L\nc = L.ConvolutionND(3, 1, 8, 3, nobias=True)\n",
         noop=("import chainer.links as L\nc = L.ConvolutionND(3, 1, 8, 3, nobias=True)\n"
               "d = L.DeconvolutionND(3, 8, 1, 3, initial_bias=0)\n",
               "import chainer.links as L\nc = L.Convolution2D(1, 8, 3)\n")),
    Rule("CH016", "v1's stateless L.GRU(out, in) has no drop-in v2 equivalent (flagged)",
         before="import chainer.links as L\ngru = L.GRU(20, 10)\n",
         after="import chainer.links as L\ngru = L.GRU(20, 10)  # netport: TODO(CH016): L.GRU is stateful since Chainer 2; "
               "v1's stateless GRU(n_units, n_inputs) is L.StatelessGRU(n_inputs, n_units)\n",
         noop=("import chainer.links as L\ngru = L.StatelessGRU(10, 20)\n",
               "import chainer\nfrom torch import nn\ngru = nn.GRU(10, 20)\n")),
)

_LINK_PREFIX = "chainer.links."


@rule_pass("chainer.calls", 20)
class KeywordArguments(RulePass):
    _batch_normalization_base: str | None = None  # how the file spells L.BatchNormalization, once a call needs V1

    def finish_module(self, module: cst.Module) -> cst.Module:
        base = self._batch_normalization_base
        if base is None or defines_class(module, BATCH_NORMALIZATION_V1):
            return module
        return insert_definition(module, V1_BATCH_NORMALIZATION.format(base=base))

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        qualified = self.callee(original)
        if qualified is None or not qualified.startswith("chainer."):
            return updated
        removed = api.removed_keywords(qualified)
        args = list(updated.args)
        keywords = {a.keyword.value: i for i, a in enumerate(args) if a.keyword is not None}
        name = code(original.func)

        if "bias" in keywords and "bias" in removed and qualified.startswith(_LINK_PREFIX):
            i = keywords["bias"]
            args[i] = args[i].with_changes(keyword=cst.Name("initial_bias"))
            self.info(original, "CH010", f"{name}: `bias=` is `initial_bias=` since Chainer 2")

        if "wscale" in keywords and "wscale" in removed:
            i = keywords["wscale"]
            if "initialW" in keywords:
                self.todo(original, "CH011", f"{name}: `wscale=` together with `initialW=` scaled the initializer "
                          "by sqrt(wscale) in v1; fold the scale into initialW and drop wscale")
            else:
                scale = code(args[i].value)
                initializer = (f"{self.spell('chainer.initializers.LeCunNormal')}"
                               f"({self.need_import('math')}.sqrt({scale}))")
                args[i] = args[i].with_changes(keyword=cst.Name("initialW"), value=cst.parse_expression(initializer))
                self.info(original, "CH011", f"{name}: `wscale={scale}` is `initialW={initializer}` "
                          "(Chainer 1.24 drew LeCun-normal weights scaled by sqrt(wscale))")

        for keyword, config in api.CONFIG_KEYWORDS.items():
            if keyword not in keywords or keyword not in removed:
                continue
            value = args[keywords[keyword]].value
            default_on = keyword == "use_cudnn"
            if is_bool(value, default_on):  # the default: just drop it
                self.info(original, "CH012" if default_on else "CH013",
                          f"{name}: `{keyword}={code(value)}` is the default; removed")
            elif is_bool(value, not default_on):
                setting = "'never'" if default_on else "True"
                self.wrap(f"{self.need_import('chainer')}.using_config('{config}', {setting})")
                self.info(original, "CH012" if default_on else "CH013",
                          f"{name}: `{keyword}={code(value)}` became a `using_config('{config}', {setting})` scope")
            else:
                self.todo(original, "CH012" if default_on else "CH013",
                          f"{name}: `{keyword}={code(value)}` was removed; set chainer.config.{config} in a "
                          "`with chainer.using_config(...)` scope instead")
                continue
            args[keywords[keyword]] = None
        args = [a for a in args if a is not None]

        if qualified == "chainer.functions.split_axis" and "force_tuple" not in keywords:
            args.append(cst.Arg(cst.Name("False"), keyword=cst.Name("force_tuple"), equal=_EQUAL))
            self.info(original, "CH014", "F.split_axis returns a tuple even for one section since Chainer 2; "
                      "`force_tuple=False` keeps v1's behaviour")
        if api.renamed(qualified) == "chainer.links.LSTM" and "forget_bias_init" not in keywords:
            args.append(cst.Arg(cst.Integer("0"), keyword=cst.Name("forget_bias_init"), equal=_EQUAL))
            self.warn(original, "CH015", "L.LSTM initialises the forget-gate bias to 1 since Chainer 2; "
                      "`forget_bias_init=0` keeps v1's numbers (drop it to take the new default)")
        if api.renamed(qualified) == "chainer.links.BatchNormalization" and "initial_avg_var" not in keywords:
            # The running variance is an exponential average: its start value still weighs
            # decay**n after n updates, so evaluation numbers differ for many iterations.
            args.append(cst.Arg(cst.Integer("0"), keyword=cst.Name("initial_avg_var"), equal=_EQUAL))
            self._batch_normalization_base = self.spell("chainer.links.BatchNormalization")
            self.need_import("chainer")
            updated = updated.with_changes(func=cst.Name(BATCH_NORMALIZATION_V1))
            self.info(original, "CH017", f"{name} is `{BATCH_NORMALIZATION_V1}` (written into this file) with "
                      "`initial_avg_var=0`: Chainer 5+ starts the running variance at 1, v1 at 0, and Chainer 1.24 "
                      "on the CPU added eps into it at every update, which the subclass does too, so evaluation "
                      "computes v1's numbers (v1 with cuDNN on a GPU left eps out: use the plain link for that)")
        if api.renamed(qualified) in ("chainer.links.ConvolutionND", "chainer.links.DeconvolutionND") and \
                "initial_bias" not in keywords and "nobias" not in keywords:
            args.append(cst.Arg(cst.Name("True"), keyword=cst.Name("nobias"), equal=_EQUAL))
            self.info(original, "CH018", f"{name} had no bias in v1 unless initial_bias was given; Chainer 2+ adds "
                      "one by default: `nobias=True` keeps v1's layer")
        if api.renamed(qualified) == "chainer.links.GRU":
            self.todo(original, "CH016", "L.GRU is stateful since Chainer 2; v1's stateless GRU(n_units, n_inputs) "
                      "is L.StatelessGRU(n_inputs, n_units)")
        if args and args[-1].comma is not cst.MaybeSentinel.DEFAULT and not _has_trailing_comma(original):
            args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(args=args)


_EQUAL = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))


def _has_trailing_comma(call: cst.Call) -> bool:
    return bool(call.args) and isinstance(call.args[-1].comma, cst.Comma)
