"""``netport train-sae``: train a stacked autoencoder on MNIST and write the model, history and plots."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from netport.data import MNISTError, load_mnist
    from netport.sae import io, plots
    from netport.sae.metrics import squared_error_per_image
    from netport.sae.model import StackedAutoencoder
    from netport.sae.training import SAEError, SAETrainer, TrainConfig

    def fail(message: str) -> int:
        print(f"netport train-sae: error: {message}", file=sys.stderr)
        return 2

    try:
        hidden = [int(u) for u in args.units.split(",")]
    except ValueError:
        return fail(f"--units takes widths separated by commas, such as 1000,500,250,2, not {args.units!r}")
    try:
        mnist = load_mnist(args.data)
    except MNISTError as exc:
        return fail(str(exc))
    x_train = mnist.x_train if args.n_train is None else mnist.x_train[: args.n_train]
    out = Path(args.out)
    config = TrainConfig(epochs_pre=args.epochs_pre, epochs_fine=args.epochs_fine, batch_size=args.batch_size,
                         optimizer=args.optimizer, lr=args.lr, noise=args.noise, loss=args.loss, seed=args.seed,
                         device=args.device, progress=args.progress, checkpoint=str(out / "checkpoint.pt"),
                         resume=args.resume)
    try:
        torch.manual_seed(args.seed)
        model = StackedAutoencoder([x_train.shape[1], *hidden], activation=args.activation,
                                   linear_code=args.linear_code, output_activation=args.output_activation,
                                   tied=args.tied, dropout=args.dropout)
        trainer = SAETrainer(model, config, on_epoch_end=_print_epoch)
        print(f"units: {'-'.join(map(str, model.units))}  train: {len(x_train)}  test: {len(mnist.x_test)}  "
              f"source: {mnist.source}  device: {trainer.device}  loss: {config.loss}")
        history = trainer.fit(x_train, mnist.x_test)
    except (SAEError, ValueError) as exc:
        return fail(str(exc))

    reconstructions = model.reconstruct(mnist.x_test).cpu().numpy()
    test_mse = float(np.mean((reconstructions - mnist.x_test) ** 2))
    test_sse = squared_error_per_image(mnist.x_test, reconstructions)
    print(f"test mean squared error {test_mse:.6f}  squared error per image {test_sse:.3f}")
    io.save_model(model, out)
    io.export_chainer_npz(model, out / "sae.npz")
    summary = {"architecture": model.architecture(), "config": dataclasses.asdict(config),
               "data": {"source": mnist.source, "train": len(x_train), "test": len(mnist.x_test)},
               "epochs": history.to_json(), "test": {"mse": test_mse, "squared_error_per_image": test_sse}}
    from netport.atomic import write_atomic

    write_atomic(out / "history.json", json.dumps(summary, indent=2) + "\n")
    shown = [int(np.flatnonzero(mnist.y_test == digit)[0]) for digit in range(10) if np.any(mnist.y_test == digit)]
    written = [out / "sae.pt", out / "sae.json", out / "sae.npz", out / "history.json",
               plots.plot_losses(history, out / "loss.png"),
               plots.plot_reconstructions(mnist.x_test[shown], reconstructions[shown], out / "reconstructions.png")]
    if model.code_size == 2:
        codes = model.transform(mnist.x_test).cpu().numpy()
        written.append(plots.plot_codes(codes, mnist.y_test, out / "codes.png"))
    print("wrote " + ", ".join(str(path) for path in written))
    return 0


def _print_epoch(record) -> None:
    stage = f"pretrain layer {record.layer}" if record.stage == "pretrain" else "finetune"
    test = f"  test {record.val_loss:.6f}" if record.val_loss is not None else ""
    print(f"{stage} epoch {record.epoch} loss {record.loss:.6f}{test} ({record.samples_per_s:.0f} samples/sec)",
          flush=True)
