"""The written-in BinaryHierarchicalSoftmax of the torch target (PT119) against the real Chainer 1.24 (.venv-legacy,
a subprocess): the same counts give the same Huffman tree and the same paths and codes, and the same W, x and t give
the same loss and gradients of x and W; and the rewrite of the link's uses (a call, an alias, create_huffman_tree)."""
from __future__ import annotations

import heapq
import json

import numpy as np
import pytest

from netport.migrate import Severity, migrate_source
from netport.migrate.torch.written_in import BINARY_HIERARCHICAL_SOFTMAX
from tests.conftest import environment_python, run_python

torch = pytest.importorskip("torch")

_rng = np.random.RandomState(0)
# (word, count) pairs in the dict's insertion order, which breaks Chainer's ties: the docstring's example, many equal
# counts in a shuffled order, float counts (a one-word vocabulary, no internal node, is a TypeError in Chainer 1.24:
# Link's _is_shape takes the W shape (0, in_size) for a (shape, dtype) pair)
COUNTS = [[(0, 8), (1, 5), (2, 6), (3, 4)],
          [(int(w), int(_rng.randint(1, 4))) for w in _rng.permutation(40)],
          [(int(w), float(c)) for w, c in zip(_rng.permutation(25), _rng.choice([0.5, 1.5, 2.0, 7.25], 25))],
          [(0, 3), (1, 3), (2, 3)]]
IN_SIZE, BATCH = 5, 7

CHAINER_RUN = r'''
import json, sys
import numpy as np
import chainer
import chainer.links as L
from chainer.links.loss.hierarchical_softmax import TreeParser

cases, in_size, batch, out = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = np.random.RandomState(1)
results, arrays = [], {}
for i, pairs in enumerate(cases):
    counts = dict((w, c) for w, c in pairs)
    tree = L.BinaryHierarchicalSoftmax.create_huffman_tree(counts)
    parser = TreeParser()
    parser.parse(tree)
    results.append({"tree": repr(tree), "size": parser.size(),
                    "paths": {str(w): p.tolist() for w, p in parser.get_paths().items()},
                    "codes": {str(w): c.tolist() for w, c in parser.get_codes().items()}})
    link = L.BinaryHierarchicalSoftmax(in_size, tree)
    arrays["W0_%d" % i] = link.W.data.copy()  # Chainer's own initial W
    link.W.data[...] = rng.uniform(-1, 1, link.W.shape)
    x = chainer.Variable(rng.normal(size=(batch, in_size)).astype(np.float32))
    n_vocab = max(w for w, _ in pairs) + 1
    t = rng.randint(0, n_vocab, size=batch).astype(np.int32)
    t[0] = -1  # numpy's indexing of begins: an empty path
    loss = link(x, t)
    link.cleargrads()  # (a new link's grad is NaN in 1.24)
    loss.backward()
    arrays.update({"W_%d" % i: link.W.data, "x_%d" % i: x.data, "t_%d" % i: t, "loss_%d" % i: loss.data,
                   "gx_%d" % i: x.grad, "gW_%d" % i: link.W.grad})
np.savez(out, **arrays)
print(json.dumps(results))
'''


def written_in():
    namespace = {"heapq": heapq, "torch": torch, "nn": torch.nn}
    exec(compile(BINARY_HIERARCHICAL_SOFTMAX, "written_in", "exec"), namespace)
    return namespace["BinaryHierarchicalSoftmax"]


@pytest.fixture(scope="module")
def chainer_results(tmp_path_factory):
    legacy = environment_python("legacy")
    where = tmp_path_factory.mktemp("legacy_hsm")
    result = run_python(legacy, ["-c", CHAINER_RUN, json.dumps(COUNTS), str(IN_SIZE), str(BATCH),
                                 str(where / "out.npz")], cwd=where)
    assert result.returncode == 0, result.stderr[-3000:]
    with np.load(where / "out.npz") as archive:
        return json.loads(result.stdout), {key: archive[key] for key in archive.files}


@pytest.mark.parametrize("case", range(len(COUNTS)))
def test_same_huffman_tree_paths_and_codes(chainer_results, case):
    trees, _ = chainer_results
    hsm = written_in()
    tree = hsm.create_huffman_tree(dict(COUNTS[case]))
    assert repr(tree) == trees[case]["tree"]
    module = hsm(IN_SIZE, tree)
    assert tuple(module.weight.shape) == (trees[case]["size"], IN_SIZE)
    for word, path in trees[case]["paths"].items():
        n = len(path)
        assert module.paths[int(word), :n].tolist() == path
        assert module.codes[int(word), :n].tolist() == trees[case]["codes"][word]
        assert bool((module.codes[int(word), n:] == 0).all())  # the padding
    assert bool((module.codes[-1] == 0).all())  # t == -1


@pytest.mark.parametrize("case", range(len(COUNTS)))
def test_loss_and_gradients_are_chainers(chainer_results, case):
    _, got = chainer_results
    module = written_in()(IN_SIZE, written_in().create_huffman_tree(dict(COUNTS[case])))
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(got[f"W_{case}"]))
    x = torch.from_numpy(got[f"x_{case}"]).requires_grad_()
    loss = module(x, got[f"t_{case}"])  # t as Chainer's int32 array
    loss.backward()
    assert loss.shape == () and loss.dtype == torch.float32
    # float32 sums in another order: a few ulp of the summed terms (|loss| < 100, |grads| < 10 here)
    np.testing.assert_allclose(loss.item(), got[f"loss_{case}"], rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(x.grad.numpy(), got[f"gx_{case}"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(module.weight.grad.numpy(), got[f"gW_{case}"], rtol=1e-5, atol=1e-6)


def test_initial_weight_and_names(chainer_results):
    _, got = chainer_results
    hsm = written_in()
    module = hsm(IN_SIZE, hsm.create_huffman_tree(dict(COUNTS[1])))
    chainer_w0 = got["W0_1"]
    assert module.weight.shape == chainer_w0.shape and module.weight.dtype == torch.float32
    for w in (module.weight.detach().numpy(), chainer_w0):  # uniform(-1, 1) in both
        assert w.min() >= -1 and w.max() <= 1 and abs(w.mean()) < 0.2 and w.std() > 0.4
    assert module.W is module.weight and list(module.state_dict()) == ["weight"]  # convert-weights' W -> weight
    with pytest.raises(ValueError):
        hsm.create_huffman_tree({})
    with pytest.raises(ValueError):
        hsm(3, ((0, 1, 2), 3))


def migrate(source: str):
    result = migrate_source(source, "example.py", target="torch")
    return result.migrated, result.findings


def test_uses_of_the_link_become_the_written_in_class():
    source = ("import chainer.links as L\n\n"
              "tree = L.BinaryHierarchicalSoftmax.create_huffman_tree({0: 8, 1: 5, 2: 6, 3: 4})\n"
              "HSM = L.BinaryHierarchicalSoftmax\nloss_func = HSM(3, tree)\nloss_func.W.data[...] = 0\n"
              "direct = L.BinaryHierarchicalSoftmax(3, tree)\n")
    out, findings = migrate(source)
    assert not [f for f in findings if f.severity == Severity.ERROR], findings
    assert "chainer" not in out.replace("Chainer", "") and out.count("class BinaryHierarchicalSoftmax") == 1
    namespace: dict = {}
    exec(compile(out, "example.py", "exec"), namespace)
    assert namespace["tree"] == ((3, 1), (2, 0))
    assert bool((namespace["loss_func"].weight == 0).all())
    loss = namespace["direct"](torch.zeros(2, 3), torch.tensor([0, 3]))
    assert abs(loss.item() - 4 * np.log(2)) < 1e-6  # 2 + 2 nodes on the paths, each log(1 + e^0)


def test_a_program_with_its_own_class_is_marked():
    source = ("import chainer.links as L\n\n\nclass BinaryHierarchicalSoftmax:\n    pass\n\n\n"
              "loss_func = L.BinaryHierarchicalSoftmax(3, tree)\n")
    out, findings = migrate(source)
    assert any(f.rule == "PT119" and f.severity == Severity.ERROR for f in findings)


def test_the_link_imported_by_name_is_marked():
    source = "from chainer.links import BinaryHierarchicalSoftmax\n\nloss_func = BinaryHierarchicalSoftmax(3, tree)\n"
    out, findings = migrate(source)
    assert any(f.rule == "PT119" and f.severity == Severity.ERROR for f in findings)
