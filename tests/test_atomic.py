"""netport.atomic: whole files or nothing, through symlinks, and errors that name the user's file."""

from __future__ import annotations

import errno
import os

import pytest

from netport.atomic import write_atomic


def test_a_failed_replace_names_the_target_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "good.py"
    target.write_text("old\n")

    def refuse(source, destination):
        raise PermissionError(errno.EPERM, "Operation not permitted", source, destination)

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError) as raised:
        write_atomic(target, "new\n")
    assert raised.value.filename == str(target) and raised.value.filename2 is None
    assert ".netport-tmp" not in str(raised.value)
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.py"]


def test_a_file_that_cannot_be_created_is_named(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(OSError) as raised:
        write_atomic(blocker / "good.py", "new\n")
    assert ".netport-tmp" not in str(raised.value)
    assert raised.value.filename in (str(blocker), str(blocker / "good.py"))


def test_a_symlink_is_written_through_and_kept(tmp_path):
    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "good.py"
    real.write_text("old\n")
    real.chmod(0o755)
    link = tmp_path / "good.py"
    link.symlink_to(real)
    write_atomic(link, "new\n")
    assert link.is_symlink() and link.readlink() == real
    assert real.read_text() == "new\n" and real.stat().st_mode & 0o777 == 0o755
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["good.py"]  # the temporary sat next to the target
