"""Shared test fixtures: where the repository and its three environments are."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

ENVIRONMENTS = {"legacy": ".venv-legacy", "chainer5": ".venv-chainer5", "main": ".venv"}


def environment_python(name: str) -> Path:
    """The interpreter of one of the Makefile's environments.

    Missing environments skip the test on a developer's machine but fail it in CI, where
    `make test` has just built them and a skip would hide a broken set-up.
    """
    python = REPO / ENVIRONMENTS[name] / "bin" / "python"
    if not python.exists():
        message = f"{python.relative_to(REPO)} is missing: run `make test` (it builds the environments)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return python


@pytest.fixture(scope="session", autouse=True)
def migration_cache():
    """`netport migrate` keeps results in a cache directory by default: the tests' go to a fresh one,
    removed afterwards, never the user's (subprocesses inherit the variable)."""
    with tempfile.TemporaryDirectory(prefix="netport-test-cache-") as directory:
        previous = os.environ.get("NETPORT_CACHE_DIR")
        os.environ["NETPORT_CACHE_DIR"] = directory
        yield Path(directory)
        if previous is None:
            del os.environ["NETPORT_CACHE_DIR"]
        else:
            os.environ["NETPORT_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def legacy_python() -> Path:
    return environment_python("legacy")


def run_python(python: Path | str, args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(
        [str(python), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def run_netport():
    """Run the installed CLI as a user would (`python -m netport`), in a subprocess."""

    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return run_python(sys.executable, ["-m", "netport", *args], cwd=cwd or REPO)

    return run
