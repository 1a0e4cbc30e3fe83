"""Chainer: its data sets and iterators, the Trainer loop and optimizers, L.Classifier, the functions
that are no layers (losses, F.flatten; the numpy-like ones come from numpy.py), and the APIs only
Chainer v1 has. Links (L.Linear, L.Convolution2D...) and pooling are modelled in layers.py, user
Chain classes in networks.py.
"""

from __future__ import annotations

import ast

from netport.shapes import layers
from netport.shapes.arrays import expand_dims, flatten, index_array, new_array, rows_selected, squeeze
from netport.shapes.library.networks import bare_chain
from netport.shapes.library.numpy import (
    axis_function, concatenation, passthrough, reduction_function, reshape_function, split_function, stacking,
    transpose_function,
)
from netport.shapes.library.registry import (
    ObjectMethod, argument, canonical, register_models, register_object_methods, register_quiet,
)
from netport.shapes.values import UNKNOWN, Array, Layer, LibraryObject, LibraryRef

# APIs and arguments that only Chainer v1 has (all removed in v2): a program using them runs on v1,
# so its errors are predicted in v1's words unless --chainer-version says otherwise.
CHAINER_V1_APIS = {"chainer.FunctionSet", "chainer.functions.Linear", "chainer.functions.Convolution2D",
                   "chainer.cuda.init"}
CHAINER_V1_KEYWORDS = {"volatile", "use_cudnn", "wscale"}
CHAINER_V1_MODE_KEYWORDS = {"chainer.functions.dropout": "train", "chainer.functions.batch_normalization": "test"}


def chainer_v1_idiom(function, kwargs) -> str | None:
    """What in this call only Chainer v1 has, if anything."""
    if isinstance(function, LibraryRef):
        qualified = canonical(function.qualified)
        if not qualified.startswith("chainer"):
            return None
        if qualified in CHAINER_V1_APIS:
            return qualified.replace("chainer.functions.", "F.")
        mode = CHAINER_V1_MODE_KEYWORDS.get(qualified)
    elif isinstance(function, Layer) and function.framework == "chainer":
        mode = "test" if function.kind == "L.BatchNormalization" else None
    elif isinstance(function, ObjectMethod):
        return "optimizer.zero_grads()" if (function.owner.kind, function.name) == ("Optimizer", "zero_grads") \
            else None
    else:
        return None
    keyword = next((k for k in kwargs if k in CHAINER_V1_KEYWORDS or k == mode), None)
    return f"{keyword}=" if keyword else None


def v1_idiom_in_source(tree: ast.AST) -> tuple[str, int] | None:
    """(idiom, line) of the first Chainer-v1-only API a module's source uses, read from its syntax alone:
    a v1 program is one wherever its v1 APIs are, including code the interpretation never reaches (after
    the failing line, or in a module it does not import)."""
    aliases = {}  # local name -> the chainer module or name it stands for
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "chainer":
                    aliases[alias.asname or "chainer"] = alias.name if alias.asname else "chainer"
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "chainer" and not node.level:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Attribute) and node.func.attr == "zero_grads" and not node.args:
            found.append(("optimizer.zero_grads()", node.lineno))
            continue
        qualified = _dotted(node.func, aliases)
        if qualified is None:
            continue
        idiom = chainer_v1_idiom(LibraryRef(qualified), {k.arg: None for k in node.keywords if k.arg})
        if idiom is not None:
            found.append((idiom, node.lineno))
    return min(found, key=lambda item: item[1]) if found else None


def _dotted(node, aliases) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in aliases:
        return None
    return ".".join([aliases[node.id], *reversed(parts)])


# ----------------------------------------------------------------- data sets and iterators

def tuple_dataset(interp, args, kwargs, site):
    """TupleDataset(x, t) / TensorDataset(x, y): a member the checker does not know stays an array
    of unknown shape, and the others are still followed."""
    if not args or not any(isinstance(a, Array) for a in args):
        return UNKNOWN
    arrays = [a if isinstance(a, Array) else new_array(None, site, "a dataset member not followed") for a in args]
    rows = next((a.shape[0] for a in arrays if a.shape), None)
    return LibraryObject("TupleDataset", {"arrays": arrays, "rows": rows})


def dataset_rows(dataset: LibraryObject, key):
    rows = rows_selected(dataset.fields["rows"], key)
    if isinstance(key, int):
        return tuple(a.with_shape(a.shape[1:]) if a.shape else a for a in dataset.fields["arrays"])
    arrays = [index_array(a, key, None) for a in dataset.fields["arrays"]]
    return LibraryObject("TupleDataset", {"arrays": arrays, "rows": rows})


def _serial_iterator(interp, args, kwargs, site):
    return LibraryObject("Iterator", {"dataset": argument(args, kwargs, 0, "dataset"),
                                      "batch_size": argument(args, kwargs, 1, "batch_size")})


def _iterator_next(interp, owner, args, kwargs, site):
    return owner


def _concat_examples(interp, args, kwargs, site):
    batch = argument(args, kwargs, 0, "batch")
    arrays = batch_arrays(batch, site)
    if arrays is None:
        return UNKNOWN
    return arrays if len(arrays) > 1 else arrays[0]


def batch_arrays(iterator, site):
    """What concat_examples makes of one batch of an iterator: a tuple of arrays."""
    if not isinstance(iterator, LibraryObject) or iterator.kind != "Iterator":
        return None
    dataset = iterator.fields.get("dataset")
    batch = iterator.fields.get("batch_size")
    rows = batch if isinstance(batch, int) else None
    if isinstance(dataset, LibraryObject) and dataset.kind == "TupleDataset":
        return tuple(a.with_shape((rows,) + tuple(a.shape[1:]) if a.shape else None, keep_raw=True)
                     .then(site, "a minibatch") for a in dataset.fields["arrays"])
    if isinstance(dataset, Array) and dataset.shape:
        return (dataset.with_shape((rows,) + tuple(dataset.shape[1:]), keep_raw=True).then(site, "a minibatch"),)
    return None


# ----------------------------------------------------------------- optimizers, the Trainer loop, L.Classifier

def new_optimizer(interp, args, kwargs, site):
    return LibraryObject("Optimizer", {"target": None})


def _optimizer_setup(interp, owner, args, kwargs, site):
    owner.fields["target"] = args[0] if args else UNKNOWN
    return None


def _optimizer_update(interp, owner, args, kwargs, site):
    lossfun = argument(args, kwargs, 0, "lossfun", None)
    rest = args[1:]
    if lossfun is None:
        interp.count_update()
        return None
    interp.call(lossfun, list(rest), {k: v for k, v in kwargs.items() if k != "lossfun"}, site)
    interp.count_update()
    return None


def _updater(interp, args, kwargs, site):
    return LibraryObject("Updater", {"iterator": argument(args, kwargs, 0, "iterator"),
                                     "optimizer": argument(args, kwargs, 1, "optimizer"),
                                     "loss_func": kwargs.get("loss_func")})


def _trainer(interp, args, kwargs, site):
    return LibraryObject("Trainer", {"updater": argument(args, kwargs, 0, "updater")})


def _evaluator(interp, args, kwargs, site):
    return LibraryObject("Evaluator", {"iterator": argument(args, kwargs, 0, "iterator"),
                                       "target": argument(args, kwargs, 1, "target")})


def _trainer_extend(interp, owner, args, kwargs, site):
    extension = args[0] if args else UNKNOWN
    if isinstance(extension, LibraryObject) and extension.kind == "Evaluator":
        owner.fields.setdefault("evaluators", []).append(extension)
    return None


def _trainer_run(interp, owner, args, kwargs, site):
    updater = owner.fields.get("updater")
    if isinstance(updater, LibraryObject):
        iterator = updater.fields.get("iterator")
        optimizer = updater.fields.get("optimizer")
        target = optimizer.fields.get("target") if isinstance(optimizer, LibraryObject) else UNKNOWN
        lossfun = updater.fields.get("loss_func")
        if lossfun is None or lossfun is UNKNOWN:
            lossfun = target
        batch = batch_arrays(iterator, site)
        if batch is not None:
            interp.multipliers.append(None)
            try:
                interp.call(lossfun, list(batch), {}, site)
                interp.count_update()
            finally:
                interp.multipliers.pop()
    for evaluator in owner.fields.get("evaluators", []):
        batch = batch_arrays(evaluator.fields.get("iterator"), site)
        if batch is not None:
            interp.call(evaluator.fields.get("target"), list(batch), {}, site)
    return None


def _classifier(interp, args, kwargs, site):
    """L.Classifier(predictor, lossfun=F.softmax_cross_entropy, accfun=F.accuracy)."""
    predictor = argument(args, kwargs, 0, "predictor")
    lossfun = argument(args, kwargs, 1, "lossfun", LibraryRef("chainer.functions.softmax_cross_entropy"))
    accfun = argument(args, kwargs, 2, "accfun", LibraryRef("chainer.functions.accuracy"))
    classifier = LibraryObject("Classifier", {"predictor": predictor, "lossfun": lossfun, "accfun": accfun,
                                              "compute_accuracy": True})
    if layers.is_layer(predictor):
        layers.set_parent(predictor, classifier, "predictor")
    return classifier


def call_classifier(interp, classifier: LibraryObject, args, site):
    """Classifier(*xs, t): the predictor takes all but the last argument (label_key=-1), the loss and the
    accuracy compare its output with the last."""
    if not args:
        return UNKNOWN
    y = interp.call(classifier.fields["predictor"], list(args[:-1]), {}, site)
    if len(args) < 2 or not isinstance(y, Array):
        return new_array((), site, "loss")
    loss = interp.call(classifier.fields.get("lossfun", UNKNOWN), [y, args[-1]], {}, site)
    if classifier.fields.get("compute_accuracy") is True:
        interp.call(classifier.fields.get("accfun", UNKNOWN), [y, args[-1]], {}, site)
    return loss if isinstance(loss, Array) else new_array((), site, "loss")


def scalar_loss(interp, args, kwargs, site):
    return new_array((), site, "a loss")


def _flatten_function(interp, args, kwargs, site):
    x = args[0] if args else UNKNOWN
    return flatten(x) if isinstance(x, Array) else UNKNOWN


register_models({
    "chainer.datasets.TupleDataset": tuple_dataset,
    "chainer.iterators.SerialIterator": _serial_iterator,
    "chainer.iterators.MultiprocessIterator": _serial_iterator,
    "chainer.dataset.concat_examples": _concat_examples,
    "chainer.dataset.convert.concat_examples": _concat_examples,
    "chainer.training.StandardUpdater": _updater,
    "chainer.training.updaters.StandardUpdater": _updater,
    "chainer.training.updater.StandardUpdater": _updater,
    "chainer.training.Trainer": _trainer,
    "chainer.training.extensions.Evaluator": _evaluator,
    "chainer.links.Classifier": _classifier,
    "chainer.Variable": passthrough,
    "chainer.Chain": bare_chain("chainer", False, "Chain"),
    "chainer.FunctionSet": bare_chain("chainer", False, "FunctionSet"),
    "chainer.cuda.to_cpu": passthrough,
    "chainer.cuda.to_gpu": passthrough,
    "chainer.backends.cuda.to_cpu": passthrough,
    "chainer.as_variable": passthrough,
    "chainer.functions.reshape": reshape_function("function"),
    "chainer.functions.transpose": transpose_function,
    "chainer.functions.flatten": _flatten_function,
    "chainer.functions.concat": concatenation("xs", "axis", 1),
    "chainer.functions.stack": stacking("xs", "axis"),
    "chainer.functions.squeeze": axis_function(squeeze, "axis"),
    "chainer.functions.expand_dims": axis_function(expand_dims, "axis"),
    "chainer.functions.gaussian": passthrough,  # a sample of the shape of its mean
    "chainer.functions.split_axis": split_function,
})
register_models({f"chainer.functions.{name}": reduction_function("axis", "keepdims")
                 for name in ("sum", "mean", "max", "min", "prod", "argmax", "argmin")})
register_models({f"chainer.optimizers.{name}": new_optimizer
                 for name in ("Adam", "MomentumSGD", "SGD", "AdaGrad", "AdaDelta", "RMSprop", "NesterovAG",
                              "RMSpropGraves")})
register_object_methods({
    ("Optimizer", "setup"): _optimizer_setup,
    ("Optimizer", "update"): _optimizer_update,
    ("Iterator", "next"): _iterator_next,
    ("Iterator", "__next__"): _iterator_next,
    ("Trainer", "extend"): _trainer_extend,
    ("Trainer", "run"): _trainer_run,
})
register_quiet(("chainer.initializers.", "chainer.serializers.", "chainer.optimizer_hooks.", "chainer.optimizer.",
                "chainer.using_config", "chainer.no_backprop_mode", "chainer.force_backprop_mode",
                "chainer.cuda.get_device", "chainer.backends.cuda.get_device", "chainer.Parameter", "chainer.config",
                "chainer.set_debug", "chainer.training.extensions.", "chainer.cuda.check_cuda_available",
                "chainer.training.triggers.", "chainer.computational_graph."))
