"""Snapshot what `netport migrate` makes of a corpus, for both targets, and compare two snapshots.

A refactoring of the migrator must not change one byte of its outputs or reports on real code:

    .venv/bin/python tools/corpus_snapshot.py take /tmp/before          # on the old code
    .venv/bin/python tools/corpus_snapshot.py take /tmp/after           # on the new code
    .venv/bin/python tools/corpus_snapshot.py compare /tmp/before /tmp/after

`take` runs the CLI as a user would, with a fresh result cache unless `--cache DIR` names one (`netport migrate CORPUS --to T -o DIR/T --report DIR/T.report.txt`,
the text report and a JSON one, `-j 2`); `compare` lists every file that differs and exits 1 if any does.
The corpus defaults to ../shared/corpus.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from snapshots import report_differences  # tools/, beside this script

REPO = Path(__file__).resolve().parents[1]
TARGETS = ("chainer", "torch")


def take(corpus: Path, out: Path, jobs: int, cache: Path | None) -> int:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as fresh:
        # migrate's result cache: a fresh one unless --cache names one (a second take with the same
        # directory then checks that the cached results are the migrator's)
        environment = dict(os.environ, NETPORT_CACHE_DIR=str(cache or fresh))
        return _take(corpus, out, jobs, environment)


def _take(corpus: Path, out: Path, jobs: int, environment: dict) -> int:
    for target in TARGETS:
        for report, form in ((f"{target}.report.txt", "text"), (f"{target}.report.json", "json")):
            tree = out / (target if form == "text" else f"{target}.json-run")
            command = [sys.executable, "-m", "netport", "migrate", str(corpus), "--to", target, "-o", str(tree),
                       "--report", str(out / report), "--format", form, "-j", str(jobs)]
            done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=environment)
            (out / f"{report}.exit").write_text(f"{done.returncode}\n{done.stderr}")
            if not (out / report).exists():  # exit 2 alone is files it could not read: they are part of the record
                print(f"{target}: netport migrate exited {done.returncode}:\n{done.stderr}", file=sys.stderr)
                return 2
        print(f"{target}: {(out / f'{target}.report.txt.exit').read_text().splitlines()[-1]}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    snapshot = commands.add_parser("take", help="migrate the corpus with both targets into DIR")
    snapshot.add_argument("out", type=Path, metavar="DIR")
    snapshot.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    snapshot.add_argument("-j", "--jobs", type=int, default=2)
    snapshot.add_argument("--cache", type=Path, help="migrate's result cache directory (default: a fresh one)")
    compare = commands.add_parser("compare", help="list what differs between two snapshots")
    compare.add_argument("before", type=Path)
    compare.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "take":
        return take(args.corpus.resolve(), args.out.resolve(), args.jobs, args.cache)
    return report_differences(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
