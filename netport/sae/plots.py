"""PNG figures of a training run: loss curves, test digits with their reconstructions, and for a
2-D code the test codes coloured by label (Hinton & Salakhutdinov 2006, Fig. 3)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from netport.atomic import write_atomic
from netport.sae.training import History


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path: Path) -> Path:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    _pyplot().close(figure)
    write_atomic(path, buffer.getvalue())
    return path


def plot_losses(history: History, path: Path) -> Path:
    plt = _pyplot()
    stages = [(f"pretrain layer {layer}", history.stage("pretrain", layer))
              for layer in sorted({r.layer for r in history.stage("pretrain")})]
    stages.append(("finetune", history.stage("finetune")))
    stages = [(name, records) for name, records in stages if records]
    from matplotlib.ticker import MaxNLocator

    panels = max(len(stages), 1)
    figure, axes = plt.subplots(1, panels, figsize=(3.6 * panels, 3), squeeze=False)
    for axis, (name, records) in zip(axes[0], stages):
        epochs = [r.epoch for r in records]
        axis.plot(epochs, [r.loss for r in records], marker="o", label="train")
        if any(r.val_loss is not None for r in records):
            axis.plot(epochs, [r.val_loss for r in records], marker="s", label="test")
        axis.set_title(name)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.legend()
    axes[0][0].set_ylabel("reconstruction loss")
    figure.tight_layout()
    return _save(figure, path)


def plot_reconstructions(images: np.ndarray, reconstructions: np.ndarray, path: Path, side: int = 28) -> Path:
    """Two rows per group: test digits above, their reconstructions below."""
    plt = _pyplot()
    count = min(len(images), 10)
    figure, axes = plt.subplots(2, count, figsize=(count * 1.0, 2.2), squeeze=False)
    for column in range(count):
        for row, source in enumerate((images, reconstructions)):
            axis = axes[row][column]
            axis.imshow(np.asarray(source[column]).reshape(side, side), cmap="gray", vmin=0.0, vmax=1.0)
            axis.set_xticks([])
            axis.set_yticks([])
    axes[0][0].set_ylabel("test")
    axes[1][0].set_ylabel("output")
    return _save(figure, path)


def plot_codes(codes: np.ndarray, labels: np.ndarray, path: Path) -> Path:
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(5.5, 5))
    points = axis.scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", s=4, vmin=-0.5, vmax=9.5)
    figure.colorbar(points, ax=axis, ticks=range(10), label="digit")
    axis.set_title("2-D codes of the test digits")
    return _save(figure, path)
