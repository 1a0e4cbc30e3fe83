"""The tables of the library models, how a qualified name finds its model, and how a model reads its
arguments.

A model is a function ``model(interp, args, kwargs, site)`` that says what a library call returns in
the shape domain. Each library module registers its models at import, under the qualified name of the
API they model (``numpy.concatenate``), and the methods of the library objects it makes (an
optimizer's ``update``) under (object kind, method name); ``dispatch`` looks them up.
"""

from __future__ import annotations

from dataclasses import dataclass

from netport.shapes.values import UNKNOWN, LibraryObject, LibraryRef

MODELS: dict = {}  # qualified name -> model
OBJECT_METHODS: dict = {}  # (LibraryObject kind, method name) -> handler(interp, owner, args, kwargs, site)
_quiet_prefixes: tuple[str, ...] = ()

# Names that mean the same thing (re-exports, v1 module paths).
ALIASES = {
    "cupy": "numpy",
    "chainer.cuda.cupy": "numpy",
    "chainer.backends.cuda.cupy": "numpy",
    "chainer.cuda": "chainer.cuda",
    "chainer.backends.cuda": "chainer.cuda",
    "torch.nn.functional": "torch.nn.functional",
    "netport.data.mnist.load_mnist": "netport.data.load_mnist",
}


def register_models(models: dict) -> None:
    _register(MODELS, models, "models")


def register_object_methods(methods: dict) -> None:
    _register(OBJECT_METHODS, methods, "object methods")


def _register(table: dict, entries: dict, what: str) -> None:
    # an API has one model: a second one for the same name is a bug, not an override
    taken = entries.keys() & table.keys()
    if taken:
        raise ValueError(f"{what} registered twice: {', '.join(map(str, sorted(taken)))}")
    table.update(entries)


def register_quiet(prefixes: tuple[str, ...]) -> None:
    """APIs with no bearing on shapes (initialisers, saving, devices, config scopes): their result is
    unknown, and the report has no note about them."""
    global _quiet_prefixes
    _quiet_prefixes += prefixes


def is_quiet(qualified: str) -> bool:
    return qualified.startswith(_quiet_prefixes)


def ref(qualified: str) -> LibraryRef:
    return LibraryRef(ALIASES.get(qualified, qualified))


def canonical(qualified: str) -> str:
    if qualified in ALIASES:
        return ALIASES[qualified]
    for prefix in ("chainer.links.", "chainer.functions."):
        if qualified.startswith(prefix):
            return prefix + qualified.rsplit(".", 1)[-1]  # chainer.links.connection.linear.Linear
    if qualified.startswith("cupy."):
        return "numpy." + qualified[len("cupy."):]
    return qualified


def library_attribute(owner: LibraryRef, name: str) -> LibraryRef:
    return LibraryRef(canonical(f"{owner.qualified}.{name}"))


def argument(args: list, kwargs: dict, index: int | None, name: str | None, default=UNKNOWN):
    """The argument of a call given by keyword `name` or at position `index`; an `index` of None is a
    keyword-only parameter, a `name` of None a positional-only one.

    The keyword wins when both are there. A valid call never has both (Python raises TypeError), and a
    keyword names its parameter whatever the library version, while a position means that parameter
    only if the model's signature is the one the script was written for (Chainer's changed from v1 to
    v7)."""
    if name in kwargs:
        return kwargs[name]
    if index is not None and len(args) > index:
        return args[index]
    return default


@dataclass(eq=False)
class ObjectMethod:
    """A method of a library object (optimizer.update), looked up in OBJECT_METHODS when called."""

    owner: LibraryObject
    name: str
