"""torch: DataLoader and TensorDataset, tensor creation, torch.flatten/transpose, optimizers' step and the
losses (the numpy-like functions come from numpy.py). Modules (nn.Linear, nn.Conv2d, pooling...) are
modelled in layers.py, user nn.Module classes in networks.py. TensorDataset, optimizers and losses
behave as Chainer's do in the shape domain and share their models (chainer.py).
"""

from __future__ import annotations

from netport.shapes.arrays import as_shape, expand_dims, flatten, new_array, squeeze
from netport.shapes.library.chainer import new_optimizer, tuple_dataset
from netport.shapes.library.networks import bare_chain
from netport.shapes.library.numpy import (
    axis_function, concatenation, creation_dims, passthrough, reduction_function, reshape_function, stacking,
    transpose_function,
)
from netport.shapes.library.registry import argument, register_models, register_object_methods, register_quiet
from netport.shapes.values import UNKNOWN, Array, LibraryObject


def _data_loader(interp, args, kwargs, site):
    return LibraryObject("DataLoader", {"dataset": argument(args, kwargs, 0, "dataset"),
                                        "batch_size": argument(args, kwargs, 1, "batch_size", 1)})


def loader_batch(loader: LibraryObject, site):
    dataset = loader.fields.get("dataset")
    rows = loader.fields.get("batch_size") if isinstance(loader.fields.get("batch_size"), int) else None
    if isinstance(dataset, LibraryObject) and dataset.kind == "TupleDataset":
        return [a.with_shape((rows,) + tuple(a.shape[1:]) if a.shape else None, keep_raw=True)
                for a in dataset.fields["arrays"]]
    return UNKNOWN


def _optimizer_step(interp, owner, args, kwargs, site):
    interp.count_update()
    return None


def _randint(interp, args, kwargs, site):
    """torch.randint(high, size) / torch.randint(low, high, size)."""
    size = kwargs.get("size", args[-1] if len(args) in (2, 3) else UNKNOWN)
    shape = as_shape(size) if isinstance(size, (tuple, list)) else None
    return new_array(shape, site, "random integers") if shape is not None else UNKNOWN


def _transpose(interp, args, kwargs, site):
    x = args[0] if args else UNKNOWN
    if isinstance(x, Array) and x.shape is not None and len(args) == 3 and all(isinstance(a, int) for a in args[1:]):
        shape = list(x.shape)
        a, b = args[1], args[2]
        shape[a], shape[b] = shape[b], shape[a]
        return Array(tuple(shape), x.flow, False, owner=("transposed", x.owner) if len(shape) == 2 else None)
    return UNKNOWN


def _flatten(interp, args, kwargs, site):
    x = args[0] if args else UNKNOWN
    start = argument(args, kwargs, 1, "start_dim", 0)
    end = argument(args, kwargs, 2, "end_dim", -1)
    return flatten(x, start, end) if isinstance(x, Array) else UNKNOWN


register_models({
    "torch.nn.Module": bare_chain("torch", False, "Module"),
    "torch.utils.data.DataLoader": _data_loader,
    "torch.utils.data.TensorDataset": tuple_dataset,
    "torch.as_tensor": passthrough,
    "torch.tensor": passthrough,
    "torch.from_numpy": passthrough,
    "torch.flatten": _flatten,
    "torch.reshape": reshape_function("torch"),
    "torch.transpose": _transpose,
    "torch.t": transpose_function,
    "torch.zeros": creation_dims,
    "torch.ones": creation_dims,
    "torch.randn": creation_dims,
    "torch.rand": creation_dims,
    "torch.randint": _randint,
    "torch.empty": creation_dims,
    "torch.cat": concatenation("tensors", "dim", 0),
    "torch.concat": concatenation("tensors", "dim", 0),
    "torch.stack": stacking("tensors", "dim"),
    "torch.manual_seed": lambda interp, args, kwargs, site: None,
    "torch.max": reduction_function("dim", "keepdim", pair_with_dim=True),
    "torch.min": reduction_function("dim", "keepdim", pair_with_dim=True),
    "torch.squeeze": axis_function(squeeze, "dim"),
    "torch.unsqueeze": axis_function(expand_dims, "dim"),
})
register_models({f"torch.{name}": reduction_function("dim", "keepdim")
                 for name in ("sum", "mean", "std", "var", "prod", "argmax", "argmin", "amax", "amin")})
register_models({f"torch.optim.{name}": new_optimizer
                 for name in ("Adam", "SGD", "Adagrad", "Adadelta", "RMSprop", "AdamW")})
register_object_methods({("Optimizer", "step"): _optimizer_step})
register_quiet(("torch.nn.init.", "torch.save", "torch.load", "torch.device", "torch.no_grad", "torch.enable_grad",
                "torch.backends.", "torch.cuda.", "torch.nn.Parameter", "torch.set_num_threads",
                "torch.use_deterministic", "torch.full"))
