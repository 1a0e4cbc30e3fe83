"""chainer.functions calls migrated to torch compute what Chainer 1.24 computes.

Every case below is a call of one function; the cases are written as one Chainer v1 program (a function
per case), which runs on the real Chainer 1.24 (.venv-legacy, one subprocess for all of them) and, migrated
with `--to torch`, on torch, on the same float32 inputs.

Tolerance: both sides do the same float32 operations, in another order or with another libm, so a result
differs by a few ulps (2**-23 = 1.2e-7 relative each) of the values it is computed from. The sums here add at
most 63 terms (F.linear's dot products), so even their worst-case rounding, 63 ulps = 7.6e-6 of the sum of the
terms' magnitudes, is inside rtol=1e-5; results that cancel to near zero (log_softmax of large logits, a mean
of terms of both signs, softplus(y) - x * y) keep the absolute rounding of their terms, hence an atol of 8 ulps
of the largest input the case reads. Measured: every case within 4% of that bound. Integer results (argmax,
indices), selections (max), casts and copies must be equal. F.gaussian draws its noise from another generator:
it is checked with a zero variance (exact) and by the mean and standard deviation of 20000 samples (within 5
standard errors)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from netport.migrate import Severity, migrate_source
from netport.migrate.torch.functions import FUNCTIONS, SPECIAL
from tests.conftest import environment_python, run_python

torch = pytest.importorskip("torch")

RTOL, ATOL_ULPS = 1e-5, 8


def inputs() -> dict[str, np.ndarray]:
    rng = np.random.RandomState(0)
    f = np.float32
    x = rng.normal(size=(4, 6)).astype(f)
    return {
        "x": x, "y2": rng.normal(size=(4, 6)).astype(f), "y3": rng.normal(size=(4, 6)).astype(f),
        "xl": (x * 15).astype(f), "pos": rng.uniform(0.1, 5, size=(4, 6)).astype(f),
        "unit": rng.uniform(-0.9, 0.9, size=(4, 6)).astype(f), "div": rng.uniform(0.5, 2, size=(4, 6)).astype(f),
        "prob": rng.uniform(0, 1, size=(4, 6)).astype(f), "cond": rng.uniform(size=(4, 6)) > 0.5,
        "row": rng.normal(size=(1, 6)).astype(f), "z3": rng.normal(size=(4, 1, 6)).astype(f),
        "x4": (rng.normal(size=(2, 7, 3, 3)) * 10).astype(f),
        "t": np.array([0, 5, 2, 3], np.int32), "t_ign": np.array([0, -1, 2, 5], np.int32),
        "t2": np.array([2, 1, 2, 0], np.int32), "tb": rng.randint(-1, 2, size=(4, 6)).astype(np.int32),
        "cw": rng.uniform(0.5, 2, size=6).astype(f),
        "a": rng.normal(size=(3, 4)).astype(f), "aT": rng.normal(size=(4, 3)).astype(f),
        "b": rng.normal(size=(4, 5)).astype(f), "bT": rng.normal(size=(5, 4)).astype(f),
        "ba": rng.normal(size=(2, 3, 4)).astype(f), "baT": rng.normal(size=(2, 4, 3)).astype(f),
        "bb": rng.normal(size=(2, 4, 5)).astype(f), "bbT": rng.normal(size=(2, 5, 4)).astype(f),
        "ids": np.array([0, 5, 2, 2, 1], np.int32), "ids_ign": np.array([0, -1, 2, -1, 1], np.int32),
        "W": rng.normal(size=(6, 3)).astype(f),
        "c_prev": rng.normal(size=(3, 2)).astype(f), "lx": rng.normal(size=(3, 8)).astype(f),
        "W2": rng.normal(size=(5, 63)).astype(f), "b2": rng.normal(size=5).astype(f),
        "mean0": np.full((4, 6), 1.5, f), "ninf": np.full((4, 6), -np.inf, f),
        "mg": np.full(20000, 1.5, f), "lvg": np.full(20000, np.log(4.0), f),
    }


CASES = {  # name -> a Chainer 1.24 expression
    # PT050: the same function in torch
    **{name: f"F.{name}(x)" for name in ("square", "expm1", "sin", "cos", "sinh", "cosh", "floor", "ceil",
                                         "flatten", "fliplr", "flipud", "absolute", "arctan", "elu", "softplus")},
    **{name: f"F.{name}(pos)" for name in ("sqrt", "log1p", "log2", "log10", "rsqrt")},
    **{name: f"F.{name}(unit)" for name in ("tan", "arcsin", "arccos")},
    **{name: f"F.{name}((x, y2))" for name in ("hstack", "vstack", "dstack")},
    "maximum": "F.maximum(x, y2)", "minimum": "F.minimum(x, y2)", "fmod": "F.fmod(xl, div)",
    # PT117: Chainer 1.24's loss written into the file, on the samples a (deterministic) sampler draws
    "negative_sampling": "F.negative_sampling(aT, t_ign, W, lambda shape: np.arange(np.prod(shape)).reshape(shape) % 6, "
                         "2, reduce='no')",
    "clip": "F.clip(x, -0.5, 1.0)", "where": "F.where(cond, x, y2)", "broadcast_to": "F.broadcast_to(row, (4, 6))",
    "expand_dims": "F.expand_dims(x, 1)", "expand_dims_negative": "F.expand_dims(x, axis=-1)",
    "tile": "F.tile(x, (2, 1))", "tile_int": "F.tile(x, 2)", "swapaxes": "F.swapaxes(x4, 1, 3)", "squeeze": "F.squeeze(z3)",
    "squeeze_axis": "F.squeeze(z3, axis=1)", "stack": "F.stack((x, y2))", "stack_axis": "F.stack((x, y2), axis=2)",
    "elu_alpha": "F.elu(x, alpha=0.5)", "softplus_beta": "F.softplus(x, beta=2.0)",
    "softplus_large": "F.softplus(xl, 3.0)", "softplus_value": "(lambda f: f(x))(F.softplus)",
    "sqrt_value": "(lambda f: f(pos))(F.sqrt)",
    **{f"{name}_value": f"(lambda f: f(xl))(F.{name})" for name in ("softmax", "log_softmax", "clipped_relu",
                                                                    "hard_sigmoid", "leaky_relu")},
    # PT051: Chainer's defaults and definitions spelled out
    "softmax": "F.softmax(x)", "softmax_axis": "F.softmax(x4, axis=2)", "log_softmax": "F.log_softmax(xl)",
    "clipped_relu": "F.clipped_relu(xl)", "clipped_relu_z": "F.clipped_relu(xl, 2.0)",
    "hard_sigmoid": "F.hard_sigmoid(xl)", "normalize": "F.normalize(x)", "normalize_axis": "F.normalize(x4, axis=2)",
    # PT052: array functions
    "select_item": "F.select_item(x, t)", "get_item": "F.get_item(x4, (slice(None), 1))",
    "transpose_axes": "F.transpose(x4, (0, 2, 3, 1))", "transpose_none": "F.transpose(x, axes=None)", "broadcast": "F.broadcast(x, row)",
    "embed_id": "F.embed_id(ids, W)", "embed_id_ignore": "F.embed_id(ids_ign, W, ignore_label=-1)",
    "cast": "F.cast(x, np.float64)", "cast_code": "F.cast(x, 'e')", "copy": "F.copy(x, -1)",
    # PT053: reductions
    "max": "F.max(x)", "max_axis": "F.max(x, axis=1)", "max_keepdims": "F.max(x, 1, True)",
    "max_axes": "F.max(x4, axis=(2, 3))", "max_all_keepdims": "F.max(x, keepdims=True)",
    "min": "F.min(x, axis=0)", "argmax": "F.argmax(x)", "argmax_axis": "F.argmax(x, axis=1)",
    "argmin": "F.argmin(x, axis=0)", "mean": "F.mean(x)", "mean_axis": "F.mean(x, axis=1, keepdims=True)",
    "mean_all_keepdims": "F.mean(x, keepdims=True)", "average": "F.average(x4, axis=1)",
    "logsumexp": "F.logsumexp(xl)", "logsumexp_axis": "F.logsumexp(xl, axis=1)",
    # PT054: matrix products
    "matmul": "F.matmul(a, b)", "matmul_transa": "F.matmul(aT, b, transa=True)",
    "matmul_transb": "F.matmul(a, bT, transb=True)", "matmul_both": "F.matmul(aT, bT, True, True)",
    "batch_matmul": "F.batch_matmul(ba, bb)", "batch_matmul_transa": "F.batch_matmul(baT, bb, transa=True)",
    "batch_matmul_both": "F.batch_matmul(baT, bbT, True, True)",
    # PT055: losses
    "sigmoid_cross_entropy": "F.sigmoid_cross_entropy(x, tb)",
    "sigmoid_cross_entropy_batch": "F.sigmoid_cross_entropy(x, tb, normalize=False)",
    "sigmoid_cross_entropy_no": "F.sigmoid_cross_entropy(x, tb, reduce='no')",
    "huber_loss": "F.huber_loss(x, y2, 1.0)", "huber_loss_no": "F.huber_loss(x, y2, 0.5, reduce='no')",
    "mean_absolute_error": "F.mean_absolute_error(x, y2)", "squared_error": "F.squared_error(x, y2)",
    "squared_difference": "F.squared_difference(x, y2)", "absolute_error": "F.absolute_error(x, y2)",
    "bernoulli_nll": "F.bernoulli_nll(prob, x)", "bernoulli_nll_no": "F.bernoulli_nll(prob, xl, reduce='no')",
    "gaussian_kl_divergence": "F.gaussian_kl_divergence(x, y2)",
    "gaussian_kl_divergence_no": "F.gaussian_kl_divergence(x, y2, reduce='no')",
    "gaussian_nll": "F.gaussian_nll(x, y2, y3)", "gaussian_nll_no": "F.gaussian_nll(x, y2, y3, 'no')",
    # PT056: noise (zero variance: exactly the mean; the statistics are checked apart)
    "gaussian": "F.gaussian(mean0, ninf)",
    # PT057
    "local_response_normalization": "F.local_response_normalization(x4)",
    "local_response_normalization_args": "F.local_response_normalization(x4, n=3, k=1, alpha=1e-3, beta=0.5)",
    # PT058 (and PT015)
    "softmax_cross_entropy": "F.softmax_cross_entropy(x, t_ign)",
    "softmax_cross_entropy_batch": "F.softmax_cross_entropy(x, t_ign, normalize=False)",
    "softmax_cross_entropy_weight": "F.softmax_cross_entropy(x, t_ign, class_weight=cw)",
    "softmax_cross_entropy_weight_batch": "F.softmax_cross_entropy(x, t_ign, False, class_weight=cw)",
    "softmax_cross_entropy_no": "F.softmax_cross_entropy(x, t_ign, reduce='no')",
    "softmax_cross_entropy_label": "F.softmax_cross_entropy(x, t2, ignore_label=2)",
    # PT059
    "lstm": "F.lstm(c_prev, lx)",
    # the earlier rules of functions.py (PT010-PT018)
    **{name: f"F.{name}(x)" for name in ("relu", "sigmoid", "tanh", "exp", "leaky_relu", "identity")},
    "log": "F.log(pos)", "mean_squared_error": "F.mean_squared_error(x, y2)", "linear": "F.linear(x4, W2, b2)",
    "accuracy": "F.accuracy(x, t)", "max_pooling_2d": "F.max_pooling_2d(x4, 2)",
    "max_pooling_2d_stride": "F.max_pooling_2d(x4, 3, 2, 1)", "average_pooling_2d": "F.average_pooling_2d(x4, 2)",
    "sum": "F.sum(x, axis=1)", "concat": "F.concat((x, y2))", "split_axis": "F.split_axis(x, 3, 1)",
    "reshape": "F.reshape(x, (6, 4))", "transpose": "F.transpose(x)",
}
EXACT = {"argmax", "argmax_axis", "argmin", "select_item", "copy", "cast", "cast_code", "embed_id", "embed_id_ignore",
         "gaussian", "max", "max_axis", "max_keepdims", "max_axes", "max_all_keepdims", "min", "accuracy"}


def program() -> str:
    """The cases as a Chainer v1 program: `case_<name>()` returns the case's value."""
    lines = ["import numpy as np", "import chainer.functions as F", ""]
    for name, expression in CASES.items():
        lines += ["", f"def case_{name}():", f"    return {expression}", ""]
    lines += ["", "def gaussian_samples():", "    return F.gaussian(mg, lvg)", ""]
    return "\n".join(lines)


CHAINER_RUN = '''
import json, sys
import numpy as np
import chainer
namespace = dict(np.load(sys.argv[2]))
exec(compile(open(sys.argv[1]).read(), "cases", "exec"), namespace)
results, failures = {}, {}
for name in json.loads(sys.argv[3]):
    try:
        value = namespace["case_" + name]()
    except Exception as error:
        failures[name] = repr(error)
        continue
    values = value if isinstance(value, (tuple, list)) else [value]
    for i, v in enumerate(values):
        results["%s__%d" % (name, i)] = np.asarray(getattr(v, "data", v))
results["gaussian_samples__0"] = namespace["gaussian_samples"]().data
np.savez(sys.argv[4], **results)
print(json.dumps(failures))
'''


def migrated_program() -> str:
    result = migrate_source(program(), "cases.py", target="torch")
    assert result.error is None
    errors = [f"{f.line}: {f.rule} {f.message}" for f in result.findings if f.severity is Severity.ERROR]
    assert errors == [], errors
    assert "import chainer" not in result.migrated and not re.search(r"return .*\bF\.", result.migrated)
    return result.migrated


def tolerance(name: str, data: dict[str, np.ndarray]) -> float:
    """The absolute tolerance of a case: ATOL_ULPS ulps of the largest input it reads."""
    scale = max(np.abs(data[word][np.isfinite(data[word])]).max(initial=1.0)
                for word in re.findall(r"\w+", CASES[name]) if word in data and data[word].dtype.kind == "f")
    return ATOL_ULPS * float(np.spacing(np.float32(scale)))


def as_arrays(value) -> list[np.ndarray]:
    values = value if isinstance(value, (tuple, list)) else [value]
    return [v.detach().numpy() if isinstance(v, torch.Tensor) else np.asarray(v) for v in values]


def test_every_function_of_the_table_has_a_case():
    called = {m.group(1) for expression in CASES.values() for m in re.finditer(r"F\.(\w+)", expression)}
    assert set(FUNCTIONS) | set(SPECIAL) <= called, sorted((set(FUNCTIONS) | set(SPECIAL)) - called)


def test_migrated_functions_compute_what_chainer_1_24_computes(tmp_path):
    legacy = environment_python("legacy")
    source = tmp_path / "cases.py"
    source.write_text(program())
    data = inputs()
    np.savez(tmp_path / "inputs.npz", **data)
    result = run_python(legacy, ["-c", CHAINER_RUN, str(source), str(tmp_path / "inputs.npz"), json.dumps(list(CASES)),
                                 str(tmp_path / "out.npz")], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {}, "Chainer 1.24 rejected a case"
    with np.load(tmp_path / "out.npz") as archive:
        expected = {key: archive[key] for key in archive.files}

    namespace = {name: torch.from_numpy(value) for name, value in data.items()}
    exec(compile(migrated_program(), "migrated", "exec"), namespace)
    torch.manual_seed(0)
    mismatches = []
    for name in CASES:
        try:
            got = as_arrays(namespace[f"case_{name}"]())
        except Exception as error:  # noqa: BLE001 (reported with the others)
            mismatches.append(f"{name}: {error!r}")
            continue
        want = [expected[f"{name}__{i}"] for i in range(sum(k.startswith(name + "__") for k in expected))]
        if len(got) != len(want) or any(g.shape != w.shape for g, w in zip(got, want)):
            mismatches.append(f"{name}: shapes {[g.shape for g in got]} != Chainer's {[w.shape for w in want]}")
            continue
        for g, w in zip(got, want):
            if name in EXACT:
                ok = np.array_equal(g, w) and g.dtype.kind == w.dtype.kind and (
                    g.dtype.kind != "f" or g.dtype == w.dtype)
            else:
                ok = np.allclose(g, w, rtol=RTOL, atol=tolerance(name, data)) and g.dtype == w.dtype
            if not ok:
                mismatches.append(f"{name}: {g.dtype} {g.ravel()[:4]} != Chainer's {w.dtype} {w.ravel()[:4]}")
    assert mismatches == []

    # F.gaussian: N(1.5, 2**2) from both generators, 20000 samples
    for samples in (expected["gaussian_samples__0"], as_arrays(namespace["gaussian_samples"]())[0]):
        assert abs(samples.mean() - 1.5) < 5 * 2 / np.sqrt(20000)
        assert abs(samples.std() - 2.0) < 5 * 2 / np.sqrt(2 * 20000)


def migrate(source: str) -> tuple[str, list]:
    result = migrate_source("import numpy as np\nimport chainer.functions as F\n" + source, "t.py", target="torch")
    body = result.migrated.split("\n\n", 1)[-1]
    return body, [(f.rule, f.severity) for f in result.findings if f.rule.startswith("PT05")]


@pytest.mark.parametrize("source, expected", [
    # defaults that differ from torch's, spelled out
    ("y = F.softmax(h)\n", "y = torch.softmax(h, dim=1)\n"),
    ("y = F.log_softmax(h)\n", "y = torch.log_softmax(h, dim=1)\n"),
    ("y = F.clipped_relu(h)\n", "y = torch.clamp(h, 0.0, 20.0)\n"),
    ("y = F.hard_sigmoid(h + 1)\n", "y = torch.clamp((h + 1) * 0.2 + 0.5, 0.0, 1.0)\n"),
    ("y = F.local_response_normalization(h, 3, alpha=2e-4)\n",
     "y = nn.functional.local_response_norm(h, 3, alpha=2e-4 * 3, beta=0.75, k=2)\n"),
    ("l = F.huber_loss(y, t, 1.0)\n", "l = nn.functional.huber_loss(y, t, reduction='none', delta=1.0).sum(1)\n"),
    ("l = F.bernoulli_nll(x, y)\n", "l = nn.functional.binary_cross_entropy_with_logits(y, x, reduction='sum')\n"),
    ("l = F.sigmoid_cross_entropy(y, t)\n",
     "l = nn.functional.binary_cross_entropy_with_logits(y, t.float(), weight=(t != -1).float(), reduction='sum') "
     "/ (t != -1).sum().clamp(min=1)\n"),
    ("m = F.max(h, axis=1)\n", "m = torch.amax(h, dim=1)\n"),
    ("m = F.max(h, None, False)\n", "m = torch.amax(h)\n"),
    ("c = F.matmul(a, b, transa=True)\n", "c = torch.mm(a.T, b)\n"),
    ("c = F.batch_matmul(a, b, False, True)\n", "c = torch.bmm(a, b.mT)\n"),
    ("h = F.cast(x, np.float16)\n", "h = x.to(torch.float16)\n"),
    # a dtype held in a name or attribute: NumPy's reading of it, as torch's dtype
    ("h = F.cast(x, self.dtype)\n", "h = x.to(torch.from_numpy(np.empty(0, self.dtype)).dtype)\n"),
    ("h = F.copy(x, -1)\n", "h = x.to('cpu', copy=True)\n"),
    ("h = F.copy(x, self.gpu)\n", "h = x.to('cpu' if self.gpu == -1 else torch.device('cuda', self.gpu), copy=True)\n"),
    ("e = F.embed_id(i, W, ignore_label=-1)\n",
     "e = nn.functional.embedding(i.masked_fill(i == -1, 0), W).masked_fill((i == -1)[..., None], 0)\n"),
    ("l = F.softmax_cross_entropy(y, t, reduce='no')\n",
     "l = nn.functional.cross_entropy(y, t.long(), ignore_index=-1, reduction='none')\n"),
    # a result put inside an operator or before an attribute keeps its meaning
    ("z = 2 * F.gaussian(m, v)\n", "z = 2 * (m + torch.exp(v * 0.5) * torch.randn_like(m))\n"),
    ("s = F.squared_error(a, b + 1).shape\n", "s = torch.square(a - (b + 1)).shape\n"),
    # as values: only functions that torch's callable takes the same positional arguments
    ("acts = {'softplus': F.softplus, 'elu': F.elu}\n",
     "acts = {'softplus': nn.functional.softplus, 'elu': nn.functional.elu}\n"),
    ("act = F.softmax if a else F.sqrt\n",
     "act = (lambda x, axis=1: torch.softmax(x, dim=axis)) if a else torch.sqrt\n"),
    # imported from chainer.functions: the import goes, the uses are converted
    ("from chainer.functions import sqrt, softmax\ny = softmax(sqrt(x))\n",
     "y = torch.softmax(torch.sqrt(x), dim=1)\n"),
])
def test_migrated_text(source, expected):
    body, findings = migrate(source)
    assert body.endswith(expected), body
    assert findings and all(severity is Severity.INFO for _, severity in findings)


@pytest.mark.parametrize("source, says", [
    ("h = F.cast(x, dtypes[k])\n", "a NumPy dtype"),  # the dtype is not known here
    ("h = F.local_response_normalization(x, n=4)\n", "even n"),  # Chainer's CPU and GPU windows differ
    ("h = F.local_response_normalization(x, n)\n", "odd n"),
    ("c = F.matmul(a, b, transa=flag)\n", "transa/transb must be known"),
    ("l = F.bernoulli_nll(x, y, reduce=how)\n", "reduce must be known"),
    ("l = F.softmax_cross_entropy(y, t, normalize=norm)\n", "normalize and reduce must be known"),
    ("l = F.gaussian_kl_divergence(m, self.l(h))\n", "assign it to a name first"),  # would be evaluated twice
    ("y = F.mean(x, weights=w)\n", "with weights"),
    ("ys = F.broadcast(*xs)\n", "one input itself"),
    ("h = F.copy(x, devices[0] + offset())\n", "torch device"),
])
def test_unprovable_calls_are_marked(source, says):
    body, findings = migrate(source)
    assert "chainer.functions" in body or "F." in body
    assert any(severity is Severity.ERROR for _, severity in findings)
    assert says in body
