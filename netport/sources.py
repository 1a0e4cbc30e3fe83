"""Reading a Python source file the way every netport command does: bytes checked for NUL and
UTF-8 before anything parses them, with a one-line error naming the file."""

from __future__ import annotations

from pathlib import Path


class SourceError(ValueError):
    """A file that cannot be read as Python source; the message is one line naming it."""


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
