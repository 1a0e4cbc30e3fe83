"""How much sooner check-shapes reports the pretraining bug than the program itself crashes.

Times `netport check-shapes` (static mode, the library call and the whole CLI process) on
legacy_examples/mnist_sae_pretrain_bug, and the legacy program on real Chainer 1.24 with its
default settings on the embedded MNIST subset until it dies with InvalidType; prints both and
their ratio. Run from the repository root:

    .venv/bin/python benchmarks/check_shapes_speed.py [--legacy-python .venv-legacy/bin/python]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "legacy_examples" / "mnist_sae_pretrain_bug"
SCRIPT = EXAMPLE / "train_mnist_sae.py"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--legacy-python", default=str(REPO / ".venv-legacy" / "bin" / "python"))
    parser.add_argument("--repeat", type=int, default=5, help="static-check repetitions (the median is shown)")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))
    from netport.shapes import check_static

    library_times, findings = [], None
    for _ in range(args.repeat):
        start = time.perf_counter()
        report = check_static(SCRIPT)
        library_times.append(time.perf_counter() - start)
        findings = report.findings
    assert findings and findings[0].rule == "NPS001", "the static check did not find the bug"
    cli_times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "netport", "check-shapes", str(SCRIPT)], cwd=REPO,
                                capture_output=True, text=True)
        cli_times.append(time.perf_counter() - start)
        assert result.returncode == 1, result.stderr
    start = time.perf_counter()
    crash = subprocess.run([args.legacy_python, SCRIPT.name, "--out", "/tmp/netport-bench-crash"], cwd=EXAMPLE,
                           capture_output=True, text=True)
    crash_time = time.perf_counter() - start
    crashed = crash.returncode != 0 and "InvalidType" in crash.stderr
    last = [line for line in crash.stderr.strip().splitlines() if line.strip()][-1:] or ["(no output)"]

    static = statistics.median(library_times)
    cli = statistics.median(cli_times)
    print(f"finding: {findings[0].path}:{findings[0].line}: {findings[0].message}")
    print(f"check-shapes static, library call (median of {args.repeat}): {static * 1000:8.1f} ms")
    print(f"check-shapes static, whole CLI process (median of {args.repeat}): {cli * 1000:8.1f} ms")
    print(f"legacy program on Chainer 1.24 until it crashes:      {crash_time * 1000:8.1f} ms"
          f"  ({'crashed with ' + last[0][:90] if crashed else 'DID NOT CRASH AS EXPECTED'})")
    print(f"ratio (crash time / check time): library {crash_time / static:,.0f}x, CLI {crash_time / cli:,.0f}x")
    # the static check on heavier inputs: a Python 2 program, and nested loops past the unroll budget
    heavier = [("legacy_examples/py2_mlp (Python 2 source)", REPO / "legacy_examples/py2_mlp/train_mnist_py2.py", []),
               ("legacy_examples/mnist_sae, 16+16 epochs, 10 layers", REPO / "legacy_examples/mnist_sae/train_mnist_sae.py",
                ["--epoch_pre", "16", "--epoch_fine", "16", "--unit", "700,600,500,400,300,200,100,50,20,2"])]
    for label, script, script_args in heavier:
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            check_static(script, script_args)
            times.append(time.perf_counter() - start)
        print(f"check-shapes static, library call, {label}: {statistics.median(times) * 1000:8.1f} ms")
    return 0 if crashed else 1


if __name__ == "__main__":
    sys.exit(main())
