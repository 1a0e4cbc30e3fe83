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

import chainer
import chainer.functions as F
import chainer.links as L
from chainer import optimizers
from chainer.backends import cuda

from netport.data import load_mnist


class MLP(chainer.Chain):

    def __init__(self, n_in, n_units, n_out):
        super(MLP, self).__init__()
        with self.init_scope():
            self.l1 = L.Linear(n_in, n_units)
            self.l2 = L.Linear(n_units, n_units)
            self.l3 = L.Linear(n_units, n_out)

    def __call__(self, x):
        h1 = F.dropout(F.relu(self.l1(x)))
        h2 = F.dropout(F.relu(self.l2(h1)))
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

model = L.Classifier(MLP(784, args.unit, 10))
optimizer = optimizers.Adam()
optimizer.setup(model)

for epoch in range(1, args.epoch + 1):
    print('epoch', epoch)
    perm = np.random.permutation(N)
    sum_loss, sum_accuracy = 0, 0
    for i in range(0, N, args.batchsize):
        x = chainer.Variable(x_train[perm[i:i + args.batchsize]])
        t = chainer.Variable(y_train[perm[i:i + args.batchsize]])
        optimizer.update(model, x, t)
        sum_loss += float(model.loss.data) * len(t.data)
        sum_accuracy += float(model.accuracy.data) * len(t.data)
    print('train mean loss=%f, accuracy=%f' % (sum_loss / N, sum_accuracy / N))

    sum_loss, sum_accuracy = 0, 0
    for i in range(0, N_test, args.batchsize):
        with chainer.no_backprop_mode(), chainer.using_config('train', False):
            x = chainer.Variable(x_test[i:i + args.batchsize])
            t = chainer.Variable(y_test[i:i + args.batchsize])
            y = model.predictor(x)
            sum_loss += float(F.softmax_cross_entropy(y, t).data) * len(t.data)
            sum_accuracy += float(F.accuracy(y, t).data) * len(t.data)
    print('test  mean loss=%f, accuracy=%f' % (sum_loss / N_test,
                                                sum_accuracy / N_test))

# Chainer 1.0-1.5 saved whole models with pickle
pickle.dump(model, open(args.model, 'wb'), -1)
print('saved', args.model)
