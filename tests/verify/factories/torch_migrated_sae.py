"""Factory for `netport verify`: the PyTorch SAE that `netport migrate --to torch` made."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "migrated_examples", "torch",
                                "mnist_sae"))
import net  # noqa: E402


def build():
    return net.StackedAutoEncoder([net.AutoEncoder(784, 32), net.AutoEncoder(32, 2)])
