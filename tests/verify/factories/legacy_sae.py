"""Factory for `netport verify`: the legacy SAE of legacy_examples/mnist_sae (Chainer 1.24)."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "legacy_examples", "mnist_sae"))
import net  # noqa: E402


def build():
    np.random.seed(0)
    model = net.StackedAutoEncoder([net.AutoEncoder(784, 32), net.AutoEncoder(32, 2)])
    return model, lambda x: model(x, train=False)  # v1: inference is asked for by argument
