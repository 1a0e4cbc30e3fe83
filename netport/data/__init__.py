"""Data sets netport's examples, shape checker and trainer read (MNIST for now)."""

from netport.data.mnist import MNIST, MNISTError, chainer_cache_dir, load_mnist

__all__ = ["MNIST", "MNISTError", "chainer_cache_dir", "load_mnist"]
