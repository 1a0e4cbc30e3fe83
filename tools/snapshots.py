"""What two snapshots of a tool's output (tools/corpus_snapshot.py, tools/shapes_snapshot.py) differ in."""

from __future__ import annotations

import filecmp
from pathlib import Path


def differences(before: Path, after: Path) -> list[str]:
    found = []

    def walk(comparison: filecmp.dircmp, prefix: str) -> None:
        found.extend(f"only before: {prefix}{name}" for name in comparison.left_only)
        found.extend(f"only after: {prefix}{name}" for name in comparison.right_only)
        _, mismatch, errors = filecmp.cmpfiles(comparison.left, comparison.right, comparison.common_files,
                                               shallow=False)
        found.extend(f"differs: {prefix}{name}" for name in mismatch + errors)
        for name, sub in sorted(comparison.subdirs.items()):
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(before, after), "")
    return found


def report_differences(before: Path, after: Path) -> int:
    """Print every file that differs or exists on one side only; 1 if there is any, else 0."""
    found = differences(before, after)
    for line in found:
        print(line)
    print(f"{len(found)} difference(s)")
    return 1 if found else 0
