"""Fixtures of the check-shapes tests."""

from __future__ import annotations

import pytest

from netport.shapes import check_static


@pytest.fixture
def check_source(tmp_path):
    """check_static on a program given as text (written to a file of its own)."""

    def check(text: str, name: str = "script.py", **options):
        script = tmp_path / name
        script.write_text(text)
        return check_static(script, **options)

    return check
