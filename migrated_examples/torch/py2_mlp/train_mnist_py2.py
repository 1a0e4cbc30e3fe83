#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""MNIST MLP as many Chainer v1 programs were written in 2015: Python 2.

This file is Python 2 source (print statements, xrange, cPickle, the old
except syntax).  It does not run on Python 3; it exists as migration input.
"""
import argparse
import pickle
import sys

import numpy as np

from netport.data import load_mnist
import math
import torch
from torch import nn


class Classifier(nn.Module):
    """Chainer's L.Classifier: softmax cross-entropy loss and accuracy around a predictor."""

    def __init__(self, predictor):
        super().__init__()
        self.predictor = predictor

    def forward(self, x, t):
        y = self.predictor(x)
        self.loss = nn.functional.cross_entropy(y, t.long(), ignore_index=-1)
        self.accuracy = (y.argmax(1) == t).float().mean()
        return self.loss


class MLP(nn.Module):

    def __init__(self, n_in, n_units, n_out):
        super(MLP, self).__init__()
        self.l1 = nn.Linear(n_in, n_units)
        nn.init.normal_(self.l1.weight, std=1 / math.sqrt(n_in))
        nn.init.zeros_(self.l1.bias)
        self.l2 = nn.Linear(n_units, n_units)
        nn.init.normal_(self.l2.weight, std=1 / math.sqrt(n_units))
        nn.init.zeros_(self.l2.bias)
        self.l3 = nn.Linear(n_units, n_out)
        nn.init.normal_(self.l3.weight, std=1 / math.sqrt(n_units))
        nn.init.zeros_(self.l3.bias)

    def forward(self, x):
        h1 = nn.functional.dropout(torch.relu(self.l1(x)), p=0.5, training=self.training)
        h2 = nn.functional.dropout(torch.relu(self.l2(h1)), p=0.5, training=self.training)
        return self.l3(h2)


parser = argparse.ArgumentParser()
parser.add_argument('--epoch', type=int, default=20)
parser.add_argument('--unit', type=int, default=1000)
parser.add_argument('--batchsize', type=int, default=100)
parser.add_argument('--data', default=None)
parser.add_argument('--model', default='mlp.pkl')
args = parser.parse_args()

try:
    mnist = load_mnist(args.data)
except IOError as e:
    print('cannot read MNIST:', e, file=sys.stderr)
    sys.exit(1)

x_train, y_train = mnist.x_train, mnist.y_train
x_test, y_test = mnist.x_test, mnist.y_test
N, N_test = len(x_train), len(x_test)
print('train', N, 'test', N_test)

model = Classifier(MLP(784, args.unit, 10))
optimizer = torch.optim.Adam(model.parameters(), lr=0.001, betas=(0.9, 0.999), eps=1e-08)

for epoch in range(1, args.epoch + 1):
    print('epoch', epoch)
    perm = np.random.permutation(N)
    sum_loss, sum_accuracy = 0, 0
    for i in range(0, N, args.batchsize):
        x = torch.as_tensor(x_train[perm[i:i + args.batchsize]])
        t = torch.as_tensor(y_train[perm[i:i + args.batchsize]])
        optimizer.zero_grad(set_to_none=False)
        model(x, t).backward()
        optimizer.step()
        sum_loss += float(model.loss.data) * len(t)
        sum_accuracy += float(model.accuracy.data) * len(t)
    print('train mean loss=%f, accuracy=%f' % (sum_loss / N, sum_accuracy / N))

    sum_loss, sum_accuracy = 0, 0
    for i in range(0, N_test, args.batchsize):
        model.eval()
        with torch.no_grad():
            x = torch.as_tensor(x_test[i:i + args.batchsize])
            t = torch.as_tensor(y_test[i:i + args.batchsize])
            y = model.predictor(x)
            sum_loss += float(nn.functional.cross_entropy(y, t.long(), ignore_index=-1).data) * len(t)
            sum_accuracy += float((y.argmax(1) == t).float().mean().data) * len(t)
        model.train()
    print('test  mean loss=%f, accuracy=%f' % (sum_loss / N_test,
                                                sum_accuracy / N_test))

# Chainer 1.0-1.5 saved whole models with pickle
pickle.dump(model, open(args.model, 'wb'), -1)
print('saved', args.model)
