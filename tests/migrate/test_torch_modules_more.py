"""Written-in modules of the torch target against the real Chainer 1.24 (.venv-legacy, a subprocess): InceptionBN
(PT115) and NegativeSampling / F.negative_sampling (PT116/PT117) on the same weights and inputs; and the dtype
conversions of initializers, BatchNormalization and F.cast (PT118, PT052)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from netport.migrate import Severity, migrate_source
from netport.migrate.torch.modules import LAZY_CLASS, _chainer_batch_norm
from netport.migrate.torch.written_in import INCEPTION_BN, NEGATIVE_SAMPLING, NEGATIVE_SAMPLING_FUNCTION
from tests.conftest import environment_python, run_python

torch = pytest.importorskip("torch")

# (in_channels, out1, proj3, out3, proj33, out33, pooltype, proj_pool, stride)
INCEPTION_CASES = [(3, 2, 2, 3, 2, 4, "max", 2, 1), (3, 0, 2, 3, 2, 4, "max", None, 2), (3, 2, 2, 3, 2, 4, "avg", 3, 1),
                   (3, 0, 3, 2, 2, 2, "avg", 2, 2)]

CHAINER_RUN = r'''
import json, sys
import numpy as np
import chainer
import chainer.functions as F
import chainer.links as L
from chainer.functions.loss.negative_sampling import NegativeSamplingFunction
cases = json.loads(sys.argv[1])
out = {}
rng = np.random.RandomState(0)
for i, (cin, out1, p3, o3, p33, o33, pool, proj_pool, stride) in enumerate(cases):
    link = L.InceptionBN(cin, out1, p3, o3, p33, o33, pool, proj_pool, stride)
    for name, param in link.namedparams():
        param.data[...] = rng.uniform(-1, 1, param.data.shape)
        out["inc%d%s" % (i, name.replace("/", "."))] = param.data.copy()
    link.cleargrads()
    x = rng.uniform(-1, 1, (2, cin, 7, 7)).astype(np.float32)
    out["inc%d_x" % i] = x
    y = link(chainer.Variable(x))
    y.grad = np.ones_like(y.data)
    y.backward()
    out["inc%d_y" % i] = y.data
    for name, param in link.namedparams():
        out["inc%d_grad%s" % (i, name.replace("/", "."))] = param.grad
    for name in ("proj3n", "conv33bn"):
        out["inc%d_mean_%s" % (i, name)] = getattr(link, name).avg_mean
        out["inc%d_var_%s" % (i, name)] = getattr(link, name).avg_var
    link.train = False
    out["inc%d_test" % i] = link(chainer.Variable(x)).data

# negative sampling with given samples (the function keeps `samples` for testing)
x = rng.uniform(-1, 1, (4, 3)).astype(np.float32)
W = rng.uniform(-1, 1, (6, 3)).astype(np.float32)
t = np.array([1, -1, 5, 0], np.int32)
samples = rng.randint(0, 6, (4, 3)).astype(np.int32)
samples[:, 0] = t  # as _make_samples sets them (given samples are taken as they are)
for reduce in ("sum", "no"):
    function = NegativeSamplingFunction(None, 2, reduce)
    function.samples = samples.copy()
    xv, Wv = chainer.Variable(x.copy()), chainer.Variable(W.copy())
    loss = function(xv, chainer.Variable(t), Wv)
    F.sum(loss).backward()
    out["ns_%s" % reduce], out["ns_gx_%s" % reduce], out["ns_gW_%s" % reduce] = loss.data, xv.grad, Wv.grad
out.update(ns_x=x, ns_W=W, ns_t=t, ns_samples=samples)
link = L.NegativeSampling(3, [1, 2, 3], 2)
out["ns_link_W"] = link.W.data
np.savez(sys.argv[2], **out)
'''


def written_in() -> dict:
    namespace: dict = {}
    text = "import math\nimport torch\nfrom torch import nn\n\n" + _chainer_batch_norm("BatchNorm2d") + "\n" + \
        LAZY_CLASS.format(name="LazyConv2d", link="L.Convolution2D") + "\n" + INCEPTION_BN + "\n" + \
        NEGATIVE_SAMPLING_FUNCTION + "\n" + NEGATIVE_SAMPLING
    exec(compile(text, "written_in", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def chainer_results(tmp_path_factory):
    legacy = environment_python("legacy")
    where = tmp_path_factory.mktemp("legacy")
    result = run_python(legacy, ["-c", CHAINER_RUN, json.dumps(INCEPTION_CASES), str(where / "out.npz")], cwd=where)
    assert result.returncode == 0, result.stderr[-3000:]
    with np.load(where / "out.npz") as archive:
        return {key: archive[key] for key in archive.files}


@pytest.mark.parametrize("case", range(len(INCEPTION_CASES)))
def test_inception_bn_computes_what_chainer_1_24_computes(chainer_results, case):
    got = chainer_results
    cin, out1, p3, o3, p33, o33, pool, proj_pool, stride = INCEPTION_CASES[case]
    module = written_in()["InceptionBN"](cin, out1, p3, o3, p33, o33, pool, proj_pool=proj_pool, stride=stride)
    # Chainer's parameter names are the torch module's, through convert-weights' renaming
    renames = {"W": "weight", "gamma": "weight", "beta": "bias"}
    prefix = f"inc{case}."
    chainer_names = {key[len(prefix):] for key in got if key.startswith(prefix)}
    state = module.state_dict()
    with torch.no_grad():
        for name in chainer_names:
            link, param = name.split(".")
            state[f"{link}.{renames[param]}"].copy_(torch.from_numpy(got[prefix + name]))
    assert {name for name in state if not name.endswith(("running_mean", "running_var", "num_batches_tracked"))} \
        == {f"{n.split('.')[0]}.{renames[n.split('.')[1]]}" for n in chainer_names}
    module.train()
    x = torch.from_numpy(got[f"inc{case}_x"])
    y = module(x)
    y.backward(torch.ones_like(y))
    np.testing.assert_allclose(y.detach().numpy(), got[f"inc{case}_y"], rtol=1e-4, atol=1e-5)
    for name in chainer_names:
        link, param = name.split(".")
        grad = getattr(getattr(module, link), renames[param]).grad
        np.testing.assert_allclose(grad.numpy(), got[f"inc{case}_grad.{name}"], rtol=1e-3, atol=1e-4)
    for name in ("proj3n", "conv33bn"):  # v1's running averages (avg_var from 0, eps taken in)
        np.testing.assert_allclose(getattr(module, name).running_mean.numpy(), got[f"inc{case}_mean_{name}"],
                                   rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(getattr(module, name).running_var.numpy(), got[f"inc{case}_var_{name}"],
                                   rtol=1e-4, atol=1e-6)
    module.eval()
    np.testing.assert_allclose(module(x).detach().numpy(), got[f"inc{case}_test"], rtol=1e-4, atol=1e-4)


def test_inception_bn_lazy_and_dtype():
    namespace = written_in()
    module = namespace["InceptionBN"](None, 2, 2, 3, 2, 4, "avg", proj_pool=2, dtype=torch.float64,
                                      init=lambda w: torch.nn.init.constant_(w, 0.5))
    y = module(torch.ones(2, 5, 6, 6, dtype=torch.float64))
    assert y.shape == (2, 2 + 3 + 4 + 2, 6, 6) and y.dtype == torch.float64
    assert bool((module.proj3.weight == 0.5).all()) and module.proj3.weight.shape == (2, 5, 1, 1)


@pytest.mark.parametrize("reduce", ["sum", "no"])
def test_negative_sampling_with_given_samples_is_chainers(chainer_results, reduce):
    got = chainer_results
    namespace = written_in()
    x = torch.from_numpy(got["ns_x"]).requires_grad_()
    W = torch.from_numpy(got["ns_W"]).requires_grad_()
    t = torch.from_numpy(got["ns_t"])
    loss = namespace["chainer_negative_sampling"](x, t, W, None, 2, reduce=reduce, samples=got["ns_samples"])
    loss.sum().backward()
    np.testing.assert_allclose(loss.detach().numpy(), got[f"ns_{reduce}"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), got[f"ns_gx_{reduce}"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(W.grad.numpy(), got[f"ns_gW_{reduce}"], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError):
        namespace["chainer_negative_sampling"](x, t, W, None, 2, reduce="mean", samples=got["ns_samples"])


def test_negative_sampling_link(chainer_results):
    namespace = written_in()
    module = namespace["NegativeSampling"](3, [1, 2, 3], 2)
    assert np.array_equal(module.weight.detach().numpy(), chainer_results["ns_link_W"])  # zero, as Chainer's
    assert module.W is module.weight and list(module.state_dict()) == ["weight"]
    torch.manual_seed(0)
    draws = module.sampler((20000, 3)).flatten().numpy()
    p = np.array([1, 2, 3], np.float32) ** np.float32(0.75)
    assert np.abs(np.bincount(draws, minlength=3) / draws.size - p / p.sum()).max() < 0.01
    loss = module(torch.ones(2, 3), torch.tensor([0, 2]))  # sampled: the zero W gives 3 * log 2 a row
    assert abs(loss.item() - 6 * np.log(2)) < 1e-5


def migrate(source: str):
    result = migrate_source(source, "example.py", target="torch")
    return result.migrated, [f for f in result.findings if f.severity is Severity.ERROR]


def test_initializer_dtype_through_names_and_lazy_links():
    source = ("import numpy as np\nimport chainer\nimport chainer.links as L\nimport chainer.functions as F\n"
              "from chainer import initializers\n\n\nclass Net(chainer.Chain):\n    def __init__(self):\n"
              "        self.dtype = dtype = np.float16\n        W = initializers.HeNormal(1 / np.sqrt(2), self.dtype)\n"
              "        bias = initializers.Zero(self.dtype)\n        super(Net, self).__init__(\n"
              "            conv=L.Convolution2D(None, 4, 3, initialW=W, initial_bias=bias),\n"
              "            fc=L.Linear(3, 2, initialW=W, nobias=True),\n"
              "            bn=L.BatchNormalization(4, dtype=dtype))\n\n"
              "    def __call__(self, x):\n        return self.bn(self.conv(F.cast(x, self.dtype)))\n")
    migrated, errors = migrate(source)
    assert errors == []
    assert "LazyConv2d(4, 3, dtype=torch.float16, init=lambda w: nn.init.normal_(w, std=(1 / np.sqrt(2)) * " \
        "math.sqrt(2 / w[0].numel())), initial_bias=0.0)" in migrated
    assert "nn.Linear(3, 2, bias=False, dtype=torch.float16)" in migrated
    assert "dtype=torch.float16)" in migrated.split("self.bn = ")[1].splitlines()[0]
    assert "x.to(torch.from_numpy(np.empty(0, self.dtype)).dtype)" in migrated
    assert "initializers" not in migrated


def test_initializer_dtype_of_a_parameter_and_mixed_dtypes():
    source = ("import numpy as np\nimport chainer\nimport chainer.links as L\nfrom chainer import initializers\n\n\n"
              "class Net(chainer.Chain):\n    def __init__(self, dtype=np.float32):\n"
              "        W = initializers.Normal(0.1, dtype)\n        super(Net, self).__init__(\n"
              "            fc=L.Linear(3, 2, initialW=W, nobias=True),\n"
              "            fc2=L.Linear(3, 2, initialW=W))\n")
    migrated, errors = migrate(source)
    # the parameter: NumPy's reading of it (None: float32, as initializers.generate_array made it)
    assert "nn.Linear(3, 2, bias=False, dtype=torch.from_numpy(np.empty(0, np.float32 if dtype is None else " \
        "dtype)).dtype)" in migrated
    # W in the initializer's dtype, b float32: Chainer's parameters of two dtypes are marked
    # (W's assignment stays, marked, for the link left to convert)
    assert sorted(e.rule for e in errors) == ["PT037", "PT099"]
    assert any("W of dtype" in e.message for e in errors)
    assert torch.from_numpy(np.empty(0, np.float16)).dtype == torch.float16
