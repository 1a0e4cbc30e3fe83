"""Names are resolved by qualified name: every import spelling matches, a local F does not."""

from __future__ import annotations

import pytest

from netport.migrate import migrate_source

SPELLINGS = {
    "alias": ("import chainer.functions as F\n", "F.dropout"),
    "from-import module": ("from chainer import functions\n", "functions.dropout"),
    "package import": ("import chainer\n", "chainer.functions.dropout"),
    "from-import function": ("from chainer.functions import dropout\n", "dropout"),
    "other alias": ("import chainer.functions as fn\n", "fn.dropout"),
}


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_dropout_train_flag_is_found_under_every_import_spelling(spelling):
    header, func = SPELLINGS[spelling]
    result = migrate_source(f"{header}y = {func}(x, 0.5, train=False)\n")
    assert f"y = {func}(x, 0.5)\n" in result.migrated
    assert "with chainer.using_config('train', False):" in result.migrated
    assert [f.rule for f in result.findings] == ["CH020"]


def test_a_local_variable_called_F_is_not_chainer():
    source = ("import chainer\n\n\ndef f(F, x):\n    return F.dropout(x, train=False)\n")
    result = migrate_source(source)
    assert result.migrated == source
    assert result.findings == []


def test_positional_wscale_is_normalised_before_it_can_rebind_to_nobias():
    source = "import chainer.links as L\nc = L.Convolution2D(16, 32, 5, 1, 0, 2.0)\n"
    result = migrate_source(source)
    assert "L.Convolution2D(16, 32, 5, 1, 0, initialW=chainer.initializers.LeCunNormal(math.sqrt(2.0)))" \
        in result.migrated
    assert {f.rule for f in result.findings} == {"CH001", "CH011"}


@pytest.mark.parametrize("source, expected", [
    ("import chainer.links as L\nl = L.Linear(3, 2, 0.5)\n", "initialW=chainer.initializers.LeCunNormal(math.sqrt(0.5))"),
    ("import chainer.functions as F\ny = F.softmax(x, False)\n", "y = F.softmax(x)\n"),
    ("import chainer.functions as F\nl = F.softmax_cross_entropy(x, t, True, False)\n",
     "l = F.softmax_cross_entropy(x, t, normalize=False)\n"),
])
def test_silent_positional_rebinds(source, expected):
    result = migrate_source(source)
    assert expected in result.migrated
    assert any(f.rule == "CH001" for f in result.findings)


def test_a_renamed_parameter_in_the_same_slot_stays_positional():
    """save_npz(filename, obj) became save_npz(file, obj): same slot, same meaning."""
    source = "from chainer import serializers\nserializers.save_npz('m.npz', model)\n"
    assert migrate_source(source).migrated == source


def test_untouched_chainer_code_is_reported_clean():
    source = "import chainer.functions as F\ny = F.relu(F.linear(x, W, b))\n"
    result = migrate_source(source)
    assert result.migrated == source and result.findings == []


def test_scopes_stay_aligned_across_many_nested_functions_of_the_same_name():
    """Regression (found on Chainer 1.24's source): name resolution walks Python's symbol tables
    in step with the traversal; methods sharing a name in several classes must not confuse it."""
    body = "".join(
        f"class K{i}(object):\n    @chainer.cuda.memoize()\n    def gen(self):\n"
        f"        def inner(F):\n            return F.relu(1)\n        return inner\n\n\n" for i in range(6))
    result = migrate_source("import chainer\n\n\n" + body)
    assert result.migrated.count("@chainer.backends.cuda.memoize()") == 6
    assert result.migrated.count("return F.relu(1)") == 6  # a parameter named F is not chainer.functions


def test_links_and_functions_reached_through_their_defining_modules_are_known():
    source = ("import chainer\nfrom chainer.links.connection import convolution_2d as C\n"
              "from chainer.functions.pooling import max_pooling_2d as M\n"
              "conv = C.Convolution2D(3, 8, 3, use_cudnn=False)\ny = M.max_pooling_2d(x, 2, use_cudnn=False)\n")
    result = migrate_source(source)
    assert "use_cudnn=False" not in result.migrated and not result.needs_manual_work
    assert "conv = C.Convolution2D(3, 8, 3)" in result.migrated


def test_a_class_of_the_same_name_elsewhere_in_chainer_is_not_taken_for_the_public_one():
    # chainer.utils.type_check.Variable is not chainer.Variable: its second argument is a name
    source = "from chainer.utils import type_check\nv = type_check.Variable(self, 'self')\n"
    assert migrate_source(source).migrated == source


def test_from_chainer_import_function_set_follows_the_rename():
    result = migrate_source("from chainer import FunctionSet\nimport chainer.functions as F\n"
                            "model = FunctionSet(l1=F.Linear(784, 100))\n")
    assert result.migrated.startswith("from chainer import Chain\n")
    assert "model = Chain()\nwith model.init_scope():\n    model.l1 = L.Linear(784, 100)\n" in result.migrated
    assert not result.needs_manual_work


def test_the_caffe_importer_moved_to_the_links():
    result = migrate_source("import chainer\nfrom chainer.functions import caffe\nfunc = caffe.CaffeFunction(path)\n")
    assert result.migrated == "import chainer\nfrom chainer.links import caffe\nfunc = caffe.CaffeFunction(path)\n"
    assert not result.needs_manual_work
