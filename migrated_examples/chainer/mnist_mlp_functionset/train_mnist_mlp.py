#!/usr/bin/env python
"""Multi-layer perceptron on MNIST in the style of Chainer 1.0-1.4.

The model is a FunctionSet of parameterised functions (F.Linear), the forward
pass is a plain function that makes its Variables volatile at test time, and
the training loop drives the optimizer by hand.
"""
from __future__ import print_function
import argparse

import numpy as np

import chainer
import chainer.functions as F
from chainer.backends import cuda
from chainer import optimizers

from netport.data import load_mnist
import chainer.links as L


parser = argparse.ArgumentParser(description='Chainer example: MNIST MLP')
parser.add_argument('--gpu', '-g', default=-1, type=int,
                    help='GPU ID (negative value indicates CPU)')
parser.add_argument('--epoch', '-e', default=20, type=int,
                    help='Number of epochs')
parser.add_argument('--unit', '-u', default=1000, type=int,
                    help='Number of units')
parser.add_argument('--batchsize', '-b', default=100, type=int,
                    help='Minibatch size')
parser.add_argument('--data', default=None,
                    help='MNIST file or directory (default: embedded subset)')
parser.add_argument('--n_train', type=int, default=None,
                    help='Use only the first N training images')
parser.add_argument('--seed', type=int, default=0, help='Random seed')
args = parser.parse_args()

np.random.seed(args.seed)
batchsize = args.batchsize
n_epoch = args.epoch
n_units = args.unit

# Prepare dataset
mnist = load_mnist(args.data)
x_train, y_train = mnist.x_train, mnist.y_train
x_test, y_test = mnist.x_test, mnist.y_test
if args.n_train is not None:
    x_train, y_train = x_train[:args.n_train], y_train[:args.n_train]
N = len(x_train)
N_test = len(x_test)

# Prepare multi-layer perceptron model
model = chainer.Chain()
with model.init_scope():
    model.l1 = L.Linear(784, n_units)
    model.l2 = L.Linear(n_units, n_units)
    model.l3 = L.Linear(n_units, 10)
if args.gpu >= 0:
    cuda.get_device_from_id(args.gpu).use()
    model.to_gpu()
xp = np if args.gpu < 0 else cuda.cupy


def forward(x_data, y_data):
    # Neural net architecture
    x, t = chainer.Variable(x_data), \
        chainer.Variable(y_data)
    h1 = F.dropout(F.relu(model.l1(x)))
    h2 = F.dropout(F.relu(model.l2(h1)))
    y = model.l3(h2)
    return F.softmax_cross_entropy(y, t), F.accuracy(y, t)


# Setup optimizer
optimizer = optimizers.MomentumSGD(lr=0.01, momentum=0.9)
optimizer.setup(model)
optimizer.add_hook(chainer.optimizer_hooks.WeightDecay(0.0005))

# Learning loop
for epoch in range(1, n_epoch + 1):
    print('epoch', epoch)

    # training
    perm = np.random.permutation(N)
    sum_accuracy = 0
    sum_loss = 0
    for i in range(0, N, batchsize):
        x_batch = xp.asarray(x_train[perm[i:i + batchsize]])
        y_batch = xp.asarray(y_train[perm[i:i + batchsize]])

        model.cleargrads()
        loss, acc = forward(x_batch, y_batch)
        loss.backward()
        optimizer.update()

        sum_loss += float(cuda.to_cpu(loss.data)) * len(y_batch)
        sum_accuracy += float(cuda.to_cpu(acc.data)) * len(y_batch)

    print('train mean loss={}, accuracy={}'.format(
        sum_loss / N, sum_accuracy / N))

    # evaluation
    sum_accuracy = 0
    sum_loss = 0
    for i in range(0, N_test, batchsize):
        x_batch = xp.asarray(x_test[i:i + batchsize])
        y_batch = xp.asarray(y_test[i:i + batchsize])

        with chainer.using_config('train', False), chainer.no_backprop_mode():
            loss, acc = forward(x_batch, y_batch)

        sum_loss += float(cuda.to_cpu(loss.data)) * len(y_batch)
        sum_accuracy += float(cuda.to_cpu(acc.data)) * len(y_batch)

    print('test  mean loss={}, accuracy={}'.format(
        sum_loss / N_test, sum_accuracy / N_test))
