"""PT010-PT015: chainer.functions calls become torch calls, with Chainer's behaviour spelled out
where torch's default differs (dropout's training flag, linear's flattening)."""

from __future__ import annotations

import ast

import libcst as cst

from netport.migrate.passes import RulePass, bind_arguments, code, insert_definition, is_dotted, paren
from netport.migrate.registry import rule_pass
from netport.migrate.rules import Rule, register

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

    def finish_module(self, module: cst.Module) -> cst.Module:
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
        return updated

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


def _integer(text: str) -> int | None:
    """The value of an integer literal (``2``, ``(2)``), else None."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None
