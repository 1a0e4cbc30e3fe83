"""Computational-graph dumps on the torch target (PT090-PT092): autograd_graph_dot, the function netport writes into
the file, draws torch's autograd graph as the DOT text Chainer 1.24's ComputationalGraph.dump() wrote; v1 dumps,
and the Trainer's extensions.dump_graph in both trainer forms, write their file with it. The converted programs run
here on torch; Chainer 1.24 runs the same model for the comparison of the text's form."""

from __future__ import annotations

import json
import re

import pytest

from netport.migrate import Severity, migrate_source
from netport.migrate.torch.graphs import GRAPH_DOT
from tests.conftest import environment_python, run_python

torch = pytest.importorskip("torch")

TOKEN = re.compile(r'(\d+) \[((?:\w+="[^"]*",?)+)\];|(\d+) -> (\d+);')


def parse(text: str):
    """(rankdir, {node id: attributes}, [(head, tail)]) of DOT text in Chainer's form; fails on anything else."""
    match = re.fullmatch(r"digraph graphname\{rankdir=(TB|BT|LR|RL);(.*)\}", text, re.S)
    assert match, text[:200]
    body, nodes, edges, position = match.group(2), {}, [], 0
    for token in TOKEN.finditer(body):
        assert token.start() == position, body[position:position + 80]
        position = token.end()
        if token.group(1):
            assert token.group(1) not in nodes and not edges  # Chainer writes every node, then every edge
            nodes[token.group(1)] = dict(re.findall(r'(\w+)="([^"]*)"', token.group(2)))
        else:
            edges.append((token.group(3), token.group(4)))
    assert position == len(body), body[position:position + 80]
    assert all(head in nodes and tail in nodes for head, tail in edges) and len(set(edges)) == len(edges)
    return match.group(1), nodes, edges


def helper():
    namespace = {}
    exec(GRAPH_DOT, namespace)
    return namespace["autograd_graph_dot"]


def mlp_loss():
    torch.manual_seed(0)
    l1, l2 = torch.nn.Linear(4, 3), torch.nn.Linear(3, 2)
    x, t = torch.rand(5, 4), torch.tensor([0, 1, 0, 1, 1])
    return torch.nn.functional.cross_entropy(l2(torch.relu(l1(x))), t)


def test_the_dot_text_draws_functions_leaves_and_the_output_in_chainers_direction():
    loss = mlp_loss()
    loss.backward()  # (Chainer's programs dump after the update: the graph's structure outlives backward)
    rankdir, nodes, edges = parse(helper()([loss]))
    assert rankdir == "TB"
    labels = sorted(n["label"] for n in nodes.values())
    assert labels == sorted(["float32", "NllLossBackward0", "LogSoftmaxBackward0", "AddmmBackward0", "AddmmBackward0",
                             "ReluBackward0", "TBackward0", "TBackward0", "(3, 4), float32", "(3), float32",
                             "(2, 3), float32", "(2), float32"])
    by_label = {}
    for key, node in nodes.items():
        by_label.setdefault(node["label"], []).append(key)
        variable = node["label"][0] == "(" or node["label"] == "float32"
        # Chainer 1.24's default styles (computational_graph._var_style, _func_style)
        assert node == ({"label": node["label"], "shape": "octagon", "fillcolor": "#E0E0E0", "style": "filled"}
                        if variable else
                        {"label": node["label"], "shape": "record", "fillcolor": "#6495ED", "style": "filled"})
    heads = {head for head, _ in edges}
    tails = {tail for _, tail in edges}
    output, = by_label["float32"]
    assert output in tails and output not in heads  # function -> output variable
    for leaf in ("(3, 4), float32", "(3), float32", "(2, 3), float32", "(2), float32"):
        assert by_label[leaf][0] in heads and by_label[leaf][0] not in tails  # input variable -> function
    assert (by_label["NllLossBackward0"][0], output) in edges
    assert (by_label["LogSoftmaxBackward0"][0], by_label["NllLossBackward0"][0]) in edges
    assert (by_label["ReluBackward0"][0], by_label["LogSoftmaxBackward0"][0]) not in edges
    assert len(edges) == 11


def test_the_options_of_build_computational_graph():
    loss = mlp_loss()
    draw = helper()
    rankdir, nodes, edges = parse(draw([loss], remove_variable=True, rankdir="LR"))
    assert rankdir == "LR" and all(n["shape"] == "record" for n in nodes.values()) and len(nodes) == 7
    assert len(edges) == 6  # Chainer's _skip_variable: function -> function only
    _, nodes, _ = parse(draw([loss], variable_style=None, function_style={"color": "red"}))
    assert {"label": "(3, 4), float32", "shape": "oval"} in nodes.values()
    assert {"label": "AddmmBackward0", "shape": "box", "color": "red"} in nodes.values()
    with pytest.raises(ValueError):
        draw([loss], rankdir="XY")
    leaf = torch.zeros(2, requires_grad=True)
    _, nodes, edges = parse(draw([leaf, loss.grad_fn]))  # a leaf alone; an autograd Function as a root
    assert len(nodes) == 12 and len(edges) == 10


def test_the_text_has_the_form_and_the_parameters_of_chainer_1_24s_dump(tmp_path):
    """Chainer 1.24 dumps the same MLP: the same header, node attributes and edge syntax; its parameters (W: and b:
    variables with no creator) have the shapes of the leaves torch draws."""
    program = (
        "import numpy as np, chainer, chainer.functions as F, chainer.links as L\n"
        "from chainer import computational_graph as c\n"
        "l1, l2 = L.Linear(4, 3), L.Linear(3, 2)\n"
        "x, t = np.random.rand(5, 4).astype(np.float32), np.array([0, 1, 0, 1, 1], np.int32)\n"
        "loss = F.softmax_cross_entropy(l2(F.relu(l1(x))), t)\n"
        "loss.backward()\n"
        "open('chainer.dot', 'w').write(c.build_computational_graph((loss,)).dump())\n")
    (tmp_path / "dump.py").write_text(program)
    result = run_python(environment_python("legacy"), ["dump.py"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    _, chainer_nodes, chainer_edges = parse((tmp_path / "chainer.dot").read_text())
    _, torch_nodes, torch_edges = parse(helper()([mlp_loss()]))
    assert {tuple(n) for n in chainer_nodes.values()} == {tuple(n) for n in torch_nodes.values()}
    creators = {tail for _, tail in chainer_edges}
    parameters = sorted(n["label"].split(": ")[1] for key, n in chainer_nodes.items()
                        if n["label"][:3] in ("W: ", "b: ") and key not in creators)
    torch_created = {tail for _, tail in torch_edges}
    leaves = sorted(n["label"] for key, n in torch_nodes.items() if n["shape"] == "octagon" and key not in
                    torch_created)
    assert parameters == leaves == ["(2), float32", "(2, 3), float32", "(3), float32", "(3, 4), float32"]


V1_SCRIPT = """\
import numpy as np
import chainer
import chainer.functions as F
import chainer.links as L
from chainer import computational_graph as c

model = chainer.FunctionSet(l1=F.Linear(4, 3), l2=F.Linear(3, 2))
optimizer = chainer.optimizers.SGD()
optimizer.setup(model)
x = np.random.rand(5, 4).astype(np.float32)
t = np.array([0, 1, 0, 1, 1], np.int32)
for i in range(3):
    optimizer.zero_grads()
    loss = F.softmax_cross_entropy(model.l2(F.relu(model.l1(chainer.Variable(x)))), chainer.Variable(t))
    loss.backward()
    optimizer.update()
    if i == 0:
        with open('graph.dot', 'w') as o:
            o.write(c.build_computational_graph((loss, )).dump())
        with open('graph.lr.dot', 'w') as o:
            g = c.build_computational_graph((loss, ), remove_split=True, rankdir='LR', remove_variable=True)
            o.write(g.dump())
"""


def test_a_v1_dump_runs_on_torch_and_writes_the_graph(tmp_path):
    result = migrate_source(V1_SCRIPT, "train.py", target="torch")
    assert result.error is None
    assert [f for f in result.findings if f.severity is Severity.ERROR] == []
    graph = [f for f in result.findings if f.rule == "PT090"]
    assert [f.severity for f in graph] == [Severity.WARNING] * 2 and "AddmmBackward0" in graph[0].message
    assert "chainer" not in result.migrated.replace("Chainer", "")
    assert "o.write(autograd_graph_dot((loss, )))" in result.migrated
    assert "g = autograd_graph_dot((loss, ), rankdir='LR', remove_variable=True)\n" in result.migrated
    assert "o.write(g)" in result.migrated
    (tmp_path / "train.py").write_text(result.migrated)
    run = run_python(environment_python("main"), ["train.py"], cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    _, nodes, edges = parse((tmp_path / "graph.dot").read_text())
    assert "NllLossBackward0" in [n["label"] for n in nodes.values()] and len(edges) == 11
    rankdir, nodes, edges = parse((tmp_path / "graph.lr.dot").read_text())
    assert rankdir == "LR" and len(nodes) == 7 and len(edges) == 6


@pytest.mark.parametrize("source, message", [
    ("g = c.build_computational_graph((loss,))\nprint(len(g.nodes))\nopen('a', 'w').write(g.dump())\n",
     "used other than by g.dump()"),
    ("open('a', 'w').write(c.build_computational_graph((loss,), split).dump())\n", "remove_split=split"),
    ("open('a', 'w').write(c.build_computational_graph((loss,)).dump('png'))\n", "format other than 'dot'"),
    ("graphs = [c.build_computational_graph((loss,))]\n", "used other than by .dump()"),
])
def test_what_is_not_a_dump_is_marked(source, message):
    result = migrate_source("from chainer import computational_graph as c\n" + source, "x.py", target="torch")
    errors = [f for f in result.findings if f.severity is Severity.ERROR]
    assert [f.rule for f in errors] == ["PT090"] and message in errors[0].message
    assert "autograd_graph_dot(outputs" not in result.migrated.split("TODO")[0]  # no helper written


def test_remove_split_false_draws_the_graph_without_split_nodes():
    """remove_split=False (Split nodes, drawn by the v1 releases before 1.24, which raises ValueError for it): torch's
    autograd graph has no Split node, so the dump is the graph without them, with a WARNING that says so."""
    source = "from chainer import computational_graph as c\n" \
        "open('a', 'w').write(c.build_computational_graph((loss,), False).dump())\n"
    result = migrate_source(source, "x.py", target="torch")
    assert [f for f in result.findings if f.severity is Severity.ERROR] == []
    assert any(f.rule == "PT090" and f.severity is Severity.WARNING and "remove_split=False" in f.message
               for f in result.findings)
    assert "open('a', 'w').write(autograd_graph_dot((loss,)))\n" in result.migrated


def test_a_dump_in_a_function_with_its_own_g():
    source = ("from chainer import computational_graph as c\n\n\ndef dump(loss, g):\n    print(g.nodes)\n\n\n"
              "def write(loss):\n    g = c.build_computational_graph([loss])\n    return g.dump()\n")
    result = migrate_source(source, "x.py", target="torch")
    assert [f for f in result.findings if f.severity is Severity.ERROR] == []
    assert "    g = autograd_graph_dot([loss])\n    return g\n" in result.migrated


TRAINER = """\
import sys
import numpy as np
import chainer
import chainer.functions as F
import chainer.links as L
from chainer import training
from chainer.training import extensions


class MLP(chainer.Chain):
    def __init__(self):
        super(MLP, self).__init__(l1=L.Linear(4, 3), l2=L.Linear(3, 2))

    def __call__(self, x):
        return self.l2(F.relu(self.l1(x)))


def main():
    x = np.random.RandomState(0).rand(12, 4).astype(np.float32)
    t = (x.sum(1) > 2).astype(np.int32)
    model = L.Classifier(MLP())
    optimizer = chainer.optimizers.SGD()
    optimizer.setup(model)
    train = chainer.datasets.TupleDataset(x, t)
    train_iter = chainer.iterators.SerialIterator(train, 4)
    updater = training.StandardUpdater(train_iter, optimizer)
    trainer = training.Trainer(updater, (2, 'epoch'), out='result')
    trainer.extend(extensions.dump_graph('main/loss'))
    trainer.extend(extensions.dump_graph('main/loss', out_name='lr.dot', function_style={'shape': 'box'}))
    trainer.extend(extensions.LogReport())
    trainer.run()


if __name__ == '__main__':
    main()
"""
# Test harness put into the converted program: each call of autograd_graph_dot records the iteration it was made at
RECORD = """\
_draw = autograd_graph_dot
CALLS = []


def autograd_graph_dot(outputs, **styles):
    seen = sys._getframe(1).f_locals
    CALLS.append(seen['iteration'] if 'iteration' in seen else seen['trainer'].iteration)
    return _draw(outputs, **styles)


__import__('atexit').register(lambda: __import__('json').dump(CALLS, open('calls.json', 'w')))


"""


@pytest.mark.parametrize("form, rule", [("loop", "PT091"), ("ppe", "PT092")])
def test_dump_graph_writes_its_file_once_at_the_first_iteration(tmp_path, form, rule):
    if form == "ppe":
        pytest.importorskip("pytorch_pfn_extras")
    result = migrate_source(TRAINER, "train.py", target="torch", trainer=form)
    assert result.error is None
    assert [f for f in result.findings if f.severity is Severity.ERROR] == []
    assert [f.severity for f in result.findings if f.rule == rule] == [Severity.WARNING] * 2
    assert "import chainer" not in result.migrated and "dump_graph(" not in result.migrated
    program = result.migrated.replace("\nif __name__ == '__main__':", "\n" + RECORD + "if __name__ == '__main__':")
    (tmp_path / "train.py").write_text(program)
    run = run_python(environment_python("main"), ["train.py"], cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads((tmp_path / "calls.json").read_text()) == [1, 1]  # of 6 iterations
    assert json.loads((tmp_path / "result" / "log").read_text())[-1]["iteration"] == 6
    assert sorted(p.name for p in (tmp_path / "result").iterdir() if p.suffix == ".dot") == ["cg.dot", "lr.dot"]
    _, nodes, edges = parse((tmp_path / "result" / "cg.dot").read_text())
    assert len(nodes) == 12 and len(edges) == 11 and {"label": "(3, 4), float32", "shape": "octagon",
                                                      "fillcolor": "#E0E0E0", "style": "filled"} in nodes.values()
    _, nodes, _ = parse((tmp_path / "result" / "lr.dot").read_text())
    assert {"label": "ReluBackward0", "shape": "box"} in nodes.values()  # the styles passed; Chainer's otherwise


@pytest.mark.parametrize("form, rule", [("loop", "PT091"), ("ppe", "PT092")])
@pytest.mark.parametrize("extension, message", [
    ("extensions.dump_graph('main/accuracy')", "not 'main/loss'"),
    ("extensions.dump_graph('main/loss'), trigger=(1, 'epoch')", "a trigger of its own"),
    ("extensions.dump_graph('main/loss', variable_style=style)", "may be None"),
])
def test_dump_graph_that_the_loop_cannot_write_is_marked(form, rule, extension, message):
    source = TRAINER.replace("extensions.dump_graph('main/loss'))", extension + ")", 1)
    result = migrate_source(source, "train.py", target="torch", trainer=form)
    marked = [f for f in result.findings if f.rule == rule]
    # the ppe form still writes the other dump_graph (lr.dot) into the loop
    assert [f.severity for f in marked] == [Severity.ERROR] + [Severity.WARNING] * (form == "ppe")
    assert message in marked[0].message and f"TODO({rule})" in result.migrated
    # the loop form converts no part of a Trainer it cannot convert whole; the ppe form keeps the rest converted
    assert ("ExtensionsManager" in result.migrated) == (form == "ppe")
    assert ("TODO(PT040)" in result.migrated) == (form == "loop")


def test_dump_graph_of_a_model_other_than_a_classifier_is_marked_under_ppe():
    source = TRAINER.replace("model = L.Classifier(MLP())", "model = MLP()")
    result = migrate_source(source, "train.py", target="torch", trainer="ppe")
    marked = [f for f in result.findings if f.rule == "PT092"]
    assert [f.severity for f in marked] == [Severity.ERROR] * 2 and "L.Classifier" in marked[0].message


REPORTING = """\
class Net(chainer.Chain):
    def __init__(self):
        super(Net, self).__init__(l1=L.Linear(4, 2))

    def __call__(self, x, t):
        h = self.l1(x)
        loss = F.softmax_cross_entropy(h, t)
        chainer.report({'loss': loss, 'accuracy': F.accuracy(h, t)}, self)
        return RESULT
"""


@pytest.mark.parametrize("result_name, written", [("loss", True), ("h", False), ("loss * 1", False)])
def test_dump_graph_of_a_model_that_returns_what_it_reports_as_loss(result_name, written):
    """A model whose forward reports a variable as 'loss' (chainer.report(..., self)) and returns that variable:
    'main/loss' is the loss the ppe loop computes, so its graph is written; returning anything else stays marked."""
    source = TRAINER.replace("class MLP(chainer.Chain):", REPORTING.replace("RESULT", result_name) +
                             "\n\nclass MLP(chainer.Chain):").replace("model = L.Classifier(MLP())", "model = Net()")
    result = migrate_source(source, "train.py", target="torch", trainer="ppe")
    marked = [f for f in result.findings if f.rule == "PT092"]
    assert [f.severity for f in marked] == [Severity.WARNING if written else Severity.ERROR] * 2
    assert ("f.write(autograd_graph_dot([loss]))" in result.migrated) == written


MODELS = """\
import chainer
import chainer.functions as F
import chainer.links as L


class Big(chainer.Chain):
    def __init__(self):
        super(Big, self).__init__(l1=L.Linear(4, 2))

    def __call__(self, x, t):
        loss = F.softmax_cross_entropy(self.l1(x), t)
        chainer.report({'loss': loss}, self)
        return loss


class BigCast(Big):
    def __call__(self, x, t):
        return Big.__call__(self, F.cast(x, 'float32'), t)


class Other(chainer.Chain):
    def __call__(self, x, t):
        return F.sum(x)
"""


@pytest.mark.parametrize("archs, written", [("{'big': models.Big, 'cast': models.BigCast}", True),
                                            ("{'big': models.Big, 'other': models.Other}", False)])
def test_dump_graph_of_a_model_chosen_from_classes_of_another_module(tmp_path, archs, written):
    """`model = archs[name]()` over a dict of classes defined in a module beside the program: each class must
    report and return its loss, itself or through `return Base.__call__(self, ...)`."""
    (tmp_path / "models.py").write_text(MODELS)
    source = TRAINER.replace("import sys\n", "import sys\nimport models\n").replace(
        "model = L.Classifier(MLP())", f"archs = {archs}\n    model = archs[sys.argv[1]]()")
    (tmp_path / "train.py").write_text(source)
    result = migrate_source(source, str(tmp_path / "train.py"), target="torch", trainer="ppe")
    marked = [f for f in result.findings if f.rule == "PT092"]
    assert [f.severity for f in marked] == [Severity.WARNING if written else Severity.ERROR] * 2


@pytest.mark.parametrize("form, place", [("loop", "os.path.join('result', 'graph.dot')"),
                                         ("ppe", "os.path.join(trainer.out, 'graph.dot')")])
def test_chainer_7s_dump_graph_class_and_its_filename(form, place):
    source = TRAINER.replace("extensions.dump_graph('main/loss')", "extensions.DumpGraph('main/loss', "
                             "filename='graph.dot')", 1)
    result = migrate_source(source, "train.py", target="torch", trainer=form)
    assert [f for f in result.findings if f.severity is Severity.ERROR] == []
    assert f"with open({place}, 'w') as f:\n" in result.migrated
