"""The small, CI-sized version of benchmarks/sae_quality.py: on the embedded MNIST subset the
autoencoder reconstructs the held-out digits better than PCA with the same code size."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from netport.data import load_mnist  # noqa: E402
from netport.sae import StackedAutoencoder, TrainConfig, fit  # noqa: E402


def squared_error_per_image(x, reconstruction):
    return float(np.mean(np.sum((np.asarray(reconstruction, dtype=np.float64) - x) ** 2, axis=1)))


def pca_reconstruction(x_train, x_test, k):
    mean = x_train.mean(axis=0, dtype=np.float64)
    _, _, vt = np.linalg.svd(x_train - mean, full_matrices=False)
    return (x_test - mean) @ vt[:k].T @ vt[:k] + mean


def test_autoencoder_beats_pca_with_the_same_code_size():
    mnist = load_mnist()
    code = 32
    torch.manual_seed(0)
    model = StackedAutoencoder([784, 256, code], activation="relu", linear_code=True, output_activation="sigmoid")
    fit(model, mnist.x_train, config=TrainConfig(epochs_pre=2, epochs_fine=10, progress=False, seed=0))
    autoencoder = squared_error_per_image(mnist.x_test, model.reconstruct(mnist.x_test).numpy())
    pca = squared_error_per_image(mnist.x_test, pca_reconstruction(mnist.x_train, mnist.x_test, code))
    print(f"test squared error per image: autoencoder {autoencoder:.2f}, PCA-{code} {pca:.2f}")
    assert autoencoder < 0.9 * pca
