"""A file with a PEP 263 coding line (or a byte-order mark) is migrated and written back in its own
encoding; one its encoding cannot hold after the migration is an error, and is not written."""

from __future__ import annotations

import pytest

from netport.migrate import engine, migrate_paths, write_outputs

PROGRAM = ("# -*- coding: {encoding} -*-\n"
           "# {comment}\n"
           "import chainer.functions as F\n"
           "y = F.dropout(x, train=False)  # {comment}\n")
MIGRATED = ("# -*- coding: {encoding} -*-\n"
            "# {comment}\n"
            "import chainer.functions as F\n"
            "import chainer\n"
            "\n"
            "with chainer.using_config('train', False):\n"
            "    y = F.dropout(x)  # {comment}\n")


@pytest.mark.parametrize("encoding, comment", [
    ("latin-1", "caf\xe9 cr\xe8me"),
    ("euc-jp", "\u5b66\u7fd2\u7387"),
    ("shift_jis", "\u5b66\u7fd2\u7387"),
    ("cp932", "\u5b66\u7fd2\u7387 \u2460"),  # a character of cp932 that shift_jis lacks
])
def test_a_file_is_written_back_in_the_encoding_its_coding_line_declares(tmp_path, encoding, comment):
    source = tmp_path / "src" / "train.py"
    source.parent.mkdir()
    source.write_bytes(PROGRAM.format(encoding=encoding, comment=comment).encode(encoding))
    migration = migrate_paths([source.parent])
    assert migration.report.exit_code == 0, migration.report.to_text()
    write_outputs(migration, out=tmp_path / "out")
    assert (tmp_path / "out" / "train.py").read_bytes() == \
        MIGRATED.format(encoding=encoding, comment=comment).encode(encoding)


def test_in_place_keeps_the_encoding_and_the_byte_order_mark(tmp_path):
    latin, marked = tmp_path / "latin.py", tmp_path / "marked.py"
    latin.write_bytes(PROGRAM.format(encoding="latin-1", comment="\xe9t\xe9").encode("latin-1"))
    marked.write_bytes(PROGRAM.format(encoding="utf-8", comment="\u00e9t\u00e9").encode("utf-8-sig"))
    write_outputs(migrate_paths([latin, marked]), in_place=True)
    assert latin.read_bytes() == MIGRATED.format(encoding="latin-1", comment="\xe9t\xe9").encode("latin-1")
    assert marked.read_bytes() == MIGRATED.format(encoding="utf-8", comment="\u00e9t\u00e9").encode("utf-8-sig")


def test_an_unchanged_file_is_copied_byte_for_byte(tmp_path):
    # cp932 reads 0xed 0x40 (an NEC-selected IBM extension) and 0xfa 0x5c as the same character and
    # writes it back as the second: an unchanged file must not have its bytes respelled.
    source = tmp_path / "src" / "util.py"
    source.parent.mkdir()
    data = b"# -*- coding: cp932 -*-\n# \xed\x40\nx = 1\n"
    source.write_bytes(data)
    write_outputs(migrate_paths([source.parent]), out=tmp_path / "out")
    assert (tmp_path / "out" / "util.py").read_bytes() == data


def test_a_migration_its_encoding_cannot_hold_is_an_error_and_not_written(tmp_path, monkeypatch):
    migrate_prepared = engine.migrate_prepared

    def arrow_inserting(prepared, project, options):  # as a rule that wrote a non-Latin-1 character would
        result = migrate_prepared(prepared, project, options)
        result.migrated = result.migrated.replace("import chainer\n", "import chainer  # v1 \u2192 v5\n")
        return result

    monkeypatch.setattr(engine, "migrate_prepared", arrow_inserting)
    tree = tmp_path / "src"
    tree.mkdir()
    (tree / "latin.py").write_bytes(PROGRAM.format(encoding="latin-1", comment="caf\xe9").encode("latin-1"))
    (tree / "plain.py").write_text(PROGRAM.format(encoding="utf-8", comment="cafe"))
    migration = migrate_paths([tree])
    report = migration.report
    (error,) = [r.error for r in report.files if r.error]
    assert error == (f"{tree / 'latin.py'}:4:22: not written: the migration put '\u2192' (U+2192) here, which its "
                     "encoding iso-8859-1 cannot hold; re-encode the file as UTF-8 (coding line included) "
                     "and run again")
    assert report.exit_code == 2 and report.to_text().count("latin.py") == 1
    write_outputs(migration, out=tmp_path / "out")
    assert not (tmp_path / "out" / "latin.py").exists()  # no partial output
    assert "\u2192" in (tmp_path / "out" / "plain.py").read_text()  # the other files are written
    write_outputs(migration, in_place=True)
    assert (tree / "latin.py").read_bytes() == PROGRAM.format(encoding="latin-1", comment="caf\xe9").encode("latin-1")


def test_the_command_line_migrates_a_latin1_file(tmp_path, run_netport):
    source = tmp_path / "train.py"
    source.write_bytes(PROGRAM.format(encoding="latin-1", comment="caf\xe9").encode("latin-1"))
    result = run_netport("migrate", str(source), "-o", str(tmp_path / "out.py"))
    assert result.returncode == 0, result.stderr
    assert "using_config" in result.stderr  # the report's CH020 line
    assert (tmp_path / "out.py").read_bytes() == \
        MIGRATED.format(encoding="latin-1", comment="caf\xe9").encode("latin-1")
