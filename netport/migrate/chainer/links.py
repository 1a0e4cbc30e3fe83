"""CH030-CH034: registering links and parameters the Chainer 5 way, inside ``init_scope()``.

``Chain.__init__(self, l1=L.Linear(...))`` (deprecated in v2-v4), ``add_link`` and ``add_param``
become attribute assignments in ``with self.init_scope():``; a module-level
``model = FunctionSet(l1=F.Linear(...))`` (already renamed to ``Chain``/``L.Linear`` by CH002)
becomes ``model = chainer.Chain()`` plus ``with model.init_scope():``. Statement order is kept.
"""

from __future__ import annotations

import re
import keyword

import libcst as cst

from netport.migrate.passes import RulePass, bind_arguments, code
from netport.migrate.registry import rule_pass
from netport.migrate.rules import Rule, register

register(
    Rule("CH030", "links passed to Chain.__init__ as keywords are assigned inside init_scope",
         before="import chainer\nimport chainer.links as L\n\n\nclass MLP(chainer.Chain):\n"
                "    def __init__(self):\n        super(MLP, self).__init__(\n"
                "            l1=L.Linear(784, 100),  # hidden\n            l2=L.Linear(100, 10),\n        )\n",
         after="import chainer\nimport chainer.links as L\n\n\nclass MLP(chainer.Chain):\n"
               "    def __init__(self):\n        super(MLP, self).__init__()\n        with self.init_scope():\n"
               "            self.l1 = L.Linear(784, 100)  # hidden\n            self.l2 = L.Linear(100, 10)\n",
         noop=("import chainer\nimport chainer.links as L\n\n\nclass MLP(chainer.Chain):\n    def __init__(self):\n"
               "        super(MLP, self).__init__()\n        with self.init_scope():\n"
               "            self.l1 = L.Linear(784, 100)\n",
               "import chainer\n\n\nclass Config(dict):\n    def __init__(self):\n"
               "        super(Config, self).__init__(lr=0.1, batchsize=32)\n")),
    Rule("CH031", "add_link(name, link) becomes an attribute assignment inside init_scope",
         before="import chainer\nimport chainer.links as L\n\n\nclass Net(chainer.Chain):\n"
                "    def __init__(self):\n        super(Net, self).__init__()\n"
                "        self.add_link('fc', L.Linear(3, 2))\n",
         after="import chainer\nimport chainer.links as L\n\n\nclass Net(chainer.Chain):\n"
               "    def __init__(self):\n        super(Net, self).__init__()\n"
               "        with self.init_scope():\n            self.fc = L.Linear(3, 2)\n",
         noop=("import chainer\nimport chainer.links as L\n\n\nclass Stack(chainer.ChainList):\n"
               "    def __init__(self):\n        super(Stack, self).__init__()\n"
               "        self.add_link(L.Linear(3, 2))\n",
               "import chainer\nsite = Sitemap()\nsite.add_link('home', '/index.html')\n")),
    Rule("CH032", "add_param(name, shape) becomes a chainer.Parameter inside init_scope (NaN-filled, as in v1)",
         before="import chainer\n\n\nclass Net(chainer.Chain):\n    def __init__(self, n):\n"
                "        super(Net, self).__init__()\n        self.add_param('b', (n,))\n",
         after="import chainer\n\n\nclass Net(chainer.Chain):\n    def __init__(self, n):\n"
               "        super(Net, self).__init__()\n        with self.init_scope():\n"
               "            self.b = chainer.Parameter(chainer.initializers.NaN(), (n,))\n",
         noop=("import chainer\n\n\nclass Net(chainer.Chain):\n    def __init__(self, n):\n"
               "        super(Net, self).__init__()\n        with self.init_scope():\n"
               "            self.b = chainer.Parameter(chainer.initializers.NaN(), (n,))\n",
               "import chainer\nconfig = Config()\nconfig.add_param('lr', (0.1,))\n")),
    Rule("CH033", "a FunctionSet/Chain built from keyword links becomes a Chain filled inside init_scope",
         before="import chainer\nimport chainer.functions as F\n"
                "model = chainer.FunctionSet(l1=F.Linear(784, 100),\n                            l2=F.Linear(100, 10))\n",
         after='import chainer\nimport chainer.functions as F\nimport chainer.links as L\n\nmodel = chainer.Chain()\nwith model.init_scope():\n    model.l1 = L.Linear(784, 100)\n    model.l2 = L.Linear(100, 10)\n',
         noop=("import chainer\nimport chainer.links as L\nmodel = chainer.Chain()\nwith model.init_scope():\n"
               "    model.l1 = L.Linear(784, 100)\n",
               "import chainer\nimport chainer.links as L\n"
               "layers = dict(l1=L.Linear(784, 100), l2=L.Linear(100, 10))\n")),
    Rule("CH034", "optimizer.setup(model.collect_parameters()) becomes optimizer.setup(model)",
         before="import chainer\noptimizer.setup(model.collect_parameters())\n",
         after="import chainer\noptimizer.setup(model)\n",
         noop=("import chainer\noptimizer.setup(model)\n",
               "import chainer\noptimizer.setup(model.predictor)\n")),
)

_CHAIN_NAMES = {"chainer.Chain", "chainer.link.Chain"}


@rule_pass("chainer.scopes", 20)
class LinkRegistration(RulePass):
    TRIGGER = re.compile(r"__init__|add_link|add_param|collect_parameters|Chain\b|FunctionSet")

    def __init__(self, ctx):
        super().__init__(ctx)
        self._owner: list[str] = []
        self._chain_classes: list[bool] = []  # is each enclosing class a link or chain of the program's

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._chain_classes.append(node.name.value in self.project.chain_classes)

    def leave_ClassDef(self, original, updated):
        self._chain_classes.pop()
        return updated

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        params = node.params.params
        self._owner.append(params[0].name.value if params else "self")

    def leave_FunctionDef(self, original, updated):
        self._owner.pop()
        return updated

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        func = original.func
        # optimizer.setup(model.collect_parameters())
        if isinstance(func, cst.Attribute) and func.attr.value == "setup" and len(updated.args) == 1:
            inner = updated.args[0].value
            if isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute) and \
                    inner.func.attr.value == "collect_parameters" and not inner.args:
                self.info(original, "CH034", "`collect_parameters()` was removed; the optimizer takes the link")
                return updated.with_changes(args=[updated.args[0].with_changes(value=inner.func.value)])
        statement = self.statement
        if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
            return updated
        small = statement.body[0]
        is_whole_statement = (isinstance(small, cst.Expr) and small.value is original)
        if is_whole_statement and self._is_chain_init(original):
            return self._chain_init(original, updated)
        if is_whole_statement and isinstance(func, cst.Attribute) and self._owner and \
                code(func.value) == self._owner[-1] and func.attr.value in ("add_link", "add_param"):
            return self._add_child(original, updated, func.attr.value)
        if isinstance(small, cst.Assign) and small.value is original and len(small.targets) == 1 and \
                isinstance(small.targets[0].target, cst.Name) and self.callee(original) in _CHAIN_NAMES and \
                updated.args and all(a.keyword is not None for a in updated.args):
            owner = small.targets[0].target.value
            self._init_scope(owner, updated.args, original)
            self.info(original, "CH033", f"`{owner}` is an empty Chain filled inside `{owner}.init_scope()`")
            return updated.with_changes(args=[])
        return updated

    # super(C, self).__init__(l1=...) / chainer.Chain.__init__(self, l1=...)
    def _is_chain_init(self, call: cst.Call) -> bool:
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "__init__" and self._owner):
            return False
        receiver = func.value
        is_super = isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Name) and \
            receiver.func.value == "super" and bool(self._chain_classes) and self._chain_classes[-1]
        explicit = self.qualified(receiver) in _CHAIN_NAMES
        keywords = [a for a in call.args if a.keyword is not None]
        return (is_super or explicit) and bool(keywords) and not any(a.star for a in call.args)

    def _chain_init(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        owner = self._owner[-1]
        keep = [a for a in updated.args if a.keyword is None]
        links = [a for a in updated.args if a.keyword is not None]
        self._init_scope(owner, links, original)
        self.info(original, "CH030", "links registered through Chain.__init__ keywords are assigned inside "
                  f"`{owner}.init_scope()`")
        if keep:
            keep[-1] = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(args=keep, whitespace_before_args=cst.SimpleWhitespace(""))

    def _init_scope(self, owner: str, args, original: cst.Call) -> None:
        statements = []
        for position, arg in enumerate(args):
            leading, trailing = _comments_around(original, args, position)
            line = cst.parse_statement(f"{owner}.{arg.keyword.value} = 0\n")
            assign = line.body[0].with_changes(value=arg.value)
            statements.append(line.with_changes(
                body=[assign], leading_lines=leading,
                trailing_whitespace=cst.TrailingWhitespace(
                    whitespace=cst.SimpleWhitespace("  " if trailing else ""), comment=trailing)))
        self.insert_after(self.statement, [_init_scope_block(owner, statements)])

    def _add_child(self, original: cst.Call, updated: cst.Call, method: str) -> cst.BaseExpression:
        owner = self._owner[-1]
        args = list(updated.args)
        if any(a.star for a in args) or not args or args[0].keyword is not None:
            self.todo(original, "CH031" if method == "add_link" else "CH032",
                      f"rewrite `{method}` as an attribute assignment inside `with {owner}.init_scope():`")
            return updated
        name = args[0].value
        literal = name.evaluated_value if isinstance(name, cst.SimpleString) else None
        if method == "add_link" and len(args) == 1 and not isinstance(name, cst.SimpleString):
            return updated  # ChainList.add_link(link): the same in Chainer 5+
        if method == "add_link":
            if len(args) != 2:
                self.todo(original, "CH031", "rewrite `add_link` as an attribute assignment inside init_scope")
                return updated
            value = code(args[1].value)
            rule = "CH031"
        else:
            values = bind_arguments(updated, ["name", "shape", "dtype", "initializer"])  # v1 add_param
            if values is None or "shape" not in values:
                self.todo(original, "CH032", "rewrite `add_param` as `chainer.Parameter(initializer, shape)` "
                          "inside init_scope")
                return updated
            if "initializer" in values:
                initializer = code(values["initializer"])
            else:  # v1 filled a parameter made without an initializer with NaN
                dtype = code(values["dtype"]) if "dtype" in values else ""
                initializer = f"{self.spell('chainer.initializers.NaN')}({dtype})"
            value = f"{self.spell('chainer.Parameter')}({initializer}, {code(values['shape'])})"
            rule = "CH032"
        if literal is not None and literal.isidentifier() and not keyword.iskeyword(literal):
            text = f"{owner}.{literal} = {value}\n"
        else:
            text = f"setattr({owner}, {code(name)}, {value})\n"
        statement = self.statement
        self.insert_after(statement, [_init_scope_block(owner, [cst.parse_statement(text)])])
        self.remove(statement)
        self.info(original, rule, f"`{method}` became an assignment inside `{owner}.init_scope()`")
        return updated

    def _assemble(self, originals, updated):
        return _merge_init_scopes(super()._assemble(originals, updated))


def _init_scope_block(owner: str, statements) -> cst.With:
    return cst.With(items=[cst.WithItem(cst.parse_expression(f"{owner}.init_scope()"))],
                    body=cst.IndentedBlock(body=statements))


def _merge_init_scopes(body: list) -> list:
    """Adjacent ``with x.init_scope():`` blocks (from one __init__ call and the add_param after
    it) become one, unless a comment separates them."""
    merged: list = []
    for statement in body:
        previous = merged[-1] if merged else None
        if _is_init_scope(previous) and _is_init_scope(statement) and \
                code(previous.items[0].item) == code(statement.items[0].item) and \
                not any(line.comment for line in statement.leading_lines):
            merged[-1] = previous.with_changes(body=previous.body.with_changes(
                body=[*previous.body.body, *statement.body.body]))
        else:
            merged.append(statement)
    return merged


def _is_init_scope(node) -> bool:
    return isinstance(node, cst.With) and len(node.items) == 1 and \
        isinstance(node.items[0].item, cst.Call) and isinstance(node.items[0].item.func, cst.Attribute) and \
        node.items[0].item.func.attr.value == "init_scope"


def _comments_around(call: cst.Call, args, position: int):
    """Comment lines above an argument and the comment after it on its line, so that they can
    follow it into the statement it becomes."""
    arg = args[position]
    if position == 0:
        before = call.whitespace_before_args
    else:
        comma = args[position - 1].comma
        before = comma.whitespace_after if isinstance(comma, cst.Comma) else None
    leading = [cst.EmptyLine(comment=line.comment) for line in getattr(before, "empty_lines", ()) if line.comment]
    trailing = None
    after = arg.comma.whitespace_after if isinstance(arg.comma, cst.Comma) else arg.whitespace_after_arg
    first_line = getattr(after, "first_line", None)
    if first_line is not None and first_line.comment is not None:
        trailing = first_line.comment
    if position == 0 and getattr(before, "first_line", None) is not None and before.first_line.comment:
        leading.insert(0, cst.EmptyLine(comment=before.first_line.comment))
    return leading, trailing

