"""Where the training data comes from: netport.data.load_mnist (this project's loader) and Chainer's
get_mnist, with the shapes of the real arrays; sklearn's train_test_split is known but not followed.
"""

from __future__ import annotations

from dataclasses import replace

from netport.shapes.arrays import new_array
from netport.shapes.library.registry import argument, register_models
from netport.shapes.values import UNKNOWN, LibraryObject

MNIST_EMBEDDED = (4000, 1000)  # netport.data's embedded subset: train, test rows
MNIST_ITEM = {1: (784,), 2: (28, 28), 3: (1, 28, 28)}  # the shape of one image by `ndim`
MNIST_CLASSES = 10  # digits 0..9, every one of them in each split (the embedded subset too)


def labels(rows, site, description, classes):
    """A data set's class labels: `rows` of them, taking every value in [0, classes)."""
    return replace(new_array((rows,), site, description), classes=classes)


def _load_mnist(interp, args, kwargs, site):
    path = argument(args, kwargs, 0, "path", None)
    ndim = kwargs.get("ndim", 1)
    item = MNIST_ITEM.get(ndim) if isinstance(ndim, int) else None
    train_rows, test_rows = MNIST_EMBEDDED if path is None else (None, None)
    where = "the embedded subset" if path is None else "a file"
    item_text = ", ".join(map(str, item)) if item else "?"

    def images(rows, name):
        shape = (rows,) + item if item else None
        return new_array(shape, site, f"load_mnist(ndim={ndim}) ({where}): {name} (N, {item_text})", raw_input=True)

    fields = {
        "x_train": images(train_rows, "x_train"),
        "y_train": labels(train_rows, site, "load_mnist(): y_train", MNIST_CLASSES),
        "x_test": images(test_rows, "x_test"),
        "y_test": labels(test_rows, site, "load_mnist(): y_test", MNIST_CLASSES),
        "source": UNKNOWN,
    }
    return LibraryObject("MNIST", fields)


def _get_mnist(interp, args, kwargs, site):
    withlabel = argument(args, kwargs, 0, "withlabel", True)
    ndim = argument(args, kwargs, 1, "ndim", 1)
    item = MNIST_ITEM.get(ndim) if isinstance(ndim, int) else None
    datasets = []
    for rows, split in ((60000, "train"), (10000, "test")):
        x = new_array((rows,) + item if item else None, site,
                      f"get_mnist(ndim={ndim}) {split} images {('(N, ' + ', '.join(map(str, item)) + ')') if item else ''}",
                      raw_input=True)
        if withlabel is False:
            datasets.append(x)
        else:
            datasets.append(LibraryObject("TupleDataset", {
                "arrays": [x, labels(rows, site, f"get_mnist() {split} labels", MNIST_CLASSES)], "rows": rows}))
    return tuple(datasets)


CIFAR_ITEM = {1: (3072,), 3: (3, 32, 32)}  # Chainer's get_cifar10/100 by `ndim` (2 is refused)


def _get_cifar(classes):
    """chainer.datasets.get_cifar10/100(withlabel=True, ndim=3, scale=1.): 50,000 training and 10,000 test
    images, each label taking every one of `classes` values."""
    def model(interp, args, kwargs, site):
        withlabel = argument(args, kwargs, 0, "withlabel", True)
        ndim = argument(args, kwargs, 1, "ndim", 3)
        item = CIFAR_ITEM.get(ndim) if isinstance(ndim, int) else None
        datasets = []
        for rows, split in ((50000, "train"), (10000, "test")):
            x = new_array((rows,) + item if item else None, site, f"get_cifar{classes}(ndim={ndim}) {split} images",
                          raw_input=True)
            if withlabel is False:
                datasets.append(x)
            else:
                datasets.append(LibraryObject("TupleDataset", {
                    "arrays": [x, labels(rows, site, f"get_cifar{classes}() {split} labels", classes)],
                    "rows": rows}))
        return tuple(datasets)
    return model


def _get_ptb_words(interp, args, kwargs, site):
    """chainer.datasets.get_ptb_words(): the train, validation and test word ids, 1-D arrays (their lengths
    are the files', not modelled)."""
    return tuple(new_array((None,), site, f"get_ptb_words() {split} word ids") for split in ("train", "valid", "test"))


def _train_test_split(interp, args, kwargs, site):
    return UNKNOWN


register_models({
    "netport.data.load_mnist": _load_mnist,
    "chainer.datasets.get_mnist": _get_mnist,
    "chainer.datasets.mnist.get_mnist": _get_mnist,
    "sklearn.model_selection.train_test_split": _train_test_split,
    "chainer.datasets.get_cifar10": _get_cifar(10),
    "chainer.datasets.get_cifar100": _get_cifar(100),
    "chainer.datasets.get_ptb_words": _get_ptb_words,
})
