"""Losses and metrics (NPS004): a prediction against a target of another shape, a classifier's output with
fewer columns than its labels have classes; nothing where the sizes are not proven or the framework
broadcasts (issue 16: loss width mismatches were missed)."""

from __future__ import annotations

import pytest

CHAINER = "import chainer\nimport chainer.functions as F\nimport chainer.links as L\nimport numpy as np\n"
TORCH = "import torch\nimport torch.nn.functional as F\nfrom torch import nn\n"


def only_error(report):
    (finding,) = report.errors
    return finding


def test_mean_squared_error_of_another_width_names_the_layer_that_made_it(check_source):
    finding = only_error(check_source(CHAINER + "dec = L.Linear(64, 748)\nx = np.zeros((8, 784), dtype=np.float32)\n"
                                                "loss = F.mean_squared_error(F.sigmoid(dec(x[:, :64])), x)\n"))
    assert (finding.rule, finding.line, finding.expected["value"], finding.actual["value"]) == ("NPS004", 7, 784, 748)
    assert finding.message == ("F.mean_squared_error compares a prediction of shape (8, 748) with a target of shape "
                               "(8, 784)")
    assert finding.hint.startswith("the prediction is the 748-wide output of dec (L.Linear(64 -> 748), built at ")
    assert finding.hint.endswith("but the target is 784 wide: build dec with 784 outputs")
    assert "through dec, L.Linear(64 -> 748) built at" in finding.value_flow[-1]["desc"]


@pytest.mark.parametrize("version, expect", [((1, 24, 0), "in_types[0].shape == in_types[1].shape"),
                                             ((7, 8, 1), "x0.shape == x1.shape")])
def test_the_chainer_message_follows_the_version(check_source, version, expect):
    finding = only_error(check_source(CHAINER + "y = np.zeros((4, 3), dtype=np.float32)\n"
                                                "loss = F.mean_squared_error(y, np.zeros((4, 5), dtype=np.float32))\n",
                                      chainer_version=version))
    assert finding.framework_message == ("InvalidType: Invalid operation is performed in: MeanSquaredError (Forward) "
                                         f"Expect: {expect} Actual: (4, 3) != (4, 5)")


def test_an_unknown_batch_is_never_a_difference(check_source):
    report = check_source(CHAINER + "import sys\nn = int(sys.argv[1])\n"
                                    "y = L.Linear(784, 784)(np.zeros((n, 784), dtype=np.float32))\n"
                                    "loss = F.mean_squared_error(y, np.zeros((8, 784), dtype=np.float32))\n")
    assert report.findings == []


def test_torch_broadcasting_losses_fail_only_where_broadcasting_does(check_source):
    fits = check_source(TORCH + "y = nn.Linear(10, 1)(torch.zeros(8, 10))\n"
                                "a = F.mse_loss(y, torch.zeros(8, 1)) + F.l1_loss(y, torch.zeros(1))\n"
                                "b = F.mse_loss(y, torch.zeros(8, 1), reduction='none')\n"
                                "print(nn.Linear(1, 2)(b))\n")
    assert fits.findings == [] and fits.checked_calls == 2
    finding = only_error(check_source(TORCH + "y = torch.zeros(8, 10)\nloss = nn.MSELoss()(y, torch.zeros(8, 3))\n"))
    assert finding.framework_message == ("RuntimeError: The size of tensor a (10) must match the size of tensor b (3) "
                                         "at non-singleton dimension 1")


def test_class_count_from_the_labels_of_a_dataset(check_source):
    finding = only_error(check_source(TORCH + "from netport.data import load_mnist\nmnist = load_mnist()\n"
                                              "t = torch.from_numpy(mnist.y_train[:32]).long()\n"
                                              "out = nn.Linear(784, 8)(torch.from_numpy(mnist.x_train[:32]))\n"
                                              "loss = F.cross_entropy(out, t)\n"))
    assert (finding.line, finding.expected["value"], finding.actual["value"]) == (8, 10, 8)
    assert finding.framework_message == "IndexError: Target L is out of bounds. (L: the first label from 8 to 9)"
    assert "but the labels take 10 values (0..9): build" in finding.hint
    # more outputs than classes, or labels of no known data set: no finding
    wider = check_source(TORCH + "from netport.data import load_mnist\nmnist = load_mnist()\n"
                                 "t = torch.from_numpy(mnist.y_train[:32]).long()\n"
                                 "loss = F.cross_entropy(torch.zeros(32, 12), t)\n"
                                 "loss = F.cross_entropy(torch.zeros(32, 5), torch.randint(0, 10, (32,)))\n")
    assert wider.findings == []


def test_labels_for_another_batch_or_one_hot_labels(check_source):
    batch = only_error(check_source(TORCH + "loss = F.cross_entropy(torch.zeros(8, 10), torch.zeros(7).long())\n"))
    assert batch.framework_message == "ValueError: Expected input batch_size (8) to match target batch_size (7)."
    # torch takes class probabilities of the prediction's shape; Chainer takes class indices only
    assert check_source(TORCH + "loss = F.cross_entropy(torch.zeros(8, 10), torch.zeros(8, 10))\n").findings == []
    one_hot = only_error(check_source(CHAINER + "loss = F.softmax_cross_entropy(np.zeros((8, 10), dtype=np.float32), "
                                                "np.zeros((8, 10), dtype=np.int32))\n", chainer_version=(5, 4, 0)))
    assert one_hot.framework_message == ("InvalidType: Invalid operation is performed in: SoftmaxCrossEntropy "
                                         "(Forward) Expect: t.ndim == x.ndim - 1 Actual: 2 != 1")
    assert "t.argmax(axis=1)" in one_hot.hint
    accuracy = only_error(check_source(CHAINER + "acc = F.accuracy(np.zeros((8, 10), dtype=np.float32), "
                                                 "np.zeros((7,), dtype=np.int32))\n", chainer_version=(1, 24, 0)))
    assert accuracy.framework_message.endswith("Expect: in_types[0].shape[0] == in_types[1].shape[0] Actual: 8 != 7")


def test_classifier_applies_its_loss_and_accuracy(check_source):
    finding = only_error(check_source(CHAINER + "from netport.data import load_mnist\nmnist = load_mnist()\n"
                                                "model = L.Classifier(L.Linear(784, 3))\n"
                                                "loss = model(mnist.x_train[:16], mnist.y_train[:16])\n"))
    assert (finding.rule, finding.line, finding.message) == (
        "NPS004", 8, "F.softmax_cross_entropy is given labels of 10 classes (0..9) but a prediction of 3 classes on "
                     "axis 1")
    custom = check_source(CHAINER + "from netport.data import load_mnist\nmnist = load_mnist()\n"
                                    "model = L.Classifier(L.Linear(784, 784), lossfun=F.mean_squared_error)\n"
                                    "model.compute_accuracy = False\n"
                                    "loss = model(mnist.x_train[:16], mnist.x_train[:16])\n")
    assert custom.findings == []


def test_bernoulli_nll_broadcasts_its_data_against_the_prediction(check_source):
    fits = check_source(CHAINER + "x = np.zeros((8, 784), dtype=np.float32)\n"
                                  "loss = F.bernoulli_nll(x, L.Linear(784, 784)(x))\n"
                                  "loss += F.bernoulli_nll(x, np.zeros((1, 784)))\n")
    assert fits.findings == []
    finding = only_error(check_source(CHAINER + "x = np.zeros((8, 784), dtype=np.float32)\n"
                                                "loss = F.bernoulli_nll(x, L.Linear(784, 748)(x))\n",
                                      chainer_version=(7, 8, 1)))
    assert finding.framework_message == ("InvalidType: cannot broadcast inputs of the following shapes: lhs.shape = "
                                         "(8, 748) rhs.shape = (8, 784)")
