"""Python's builtins, the methods of plain values (str.split, list.append...), and the standard-library
calls scripts make for their settings: argparse (its defaults, the script arguments after `--` and the
--set overrides) and functools.partial.
"""

from __future__ import annotations

from dataclasses import dataclass

from netport.shapes.library.registry import argument, register_models, register_object_methods
from netport.shapes.values import (
    UNKNOWN, Array, ClassValue, Container, Instance, LibraryObject, LibraryRef, Partial, SuperProxy, is_known,
)


@dataclass(eq=False)
class Builtin:
    name: str
    function: object


@dataclass(eq=False)
class ValueMethod:
    """A method of a concrete value (str.split, list.append...)."""

    value: object
    name: str


def concrete(*values) -> bool:
    return all(is_known(v) and not isinstance(v, (Array, LibraryObject, LibraryRef)) for v in values)


def _range(interp, args, kwargs, site):
    if concrete(*args) and all(isinstance(a, int) for a in args):
        try:
            return range(*args)
        except Exception:
            return UNKNOWN
    return ("range-unknown",)


def _len(interp, args, kwargs, site):
    value = args[0] if args else UNKNOWN
    if isinstance(value, Array):
        return value.shape[0] if value.shape and value.shape[0] is not None else UNKNOWN
    if isinstance(value, (list, tuple)):
        return UNKNOWN if id(value) in interp.inexact_lists else len(value)
    if isinstance(value, (str, dict, range)):
        return len(value)
    if isinstance(value, Container) or isinstance(value, Instance) and value.sequence:
        return UNKNOWN if value.inexact else len(value.children)
    if isinstance(value, LibraryObject) and value.kind == "TupleDataset":
        return value.fields["rows"] if value.fields["rows"] is not None else UNKNOWN
    return UNKNOWN


def _enumerate(interp, args, kwargs, site):
    items = interp.iterate(args[0], site) if args else UNKNOWN
    start = argument(args, kwargs, 1, "start", 0)
    if isinstance(items, list) and isinstance(start, int):
        return [(start + i, item) for i, item in enumerate(items)]
    if isinstance(items, tuple) and items and items[0] == "once":
        return ("once-items", (UNKNOWN, items[1]), items[2])
    return UNKNOWN


def _zip(interp, args, kwargs, site):
    lists = [interp.iterate(a, site) for a in args]
    if all(isinstance(x, list) for x in lists):
        return list(zip(*lists))
    return UNKNOWN


def _reversed(interp, args, kwargs, site):
    items = interp.iterate(args[0], site) if args else UNKNOWN
    return list(reversed(items)) if isinstance(items, list) else UNKNOWN


def _list(interp, args, kwargs, site):
    if not args:
        return []
    items = interp.iterate(args[0], site)
    return list(items) if isinstance(items, list) else UNKNOWN


def _tuple(interp, args, kwargs, site):
    items = _list(interp, args, kwargs, site)
    return tuple(items) if isinstance(items, list) else UNKNOWN


def _pure(function):
    def model(interp, args, kwargs, site):
        if not concrete(*args, *kwargs.values()):
            return UNKNOWN
        try:
            return function(*args, **kwargs)
        except Exception:
            return UNKNOWN
    return model


def _map(interp, args, kwargs, site):
    if len(args) < 2:
        return UNKNOWN
    lists = [interp.iterate(a, site) for a in args[1:]]
    if not all(isinstance(x, list) for x in lists):
        return UNKNOWN
    return [interp.call(args[0], list(items), {}, site) for items in zip(*lists)]


def _print(interp, args, kwargs, site):
    return None


def _super(interp, args, kwargs, site):
    frame = interp.frames[-1] if interp.frames else None
    if args and len(args) >= 2:
        return SuperProxy(args[0], args[1])
    if frame is not None and frame.cls is not None:
        return SuperProxy(frame.cls, frame.self_value)
    return UNKNOWN


_PLAIN_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "list": list, "tuple": tuple, "dict": dict}


def _isinstance(interp, args, kwargs, site):
    """isinstance(value, int / (list, tuple) / a class of the program) where the value is known; a
    recursive program walking a tree it built itself takes the right branch."""
    if len(args) != 2:
        return UNKNOWN
    value, spec = args
    specs = spec if isinstance(spec, tuple) else (spec,)
    if isinstance(value, (int, float, str, list, tuple, dict)) and all(
            isinstance(s, Builtin) and s.name in _PLAIN_TYPES for s in specs):
        return isinstance(value, tuple(_PLAIN_TYPES[s.name] for s in specs))  # (of a list: its items need not be)
    if isinstance(value, Instance) and specs and all(isinstance(s, ClassValue) for s in specs):
        if any(_derives(value.cls, s) for s in specs):
            return True
        return False if not value.cls.library_bases() else UNKNOWN
    return UNKNOWN


def _derives(cls, base) -> bool:
    return cls is base or any(isinstance(b, ClassValue) and _derives(b, base) for b in cls.bases)


def _getattr(interp, args, kwargs, site):
    if len(args) >= 2 and isinstance(args[1], str):
        value = interp.get_attribute(args[0], args[1], site)
        return value
    return UNKNOWN


def _setattr(interp, args, kwargs, site):
    if len(args) == 3 and isinstance(args[1], str):
        interp.set_attribute(args[0], args[1], args[2])
    return None


def _sorted(interp, args, kwargs, site):
    items = interp.iterate(args[0], site) if args else UNKNOWN
    if isinstance(items, list) and concrete(*items) and not kwargs:
        try:
            return sorted(items)
        except Exception:
            return UNKNOWN
    return UNKNOWN


BUILTINS = {
    "range": Builtin("range", _range), "len": Builtin("len", _len), "enumerate": Builtin("enumerate", _enumerate),
    "zip": Builtin("zip", _zip), "reversed": Builtin("reversed", _reversed), "list": Builtin("list", _list),
    "tuple": Builtin("tuple", _tuple), "map": Builtin("map", _map), "print": Builtin("print", _print),
    "super": Builtin("super", _super), "isinstance": Builtin("isinstance", _isinstance),
    "getattr": Builtin("getattr", _getattr), "setattr": Builtin("setattr", _setattr),
    "sorted": Builtin("sorted", _sorted),
    "True": True, "False": False, "None": None,
    "object": LibraryRef("builtins.object"),
    "exit": LibraryRef("sys.exit"), "quit": LibraryRef("sys.exit"),
}
for _name, _function in {"int": int, "float": float, "str": str, "bool": bool, "abs": abs, "min": min,
                         "max": max, "sum": sum, "round": round, "divmod": divmod, "pow": pow, "dict": dict}.items():
    BUILTINS[_name] = Builtin(_name, _pure(_function))


# ----------------------------------------------------------------- methods of plain values

_VALUE_METHODS = {
    str: {"split", "strip", "lower", "upper", "format", "join", "replace", "startswith", "endswith", "rstrip",
          "lstrip", "partition", "rsplit"},
    list: {"append", "extend", "insert", "pop", "index", "count", "copy"},
    tuple: {"index", "count"},
    dict: {"get", "keys", "values", "items", "copy", "update", "setdefault"},
}


def value_attribute(owner, name):
    """`owner.name` for a str, list, tuple or dict: a method the checker runs, or UNKNOWN."""
    for kind, names in _VALUE_METHODS.items():
        if isinstance(owner, kind) and name in names:
            return ValueMethod(owner, name)
    return UNKNOWN


def value_method(interp, method: ValueMethod, args, kwargs, site):
    owner, name = method.value, method.name
    if name in ("append", "extend", "insert") and isinstance(owner, list):
        if name == "append":
            owner.append(args[0] if args else UNKNOWN)
        elif name == "extend":
            items = interp.iterate(args[0], site) if args else []
            if isinstance(items, list):
                owner.extend(items)
            else:
                interp.inexact_lists.add(id(owner))
        else:
            if len(args) == 2 and isinstance(args[0], int):
                owner.insert(args[0], args[1])
        if interp.multipliers:
            interp.inexact_lists.add(id(owner))  # appended in a loop interpreted once
        return None
    if not concrete(*args, *kwargs.values()) and name not in ("get", "items", "values", "keys", "pop"):
        return UNKNOWN
    try:
        result = getattr(owner, name)(*args, **kwargs)
    except Exception:
        return UNKNOWN
    if name in ("keys", "values", "items"):
        return list(result)
    return result


# ----------------------------------------------------------------- argparse

def _argument_parser(interp, args, kwargs, site):
    return LibraryObject("ArgumentParser", {"arguments": [], "defaults": {}})


def _add_argument(interp, parser, args, kwargs, site):
    flags = [a for a in args if isinstance(a, str)]
    if not flags:
        return None
    long_flags = [f for f in flags if f.startswith("--")]
    dest = kwargs.get("dest")
    if not isinstance(dest, str):
        dest = (long_flags[0] if long_flags else flags[0]).lstrip("-").replace("-", "_")
    action = kwargs.get("action", "store")
    if action == "store_true":
        default = kwargs.get("default", False)
    elif action == "store_false":
        default = kwargs.get("default", True)
    else:
        default = kwargs.get("default", None)
    kind = kwargs.get("type")
    if isinstance(default, str) and isinstance(kind, Builtin) and kind.name in ("int", "float"):
        default = kind.function(interp, [default], {}, site)
    parser.fields["arguments"].append({"flags": flags, "dest": dest, "default": default, "type": kind,
                                       "action": action, "positional": not flags[0].startswith("-"),
                                       "nargs": kwargs.get("nargs"), "const": kwargs.get("const")})
    return None


def _convert(interp, value: str, kind, site):
    if isinstance(kind, Builtin):
        return kind.function(interp, [value], {}, site)
    if kind is None:
        return value
    return UNKNOWN


def _parse_args(interp, parser, args, kwargs, site):
    """What argparse makes of the script arguments (after `--`) and the --set overrides."""
    arguments = parser.fields["arguments"]
    values = {a["dest"]: a["default"] for a in arguments}
    values.update(parser.fields["defaults"])
    by_flag = {flag: a for a in arguments for flag in a["flags"] if flag.startswith("-")}
    positionals = [a for a in arguments if a["positional"]]
    tokens = list(interp.script_args)
    position = 0
    while tokens:
        token = tokens.pop(0)
        value = None
        if token.startswith("-") and "=" in token:
            token, value = token.split("=", 1)
        spec = by_flag.get(token)
        if spec is None:
            if not token.startswith("-") and position < len(positionals):
                spec = positionals[position]
                position += 1
                values[spec["dest"]] = _convert(interp, token, spec["type"], site)
            elif token.startswith("-") and not _is_number(token):
                interp.note(f"script argument {token}: the script has no such option", site)
            continue
        dest, action, nargs = spec["dest"], spec["action"], spec["nargs"]
        if action in ("store_true", "store_false", "store_const"):
            values[dest] = {"store_true": True, "store_false": False}.get(action, spec.get("const"))
        elif action == "count":
            values[dest] = (values[dest] or 0) + 1 if isinstance(values[dest], int) or values[dest] is None else UNKNOWN
        elif nargs in ("+", "*") or isinstance(nargs, int) and not isinstance(nargs, bool):
            texts = [] if value is None else [value]
            while tokens and (not tokens[0].startswith("-") or _is_number(tokens[0])) \
                    and not (isinstance(nargs, int) and len(texts) >= nargs):
                texts.append(tokens.pop(0))
            values[dest] = [_convert(interp, text, spec["type"], site) for text in texts]
        else:
            if value is None and tokens and (nargs != "?" or not tokens[0].startswith("-")):
                value = tokens.pop(0)
            converted = _convert(interp, value, spec["type"], site) if value is not None else \
                (spec.get("const") if nargs == "?" else UNKNOWN)
            if action == "append":
                converted = (list(values[dest]) if isinstance(values[dest], list) else []) + [converted]
            values[dest] = converted
    interp.options_seen.extend(a["dest"] for a in arguments if a["dest"] not in interp.options_seen)
    for name, text in interp.overrides.items():
        spec = next((a for a in arguments if a["dest"] == name), None)
        if spec is None:
            continue  # a usage error unless another parser of the script has it (Interpreter.run)
        interp.overrides_used.add(name)
        if spec["action"] in ("store_true", "store_false"):
            values[name] = text.lower() in ("1", "true", "yes", "on")
        elif spec["nargs"] in ("+", "*") or isinstance(spec["nargs"], int) or spec["action"] == "append":
            # --set units=784,250,10 (or space-separated): the list the option's words make
            values[name] = [_convert(interp, part, spec["type"], site) for part in text.replace(",", " ").split()]
        else:
            values[name] = _convert(interp, text, spec["type"], site)
    for a in positionals:
        if values.get(a["dest"]) is None and a["nargs"] not in ("?", "*"):
            values[a["dest"]] = UNKNOWN
    return LibraryObject("Namespace", values)


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _parse_known_args(interp, parser, args, kwargs, site):
    return (_parse_args(interp, parser, args, kwargs, site), [])


def _set_defaults(interp, parser, args, kwargs, site):
    parser.fields["defaults"].update(kwargs)
    return None


def _same_parser(interp, parser, args, kwargs, site):
    return parser


def _partial(interp, args, kwargs, site):
    if not args:
        return UNKNOWN
    return Partial(args[0], list(args[1:]), dict(kwargs))


register_models({
    "argparse.ArgumentParser": _argument_parser,
    "functools.partial": _partial,
})
register_object_methods({
    ("ArgumentParser", "add_argument"): _add_argument,
    ("ArgumentParser", "parse_args"): _parse_args,
    ("ArgumentParser", "parse_known_args"): _parse_known_args,
    ("ArgumentParser", "set_defaults"): _set_defaults,
    ("ArgumentParser", "add_argument_group"): _same_parser,
    ("ArgumentParser", "add_mutually_exclusive_group"): _same_parser,
})
