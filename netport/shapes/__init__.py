"""netport.shapes: find layer-shape mismatches before training starts.

``check_static(script)`` interprets the script over shapes without importing Chainer or torch or
running anything; ``check_dynamic(script)`` runs it tiny on synthetic data with layer hooks.
Both return a :class:`ShapeReport`; ``render_text``/``render_json``/``render_sarif`` format it.
"""

from netport.shapes.api import ShapeReport, check_dynamic, check_static
from netport.shapes.findings import Finding, parse_invalid_type
from netport.shapes.interpreter import AnalysisError
from netport.shapes.report import render_json, render_sarif, render_text

__all__ = ["AnalysisError", "Finding", "ShapeReport", "check_dynamic", "check_static", "parse_invalid_type",
           "render_json", "render_sarif", "render_text"]
