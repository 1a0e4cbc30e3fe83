"""The Python 2 pre-pass: Python 2 found by its syntax, its tabs, or its names (CH090, CH091), and
`/` between integers, which Python 2 floor-divided (CH092)."""

from __future__ import annotations

import pytest

from netport.migrate import Severity, migrate_paths, migrate_source
from netport.migrate.preparation import prepare
from netport.sources import read_source
from tests.conftest import REPO

CORPUS = REPO.parent / "shared" / "corpus"


def migrated(source: str, path: str = "example.py"):
    result = migrate_source(source, path)
    assert result.error is None, result.error
    return result.migrated, [(f.line, f.severity.value, f.rule) for f in result.findings if f.rule.startswith("CH09")]


# --- Python 2 by its names


@pytest.mark.parametrize("source, expected, fixer", [
    ("import chainer\nfor i in xrange(3):\n    print(i)\n",
     "import chainer\nfor i in range(3):\n    print(i)\n", "fix_xrange"),
    ("import chainer\nimport cPickle as pickle\nfrom StringIO import StringIO\n",
     "import chainer\nimport pickle\nfrom io import StringIO\n", "fix_imports"),
    ("import chainer\nfor k, v in d.iteritems():\n    pass\n",
     "import chainer\nfor k, v in d.items():\n    pass\n", "fix_dict"),
    ("import chainer\nif d.has_key('a'):\n    pass\n", "import chainer\nif 'a' in d:\n    pass\n", "fix_has_key"),
    ("import chainer\ns = unicode(x)\n", "import chainer\ns = str(x)\n", "fix_unicode"),
    ("import chainer\nok = isinstance(x, basestring)\n", "import chainer\nok = isinstance(x, str)\n", "fix_basestring"),
    ("import chainer\nn = long(x)\n", "import chainer\nn = int(x)\n", "fix_long"),
    ("import chainer\nname = raw_input()\n", "import chainer\nname = input()\n", "fix_raw_input"),
    ("import chainer\nimport sys\nbig = sys.maxint\n", "import chainer\nimport sys\nbig = sys.maxsize\n",
     "fix_renames"),
    ("import chainer\nimport urllib2\n", "import chainer\nimport urllib.request, urllib.error, urllib.parse\n",
     "fix_urllib"),
])
def test_python3_syntax_with_python2_names_goes_through_their_fixers(source, expected, fixer):
    result = migrate_source(source, "example.py")
    assert result.migrated == expected and result.python2
    assert {f.message for f in result.findings if f.rule == "CH090"} == \
        {f"Python 2 converted to Python 3 (2to3 fixers: {fixer})"}


def test_only_the_fixers_of_the_names_found_change_anything():
    """print(a, b) printed a tuple in Python 2, and keys() gave a list: but this file's syntax is Python 3's,
    and the evidence is `xrange` alone: only fix_xrange runs."""
    source = "import chainer\nprint('a', 'b')\nfirst = d.keys()\nfor i in xrange(3):\n    s = u'x'\n"
    text, findings = migrated(source)
    assert text == source.replace("xrange", "range")
    assert findings == [(4, "INFO", "CH090")]


@pytest.mark.parametrize("source", [
    "import chainer\nprint('xrange, unicode and cPickle are gone')  # so is long\n",
    "import chainer\nxrange = range\nfor i in xrange(3):\n    pass\n",
    "import chainer\ntry:\n    unicode\nexcept NameError:\n    unicode = str\ns = unicode(1)\n",
    "import chainer\ntry:\n    input = raw_input\nexcept NameError:\n    pass\n",
    "import chainer\nfrom six.moves import xrange, cPickle\nfor i in xrange(3):\n    pass\n",
    "import chainer\nfrom past.builtins import basestring\nok = isinstance(x, basestring)\n",
    "import chainer\ntry:\n    import cPickle as pickle\nexcept ImportError:\n    import pickle\n",
    "import chainer\nimport six\nif six.PY2:\n    from StringIO import StringIO\nelse:\n    from io import StringIO\n",
    "import chainer\nimport sys\ntext_type = unicode if sys.version_info[0] == 2 else str\n",
    "import chainer\ntry:\n    items = d.iteritems()\nexcept AttributeError:\n    items = d.items()\n",
    "import chainer\nclass Store(object):\n    def has_key(self, key):\n        return False\nStore().has_key(1)\n",
    "import chainer\ndef f(long):\n    return long + 1\n",
    "import chainer\nimport curses\ncurses.has_key(13)\n",  # a module's function, not dict.has_key
    "import chainer\nn = len(xs) / 2\n",  # Python 3's true division: not Python 2 evidence
])
def test_python3_aware_code_is_left_alone(source):
    text, findings = migrated(source)
    assert (text, findings) == (source, [])
    assert migrate_source(source, "example.py").python2 is False


def test_dict_methods_alone_convert_but_leave_the_divisions_as_they_are():
    """Other objects than dicts have iteritems() (a mailbox.Mailbox does): enough evidence to rename the
    calls, not to read `/` as Python 2's."""
    source = "import chainer\nfor k, v in d.iteritems():\n    n = len(xs) / 2\n"
    text, findings = migrated(source)
    assert text == source.replace("iteritems", "items") and findings == [(2, "INFO", "CH090")]


def test_a_module_of_the_program_named_like_a_python2_one_is_not_python2(tmp_path):
    (tmp_path / "Queue.py").write_text("class Queue(object):\n    pass\n")
    source = "import chainer\nimport Queue\nq = Queue.Queue()\n"
    assert prepare(str(tmp_path / "train.py"), source).python2_text is None
    assert prepare(str(tmp_path / "elsewhere" / "train.py"), source).python2_text is not None


def test_python2_names_outside_a_chainer_program_are_not_ours():
    source = "for i in xrange(3):\n    print(i / 2)\n"
    assert migrated(source) == (source, [])


def test_python3_that_fissix_cannot_read_is_left_as_python3():
    source = "import chainer\ndef f(a, /, b):\n    return xrange(a)\n"  # positional-only parameters
    assert migrated(source) == (source, [])


# --- CH091: tabs and spaces mixed


def test_a_python2_file_with_tabs_and_spaces_mixed_is_read_as_python2_read_it():
    source = ("import chainer\n"
              "def train(n):\n"
              "        for i in xrange(n):\n"
              "\t    s = '''\n"
              "\tkept'''\n"
              "\t    print i, (s,\n"
              "\t\t      1)\n"
              "        return s\n")
    text, findings = migrated(source)
    assert text == ("import chainer\n"
                    "def train(n):\n"
                    "        for i in range(n):\n"
                    "            s = '''\n"
                    "\tkept'''\n"
                    "            print(i, (s,\n"
                    "\t\t      1))\n"
                    "        return s\n")
    assert findings == [(3, "INFO", "CH090"), (4, "INFO", "CH091"), (6, "INFO", "CH090")]
    result = migrate_source(source, "example.py")
    (indentation,) = [f for f in result.findings if f.rule == "CH091"]
    assert "and 1 more line(s) up to line 6" in indentation.message


def test_tabs_that_break_more_than_the_indentation_still_give_the_syntax_error():
    source = "import chainer\nif True:\n        x = 1\n\ty = (\n"
    result = migrate_source(source, "example.py")
    assert result.migrated is None and result.error.startswith("example.py:4:")


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the corpus (../shared/corpus) is not here")
def test_the_corpus_imagenet_trainer_with_a_tab_is_migrated():
    path = CORPUS / "shi3z+chainer_imagenet_tools" / "train_imagenet.py"
    prepared = prepare(str(path), read_source(path)[0])
    assert prepared.error is None
    assert [c.line for c in prepared.python2_changes if c.fixer == "indentation"] == [141]
    assert prepared.python2_text.splitlines()[140] == "        epoch_count=epoch"


# --- CH092: `/` between integers


def division(body: str, header: str = "import chainer\nimport numpy as np\nimport chainer.functions as F\n"
                                      "print 'Python 2'\n"):
    """Migrate ``body`` as part of a Python 2 file and return its text and CH092 findings."""
    result = migrate_source(header + body, "example.py")
    assert result.error is None, result.error
    offset = header.count("\n")
    findings = [(f.line - offset, f.severity.value) for f in result.findings if f.rule == "CH092"]
    return result.migrated.split("print('Python 2')\n", 1)[1], findings


@pytest.mark.parametrize("expression", [
    "len(xs) / 2", "int(s) / 3", "x.shape[0] / 2", "x.size / n_batch", "(3 + len(xs)) * 2 / 4", "-7 / 2",
    "n_batch / 2", "half / 2", "x.ndim / 2", "len(xs) % 7 / 2", "len(xs) // 7 / 2", "max(len(xs), 1) / 2",
])
def test_provable_integers_are_floor_divided(expression):
    body = f"n_batch = 100\nhalf = n_batch / 2\nvalue = {expression}\n"
    text, findings = division(body)
    assert text == f"n_batch = 100\nhalf = n_batch // 2\nvalue = {expression.replace(' / ', ' // ')}\n"
    assert findings == [(2, "INFO"), (3, "INFO")]


def test_loop_counters_and_names_assigned_only_integers_in_their_function():
    body = ("def epochs(data, n_epochs):\n"
            "    whole_len = data.shape[0]\n"
            "    batchsize = 20\n"
            "    for i, x in enumerate(data):\n"
            "        print i / 2, x / 2\n"
            "    for j in xrange(whole_len / batchsize * n_epochs):\n"
            "        total = 0\n"
            "        total += j\n"
            "        total /= 2\n"
            "    return [k / 2 for k in range(3)]\n")
    text, findings = division(body)
    assert text == ("def epochs(data, n_epochs):\n"
                    "    whole_len = data.shape[0]\n"
                    "    batchsize = 20\n"
                    "    for i, x in enumerate(data):\n"
                    "        print(i // 2, x / 2)\n"
                    "    for j in range(whole_len // batchsize * n_epochs):\n"
                    "        total = 0\n"
                    "        total += j\n"
                    "        total //= 2\n"
                    "    return [k // 2 for k in range(3)]\n")
    assert findings == [(5, "INFO"), (5, "WARNING"), (6, "INFO"), (9, "INFO"), (10, "INFO")]


@pytest.mark.parametrize("expression", [
    "len(xs) / 2.0", "float(n) / len(xs)", "n / float(len(xs))", "F.sum(y) / n", "np.sqrt(n) / 2",
    "x.astype(np.float32) / 255", "loss_sum / len(xs)", "x.mean() / 2", "math.pi / n",
])
def test_a_float_operand_leaves_the_division_alone_without_a_warning(expression):
    body = f"import math\nloss_sum = 0\nloss_sum += float(y)\nvalue = {expression}\n"
    text, findings = division(body)
    assert text == body and findings == []


def test_the_assignment_just_before_in_the_block_decides():
    body = ("def read_image(path):\n"
            "    image = np.asarray(load(path))\n"
            "    image = image[:, 1:3].astype(np.float32)\n"
            "    image -= mean_image\n"
            "    image /= 255\n"
            "    n = len(path)\n"
            "    print n / 2\n"
            "    n = measure(path)\n"
            "    return image, n / 2\n")
    text, findings = division(body)
    assert "    image /= 255\n    n = len(path)\n    print(n // 2)\n" in text
    assert text.endswith("    return image, n / 2\n")
    assert findings == [(7, "INFO"), (9, "WARNING")]


def test_an_unknown_operand_is_left_with_a_warning_that_says_what_to_do():
    body = "def f(width, stride):\n    print 'f'\n    return (width - 3) / stride + 1\n"
    result = migrate_source("import chainer\n" + body, "example.py")
    assert result.migrated == \
        "import chainer\ndef f(width, stride):\n    print('f')\n    return (width - 3) / stride + 1\n"
    (finding,) = [f for f in result.findings if f.rule == "CH092"]
    assert (finding.line, finding.col, finding.severity) == (4, 24, Severity.WARNING)
    assert finding.message == ("`(width - 3) / stride`: Python 2 floor-divided here when both operands were "
                               "integers, Python 3 always gives a float: write `//` if they are integers (Python 2's "
                               "result), leave `/` if either is a float")


def test_findings_come_back_at_the_lines_and_columns_of_the_file_as_given():
    # fix_tuple_params adds a line: the divisions after it are still reported at their own lines
    source = ("import chainer\n"
              "def f((a, b)):\n"
              "    return a\n"
              "n = len(xs)\n"
              "m = n / 2\n"
              "print n / k\n")
    result = migrate_source(source, "example.py")
    assert "m = n // 2\n" in result.migrated and result.migrated.count("\n") == source.count("\n") + 1
    assert [(f.line, f.col, f.severity.value) for f in result.findings if f.rule == "CH092"] == \
        [(5, 7, "INFO"), (6, 1, "WARNING")]


@pytest.mark.parametrize("source", [
    "from __future__ import division\nimport chainer\nn = len(xs)\nprint n / 2\n",
    "from __future__ import print_function, division\nimport chainer\nfor i in xrange(3):\n    print(i / 2)\n",
])
def test_future_division_keeps_true_division(source):
    result = migrate_source(source, "example.py")
    assert " / 2" in result.migrated and not [f for f in result.findings if f.rule == "CH092"]


def test_int_of_a_division_is_not_worth_a_warning():
    text, findings = division("value = int(a / b), a / b\n")
    assert text == "value = int(a / b), a / b\n" and findings == [(1, "WARNING")]


def test_python2_found_by_names_gets_its_divisions_floored_too():
    source = "import chainer\nfor i in xrange(len(xs) / 2):\n    pass\n"
    text, findings = migrated(source)
    assert text == "import chainer\nfor i in range(len(xs) // 2):\n    pass\n"
    assert findings == [(2, "INFO", "CH090"), (2, "INFO", "CH092")]


def test_division_findings_survive_the_cache(tmp_path):
    tree = tmp_path / "program"
    tree.mkdir()
    (tree / "train.py").write_text("import chainer\nn = len(xs)\nprint n / 2, n / k\n")
    store = tmp_path / "cache"

    def findings(migration):
        return [(f.line, f.col, f.severity, f.message) for r in migration.report.files for f in r.findings]

    first = findings(migrate_paths([tree], cache=store))
    assert [severity for _, _, severity, _ in first if severity is Severity.WARNING]
    assert findings(migrate_paths([tree], cache=store)) == first


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the corpus (../shared/corpus) is not here")
def test_corpus_files_python2_by_their_names_are_converted():
    utils = CORPUS / "cemoody+lda2vec" / "lda2vec" / "utils.py"
    prepared = prepare(str(utils), read_source(utils)[0])
    assert [(c.line, c.fixer) for c in prepared.python2_changes] == [(25, "fix_xrange")]
    inspection = CORPUS / "shi3z+chainer_imagenet_tools" / "inspection.py"
    prepared = prepare(str(inspection), read_source(inspection)[0])
    assert [(c.line, c.fixer) for c in prepared.python2_changes] == \
        [(26, "fix_imports"), (53, "division-unproven")]


def test_names_python3_reserved_since_are_renamed_only_where_the_new_name_means_the_same():
    from netport.migrate.python2 import rename_reserved_names

    text, lines = rename_reserved_names("import async\nasync.run(1)\ndef f(await):\n    return await\n")
    assert text == "async_ = __import__('async')\nasync_.run(1)\ndef f(await_):\n    return await_\n"
    assert [line for line, _ in lines] == [1, 2, 3, 4]
    assert rename_reserved_names("x = task.async\n") is None  # an attribute of something else
    assert rename_reserved_names("f(x, async=True)\n") is None  # a keyword of something else
    assert rename_reserved_names("async = 1\nasync_ = 2\n") is None  # the new name is taken
    assert rename_reserved_names("x = 1\n") is None
