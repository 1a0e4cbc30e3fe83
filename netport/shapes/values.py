"""The abstract values of the static checker.

Concrete Python values (ints, strings, lists, tuples, dicts, None) stand for themselves; what the
checker cannot know is ``UNKNOWN``. Arrays are known only by their shape, each dimension an int
or ``None`` (a batch size or a count the checker did not follow), and carry the value flow that
produced them, which is what the report shows ("where did 784 come from").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace


class _Unknown:
    """A value the checker did not determine. Operations on it give it back; it is never an error."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:  # guards against a silent truth test: callers must use is_known
        raise TypeError("truth value of UNKNOWN")


UNKNOWN = _Unknown()


def is_known(value) -> bool:
    return value is not UNKNOWN


@dataclass(frozen=True)
class Site:
    """A place in the checked program."""

    path: str
    line: int
    col: int = 1

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class FlowStep:
    site: Site
    description: str
    layer: object = None  # the Layer the value went through here (named when a finding is made)


@dataclass(frozen=True)
class Array:
    """An ndarray, Variable or tensor, known by its shape. ``raw_input`` marks data straight from a
    dataset loader (after row selection only), which the fix hints need."""

    shape: tuple | None  # None: not even the rank is known
    flow: tuple[FlowStep, ...] = ()
    raw_input: bool = False
    owner: object = None  # the Link whose parameter this is
    produced_by: object = None  # the Layer whose output this is (activations keep it), for the hints
    unflattened: tuple | None = None  # the 4-D shape a reshape/flatten made this 2-D array from
    # class labels: every value in [0, classes) occurs (a dataset's labels), which a classifier's
    # output must cover; None when not known
    classes: int | None = None

    @property
    def ndim(self):
        return len(self.shape) if self.shape is not None else UNKNOWN

    def features(self):
        """prod(shape[1:]), the width a Chainer Linear sees, or None when not known."""
        if self.shape is None or len(self.shape) < 1:
            return None
        rest = self.shape[1:]
        if any(d is None for d in rest):
            return None
        return math.prod(rest)

    def with_shape(self, shape, keep_raw: bool = False) -> "Array":
        """An array of `shape` made from this one; `keep_raw`: the same data, rows selected (it keeps
        being the raw input and the same labels)."""
        return replace(self, shape=tuple(shape) if shape is not None else None,
                       raw_input=self.raw_input and keep_raw, owner=None, produced_by=None, unflattened=None,
                       classes=self.classes if keep_raw else None)

    def then(self, site: Site, description: str, keep_raw: bool = True, layer=None) -> "Array":
        """The same array, one step further along its value flow."""
        last = self.flow[-1] if self.flow else None
        if last is not None and (last.site == site or last.layer is not None and layer is None
                                 and (last.site.path, last.site.line) == (site.path, site.line)):
            # one step per place: `h = self.l2(h)` is the layer call, not also the assignment
            return replace(self, raw_input=self.raw_input and keep_raw)
        return replace(self, flow=self.flow + (FlowStep(site, description, layer),),
                       raw_input=self.raw_input and keep_raw)


def describe_shape(shape) -> str:
    if shape is None:
        return "(?)"
    dims = ["B" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


@dataclass
class Construction:
    """Where a layer was built: the innermost site and the calls that led there, with the values
    of the loop variables at each (which element of the units list it is)."""

    site: Site
    source: str
    stack: list[tuple[Site, str, dict]] = field(default_factory=list)
    loop_vars: dict = field(default_factory=dict)  # the unrolled loop variables where it was built


@dataclass(eq=False)
class Layer:
    """A Chainer link or torch module with weights: Linear, Convolution2D and their torch twins."""

    kind: str  # "L.Linear", "nn.Linear", "L.Convolution2D", "nn.Conv2d", ...
    in_size: int | None  # None: lazy, bound on the first call
    out_size: int | None
    built: Construction
    framework: str  # "chainer" or "torch"
    lazy: bool = False
    bound_at: Site | None = None
    # convolution and pooling geometry, each an (h, w) pair; None where the call did not say it
    # concretely, which leaves the output's spatial size unknown. pad may also be "same".
    ksize: tuple | None = None
    stride: tuple | None = (1, 1)
    pad: tuple | str | None = (0, 0)
    dilation: tuple | None = (1, 1)
    options: dict = field(default_factory=dict)  # ceil_mode, flatten axes, adaptive output size...
    parent: object = None
    name_in_parent: str | None = None

    def label(self) -> str:
        ins = "?" if self.in_size is None else str(self.in_size)
        outs = "?" if self.out_size is None else str(self.out_size)
        return f"{self.kind}({ins} -> {outs})"


@dataclass(eq=False)
class Container:
    """A ChainList / nn.ModuleList / nn.Sequential made directly from the library class."""

    kind: str
    children: list
    framework: str
    parent: object = None
    name_in_parent: str | None = None
    inexact: bool = False  # children appended in a loop interpreted once: their number is not known


@dataclass(eq=False)
class Module:
    """An imported module of the checked program: its global namespace."""

    name: str
    namespace: dict


@dataclass(frozen=True)
class LibraryRef:
    """A name from a library the checker does not interpret (chainer, torch, numpy, os, ...)."""

    qualified: str

    def child(self, name: str) -> "LibraryRef":
        return LibraryRef(f"{self.qualified}.{name}")


@dataclass(eq=False)
class LibraryObject:
    """An instance made by a modelled library call (an optimizer, a dataset, an iterator...)."""

    kind: str
    fields: dict = field(default_factory=dict)


@dataclass(eq=False)
class Function:
    """A function or method defined in the checked program."""

    node: object  # ast.FunctionDef / ast.Lambda
    module: Module
    defaults: dict
    path: str
    closure: dict | None = None
    owner: object = None  # the ClassValue for methods


@dataclass(eq=False)
class BoundMethod:
    function: object
    self_value: object


@dataclass(eq=False)
class ClassValue:
    name: str
    bases: list
    namespace: dict
    path: str

    def lookup(self, name: str):
        if name in self.namespace:
            return self.namespace[name]
        for base in self.bases:
            if isinstance(base, ClassValue):
                found = base.lookup(name)
                if found is not None:
                    return found
        return None

    def library_bases(self) -> list[str]:
        names = []
        for base in self.bases:
            if isinstance(base, LibraryRef):
                names.append(base.qualified)
            elif isinstance(base, ClassValue):
                names.extend(base.library_bases())
        return names


@dataclass(eq=False)
class Instance:
    cls: ClassValue
    attributes: dict = field(default_factory=dict)
    children: list = field(default_factory=list)  # links/modules registered, in order
    parent: object = None
    name_in_parent: str | None = None
    framework: str | None = None  # "chainer" or "torch" for Chain/Module subclasses
    sequence: bool = False  # ChainList / ModuleList / Sequential: iterable and indexable
    inexact: bool = False  # a sequence appended to in a loop interpreted once


@dataclass(eq=False)
class Partial:
    """functools.partial(fn, *args, **kwargs)."""

    function: object
    args: list
    kwargs: dict


@dataclass(eq=False)
class SuperProxy:
    cls: ClassValue
    self_value: object
