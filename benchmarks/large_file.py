"""How `netport migrate` scales with the size of one file: a generated Chainer v1 program of N lines
(a model, then blocks of ten lines, each making a `volatile` Variable, calling the model with a
train flag and updating an optimizer), migrated in a subprocess for each target; prints the wall time
and the peak memory (max RSS) of each run.

    .venv/bin/python benchmarks/large_file.py                 # 1k, 5k, 10k, 50k lines
    .venv/bin/python benchmarks/large_file.py --lines 50000 --write big.py   # just the file

Time that grows like the square of the size shows up as a 5x larger file taking 25x longer.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = '''import numpy as np
import chainer
import chainer.functions as F
import chainer.links as L
from chainer import optimizers


class MLP(chainer.Chain):
    def __init__(self):
        super(MLP, self).__init__(l1=L.Linear(784, 100), l2=L.Linear(100, 10))

    def __call__(self, x, train=True):
        h = F.dropout(F.relu(self.l1(x)), train=train)
        return self.l2(h)


model = L.Classifier(MLP())
optimizer = optimizers.Adam()
optimizer.setup(model)
x_data = np.zeros((10, 784), dtype=np.float32)
t_data = np.zeros(10, dtype=np.int32)
'''
BLOCK = '''x{i} = chainer.Variable(x_data, volatile='on')
y{i} = model.predictor(x{i}, train=False)
p{i} = F.softmax(y{i})
s{i} = float(p{i}.data.sum())
x{i}b = chainer.Variable(x_data)
t{i} = chainer.Variable(t_data)
model.zerograds()
loss{i} = model(x{i}b, t{i})
loss{i}.backward()
optimizer.update()
'''


def generate(lines: int) -> str:
    header_lines = HEADER.count("\n")
    blocks = max(0, (lines - header_lines) // BLOCK.count("\n"))
    return HEADER + "".join(BLOCK.format(i=i) for i in range(blocks))


def migrate(path: Path, target: str) -> tuple[float, float, int]:
    """(seconds, peak MiB, exit status) of `netport migrate PATH --to TARGET` in a fresh process."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "netport", "migrate", str(path), "--to", target,
                              "--report", os.devnull, "--no-cache"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)  # this child's own resource use
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss / 1024, child.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[1000, 5000, 10000, 50000])
    parser.add_argument("--targets", nargs="+", default=["chainer", "torch"])
    parser.add_argument("--write", type=Path, help="only write the generated file (of the first --lines) here")
    args = parser.parse_args()
    if args.write:
        args.write.write_text(generate(args.lines[0]))
        return 0
    print(f"{'lines':>7} {'target':>8} {'seconds':>9} {'lines/s':>9} {'peak MiB':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for lines in args.lines:
            path = Path(tmp) / f"generated_{lines}.py"
            text = generate(lines)
            path.write_text(text)
            for target in args.targets:
                seconds, peak, status = migrate(path, target)
                count = text.count("\n")
                print(f"{count:>7} {target:>8} {seconds:>9.2f} {count / seconds:>9,.0f} {peak:>9.0f}"
                      f"{'' if status in (0, 1) else f'  (exit {status})'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
