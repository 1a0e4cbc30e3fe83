# -*- coding: utf-8 -*-
"""Stacked autoencoder for MNIST, written against Chainer v1 (1.24).

Each AutoEncoder is one layer: encode with a Linear link, decode either with the
transposed encoder weight (tied) or with a Linear link of its own (untied).  The
decoder bias is a plain parameter made with add_param.
"""
import math
import torch
from torch import nn


ACTIVATIONS = {
    'sigmoid': torch.sigmoid,
    'relu': torch.relu,
    'tanh': torch.tanh,
    'identity': nn.Identity(),
}


class AutoEncoder(nn.Module):

    def __init__(self, n_in, n_out, activation='sigmoid', tied=True,
                 dropout=0.0):
        if tied:
            super(AutoEncoder, self).__init__()
            self.encoder = nn.Linear(n_in, n_out)
            nn.init.normal_(self.encoder.weight, std=1 / math.sqrt(n_in))
            nn.init.zeros_(self.encoder.bias)
        else:
            super(AutoEncoder, self).__init__()
            self.encoder = nn.Linear(n_in, n_out)
            nn.init.normal_(self.encoder.weight, std=1 / math.sqrt(n_in))
            nn.init.zeros_(self.encoder.bias)
            self.decoder = nn.Linear(n_out, n_in, bias=False)
            nn.init.normal_(self.decoder.weight, std=1 / math.sqrt(n_out))
        # add_param leaves the values uninitialised (NaN in v1): set them
        self.decoder_bias = nn.Parameter(torch.full((n_in,), float('nan')))
        self.decoder_bias.data[...] = 0
        self.n_in = n_in
        self.n_out = n_out
        self.activation = ACTIVATIONS[activation]
        self.tied = tied
        self.dropout = dropout

    def encode(self, x):
        h = nn.functional.dropout(x, p=self.dropout, training=self.training)
        return self.activation(self.encoder(h))

    def decode(self, h):
        h = nn.functional.dropout(h, p=self.dropout, training=self.training)
        if self.tied:
            W = self.encoder.weight.T
        else:
            W = self.decoder.weight
        return self.activation(nn.functional.linear(h.flatten(1), W, self.decoder_bias))

    def forward(self, x):
        return self.decode(self.encode(x))


class StackedAutoEncoder(nn.ModuleList):

    def __init__(self, autoencoders):
        super(StackedAutoEncoder, self).__init__(autoencoders)

    def encode(self, x):
        for ae in self:
            x = ae.encode(x)
        return x

    def decode(self, h):
        for ae in reversed(list(self)):
            h = ae.decode(h)
        return h

    def forward(self, x):
        return self.decode(self.encode(x))


class Regression(nn.Module):
    """Reconstruction loss around an autoencoder, for optimizer.update."""

    def __init__(self, predictor):
        super(Regression, self).__init__()
        self.predictor = predictor

    def forward(self, x, t):
        y = self.predictor(x)
        self.loss = nn.functional.mse_loss(y, t)
        return self.loss
