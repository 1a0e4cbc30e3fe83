"""Reconstruction error as Hinton & Salakhutdinov (2006) report it, and the PCA baseline.

Their figure is the squared error per image summed over the 784 pixels (in [0, 1]) and averaged
over the test images: 784 times a mean-squared-error loss."""

from __future__ import annotations

import numpy as np


def squared_error_per_image(x, reconstruction) -> float:
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    reconstruction = np.asarray(reconstruction, dtype=np.float64).reshape(len(x), -1)
    return float(np.mean(np.sum((reconstruction - x) ** 2, axis=1)))


def pca_reconstruction(x_train, x_test, k: int) -> np.ndarray:
    """``x_test`` projected on the first ``k`` principal components of ``x_train`` and back."""
    x_train = np.asarray(x_train, dtype=np.float64).reshape(len(x_train), -1)
    x_test = np.asarray(x_test, dtype=np.float64).reshape(len(x_test), -1)
    mean = x_train.mean(axis=0)
    _, _, vt = np.linalg.svd(x_train - mean, full_matrices=False)
    basis = vt[:k]
    return (x_test - mean) @ basis.T @ basis + mean
