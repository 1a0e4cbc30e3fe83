"""The small, CI-sized version of benchmarks/sae_quality.py: on the embedded MNIST subset the
autoencoder reconstructs the held-out digits better than PCA with the same code size."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from netport.data import load_mnist  # noqa: E402
from netport.sae import StackedAutoencoder, TrainConfig, fit  # noqa: E402
from netport.sae.metrics import pca_reconstruction, squared_error_per_image  # noqa: E402


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


def test_error_is_per_image_summed_over_pixels_and_pca_recovers_its_own_span():
    x = np.zeros((2, 4))
    assert squared_error_per_image(x, x + 0.5) == pytest.approx(4 * 0.25)  # 784 x MSE, here 4 x MSE
    rng = np.random.RandomState(0)
    train = rng.rand(50, 3) @ rng.rand(3, 8)  # rank 3 (after centring, at most 3)
    test = rng.rand(5, 3) @ rng.rand(3, 8)
    assert squared_error_per_image(train, pca_reconstruction(train, train, 3)) < 1e-20
    assert squared_error_per_image(test, pca_reconstruction(train, test, 1)) > 1e-3
