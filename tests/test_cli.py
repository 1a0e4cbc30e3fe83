"""The command-line skeleton: help, version, every subcommand listed and none a placeholder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import netport
from netport.cli import main


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
