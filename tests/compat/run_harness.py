"""Test harness for tests/compat/test_run_programs.py: runs one unmodified legacy program, either as it is
(Chainer 1.24, the ground truth) or through `netport run` (in this process, as `netport run` would: the
CLI's main()), with tests/migrate/corpus_runner.py's recording hooks and data stand-ins.

    python run_harness.py [--save-weights DIR] [--torch DIR] [--run TARGET [--adam-eps chainer]] [--seed-torch]
                          RECORD DATA SCRIPT [ARGS...]

--save-weights and --torch are corpus_runner.py's (weights and generator states at every optimizer
set-up, loaded into the torch run); DATA is one of its stand-ins, or `none` for programs that read
MNIST through netport.data (the legacy examples). Every scalar backward() is recorded in RECORD.
With --torch, a shuffling torch DataLoader also draws its order as Chainer's SerialIterator does
(`numpy.random.permutation(N)`, where torch draws from its own generator): the same batches in a
first epoch, as the dropout masks are the same. --seed-torch seeds torch's generator with 0 too (a
program that seeds nothing initialises torch modules from it). Run it in the program's directory.
With --run the program's modules, data.py included, are served by netport's finder from the start
(netport.compat.install before the data stand-in imports them).
"""

import json
import os
import random
import runpy
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "migrate"))

import numpy as np  # noqa: E402

import chainer  # noqa: E402
import corpus_runner  # noqa: E402


def options():
    found = {}
    while len(sys.argv) > 2 and sys.argv[1] in ("--save-weights", "--torch", "--run", "--adam-eps", "--seed-torch"):
        if sys.argv[1] == "--seed-torch":
            found[sys.argv.pop(1)] = True
            continue
        found[sys.argv[1]] = sys.argv[2]
        del sys.argv[1:3]
    return found


def chainer_shuffle():
    """torch's RandomSampler (DataLoader(shuffle=True)) in Chainer's SerialIterator order."""
    import torch.utils.data

    def permuted(self):
        return iter(np.random.permutation(len(self.data_source)).tolist())

    torch.utils.data.RandomSampler.__iter__ = permuted


def main():
    given = options()
    record, kind, script, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    script_dir = os.path.dirname(os.path.abspath(script))
    sys.path[0] = script_dir  # as `python SCRIPT` would have it (`netport run` sets it again)
    losses = []
    backward = chainer.Variable.backward

    def recording_backward(self, *a, **k):
        if self.data is not None and self.data.size == 1:
            losses.append(float(self.data))
        return backward(self, *a, **k)

    chainer.Variable.backward = recording_backward
    if "--save-weights" in given:
        corpus_runner.save_weights_at_setup(given["--save-weights"])
    if "--torch" in given:
        corpus_runner.torch_hooks(given["--torch"], losses)
        chainer_shuffle()
    corpus_runner.stub_picture_modules()
    target = given.get("--run")
    run_options = ["--to", target] + (["--adam-eps", given["--adam-eps"]] if "--adam-eps" in given else [])
    if target is not None:
        import netport.compat

        netport.compat.install(target, [script_dir], adam_eps=given.get("--adam-eps", "torch"))
    if kind != "none":
        corpus_runner.install_data(kind)
    sys.argv = [script] + args
    np.random.seed(0)
    random.seed(0)
    if "--seed-torch" in given:
        import torch

        torch.manual_seed(0)
    status = 0
    try:
        if target is None:
            runpy.run_path(script, run_name="__main__")
        else:
            from netport.cli import main as netport_main

            status = netport_main(["run", *run_options, "--", script, *args])
    finally:
        with open(record, "w") as f:
            json.dump({"backward": losses}, f)
    sys.exit(status)


if __name__ == "__main__":
    main()
