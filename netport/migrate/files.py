"""Finding and reading source files (writes go through :mod:`netport.atomic`).

Reads decode a file as Python does (UTF-8, or the encoding of its PEP 263 coding line) and refuse
binary input, or bytes that are not that encoding, with a one-line reason.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from netport.sources import SourceError, read_source  # noqa: F401  (re-exported for the migrator)

# Directories a migration never descends into.
SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", ".mypy_cache", ".pytest_cache", ".tox", ".eggs"}


@dataclass(frozen=True)
class InputFile:
    path: Path  # as given or found
    relative: Path  # where it goes under the output root
    is_python: bool


def discover(root: Path, exclude: Sequence[str] = ()) -> list[InputFile]:
    """The files under ``root`` (or ``root`` itself), Python and other, in a stable order.

    ``exclude`` holds glob patterns matched against each path relative to ``root`` and against
    each of its directory and file names."""
    if root.is_file():
        return [InputFile(root, Path(root.name), root.suffix == ".py")]

    def excluded(relative: Path) -> bool:
        return any(fnmatch.fnmatch(str(relative), p) or fnmatch.fnmatch(relative.name, p) for p in exclude)

    found = []
    for directory, dirs, files in os.walk(root):
        base = Path(directory)
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith(".venv")
                         and not os.path.islink(base / d) and not excluded((base / d).relative_to(root)))
        for name in sorted(files):
            path = base / name
            if name.endswith((".pyc", ".pyo")) or path.is_symlink() or excluded(path.relative_to(root)):
                continue
            found.append(InputFile(path, path.relative_to(root), name.endswith(".py")))
    return found


