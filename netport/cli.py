"""The ``netport`` command line: argument parsing only; the work lives in the library."""

from __future__ import annotations

import argparse
import sys

from netport import __version__

EXIT_OK, EXIT_USAGE = 0, 2

# Subcommands whose issues have not landed yet: they are registered so that `--help` shows the
# whole tool, and they say plainly that they do nothing yet.
PLANNED = {
    "migrate": "rewrite Chainer v1 source into Chainer 5+ or PyTorch (not implemented yet)",
    "check-shapes": "find layer-shape mismatches before training (not implemented yet)",
    "train-sae": "train a stacked autoencoder with greedy pretraining (not implemented yet)",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netport",
        description="Bring legacy Chainer v1 programs back to life: migrate them to modern Chainer "
        "or PyTorch, check their layer shapes, or train a stacked autoencoder instead.",
    )
    parser.add_argument("--version", action="version", version=f"netport {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    for name, summary in PLANNED.items():
        planned = commands.add_parser(name, help=summary, description=f"netport {name}: {summary}.")
        planned.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        planned.set_defaults(handler=_not_implemented)

    info = commands.add_parser(
        "mnist-info",
        help="load an MNIST source and describe it (checks a --data path before a long run)",
        description="Load MNIST the way netport and its examples do and print what was found. "
        "PATH may be a Keras-style mnist.npz, a directory of the four IDX files (gzipped or not), "
        "Chainer's dataset cache directory, or 'chainer' for that cache's default location; "
        "without PATH the embedded 5,000-digit subset is used.",
    )
    info.add_argument("path", nargs="?", metavar="PATH", help="MNIST source (default: embedded subset)")
    info.set_defaults(handler=_mnist_info)
    return parser


def _not_implemented(args: argparse.Namespace) -> int:
    print(f"netport {args.command}: not implemented yet", file=sys.stderr)
    return EXIT_USAGE


def _mnist_info(args: argparse.Namespace) -> int:
    import numpy as np

    from netport.data import MNISTError, load_mnist

    try:
        mnist = load_mnist(args.path)
    except MNISTError as exc:
        print(f"netport mnist-info: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"source:  {mnist.source}")
    for split, x, y in (("train", mnist.x_train, mnist.y_train), ("test", mnist.x_test, mnist.y_test)):
        counts = " ".join(str(c) for c in np.bincount(y, minlength=10))
        print(f"{split + ':':8} x {x.shape} {x.dtype} in [{x.min():.1f}, {x.max():.1f}], "
              f"mean {x.mean():.4f}; labels per class {counts}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    return args.handler(args)
