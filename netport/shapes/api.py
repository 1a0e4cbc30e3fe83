"""The library entry points of check-shapes."""

from __future__ import annotations

from pathlib import Path

from netport.shapes.report import ShapeReport
from netport.shapes.static import check_static

__all__ = ["ShapeReport", "check_directory", "check_dynamic", "check_static", "scripts_in"]

SKIPPED_DIRECTORIES = {"__pycache__", "site-packages", "node_modules", "build", "dist"}


def check_dynamic(script, script_args=None, overrides=None, python=None, timeout: float = 120.0) -> ShapeReport:
    # imported on use: static mode needs none of the subprocess machinery of a run
    from netport.shapes.dynamic import run_dynamic

    return run_dynamic(Path(script), script_args or [], overrides or {}, python=python, timeout=timeout)


def scripts_in(directory: Path) -> list[Path]:
    """The .py files under `directory`, sorted, leaving out hidden directories, caches and virtual
    environments (a directory holding pyvenv.cfg)."""
    found = []
    for path in sorted(Path(directory).rglob("*.py")):
        parents = path.relative_to(directory).parts[:-1]
        if any(part.startswith(".") or part in SKIPPED_DIRECTORIES for part in parents):
            continue
        if any((Path(directory).joinpath(*parents[:depth]) / "pyvenv.cfg").exists()
               for depth in range(len(parents) + 1)):
            continue
        found.append(path)
    return found


def check_directory(directory, script_args=None, overrides=None, run: bool = False, python=None,
                    timeout: float = 120.0, chainer_version=None) -> tuple[list[ShapeReport], list[str]]:
    """Every script under `directory`, each on its own as `check-shapes SCRIPT` checks it: (the reports,
    the one-line messages of the files that could not be checked). The --set overrides apply to the
    scripts that have those options; a script that has none of them is checked with its defaults."""
    from netport.shapes.interpreter import AnalysisError, OptionError

    reports, refused = [], []
    for script in scripts_in(Path(directory)):
        def check(settings):
            if run:
                return check_dynamic(script, script_args, settings, python=python, timeout=timeout)
            return check_static(script, script_args, settings, chainer_version=chainer_version)
        try:
            try:
                reports.append(check(overrides))
            except OptionError:
                if not overrides:
                    raise
                reports.append(check({}))
        except AnalysisError as exc:
            refused.append(str(exc))
    return reports, refused
