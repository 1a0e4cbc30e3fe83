"""`netport migrate --to torch` on links, initializers and Chainer's link API (PT036-PT039, PT070-PT074, and
PT005/PT008 extended): the torch modules are what Chainer 1.24 built, checked against Chainer 1.24's own
numbers (the legacy environment) where a formula or a copy is involved."""

from __future__ import annotations

import re

import numpy as np
import pytest

from netport.migrate import Severity, migrate_source
from tests.conftest import run_python
from tests.migrate.test_torch_target import HEADER, SAVE_LOAD, assert_same_numbers, run_on_chainer_and_torch

torch = pytest.importorskip("torch")

NUMBER = r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?"


def errors(result) -> list[tuple[int, str]]:
    return [(f.line, f.rule) for f in result.findings if f.severity is Severity.ERROR]


def run_both(tmp_path, legacy_python, program: str) -> tuple[object, dict, dict]:
    """Run ``program`` on Chainer 1.24 and its torch migration (no weights carried over: each side builds its
    own); each prints lines ``name number ...``. Returns (the migration, {name: numbers} of each side)."""
    import sys

    (tmp_path / "chainer").mkdir()
    (tmp_path / "torch").mkdir()
    (tmp_path / "chainer" / "prog.py").write_text(program)
    ran = run_python(legacy_python, ["-W", "ignore", "prog.py"], cwd=tmp_path / "chainer")
    assert ran.returncode == 0, ran.stderr[-3000:]
    result = migrate_source(program, "prog.py", target="torch")
    assert result.error is None, result.error
    (tmp_path / "torch" / "prog.py").write_text(result.migrated)
    migrated = run_python(sys.executable, ["prog.py"], cwd=tmp_path / "torch")
    assert migrated.returncode == 0, result.migrated + "\n" + migrated.stderr[-3000:]

    def table(stdout):
        return {line.split()[0]: [float(v) for v in re.findall(NUMBER, line.split(None, 1)[1])]
                for line in stdout.splitlines()}

    return result, table(ran.stdout), table(migrated.stdout)


# --- initializers (PT037) -------------------------------------------------------------------------------------

INITIALIZERS = '''import numpy as np
import chainer
import chainer.links as L
from chainer import initializers as I


def show(name, a):
    print(name, float(a.std()), float(abs(a).max()), float(a.mean()))


np.random.seed(0)
he = I.HeNormal(0.5)
fc_he = L.Linear(300, 400, initialW=he)
fc_normal = L.Linear(3, 20000, initialW=I.Normal(0.02), initial_bias=I.Normal(0.5))
fc_glorot = L.Linear(300, 100, initialW=I.GlorotNormal(2.0), initial_bias=0.25)
fc_uniform = L.Linear(30, 4000, initialW=I.Uniform(0.3), initial_bias=I.Uniform())
fc_lecun_uniform = L.Linear(300, 400, initialW=I.LeCunUniform())
fc_he_uniform = L.Linear(300, 400, initialW=I.HeUniform(0.5))
conv_glorot = L.Convolution2D(16, 32, 5, initialW=I.GlorotUniform())
conv_he = L.Convolution2D(16, 32, (3, 5), initialW=he, initial_bias=I.Constant(0.5))
deconv_he = L.Deconvolution2D(32, 16, 4, initialW=I.HeNormal())
deconv_glorot = L.Deconvolution2D(32, 16, 4, initialW=I.GlorotNormal())
embed = L.EmbedID(1000, 200, initialW=I.Uniform(0.1))
ones = L.Linear(3, 2, initialW=I.One(), initial_bias=I.Zero())
''' + "".join(f"show('{name}_W', {name}.W.data)\n" + (f"show('{name}_b', {name}.b.data)\n" if name != "embed" else "")
          for name in ("fc_he", "fc_normal", "fc_glorot", "fc_uniform", "fc_lecun_uniform", "fc_he_uniform",
                       "conv_glorot", "conv_he", "deconv_he", "deconv_glorot", "embed", "ones"))

# Chainer 1.24's formulas (initializers/normal.py, uniform.py; initializer.get_fans: fan-in the size of W[0],
# fan-out W.shape[0]) for the std of each weight; a uniform U(-b, b) has std b / sqrt(3)
FORMULAS = {
    "fc_he_W": 0.5 * np.sqrt(2 / 300), "fc_normal_W": 0.02, "fc_normal_b": 0.5, "fc_uniform_b": 0.05 / np.sqrt(3),
    "fc_glorot_W": 2.0 * np.sqrt(2 / (300 + 100)), "fc_uniform_W": 0.3 / np.sqrt(3),
    "fc_lecun_uniform_W": np.sqrt(3 / 300) / np.sqrt(3), "fc_he_uniform_W": 0.5 * np.sqrt(6 / 300) / np.sqrt(3),
    "conv_glorot_W": np.sqrt(6 / (16 * 25 + 32)) / np.sqrt(3),  # v1's fan-out: W.shape[0], not times kh * kw
    "conv_he_W": 0.5 * np.sqrt(2 / (16 * 3 * 5)),
    "deconv_he_W": np.sqrt(2 / (16 * 4 * 4)),  # W is (in, out, kh, kw): the fan-in is out * kh * kw
    "deconv_glorot_W": np.sqrt(2 / (16 * 16 + 32)), "embed_W": 0.1 / np.sqrt(3),
}
UNIFORM_BOUNDS = {"fc_uniform_W": 0.3, "fc_uniform_b": 0.05, "fc_lecun_uniform_W": np.sqrt(3 / 300),
                  "fc_he_uniform_W": 0.5 * np.sqrt(6 / 300), "conv_glorot_W": np.sqrt(6 / (16 * 25 + 32)),
                  "embed_W": 0.1}
CONSTANTS = {"fc_he_b": 0.0, "fc_glorot_b": 0.25, "conv_he_b": 0.5, "deconv_he_b": 0.0, "ones_W": 1.0,
             "ones_b": 0.0}


def test_initializers_draw_chainer_1_24s_distributions(tmp_path, legacy_python):
    """initialW=/initial_bias= were TODO(PT003); now each is the nn.init call of Chainer 1.24's formula. The
    stds of 12800 to 200000 draws lie within 3% of the formula (the sampling error is below 1.3%) on both
    sides, uniform draws reach their bound, constants are exact; and the initializer held by a name is written
    into each use (its assignment goes)."""
    result, chainer_out, torch_out = run_both(tmp_path, legacy_python, INITIALIZERS)
    assert not errors(result), result.findings
    assert "\nhe = " not in result.migrated and "chainer" not in result.migrated
    assert "nn.init.normal_(conv_he.weight, std=0.5 * math.sqrt(2 / (16 * 3 * 5)))" in result.migrated
    assert sorted(torch_out) == sorted(chainer_out)
    for name, std in FORMULAS.items():
        for side, out in (("chainer", chainer_out), ("torch", torch_out)):
            assert out[name][0] == pytest.approx(std, rel=0.03), (side, name, out[name], std)
            assert abs(out[name][2]) < 0.05 * std, (side, name)
    for name, bound in UNIFORM_BOUNDS.items():
        for side, out in (("chainer", chainer_out), ("torch", torch_out)):
            assert 0.97 * bound < out[name][1] <= bound * (1 + 1e-6), (side, name, out[name], bound)
    for name, value in CONSTANTS.items():
        assert chainer_out[name] == [0.0, abs(value), value] == torch_out[name], name


ARRAYS = HEADER + '''W = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
dW = (np.arange(2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2) - 12) / 7
fc = L.Linear(3, 4, initialW=W, initial_bias=np.linspace(-1, 1, 4).astype(np.float32))
up = L.Deconvolution2D(2, 3, 2, stride=2, initialW=dW, initial_bias=0.5)
zero = L.Linear(3, 2, initialW=0)
x = np.linspace(-1, 1, 2 * 3).reshape(2, 3).astype(np.float32)
y = fc(chainer.Variable(x))
h = up(F.reshape(y, (2, 2, 1, 2)))
print('fc', ' '.join('%.7g' % v for v in y.data.ravel()))
print('up', ' '.join('%.7g' % v for v in h.data.ravel()))
print('zero', ' '.join('%.7g' % v for v in zero(chainer.Variable(x)).data.ravel()))
'''


def test_array_initializers_are_copied_in_with_chainers_layout(tmp_path, legacy_python):
    """An array initialW/initial_bias is copied into the weight under torch.no_grad(): Chainer's Linear W is
    (out, in) and its Deconvolution2D W (in, out, kh, kw), torch's layouts, so the outputs are Chainer 1.24's
    to the last bit of float32; a number is a constant."""
    result, chainer_out, torch_out = run_both(tmp_path, legacy_python, ARRAYS)
    assert not errors(result), result.findings
    assert "with torch.no_grad():\n    up.weight.copy_(torch.as_tensor(dW))\n" in result.migrated
    assert "nn.init.constant_(zero.weight, 0)" in result.migrated
    assert set(chainer_out) == {"fc", "up", "zero"}
    for name in chainer_out:
        np.testing.assert_allclose(torch_out[name], chainer_out[name], rtol=1e-6, atol=1e-7)


def test_initializers_it_cannot_see_or_convert_are_marked():
    source = ("import chainer\nimport chainer.links as L\nfrom chainer import initializers as I\n\n\n"
              "def build(w, dtype):\n    a = L.Linear(3, 2, initialW=w)\n"
              "    b = L.Linear(3, 2, initialW=I.HeNormal(1.0, dtype))\n"
              "    c = L.Linear(3, 2, initial_bias=I.HeNormal())\n"
              "    d = L.Linear(3, 2, initialW=I.Orthogonal())\n    return a, b, c, d\n")
    result = migrate_source(source, "prog.py", target="torch")
    assert errors(result) == [(7, "PT037"), (8, "PT037"), (9, "PT037"), (10, "PT037")]
    messages = [f.message for f in result.findings if f.severity is Severity.ERROR]
    assert "`w` is not a Chainer initializer" in messages[0] and "a torch module takes one dtype" in messages[1]
    assert "on a bias" in messages[2] and "Orthogonal has no torch conversion" in messages[3]


# --- lazy links (PT033, PT038) -----------------------------------------------------------------------------------

LAZY = HEADER + '''from chainer import initializers as I


class Net(chainer.Chain):
    def __init__(self):
        super(Net, self).__init__(
            conv=L.Convolution2D(None, 64, 3, pad=1, initialW=I.Normal(0.02)),
            up=L.Deconvolution2D(None, 32, 4, stride=2, pad=1),
            fc=L.Linear(None, 10, initialW=I.HeNormal()),
        )

    def __call__(self, x):
        return self.fc(self.up(F.relu(self.conv(x))))


np.random.seed(0)
model = Net()
y = model(chainer.Variable(np.zeros((2, 16, 6, 6), dtype=np.float32)))
print('shape', ' '.join(str(n) for n in y.data.shape))
print('conv', float(model.conv.W.data.std()), ' '.join(str(n) for n in model.conv.W.data.shape))
print('up', float(model.up.W.data.std()), ' '.join(str(n) for n in model.up.W.data.shape))
print('fc', float(model.fc.W.data.std()), ' '.join(str(n) for n in model.fc.W.data.shape))
'''


def test_lazy_convolutions_draw_chainers_weights_at_the_first_call(tmp_path, legacy_python):
    """L.Convolution2D/Deconvolution2D(None, ...) were TODO(PT003/PT009); they are LazyConv2d/LazyConvTranspose2d
    written into the file, which draw Chainer's weights (the initializer, or LeCun normal with the fan-in
    out * kh * kw of a deconvolution) when the first input gives the size."""
    result, chainer_out, torch_out = run_both(tmp_path, legacy_python, LAZY)
    assert not errors(result), result.findings
    assert "self.conv = LazyConv2d(64, 3, padding=1, init=lambda w: nn.init.normal_(w, std=0.02))" in result.migrated
    assert "self.up = LazyConvTranspose2d(32, 4, stride=2, padding=1)" in result.migrated
    assert torch_out["shape"] == chainer_out["shape"] == [2, 10]
    expected = {"conv": 0.02, "up": 1 / np.sqrt(32 * 16), "fc": np.sqrt(2 / (32 * 12 * 12))}
    for name, std in expected.items():
        assert torch_out[name][1:] == chainer_out[name][1:], name  # the same weight shape
        for out in (chainer_out, torch_out):
            assert out[name][0] == pytest.approx(std, rel=0.05), (name, out[name])


def test_a_lazy_convolution_trains_with_an_optimizer_built_before_its_first_call():
    source = ("import chainer.links as L\nconv = L.Convolution2D(None, 4, 3)\n")
    namespace = {}
    exec(migrate_source(source, "prog.py", target="torch").migrated, namespace)
    conv = namespace["conv"]
    optimizer = torch.optim.SGD(conv.parameters(), lr=0.1)
    conv(torch.ones(1, 2, 5, 5)).sum().backward()
    before = conv.weight.detach().clone()
    optimizer.step()
    assert conv.weight.shape == (4, 2, 3, 3) and not torch.equal(before, conv.weight)
    assert torch.count_nonzero(conv.bias.grad).item() == 4


# --- BatchNormalization's rank (PT036) -----------------------------------------------------------------------

GENERATOR = HEADER + '''class Generator(chainer.Chain):
    def __init__(self):
        super(Generator, self).__init__(
            l0=L.Linear(6, 4 * 2 * 2),
            bn0=L.BatchNormalization(4 * 2 * 2),
            dc1=L.Deconvolution2D(4, 3, 4, stride=2, pad=1),
            bn1=L.BatchNormalization(3),
        )

    def __call__(self, z, test=False):
        h = F.reshape(F.relu(self.bn0(self.l0(z), test=test)), (z.data.shape[0], 4, 2, 2))
        return F.tanh(self.bn1(self.dc1(h), test=test))


def show(v):
    print(' '.join('%.6f' % e for e in v.ravel()))


np.random.seed(0)
model = Generator()
''' + SAVE_LOAD + '''optimizer = optimizers.SGD(lr=0.01)
optimizer.setup(model)
z = chainer.Variable(np.random.RandomState(1).randn(5, 6).astype(np.float32))
for i in range(3):
    y = model(z)
    loss = F.sum(y * y)
    model.zerograds()
    loss.backward()
    optimizer.update()
    show(loss.data)
show(model(z, test=True).data)
show(model.bn0.avg_mean)
show(model.bn1.avg_var)
'''


def test_batch_normalization_gets_the_rank_that_reaches_it(tmp_path, legacy_python):
    """The project-wide guess made both links BatchNorm2d in a program with a deconvolution: the one after the
    Linear then raised ValueError (expected 4D input (got 2D input)). The rank is followed through the
    class: BatchNorm1d after the Linear, BatchNorm2d after the deconvolution, and training steps, test-mode
    outputs and running statistics are Chainer 1.24's."""
    result, chainer_out, torch_out = run_on_chainer_and_torch(tmp_path, legacy_python, GENERATOR)
    assert not errors(result), result.findings
    assert "self.bn0 = ChainerBatchNorm1d(4 * 2 * 2, eps=2e-05, momentum=0.1)" in result.migrated
    assert "self.bn1 = ChainerBatchNorm2d(3, eps=2e-05, momentum=0.1)" in result.migrated
    assert len(chainer_out) == 6 and len(chainer_out[3]) == 5 * 3 * 4 * 4
    # (3 SGD steps through two batch normalizations of 5 samples: float32 rounding grows to a few 1e-6)
    assert_same_numbers(torch_out, chainer_out, rtol=1e-5, atol=3e-5)


def test_batch_normalization_rank_follows_poolings_reshapes_and_the_calls_of_the_file():
    source = ("import numpy as np\nimport chainer\nimport chainer.functions as F\nimport chainer.links as L\n\n\n"
              "class Net(chainer.Chain):\n    def __init__(self):\n        super(Net, self).__init__(\n"
              "            conv=L.Convolution2D(3, 8, 3), a=L.BatchNormalization(8), b=L.BatchNormalization(8),\n"
              "            c=L.BatchNormalization(3), d=L.BatchNormalization(3), e=L.BatchNormalization(8))\n\n"
              "    def __call__(self, x, y):\n        h = F.max_pooling_2d(self.a(self.conv(x)), 2)\n"
              "        h = self.b(h.reshape(len(h), -1)[:, :8])\n"  # a slice: rank unknown
              "        if y is None:\n            y = x\n"
              "        return self.c(x), self.d(y), self.e(F.flatten(h))\n\n\n"
              "model = Net()\nx = np.random.randn(2, 3, 5, 5).astype(np.float32)\nmodel(chainer.Variable(x), None)\n")
    result = migrate_source(source, "prog.py", target="torch")
    migrated = result.migrated
    assert "self.a = ChainerBatchNorm2d(8" in migrated  # after a convolution
    assert "self.c = ChainerBatchNorm2d(3" in migrated  # the 4-D argument the file calls the model with
    # unknown: a slice; x or None; a 1-D flatten: each takes the any-rank module, as Chainer's link did
    for name in "bde":
        assert f"self.{name} = ChainerBatchNormNd(" in migrated
    assert not errors(result), result.findings
    assert [f.message.split("`")[1] for f in result.findings if f.rule == "PT036" and "BatchNormNd" in f.message] \
        == ["self.b", "self.d", "self.e"]
    assert "class BatchNormNd(nn.BatchNorm1d):" in migrated and "class ChainerBatchNormNd(BatchNormNd):" in migrated



def test_batch_normalization_built_into_a_dict_item_is_converted_with_its_running_variance():
    """Links built into `links["bn%d" % i]` (to pass to Chain(**links)): the item is named again, as a pure
    subscript, for v1's zero running variance; an item whose key has side effects is not."""
    source = ("import chainer.links as L\nlinks = {}\nfor i in range(2):\n"
              "    links['bn%d' % i] = L.BatchNormalization(3)\nlinks[next(keys)] = L.BatchNormalization(3)\n")
    result = migrate_source(source, "prog.py", target="torch")
    assert "    links['bn%d' % i] = ChainerBatchNormNd(3, eps=2e-05, momentum=0.1)\n" \
           "    nn.init.zeros_(links['bn%d' % i].running_var)\n" in result.migrated
    assert errors(result) == [(5, "PT003")]

# a BatchNormalization whose input rank the file does not show (it is called in a helper function), given a 4-D
# and a 2-D input in turn: Chainer's link took both
BATCH_NORM_ANY_RANK = HEADER + '''def normalise(link, x):
    return link(x)


class Net(chainer.Chain):
    def __init__(self):
        super(Net, self).__init__(bn=L.BatchNormalization(3))

    def __call__(self, x):
        return normalise(self.bn, x)


def show(v):
    print(' '.join('%.6f' % e for e in v.ravel()))


np.random.seed(0)
model = Net()
''' + SAVE_LOAD + '''rng = np.random.RandomState(1)
images = chainer.Variable(rng.randn(4, 3, 2, 2).astype(np.float32))
vectors = chainer.Variable(rng.randn(5, 3).astype(np.float32))
show(model(images).data)
show(model(vectors).data)
show(model.bn.avg_mean)
show(model.bn.avg_var)
'''


def test_batch_normalization_of_unknown_rank_takes_any_rank_as_chainers_did(tmp_path, legacy_python):
    """Where the file does not show the rank that reaches the link, the guess (BatchNorm2d in an image program,
    else BatchNorm1d) raised ValueError for the other rank; BatchNormNd takes both, and normalises 4-D and 2-D
    inputs, and updates the running statistics, as Chainer 1.24 did."""
    result, chainer_out, torch_out = run_on_chainer_and_torch(tmp_path, legacy_python, BATCH_NORM_ANY_RANK)
    assert not errors(result), result.findings
    assert "self.bn = ChainerBatchNormNd(3, eps=2e-05, momentum=0.1)" in result.migrated
    assert [len(line) for line in chainer_out] == [4 * 3 * 2 * 2, 5 * 3, 3, 3]
    # two normalisations of 4 and 5 samples: float32 rounding of the same sums, a few 1e-7 relative
    assert_same_numbers(torch_out, chainer_out, rtol=1e-5, atol=1e-6)


# --- chains and their API (PT005, PT008, PT039, PT070-PT072) ------------------------------------------------

def test_copy_shares_the_data_and_not_the_gradients_like_chainers():
    """link.copy() (Chainer's mode='share') is chainer_copy: new parameters on the original's data, so an
    update of either shows in both while each keeps its own gradient, as Link.copy in 1.24 did."""
    source = ("import chainer\nimport chainer.links as L\nmodel = L.Classifier(L.Linear(3, 2))\n"
              "shared = model.copy()\n")
    result = migrate_source(source, "prog.py", target="torch")
    assert not errors(result) and "shared = chainer_copy(model)" in result.migrated
    namespace = {}
    exec(result.migrated, namespace)
    model, shared = namespace["model"], namespace["shared"]
    original, copy = model.predictor.weight, shared.predictor.weight
    assert copy is not original and torch.equal(copy, original)
    copy.sum().backward()
    assert original.grad is None and copy.grad is not None
    torch.optim.SGD(shared.parameters(), lr=1.0).step()
    assert torch.equal(copy, original)  # the update of the copy is the original's


def test_a_list_of_links_and_a_function_given_links_hold_links():
    """`for ae in aes: ae.copy()` (aes a list only given the program's chains) and `m.copy()` in a function
    every call of which passes a model were left as is (nn.Module has no copy: AttributeError)."""
    source = ("import chainer\nimport chainer.links as L\n\n\nclass AE(chainer.Chain):\n    pass\n\n\n"
              "def evaluate(m, data):\n    return m.copy()\n\n\naes = []\nfor n in range(3):\n    ae = AE()\n"
              "    aes.append(ae)\ncopies = []\nfor ae in aes:\n    copies.append(ae.copy())\n"
              "first = aes[0].copy()\nevaluate(aes[0], None)\nevaluate(AE(), [])\nother = {}.copy()\n")
    migrated = migrate_source(source, "prog.py", target="torch").migrated
    assert "copies.append(chainer_copy(ae))" in migrated and "return chainer_copy(m)" in migrated
    assert "first = aes[0].copy()" in migrated  # (a receiver that is a subscript: not followed)
    assert "other = {}.copy()" in migrated


def test_w_and_b_of_links_held_by_names_and_by_a_function_set():
    source = ("import chainer\nimport chainer.functions as F\nimport chainer.links as L\n"
              "model = chainer.FunctionSet(l1=F.Linear(3, 2), bn=F.BatchNormalization(2))\n"
              "net = L.Linear(3, 2)\n"
              "print(net.W.data.shape, net.b.data.shape, model.l1.W.shape, model.bn.gamma.shape)\n\n\n"
              "def reset(link):\n    for l in link.children():\n        if isinstance(l, L.Linear):\n"
              "            l.W.data[...] = 0\n        else:\n            l.W = None\n")
    result = migrate_source(source, "prog.py", target="torch")
    migrated = result.migrated
    assert "print(net.weight.data.shape, net.bias.data.shape, model.l1.weight.shape, model.bn.weight.shape)" in \
        migrated
    assert "        if isinstance(l, nn.Linear):\n            l.weight.data[...] = 0\n        else:\n" \
           "            l.W = None\n" in migrated  # narrowed by isinstance, and only there


def test_function_set_parameters_are_views_that_write_through():
    """v1.4's `for param in model.parameters: param[:] = ...` (FunctionSet's tuple of arrays) iterated a bound
    method in torch (TypeError)."""
    source = ("import numpy as np\nimport chainer\nimport chainer.functions as F\n"
              "model = chainer.FunctionSet(l1=F.Linear(3, 2), l2=F.Linear(2, 1))\n"
              "for param in model.parameters:\n    param[:] = np.random.uniform(-0.1, 0.1, param.shape)\n")
    result = migrate_source(source, "prog.py", target="torch")
    assert not errors(result), result.findings
    namespace = {}
    exec(result.migrated, namespace)
    for parameter in namespace["model"].parameters():
        assert parameter.abs().max().item() <= 0.1
    assert namespace["model"].l1.bias.abs().sum().item() > 0  # written (Chainer's bias starts at zero)


def test_add_persistent_is_a_buffer_for_an_array_and_an_attribute_for_a_flag():
    source = ("import numpy as np\nimport chainer\n\n\nclass Stat(chainer.Link):\n"
              "    def __init__(self, n, normalized=False):\n        super(Stat, self).__init__()\n"
              "        self.add_persistent('normalized', normalized)\n"
              "        self.add_persistent('mean', np.zeros(n, dtype=np.float32))\n"
              "        self.add_persistent('other', n)\n        self.add_persistent('thing', make())\n")
    result = migrate_source(source, "prog.py", target="torch")
    # a parameter with no default, and a call: values of unknown types
    assert errors(result) == [(10, "PT039"), (11, "PT039")]
    assert "        self.normalized = normalized\n" in result.migrated
    namespace = {}
    exec(re.sub(r"\n +self.add_persistent.*", "", result.migrated), namespace)
    stat = namespace["Stat"](3, normalized=True)
    assert stat.normalized is True and list(stat.state_dict()) == ["mean"] and stat.mean.shape == (3,)


def test_namedparams_are_named_parameters_only_where_the_names_are_keys():
    source = ("import chainer\n\n\ndef copy_param(target, source):\n    params = dict(target.namedparams())\n"
              "    for name, param in source.namedparams():\n        params[name].data[:] = param.data\n\n\n"
              "def decay(opt, rate):\n    for name, param in opt.target.namedparams():\n"
              "        if name.endswith('/b'):\n            continue\n        param.grad += rate * param.data\n")
    result = migrate_source(source, "prog.py", target="torch")
    assert "params = dict(target.named_parameters())" in result.migrated
    assert "for name, param in source.named_parameters():" in result.migrated
    # '/b' is Chainer's path: marked once, not again by PT099; a torch optimizer has no `target` (PT027)
    assert errors(result) == [(11, "PT027"), (11, "PT070")]
    net = torch.nn.Sequential(torch.nn.Linear(3, 2))
    other = torch.nn.Sequential(torch.nn.Linear(3, 2))
    namespace = {}
    exec(result.migrated.split("\n\n\ndef decay")[0], namespace)
    namespace["copy_param"](net, other)
    assert torch.equal(net[0].weight, other[0].weight)


def test_chain_of_named_links_chainlist_of_links_base_init_and_isinstance():
    source = ("import chainer\nimport chainer.functions as F\nimport chainer.links as L\n\n\n"
              "def network(n):\n    return chainer.Chain(l1=F.Linear(n, 2), l2=F.Linear(2, 1))\n\n\n"
              "def stack(units):\n"
              "    return chainer.ChainList(*[L.Linear(a, b) for a, b in zip(units, units[1:])])\n\n\n"
              "class Wide(chainer.Chain):\n    def __init__(self):\n        self.k = 3\n"
              "        chainer.Chain.__init__(self)\n\n\n"
              "def is_link(x):\n"
              "    return isinstance(x, chainer.Link), isinstance(x, (L.Linear, L.Convolution2D))\n\n\n"
              "def bad(x):\n    return chainer.Chain(keys=x), isinstance(x, chainer.Chain)\n")
    result = migrate_source(source, "prog.py", target="torch")
    assert errors(result) == [(25, "PT072"), (25, "PT072")]
    namespace = {}
    exec(result.migrated.split("\n\n\ndef bad")[0], namespace)
    net = namespace["network"](3)
    assert net.l1.in_features == 3 and net["l2"].out_features == 1 and len(list(net.parameters())) == 4
    assert [m.in_features for m in namespace["stack"]([4, 3, 2])] == [4, 3]
    assert namespace["Wide"]().k == 3
    assert namespace["is_link"](net.l1) == (True, True) and namespace["is_link"](net) == (True, False)


MLPCONV = HEADER + '''class NIN(chainer.Chain):
    def __init__(self):
        super(NIN, self).__init__(mlp=L.MLPConvolution2D(3, (8, 6, 4), 3, stride=2, pad=1, wscale=2.0))

    def __call__(self, x):
        return F.sum(self.mlp(x), axis=(2, 3))


np.random.seed(0)
model = NIN()
''' + SAVE_LOAD + '''x = np.random.RandomState(1).randn(2, 3, 7, 7).astype(np.float32)
print(' '.join('%.6f' % v for v in model(chainer.Variable(x)).data.ravel()))
'''


def test_mlp_convolution_computes_chainers_numbers(tmp_path, legacy_python):
    """L.MLPConvolution2D was left for PT099: it is the MLPConvolution2D written into the file (a ModuleList of
    the convolutions, ReLU between them, Chainer's LeCun normal scaled by sqrt(wscale))."""
    result, chainer_out, torch_out = run_on_chainer_and_torch(tmp_path, legacy_python, MLPCONV)
    assert not errors(result), result.findings
    assert "self.mlp = MLPConvolution2D(3, (8, 6, 4), 3, stride=2, pad=1, scale=math.sqrt(2.0))" in result.migrated
    assert_same_numbers(torch_out[:1], chainer_out[:1], rtol=1e-5, atol=1e-6)
    namespace = {}
    exec(result.migrated.split("\n\nnp.random.seed(0)")[0], namespace)
    torch.manual_seed(0)
    wide = namespace["MLPConvolution2D"](64, (200, 300), 3, scale=2.0)
    assert wide[1].weight.std().item() == pytest.approx(2.0 / np.sqrt(200), rel=0.03)


INCEPTION = HEADER + '''class Net(chainer.Chain):
    def __init__(self):
        super(Net, self).__init__(inc=L.Inception(3, 4, 2, 5, 2, 3, 2))

    def __call__(self, x):
        return self.inc(x)


np.random.seed(0)
model = Net()
''' + SAVE_LOAD + '''optimizer = optimizers.SGD(lr=0.1)
optimizer.setup(model)
x = chainer.Variable(np.random.RandomState(1).randn(2, 3, 5, 5).astype(np.float32))
for i in range(3):
    loss = F.sum(model(x) ** 2) / 100
    model.zerograds()
    loss.backward()
    optimizer.update()
    print('loss %.6f' % loss.data)
print('y ' + ' '.join('%.6f' % v for v in model(x).data.ravel()))
'''


def test_inception_computes_chainers_numbers(tmp_path, legacy_python):
    """L.Inception was marked (no torch counterpart): it is the Inception written into the file, whose paths,
    paddings, ReLUs and parameter names are Chainer 1.24's, so converted weights give Chainer's outputs and
    training steps; an input size of None makes its convolutions of the input lazy."""
    result, chainer_out, torch_out = run_on_chainer_and_torch(tmp_path, legacy_python, INCEPTION)
    assert not errors(result), result.findings
    assert "super(Net, self).__init__()\n        self.inc = Inception(3, 4, 2, 5, 2, 3, 2)" in result.migrated
    assert len(chainer_out[-1]) == 2 * (4 + 5 + 3 + 2) * 5 * 5
    # three SGD steps through convolutions of a few dozen terms: float32 rounding, a few 1e-7 relative
    assert_same_numbers(torch_out, chainer_out, rtol=1e-5, atol=1e-6)
    namespace = {}
    exec(result.migrated.split("\n\nnp.random.seed(0)")[0], namespace)
    lazy = namespace["Inception"](None, 4, 2, 5, 2, 3, 2)
    assert lazy(torch.zeros(1, 7, 6, 6)).shape == (1, 14, 6, 6) and lazy.conv1.weight.shape == (4, 7, 1, 1)

def test_links_with_no_torch_counterpart_are_marked_once_with_what_a_port_takes():
    source = ("import chainer.links as L\nfrom chainer.links import caffe\n"
              "loss = L.BinaryHierarchicalSoftmax(10, tree)\nnet = caffe.CaffeFunction('model.caffemodel')\n")
    result = migrate_source(source, "prog.py", target="torch")
    # (BinaryHierarchicalSoftmax has one since: 1.24's code written into the file, PT119)
    assert errors(result) == [(4, "PT074")] and "loss = BinaryHierarchicalSoftmax(10, tree)" in result.migrated
    assert "Caffe-to-PyTorch" in result.migrated


def test_copyparams_copies_each_parameter_by_name():
    source = ("import chainer\nimport chainer.links as L\nsource = L.Classifier(L.Linear(3, 2))\n"
              "target = L.Classifier(L.Linear(3, 2))\ntarget.copyparams(source)\n")
    result = migrate_source(source, "prog.py", target="torch")
    assert not errors(result), result.findings
    namespace = {}
    exec(result.migrated, namespace)
    source_module, target_module = namespace["source"], namespace["target"]
    assert torch.equal(target_module.predictor.weight, source_module.predictor.weight)
    assert target_module.predictor.weight is not source_module.predictor.weight  # copied, not shared
