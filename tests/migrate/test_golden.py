"""migrated_examples/<target>/<name>/ is exactly what
`netport migrate legacy_examples/<name>/ [--to torch] -o ...` writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO

LEGACY = REPO / "legacy_examples"
MIGRATED = REPO / "migrated_examples" / "chainer"
TORCH = REPO / "migrated_examples" / "torch"
EXAMPLES = sorted(p.name for p in LEGACY.iterdir() if p.is_dir())
TORCH_COMPLETE = EXAMPLES  # every example converts to torch with nothing left for manual work


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


def test_every_legacy_example_has_a_migrated_form():
    assert EXAMPLES and sorted(p.name for p in MIGRATED.iterdir() if p.is_dir()) == EXAMPLES


@pytest.mark.parametrize("example", EXAMPLES)
def test_migrated_example_is_the_tools_output_byte_for_byte(example, tmp_path, run_netport):
    out = tmp_path / example
    result = run_netport("migrate", str(LEGACY / example), "-o", str(out))
    assert result.returncode == 0, result.stderr  # everything converted
    assert "0 error(s)" in result.stderr
    expected = tree(MIGRATED / example)
    produced = tree(out)
    assert sorted(produced) == sorted(expected)
    for name in expected:
        assert produced[name] == expected[name], f"{example}/{name} differs from the tool's output; " \
            "regenerate with `netport migrate legacy_examples/<name> -o migrated_examples/chainer/<name>`"


@pytest.mark.parametrize("example", EXAMPLES)
def test_migrated_examples_carry_no_todo_and_migrate_to_themselves(example, run_netport):
    for path in (MIGRATED / example).rglob("*.py"):
        assert "netport: TODO" not in path.read_text(), path
    result = run_netport("migrate", str(MIGRATED / example))
    assert result.returncode == 0 and result.stdout == ""  # idempotent: nothing left to change


@pytest.mark.parametrize("example", EXAMPLES)
def test_torch_example_is_the_tools_output_byte_for_byte(example, tmp_path, run_netport):
    out = tmp_path / example
    result = run_netport("migrate", str(LEGACY / example), "--to", "torch", "-o", str(out))
    assert result.returncode == (0 if example in TORCH_COMPLETE else 1), result.stderr
    assert tree(out) == tree(TORCH / example), f"regenerate with `netport migrate legacy_examples/{example} " \
        f"--to torch -o migrated_examples/torch/{example}`"


@pytest.mark.parametrize("example", TORCH_COMPLETE)
def test_completely_converted_torch_examples_carry_no_todo(example):
    for path in (TORCH / example).rglob("*.py"):
        text = path.read_text()
        assert "netport: TODO" not in text and "import chainer" not in text, path
