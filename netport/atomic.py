"""Atomic file writes: a temporary file in the target directory renamed over the target (atomic
on POSIX), with the original's permissions. Every file netport writes goes through here, so an
interrupted run never leaves a half-written file."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: str | bytes, like: Path | None = None) -> None:
    """Write ``data`` to ``path`` atomically, with the permissions of ``like`` (or of ``path``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = data.encode("utf-8") if isinstance(data, str) else data
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".netport-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(blob)
            handle.flush()
            os.fsync(handle.fileno())
        template = like if like is not None and like.exists() else path
        if template.exists():
            shutil.copymode(template, temporary)
        else:
            os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def copy_atomic(source: Path, target: Path) -> None:
    write_atomic(target, source.read_bytes(), like=source)
