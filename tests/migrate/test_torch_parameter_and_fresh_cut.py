"""PT124 (L.Parameter becomes the ParameterLink written into the file) and PT125 (`v.unchain_backward()` right after
`v = E`, E a graph built there from parameters and data, becomes `v = v.detach()`), against the real Chainer 1.24
(.venv-legacy, a subprocess).

The program below trains a model of two L.Parameter links for six SGD steps, every other one with the graph behind
`topics` cut (lda2vec's EmbedMixture with update_only_docs): the losses, the gradients of every step (none for the
cut link at a cut step: Chainer's grad stays None after cleargrads(), torch's zero after zero_grad(set_to_none=False))
and the final parameters must agree to float32 rounding (rtol 1e-5: the same float32 operations on the same numbers,
torch and NumPy differing only in the order of the additions of the 3-term matrix products and the 20-term sums)."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from netport.migrate import Severity
from netport.migrate.api import migrate_source
from netport.migrate.torch.written_in import PARAMETER_LINK
from tests.conftest import environment_python, run_python

torch = pytest.importorskip("torch")

RTOL = 1e-5

PROGRAM = '''import json

import numpy as np
import chainer
import chainer.functions as F
import chainer.links as L
from chainer import optimizers


class Mixture(chainer.Chain):
    def __init__(self, topics, mix, ratio=0.0):
        super(Mixture, self).__init__(topics=L.Parameter(topics), mix=L.Parameter(mix))
        self.ratio = ratio

    def __call__(self, x, fixed=False):
        topics = F.dropout(F.tanh(self.topics()) * 2.0, ratio=self.ratio)
        if fixed:
            topics.unchain_backward()
        h = F.matmul(F.softmax(self.mix()), topics)
        return F.sum((h - x) ** 2) + 0.01 * F.sum(self.mix.W * self.mix.W)


rng = np.random.RandomState(0)
topics = rng.normal(size=(3, 4)).astype(np.float32)
model = Mixture(topics, rng.normal(size=(5, 3)).astype(np.float32))
x = chainer.Variable(rng.normal(size=(5, 4)).astype(np.float32))
optimizer = optimizers.SGD(lr=0.1)
optimizer.setup(model)
out = {"losses": [], "topics_grad": [], "mix_grad": []}
for step in range(6):
    model.cleargrads()
    loss = model(x, fixed=step % 2 == 1)
    loss.backward()
    out["losses"].append(float(loss.data))
    grad = model.topics.W.grad
    out["topics_grad"].append(None if grad is None else np.asarray(grad).tolist())
    out["mix_grad"].append(np.asarray(model.mix.W.grad).tolist())
    optimizer.update()
out["topics"] = model.topics.W.data.tolist()
out["mix"] = model.mix.W.data.tolist()
out["shared"] = bool(np.shares_memory(topics, np.asarray(model.topics.W.data)))
out["dtype"] = str(np.asarray(model.topics.W.data).dtype)
print(json.dumps(out))
'''


def _run(python, path, directory):
    result = run_python(python, ["-W", "ignore", str(path)], cwd=directory)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _migrated(source: str, name="train.py"):
    result = migrate_source(source, name, target="torch")
    assert result.error is None
    return result.migrated, result.findings


@pytest.fixture(scope="module")
def chainer_run(tmp_path_factory):
    where = tmp_path_factory.mktemp("legacy_parameter")
    (where / "chainer_prog.py").write_text(PROGRAM)
    return _run(environment_python("legacy"), where / "chainer_prog.py", where)


def test_training_with_parameter_links_and_a_fresh_cut_matches_chainer_1_24(chainer_run, tmp_path):
    out, findings = _migrated(PROGRAM)
    assert [f for f in findings if f.severity is Severity.ERROR] == [], findings
    assert "chainer" not in out.replace("Chainer", "") and out.count("class ParameterLink") == 1
    assert [f.rule for f in findings if f.rule in ("PT075", "PT076", "PT125")] == ["PT125"]
    assert "            topics = topics.detach()\n" in out
    assert "self.topics = ParameterLink(topics)" in out and "self.mix.weight * self.mix.weight" in out
    (tmp_path / "torch_prog.py").write_text(out)
    got = _run(sys.executable, tmp_path / "torch_prog.py", tmp_path)
    expected = chainer_run
    assert expected["shared"] and got["shared"]  # W is the array given, in both
    assert expected["dtype"] == got["dtype"] == "float32"
    assert len(set(expected["losses"])) == 6  # it learns
    np.testing.assert_allclose(got["losses"], expected["losses"], rtol=RTOL)
    for step, (chainer_grad, torch_grad) in enumerate(zip(expected["topics_grad"], got["topics_grad"])):
        if step % 2 == 1:  # the cut: no gradient reaches the parameter behind `topics`
            assert chainer_grad is None and not np.any(torch_grad), step
        else:
            assert np.any(chainer_grad)
            np.testing.assert_allclose(torch_grad, chainer_grad, rtol=RTOL, atol=1e-6)
    np.testing.assert_allclose(got["mix_grad"], expected["mix_grad"], rtol=RTOL, atol=1e-6)
    np.testing.assert_allclose(got["topics"], expected["topics"], rtol=RTOL)
    np.testing.assert_allclose(got["mix"], expected["mix"], rtol=RTOL)
    again, findings = _migrated(out)  # idempotent
    assert again == out and [f for f in findings if f.severity is not Severity.ERROR] == []


def test_without_the_detach_the_parameter_would_get_a_gradient(tmp_path):
    """The test above can see a missing cut: without the detach, the cut steps give `topics` a gradient."""
    out, _ = _migrated(PROGRAM)
    uncut = out.replace("            topics = topics.detach()\n", "            pass\n")
    assert uncut != out
    (tmp_path / "uncut.py").write_text(uncut)
    got = _run(sys.executable, tmp_path / "uncut.py", tmp_path)
    assert np.any(got["topics_grad"][1])


LEGACY_SEMANTICS = r'''
import json
import numpy as np
import chainer.links as L
out = {}
for dtype in ("float64", "int32"):
    a = np.arange(6).reshape(2, 3).astype(dtype)
    p = L.Parameter(a)
    a[0, 0] = 7
    out[dtype] = [str(p.W.data.dtype), float(p.W.data[0, 0]), p().creator is not None,
                  p(volatile='on').creator is not None, p(volatile='off').creator is not None]
print(json.dumps(out))
'''


def _parameter_link():
    namespace = {"torch": torch, "nn": torch.nn}
    exec(compile(PARAMETER_LINK, "written_in", "exec"), namespace)
    return namespace["ParameterLink"]


def test_written_in_parameter_link_keeps_chainers_semantics(tmp_path):
    """dtype kept (an integer one too), the array not copied, a call returning W (with graph, or without for
    volatile='on'), as Chainer 1.24's L.Parameter."""
    expected = _run_code(LEGACY_SEMANTICS, tmp_path)
    link = _parameter_link()
    for dtype in ("float64", "int32"):
        a = np.arange(6).reshape(2, 3).astype(dtype)
        p = link(a)
        a[0, 0] = 7
        w = p()
        got = [str(p.W.detach().numpy().dtype), float(p.W.detach()[0, 0]), w.requires_grad,
               p(volatile="on").requires_grad, p(volatile="off").requires_grad]
        if dtype == "int32":  # torch: only floating point tensors take a gradient
            assert expected[dtype][2:] == [True, False, True] and got[2:] == [False, False, False]
            got[2:] = expected[dtype][2:]
        assert got == expected[dtype], dtype
        assert w is p.weight and p.W is p.weight and list(p.state_dict()) == ["weight"]  # convert-weights: W


def _run_code(code, tmp_path):
    (tmp_path / "semantics.py").write_text(code)
    return _run(environment_python("legacy"), tmp_path / "semantics.py", tmp_path)


# --- what stays marked -----------------------------------------------------------------------------------------

CLASS = '''import numpy as np
import chainer
import chainer.functions as F
import chainer.links as L


class Net(chainer.Chain):
    def __init__(self):
        super(Net, self).__init__(l=L.Linear(3, 3), p=L.Parameter(np.zeros((3, 3), np.float32)))
        self.r = 0.5

    def __call__(self, x, fixed=False):
{body}
        return F.sum(v)
{more}'''


def cut(body: str, more: str = ""):
    source = CLASS.format(body="".join("        " + line + "\n" for line in body.splitlines()), more=more)
    out, findings = _migrated(source)
    return out, [f for f in findings if f.rule in ("PT075", "PT076", "PT125")]


@pytest.mark.parametrize("body", [
    "v = F.dropout(self.p(), ratio=self.r)\nif fixed:\n    v.unchain_backward()",
    "v = F.dropout(self.p(), self.r)\nv.unchain_backward()",  # ratio by position: a setting of dropout
    "a = np.ones((3, 3), np.float32)\nv = F.matmul(chainer.Variable(a), self.l.W) + self.l.b\nv.unchain_backward()",
    "w = self.l.W\nv = F.tanh(w[0]) * x.shape[0]\nv.unchain_backward()",
])
def test_fresh_graphs_are_cut_by_a_detach(body):
    out, cuts = cut(body)
    assert [c.rule for c in cuts] == ["PT125"], cuts
    assert "v = v.detach()\n" in out and "unchain_backward" not in out


@pytest.mark.parametrize("body, more, why", [
    # a parameter of the function: it may carry the caller's graph, which Chainer's cut would cut too
    ("v = F.tanh(x)\nv.unchain_backward()", "", "`x` is a parameter of `__call__`"),
    # a model's output: the model may keep its graph (or its state)
    ("v = F.tanh(self.l(np.ones((1, 3), np.float32)))\nv.unchain_backward()", "", "`self.l(...)` is a call"),
    # a local that holds a graph of its own: Chainer's cut reaches it, torch's detach does not
    ("a = F.tanh(self.l.W)\nv = a * 2\nv.unchain_backward()", "", "`a` holds a graph of its own"),
    # an attribute netport does not know to be a parameter
    ("v = F.matmul(self.p(), self.r)\nv.unchain_backward()", "", "`self.r` is not known"),
    # Chainer keeps a gradient for the cut variable, torch none for a detached tensor
    ("v = F.tanh(self.p())\nv.unchain_backward()\nprint(v.grad)", "", "`v.grad` is used"),
    # a link the class sets again outside __init__
    ("v = F.tanh(self.p())\nv.unchain_backward()",
     "\n    def reset(self):\n        self.p = L.Parameter(np.ones((3, 3), np.float32))\n", "`self.p(...)` is a call"),
])
def test_what_is_not_shown_fresh_stays_marked(body, more, why):
    out, cuts = cut(body, more)
    assert [c.rule for c in cuts] == ["PT076"], cuts
    assert why in cuts[0].message, cuts[0].message
    assert "v.unchain_backward()  # netport: TODO(PT076)" in out
    again, findings = _migrated(out)
    assert again == out


def test_a_read_between_the_assignment_and_the_cut_stays_marked():
    """`w = v` before the cut: Chainer's cut reaches w too (the same variable), a detach of v would not."""
    out, cuts = cut("v = F.tanh(self.p())\nw = v\nv.unchain_backward()\nv = v + w")
    assert [c.rule for c in cuts] == ["PT076"], cuts
    assert "nor does netport see" not in cuts[0].message  # (no `v = ...` right before it)
