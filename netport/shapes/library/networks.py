"""The networks a script defines: its Chain/ChainList classes (Chainer) and Module/ModuleList/Sequential
classes (torch). Which framework a class derives from, what the __init__ and methods it inherits do
(links given to Chain.__init__, add_link, append, extend, insert, to_gpu...), and indexing a sequence
of layers. The classes' own code is interpreted from its body.
"""

from __future__ import annotations

from dataclasses import dataclass

from netport.shapes import layers
from netport.shapes.library.registry import canonical
from netport.shapes.values import UNKNOWN, ClassValue, Container, Instance, Layer

SEQUENCE_METHODS = ("append", "add_link", "add_module", "extend", "insert")


@dataclass(eq=False)
class BoundLibraryMethod:
    """A method the checked program calls on a chain/module that its own class does not define."""

    owner: object
    name: str
    via_super: bool = False


def container_kind(bases: list[str]):
    """(framework, is a sequence) for user classes derived from a Chain/Module class."""
    for base in bases:
        base = canonical(base)
        if base in ("chainer.ChainList", "chainer.link.ChainList", "torch.nn.ModuleList", "torch.nn.Sequential"):
            return ("chainer" if base.startswith("chainer") else "torch"), True
        if base in ("chainer.Chain", "chainer.link.Chain", "chainer.Link", "chainer.link.Link"):
            return "chainer", False
        if base in ("torch.nn.Module", "torch.nn.modules.module.Module"):
            return "torch", False
    return None


def chain_init(interp, instance: Instance, args, kwargs, site):
    """Chain.__init__(**links) (v1), ChainList.__init__(*links), nn.ModuleList(modules),
    nn.Sequential(*modules)."""
    if instance.framework == "chainer" and not instance.sequence:
        for name, value in kwargs.items():
            instance.attributes[name] = value
            layers.register_child(instance, name, value)
        return None
    if instance.sequence:
        items = args
        if instance.framework == "torch" and len(args) == 1 and not layers.is_layer(args[0]):
            items = interp.iterate(args[0], site)
            if not isinstance(items, list):
                instance.inexact = True
                return None
        for item in items:
            layers.append_child(instance, item)
    return None


def chain_method(interp, method: BoundLibraryMethod, args, kwargs, site):
    owner, name = method.owner, method.name
    if name == "__init__" and isinstance(owner, Instance):
        return chain_init(interp, owner, args, kwargs, site)
    if isinstance(owner, Container) or isinstance(owner, Instance) and owner.sequence:
        if name in SEQUENCE_METHODS:
            return sequence_method(interp, owner, name, args, site)
    if not isinstance(owner, Instance):
        return UNKNOWN
    if name == "add_link" and len(args) >= 2 and isinstance(args[0], str):
        owner.attributes[args[0]] = args[1]
        layers.register_child(owner, args[0], args[1])
        return None
    if name == "add_module" and len(args) == 2 and isinstance(args[0], str):
        owner.attributes[args[0]] = args[1]
        layers.register_child(owner, args[0], args[1])
        return None
    if name in ("init_scope", "to_gpu", "to_cpu", "cuda", "cpu", "to", "eval", "train", "cleargrads",
                "zerograds", "zero_grad", "add_param", "add_persistent", "register_buffer", "copy"):
        return owner if name in ("to_gpu", "to_cpu", "cuda", "cpu", "to", "eval", "train") else UNKNOWN
    if name in ("parameters", "params", "namedparams", "children", "modules"):
        return UNKNOWN
    return UNKNOWN


def sequence_method(interp, sequence, name, args, site):
    """ChainList.append/add_link, ModuleList.append/extend/insert, Sequential.add_module/append."""
    if interp.multipliers:
        sequence.inexact = True  # appended in a loop interpreted once: how many is not known
    if name in ("append", "add_link", "add_module"):
        layers.append_child(sequence, args[-1] if args else UNKNOWN)
    elif name == "extend":
        items = interp.iterate(args[0], site) if args else UNKNOWN
        if isinstance(items, list):
            for item in items:
                layers.append_child(sequence, item)
        else:
            sequence.inexact = True
    elif len(args) == 2 and isinstance(args[0], int) and not sequence.inexact:
        sequence.children.insert(args[0], args[1])
        for index, child in enumerate(sequence.children):
            if isinstance(child, (Layer, Container, Instance)) and child.parent is sequence:
                child.name_in_parent = str(index)
        layers.set_parent(args[1], sequence, str(sequence.children.index(args[1])))
    else:
        sequence.inexact = True
    return None


def sequence_item(sequence, key):
    """seq[i] and seq[a:b] of a ChainList/ModuleList/Sequential. A slice of a torch container is a
    container of the same kind (a Sequential slice is callable); of a ChainList, a list."""
    if sequence.inexact:
        return UNKNOWN
    if isinstance(key, int) and not isinstance(key, bool):
        try:
            return sequence.children[key]
        except IndexError:
            return UNKNOWN
    if isinstance(key, slice):
        children = list(sequence.children[key])
        if isinstance(sequence, Container) and sequence.framework == "torch":
            return Container(sequence.kind, children, sequence.framework)
        return children
    return UNKNOWN


def bare_chain(framework: str, sequence: bool, name: str):
    """chainer.Chain() / FunctionSet(**links) / nn.Module() made directly, links set as attributes."""
    def model(interp, args, kwargs, site):
        instance = Instance(ClassValue(name, [], {}, site.path), framework=framework, sequence=sequence)
        chain_init(interp, instance, args, kwargs, site)
        return instance
    return model
