"""PT090: Chainer's computational-graph dumps become the DOT text of torch's autograd graph.

A v1 program writes the graph of its loss to a file::

    g = c.build_computational_graph((loss,), remove_split=True)
    with open('graph.dot', 'w') as o:
        o.write(g.dump())

torch has no graph dump, so netport writes ``autograd_graph_dot`` into the file: it walks
``grad_fn.next_functions`` from the given tensors and returns DOT text in the form Chainer 1.24's
``ComputationalGraph.dump()`` wrote (``digraph graphname{rankdir=TB;...}``, the same default styles, the
same options, edges from inputs to functions to outputs). Its nodes are torch's: the autograd Functions
(AddmmBackward0, ...) where Chainer drew its Functions (LinearFunction, ...), and only the tensors that
autograd keeps (the outputs, the leaves it accumulates gradients into) where Chainer drew every Variable;
so the conversion is a WARNING. The Trainer's ``extensions.dump_graph`` is converted by trainer.py (PT091)
and ppe.py (PT092) with the same helper.
"""

from __future__ import annotations

import re

import libcst as cst

from netport.migrate.passes import RulePass, bind_arguments, code, insert_definition, is_bool, is_dotted
from netport.migrate.registry import rule_pass
from netport.migrate.rules import Rule, register

HELPER = "autograd_graph_dot"
# Chainer 1.24's computational_graph.py, function by function: DotNode's labels and shapes, _to_dot's text,
# _skip_variable's function-to-function edges for remove_variable, the defaults of build_computational_graph.
GRAPH_DOT = '''\
def autograd_graph_dot(outputs, variable_style={'shape': 'octagon', 'fillcolor': '#E0E0E0', 'style': 'filled'},
                       function_style={'shape': 'record', 'fillcolor': '#6495ED', 'style': 'filled'}, rankdir='TB',
                       remove_variable=False, show_name=True):
    """Chainer's build_computational_graph(outputs, ...).dump() drawn from torch's autograd graph: a node per
    autograd Function (AddmmBackward0, ...) and per tensor autograd keeps (the outputs, and the leaves it
    accumulates gradients into), labelled with shape and dtype; edges go from inputs to functions to outputs.
    The tensors between functions, and inputs that need no gradient, are not kept by autograd: not drawn."""
    if rankdir not in ('TB', 'BT', 'LR', 'RL'):
        raise ValueError('rankdir must be in TB, BT, LR or RL.')
    nodes, edges, kept = {}, {}, []  # (kept: the objects whose id() names a node stay alive)

    def node(obj, tensor):
        if id(obj) in nodes or tensor and remove_variable:
            return
        kept.append(obj)
        if tensor:
            label = str(obj.dtype).replace('torch.', '')
            if obj.dim():
                label = '({}), {}'.format(', '.join(map(str, obj.shape)), label)
            if show_name and getattr(obj, 'name', None) is not None:
                label = '{}: {}'.format(obj.name, label)
            attributes = {'label': label, 'shape': 'oval'}
        else:
            attributes = {'label': type(obj).__name__, 'shape': 'box'}
        attributes.update((variable_style if tensor else function_style) or {})
        nodes[id(obj)] = '%s [%s];' % (id(obj), ','.join('%s="%s"' % item for item in attributes.items()))

    def edge(head, tail, tensor):
        if not (tensor and remove_variable):
            edges.setdefault('%s -> %s;' % (id(head), id(tail)))

    functions = []
    for output in outputs:
        tensor = hasattr(output, 'grad_fn')
        function = output.grad_fn if tensor else output  # (an autograd Function may be given too)
        if tensor:
            node(output, True)
        if function is not None:
            node(function, False)
            functions.append(function)
            if tensor:
                edge(function, output, True)
    seen = set(map(id, functions))
    for function in functions:  # (the list grows as the walk finds functions further back)
        for previous, _ in function.next_functions:
            if previous is None:
                continue  # an input that needs no gradient
            leaf = getattr(previous, 'variable', None)  # AccumulateGrad: the leaf tensor it fills
            node(leaf if leaf is not None else previous, leaf is not None)
            edge(leaf if leaf is not None else previous, function, leaf is not None)
            if leaf is None and id(previous) not in seen:
                seen.add(id(previous))
                functions.append(previous)
    return 'digraph graphname{rankdir=%s;' % rankdir + ''.join(nodes.values()) + ''.join(edges) + '}'
'''

BUILD = ("chainer.computational_graph.build_computational_graph",
         "chainer.computational_graph.computational_graph.build_computational_graph")
# Chainer 1.24's build_computational_graph parameters, in order; all but remove_split are autograd_graph_dot's
PARAMETERS = ["outputs", "remove_split", "variable_style", "function_style", "rankdir", "remove_variable", "show_name"]
DIFFERENCE = "its nodes are torch's autograd Functions (AddmmBackward0, ...) where Chainer drew its Functions " \
    "(LinearFunction, ...), and only the tensors autograd keeps (the outputs and the leaves it accumulates " \
    "gradients into, without Chainer's parameter names) where Chainer drew every Variable"

register(Rule(
    "PT090", "computational_graph.build_computational_graph(outputs, ...).dump() is autograd_graph_dot(outputs, ...) "
    "(written into the file): the DOT text of the same computation, drawn with torch's autograd nodes",
    before="import os\nfrom chainer import computational_graph as c\n\n"
    "with open(os.path.join(out, 'graph.dot'), 'w') as o:\n"
    "    g = c.build_computational_graph((loss,), remove_split=True, rankdir='LR')\n    o.write(g.dump())\n"
    "print(c.build_computational_graph([loss]).dump())\n",
    after="import os\n\n\n" + GRAPH_DOT + "\n\nwith open(os.path.join(out, 'graph.dot'), 'w') as o:\n"
    "    g = autograd_graph_dot((loss,), rankdir='LR')\n    o.write(g)\nprint(autograd_graph_dot([loss]))\n",
    target="torch",
    noop=("# ported from chainer\nfrom torchviz import make_dot\nmake_dot(loss).save('graph.dot')\n",
          "# ported from chainer\nfrom mylib import computational_graph as c\n"
          "g = c.build_computational_graph((loss,))\nprint(g.nodes, g.dump())\n")))


DUMP_GRAPH = ("chainer.training.extensions.dump_graph", "chainer.training.extensions.DumpGraph")  # (7's class)
# Chainer 1.24's dump_graph(root_name, out_name='cg.dot', variable_style=None, function_style=None); Chainer 7's
# DumpGraph calls the file name `filename` (out_name is its alias)
DUMP_GRAPH_PARAMETERS = ["root_name", "out_name", "variable_style", "function_style", "filename"]


def dump_graph_arguments(call: cst.Call) -> tuple[str | None, str, dict[str, cst.BaseExpression]]:
    """(what keeps ``extensions.dump_graph(...)`` from being written out, or None; the file name's source text;
    autograd_graph_dot's style arguments). Checked: Chainer 1.24 and 7.8 draw the observation ``root_name`` with
    build_computational_graph's defaults but for the styles, where None is their default, not no style."""
    values = bind_arguments(call, DUMP_GRAPH_PARAMETERS)
    if values is None or "root_name" not in values or {"out_name", "filename"} <= set(values):
        return "arguments that do not match (root_name, out_name, variable_style, function_style)", "", {}
    root = values["root_name"]
    if not (isinstance(root, cst.SimpleString) and root.evaluated_value == "main/loss"):
        return f"the graph of {code(root)}, which is not 'main/loss', the loss the converted loop computes", "", {}
    if "filename" in values and _is_none(values["filename"]):
        del values["filename"]  # (Chainer 7: filename=None is out_name's, 'cg.dot' by default)
    name = values.get("out_name", values.get("filename", cst.SimpleString("'cg.dot'")))
    if not isinstance(name, cst.SimpleString) and not is_dotted(name):
        return "a file name that is not a string or a name (Chainer read it when the extension was made)", "", {}
    styles = {}
    for key in ("variable_style", "function_style"):
        style = values.get(key)
        if isinstance(style, cst.Dict):
            styles[key] = style
        elif style is not None and not _is_none(style):
            return f"a {key} that may be None (dump_graph then draws Chainer's default style; write it out)", "", {}
    return None, code(name), styles


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def dump_graph_lines(join: str, directory: str, name: str, styles: dict[str, cst.BaseExpression]) -> list[str]:
    """The statements that write the graph of the loop's ``loss`` as dump_graph did (``join``: os.path.join)."""
    return [f"with open({join}({directory}, {name}), 'w') as f:", f"    f.write({graph_call('[loss]', styles)})"]


def define_graph_helper(module: cst.Module) -> cst.Module:
    """``module`` with autograd_graph_dot written after its imports (once: not where an earlier run wrote it)."""
    if any(isinstance(s, cst.FunctionDef) and s.name.value == HELPER for s in module.body):
        return module
    return insert_definition(module, GRAPH_DOT)


def graph_call(outputs: str, options: dict[str, cst.BaseExpression]) -> str:
    """The autograd_graph_dot call that draws ``outputs`` with these build_computational_graph options."""
    return f"{HELPER}({', '.join([outputs, *(f'{k}={code(v)}' for k, v in options.items())])})"


class _Names(cst.CSTVisitor):
    """Every use of a name in a scope, with the nodes above it (innermost first); a function or lambda that
    binds the name itself (a parameter, an assignment) holds another variable and is skipped."""

    def __init__(self, name: str):
        super().__init__()
        self.name, self.stack, self.found = name, [], []

    def on_visit(self, node) -> bool:
        if isinstance(node, cst.Name) and node.value == self.name:
            parent = self.stack[-1] if self.stack else None
            if not (isinstance(parent, cst.Attribute) and parent.attr is node) and \
                    not (isinstance(parent, cst.Arg) and parent.keyword is node):
                self.found.append(list(reversed(self.stack)))
        nested = bool(self.stack) and isinstance(node, (cst.FunctionDef, cst.Lambda)) and _binds(node, self.name)
        self.stack.append(node)
        return not nested

    def on_leave(self, node) -> None:
        self.stack.pop()


def _binds(function, name: str) -> bool:
    params = function.params
    stars = [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
    if any(p.name.value == name for p in (*params.posonly_params, *params.params, *params.kwonly_params, *stars)):
        return True
    found = []

    class Targets(cst.CSTVisitor):
        def visit_AssignTarget(self, node):
            if isinstance(node.target, cst.Name) and node.target.value == name:
                found.append(node)

    function.visit(Targets())
    return bool(found)


@rule_pass("torch.trainer", 20)
class GraphRules(RulePass):
    # (the members of a phase share one object: this pass's attributes and methods are all _graph_...)
    TRIGGER = re.compile(r"computational_graph")

    def visit_Module(self, node: cst.Module) -> None:
        super().visit_Module(node)
        self._graph_replace: dict[int, str] = {}  # id(original call) -> its replacement
        self._graph_decided: set[int] = set()  # build calls converted or marked
        self._graph_helper = False

    def finish_module(self, module: cst.Module) -> cst.Module:
        return define_graph_helper(module) if self._graph_helper else module

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if id(original) in self._graph_replace:
            return cst.parse_expression(self._graph_replace[id(original)])
        return updated

    def visit_Call(self, node: cst.Call) -> None:
        if id(node) in self._graph_decided or self.callee(node) not in BUILD:
            return
        self._graph_decided.add(id(node))
        parent = self.parent(node)
        dump = _dump_call([parent, self.parent(parent)]) if isinstance(parent, cst.Attribute) and \
            parent.value is node else None
        if dump is not None:  # c.build_computational_graph(...).dump()
            options = self._graph_options(node)
            if options is not None and self._graph_dot_format(node, [dump]):
                self._graph_convert(node, dump, options)
        elif isinstance(parent, cst.Assign) and len(parent.targets) == 1 and \
                isinstance(parent.targets[0].target, cst.Name):
            self._graph_assigned(node, parent.targets[0].target.value)
        else:
            self.todo(node, "PT090", "build_computational_graph whose result is used other than by .dump(): its "
                      "nodes and edges are Chainer's Variables and Functions, which torch does not have; draw the "
                      f"DOT text with {HELPER}(outputs) (netport writes it where it converts a dump) or torchviz's "
                      "make_dot(loss) by hand")

    def _graph_assigned(self, build: cst.Call, name: str) -> None:
        """``g = build_computational_graph(...)``: converted when every use of g in its scope is g.dump()."""
        scope = next((n for n in self.ancestors(build) if isinstance(n, cst.FunctionDef)), None) or \
            next(n for n in self._path if isinstance(n, cst.Module))
        visitor = _Names(name)
        scope.visit(visitor)
        builds, dumps, other = [], [], False
        for uses in visitor.found:
            if len(uses) > 1 and isinstance(uses[0], cst.AssignTarget) and isinstance(uses[1], cst.Assign) and \
                    len(uses[1].targets) == 1 and isinstance(uses[1].value, cst.Call) and \
                    self.callee(uses[1].value) in BUILD:
                builds.append(uses[1].value)
            elif _dump_call(uses) is not None:
                dumps.append(_dump_call(uses))
            else:
                other = True
        self._graph_decided.update(map(id, builds))
        if other:
            for call in builds:
                self.todo(call, "PT090", f"`{name}` holds a ComputationalGraph and is used other than by "
                          f"{name}.dump() (its nodes and edges are Chainer's Variables and Functions, which torch "
                          f"does not have): draw the DOT text with {HELPER}(outputs) (netport writes it where it "
                          "converts a dump) and rewrite the other uses by hand")
            return
        options = {id(call): self._graph_options(call) for call in builds}
        if any(o is None for o in options.values()) or not self._graph_dot_format(build, dumps):
            return
        for call in builds:
            self._graph_convert(call, call, options[id(call)])
        for dump in dumps:
            self._graph_replace[id(dump)] = name

    def _graph_options(self, call: cst.Call) -> dict[str, cst.BaseExpression] | None:
        """autograd_graph_dot's arguments for this build_computational_graph call (None: marked)."""
        values = bind_arguments(call, PARAMETERS)
        if values is None or "outputs" not in values:
            self.todo(call, "PT090", "build_computational_graph with arguments that do not match (outputs, "
                      "remove_split, variable_style, function_style, rankdir, remove_variable, show_name): call "
                      f"{HELPER}(outputs, ...) by hand")
            return None
        split = values.pop("remove_split", None)
        if split is not None and is_bool(split, False):
            self.warn(call, "PT090", "build_computational_graph(..., remove_split=False): the v1 releases before "
                      "1.24 drew a Split node where a variable fed several functions (1.24 raises ValueError); "
                      "torch's autograd graph has no such node, so the graph is drawn without them, as with "
                      "remove_split=True")
        elif split is not None and not is_bool(split, True):
            self.todo(call, "PT090", f"build_computational_graph(..., remove_split={code(split)}): Chainer 1.24 "
                      "raises ValueError unless it is True (netport cannot tell its value here) (earlier v1 releases drew Split nodes, which torch has no "
                      f"counterpart of); with True, or without it, the dump is {HELPER}(outputs, ...)")
            return None
        return values

    def _graph_dot_format(self, build: cst.Call, dumps: list[cst.Call]) -> bool:
        """Whether every dump() asks for 'dot', the one format Chainer writes (marked at the build if not)."""
        for dump in dumps:
            values = bind_arguments(dump, ["format"])
            value = values.get("format", cst.SimpleString("'dot'")) if values is not None else None
            if not (isinstance(value, cst.SimpleString) and value.evaluated_value == "dot"):
                self.todo(build, "PT090", f"ComputationalGraph.dump({code(value) if value else '...'}): a format "
                          "other than 'dot' (Chainer 1.24 returns None for it): write what the program needs by hand")
                return False
        return True

    def _graph_convert(self, build: cst.Call, replaced: cst.Call, options: dict[str, cst.BaseExpression]) -> None:
        outputs = code(options.pop("outputs"))
        self._graph_replace[id(replaced)] = graph_call(outputs, options)
        self._graph_helper = True
        self.warn(build, "PT090", f"build_computational_graph(...).dump() is {HELPER}(...), written into the file: "
                  f"the DOT text of the same computation, from torch's autograd graph in Chainer's form; {DIFFERENCE}")


def _dump_call(uses) -> cst.Call | None:
    """The ``X.dump(...)`` call, when ``uses`` (the nodes above X, innermost first) start with ``.dump`` called."""
    if len(uses) > 1 and isinstance(uses[0], cst.Attribute) and uses[0].attr.value == "dump" and \
            isinstance(uses[1], cst.Call) and uses[1].func is uses[0]:
        return uses[1]
    return None
