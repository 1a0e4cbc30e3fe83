"""The fix hint and the layer's name and origin of a definite mismatch say what is wrong where (the
audit of issue 5, items 8 and 9)."""

from __future__ import annotations

from netport.shapes import check_static
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "shapes" / "fixtures"


def only_finding(name: str):
    (finding,) = check_static(FIXTURES / name).findings
    return finding


def test_stack_in_a_plain_list_is_named_by_the_list_and_fed_the_raw_input():
    finding = only_finding("plain_list_stack_bug.py")
    assert finding.layer["name"] == "aes[1].enc"
    assert (finding.expected["value"], finding.actual["value"]) == (1000, 784)
    assert finding.layer["built_from"][1].endswith("plain_list_stack_bug.py:20 with k=1")
    assert finding.hint == ("layer 2 of the stack is fed the raw 784-wide input; feed it the codes of layer 1 "
                            "(1000 wide)")


def test_module_list_stack_fed_the_stack_input_is_not_called_a_units_order_problem():
    finding = only_finding("module_list_stack_bug.py")
    assert finding.layer["name"] == "aes[1].enc"
    assert finding.hint == ("layer 2 of the stack is fed 784 features, the width of the stack's input (what layer 1 "
                            "takes); feed it the codes of layer 1 (256 wide)")


def test_numbered_layers_built_in_a_loop_keep_their_loop_index_and_get_the_stack_hint():
    finding = only_finding("numbered_layers_bug.py")
    assert finding.layer["name"] == "model.predictor.l1"
    assert finding.layer["built_from"][0].endswith("numbered_layers_bug.py:12 with i=1")
    assert finding.hint.startswith("layer 2 of the stack is fed the raw 784-wide input; feed it the output of layer 1 "
                                   "(300 wide), e.g. `h` (assigned at ")
    assert finding.hint.endswith("numbered_layers_bug.py:17), instead of the raw data")


def test_torch_view_flatten_gets_the_flattened_size():
    finding = only_finding("torch_view_flatten_bug.py")
    assert finding.layer["name"] == "Net.fc1"
    assert finding.hint == ("the convolutional features flatten to (20, 4, 4) = 320 values; build the Linear with "
                            "in_size 320 (or nn.LazyLinear(50), which takes its size from its first input)")


def test_python2_function_set_names_the_layer_that_feeds_it():
    finding = only_finding("py2_function_set_bug.py")
    assert finding.layer["name"] == "model.l2"
    assert finding.hint == ("its input is the 100-wide output of model.l1 (L.Linear(784 -> 100)): build model.l2 "
                            "with in_size 100, or model.l1 with 1000 outputs")


def test_conv_channel_mismatch(check_source):
    (finding,) = check_source("import torch\nfrom torch import nn\nconv = nn.Conv2d(3, 8, 3)\n"
                              "out = conv(torch.zeros(4, 1, 28, 28))\n").findings
    assert (finding.line, finding.expected["value"], finding.actual["value"]) == (4, 3, 1)
    assert finding.framework_message == "RuntimeError: expected input to have 3 channels, but got 1 channels"
    assert finding.hint == ("the input has 1 channel(s) on axis 1: build the layer with 1 input channels "
                            "(nn.Conv2d(1, 8, ...)) or feed it 3-channel images")


def test_channels_last_images(check_source):
    (finding,) = check_source("import chainer.links as L\nimport numpy as np\nconv = L.Convolution2D(3, 8, 3)\n"
                              "out = conv(np.zeros((4, 32, 32, 3), dtype=np.float32))\n").findings
    assert finding.hint == ("the input (4, 32, 32, 3) looks channels-last (N, H, W, C): the layer takes "
                            "(N, C, H, W); transpose it, e.g. x.transpose(0, 3, 1, 2)")


def test_the_producer_is_blamed_when_it_contradicts_the_mirrored_encoder():
    # issue 16: decoder 3 built 50 -> 500 instead of 50 -> 200; decoder 2 (200 -> 500) fails, and its sizes
    # mirror encoder 2, so the hint must not call it swapped
    finding = only_finding("decoder_chain_producer_bug.py")
    assert finding.layer["name"] == "model.dec2"
    assert finding.hint.startswith("model.dec2 is fed the 500-wide output of model.dec3 (L.Linear(50 -> 500), "
                                   "built at ")
    assert "it is model.dec3 that looks wrong: built 50 -> 200 it would fit the rest of the network (model.enc3, " \
           "L.Linear(200 -> 50) built at " in finding.hint
    assert "model.dec2 fits as built (model.enc2, L.Linear(500 -> 200)" in finding.hint
    assert finding.hint.endswith("build model.dec3 as L.Linear(50, 200)")
    assert "swapped" not in finding.hint
    # the value flow names the layer calls the value went through, with their construction sites
    layers = [step["desc"].split(",")[0] for step in finding.value_flow if step["desc"].startswith("through ")]
    assert layers == ["through model.enc1", "through model.enc2", "through model.enc3", "through model.dec3"]
    assert finding.value_flow[-1]["desc"].endswith("decoder_chain_producer_bug.py:21: output (8, 500)")


def test_the_producer_is_blamed_from_the_units_list_in_torch():
    finding = only_finding("torch_units_producer_bug.py")
    assert finding.hint.endswith("build decoder[0] as nn.Linear(16, 64)")


def test_the_consumer_is_blamed_when_its_own_sizes_have_no_support(check_source):
    finding = check_source(
        "import numpy as np\nimport chainer.links as L\nimport chainer.functions as F\n"
        "units = [784, 300, 100]\n"
        "l1, l2, l3 = L.Linear(784, 300), L.Linear(200, 100), L.Linear(100, 10)\n"
        "y = l3(l2(F.relu(l1(np.zeros((4, 784), dtype=np.float32)))))\n").errors[0]
    assert finding.hint.startswith("l2 (L.Linear(200 -> 100)) looks built for the wrong input: built 300 -> 100 it "
                                   "would fit the rest of the network (the units list `units` [784, 300, 100] has "
                                   "300 next to 100)")
    assert finding.hint.endswith("build l2 as L.Linear(300, 100)")


def test_a_layer_whose_output_another_layer_takes_is_not_called_swapped():
    # the LSTM built (200, 100) is fed 100: swapping it would break the Linear that takes its 100 outputs
    finding = only_finding("rnnlm_lstm_bug.py")
    assert finding.hint == ("its input is the 100-wide output of model.embed (L.EmbedID(1000 -> 100)): build "
                            "model.lstm with in_size 100, or model.embed with 200 outputs")
