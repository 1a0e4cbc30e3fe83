"""How the interpreter reaches the library models: a call, an attribute, a subscript or a loop over a
value it does not interpret itself goes to the model of the library the value comes from. A call of a
library name finds its model in the registry; a name with no model is unknown, with one note per API
for the ML libraries (none for the standard library's, nor for the quiet APIs the libraries list).
"""

from __future__ import annotations

from netport.shapes import layers
from netport.shapes.arrays import index_array
# importing a library module registers its models: data's are reached through the registry alone
from netport.shapes.library import data  # noqa: F401
from netport.shapes.library import recurrent  # noqa: F401
from netport.shapes.library.losses import call_loss_module
from netport.shapes.library.builtins import Builtin, ValueMethod, value_attribute, value_method
from netport.shapes.library.chainer import call_classifier, dataset_rows
from netport.shapes.library.networks import SEQUENCE_METHODS, BoundLibraryMethod, chain_method, sequence_item
from netport.shapes.library.numpy import ArrayMethod, array_attribute, array_method
from netport.shapes.library.registry import MODELS, OBJECT_METHODS, ObjectMethod, canonical, is_quiet
from netport.shapes.library.torch import loader_batch
from netport.shapes.values import UNKNOWN, Array, Container, Instance, Layer, LibraryObject, LibraryRef, is_known

# Libraries whose unmodelled calls deserve a note; the standard library's are simply unknown.
NOTED_LIBRARIES = ("chainer", "torch", "numpy", "cupy", "netport", "sklearn", "mlxtend")


def call(interp, function, args, kwargs, site):
    if isinstance(function, Builtin):
        return function.function(interp, args, kwargs, site)
    if isinstance(function, (Layer, Container)):
        return layers.call_layer(interp, function, args, kwargs, site)
    if isinstance(function, ArrayMethod):
        return array_method(interp, function.array, function.name, args, kwargs, site)
    if isinstance(function, ValueMethod):
        return value_method(interp, function, args, kwargs, site)
    if isinstance(function, BoundLibraryMethod):
        return chain_method(interp, function, args, kwargs, site)
    if isinstance(function, ObjectMethod):
        handler = OBJECT_METHODS.get((function.owner.kind, function.name))
        return UNKNOWN if handler is None else handler(interp, function.owner, args, kwargs, site)
    if isinstance(function, LibraryObject):
        if function.kind == "LossModule":
            return call_loss_module(interp, function, args, kwargs, site)
        return call_classifier(interp, function, args, site) if function.kind == "Classifier" else UNKNOWN
    if isinstance(function, LibraryRef):
        qualified = canonical(function.qualified)
        model = MODELS.get(qualified)
        if model is None and is_quiet(qualified):
            return UNKNOWN
        if model is None:
            for prefix, shape_preserving in layers.SHAPE_PRESERVING_PREFIXES:
                if qualified.startswith(prefix) and qualified[len(prefix):] in shape_preserving:
                    return layers.preserve(args, site)
            if qualified.split(".")[0] in NOTED_LIBRARIES:
                interp.note(qualified, site)
            return UNKNOWN
        result = model(interp, args, kwargs, site)
        if isinstance(result, Layer) and layers.has_weights(result):
            interp.layers_built.append(result)  # the rest of the chain, which the hints weigh a layer against
        return result
    return UNKNOWN


def attribute(interp, owner, name, site):
    if isinstance(owner, Array):
        return array_attribute(owner, name, site)
    if isinstance(owner, Container) and name in SEQUENCE_METHODS:
        return BoundLibraryMethod(owner, name)
    if isinstance(owner, (Layer, Container)):
        return layers.layer_attribute(interp, owner, name, site)
    if isinstance(owner, LibraryObject):
        if name in owner.fields:
            return owner.fields[name]
        if owner.kind == "TupleDataset" and name == "_datasets":  # the arrays a TupleDataset holds
            return tuple(owner.fields["arrays"])
        return ObjectMethod(owner, name)
    if isinstance(owner, (str, list, tuple, dict)):
        return value_attribute(owner, name)
    return UNKNOWN


def subscript(interp, owner, key, site):
    if owner is UNKNOWN:
        return UNKNOWN
    if isinstance(owner, Array):
        return index_array(owner, key, site)
    if isinstance(owner, (list, tuple, str, dict, range)):
        if not is_known(key) or isinstance(key, tuple) and key and key[0] == "slice":
            return UNKNOWN
        if isinstance(owner, (list, tuple)) and id(owner) in interp.inexact_lists:
            return UNKNOWN
        try:
            return owner[key]
        except Exception:
            return UNKNOWN
    if isinstance(owner, Container) or isinstance(owner, Instance) and owner.sequence:
        return sequence_item(owner, key)
    if isinstance(owner, LibraryObject) and owner.kind == "TupleDataset":
        return dataset_rows(owner, key)
    return UNKNOWN


def iterate(interp, value, site):
    """Like Interpreter.iterate, for the values the interpreter leaves to the library models."""
    if isinstance(value, tuple) and value and value[0] == "once-items":  # enumerate() over a loop run once
        return ("once", value[1], value[2])
    if isinstance(value, tuple) and value == ("range-unknown",):  # range() of unknown bounds
        return ("once", UNKNOWN, None)
    if isinstance(value, Container) or isinstance(value, Instance) and value.sequence:
        return ("once", UNKNOWN, None) if value.inexact else list(value.children)
    if isinstance(value, Array):
        if value.shape:
            return ("once", value.with_shape(value.shape[1:]), value.shape[0])
        return ("once", UNKNOWN, None)
    if isinstance(value, LibraryObject):
        if value.kind == "TupleDataset":
            items = tuple(a.with_shape(a.shape[1:] if a.shape else None) for a in value.fields["arrays"])
            return ("once", items, value.fields["rows"])
        if value.kind == "Iterator":
            return ("once", value, None)
        if value.kind == "DataLoader":
            return ("once", loader_batch(value, site), None)
    return ("once", UNKNOWN, None)
