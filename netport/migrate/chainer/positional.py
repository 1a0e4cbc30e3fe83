"""CH001: pass by keyword every positional argument whose slot means something else in Chainer 5+.

Runs before every other rule. ``L.Convolution2D(16, 32, 5, 1, 0, 2.0)`` passes ``wscale`` in
Chainer 1.24 but ``nobias`` in Chainer 2+; ``F.softmax(x, False)`` passes ``use_cudnn`` in 1.24 but
``axis`` later. Arguments are matched against the v1.24 signature and given their v1 name
whenever a target version would bind that slot to another parameter (or to nothing); later
rules then rename or remove the keywords.
"""

from __future__ import annotations

import libcst as cst

from netport.migrate.chainer import api
from netport.migrate.passes import RulePass, code
from netport.migrate.registry import rule_pass
from netport.migrate.rules import Rule, register

register(Rule(
    "CH001",
    "positional arguments whose slot changed meaning after v1.24 are passed by keyword",
    before="import chainer.functions as F\ny = F.softmax(x, True, 1)\n",
    after="import chainer.functions as F\ny = F.softmax(x, axis=1)\n",
    noop=("import chainer.functions as F\ny = F.softmax(x, axis=1)\nh = F.dropout(x, 0.5)\n",
          "import chainer\n\n\ndef softmax(x, use_cudnn, axis):\n    return x\n\n\ny = softmax(x, True, 1)\n",
          "import chainer\nimport numpy as np\na, b = np.split(x, 2, 1)\n"),
))


@rule_pass("chainer.calls", 10)
class PositionalToKeyword(RulePass):
    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        qualified = self.callee(original)
        if qualified is None or not qualified.startswith("chainer."):
            return updated
        source = api.positional_names(api.SOURCE_VERSION, qualified)
        if source is None:
            return updated
        target_name = api.renamed(qualified)
        targets = [api.positional_names(v, target_name) for v in api.TARGET_VERSIONS]
        if any(t is None for t in targets):  # gone in Chainer 5+: the residual sweep reports it
            return updated
        args = list(updated.args)
        converting = False  # once one argument is a keyword, the ones after it must be too
        for i, arg in enumerate(args):
            if arg.star:
                if i < len(source):
                    self.warn(original, "CH001", f"{code(original.func)}: arguments from *{code(arg.value)} "
                              "cannot be checked against the v1.24 signature; check they bind as intended")
                break
            if arg.keyword is not None or i >= len(source):
                break
            name = source[i]
            if not converting and all(_same_slot(name, t, i, source) for t in targets):
                continue
            if converting:
                reason = "follows an argument passed by keyword"
            else:
                now = next((t[i] for t in targets if len(t) > i), None)
                reason = f"would bind to `{now}` in Chainer 5+" if now else "has no positional slot in Chainer 5+"
            converting = True
            self.info(original.args[i], "CH001", f"{code(original.func)}: positional argument {i + 1} is "
                      f"`{name}` in Chainer 1.24 and {reason}; passed by keyword")
            args[i] = arg.with_changes(keyword=cst.Name(name), equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))
        return updated.with_changes(args=args)


def _same_slot(name: str, target: list[str], index: int, source: list[str]) -> bool:
    """Whether slot ``index`` still takes the v1 parameter ``name``: same name, or a parameter
    renamed in place (``save_npz(filename, ...)`` became ``save_npz(file, ...)``)."""
    if index >= len(target):
        return False
    now = target[index]
    return now == name or (now not in source and name not in target)
