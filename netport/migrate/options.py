"""What a migration is asked to do, as one value that travels from the API to every rule."""

from __future__ import annotations

from dataclasses import dataclass

TARGETS = ("chainer", "torch")
TRAINERS = ("loop", "ppe")
# pytorch-pfn-extras by default: real Trainer programs almost always use extensions (LogReport, PrintReport,
# snapshot, Evaluator, custom ones) that a written-out loop can only mark for a human, while ppe keeps them
DEFAULT_TRAINER = "ppe"


class UsageError(ValueError):
    """A request that cannot be carried out as asked (the CLI exits 2)."""


@dataclass(frozen=True)
class MigrationOptions:
    target: str = "chainer"  # "chainer" (5+) or "torch" (through Chainer 5 idiom)
    init: str = "chainer"  # torch target: keep Chainer's weight initialisation ("chainer") or torch's ("torch")
    adam_eps: str = "torch"  # torch target: torch.optim.Adam as is ("torch") or with Chainer's eps placement
    trainer: str = DEFAULT_TRAINER  # torch target: a Trainer becomes a written-out loop ("loop") or pytorch-pfn-extras ("ppe")

    def __post_init__(self):
        if self.target not in TARGETS:
            raise UsageError(f"--to {self.target}: not implemented yet (targets: {', '.join(TARGETS)})")
        for name, value in (("init", self.init), ("adam_eps", self.adam_eps)):
            if value not in ("chainer", "torch"):
                raise UsageError(f"{name}={value!r}: 'chainer' or 'torch'")
        if self.trainer not in TRAINERS:
            raise UsageError(f"trainer={self.trainer!r}: {' or '.join(map(repr, TRAINERS))}")
