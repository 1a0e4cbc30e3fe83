"""The stacked autoencoder: a units list, one encoder/decoder pair per layer.

The module tree is the one netport's torch migration makes of ``legacy_examples/mnist_sae``
(an ``nn.ModuleList`` of layers with ``encoder``, ``decoder_bias`` and, untied, ``decoder``), so
its ``state_dict`` loads into that program and converts to the Chainer npz of the original with
``netport.weights`` unchanged. Weights start as Chainer's did: LeCun normal (N(0, 1/fan_in)),
zero biases.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

ACTIVATIONS = ("sigmoid", "relu", "tanh", "identity")
_FUNCTIONS = {"sigmoid": torch.sigmoid, "relu": torch.relu, "tanh": torch.tanh, "identity": lambda x: x}


class SAEWarning(UserWarning):
    """Data the model takes but probably should not be given as it is (the message says what to do)."""


def warn(message: str) -> None:
    """``warnings.warn`` pointing at the caller's line outside netport.sae: a fixed stacklevel cannot,
    since several call paths lead here (torch's frames, such as ``no_grad``'s wrapper, are skipped too)."""
    ours = (os.path.dirname(__file__), os.path.dirname(torch.__file__))
    frame, level = sys._getframe(), 1
    while frame is not None and frame.f_code.co_filename.startswith(ours):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, SAEWarning, stacklevel=level)


def as_tensor(data, dtype: torch.dtype) -> torch.Tensor:
    """An array or tensor as a tensor of ``dtype`` (numpy views with negative strides copied first).

    uint8 data, 0-255 pixels, is scaled to [0, 1] with a warning: the sigmoid units the stacks are
    made of reconstruct nothing else (it is multiplied by the float 1/255, as ``load_mnist`` and
    Chainer's ``get_mnist`` scale, so the values are theirs bit for bit)."""
    if not isinstance(data, torch.Tensor):
        data = torch.from_numpy(np.ascontiguousarray(data))
    if data.dtype == torch.uint8:
        warn("uint8 data scaled to [0, 1] by /255")
        return data.to(dtype) * (1.0 / 255.0)
    return data.to(dtype)


class AutoencoderLayer(nn.Module):
    """One layer: ``encode(x) = f(x W^T + b)``, ``decode(h) = g(h W + c)`` (tied) or ``g(h D^T + c)``."""

    def __init__(self, n_in: int, n_out: int, *, tied: bool = True, encode_activation: str = "sigmoid",
                 decode_activation: str = "sigmoid", dropout: float = 0.0):
        super().__init__()
        self.n_in, self.n_out, self.tied, self.dropout = n_in, n_out, tied, dropout
        self.encode_activation, self.decode_activation = encode_activation, decode_activation
        self.encoder = nn.Linear(n_in, n_out)
        if not tied:
            self.decoder = nn.Linear(n_out, n_in, bias=False)
        self.decoder_bias = nn.Parameter(torch.zeros(n_in))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Chainer's L.Linear default: LeCunNormal (std 1/sqrt(fan_in)), zero bias
        with torch.no_grad():
            self.encoder.weight.normal_(0.0, 1.0 / math.sqrt(self.n_in))
            self.encoder.bias.zero_()
            if not self.tied:
                self.decoder.weight.normal_(0.0, 1.0 / math.sqrt(self.n_out))
            self.decoder_bias.zero_()

    @property
    def decoder_weight(self) -> torch.Tensor:
        """The decoder's matrix in ``nn.Linear`` layout (n_in x n_out)."""
        return self.encoder.weight.t() if self.tied else self.decoder.weight

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """This layer's code of ``x`` (n_in wide) with a graph; dropout on ``x`` while training."""
        x = nn.functional.dropout(x, p=self.dropout, training=self.training)
        return _FUNCTIONS[self.encode_activation](self.encoder(x))

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        """The reconstruction (n_in wide) of a code ``h`` (n_out wide); dropout on ``h`` while training."""
        h = nn.functional.dropout(h, p=self.dropout, training=self.training)
        return _FUNCTIONS[self.decode_activation](nn.functional.linear(h, self.decoder_weight, self.decoder_bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``decode(encode(x))``: this layer's reconstruction of ``x``, with a graph, as pretraining sees it."""
        return self.decode(self.encode(x))

    def extra_repr(self) -> str:
        """Widths, tying, activations and dropout, for ``repr(model)``."""
        return (f"{self.n_in} -> {self.n_out}, tied={self.tied}, encode={self.encode_activation}, "
                f"decode={self.decode_activation}, dropout={self.dropout}")


class StackedAutoencoder(nn.ModuleList):
    """A stack built from a units list such as ``[784, 1000, 500, 250, 2]``.

    ``activation`` is every layer's nonlinearity; ``linear_code=True`` makes the top encoder linear
    (the code layer of Hinton & Salakhutdinov 2006); ``output_activation`` is the last decoder's
    (default: ``activation``, as in the seed program). ``dropout`` drops each layer's input while
    training, in encoding and decoding, as the seed program's ``--dropout`` does.
    """

    def __init__(self, units: Sequence[int], *, activation: str = "sigmoid", linear_code: bool = False,
                 output_activation: str | None = None, tied: bool = True, dropout: float = 0.0):
        units = [int(u) for u in units]
        if len(units) < 2 or any(u < 1 for u in units):
            raise ValueError(f"units must list at least two positive widths (input first), not {units}")
        for name in (activation, output_activation or activation):
            if name not in ACTIVATIONS:
                raise ValueError(f"unknown activation {name!r}; choose from {', '.join(ACTIVATIONS)}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), not {dropout}")
        depth = len(units) - 1
        layers = [
            AutoencoderLayer(
                units[i], units[i + 1], tied=tied, dropout=dropout,
                encode_activation="identity" if linear_code and i == depth - 1 else activation,
                decode_activation=(output_activation or activation) if i == 0 else activation)
            for i in range(depth)
        ]
        super().__init__(layers)
        self.units, self.activation, self.linear_code = units, activation, linear_code
        self.output_activation, self.tied, self.dropout = output_activation or activation, tied, dropout

    def architecture(self) -> dict:
        """What, besides the weights, rebuilds this model (``StackedAutoencoder(**architecture)``)."""
        return {"units": list(self.units), "activation": self.activation, "linear_code": self.linear_code,
                "output_activation": self.output_activation, "tied": self.tied, "dropout": self.dropout}

    @property
    def code_size(self) -> int:
        return self.units[-1]

    def encode(self, x: torch.Tensor, depth: int | None = None) -> torch.Tensor:
        """Codes of the top layer (or of layer ``depth``, 1-based)."""
        for layer in list(self)[: len(self) if depth is None else depth]:
            x = layer.encode(x)
        return x

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        """Reconstructions (units[0] wide) of top-layer codes ``h``, through every decoder."""
        for layer in reversed(list(self)):
            h = layer.decode(h)
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``decode(encode(x))``: the whole stack's reconstruction of a batch ``x`` (N, units[0]), with a
        graph and, in training mode, dropout; ``reconstruct`` is the inference-mode, batched one."""
        return self.decode(self.encode(x))

    @torch.no_grad()
    def transform(self, data, depth: int | None = None, batch_size: int = 1000) -> torch.Tensor:
        """Codes of ``data`` (array or tensor) in inference mode, batch by batch, on the model's device."""
        return self._batched(lambda x: self.encode(x, depth), data, batch_size)

    @torch.no_grad()
    def reconstruct(self, data, batch_size: int = 1000, layers: Sequence[int] | None = None) -> torch.Tensor:
        """Reconstructions of ``data`` in inference mode (no dropout, no graph): through the whole
        stack, or through ``layers`` only (0-based, consecutive: what pretraining them reconstructs)."""
        chosen = list(self) if layers is None else [self[i] for i in layers]

        def through(x):
            for layer in chosen:
                x = layer.encode(x)
            for layer in reversed(chosen):
                x = layer.decode(x)
            return x

        return self._batched(through, data, batch_size)

    def _batched(self, function, data, batch_size: int) -> torch.Tensor:
        weight = self[0].encoder.weight
        data = as_tensor(data, weight.dtype)
        was_training = self.training
        self.eval()
        try:
            return torch.cat([function(data[i:i + batch_size].to(weight.device))
                              for i in range(0, len(data), batch_size)])
        finally:
            self.train(was_training)
