"""README's examples run as a new user would run them: every command of its shell blocks, in README
order, in one scratch directory that holds the files the commands name (``train.py`` and ``net.py``, a
``project/``, an ``mnist.npz``, the legacy program's ``result/sae.model``, a Trainer snapshot, verify
factories), and its Python blocks. A command is run word for word, except that epoch counts may be
lowered to keep the suite fast (checked: nothing else may differ), or is listed in NOT_RUN with the
reason. A README command that is neither fails the test, so README and behaviour cannot drift apart."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO, environment_python, run_python

README = (REPO / "README.md").read_text()

NOT_RUN = {
    "make demo": "builds the three environments and runs the demo (minutes); its steps are the commands below",
    "make test": "the suite this test is part of",
    "pip install .": "installs into the running environment; the Makefile's environments are built this way",
    "pip install '.[chainer]'": "as above",
    "pip install '.[torch]'": "as above",
    "pip install '.[sae]'": "as above",
    "pip install '.[dev]'": "as above",
}
# README command -> the command run: the same words with smaller epoch counts (EPOCHS_ONLY checks that)
QUICKER = {
    "netport train-sae": "netport train-sae --epochs-pre 1 --epochs-fine 1",
    "netport train-sae --data mnist.npz --units 1000,500,250,30 --activation relu --linear-code "
    "--output-activation sigmoid --loss bce --epochs-fine 40 --out run1":
        "netport train-sae --data mnist.npz --units 1000,500,250,30 --activation relu --linear-code "
        "--output-activation sigmoid --loss bce --epochs-pre 1 --epochs-fine 1 --out run1",
    "netport train-sae --out run1 --epochs-fine 60 --resume": "netport train-sae --out run1 --epochs-fine 2 --resume",
}
EXIT_STATUS = {  # commands whose success is another exit status than 0
    "netport check-shapes legacy_examples/mnist_sae_pretrain_bug/train_mnist_sae.py": 1,  # the bug it finds
}
PYTHON_NOT_RUN = {
    'mnist = load_mnist("chainer")': "needs the MNIST that Chainer downloads into ~/.chainer (no network here)",
}


def shell_commands(readme: str) -> list[str]:
    """The commands of README's ``sh`` blocks: continuation lines joined, comments dropped."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", readme, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            command = " ".join(line.split("  #")[0].split())
            if command:
                commands.append(command)
    return commands


def python_blocks(readme: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", readme, re.S)


def without_epoch_counts(command: str) -> str:
    command = re.sub(r" --epochs-(pre|fine) \d+", "", command)
    return re.sub(r"epochs_(pre|fine)=\d+", "epochs_\\1=N", command)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """A user's directory with the files README's commands name."""
    legacy = environment_python("legacy")
    root = tmp_path_factory.mktemp("readme")
    sae = REPO / "legacy_examples" / "mnist_sae"
    shutil.copy(sae / "train_mnist_sae.py", root / "train.py")
    shutil.copy(sae / "net.py", root / "net.py")
    shutil.copytree(sae, root / "project", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("legacy_examples", ".venv-legacy"):
        (root / name).symlink_to(REPO / name)
    from netport.data import load_mnist

    mnist = load_mnist()
    as_bytes = {name: np.rint(getattr(mnist, name) * 255).astype(np.uint8).reshape(-1, 28, 28)
                for name in ("x_train", "x_test")}
    np.savez(root / "mnist.npz", **as_bytes, y_train=mnist.y_train, y_test=mnist.y_test)
    from tests.data.test_mnist import write_idx_dir

    write_idx_dir(root / "path" / "to" / "idx", (as_bytes["x_train"], mnist.y_train, as_bytes["x_test"],
                                                 mnist.y_test))
    # the legacy program's own output: result/sae.model
    ran = run_python(legacy, ["-W", "ignore", "train.py", "--unit", "64,2", "--epoch_pre", "1", "--epoch_fine", "1",
                              "--n_train", "500"], cwd=root)
    assert ran.returncode == 0 and (root / "result" / "sae.model").exists(), ran.stderr[-2000:]
    # a Trainer snapshot, and the new model's weights to check it against
    trainer = root / "trainer"
    ran = run_python(legacy, ["-W", "ignore", str(REPO / "legacy_examples/mnist_mlp_trainer/train_mnist_trainer.py"),
                              "--epoch", "1", "--unit", "50", "--n_train", "500", "--out", str(trainer)], cwd=root)
    assert ran.returncode == 0, ran.stderr[-2000:]
    snapshot = next(trainer.glob("snapshot_iter_*"))
    shutil.copy(snapshot, root / "snapshot_iter_1000")
    import torch

    from netport.weights import chainer_to_torch

    with np.load(snapshot) as archive:
        state = chainer_to_torch({k: archive[k] for k in archive.files})
    torch.save({k: torch.from_numpy(v) for k, v in state.items()}, root / "new_model.pt")
    (root / "legacy_factory.py").write_text(
        (REPO / "tests/verify/factories/legacy_sae.py").read_text().replace(
            'os.path.join(os.path.dirname(__file__), "..", "..", "..", "legacy_examples", "mnist_sae")',
            repr(str(sae))))
    (root / "migrated_factory.py").write_text(
        (REPO / "tests/verify/factories/torch_migrated_sae.py").read_text().replace(
            'os.path.join(os.path.dirname(__file__), "..", "..", "..", "migrated_examples", "torch",\n'
            '                                "mnist_sae")', repr(str(REPO / "migrated_examples/torch/mnist_sae"))))
    return root


def run_in(root: Path, command: str) -> subprocess.CompletedProcess:
    """A shell command as a user types it, with this environment's ``netport`` first on PATH."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(command, shell=True, cwd=root, env=env, capture_output=True, text=True, timeout=600)


def test_readme_is_parsed_and_every_command_has_a_decision():
    commands = shell_commands(README)
    assert "netport migrate --list-rules" in commands and "netport train-sae --out run1 --epochs-fine 60 " \
        "--resume" in commands
    assert [c for c in NOT_RUN if c not in commands] == []  # no stale entries
    assert [c for c in QUICKER if c not in commands] == []
    for command, quicker in QUICKER.items():
        assert without_epoch_counts(quicker) == without_epoch_counts(command), quicker


def test_readme_commands_run_in_readme_order(scratch):
    ran = 0
    for command in shell_commands(README):
        if command in NOT_RUN:
            continue
        result = run_in(scratch, QUICKER.get(command, command))
        assert result.returncode == EXIT_STATUS.get(command, 0), \
            f"README: `{command}` exited {result.returncode}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        assert "Traceback" not in result.stderr, f"README: `{command}`\n{result.stderr[-3000:]}"
        ran += 1
    assert ran >= 15
    # what the commands promise
    assert (scratch / "project_v5" / "net.py").exists() and (scratch / "project" / "net.py.bak").exists()
    assert "init_scope" in (scratch / "project" / "net.py").read_text()
    assert (scratch / "report.json").exists() and (scratch / "sae.pt").exists() and (scratch / "model.pt").exists()
    for name in ("sae.pt", "sae.json", "sae.npz", "history.json", "checkpoint.pt"):
        assert (scratch / "run1" / name).exists(), name


EXCERPT = "# abridged from "  # a Python block that shows part of netport's own source: checked, not run


def test_readme_excerpts_match_the_source_they_quote():
    excerpts = [block for block in python_blocks(README) if block.startswith(EXCERPT)]
    assert excerpts
    for block in excerpts:
        source = (REPO / block.splitlines()[0][len(EXCERPT):].strip()).read_text().splitlines()
        structure = [line.split("  #")[0].rstrip() for line in block.splitlines()[1:]
                     if line.lstrip().startswith(("from ", "import ", "@", "class ", "def "))]
        assert structure and [line for line in structure if line not in source] == []


def test_readme_python_examples_run(scratch):
    for block in python_blocks(README):
        if block.startswith(EXCERPT):
            continue
        lines = [line for line in block.splitlines() if line.split("#")[0].strip() not in PYTHON_NOT_RUN]
        code = "\n".join(lines)
        code = re.sub(r"epochs_(pre|fine)=\d+", r"epochs_\1=1", code)  # fewer epochs, as above
        prelude = "from netport.data import load_mnist\nx_train, x_test = load_mnist().x_train, load_mnist().x_test\n"
        result = run_python(sys.executable, ["-c", prelude + code], cwd=scratch)
        assert result.returncode == 0, f"README block:\n{code}\n{result.stderr[-3000:]}"
    assert (scratch / "sae.npz").exists()
