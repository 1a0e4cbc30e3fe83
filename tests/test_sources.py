"""Reading Python source as Python itself does (PEP 263 coding lines, byte-order mark), refusing the rest
in one line; Python 2 indentation with tabs read as Python 2 read it."""

from __future__ import annotations

import ast

import pytest

from netport.shapes import check_static
from netport.sources import SourceError, expand_python2_tabs, python2_syntax_to_python3, read_source

CAFE = "# caf\xe9 \u00e0 la cr\xe8me\nx = 1\n"
JAPANESE = "# \u65e5\u672c\u8a9e\u306e\u30b3\u30e1\u30f3\u30c8\nx = '\u5b66\u7fd2'\n"


@pytest.mark.parametrize("coding_line, body, encoding", [
    ("# -*- coding: latin-1 -*-\n", CAFE, "iso-8859-1"),  # Python's own name for it
    ("# coding: euc-jp\n", JAPANESE, "euc-jp"),
    ("# vim: set fileencoding=shift_jis :\n", JAPANESE, "shift_jis"),
    ("#!/usr/bin/env python\n# -*- coding: cp932 -*-\n", JAPANESE, "cp932"),  # line 2, after a #! line
    ("# -*- coding: utf-8 -*-\n", JAPANESE, "utf-8"),
])
def test_a_coding_line_is_read_as_python_reads_it(tmp_path, coding_line, body, encoding):
    path = tmp_path / "module.py"
    path.write_bytes((coding_line + body).encode(encoding))
    assert read_source(path) == (coding_line + body, encoding)


def test_a_byte_order_mark_is_read_and_named_for_writing_back(tmp_path):
    path = tmp_path / "module.py"
    path.write_bytes(b"\xef\xbb\xbf" + JAPANESE.encode("utf-8"))
    assert read_source(path) == (JAPANESE, "utf-8-sig")
    assert JAPANESE.encode("utf-8-sig") == path.read_bytes()  # what writing it back in that encoding gives


def test_no_coding_line_is_utf8_and_other_bytes_are_refused_as_before(tmp_path):
    path = tmp_path / "latin1.py"
    path.write_bytes(("import chainer\n" + CAFE).encode("latin-1"))
    with pytest.raises(SourceError, match=r"latin1\.py:2: not UTF-8 \(byte 0xe9\); re-encode the file as UTF-8"):
        read_source(path)


def test_a_coding_line_on_line_3_does_not_count(tmp_path):
    path = tmp_path / "late.py"
    path.write_bytes(("import os\nimport sys\n# coding: latin-1\n" + CAFE).encode("latin-1"))
    with pytest.raises(SourceError, match=r"late\.py:4: not UTF-8"):
        read_source(path)


def test_bytes_that_are_not_the_declared_encoding_are_refused_in_one_line(tmp_path):
    path = tmp_path / "wrong.py"
    path.write_bytes("# coding: euc-jp\nx = 1\n# caf\xe9\n".encode("latin-1"))
    with pytest.raises(SourceError) as raised:
        read_source(path)
    message = str(raised.value)
    assert "\n" not in message and message.startswith(f"{path}:3: not euc-jp as its coding line declares")


@pytest.mark.parametrize("data, reason", [
    (b"# coding: klingon\nx = 1\n", "unknown encoding: klingon"),
    (b"\xef\xbb\xbf# coding: latin-1\nx = 1\n", "encoding problem: utf-8"),  # a BOM says UTF-8
])
def test_a_coding_line_python_refuses_is_refused_in_one_line(tmp_path, data, reason):
    path = tmp_path / "bad.py"
    path.write_bytes(data)
    with pytest.raises(SourceError) as raised:
        read_source(path)
    assert str(raised.value).startswith(f"{path}: bad coding line ({reason})") and "\n" not in str(raised.value)


def test_check_shapes_reads_a_file_with_a_coding_line(tmp_path):
    script = tmp_path / "script.py"
    script.write_bytes(("# -*- coding: euc-jp -*-\n" + JAPANESE + "import numpy as np\nimport chainer.links as L\n"
                        "x = np.zeros((2, 5), dtype=np.float32)\ny = L.Linear(4, 3)(x)\n").encode("euc-jp"))
    (finding,) = check_static(script).findings
    assert finding.line == 7


# --- tabs in Python 2 indentation

MIXED = ("if x:\n"
         "        a = 1\n"
         "\tb = '''\n"
         "\tkept'''\n"
         "\tc = (1,\n"
         "\t\t2)\n"
         "\t# a comment\n"
         "\td = 1 + \\\n"
         "\t\t3\n"
         "  \te = 'a\\tb'\n")


def test_tabs_of_indentation_expand_to_multiples_of_8_and_nothing_else_changes():
    expanded, lines = expand_python2_tabs(MIXED)
    assert expanded == ("if x:\n"
                        "        a = 1\n"
                        "        b = '''\n"
                        "\tkept'''\n"  # inside a string
                        "        c = (1,\n"
                        "\t\t2)\n"  # inside brackets
                        "        # a comment\n"
                        "        d = 1 + \\\n"
                        "\t\t3\n"  # after a backslash
                        "        e = 'a\\tb'\n")  # 2 spaces, then a tab to column 8
    assert lines == [3, 5, 7, 8, 10]


def test_source_without_tabs_in_its_indentation_is_returned_as_is():
    source = "x = '\t'\nif x:\n    y = (1,\n\t2)\n"
    assert expand_python2_tabs(source) == (source, [])


def test_what_python2_cannot_tokenize_comes_back_unchanged():
    source = "if x:\n\ty = '''never closed\n"
    assert expand_python2_tabs(source) == (source, [])


def test_check_shapes_reads_python2_with_tabs_and_spaces_mixed():
    source = "def f(x):\n        if x:\n\t    print x\n        return x\n"
    with pytest.raises(SyntaxError):
        ast.parse(source)
    tree = ast.parse(python2_syntax_to_python3(source, "mixed.py"))
    assert [type(node).__name__ for node in tree.body[0].body] == ["If", "Return"]
