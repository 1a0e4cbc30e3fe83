"""Record what `netport check-shapes` says about a set of scripts, and compare two such records.

A refactoring of netport/shapes must not change one byte of what check-shapes prints:

    .venv/bin/python tools/shapes_snapshot.py take /tmp/shapes-before     # on the old code
    .venv/bin/python tools/shapes_snapshot.py take /tmp/shapes-after      # on the new code
    .venv/bin/python tools/shapes_snapshot.py compare /tmp/shapes-before /tmp/shapes-after

`take` runs the CLI in static mode, as a user would, on every script under legacy_examples/ and
tests/shapes/fixtures/ (text and JSON reports) and on every .py file of the corpus (JSON report;
../shared/corpus by default, skipped when absent). Each run leaves one record: the exit status, then
stdout, then stderr, with the time the check took masked (it is all that differs between two runs of
the same code); a run that takes longer than --timeout seconds is recorded as timed out (static
mode is meant to take well under a second, but some corpus scripts run for minutes). `compare` lists
every record that differs or exists on one side only and exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from snapshots import report_differences  # tools/, beside this script

REPO = Path(__file__).resolve().parents[1]
PROJECT_SCRIPTS = ("legacy_examples", "tests/shapes/fixtures")
ELAPSED = re.compile(r"(?<=note\(s\) in )\d+\.\d+(?= s)|(?<=\"elapsed_s\": )[\d.e-]+")  # text, JSON


def runs(corpus: Path) -> list[tuple[str, str]]:
    """(script, report format) pairs; the script path is as given on the command line."""
    planned = []
    for folder in PROJECT_SCRIPTS:
        for script in sorted((REPO / folder).rglob("*.py")):
            relative = script.relative_to(REPO).as_posix()
            planned += [(relative, "text"), (relative, "json")]
    if corpus.is_dir():
        planned += [(str(script), "json") for script in sorted(corpus.rglob("*.py"))]
    return planned


def record_name(script: str, form: str) -> str:
    # one flat folder: a path's separators become `__` so that two records never share a name
    return script.replace("/", "__") + f".{form}.txt"


def check(script: str, form: str, timeout: float) -> str:
    command = [sys.executable, "-m", "netport", "check-shapes", script, "--format", form]
    try:
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:g} s\n"
    stdout = ELAPSED.sub("ELAPSED", done.stdout)
    return f"exit {done.returncode}\n--- stdout\n{stdout}--- stderr\n{done.stderr}"


def take(corpus: Path, out: Path, jobs: int, timeout: float) -> int:
    out.mkdir(parents=True, exist_ok=True)
    planned = runs(corpus)
    with ThreadPoolExecutor(jobs) as pool:
        records = pool.map(lambda run: check(*run, timeout), planned)
        for (script, form), record in zip(planned, records):
            (out / record_name(script, form)).write_text(record)
    print(f"{len(planned)} runs recorded in {out}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    snapshot = commands.add_parser("take", help="run check-shapes on every input and record it in DIR")
    snapshot.add_argument("out", type=Path, metavar="DIR")
    snapshot.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    snapshot.add_argument("-j", "--jobs", type=int, default=2)
    snapshot.add_argument("--timeout", type=float, default=60, metavar="S", help="time limit of one run")
    difference = commands.add_parser("compare", help="list the records that differ between two snapshots")
    difference.add_argument("before", type=Path)
    difference.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "take":
        return take(args.corpus.resolve(), args.out.resolve(), args.jobs, args.timeout)
    return report_differences(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
