"""check-shapes on real Chainer v1 programs: every .py file of a corpus (../shared/corpus), statically and,
with --run, by running it tiny.

Each file is checked in a process of its own (a crash or a hang of one file cannot hide the others), with
a wall-clock limit far above the 10 s a file may take, so that a file over it is measured, not waited
for. Printed: files checked, layer calls checked, time per file (max and total, as the report measures
it), crashes (a traceback out of netport, or a file past the limit), files with findings, and the notes
about unmodelled APIs, by API (how many files have each). With --run: per file, whether the tiny run
found a shape error, completed, stopped for another reason (a note), or was refused with a one-line
message (a Python 2 file, a run past --run-timeout), and the crashes.

Usage: .venv/bin/python benchmarks/check_shapes_corpus.py [CORPUS] [-j N] [--run] [--python PY] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import traceback
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STATIC_BUDGET_S = 10.0  # the bound: no file over 10 s statically
KILL_AFTER_S = 120.0  # a worker still running after this is a hang (reported, never waited for)


def _worker(path: str, mode: str, python: str | None, run_timeout: float) -> dict:
    """Check one file in this process; the result as a JSON-able dict."""
    sys.path.insert(0, str(REPO))
    from netport.shapes import AnalysisError, check_dynamic, check_static, render_json, render_text

    start = time.perf_counter()
    try:
        if mode == "static":
            report = check_static(path)
        else:
            report = check_dynamic(path, python=python, timeout=run_timeout)
        render_text(report)  # the renderers are part of the run: a crash there is a crash too
        render_json(report)
    except AnalysisError as exc:
        return {"status": "refused", "message": str(exc), "elapsed": time.perf_counter() - start}
    except Exception:  # noqa: BLE001 -- what this benchmark counts
        return {"status": "crash", "message": traceback.format_exc()[-1500:], "elapsed": time.perf_counter() - start}
    return {"status": "checked", "elapsed": report.elapsed, "checked_calls": report.checked_calls,
            "errors": len(report.errors), "findings": [f"{f.path}:{f.line}: {f.message}" for f in report.findings],
            "notes": [text for _, text in report.notes], "completed": report.completed,
            "layers_run": sum(row["calls"] for row in report.executed_layers)}


def _run_one(path: Path, args) -> dict:
    command = [sys.executable, __file__, "--worker", str(path), "--mode", "run" if args.run else "static",
               "--run-timeout", str(args.run_timeout)]
    if args.python:
        command += ["--python", args.python]
    limit = KILL_AFTER_S + (args.run_timeout if args.run else 0)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=limit, cwd=REPO)
    except subprocess.TimeoutExpired:
        return {"status": "crash", "message": f"still running after {limit:g} s (killed)", "elapsed": limit}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"status": "crash", "message": (done.stderr or done.stdout)[-1500:], "elapsed": 0.0}
    return json.loads(lines[-1])


def _unmodelled_api(note: str) -> str | None:
    prefix, suffix = "`", "` is not modelled"
    if note.startswith(prefix) and suffix in note:
        return note[1:note.index(suffix)]
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", default=str(REPO.parent / "shared" / "corpus"))
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--run", action="store_true", help="dynamic mode (check-shapes --run) instead of static")
    parser.add_argument("--python", help="with --run: the interpreter with the framework (e.g. .venv-legacy)")
    parser.add_argument("--run-timeout", type=float, default=60.0, help="with --run: each tiny run's limit (s)")
    parser.add_argument("--top", type=int, default=25, help="how many unmodelled APIs to list")
    parser.add_argument("--json", help="write the per-file results to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="static", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.worker, args.mode, args.python, args.run_timeout)))
        return 0
    corpus = Path(args.corpus)
    if not corpus.is_dir():
        print(f"{corpus}: no such directory", file=sys.stderr)
        return 2
    files = sorted(corpus.rglob("*.py"))
    started = time.perf_counter()
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        results = dict(zip(files, pool.map(lambda p: _run_one(p, args), files)))
    wall = time.perf_counter() - started

    status = Counter(r["status"] for r in results.values())
    checked = [r for r in results.values() if r["status"] == "checked"]
    times = sorted(((r["elapsed"], p) for p, r in results.items() if r["status"] != "crash"), reverse=True)
    apis = Counter(api for r in checked for api in {_unmodelled_api(n) for n in r["notes"]} if api)
    mode = "--run" if args.run else "static"
    print(f"check-shapes {mode} over {corpus} ({len(files)} files, {args.jobs} job(s), wall {wall:.1f} s)")
    print(f"files checked: {status['checked']}; refused with a one-line message: {status['refused']}; "
          f"crashes: {status['crash']}")
    if args.run:  # what the runs executed, by the layer hooks
        print(f"layer calls run: {sum(r['layers_run'] for r in checked)} "
              f"(in {sum(1 for r in checked if r['layers_run'])} files)")
    else:
        print(f"layer calls checked: {sum(r['checked_calls'] for r in checked)} "
              f"(in {sum(1 for r in checked if r['checked_calls'])} files)")
    if times:
        print(f"time per file: max {times[0][0]:.2f} s ({times[0][1].relative_to(corpus)}), "
              f"total {sum(t for t, _ in times):.2f} s; over {STATIC_BUDGET_S:g} s: "
              f"{sum(1 for t, _ in times if t > STATIC_BUDGET_S)}")
    with_errors = [p for p, r in results.items() if r["status"] == "checked" and r["errors"]]
    print(f"files with errors: {len(with_errors)}")
    for path in with_errors:
        for finding in results[path]["findings"][:2]:
            print(f"  {finding[:160]}")
    if args.run:
        print(f"tiny runs completed: {sum(1 for r in checked if r['completed'])}; stopped early (a note): "
              f"{sum(1 for r in checked if not r['completed'] and not r['errors'])}")
    print(f"notes by unmodelled API ({len(apis)} APIs, {sum(apis.values())} file-notes), most frequent first:")
    for api, count in apis.most_common(args.top):
        print(f"  {count:4d}  {api}")
    for path, result in results.items():
        if result["status"] == "crash":
            print(f"CRASH {path.relative_to(corpus)}: {result['message'].strip().splitlines()[-1][:200]}")
    if args.json:
        Path(args.json).write_text(json.dumps({str(p.relative_to(corpus)): r for p, r in results.items()}, indent=1))
    over = sum(1 for t, _ in times if t > STATIC_BUDGET_S) if not args.run else 0
    return 1 if status["crash"] or over else 0


if __name__ == "__main__":
    sys.exit(main())
