"""Differential tests on real programs, torch target: the Chainer v1 programs of test_corpus_programs.py run
unmodified on Chainer 1.24 and, migrated by `netport migrate --to torch --adam-eps chainer`, on torch, from
the same initial weights, on the same batches; the loss of every backward() call must agree to 1e-4.

How the two runs are made to start equal (tests/migrate/corpus_runner.py, options --save-weights and
--torch): every `Optimizer.setup(link)` of the Chainer run is a synchronisation point. There the runner
saves the link's weights (save_npz) and the states of NumPy's and Python's global generators; the test
converts each .npz to a torch state_dict file with netport's converter (convert_file, what `netport
convert-weights` runs, in this process: a CLI call per file would import torch again); at the matching optimizer
construction of the torch run the runner loads the converted state_dict into the module the optimizer
trains (each parameter once: a later point's copy of a parameter that has trained since is older than
it) and restores the generators. Weight initialisation therefore needs no agreement (torch's draws come
from its own generator), while the shuffles (`np.random.permutation`, SerialIterator) and samplers that
follow draw the same numbers. A link that its first forward pass initialises (L.Linear(None, n), an
nn.LazyLinear in torch) is saved at its first backward() instead and loaded when the lazy module gets its
shape, the generators restored there too (Chainer drew its weights from NumPy's at that point). Dropout is
a draw inside the model: the torch run draws its masks as Chainer 1.24's F.dropout does
(`np.random.rand(*x.shape) >= ratio`, times 1 / (1 - ratio) in x's dtype), the same distribution torch
draws from, with the same numbers as the Chainer run. So are L.NegativeSampling's negatives: the written-in
sampler's torch.multinomial(p, n, replacement=True) draws as Chainer 1.24's WalkerAlias (its float32 alias
table of p / sum(p), NumPy's uniform draws), so the negatives and NumPy's stream after them are the Chainer
run's. So is noise a program draws itself (DCGAN's add_noise, `xp.random.randn` in Chainer, and the VAE's F.gaussian
become torch.randn/randn_like): the torch run draws those from NumPy's generator, float64 rounded to the dtype.
The data are corpus_runner.py's small deterministic stand-ins, as in test_corpus_programs.py.

Why 1e-4 relative holds. With the same weights, batches and masks, the two programs compute the same
float32 operations; torch and Chainer 1.24 (NumPy) differ only in the order of additions inside
reductions (BLAS matrix products, sums, means), which puts each reduction of n terms about
sqrt(n) * 2**-24 apart (Higham & Mary 2019: below 4e-6 for the at most few thousand terms here).
Adam is migrated with `--adam-eps chainer` (ChainerAdam: Chainer adds eps before the bias correction,
torch after it; torch.optim.Adam as is would drift by 4e-4 in 20 steps, tests/migrate/
test_torch_equivalence.py), so the updates too are the same arithmetic. The cases run about 20 optimizer
steps and have no parameter whose gradient is pure rounding noise, so the steps keep that error near its
size per step; measured on x86-64: the stacked autoencoder's 36 steps (with dropout) agree to 3.3e-7, the
MNIST MLP's 20 Adam steps to 3.1e-7, the recursive network's 20 AdaGrad steps to 1.3e-7, the word2vec
models' 10 Adam steps (a StandardUpdater with a converter and the program's own iterator, PT131/PT132) to 3.2e-7
(skip-gram, hierarchical softmax), 1.9e-7 (skip-gram, softmax) and 1.9e-7 (CBOW, negative sampling), far inside 1e-4.
DCGAN and the CIFAR VGG run two steps, for the reasons their cases give (the VGG: 9e-6). The printed
numbers (epoch means of these losses, test losses) are compared to the same bound, the sentiment
evaluation's counts exactly.

A case whose migration cannot run or compute the same yet is marked xfail(strict=True) with the rule
defect that stops it: when the rules are fixed the test passes, and the XPASS fails the suite as a
reminder to remove the mark.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from netport.weights import convert_file
from tests.conftest import REPO, environment_python, run_python
from tests.migrate.test_corpus_programs import CASES, CORPUS, RUNNER, Program, copy_tree

torch = pytest.importorskip("torch")

RTOL = 1e-4


@dataclass(frozen=True)
class TorchCase:
    program: Program
    defect: str | None = None  # why the migrated program cannot run or agree yet (xfail)
    symptom: str | None = None  # what the defect's failure says: any other failure of the case is a failure


class KnownDefect(AssertionError):
    """The failure a case's defect causes (the only one its xfail mark accepts)."""


def case(name: str, defect: tuple[str, str] | None = None, **changes) -> TorchCase:
    """The case of test_corpus_programs.py, with `changes` to its Program (e.g. other arguments); `defect`
    is (the rule defect, the words of the failure it causes)."""
    program = CASES[name]
    return TorchCase(Program(**{**program.__dict__, **changes}), *(defect or (None, None)))


TORCH_CASES = {
    # The founding program: 36 steps of pretraining (dropout in the encoders) and fine-tuning.
    "mnist-stacked-autoencoder": case("mnist-stacked-autoencoder"),
    "mnist-stacked-autoencoder-untied-momentumsgd-relu": case("mnist-stacked-autoencoder-untied-momentumsgd-relu"),
    # One epoch (Chainer 1.24's SerialIterator reshuffles at its end unlike Chainer 5+'s, which the
    # migration still calls), 20 Adam steps of 15 digits, then the test loop.
    "mnist-custom-loop": case("mnist-custom-loop", args=("--unit", "50", "--batchsize", "15", "--epoch", "1",
                                                         "--gpu", "-1")),
    # Dropout before every layer (masks drawn as Chainer's); BPTT length 2: 20 SGD steps, the LSTMs' state cut at
    # each (PT075: detach_state() of the LSTM modules of train_ptb.py's RNNForLM, read from that file).
    # (`model.predictor.train = False` around the evaluation sets RNNForLM's own flag, `train_flag` in torch, which its
    # training_mode() blocks follow: PT135 follows the predictor into train_ptb.py.)
    "ptb-custom-loop": case(
        "ptb-custom-loop",
        args=("--unit", "20", "--batchsize", "5", "--bproplen", "2", "--epoch", "1", "--gpu", "-1")),
    # The StandardUpdater with train_word2vec.py's converter over its WindowIterator (ChainerStandardUpdater, the
    # manager's epoch the iterator's first, counted on a copy) and the Evaluator with the converter (ChainerEvaluator,
    # a shallow copy of the non-repeating iterator each time, as Chainer's): 10 steps, then the validation pass.
    "word2vec-skipgram-hsm": case("word2vec-skipgram-hsm"),
    "word2vec-cbow-ns": case("word2vec-cbow-ns"),
    "word2vec-skipgram-original": case("word2vec-skipgram-original"),
    # Two iterations, as in test_corpus_programs.py: the convolution biases that batch normalization cancels
    # have gradients of pure rounding noise, which Adam turns into steps of size alpha (see that case).
    "dcgan": case("dcgan"),
    # The recursive network, AdaGrad with weight decay: batches of 2 trees, 2 epochs: 20 steps.
    "sentiment": case("sentiment", args=("--epoch", "2", "--unit", "10", "--batchsize", "2", "--epocheval", "1",
                                         "--gpu", "-1")),
    # Two MomentumSGD steps and the test loop, learning rate 0.0001 (not test_corpus_programs.py's 0.001): this
    # VGG's gradients on a batch of 4 are ill-conditioned (batch normalization over 4 samples at fc1 and over
    # 16 values in block 5 cancels most of each gradient), so float32 Chainer and float32 torch each differ
    # from float64 by up to 0.3% in the lower blocks' gradients (measured), each in its own way. A step of 0.001
    # puts the second loss 1.3e-4 apart, 0.0001 9e-6; the first, before any step, agrees to 1e-7.
    "cifar-custom-loop": case("cifar-custom-loop", args=("--batchsize", "4", "--epoch", "1", "--learnrate", "0.0001",
                                                         "--gpu", "-1")),
    # The VAE samples z with F.gaussian (noise from NumPy's generator in 1.24; torch.randn_like once migrated, which
    # the runner draws from the same generator).
    "vae": case("vae"),
}


@dataclass
class Runs:
    legacy: dict
    torch: dict


def write_ptb_cache(root: Path) -> None:
    """corpus_runner.py's Penn Treebank stand-in (install_data('ptb')) as Chainer's caches under root (vocab.txt,
    {train,valid,test}.npz in pfnet/chainer/ptb): what the loader PT083 writes into the torch program reads."""
    from tests.migrate.corpus_runner import ptb

    words, vocabulary = ptb((200, 100, 100), 40)  # the arguments of corpus_runner.install_data('ptb')
    directory = root / "pfnet" / "chainer" / "ptb"
    directory.mkdir(parents=True)
    for split, array in zip(("train", "valid", "test"), words()):
        np.savez_compressed(directory / f"{split}.npz", x=array)
    ids = vocabulary()
    (directory / "vocab.txt").write_text("".join(word + "\n" for word in sorted(ids, key=ids.get)))


def run_case(name: str, root: Path) -> Runs:
    program = TORCH_CASES[name].program
    source = CORPUS / program.directory
    if not source.is_dir():
        pytest.skip(f"{source} is absent: the corpus of real Chainer v1 programs is expected at ../shared/corpus")
    legacy_python, torch_python = environment_python("legacy"), environment_python("main")
    weights = root / "weights"
    weights.mkdir()
    runs = {}
    copy_tree(source, root / "legacy")
    migrated = root / "torch"
    result = run_python(sys.executable, ["-m", "netport", "migrate", str(root / "legacy"), "-o", f"{migrated}/",
                                         "--to", "torch", "--adam-eps", "chainer", "--no-cache"], cwd=REPO)
    assert result.returncode in (0, 1), f"netport migrate --to torch {program.directory}:\n{result.stderr[-3000:]}"
    for environment, python, option in (("legacy", legacy_python, "--save-weights"),
                                        ("torch", torch_python, "--torch")):
        directory = root / environment
        if environment == "torch":
            for npz in sorted(weights.glob("setup-*.npz")):
                convert_file(npz, npz.with_suffix(".pt"), to="torch")  # what `netport convert-weights` runs
        with pytest.MonkeyPatch.context() as patch:
            if program.data == "ptb":  # (Chainer's own get_ptb_words is replaced by the runner's stand-in)
                write_ptb_cache(root / f"dataset-{environment}")
                patch.setenv("CHAINER_DATASET_ROOT", str(root / f"dataset-{environment}"))
            result = run_python(python, ["-W", "ignore", str(RUNNER), option, str(weights), "losses.json",
                                         program.data, program.script, *program.args], cwd=directory)
        assert result.returncode == 0, f"{name} on {environment}:\n{result.stderr[-3000:]}"
        printed = [float(v) for v in re.findall(program.printed, result.stdout)] if program.printed else []
        if program.log:
            log = json.loads((directory / "result" / "log").read_text())
            printed += [float(entry[key]) for entry in log for key in program.log]
        runs[environment] = {"backward": json.loads((directory / "losses.json").read_text())["backward"],
                             "printed": printed,
                             "exact": re.findall(program.exact, result.stdout) if program.exact else []}
    return Runs(runs["legacy"], runs["torch"])


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.xfail(strict=True, raises=KnownDefect, reason=c.defect)) if c.defect else name
    for name, c in sorted(TORCH_CASES.items())])
def test_torch_migration_reproduces_v1_losses(name, tmp_path):
    symptom = TORCH_CASES[name].symptom
    try:
        runs = run_case(name, tmp_path)
    except AssertionError as error:
        if symptom is not None and symptom in str(error):
            raise KnownDefect(str(error)) from None
        raise
    legacy, migrated = runs.legacy, runs.torch
    assert legacy["backward"] and all(np.isfinite(legacy["backward"]))
    assert len(migrated["backward"]) == len(legacy["backward"])
    np.testing.assert_allclose(migrated["backward"], legacy["backward"], rtol=RTOL, atol=0)
    program = TORCH_CASES[name].program
    assert bool(legacy["printed"]) == bool(program.printed or program.log)
    assert len(migrated["printed"]) == len(legacy["printed"])
    np.testing.assert_allclose(migrated["printed"], legacy["printed"], rtol=RTOL, atol=0)
    assert migrated["exact"] == legacy["exact"]


def test_converted_batch_normalization_fits_the_modules_the_migration_writes(tmp_path):
    """What convert-weights writes for L.BatchNormalization loads strictly into the torch module netport's
    migration makes of it: N stays 0-d like num_batches_tracked, the missing gamma of use_gamma=False is the
    weight the migration keeps fixed at 1 (the DCGAN discriminator), and without gamma and beta (affine=False)
    there is neither weight nor bias."""
    running = {"avg_mean": np.zeros(3, np.float32), "avg_var": np.ones(3, np.float32), "N": np.asarray(7)}
    arrays = {**{f"fixed_scale/{k}": v for k, v in running.items()}, "fixed_scale/beta": np.arange(3, dtype=np.float32),
              **{f"plain/{k}": v for k, v in running.items()}}
    np.savez(tmp_path / "bn.npz", **arrays)
    convert_file(tmp_path / "bn.npz", tmp_path / "bn.pt", to="torch")
    state = torch.load(tmp_path / "bn.pt", weights_only=True)
    model = torch.nn.Module()
    model.fixed_scale = torch.nn.BatchNorm2d(3)
    model.fixed_scale.weight.requires_grad_(False)
    model.plain = torch.nn.BatchNorm2d(3, affine=False)
    model.load_state_dict(state, strict=True)
    assert state["fixed_scale.num_batches_tracked"].shape == () and int(model.fixed_scale.num_batches_tracked) == 7
    assert torch.equal(model.fixed_scale.weight, torch.ones(3))
    assert torch.equal(model.fixed_scale.bias, torch.arange(3, dtype=torch.float32))
