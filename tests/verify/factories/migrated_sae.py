"""Factory for `netport verify`: the Chainer 5+ SAE that `netport migrate` made."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "migrated_examples", "chainer",
                                "mnist_sae"))
import net  # noqa: E402


def build():
    return net.StackedAutoEncoder([net.AutoEncoder(784, 32), net.AutoEncoder(32, 2)])
