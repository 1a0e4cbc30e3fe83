"""The command-line skeleton: help, version, every subcommand listed and none a placeholder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import netport
from netport.cli import main
from tests.conftest import REPO


def words(text: str) -> str:
    """argparse wraps help text at the terminal width; compare it with the wrapping undone."""
    return " ".join(text.split())


def test_help_lists_every_subcommand(run_netport):
    result = run_netport("--help")
    assert result.returncode == 0
    for command in ("migrate", "check-shapes", "train-sae", "convert-weights", "verify", "mnist-info"):
        assert command in result.stdout
    assert "not implemented" not in words(result.stdout)


def test_version(run_netport):
    result = run_netport("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"netport {netport.__version__}"


def test_console_script_is_installed():
    """`pip install` put a `netport` command next to the interpreter."""
    script = Path(sys.executable).with_name("netport")
    assert script.exists(), "the netport console script is not installed"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("netport ")


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: netport" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error(run_netport):
    result = run_netport("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_mnist_info_describes_the_embedded_subset(run_netport):
    result = run_netport("mnist-info")
    assert result.returncode == 0, result.stderr
    assert "embedded subset" in result.stdout
    assert "train:   x (4000, 784) float32 in [0.0, 1.0]" in result.stdout
    assert "labels per class 100 100 100 100 100 100 100 100 100 100" in result.stdout


def test_dir_lists_the_lazily_loaded_names_and_the_real_globals():
    names = dir(netport)
    assert {"StackedAutoencoder", "TrainConfig", "fit", "export_chainer_npz"} <= set(names)
    assert {"__version__", "__getattr__", "__dir__"} <= set(names)
    assert names == sorted(names)


def run_into_a_closed_pipe(args: list[str], read_first_line: bool) -> tuple[bytes, subprocess.CompletedProcess]:
    """Run netport with stdout going to a pipe whose reader goes away: after reading one line (as
    `| head -1` does; the output must exceed the pipe's buffer so that the writer is still writing), or
    before the command writes anything (deterministic for short outputs)."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    command = [sys.executable, "-m", "netport", *args]
    if read_first_line:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        first = process.stdout.readline()
        process.stdout.close()
        stderr = process.stderr.read()
        process.stderr.close()
        return first, subprocess.CompletedProcess(command, process.wait(timeout=60), b"", stderr)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return b"", subprocess.run(command, cwd=REPO, env=env, stdout=write_end, stderr=subprocess.PIPE, timeout=60)
    finally:
        os.close(write_end)


def test_a_closed_stdout_ends_a_long_listing_quietly(tmp_path):
    """`netport convert-weights ... | head -1`: a line per converted array, far more than a pipe holds."""
    pytest.importorskip("torch")
    arrays = {f"l{i}/W": np.zeros((1, 1), dtype=np.float32) for i in range(3000)}
    np.savez(tmp_path / "many.npz", **arrays)
    first, result = run_into_a_closed_pipe(["convert-weights", str(tmp_path / "many.npz"), "-o",
                                            str(tmp_path / "many.pt")], read_first_line=True)
    assert first.split() == [b"l0.weight", b"(1,", b"1)"]
    assert result.stderr == b""
    assert result.returncode == 141


@pytest.mark.parametrize("args", [
    ["migrate", "--list-rules"],
    ["check-shapes", "legacy_examples/mnist_sae_pretrain_bug/train_mnist_sae.py"],
    ["mnist-info"],
])
def test_a_closed_stdout_ends_every_printing_command_quietly(args):
    _, result = run_into_a_closed_pipe(args, read_first_line=False)
    assert b"Traceback" not in result.stderr and b"Exception ignored" not in result.stderr, result.stderr.decode()
    assert result.returncode == 141
