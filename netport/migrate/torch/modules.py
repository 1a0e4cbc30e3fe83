"""PT001-PT006: Chainer model definitions become torch.nn modules.

Runs on Chainer 5 idiom (the Chainer rules have run first): ``Chain``/``ChainList`` ->
``nn.Module``/``nn.ModuleList``, ``init_scope`` blocks dissolved, ``__call__`` -> ``forward``,
links -> ``nn`` modules that keep Chainer's initialisation (LeCun-normal weights, zero or given
bias, ``wscale`` folded in by CH011), ``chainer.Parameter`` -> ``nn.Parameter``, and ``.W``/``.b``
of links -> ``.weight``/``.bias``. Anything else is left for the residual sweep (PT099).
"""

from __future__ import annotations

import libcst as cst

from netport.migrate.passes import RulePass, code, is_bool
from netport.migrate.rules import Rule, register

register(
    Rule("PT001", "Chain/ChainList classes become nn.Module/nn.ModuleList; __call__ becomes forward",
         before="import chainer\n\n\nclass Net(chainer.Chain):\n    def __call__(self, x):\n        return x\n",
         after="from torch import nn\n\n\nclass Net(nn.Module):\n    def forward(self, x):\n        return x\n",
         target="torch"),
    Rule("PT002", "init_scope blocks are dissolved: torch registers modules on assignment",
         before="import chainer\n\n\nclass Net(chainer.Chain):\n    def __init__(self):\n"
                "        super(Net, self).__init__()\n        with self.init_scope():\n            self.k = 3\n",
         after="from torch import nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
               "        super(Net, self).__init__()\n        self.k = 3\n",
         target="torch"),
    Rule("PT003", "L.Linear/L.Convolution2D become nn.Linear/nn.Conv2d with Chainer's initialisation kept",
         before="import chainer.links as L\nfc = L.Linear(784, 10)\n",
         after='import math\nfrom torch import nn\n\nfc = nn.Linear(784, 10)\nnn.init.normal_(fc.weight, std=1 / math.sqrt(784))\nnn.init.zeros_(fc.bias)\n',
         target="torch"),
    Rule("PT004", "chainer.Parameter becomes nn.Parameter filled like the Chainer initializer",
         before="import chainer\nb = chainer.Parameter(chainer.initializers.NaN(), (3,))\n",
         after="import torch\nfrom torch import nn\n\nb = nn.Parameter(torch.full((3,), float('nan')))\n",
         target="torch"),
    Rule("PT005", ".W/.b of a link become .weight/.bias",
         before="import chainer\nimport chainer.links as L\n\n\nclass Net(chainer.Chain):\n"
                "    def __init__(self):\n        super(Net, self).__init__()\n        with self.init_scope():\n"
                "            self.fc = L.Linear(3, 2, nobias=True)\n\n    def __call__(self, x):\n"
                "        return self.fc.W\n",
         after="import math\nfrom torch import nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
               "        super(Net, self).__init__()\n        self.fc = nn.Linear(3, 2, bias=False)\n"
               "        nn.init.normal_(self.fc.weight, std=1 / math.sqrt(3))\n\n    def forward(self, x):\n"
               "        return self.fc.weight\n",
         target="torch"),
)

_MODULE_BASES = {"chainer.Chain": "Module", "chainer.link.Chain": "Module", "chainer.Link": "Module",
                 "chainer.link.Link": "Module", "chainer.ChainList": "ModuleList",
                 "chainer.link.ChainList": "ModuleList"}
# link -> (torch module, Chainer's positional parameter names)
_LINKS = {
    "chainer.links.Linear": ("Linear", ["in_size", "out_size", "nobias", "initialW", "initial_bias"]),
    "chainer.links.Convolution2D": ("Conv2d", ["in_channels", "out_channels", "ksize", "stride", "pad", "nobias",
                                               "initialW", "initial_bias"]),
}
_PARAM_RENAMES = {"W": "weight", "b": "bias"}
_FILLS = {"chainer.initializers.NaN": "float('nan')", "chainer.initializers.Zero": "0.0",
          "chainer.initializers.One": "1.0"}


class ModuleRules(RulePass):
    def __init__(self, ctx):
        super().__init__(ctx)
        self._module_classes: list[bool] = []

    def _nn(self, name: str) -> str:
        self.ctx.imports.add(("torch", "nn", None))
        return f"nn.{name}"

    # classes
    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._module_classes.append(any(self.qualified(b.value) in _MODULE_BASES for b in node.bases))

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        self._module_classes.pop()
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

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        if self._in_module_class and original.name.value == "__call__":
            self.info(original, "PT001", "`__call__` is `forward` in torch (nn.Module.__call__ runs hooks, then forward)")
            return updated.with_changes(name=cst.Name("forward"))
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
        if qualified == "chainer.Parameter":
            return self._parameter(original, updated)
        func = updated.func
        if self._module_classes and isinstance(func, cst.Attribute) and func.attr.value == "__init__" and \
                len(updated.args) == 1 and updated.args[0].star == "*":
            # ChainList.__init__(*links) -> ModuleList.__init__(links)
            return updated.with_changes(args=[updated.args[0].with_changes(star="")])
        return updated

    def _arguments(self, call: cst.Call, names: list[str]) -> dict[str, cst.BaseExpression] | None:
        values = {}
        for i, arg in enumerate(call.args):
            if arg.star:
                return None
            name = arg.keyword.value if arg.keyword is not None else (names[i] if i < len(names) else None)
            if name is None or name not in names:
                return None
            values[name] = arg.value
        return values

    def _link(self, original: cst.Call, updated: cst.Call, qualified: str) -> cst.BaseExpression:
        module, names = _LINKS[qualified]
        values = self._arguments(updated, names)
        statement = self.statement
        target = _assignment_target(statement, original)
        problem = None
        if values is None:
            problem = "arguments it cannot match"
        elif names[1] not in values or is_none(values.get(names[0])):
            problem = "an input size inferred at the first call (use nn.Lazy* and a dry run)"
        elif target is None:
            problem = "no assignment to attach the initialisation to"
        scale = None
        if problem is None and "initialW" in values:
            init = values["initialW"]
            if isinstance(init, cst.Call) and self.qualified(init.func) == "chainer.initializers.LeCunNormal":
                scale = code(init.args[0].value) if init.args else None
            else:
                problem = f"initialW={code(init)}"
        if problem is None and module == "Conv2d" and isinstance(values.get("ksize"), cst.Tuple):
            problem = "a non-square kernel"
        if problem is not None:
            self.todo(original, "PT003", f"{code(original.func)} with {problem}: write the torch.nn module by hand")
            return updated
        nobias = values.get("nobias")
        has_bias = not (nobias is not None and is_bool(nobias, True))
        if nobias is not None and not is_bool(nobias, True) and not is_bool(nobias, False):
            self.todo(original, "PT003", f"{code(original.func)}: nobias={code(nobias)} is not a literal")
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
            fan_in = f"{_paren(code(values['in_channels']))} * {_paren(k)} * {_paren(k)}"
        if not has_bias:
            args += ", bias=False"
        std = f"1 / {self.need_import('math')}.sqrt({fan_in})"
        if scale is not None:
            std = f"{_paren(scale)} / {self.need_import('math')}.sqrt({fan_in})"
        init = [f"{self._nn('init')}.normal_({target}.weight, std={std})"]
        if has_bias:
            bias = values.get("initial_bias")
            init.append(f"nn.init.zeros_({target}.bias)" if bias is None or is_none(bias)
                        else f"nn.init.constant_({target}.bias, {code(bias)})")
        self.insert_after(statement, [cst.parse_statement(line + "\n") for line in init])
        self.info(original, "PT003", f"{code(original.func)} is `nn.{module}`, initialised as Chainer did "
                  f"(LeCun normal{' scaled by ' + scale if scale else ''}, "
                  f"{'no bias' if not has_bias else 'bias as given' if values.get('initial_bias') else 'zero bias'})")
        return cst.parse_expression(f"{self._nn(module)}({args})")

    def _parameter(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        args = [a.value for a in updated.args if a.keyword is None]
        init = args[0] if args else None
        fill = _FILLS.get(self.qualified(init.func)) if isinstance(init, cst.Call) and not init.args else None
        if isinstance(init, cst.Call) and self.qualified(init.func) == "chainer.initializers.Constant" and \
                len(init.args) == 1:
            fill = code(init.args[0].value)
        if fill is None or len(args) != 2:
            self.todo(original, "PT004", "chainer.Parameter with this initializer: build the tensor and wrap it in "
                      "nn.Parameter by hand")
            return updated
        self.need_import("torch")
        self.info(original, "PT004", "chainer.Parameter is nn.Parameter")
        return cst.parse_expression(f"{self._nn('Parameter')}(torch.full({code(args[1])}, {fill}))")

    # .W / .b of links
    def leave_Attribute(self, original: cst.Attribute, updated: cst.BaseExpression) -> cst.BaseExpression:
        name = original.attr.value
        if name not in _PARAM_RENAMES or not isinstance(original.value, cst.Attribute):
            return updated
        link = self.project.link_types.get(original.value.attr.value)
        if link not in _LINKS:
            return updated
        self.info(original, "PT005", f"`.{name}` of a link is `.{_PARAM_RENAMES[name]}`")
        return updated.with_changes(attr=cst.Name(_PARAM_RENAMES[name]))


def _assignment_target(statement: cst.CSTNode | None, call: cst.Call) -> str | None:
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        small = statement.body[0]
        if isinstance(small, cst.Assign) and small.value is call and len(small.targets) == 1:
            target = small.targets[0].target
            if isinstance(target, (cst.Name, cst.Attribute)):
                return code(target)
    return None


def is_none(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def _paren(text: str) -> str:
    return text if text.replace(".", "").replace("_", "").isalnum() else f"({text})"
