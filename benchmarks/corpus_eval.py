"""Quality of `netport migrate` on real Chainer v1 code: what it refuses, breaks, leaves to do, and re-changes.

A user runs netport once per repository, so this does too: each top-level subdirectory of a corpus
directory that holds .py files is one repository (and the directory's own top-level .py files, if
any, one more), migrated by the CLI in a subprocess with --no-cache, -o and a JSON report. From the
report and the files written it measures, per repository and per corpus:

* files, lines of .py input, and lines/s (lines over the wall time of those netport runs, process
  start included, the idempotence re-run excluded);
* refused files (the report's one-line error) and internal errors ("netport internal error" in an
  error or a finding), kept apart: a file whose error is internal counts as internal, not refused;
* written outputs that Python 3 cannot parse (each noted with whether its input parsed);
* files with new undefined names: pyflakes' UndefinedName on the output and on the input, run here and
  not taken from netport's findings; a name is new if the output leaves it undefined and the input did
  not. A Python 2 input that Python 3 cannot parse is compared through netport's 2to3 syntax pass
  (netport.sources.python2_syntax_to_python3), Python 3 older than 3.7 with `async` as a name with it
  renamed; where that fails too, against nothing, and it says so;
* files with no manual marker (no ERROR finding and not refused), the ERROR findings by rule, and the
  WARNING count;
* idempotence: the output tree migrated again (same target, once per repository), counting the files
  the second run changes (--no-idempotence skips it).

Usage: .venv/bin/python benchmarks/corpus_eval.py CORPUS_DIR [CORPUS_DIR...] [--to chainer|torch] [-j N]
           [--no-idempotence] [--json FILE]
e.g.   .venv/bin/python benchmarks/corpus_eval.py ../shared/corpus --to torch
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import subprocess
import sys
import tempfile
import time
import tokenize
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyflakes.checker
import pyflakes.messages

from netport.migrate.python2 import rename_reserved_names
from netport.sources import Python2Error, python2_syntax_to_python3

INTERNAL = "netport internal error"


@dataclass
class Repository:
    """One netport run's input: a directory, or the loose top-level files of a corpus directory."""

    name: str
    root: Path  # where the paths below are relative to
    files: list[Path]  # the .py files, relative to root

    def cli_paths(self) -> list[Path]:
        return [self.root] if self.name != "(top level)" else [self.root / f for f in self.files]


@dataclass
class RepositoryFigures:
    name: str
    files: int = 0
    lines: int = 0
    seconds: float = 0.0
    refused: dict[str, str] = field(default_factory=dict)  # path: reason
    internal_errors: list[str] = field(default_factory=list)  # "path: message"
    unparsed_outputs: dict[str, str] = field(default_factory=dict)  # path: SyntaxError, and whether the input parsed
    new_undefined: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # path: {name: output lines}
    no_baseline: list[str] = field(default_factory=list)  # inputs compared against no undefined names at all
    no_marker: int = 0
    markers: dict[str, int] = field(default_factory=dict)  # ERROR findings by rule
    warnings: int = 0
    not_idempotent: list[str] = field(default_factory=list)
    refused_on_rerun: dict[str, str] = field(default_factory=dict)
    not_in_report: list[str] = field(default_factory=list)  # .py files netport did not mention


def repositories(corpus: Path) -> list[Repository]:
    found = []
    loose = sorted(p.relative_to(corpus) for p in corpus.glob("*.py") if p.is_file())
    if loose:
        found.append(Repository("(top level)", corpus, loose))
    for directory in sorted(p for p in corpus.iterdir() if p.is_dir()):
        files = sorted(p.relative_to(directory) for p in directory.rglob("*.py") if p.is_file())
        if files:
            found.append(Repository(directory.name, directory, files))
    return found


def run_netport(paths: list[Path], out: Path, report: Path, target: str, jobs: int) -> tuple[dict, float]:
    """The JSON report of one `netport migrate` process, and its wall time. ``out`` ends in a slash so that a
    single input file is written into it rather than as it."""
    command = [sys.executable, "-m", "netport", "migrate", *map(str, paths), "--to", target, "-j", str(jobs),
               "--no-cache", "-o", f"{out}/", "--report", str(report), "--format", "json"]
    started = time.perf_counter()
    process = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if process.returncode not in (0, 1, 2) or not report.exists():
        raise SystemExit(f"netport failed (exit {process.returncode}) on {' '.join(map(str, paths))}:\n"
                         f"{process.stderr}")
    return json.loads(report.read_text()), seconds


def relative_paths(report: dict, base: Path) -> dict[str, dict]:
    """The report's file entries by path relative to ``base`` (the report spells the paths as given)."""
    return {str(Path(entry["path"]).resolve().relative_to(base.resolve())): entry for entry in report["files"]}


def undefined_names(text: str, name: str) -> dict[str, list[int]] | None:
    """pyflakes' undefined names of Python 3 source, with their lines, or None if it does not parse."""
    try:
        tree = ast.parse(text, name)
    except (SyntaxError, ValueError):
        return None
    names: dict[str, list[int]] = {}
    for message in pyflakes.checker.Checker(tree, filename=name).messages:
        if isinstance(message, pyflakes.messages.UndefinedName):
            names.setdefault(message.message_args[0], []).append(message.lineno)
    return names


def baseline_undefined(text: str, name: str) -> dict[str, list[int]] | None:
    """The input's undefined names, through 2to3's syntax fixers for Python 2, or with the names Python 3
    reserved since (``import async``) renamed for older Python 3; None if none of these parses."""
    names = undefined_names(text, name)
    if names is not None:
        return names
    try:
        return undefined_names(python2_syntax_to_python3(text, name), name)
    except Python2Error:
        renamed = rename_reserved_names(text)
        return undefined_names(renamed[0], name) if renamed is not None else None


def parse_error(text: str, name: str) -> str | None:
    try:
        ast.parse(text, name)
    except (SyntaxError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def read(path: Path) -> str:
    """A Python file's text, decoded as Python decodes it (a byte-order mark, a coding line), bad bytes replaced."""
    data = path.read_bytes()
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:  # an unknown coding line
        encoding = "utf-8"
    return data.decode(encoding, errors="replace")


def evaluate(repository: Repository, work: Path, target: str, jobs: int, idempotence: bool) -> RepositoryFigures:
    figures = RepositoryFigures(repository.name, files=len(repository.files))
    out = work / "out"
    report, figures.seconds = run_netport(repository.cli_paths(), out, work / "report.json", target, jobs)
    entries = relative_paths(report, repository.root)
    findings_by_file: dict[str, list[dict]] = {}
    for finding in report["findings"]:
        relative = str(Path(finding["path"]).resolve().relative_to(repository.root.resolve()))
        findings_by_file.setdefault(relative, []).append(finding)
        if INTERNAL in finding["message"]:
            figures.internal_errors.append(f"{relative}: {finding['message']}")
    for relative in map(str, repository.files):
        source = read(repository.root / relative)
        figures.lines += len(source.splitlines())
        entry = entries.get(relative)
        if entry is None:
            figures.not_in_report.append(relative)
            continue
        findings = findings_by_file.get(relative, [])
        errors = [f for f in findings if f["severity"] == "ERROR"]
        for finding in errors:
            figures.markers[finding["rule"]] = figures.markers.get(finding["rule"], 0) + 1
        figures.warnings += sum(f["severity"] == "WARNING" for f in findings)
        if entry["error"]:
            if INTERNAL in entry["error"]:
                figures.internal_errors.append(entry["error"])
            else:
                figures.refused[relative] = entry["error"]
            continue
        if not errors:
            figures.no_marker += 1
        if not (out / relative).is_file():
            figures.unparsed_outputs[relative] = "no output written"
            continue
        output = read(out / relative)
        problem = parse_error(output, relative)
        if problem:
            input_parses = parse_error(source, relative) is None
            figures.unparsed_outputs[relative] = (f"{problem} (its input "
                                                  f"{'parses' if input_parses else 'does not parse either'})")
            continue
        before = baseline_undefined(source, relative)
        if before is None:
            figures.no_baseline.append(relative)
        after = undefined_names(output, relative)
        new = {name: lines for name, lines in after.items() if name not in (before or {})}
        if new:
            figures.new_undefined[relative] = new
    if idempotence and out.is_dir():
        check_idempotence(figures, out, work, target, jobs)
    return figures


def check_idempotence(figures: RepositoryFigures, out: Path, work: Path, target: str, jobs: int) -> None:
    """Migrate the output tree again; list the .py outputs the second run changes or refuses."""
    again = work / "again"
    report, _ = run_netport([out], again, work / "again.json", target, jobs)
    entries = relative_paths(report, out)
    for path in sorted(out.rglob("*.py")):
        relative = str(path.relative_to(out))
        entry = entries.get(relative)
        if entry is not None and entry["error"]:
            figures.refused_on_rerun[relative] = entry["error"]
        elif not (again / relative).exists() or (again / relative).read_bytes() != path.read_bytes():
            figures.not_idempotent.append(relative)


def totals(corpus: list[RepositoryFigures]) -> dict:
    markers: Counter = Counter()
    for figures in corpus:
        markers.update(figures.markers)
    count = {key: sum(len(getattr(f, key)) for f in corpus)
             for key in ("refused", "internal_errors", "unparsed_outputs", "new_undefined", "no_baseline",
                         "not_idempotent", "refused_on_rerun", "not_in_report")}
    files, lines, seconds = (sum(getattr(f, key) for f in corpus) for key in ("files", "lines", "seconds"))
    return dict(count, repositories=len(corpus), files=files, lines=lines, seconds=round(seconds, 3),
                lines_per_second=round(lines / seconds, 1) if seconds else None,
                no_marker=sum(f.no_marker for f in corpus),
                no_marker_percent=round(100 * sum(f.no_marker for f in corpus) / files, 1) if files else None,
                markers=dict(sorted(markers.items(), key=lambda kv: (-kv[1], kv[0]))),
                errors=sum(markers.values()), warnings=sum(f.warnings for f in corpus))


COLUMNS = ("files", "lines", "s", "lines/s", "refused", "internal", "unparsed", "new-undef", "no-marker",
           "ERROR", "WARNING", "not-idemp")


def table_row(name: str, figures: dict, idempotence: bool) -> str:
    seconds = figures["seconds"]
    cells = (figures["files"], figures["lines"], f"{seconds:.1f}", f"{figures['lines'] / seconds:,.0f}",
             figures["refused"], figures["internal_errors"], figures["unparsed_outputs"], figures["new_undefined"],
             figures["no_marker"], figures["errors"], figures["warnings"],
             figures["not_idempotent"] if idempotence else "-")
    return f"{name[:34]:34} " + " ".join(f"{c:>{max(len(h), 5)}}" for c, h in zip(cells, COLUMNS))


def print_corpus(corpus: Path, results: list[RepositoryFigures], args: argparse.Namespace) -> dict:
    total = totals(results)
    print(f"\n== {corpus}  --to {args.to}  -j {args.jobs}: {total['repositories']} repositories, "
          f"{total['files']} files, {total['lines']:,} lines")
    print(f"{'repository':34} " + " ".join(f"{h:>{max(len(h), 5)}}" for h in COLUMNS))
    for figures in results:
        print(table_row(figures.name, totals([figures]), args.idempotence))
    print(table_row("total", total, args.idempotence))
    print(f"\nlines/s: {total['lines_per_second']:,.0f} ({total['lines']:,} lines in {total['seconds']:.1f} s of "
          f"{total['repositories']} netport runs, process start included)")
    print(f"files with no manual marker: {total['no_marker']} of {total['files']} ({total['no_marker_percent']}%)")
    print(f"ERROR markers: {total['errors']}"
          + (f" by rule: {', '.join(f'{r} x{n}' for r, n in total['markers'].items())}" if total["markers"] else ""))
    print(f"WARNING findings: {total['warnings']}")

    def listing(title: str, items: list[str]) -> None:
        print(f"{title}: {len(items)}")
        for item in items:
            print(f"  {item}")

    def where(figures: RepositoryFigures, path: str) -> str:
        return path if figures.name == "(top level)" else f"{figures.name}/{path}"

    listing("refused files", [f"{where(f, p)}: {reason}" for f in results for p, reason in f.refused.items()])
    listing("internal errors", [message for f in results for message in f.internal_errors])
    listing("outputs that do not parse",
            [f"{where(f, p)}: {e}" for f in results for p, e in f.unparsed_outputs.items()])
    listing("files with new undefined names", [
        f"{where(f, p)}: " + ", ".join(f"{name} (line {', '.join(map(str, lines))})" for name, lines in names.items())
        + (" [input unreadable even through 2to3: compared against no names]" if p in f.no_baseline else "")
        for f in results for p, names in f.new_undefined.items()])
    if total["no_baseline"]:
        listing("inputs without an undefined-name baseline (neither Python 3 nor 2to3 could parse them)",
                [where(f, p) for f in results for p in f.no_baseline])
    if total["not_in_report"]:
        listing(".py files missing from netport's report", [where(f, p) for f in results for p in f.not_in_report])
    if args.idempotence:
        listing("files a second migration changes", [where(f, p) for f in results for p in f.not_idempotent])
        if total["refused_on_rerun"]:
            listing("outputs a second migration refuses",
                    [f"{where(f, p)}: {e}" for f in results for p, e in f.refused_on_rerun.items()])
    return {"corpus": str(corpus), "target": args.to, "jobs": args.jobs, "idempotence": args.idempotence,
            "totals": total, "repositories": [dict(asdict(f), totals=totals([f])) for f in results]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", nargs="+", type=Path, metavar="CORPUS_DIR",
                        help="directories of repositories (e.g. ../shared/corpus)")
    parser.add_argument("--to", default="chainer", choices=["chainer", "torch"])
    parser.add_argument("-j", "--jobs", type=int, default=1, help="processes per netport run (default: 1)")
    parser.add_argument("--no-idempotence", dest="idempotence", action="store_false",
                        help="skip migrating the output a second time")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every figure here as JSON")
    args = parser.parse_args()

    everything = []
    for corpus in args.corpora:
        if not corpus.is_dir():
            parser.error(f"{corpus}: not a directory")
        results = []
        for repository in repositories(corpus):
            with tempfile.TemporaryDirectory() as work:
                results.append(evaluate(repository, Path(work), args.to, args.jobs, args.idempotence))
        everything.append(print_corpus(corpus, results, args))
    if args.json:
        args.json.write_text(json.dumps(everything, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
