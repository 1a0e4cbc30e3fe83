"""The library entry points of check-shapes."""

from __future__ import annotations

from pathlib import Path

from netport.shapes.report import ShapeReport
from netport.shapes.static import check_static

__all__ = ["ShapeReport", "check_dynamic", "check_static"]


def check_dynamic(script, script_args=None, overrides=None, python=None, timeout: float = 120.0) -> ShapeReport:
    # imported on use: static mode needs none of the subprocess machinery of a run
    from netport.shapes.dynamic import run_dynamic

    return run_dynamic(Path(script), script_args or [], overrides or {}, python=python, timeout=timeout)
