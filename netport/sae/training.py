"""Greedy layer-wise pretraining, then fine-tuning of the whole stack.

Layer k is trained to reconstruct the codes of layer k-1, computed once per layer in inference
mode without a graph (so the 784-vs-250 bug of the seed program cannot happen here); masking
noise, if any, corrupts only the current layer's input and the target stays clean. Then the
whole network is fine-tuned to reconstruct its input. Each stage gets a fresh optimizer, as in
the seed program: Adam (Chainer's alpha=0.001, betas 0.9/0.999, eps 1e-8) or MomentumSGD (lr 0.01,
momentum 0.9).

After every epoch a checkpoint (model, optimizer, random generators, history) can be written;
``resume=True`` continues from it and gives bit-for-bit the weights of an uninterrupted run on the
CPU.
"""

from __future__ import annotations

import dataclasses
import io
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from netport.atomic import write_atomic
from netport.sae.engine import LOSSES, DenseChain, DenseOp
from netport.sae.model import StackedAutoencoder, as_tensor, warn
from netport.sae.optim import fused_step
from netport.shapes.findings import RULE_MISMATCH, mismatch_message

OPTIMIZERS = {"adam": 1e-3, "momentumsgd": 1e-2}  # name -> Chainer's default learning rate
CHECKPOINT_FORMAT = "netport-sae-checkpoint/1"


class SAEError(ValueError):
    """A problem with the data, the configuration or a checkpoint; the message says what to change."""


@dataclass
class TrainConfig:
    """How to train: epochs, batches, optimizer, noise, loss, seed, device, progress and checkpoints.

    ``fit(model, x, **settings)`` takes these fields as keyword arguments; the defaults are the seed
    program's (10 + 10 epochs, batches of 100, Adam, MSE)."""

    epochs_pre: int = 10  # per layer
    epochs_fine: int = 10
    batch_size: int = 100
    optimizer: str = "adam"  # "adam" or "momentumsgd"
    lr: float | None = None  # default: 0.001 for Adam (Chainer's alpha), 0.01 for MomentumSGD
    momentum: float = 0.9
    noise: float = 0.0  # masking noise: fraction of the current layer's inputs zeroed in pretraining
    # "mse" (the seed's mean_squared_error) or "bce": binary cross-entropy wherever the reconstruction
    # is a sigmoid's (the output always must be), MSE for deeper layers that decode otherwise
    loss: str = "mse"
    seed: int = 0
    device: str | None = None  # None: where the model is; "cpu", "cuda", "cuda:N" or "auto"
    progress: bool = True
    checkpoint: str | None = None  # file rewritten after every epoch
    resume: bool = False  # continue from `checkpoint`

    def learning_rate(self) -> float:
        return OPTIMIZERS[self.optimizer] if self.lr is None else self.lr

    def validate(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise SAEError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {self.optimizer!r}")
        if self.loss not in LOSSES:
            raise SAEError(f"loss must be one of {', '.join(LOSSES)}, not {self.loss!r}")
        if self.batch_size < 1 or self.epochs_pre < 0 or self.epochs_fine < 0:
            raise SAEError("batch_size must be positive and epoch counts not negative")
        if not 0.0 <= self.noise < 1.0:
            raise SAEError(f"noise must be in [0, 1), not {self.noise}")
        if self.resume and not self.checkpoint:
            raise SAEError("resume needs a checkpoint file")


@dataclass
class EpochRecord:
    """One trained epoch: which stage and layer, its mean loss (and test loss), and its speed."""

    stage: str  # "pretrain" or "finetune"
    layer: int | None  # 1-based layer of a pretraining epoch
    epoch: int
    loss: float  # mean of the loss over the epoch's elements, as the seed program prints it
    samples_per_s: float
    seconds: float
    val_loss: float | None = None


@dataclass
class History:
    """Every trained epoch in order (``records``), as ``fit`` returns it and checkpoints keep it."""

    records: list[EpochRecord] = field(default_factory=list)

    def to_json(self) -> list[dict]:
        return [asdict(record) for record in self.records]

    @classmethod
    def from_json(cls, rows: list[dict]) -> History:
        return cls([EpochRecord(**row) for row in rows])

    def stage(self, stage: str, layer: int | None = None) -> list[EpochRecord]:
        return [r for r in self.records if r.stage == stage and (layer is None or r.layer == layer)]


def resolve_device(name: str | None, model: StackedAutoencoder) -> torch.device:
    """``None``: where the model is; ``"auto"``: the GPU if there is one; else cpu, cuda or cuda:N."""
    if name is None:
        return model[0].encoder.weight.device
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        device = None
    if device is None or device.type not in ("cpu", "cuda"):
        raise SAEError(f"device must be cpu, cuda, cuda:N or auto, not {name!r}")
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise SAEError(f"device {name!r} asked for, but this torch has no CUDA device")
        if device.index is not None and device.index >= count:
            raise SAEError(f"device {name!r} asked for, but there are {count} CUDA device(s)")
    return device


def as_input(model: StackedAutoencoder, data, what: str = "data") -> torch.Tensor:
    """``data`` as an (N, units[0]) tensor of the model's dtype, or an error worded as check-shapes words it.

    Trailing axes are flattened, as Chainer's Linear does, so (N, 1, 28, 28) images are accepted."""
    tensor = as_tensor(data, model[0].encoder.weight.dtype)
    if tensor.ndim < 2:
        raise SAEError(f"{what} must be a batch of samples (N, features), not shape {tuple(tensor.shape)}")
    width, expected = int(np.prod(tensor.shape[1:])), model.units[0]
    if width != expected:
        message = mismatch_message("layer 1 encoder", f"Linear({expected} -> {model.units[1]})", width, expected)
        hint = (f"the units list {model.units} starts with {expected}; build the model with units "
                f"[{width}, ...] for this {what}, or give it {expected}-wide samples")
        raise SAEError(f"error[{RULE_MISMATCH}] {message} (the {what} has shape {tuple(tensor.shape)}); "
                       f"hint: {hint}")
    if len(tensor) == 0:
        raise SAEError(f"{what} is empty")
    tensor = tensor.reshape(len(tensor), width)
    finite = torch.isfinite(tensor).all(dim=1)
    if not bool(finite.all()):
        # one NaN makes every weight NaN within a step, and the loss says nothing about where it came from
        count, row = int((~torch.isfinite(tensor)).sum()), int(torch.nonzero(~finite)[0])
        raise SAEError(f"the {what} holds {count} NaN or infinite value{'s' if count > 1 else ''} (first in row "
                       f"{row}); clean or drop those samples")
    return tensor


def layer_ops(model: StackedAutoencoder, layers: list[int], noise: float = 0.0) -> list[DenseOp]:
    """The dense chain of ``layers``' encoders, then their decoders in reverse (tied ones share W)."""
    chosen = [model[i] for i in layers]
    ops = [DenseOp(layer.encoder.weight, layer.encoder.bias, layer.encode_activation, dropout=layer.dropout)
           for layer in chosen]
    for position, layer in reversed(list(enumerate(chosen))):
        weight = layer.encoder.weight if layer.tied else layer.decoder.weight
        op = DenseOp(weight, layer.decoder_bias, layer.decode_activation, transposed=layer.tied,
                     dropout=layer.dropout)
        if layer.tied:
            op.tie, ops[position].tie = position, len(ops)
        ops.append(op)
    ops[0].noise = noise
    return ops


class SAETrainer:
    """Trains a :class:`StackedAutoencoder`; ``fit`` runs every stage (or resumes them).

    ``checkpoint_notes`` are stored in every checkpoint as they are (``netport train-sae`` keeps its
    --data and --n-train there, so that --resume can fill them in); ``read_checkpoint`` gives them back.
    """

    # seconds between refreshes of the progress bar's running loss: each one waits for the device
    progress_interval_s = 0.5

    def __init__(self, model: StackedAutoencoder, config: TrainConfig | None = None,
                 on_epoch_end: Callable[[EpochRecord], None] | None = None, checkpoint_notes: dict | None = None):
        self.checkpoint_notes = dict(checkpoint_notes or {})
        self.config = config or TrainConfig()
        self.config.validate()
        if self.config.loss == "bce" and model[0].decode_activation != "sigmoid":
            raise SAEError(f"loss 'bce' needs a sigmoid output layer, not {model[0].decode_activation!r} "
                           "(set output_activation='sigmoid')")
        self.model, self.on_epoch_end = model, on_epoch_end
        self.device = resolve_device(self.config.device, model)
        self.model.to(self.device)
        self.history = History()
        self.optimizer: torch.optim.Optimizer | None = None
        self._permutations = torch.Generator().manual_seed(self.config.seed)
        self._masks = torch.Generator(device=self.device).manual_seed(self.config.seed + 1)

    def stages(self) -> list[tuple[str, int | None, int]]:
        """(stage, 1-based layer, epochs) in training order."""
        pre = [("pretrain", i + 1, self.config.epochs_pre) for i in range(len(self.model))]
        return pre + [("finetune", None, self.config.epochs_fine)]

    def fit(self, x_train, x_val=None) -> History:
        config = self.config
        x = as_input(self.model, x_train, "training data").to(self.device)
        val = as_input(self.model, x_val, "validation data").to(self.device) if x_val is not None else None
        self._check_range(x, "training data")
        if val is not None:
            self._check_range(val, "validation data")
        # which data a checkpoint was made on: resuming on other data would mix two runs
        self._data = {"rows": len(x), "sum": float(x.sum(dtype=torch.float64))}
        start_stage, start_epoch, optimizer_state = 0, 1, None
        if config.resume:
            start_stage, start_epoch, optimizer_state = self._load_checkpoint(Path(config.checkpoint))
        for index, (stage, layer, epochs) in enumerate(self.stages()):
            if index < start_stage or epochs == 0:
                continue
            first = start_epoch if index == start_stage else 1
            if first > epochs:
                continue
            layers = [layer - 1] if stage == "pretrain" else list(range(len(self.model)))
            depth = layers[0]
            data = self.model.transform(x, depth) if depth else x
            val_data = (self.model.transform(val, depth) if depth else val) if val is not None else None
            chain = DenseChain(layer_ops(self.model, layers, config.noise if stage == "pretrain" else 0.0),
                               min(config.batch_size, len(data)), self._loss(layers[0]), self._masks)
            optimizer = self.optimizer = self._optimizer(chain)  # the current stage's, for callbacks
            if optimizer_state is not None and index == start_stage:
                optimizer.load_state_dict(optimizer_state)
            for epoch in range(first, epochs + 1):
                record = self._epoch(chain, optimizer, data, stage, layer, epoch)
                if val_data is not None:
                    record.val_loss = self.evaluate(val_data, layers)
                self.history.records.append(record)
                if config.checkpoint:
                    self._save_checkpoint(Path(config.checkpoint), index, epoch, optimizer)
                if self.on_epoch_end is not None:
                    self.on_epoch_end(record)
        return self.history

    def _check_range(self, data: torch.Tensor, what: str) -> None:
        """Data outside [0, 1] where the output is a sigmoid's: BCE is undefined there, and MSE trains
        towards values the output never reaches (raw 0-255 pixels give a loss in the thousands)."""
        low, high = float(data.min()), float(data.max())
        if 0.0 <= low and high <= 1.0:
            return
        span, scaling = f"[{low:g}, {high:g}]", "x / 255 for 0-255 pixels"
        if self.config.loss == "bce":
            raise SAEError(f"loss 'bce' needs data in [0, 1]; the {what} spans {span} (scale it, e.g. {scaling}, "
                           "or use loss 'mse')")
        if self.model[0].decode_activation == "sigmoid":
            warn(f"the {what} spans {span}, but the output layer is a sigmoid, whose values lie in (0, 1): scale "
                 f"the data into [0, 1] (e.g. {scaling}) or choose another output activation")

    def _loss(self, bottom_layer: int) -> str:
        """The loss of a stage whose reconstruction comes out of ``bottom_layer``'s decoder."""
        sigmoid = self.model[bottom_layer].decode_activation == "sigmoid"
        return "bce" if self.config.loss == "bce" and sigmoid else "mse"

    def _optimizer(self, chain: DenseChain) -> torch.optim.Optimizer:
        params = []
        for param, grad in chain.grads():
            param.grad = grad  # the chain writes every gradient in place each step
            params.append(param)
        lr, fused = self.config.learning_rate(), self.device.type in ("cpu", "cuda")
        if self.config.optimizer == "adam":
            return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, fused=fused)
        return torch.optim.SGD(params, lr=lr, momentum=self.config.momentum, fused=fused)

    def _epoch(self, chain: DenseChain, optimizer, data: torch.Tensor, stage: str, layer: int | None,
               epoch: int) -> EpochRecord:
        from tqdm.auto import tqdm

        n, batch = len(data), chain.batch_size
        label = f"pretrain layer {layer}" if stage == "pretrain" else "finetune"
        bar = tqdm(total=n, desc=f"{label} epoch {epoch}", unit="img", leave=False,
                   disable=not self.config.progress, dynamic_ncols=True)
        chain.loss_sum.zero_()
        started = time.perf_counter()
        refresh_at = started + self.progress_interval_s
        order = torch.randperm(n, generator=self._permutations).to(self.device)
        update = fused_step(optimizer)
        with torch.no_grad():
            for step, begin in enumerate(range(0, n, batch)):
                b = chain.load(data, order[begin:begin + batch])
                chain.forward(b)
                chain.backward(b)
                update()
                if step == 0:  # a stage's first step creates the optimizer's state
                    update = fused_step(optimizer)
                if not bar.disable:
                    bar.update(b)
                    # by the clock, not every k steps: .item() waits for the device, which on a GPU is
                    # many steps behind; twice a second costs nothing measurable
                    if time.perf_counter() >= refresh_at:
                        bar.set_postfix(loss=f"{chain.loss_sum.item() / ((begin + b) * data.shape[1]):.5f}")
                        refresh_at = time.perf_counter() + self.progress_interval_s
        loss = chain.loss_sum.item() / (n * data.shape[1])  # .item() waits for the device
        seconds = time.perf_counter() - started
        bar.close()
        return EpochRecord(stage, layer, epoch, loss, n / seconds, seconds)

    @torch.no_grad()
    def evaluate(self, data: torch.Tensor, layers: list[int]) -> float:
        """Mean loss of reconstructing ``data`` through ``layers`` in inference mode."""
        output = self.model.reconstruct(data, layers=layers)
        if self._loss(layers[0]) == "mse":
            return float(torch.sum((output - data) ** 2, dtype=torch.float64)) / data.numel()
        return float(torch.nn.functional.binary_cross_entropy(output, data, reduction="sum")) / data.numel()

    # -- checkpoints -----------------------------------------------------------------------------

    def _save_checkpoint(self, path: Path, stage_index: int, epoch: int, optimizer) -> None:
        state = {
            "format": CHECKPOINT_FORMAT,
            "architecture": self.model.architecture(),
            "config": _resumable(self.config),
            "position": {"stage": stage_index, "epoch": epoch, "epochs_pre": self.config.epochs_pre,
                         "epochs_fine": self.config.epochs_fine},
            "device": self.device.type,  # the mask generator's state is the device's
            "data": self._data,
            "model": self.model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "permutations": self._permutations.get_state(),
            "masks": self._masks.get_state(),
            "history": self.history.to_json(),
            "notes": self.checkpoint_notes,
        }
        buffer = io.BytesIO()
        torch.save(state, buffer)
        write_atomic(path, buffer.getvalue())

    def _load_checkpoint(self, path: Path) -> tuple[int, int, dict]:
        state = read_checkpoint(path, self.device)
        for what, saved, now in (("architecture", state["architecture"], self.model.architecture()),
                                 ("settings", state["config"], _resumable(self.config)),
                                 ("training data", state["data"], self._data),
                                 ("device", {"type": state["device"]}, {"type": self.device.type})):
            if saved != now:
                changed = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
                raise SAEError(f"{path}: the checkpoint was made with other {what} ({', '.join(changed)}: "
                               f"{', '.join(f'{saved.get(k)!r} then, {now.get(k)!r} now' for k in changed)}); "
                               "start without resume or use the same ones")
        position = state["position"]
        self._check_epochs(path, position)
        self.model.load_state_dict(state["model"])
        try:
            self._permutations.set_state(state["permutations"].cpu())
            self._masks.set_state(state["masks"].cpu())
        except RuntimeError as exc:
            raise SAEError(f"{path}: its random generator states do not fit ({exc})") from None
        self.history = History.from_json(state["history"])
        return position["stage"], position["epoch"] + 1, state["optimizer"]

    def _check_epochs(self, path: Path, position: dict) -> None:
        """More epochs may be given on resume, to train on; but a count that the checkpoint has
        already passed cannot be honoured, and would otherwise be skipped without a word."""
        stage, epoch, layers = position["stage"], position["epoch"], len(self.model)
        saved_pre, new_pre = position["epochs_pre"], self.config.epochs_pre
        if new_pre != saved_pre and (stage > 0 or epoch > new_pre):
            finished = f"layers 1-{stage}" if stage > 1 else "layer 1"
            trained = (f"{finished} pretrained for {saved_pre} epochs each" if stage >= 1
                       else f"layer 1 pretrained for {epoch} epochs")
            raise SAEError(f"{path}: the checkpoint has {trained}; resuming with epochs_pre={new_pre} cannot "
                           f"change that (resume with epochs_pre={saved_pre}, or start without resume)")
        if stage == layers and epoch > self.config.epochs_fine:
            raise SAEError(f"{path}: the checkpoint has fine-tuned for {epoch} epochs, more than "
                           f"epochs_fine={self.config.epochs_fine} (resume with at least {epoch}, or start "
                           "without resume)")


def read_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """A checkpoint's contents: ``architecture`` and ``config`` (what a resumed run must share),
    ``position`` (stage, epoch, epochs_pre and, since notes were kept, epochs_fine), ``device``, ``data``,
    ``notes`` (``checkpoint_notes``; absent from older checkpoints), weights, optimizer and generators."""
    path = Path(path)
    if not path.is_file():
        raise SAEError(f"{path}: no checkpoint to resume from")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many kinds for a damaged file
        raise SAEError(f"{path}: not a readable netport checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise SAEError(f"{path}: not a netport stacked-autoencoder checkpoint")
    return state


def _resumable(config: TrainConfig) -> dict:
    """The settings a resumed run must share with the run that wrote the checkpoint."""
    fields = asdict(config)
    for transient in ("progress", "checkpoint", "resume", "device", "epochs_fine", "epochs_pre"):
        fields.pop(transient)
    return fields


def fit(model: StackedAutoencoder, x_train, x_val=None, config: TrainConfig | None = None, **settings) -> History:
    """Pretrain then fine-tune ``model`` on ``x_train``; ``settings`` override ``TrainConfig`` fields."""
    config = dataclasses.replace(config or TrainConfig(), **settings)  # TypeError for an unknown name
    return SAETrainer(model, config).fit(x_train, x_val)
