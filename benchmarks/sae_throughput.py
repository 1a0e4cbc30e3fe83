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
Each figure is the median over epochs after the first (warm-up). The fp32 GEMM rate of the
machine is measured here too (a large square torch.mm, best of several), and each contender's
useful GEMM work per sample is divided by it: the fraction of the GEMM roofline. The rate of the
pretraining step's own five products alone (batch-100 shapes, no elementwise work, no optimizer) is
printed too: what any implementation of this step could reach at best.

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


def gemm_rate(device: torch.device, size: int = 2048, repeats: int = 10) -> float:
    """The best fp32 GEMM rate (FLOP/s) of torch.mm on size x size matrices."""
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    c = torch.empty(size, size, device=device)
    best = 0.0
    for trial in range(4):
        _sync(device)
        started = time.perf_counter()
        for _ in range(repeats):
            torch.mm(a, b, out=c)
        _sync(device)
        if trial:  # the first is warm-up
            best = max(best, repeats * 2 * size ** 3 / (time.perf_counter() - started))
    return best


def step_gemm_rate(device: torch.device, batch: int = 100, n: int = 784, m: int = 1000, repeats: int = 50) -> float:
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

    best = 0.0
    for trial in range(4):
        _sync(device)
        started = time.perf_counter()
        for _ in range(repeats):
            products()
        _sync(device)
        if trial:
            best = max(best, repeats * 5 * 2 * batch * n * m / (time.perf_counter() - started))
    return best


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def gemm_flops_per_sample(units: list[int]) -> int:
    """Multiply-adds x 2 of one training sample: forward, weight gradients and input gradients of
    every encoder and decoder product (no input gradient for the data itself)."""
    products = [units[i] * units[i + 1] for i in range(len(units) - 1)]
    total = 2 * sum(products) * 3 * 2  # (encoder + decoder) x (forward, weight grad, input grad)
    return total - 2 * products[0]


def netport_rate(x: np.ndarray, units: list[int], epochs: int, device: str, optimizer: str = "adam") -> float:
    torch.manual_seed(0)
    model = StackedAutoencoder(units)
    pre, fine = (epochs, 0) if len(units) == 2 else (0, epochs)
    config = TrainConfig(epochs_pre=pre, epochs_fine=fine, batch_size=100, progress=False, device=device,
                         optimizer=optimizer)
    history = SAETrainer(model, config).fit(x)
    return statistics.median(r.samples_per_s for r in history.records[1:])


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


def plain_torch_rate(x: np.ndarray, units: list[int], epochs: int, device: str) -> float:
    torch.manual_seed(0)
    device = torch.device(device)
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
    return statistics.median(rates[1:])


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="MNIST source (default: the embedded subset)")
    parser.add_argument("--n-train", type=int, help="use the first N training images")
    parser.add_argument("--epochs", type=int, default=6, help="epochs per measurement (the first is warm-up)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-chainer", action="store_true", help="leave out (c)")
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first is warm-up)")

    device = torch.device(args.device)
    mnist = load_mnist(args.data)
    x = mnist.x_train[: args.n_train] if args.n_train else mnist.x_train
    peak, step_peak = gemm_rate(device), step_gemm_rate(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {device} ({name}); torch {torch.__version__}; data: {len(x)} images from {mnist.source}")
    print(f"fp32 GEMM rate (torch.mm 2048x2048x2048, best of 3): {peak / 1e9:.1f} GFLOP/s")
    print(f"fp32 GEMM rate of the pretraining step's five products alone (batch 100, 784x1000): "
          f"{step_peak / 1e9:.1f} GFLOP/s")
    for workload, units in WORKLOADS.items():
        flops = gemm_flops_per_sample(units)
        print(f"\n{workload}: {'-'.join(map(str, units))} tied sigmoid, batch 100, Adam; "
              f"{flops / 1e6:.2f} MFLOP of GEMM per sample; median of epochs 2-{args.epochs}")
        rates = {"netport": netport_rate(x, units, args.epochs, args.device),
                 "plain torch loop": plain_torch_rate(x, units, args.epochs, args.device)}
        if not args.skip_chainer and device.type == "cpu":
            rates["seed program on Chainer 7.8"] = chainer_rate(args.data, args.n_train, units, args.epochs)
        rates["netport, MomentumSGD (for reference)"] = netport_rate(x, units, args.epochs, args.device,
                                                                     "momentumsgd")
        for who, rate in rates.items():
            if rate is None:
                continue
            print(f"  {who:30} {rate:10,.0f} samples/s  {rate * flops / 1e9:7.1f} GFLOP/s  "
                  f"{rate * flops / peak:6.1%} of the GEMM rate")
        ours = rates["netport"]
        plain_ratio = ours / rates["plain torch loop"]
        print(f"  netport / plain torch loop: {plain_ratio:.2f}x (target >= {TARGETS['vs_plain']:.1f}x)")
        if rates.get("seed program on Chainer 7.8"):
            print(f"  netport / Chainer 7.8:      {ours / rates['seed program on Chainer 7.8']:.2f}x "
                  f"(target >= {TARGETS['vs_chainer']:.1f}x)")
        if workload == "pretrain":
            print(f"  netport's fraction of the GEMM rate: {ours * flops / peak:.1%} "
                  f"(target >= {TARGETS['roofline']:.0%}); of the rate of the step's own products alone: "
                  f"{ours * flops / step_peak:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
