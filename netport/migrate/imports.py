"""What the names of a module were imported as, read from the compiler's tree: the one import map
that the project scan and every rewrite pass share."""

from __future__ import annotations

import ast


def import_map(tree: ast.Module | None) -> dict[str, str]:
    """Local name -> the module or object it was imported as, from every import in the file (the
    first binding of a name wins, module-level imports before those in functions); read from the
    compiler's tree: a LibCST traversal here cost a fifth of the run time."""
    roots: dict[str, str] = {}
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    roots.setdefault(alias.asname, alias.name)
                else:
                    root = alias.name.split(".")[0]
                    roots.setdefault(root, root)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name != "*":
                    roots.setdefault(alias.asname or alias.name, f"{node.module}.{alias.name}")
    return roots


def qualified_name(node: ast.expr, imports: dict[str, str]) -> str | None:
    """The qualified name a dotted expression refers to through ``imports`` (``F.relu`` ->
    ``chainer.functions.relu``); None when its root was not imported."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in imports:
        return None
    parts.append(imports[node.id])
    return ".".join(reversed(parts))
