"""Import statements added and removed through LibCST's codemods: what the phases' preparations do
before the residual sweeps look for names left over."""

from __future__ import annotations

import dataclasses

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, ImportItem, RemoveImportsVisitor
from libcst.metadata import MetadataWrapper

from netport.migrate.passes import FileContext, top_level_imports


def remove_unused_chainer_imports(module: cst.Module, ctx: FileContext) -> cst.Module:
    """Chainer (and CuPy) imports that nothing uses any more (the torch target's last step)."""
    context = CodemodContext()
    chainer_imports = [(name, obj, asname) for name, obj, asname in top_level_imports(module)
                       if name.split(".")[0] in ("chainer", "cupy")]  # (CuPy: a GPU-only import of Chainer's world)
    if not chainer_imports:
        return module
    for name, obj, asname in chainer_imports:
        RemoveImportsVisitor.remove_unused_import(context, name, obj, asname=asname)
    return _transform(RemoveImportsVisitor(context), module)


def add_pending_imports(module: cst.Module, ctx: FileContext) -> cst.Module:
    """The imports the rules asked for so far (``ctx.imports``), added once."""
    if not ctx.imports:
        return module
    items = [ImportItem(module_name, obj, alias) for module_name, obj, alias in sorted(ctx.imports, key=str)]
    ctx.imports.clear()
    return _transform(AddImportsVisitor(CodemodContext(), items), module)


def _transform(codemod, module: cst.Module) -> cst.Module:
    """``codemod.transform_module(module)`` without its deep copy of the module (a whole tree's worth of
    nodes): nothing else holds on to this tree's nodes."""
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    with codemod.resolve(wrapper):
        codemod.context = dataclasses.replace(codemod.context, wrapper=wrapper)
        return codemod.transform_module_impl(wrapper.module)
