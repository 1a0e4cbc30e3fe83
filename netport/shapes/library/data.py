"""Where the training data comes from: netport.data.load_mnist (this project's loader) and Chainer's
get_mnist, with the shapes of the real arrays; sklearn's train_test_split is known but not followed.
"""

from __future__ import annotations

from netport.shapes.arrays import new_array
from netport.shapes.library.registry import argument, register_models
from netport.shapes.values import UNKNOWN, LibraryObject

MNIST_EMBEDDED = (4000, 1000)  # netport.data's embedded subset: train, test rows
MNIST_ITEM = {1: (784,), 2: (28, 28), 3: (1, 28, 28)}  # the shape of one image by `ndim`


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
        "y_train": new_array((train_rows,), site, "load_mnist(): y_train"),
        "x_test": images(test_rows, "x_test"),
        "y_test": new_array((test_rows,), site, "load_mnist(): y_test"),
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
            datasets.append(LibraryObject("TupleDataset", {"arrays": [x, new_array((rows,), site, "labels")],
                                                           "rows": rows}))
    return tuple(datasets)


def _train_test_split(interp, args, kwargs, site):
    return UNKNOWN


register_models({
    "netport.data.load_mnist": _load_mnist,
    "chainer.datasets.get_mnist": _get_mnist,
    "chainer.datasets.mnist.get_mnist": _get_mnist,
    "sklearn.model_selection.train_test_split": _train_test_split,
})
