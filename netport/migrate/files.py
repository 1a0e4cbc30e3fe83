"""Finding and reading source files (writes go through :mod:`netport.atomic`).

Reads refuse binary and non-UTF-8 input with a one-line reason.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

# Directories a migration never descends into.
SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", ".mypy_cache", ".pytest_cache", ".tox", ".eggs"}


class SourceError(ValueError):
    """A file that cannot be migrated; the message is one line naming it."""


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


def read_source(path: Path) -> tuple[str, bool]:
    """(text, had a UTF-8 byte-order mark) of a Python file, or SourceError."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if b"\0" in data:
        raise SourceError(f"{path}: binary file (contains NUL bytes), not Python source")
    bom = data.startswith(b"\xef\xbb\xbf")
    try:
        text = data[3 if bom else 0:].decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise SourceError(f"{path}:{line}: not UTF-8 (byte 0x{data[exc.start]:02x}); "
                          "re-encode the file as UTF-8 and run again") from None
    return text, bom
