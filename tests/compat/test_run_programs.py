"""`netport run` on whole programs: each runnable legacy example and the founding stacked-autoencoder program
(../shared/corpus) run unchanged on Chainer 1.24 (the ground truth) and through `netport run` on Chainer 7.8.1
and on torch; the loss of every backward() call and the numbers the program prints must agree.

The runs are the differential tests' (tests/migrate/test_differential.py, test_corpus_programs.py and
test_corpus_programs_torch.py): the same programs and arguments, the same recording hooks, data stand-ins and,
for torch, the same synchronisation (tests/migrate/corpus_runner.py: the weights and generator states of the
Chainer 1.24 run at every optimizer set-up, converted by netport's converter and loaded into the torch run,
dropout masks drawn as Chainer draws them), through tests/compat/run_harness.py. Tolerances and why they hold
are those tests': 1e-5 relative on Chainer 7.8 (only the order of float32 additions differs), 1e-4 on torch
(the same, through another BLAS, over about 20-80 steps). Numbers a program prints with six decimals are
compared with an absolute 1e-6 on top: two roundings to the sixth decimal of values within the bound may
differ by one unit there.

Files (issue 17, item 6): the runs write their snapshots where the original writes them, under the names it
gives; the Chainer 7.8 run's npz holds the weights of Chainer 1.24's, and the torch run's file converts with
`netport convert-weights` into an npz with the same keys and shapes and the same weights. A parameter's two
values differ by what its updates did: each Adam step moves it by at most alpha (1e-3) and the two runs' steps
agree to the losses' relative bound, so |difference| <= steps * 1e-3 * bound besides the relative bound.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO, environment_python, run_python
from tests.migrate.test_corpus_programs import CASES as CORPUS_CASES
from tests.migrate.test_corpus_programs import CORPUS, copy_tree

HARNESS = Path(__file__).resolve().with_name("run_harness.py")
RTOL = {"chainer": 1e-5, "torch": 1e-4}
ADAM_ALPHA = 1e-3
SIX_DECIMALS = 1e-6  # two roundings to the sixth decimal
FLOAT = r"([-+]?\d+\.\d+(?:[eE][-+]?\d+)?)"


@dataclass(frozen=True)
class Program:
    directory: Path
    script: str
    args: tuple[str, ...]
    data: str = "none"  # corpus_runner.py's stand-in for the program's data, or none (netport.data)
    printed: str | None = None  # regular expression of printed numbers to compare
    printed_atol: float = 0.0
    log: tuple[str, ...] = ()  # LogReport entries (out/log) to compare
    snapshots: tuple[str, ...] = ()  # globs of the npz files the program writes whose weights are compared
    steps: int = 0  # optimizer steps, for the weights' absolute bound


FOUNDING = CORPUS_CASES["mnist-stacked-autoencoder"]
EXAMPLES = REPO / "legacy_examples"
PROGRAMS = {
    # The founding program: 36 steps of pretraining (dropout in the encoders) and fine-tuning; it writes the
    # intermediate and the final model into its working directory.
    "founding-stacked-autoencoder": Program(
        CORPUS / FOUNDING.directory, FOUNDING.script, FOUNDING.args, data=FOUNDING.data, printed=FOUNDING.printed,
        snapshots=("sae_*_p2_*.model", "sae_*_p2-f2_*.model"), steps=36),
    # test_differential's settings with fewer digits: 5 steps a pretraining epoch, 2 epochs for each of 3
    # layers, 2 fine-tuning epochs (40 steps), dropout on.
    "mnist_sae": Program(
        EXAMPLES / "mnist_sae", "train_mnist_sae.py",
        ("--unit", "128,32,2", "--epoch_pre", "2", "--epoch_fine", "2", "--n_train", "500", "--dropout", "0.1",
         "--out", "out"),
        printed=rf"loss {FLOAT}", printed_atol=SIX_DECIMALS, snapshots=("out/sae.model",), steps=40),
    "mnist_mlp_functionset": Program(
        EXAMPLES / "mnist_mlp_functionset", "train_mnist_mlp.py", ("--epoch", "2", "--unit", "100", "--n_train", "500"),
        printed=r"mean loss=([-+0-9.eE]+)"),
    # Two minibatches and the training loss only, as in test_differential: the convolution biases that batch
    # normalization cancels get gradients of pure rounding noise, so the test-mode loss after Adam's steps
    # is not comparable between Chainer versions (nor CPUs), and neither are those biases.
    "mnist_convnet": Program(
        EXAMPLES / "mnist_convnet", "train_mnist_convnet.py", ("--epoch", "1", "--n_train", "200", "--out", "out"),
        printed=rf"train mean loss={FLOAT}", printed_atol=SIX_DECIMALS),
    # One epoch: from the second, Chainer 1.24's SerialIterator reshuffles unlike Chainer 5+'s (by design).
    # On torch the migration's DataLoader(shuffle=True) draws its order from torch's generator; the harness
    # has it draw numpy.random.permutation as the SerialIterator does (as corpus_runner does with dropout).
    "mnist_mlp_trainer": Program(
        EXAMPLES / "mnist_mlp_trainer", "train_mnist_trainer.py",
        ("--epoch", "1", "--unit", "50", "--n_train", "500", "--out", "out"),
        log=("main/loss", "validation/main/loss", "main/accuracy", "validation/main/accuracy")),
}


@dataclass
class Run:
    directory: Path
    backward: list[float]
    printed: list[float]
    stdout: str
    stderr: str


_legacy: dict[str, Run] = {}


def run(name: str, environment: str, root: Path) -> Run:
    """One run of the program, in a fresh copy of its directory: legacy (Chainer 1.24, saving the weights
    at every optimizer set-up) or through `netport run --to chainer|torch`."""
    program = PROGRAMS[name]
    if not program.directory.is_dir():
        pytest.skip(f"{program.directory} is absent: the corpus of real Chainer v1 programs is expected at "
                    "../shared/corpus")
    directory = root / environment
    copy_tree(program.directory, directory)
    weights = root / "weights"
    if environment == "legacy":
        weights.mkdir(exist_ok=True)
        python, options = environment_python("legacy"), ["--save-weights", str(weights)]
    elif environment == "chainer":
        python, options = environment_python("main"), ["--run", "chainer"]
    else:
        from netport.weights import convert_file

        for npz in sorted(weights.glob("setup-*.npz")):
            convert_file(npz, npz.with_suffix(".pt"), to="torch")  # what `netport convert-weights` runs
        python, options = environment_python("main"), ["--torch", str(weights), "--run", "torch", "--adam-eps",
                                                        "chainer"]
    result = run_python(python, ["-W", "ignore", str(HARNESS), *options, "losses.json", program.data,
                                 program.script, *program.args], cwd=directory)
    assert result.returncode == 0, f"{name} on {environment}:\n{result.stderr[-3000:]}"
    printed = [float(v) for v in re.findall(program.printed, result.stdout)] if program.printed else []
    if program.log:
        log = json.loads((directory / "out" / "log").read_text())
        printed += [float(entry[key]) for entry in log for key in program.log]
    backward = json.loads((directory / "losses.json").read_text())["backward"]
    return Run(directory, backward, printed, result.stdout, result.stderr)


def legacy(name: str, tmp_path_factory) -> Run:
    """The Chainer 1.24 run, once for both targets (its saved weights serve the torch run)."""
    if name not in _legacy:
        _legacy[name] = run(name, "legacy", tmp_path_factory.mktemp(name))
    return _legacy[name]


def single(directory: Path, pattern: str) -> Path:
    (found,) = sorted(directory.glob(pattern))
    return found


@pytest.mark.parametrize("target", ["chainer", "torch"])
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_netport_run_reproduces_chainer_1_24(name, target, tmp_path_factory):
    program = PROGRAMS[name]
    reference = legacy(name, tmp_path_factory)
    ran = run(name, target, reference.directory.parent)
    rtol = RTOL[target]
    assert reference.backward and all(np.isfinite(reference.backward))
    assert len(ran.backward) == len(reference.backward)
    np.testing.assert_allclose(ran.backward, reference.backward, rtol=rtol, atol=0)
    assert bool(reference.printed) == bool(program.printed or program.log)
    assert len(ran.printed) == len(reference.printed)
    np.testing.assert_allclose(ran.printed, reference.printed, rtol=rtol, atol=program.printed_atol)
    assert "netport:" in ran.stderr and "0 error(s) needing manual work" in ran.stderr  # the report, once
    assert ran.stderr.count("error(s) needing manual work") == 1
    for pattern in program.snapshots:  # written where and as the original writes them
        original = single(reference.directory, pattern)
        written = single(ran.directory, pattern)
        if target == "torch":  # a torch state_dict, which `netport convert-weights` turns into Chainer's npz
            converted = ran.directory / (written.name + ".npz")
            result = run_python(sys.executable, ["-m", "netport", "convert-weights", str(written), "-o",
                                                 str(converted)], cwd=ran.directory)
            assert result.returncode == 0, result.stderr
            written = converted
        with np.load(original) as expected, np.load(written) as got:
            assert sorted(got.files) == sorted(expected.files)
            for key in expected.files:
                assert got[key].shape == expected[key].shape, key
                np.testing.assert_allclose(got[key], expected[key], rtol=rtol,
                                           atol=program.steps * ADAM_ALPHA * rtol, err_msg=key)


@pytest.mark.parametrize("target", ["chainer", "torch"])
def test_a_python_2_program_runs_as_netport_migrate_would_make_it(target, tmp_path):
    """py2_mlp is Python 2 source (print statements, xrange, `except E, e`, cPickle), so Chainer 1.24 on
    Python 3 cannot run it: `netport run` converts it in memory and it trains, and it computes what the program
    `netport migrate` writes computes, loss for loss and line for line (the same code on the same interpreter,
    both seeded by the harness: the program seeds nothing)."""
    source = EXAMPLES / "py2_mlp"
    args = ["train_mnist_py2.py", "--epoch", "2", "--unit", "50", "--model", "m.pkl"]
    copy_tree(source, tmp_path / "run")
    ran = run_python(sys.executable, ["-W", "ignore", str(HARNESS), "--run", target, "--seed-torch", "losses.json",
                                      "none", *args], cwd=tmp_path / "run")
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "CH090" in ran.stderr  # the report says the file was Python 2
    migrated = run_python(sys.executable, ["-m", "netport", "migrate", str(source), "--to", target, "-o",
                                           str(tmp_path / "migrated"), "--no-cache"], cwd=REPO)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    direct = run_python(sys.executable, ["-W", "ignore", str(HARNESS), "--seed-torch", "losses.json", "none", *args],
                        cwd=tmp_path / "migrated")
    assert direct.returncode == 0, direct.stderr[-3000:]
    losses = [float(v) for v in re.findall(r"train mean loss=([0-9.]+)", ran.stdout)]
    assert len(losses) == 2 and losses[1] < losses[0]
    assert ran.stdout == direct.stdout
    assert json.loads((tmp_path / "run" / "losses.json").read_text()) == \
        json.loads((tmp_path / "migrated" / "losses.json").read_text())
    assert (tmp_path / "run" / "m.pkl").exists()  # where the original writes it


@pytest.mark.parametrize("target", ["chainer", "torch"])
def test_the_pretraining_bug_fails_at_the_users_lines(target, tmp_path):
    """The bug example crashes on the migrated framework as on Chainer 1.24, and the traceback names the same
    files, lines and source lines of the user's program as Chainer 1.24's does (net.py's encode, the training
    loop), although the migration moved lines in both files."""
    directory = EXAMPLES / "mnist_sae_pretrain_bug"
    args = ["train_mnist_sae.py", "--epoch_pre", "1", "--n_train", "300", "--out", str(tmp_path)]
    ran = run_python(sys.executable, ["-W", "ignore", "-m", "netport", "run", "-q", "--to", target, *args],
                     cwd=directory)
    original = run_python(environment_python("legacy"), ["-W", "ignore", *args], cwd=directory)
    assert ran.returncode == original.returncode == 1
    assert "pretrain layer 1 epoch 1 loss" in ran.stdout

    def user_frames(stderr: str) -> list[tuple[str, str, str]]:
        frames = re.findall(r'File "([^"]+)", line (\d+), in \w+\n    (.*)\n', stderr)
        return [(Path(f).name, line, code) for f, line, code in frames if Path(f).parent == directory]

    frames = user_frames(ran.stderr)
    assert [frame[:2] for frame in frames if frame[0] == "net.py"] == [("net.py", "56"), ("net.py", "45")]
    assert frames == user_frames(original.stderr)
    assert "netport" not in ran.stderr.replace(str(REPO), "")  # no frame of netport's own
