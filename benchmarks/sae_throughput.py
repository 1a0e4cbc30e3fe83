"""Stacked-autoencoder training throughput: netport.sae vs a plain torch loop vs the seed program.

Two workloads, batch 100, Adam (the seed's defaults), on the same data in one run:
  pretrain: one tied sigmoid 784-1000 layer (greedy pretraining's most expensive layer);
  finetune: the whole tied sigmoid 784-1000-500-250-2 stack.
Contenders:
  (a) netport.sae's trainer;
  (b) a plain hand-written torch loop: an nn.Module with tied weights, a DataLoader over a
      TensorDataset (shuffle), torch.optim.Adam, zero_grad/backward/step;
  (c) the seed program migrated by netport to Chainer 5+ (migrated_examples/chainer/mnist_sae),
      run on the Chainer installed here (7.8), which prints samples/sec per epoch itself.
This machine's speed drifts while a benchmark runs (a shared 2-core VM: back-to-back 2048-cube
products range over +-25 %), so the fraction of the GEMM roofline is measured against probes taken
next to the work it describes: a short fp32 GEMM probe (torch.mm, 2048 cubed, about 0.4 s) runs
before the first epoch and after every epoch of (a) and (b), and each epoch's useful GEMM work per
second is divided by the mean of the probes on either side of it; (c) runs in a subprocess, so its
probes bracket the whole run. The contenders are interleaved: each of --rounds rounds runs every
contender once. Figures are medians over all epochs after each run's first (warm-up), with their
range; ratios between contenders are taken within a round (of each run's median). The rate of the
pretraining step's own five products alone (batch-100 shapes, no elementwise work, no optimizer)
is probed the same way around netport's epochs: what any implementation of this step could reach
at best.

    .venv/bin/python benchmarks/sae_throughput.py                       # embedded subset (4,000 images)
    .venv/bin/python benchmarks/sae_throughput.py --data ../shared/data/mnist.npz --n-train 20000
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from netport.data import load_mnist
from netport.sae import SAETrainer, StackedAutoencoder, TrainConfig

REPO = Path(__file__).resolve().parents[1]
SEED_PROGRAM = REPO / "migrated_examples" / "chainer" / "mnist_sae" / "train_mnist_sae.py"
WORKLOADS = {"pretrain": [784, 1000], "finetune": [784, 1000, 500, 250, 2]}
TARGETS = {"roofline": 0.75, "vs_chainer": 2.0, "vs_plain": 1.0}


def gemm_probe(device: torch.device, size: int = 2048, repeats: int = 3) -> float:
    """fp32 GEMM rate (FLOP/s) of torch.mm on size x size matrices now: one warm-up product, then
    ``repeats`` timed (about 0.4 s on 2 CPU cores)."""
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    c = torch.empty(size, size, device=device)
    torch.mm(a, b, out=c)
    _sync(device)
    started = time.perf_counter()
    for _ in range(repeats):
        torch.mm(a, b, out=c)
    _sync(device)
    return repeats * 2 * size ** 3 / (time.perf_counter() - started)


def step_products_probe(device: torch.device, batch: int = 100, n: int = 784, m: int = 1000,
                        repeats: int = 50) -> float:
    """FLOP/s of the pretraining step's own five products alone (batch x n x m, tied): forward x W^T
    and h W, the input gradient dz W^T, and the weight gradient as one product with inner size 2B."""
    w = torch.randn(m, n, device=device)
    x, h, dz_out = (torch.rand(batch, n, device=device), torch.rand(batch, m, device=device),
                    torch.rand(batch, n, device=device))
    p, q = torch.rand(2 * batch, m, device=device), torch.rand(2 * batch, n, device=device)
    out_m, out_n, grad = (torch.empty(batch, m, device=device), torch.empty(batch, n, device=device),
                          torch.empty(m, n, device=device))

    def products():
        torch.mm(x, w.t(), out=out_m)
        torch.mm(h, w, out=out_n)
        torch.mm(dz_out, w.t(), out=out_m)
        torch.mm(p.t(), q, out=grad)

    products()
    _sync(device)
    started = time.perf_counter()
    for _ in range(repeats):
        products()
    _sync(device)
    return repeats * 5 * 2 * batch * n * m / (time.perf_counter() - started)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def gemm_flops_per_sample(units: list[int]) -> int:
    """Multiply-adds x 2 of one training sample: forward, weight gradients and input gradients of
    every encoder and decoder product (no input gradient for the data itself)."""
    products = [units[i] * units[i + 1] for i in range(len(units) - 1)]
    total = 2 * sum(products) * 3 * 2  # (encoder + decoder) x (forward, weight grad, input grad)
    return total - 2 * products[0]


class Probes:
    """GEMM probes around epochs: ``fractions`` divides epoch i's GEMM rate by the mean of the probes
    taken just before and just after it."""

    def __init__(self, device: torch.device, step_products: bool = False):
        self.device, self.step_products = device, step_products
        self.gemm, self.step = [], []
        self.take()

    def take(self) -> None:
        self.gemm.append(gemm_probe(self.device))
        if self.step_products:
            self.step.append(step_products_probe(self.device))

    def fractions(self, rates: list[float], flops: int, probes: list[float] | None = None) -> list[float]:
        probes = self.gemm if probes is None else probes
        return [rate * flops / ((probes[i] + probes[i + 1]) / 2) for i, rate in enumerate(rates)]


def netport_rates(x: np.ndarray, units: list[int], epochs: int, probes: Probes, optimizer: str = "adam") -> list[float]:
    """samples/s of each epoch; a probe after each (outside the epoch's own timing)."""
    torch.manual_seed(0)
    model = StackedAutoencoder(units)
    pre, fine = (epochs, 0) if len(units) == 2 else (0, epochs)
    config = TrainConfig(epochs_pre=pre, epochs_fine=fine, batch_size=100, progress=False,
                         device=str(probes.device), optimizer=optimizer)
    history = SAETrainer(model, config, on_epoch_end=lambda record: probes.take()).fit(x)
    return [r.samples_per_s for r in history.records]


class PlainTiedStack(nn.Module):
    """What one writes by hand: tied sigmoid layers, decoders use W.t() and a bias of their own."""

    def __init__(self, units: list[int]):
        super().__init__()
        self.encoders = nn.ModuleList(nn.Linear(units[i], units[i + 1]) for i in range(len(units) - 1))
        self.decoder_biases = nn.ParameterList(nn.Parameter(torch.zeros(u)) for u in units[:-1])

    def forward(self, x):
        for encoder in self.encoders:
            x = torch.sigmoid(encoder(x))
        for encoder, bias in zip(reversed(self.encoders), reversed(self.decoder_biases)):
            x = torch.sigmoid(nn.functional.linear(x, encoder.weight.t(), bias))
        return x


def plain_torch_rates(x: np.ndarray, units: list[int], epochs: int, probes: Probes) -> list[float]:
    torch.manual_seed(0)
    device = probes.device
    model = PlainTiedStack(units).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(x)), batch_size=100,
                                         shuffle=True)
    rates = []
    for _ in range(epochs):
        started, total = time.perf_counter(), torch.zeros((), device=device)
        for (batch,) in loader:
            batch = batch.to(device)
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(batch), batch)
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(batch)  # the epoch's loss, as every loop keeps it
        total.item()  # waits for the device
        rates.append(len(x) / (time.perf_counter() - started))
        probes.take()
    return rates


def chainer_rate(data: str | None, n_train: int | None, units: list[int], epochs: int) -> float | None:
    hidden = ",".join(str(u) for u in units[1:])
    pre, fine = (epochs, 0) if len(units) == 2 else (0, epochs)
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-W", "ignore", SEED_PROGRAM.name, "--unit", hidden, "--epoch_pre", str(pre),
                   "--epoch_fine", str(fine), "--out", out]
        command += ["--data", str(Path(data).resolve())] if data else []
        command += ["--n_train", str(n_train)] if n_train else []
        result = subprocess.run(command, cwd=SEED_PROGRAM.parent, capture_output=True, text=True)
    if result.returncode != 0:
        print(f"  (the Chainer program failed: {result.stderr.strip().splitlines()[-1:]})")
        return None
    stage = "pretrain layer 1" if pre else "finetune"
    rates = [float(m.group(1)) for m in re.finditer(rf"^{stage} epoch \d+ loss \S+ \((\d+) samples/sec\)",
                                                     result.stdout, re.M)]
    return statistics.median(rates[1:])


def _spread(values: list[float], fmt: str) -> str:
    middle = statistics.median(values)
    if len(values) == 1:
        return format(middle, fmt)
    return f"{format(middle, fmt)} [{format(min(values), fmt)}..{format(max(values), fmt)}]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="MNIST source (default: the embedded subset)")
    parser.add_argument("--n-train", type=int, help="use the first N training images")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per run (the first is warm-up)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of all contenders")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-chainer", action="store_true", help="leave out (c)")
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first is warm-up)")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    device = torch.device(args.device)
    mnist = load_mnist(args.data)
    x = mnist.x_train[: args.n_train] if args.n_train else mnist.x_train
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {device} ({name}); torch {torch.__version__}; data: {len(x)} images from {mnist.source}")
    print(f"{args.rounds} interleaved rounds of {args.epochs} epochs per contender; figures: the median "
          f"[min..max] over epochs 2-{args.epochs} of all rounds")
    best_probe = 0.0
    for workload, units in WORKLOADS.items():
        flops = gemm_flops_per_sample(units)
        names = ["netport", "plain torch loop"]
        if not args.skip_chainer and device.type == "cpu":
            names.append("seed program on Chainer 7.8")
        names.append("netport, MomentumSGD (for reference)")
        rates = {who: [] for who in names}  # each run's median
        epoch_rates = {who: [] for who in names}  # every epoch after the first, all rounds
        fractions = {who: [] for who in names}
        step_fractions, all_probes = [], []
        for _ in range(args.rounds):
            for who in names:
                probes = Probes(device, step_products=who == "netport")
                if who == "seed program on Chainer 7.8":
                    rate = chainer_rate(args.data, args.n_train, units, args.epochs)
                    probes.take()
                    run_rates, run_fractions = ([rate], probes.fractions([rate], flops)) if rate else ([], [])
                else:
                    if who == "plain torch loop":
                        run_rates = plain_torch_rates(x, units, args.epochs, probes)
                    else:
                        run_rates = netport_rates(x, units, args.epochs, probes,
                                                  "adam" if who == "netport" else "momentumsgd")
                    run_fractions = probes.fractions(run_rates, flops)[1:]
                    if probes.step_products:
                        step_fractions += probes.fractions(run_rates, flops, probes.step)[1:]
                    run_rates = run_rates[1:]
                all_probes += probes.gemm
                if run_rates:
                    rates[who].append(statistics.median(run_rates))
                    epoch_rates[who] += run_rates
                    fractions[who] += run_fractions
        best_probe = max(best_probe, *all_probes)
        print(f"\n{workload}: {'-'.join(map(str, units))} tied sigmoid, batch 100, Adam; "
              f"{flops / 1e6:.2f} MFLOP of GEMM per sample")
        print(f"  GEMM probes (2048 cubed) during this workload: {_spread([p / 1e9 for p in all_probes], '.1f')} "
              f"GFLOP/s ({len(all_probes)} probes)")
        for who in names:
            if not epoch_rates[who]:
                print(f"  {who:38} (no figure)")
                continue
            print(f"  {who:38} {_spread(epoch_rates[who], ',.0f')} samples/s  "
                  f"{_spread([r * flops / 1e9 for r in epoch_rates[who]], '.1f')} GFLOP/s  "
                  f"{_spread([100 * f for f in fractions[who]], '.1f')} % of the GEMM rate")
        ours = rates["netport"]
        print(f"  netport / plain torch loop: "
              f"{_spread([a / b for a, b in zip(ours, rates['plain torch loop'])], '.2f')}x "
              f"(target >= {TARGETS['vs_plain']:.1f}x)")
        chainer = rates.get("seed program on Chainer 7.8")
        if chainer and len(chainer) == len(ours):
            print(f"  netport / Chainer 7.8:      {_spread([a / b for a, b in zip(ours, chainer)], '.2f')}x "
                  f"(target >= {TARGETS['vs_chainer']:.1f}x)")
        if workload == "pretrain":
            print(f"  netport's fraction of the GEMM rate: {_spread([100 * f for f in fractions['netport']], '.1f')} % "
                  f"(target >= {TARGETS['roofline']:.0%}); of the rate of the step's own products alone: "
                  f"{_spread([100 * f for f in step_fractions], '.1f')} %")
    print(f"\nbest GEMM probe of the run: {best_probe / 1e9:.1f} GFLOP/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
