"""Throughput of `netport migrate` against `python -m lib2to3` on the same trees, in one run.

Three trees, because they stress different things:

* the Python standard library (minus site-packages): real code with no Chainer in it; netport
  checks every file's syntax with the compiler and rewrites nothing, 2to3 parses and runs
  every fixer on every file;
* a Chainer corpus: the legacy examples copied N times; every file goes through netport's full
  LibCST pipeline;
* real Chainer v1 code (../shared/corpus, 124 files from 12 repositories), where it exists.

netport runs for each target (Chainer 5+ and torch), one process over the whole tree, first with an
empty result cache, then again with the cache that run filled (what a re-run over an unchanged tree
costs).

Both tools run as subprocesses with the same -j, writing nothing (each prints its diff to
/dev/null). Usage: .venv/bin/python benchmarks/migrate_speed.py [-j 2] [--copies 20] [--corpus DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def count_lines(root: Path, exclude: str | None) -> tuple[int, int]:
    files = [p for p in root.rglob("*.py") if not (exclude and exclude in p.parts)]
    return len(files), sum(p.read_bytes().count(b"\n") for p in files)


def timed(commands: list[list[str]], env: dict | None = None) -> float:
    """Wall time of running the commands concurrently."""
    started = time.perf_counter()
    processes = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env) for c in commands]
    for process in processes:
        process.wait()
    return time.perf_counter() - started


def lib2to3_commands(root: Path, exclude: str | None, jobs: int) -> list[list[str]]:
    """`python -m lib2to3` over the tree's files, split into ``jobs`` concurrent processes.

    lib2to3's own -j deadlocks on the standard library (a worker dies on a file it cannot
    parse and the pool waits forever), so the files are shared out here instead."""
    files = sorted(str(p) for p in root.rglob("*.py") if not (exclude and exclude in p.parts))
    return [[sys.executable, "-W", "ignore", "-m", "lib2to3", *files[i::jobs]] for i in range(jobs)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--copies", type=int, default=20, help="copies of legacy_examples in the Chainer corpus")
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus",
                        help="real Chainer v1 code (default: ../shared/corpus, left out where it is missing)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "chainer_corpus"
        for i in range(args.copies):
            shutil.copytree(REPO / "legacy_examples", corpus / f"copy{i}")
        stdlib = Path(sysconfig.get_paths()["stdlib"])
        trees = [("standard library", stdlib, "site-packages"), ("legacy examples", corpus, None)]
        if args.corpus.is_dir():
            trees.append(("real corpus", args.corpus, None))
        else:
            print(f"(no {args.corpus}: the real corpus is left out)")
        print(f"{'tree':17} {'files':>6} {'lines':>8} {'target':>13}  {'netport lines/s':>16}  {'2to3 lines/s':>13}  "
              "ratio   (again: a re-run over the same tree, with the result cache the run before filled)")
        for name, root, exclude in trees:
            files, lines = count_lines(root, exclude)
            lib2to3_s = timed(lib2to3_commands(root, exclude, args.jobs))
            for target in ("chainer", "torch"):
                netport = [sys.executable, "-m", "netport", "migrate", str(root), "--to", target, "-j", str(args.jobs)]
                if exclude:
                    netport += ["--exclude", exclude]
                with tempfile.TemporaryDirectory() as cache:  # migrate's result cache: empty, then filled
                    env = dict(os.environ, NETPORT_CACHE_DIR=cache)
                    for run in ("", " again"):
                        netport_s = timed([netport], env)
                        label = target + run
                        print(f"{name:17} {files:6d} {lines:8d} {label:>13}  {lines / netport_s:16,.0f}  "
                              f"{lines / lib2to3_s:13,.0f}  {lib2to3_s / netport_s:6.2f}x   (netport {netport_s:.1f} s, "
                              f"2to3 {lib2to3_s:.1f} s, -j {args.jobs})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
