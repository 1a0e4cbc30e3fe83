"""What `netport run` spends on migration before a program starts, with an empty cache and on a re-run of the
unchanged program (the cache it filled), for each target.

Measured: a fresh process (as each `netport run` is) imports netport's migration front end, finds the
program's modules (the script and what it imports), migrates them as one unit (or reads the unit back from
the cache) and compiles every module with the user's line numbers: everything `netport run` does before the
program's first line runs, except starting Python. The program itself is not run. Cold is one run with an
empty cache directory; warm the median of --repeat runs over the cache the cold run filled.

Programs: the founding stacked-autoencoder program (../shared/corpus, where it exists), the legacy examples'
stacked autoencoder and their Python 2 MLP (whose conversion with 2to3's fixers is the slowest part of a
migration). Usage: .venv/bin/python benchmarks/run_cache.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROGRAMS = {
    "founding SAE (corpus)": REPO.parent / "shared/corpus/quolc+chainer-ML-examples/mnist-stacked-autoencoder"
                             / "train_mnist_sae.py",
    "legacy_examples/mnist_sae": REPO / "legacy_examples/mnist_sae/train_mnist_sae.py",
    "legacy_examples/py2_mlp": REPO / "legacy_examples/py2_mlp/train_mnist_py2.py",
}
MEASURE = """
import sys, time
started = time.perf_counter()
from pathlib import Path
from netport.compat.finder import ProgramFinder
from netport.compat.lines import compile_source
from netport.migrate.options import MigrationOptions

script, target, cache = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
finder = ProgramFinder(MigrationOptions(target), cache, quiet=True)
finder.add_root(script.parent)
migration = finder.migrate(script)
for result in migration.report.files:
    compile_source(result.original, result.migrated, result.path)
print(time.perf_counter() - started, len(migration.report.files), 'libcst' in sys.modules)
"""


def measure(script: Path, target: str, cache: Path) -> tuple[float, int, bool]:
    result = subprocess.run([sys.executable, "-c", MEASURE, str(script), target, str(cache)], capture_output=True,
                            text=True, check=True)
    seconds, files, engine = result.stdout.split()
    return float(seconds), int(files), engine == "True"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="warm runs (their median is printed)")
    args = parser.parse_args()
    print(f"{'program':28} {'target':8} {'files':>5} {'cold (s)':>9} {'warm (s)':>9} {'ratio':>6}")
    for name, script in PROGRAMS.items():
        if not script.exists():
            print(f"{name:28} skipped: {script.parent} is absent")
            continue
        for target in ("chainer", "torch"):
            with tempfile.TemporaryDirectory(prefix="netport-run-bench-") as scratch:
                program = Path(scratch) / "program"
                shutil.copytree(script.parent, program, ignore=shutil.ignore_patterns("__pycache__"))
                copied = program / script.name
                cold, files, engine = measure(copied, target, Path(scratch) / "cache")
                assert engine, "the cold run must migrate"
                warm_runs = [measure(copied, target, Path(scratch) / "cache") for _ in range(args.repeat)]
                # a miss here means netport/migrate changed between the runs (its source is in the key)
                assert not any(engine for _, _, engine in warm_runs), f"a warm run migrated: {name} {target}"
                warm = statistics.median(seconds for seconds, _, _ in warm_runs)
            print(f"{name:28} {target:8} {files:5d} {cold:9.3f} {warm:9.3f} {cold / warm:6.1f}")


if __name__ == "__main__":
    main()
