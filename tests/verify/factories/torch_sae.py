"""Factory for `netport verify`: a hand-written PyTorch SAE with the legacy one's structure
(until `netport migrate --to torch` writes one), and a deliberately wrong variant."""
import torch
from torch import nn


class AutoEncoder(nn.Module):
    def __init__(self, n_in, n_out, activation=torch.sigmoid):
        super().__init__()
        self.encoder = nn.Linear(n_in, n_out)
        self.decoder_bias = nn.Parameter(torch.zeros(n_in))
        self.activation = activation

    def encode(self, x):
        return self.activation(self.encoder(x))

    def decode(self, h):
        return self.activation(nn.functional.linear(h, self.encoder.weight.t(), self.decoder_bias))


class StackedAutoEncoder(nn.ModuleList):
    def forward(self, x):
        for ae in self:
            x = ae.encode(x)
        for ae in reversed(self):
            x = ae.decode(x)
        return x


def build():
    return StackedAutoEncoder([AutoEncoder(784, 32), AutoEncoder(32, 2)])


def build_wrong():
    """relu in the second layer: verify must point at 1.encoder and the output."""
    return StackedAutoEncoder([AutoEncoder(784, 32), AutoEncoder(32, 2, activation=torch.relu)])
