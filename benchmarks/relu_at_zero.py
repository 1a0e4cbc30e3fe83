"""Does ReLU's derivative at exactly 0 matter? (issue 18, question 3)

The derivative of max(0, z) at z = 0 is a convention: PyTorch and Chainer use 0; 0.5 and 1 are the
others. Backprop only reads it for inputs that are exactly 0.0, which a float32 sum of products hits
only in special cases: an input patch that is all zero (MNIST's blank borders) under a zero bias, or a
unit all of whose inputs are zero. Chainer initialises biases to 0, as done here.

Trains, on the 4,000 training digits of the embedded MNIST subset (netport.data.load_mnist), a
784-128-128-10 MLP and a small CNN (conv 8 - pool - conv 16 - pool - linear), each with a custom ReLU
whose derivative at 0 is 0, 0.5 or 1, from the same seed and initial weights (biases 0), SGD lr 0.1,
batch 100, 2 epochs, deterministic single-threaded float32. Printed per model: how many ReLU inputs were
exactly 0 (over the run and in the first step), and per convention the final training loss, the test
accuracy and the largest difference of the per-step loss from the derivative-0 run. A rerun of the
derivative-0 run is the control: its difference must be exactly 0, or the comparison would measure
nondeterminism instead.

Usage: .venv/bin/python benchmarks/relu_at_zero.py [--epochs 2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from netport.data import load_mnist  # noqa: E402


class Counter:
    zeros = 0
    total = 0


class ReLUAt(torch.autograd.Function):
    """max(0, z) whose derivative at exactly 0 is ``at_zero``; counts the exact zeros it sees."""

    @staticmethod
    def forward(ctx, z, at_zero):
        ctx.save_for_backward(z)
        ctx.at_zero = at_zero
        Counter.zeros += int((z == 0).sum())
        Counter.total += z.numel()
        return z.clamp(min=0)

    @staticmethod
    def backward(ctx, grad):
        z, = ctx.saved_tensors
        slope = (z > 0).to(grad.dtype) + ctx.at_zero * (z == 0).to(grad.dtype)
        return grad * slope, None


class ReLU(nn.Module):
    def __init__(self, at_zero: float):
        super().__init__()
        self.at_zero = at_zero

    def forward(self, z):
        return ReLUAt.apply(z, self.at_zero)


def mlp(at_zero: float) -> nn.Module:
    return nn.Sequential(nn.Linear(784, 128), ReLU(at_zero), nn.Linear(128, 128), ReLU(at_zero), nn.Linear(128, 10))


def cnn(at_zero: float) -> nn.Module:
    return nn.Sequential(nn.Unflatten(1, (1, 28, 28)), nn.Conv2d(1, 8, 3, padding=1), ReLU(at_zero), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), ReLU(at_zero), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(16 * 7 * 7, 10))


def train(build, at_zero: float, data, epochs: int, seed: int = 0):
    torch.manual_seed(seed)
    model = build(at_zero)
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            nn.init.zeros_(module.bias)  # Chainer's default initial bias
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x_train, y_train, x_test, y_test = data
    order = torch.Generator().manual_seed(seed)
    losses, first_step = [], None
    Counter.zeros = Counter.total = 0
    for _ in range(epochs):
        permutation = torch.randperm(len(x_train), generator=order)
        for start in range(0, len(x_train), 100):
            batch = permutation[start:start + 100]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            if first_step is None:
                first_step = (Counter.zeros, Counter.total)
    counts = (Counter.zeros, Counter.total)
    with torch.no_grad():
        accuracy = float((model(x_test).argmax(1) == y_test).float().mean())
    return np.array(losses), accuracy, counts, first_step


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    mnist = load_mnist()
    data = tuple(torch.from_numpy(np.asarray(a)) for a in (mnist.x_train, mnist.y_train, mnist.x_test, mnist.y_test))
    data = (data[0].float(), data[1].long(), data[2].float(), data[3].long())
    print(f"embedded MNIST subset: {len(data[0])} training, {len(data[2])} test digits; {args.epochs} epochs, "
          f"batch 100, SGD lr 0.1, float32, biases initialised to 0, torch {torch.__version__}")
    for name, build in (("MLP 784-128-128-10", mlp), ("CNN conv8-pool-conv16-pool-fc", cnn)):
        runs = {at_zero: train(build, at_zero, data, args.epochs) for at_zero in (0.0, 0.5, 1.0)}
        control = train(build, 0.0, data, args.epochs)
        reference, _, (zeros, total), (first_zeros, first_total) = runs[0.0]
        print(f"\n{name}: {len(reference)} steps; ReLU inputs exactly 0: {zeros:,} of {total:,} "
              f"({zeros / total:.3%}) over the run, {first_zeros:,} of {first_total:,} "
              f"({first_zeros / first_total:.3%}) in the first step")
        columns = ("relu'(0)", "final loss", "test accuracy", "max |loss - loss(relu'(0)=0)|")
        print(f"  {columns[0]:<18} {columns[1]:>10} {columns[2]:>14} {columns[3]:>32}")
        for label, (losses, accuracy, _, _) in [*((f"{k:g}", v) for k, v in runs.items()),
                                                 ("0 (rerun, control)", control)]:
            difference = float(np.abs(losses - reference).max())
            print(f"  {label:<18} {losses[-1]:>10.4f} {accuracy:>14.4f} {difference:>32.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
