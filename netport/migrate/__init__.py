"""``netport migrate``: Chainer v1 source -> Chainer 5+ idiom (PyTorch follows).

Layout, in pipeline order: ``files`` (find, read, write atomically) -> ``python2`` (2to3 pre-pass)
-> ``project`` (facts across files) -> ``options`` (what was asked) -> ``engine`` (parse, run the passes, map findings back)
-> ``chainer/*`` (the rules, one concern per module, each registering its id and example in
``rules``) -> ``report``. ``api`` is what the CLI calls.
"""

from netport.migrate.api import (
    Migration,
    migrate_paths,
    migrate_source,
    unified_diff,
    write_outputs,
)
from netport.migrate.options import MigrationOptions, UsageError
from netport.migrate.report import FileResult, Finding, Report, Severity


def __getattr__(name: str):
    # The catalogue fills as the rule modules are imported, which the engine does; importing it only
    # when asked keeps LibCST out of a run whose results all come from the cache.
    if name == "RULES":
        import netport.migrate.engine  # noqa: F401

        from netport.migrate.rules import RULES
        return RULES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["FileResult", "Finding", "Migration", "MigrationOptions", "RULES", "Report", "Severity", "UsageError",
           "migrate_paths", "migrate_source", "unified_diff", "write_outputs"]
