"""``netport train-sae``: train a stacked autoencoder on MNIST and write the model, history and plots."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path

# Options whose values the checkpoint holds but which may differ on --resume: more epochs train on
# (the trainer refuses counts already passed), and the same data may have moved (the trainer compares
# its contents).
_MAY_DIFFER_ON_RESUME = ("epochs_pre", "epochs_fine", "data")


def run(args: argparse.Namespace, defaults: dict) -> int:
    """Train as ``args`` say. Options the command line leaves out (None) come from the checkpoint on
    --resume, else from ``defaults`` (option name -> value; units as the --units string)."""
    import numpy as np
    import torch

    from netport.data import MNISTError, load_mnist
    from netport.sae import io, plots
    from netport.sae.metrics import squared_error_per_image
    from netport.sae.model import SAEWarning, StackedAutoencoder
    from netport.sae.training import SAEError, SAETrainer, TrainConfig, read_checkpoint

    def fail(message: str) -> int:
        print(f"netport train-sae: error: {message}", file=sys.stderr)
        return 2

    out = Path(args.out)
    problem = _unwritable(out)
    if problem:
        return fail(f"--out {out}: {problem}")
    try:
        args.units = None if args.units is None else _widths(args.units)
    except ValueError:
        return fail(f"--units takes widths separated by commas, such as 1000,500,250,2, not {args.units!r}")
    from_checkpoint = set()
    if args.resume:
        try:
            recorded = _recorded_options(read_checkpoint(out / "checkpoint.pt"))
        except SAEError as exc:
            return fail(str(exc))
        conflicts = [conflict for name, value in recorded.items()
                     if (conflict := _conflict(name, getattr(args, name), value)) is not None]
        if conflicts:
            options = "the option" if len(conflicts) == 1 else "those options"
            return fail(f"{out / 'checkpoint.pt'}: {'; '.join(conflicts)}; drop {options} or use another --out")
        for name, value in recorded.items():
            if getattr(args, name) is None:
                setattr(args, name, value)
                from_checkpoint.add(name)
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, _widths(value) if name == "units" else value)
    hidden = args.units
    try:
        mnist = load_mnist(args.data)
    except MNISTError as exc:
        return fail(str(exc))
    x_train = mnist.x_train if args.n_train is None else mnist.x_train[: args.n_train]
    width = int(np.prod(x_train.shape[1:]))
    if "units" not in from_checkpoint and len(hidden) > 1 and hidden[0] == width:
        # the library's units list starts with the input width, --units does not: 784-784-64-2 is
        # almost certainly not what was meant
        shown, rest = ",".join(map(str, hidden)), ",".join(map(str, hidden[1:]))
        return fail(f"--units {shown}: the first width equals the data's width {width}; --units lists the layers "
                    f"after the input (try --units {rest})")
    config = TrainConfig(epochs_pre=args.epochs_pre, epochs_fine=args.epochs_fine, batch_size=args.batch_size,
                         optimizer=args.optimizer, lr=args.lr, noise=args.noise, loss=args.loss, seed=args.seed,
                         device=args.device, progress=args.progress, checkpoint=str(out / "checkpoint.pt"),
                         resume=args.resume)
    # kept in the checkpoint so that --resume needs neither option again
    notes = {"data": _absolute(args.data), "n_train": args.n_train}
    show_other_warning = warnings.showwarning

    def show_warning(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, SAEWarning):  # advice to the user, not a location in netport's code
            print(f"netport train-sae: warning: {message}", file=sys.stderr, flush=True)
        else:
            show_other_warning(message, category, filename, lineno, file, line)

    try:
        with warnings.catch_warnings():
            warnings.showwarning = show_warning
            torch.manual_seed(args.seed)
            model = StackedAutoencoder([width, *hidden], activation=args.activation,
                                       linear_code=args.linear_code, output_activation=args.output_activation,
                                       tied=args.tied, dropout=args.dropout)
            trainer = SAETrainer(model, config, on_epoch_end=_print_epoch, checkpoint_notes=notes)
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
               *[path for path in [out / "checkpoint.pt"] if path.exists()],  # none when no epoch trained
               plots.plot_losses(history, out / "loss.png"),
               plots.plot_reconstructions(mnist.x_test[shown], reconstructions[shown], out / "reconstructions.png")]
    if model.code_size == 2:
        codes = model.transform(mnist.x_test).cpu().numpy()
        written.append(plots.plot_codes(codes, mnist.y_test, out / "codes.png"))
    print("wrote " + ", ".join(str(path) for path in written))
    return 0


def _unwritable(out: Path) -> str | None:
    """Why no file can be written into ``out`` (made if missing), or None. Checked before anything
    trains: otherwise the first epoch's checkpoint is where it fails."""
    blocker = next((path for path in (out, *out.parents) if os.path.exists(path)), None)
    if blocker is not None and not os.path.isdir(blocker):
        return f"{blocker} is not a directory"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create the directory ({exc.strerror or exc})"
    try:
        with tempfile.NamedTemporaryFile(dir=out, prefix=".netport-probe-") as probe:  # removed on closing
            probe.write(b"probe")
            probe.flush()
    except OSError as exc:
        return f"cannot write a file there ({exc.strerror or exc})"
    return None


def _widths(units: str) -> list[int]:
    return [int(width) for width in units.split(",")]


def _absolute(data: str | None) -> str | None:
    """A --data path that still names the same file from another working directory."""
    return data if data in (None, "chainer") else str(Path(data).expanduser().resolve())


def _recorded_options(checkpoint: dict) -> dict:
    """The options a checkpoint records, as the command line gives them (units without the input width)."""
    architecture, config, position = checkpoint["architecture"], checkpoint["config"], checkpoint["position"]
    recorded = {name: architecture[name] for name in ("activation", "output_activation", "linear_code", "tied",
                                                      "dropout")}
    recorded.update({name: config[name] for name in ("batch_size", "optimizer", "lr", "noise", "loss", "seed")})
    recorded.update(units=architecture["units"][1:], device=checkpoint["device"], epochs_pre=position["epochs_pre"])
    if "epochs_fine" in position:  # older checkpoints lack it, and the notes
        recorded["epochs_fine"] = position["epochs_fine"]
    recorded.update(checkpoint.get("notes", {}))
    return recorded


def _conflict(name: str, given, recorded) -> str | None:
    """What to tell the user when an option given on --resume disagrees with the checkpoint, else None."""
    if given is None or name in _MAY_DIFFER_ON_RESUME:
        return None
    compared, shown = given, _shown(name, given)
    if name == "device":  # the checkpoint records the kind of device: auto and cuda:1 are compared as such
        compared = _device_kind(given)
        shown = given if compared == given else f"{given} ({compared})"
    if compared == recorded:
        return None
    option = ("--tied" if given else "--untied") if name == "tied" else "--" + name.replace("_", "-")
    return f"{option}: the checkpoint has {_shown(name, recorded)}, the command line says {shown}"


def _device_kind(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        return torch.device(device).type
    except RuntimeError:  # not a device: the trainer says so
        return device


def _shown(name: str, value) -> str:
    if name == "units":
        return ",".join(map(str, value))
    if name == "tied":
        return "tied decoders" if value else "untied decoders"
    if name == "linear_code":
        return "a linear code layer" if value else "no linear code layer"
    if value is None:
        return {"lr": "the optimizer's default", "n_train": "all training images"}.get(name, "none")
    return str(value)


def _print_epoch(record) -> None:
    stage = f"pretrain layer {record.layer}" if record.stage == "pretrain" else "finetune"
    test = f"  test {record.val_loss:.6f}" if record.val_loss is not None else ""
    print(f"{stage} epoch {record.epoch} loss {record.loss:.6f}{test} ({record.samples_per_s:.0f} samples/sec)",
          flush=True)
