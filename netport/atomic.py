"""Atomic file writes: a temporary file in the target directory renamed over the target (atomic
on POSIX), with the original's permissions. Every file netport writes goes through here, so an
interrupted run never leaves a half-written file.

A path that is a symbolic link is written through: the file it points to is replaced and the link
stays, as a plain ``open(path, "w")`` would do. Errors name the path the caller gave, never the
temporary file."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: str | bytes, like: Path | None = None) -> None:
    """Write ``data`` to ``path`` atomically, with the permissions of ``like`` (or of ``path``)."""
    given = path
    if path.is_symlink():
        # the temporary file must sit next to the target for the rename to be atomic (same file system)
        path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = data.encode("utf-8") if isinstance(data, str) else data
    temporary = None
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".netport-tmp", dir=path.parent)
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
    except OSError as exc:
        _remove(temporary)
        if exc.errno is None:
            raise
        # the temporary's name means nothing to the user (".good.py.4m1fl0rq.netport-tmp: ...")
        raise OSError(exc.errno, exc.strerror, str(given)) from None
    except BaseException:
        _remove(temporary)
        raise


def _remove(temporary: str | None) -> None:
    if temporary is not None and os.path.exists(temporary):
        os.unlink(temporary)


def copy_atomic(source: Path, target: Path) -> None:
    write_atomic(target, source.read_bytes(), like=source)
