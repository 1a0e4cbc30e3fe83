# -*- coding: utf-8 -*-
"""Stacked autoencoder for MNIST, written against Chainer v1 (1.24).

Each AutoEncoder is one layer: encode with a Linear link, decode either with the
transposed encoder weight (tied) or with a Linear link of its own (untied).  The
decoder bias is a plain parameter made with add_param.
"""
import chainer
import chainer.functions as F
import chainer.links as L


ACTIVATIONS = {
    'sigmoid': F.sigmoid,
    'relu': F.relu,
    'tanh': F.tanh,
    'identity': F.identity,
}


class AutoEncoder(chainer.Chain):

    def __init__(self, n_in, n_out, activation='sigmoid', tied=True,
                 dropout=0.0):
        if tied:
            super(AutoEncoder, self).__init__()
            with self.init_scope():
                self.encoder = L.Linear(n_in, n_out)
        else:
            super(AutoEncoder, self).__init__()
            with self.init_scope():
                self.encoder = L.Linear(n_in, n_out)
                self.decoder = L.Linear(n_out, n_in, nobias=True)
        # add_param leaves the values uninitialised (NaN in v1): set them
        with self.init_scope():
            self.decoder_bias = chainer.Parameter(chainer.initializers.NaN(), (n_in,))
        self.decoder_bias.data[...] = 0
        self.n_in = n_in
        self.n_out = n_out
        self.activation = ACTIVATIONS[activation]
        self.tied = tied
        self.dropout = dropout

    def encode(self, x):
        h = F.dropout(x, ratio=self.dropout)
        return self.activation(self.encoder(h))

    def decode(self, h):
        h = F.dropout(h, ratio=self.dropout)
        if self.tied:
            W = F.transpose(self.encoder.W)
        else:
            W = self.decoder.W
        return self.activation(F.linear(h, W, self.decoder_bias))

    def __call__(self, x):
        return self.decode(self.encode(x))


class StackedAutoEncoder(chainer.ChainList):

    def __init__(self, autoencoders):
        super(StackedAutoEncoder, self).__init__(*autoencoders)

    def encode(self, x):
        for ae in self:
            x = ae.encode(x)
        return x

    def decode(self, h):
        for ae in reversed(list(self)):
            h = ae.decode(h)
        return h

    def __call__(self, x):
        return self.decode(self.encode(x))


class Regression(chainer.Chain):
    """Reconstruction loss around an autoencoder, for optimizer.update."""

    def __init__(self, predictor):
        super(Regression, self).__init__()
        with self.init_scope():
            self.predictor = predictor

    def __call__(self, x, t):
        y = self.predictor(x)
        self.loss = F.mean_squared_error(y, t)
        return self.loss
