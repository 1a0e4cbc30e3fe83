"""Fixtures of the check-shapes tests."""

from __future__ import annotations

import subprocess
import sys

import pytest

from netport.shapes import check_static
from tests.conftest import REPO


@pytest.fixture
def check_source(tmp_path):
    """check_static on a program given as text (written to a file of its own)."""

    def check(text: str, name: str = "script.py", **options):
        script = tmp_path / name
        script.write_text(text)
        return check_static(script, **options)

    return check


def run_fresh_python(code: str) -> str:
    """Run ``code`` in a new interpreter (so that sys.modules shows what it imported); its stdout."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()
