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
            super(AutoEncoder, self).__init__(
                encoder=L.Linear(n_in, n_out),
            )
        else:
            super(AutoEncoder, self).__init__(
                encoder=L.Linear(n_in, n_out),
                decoder=L.Linear(n_out, n_in, nobias=True),
            )
        # add_param leaves the values uninitialised (NaN in v1): set them
        self.add_param('decoder_bias', (n_in,))
        self.decoder_bias.data[...] = 0
        self.n_in = n_in
        self.n_out = n_out
        self.activation = ACTIVATIONS[activation]
        self.tied = tied
        self.dropout = dropout

    def encode(self, x, train=True):
        h = F.dropout(x, ratio=self.dropout, train=train)
        return self.activation(self.encoder(h))

    def decode(self, h, train=True):
        h = F.dropout(h, ratio=self.dropout, train=train)
        if self.tied:
            W = F.transpose(self.encoder.W)
        else:
            W = self.decoder.W
        return self.activation(F.linear(h, W, self.decoder_bias))

    def __call__(self, x, train=True):
        return self.decode(self.encode(x, train=train), train=train)


class StackedAutoEncoder(chainer.ChainList):

    def __init__(self, autoencoders):
        super(StackedAutoEncoder, self).__init__(*autoencoders)

    def encode(self, x, train=True):
        for ae in self:
            x = ae.encode(x, train=train)
        return x

    def decode(self, h, train=True):
        for ae in reversed(list(self)):
            h = ae.decode(h, train=train)
        return h

    def __call__(self, x, train=True):
        return self.decode(self.encode(x, train=train), train=train)


class Regression(chainer.Chain):
    """Reconstruction loss around an autoencoder, for optimizer.update."""

    def __init__(self, predictor):
        super(Regression, self).__init__(predictor=predictor)

    def __call__(self, x, t, train=True):
        y = self.predictor(x, train=train)
        self.loss = F.mean_squared_error(y, t)
        return self.loss
