#!/usr/bin/env python
"""Convolutional network on MNIST with a hand-written training loop (Chainer v1).

Gradients are reset with model.zerograds(), clipped with
optimizer.clip_grads(), and evaluation flips the model's ``train`` attribute.
"""
from __future__ import print_function
import argparse
import os

import numpy as np

import chainer
import chainer.links as L
from chainer.backends import cuda
from chainer import optimizers
from chainer import serializers

from netport.data import load_mnist

import net


parser = argparse.ArgumentParser(description='Chainer example: MNIST convnet')
parser.add_argument('--gpu', '-g', default=-1, type=int,
                    help='GPU ID (negative value indicates CPU)')
parser.add_argument('--epoch', '-e', default=10, type=int,
                    help='Number of epochs')
parser.add_argument('--batchsize', '-b', default=100, type=int,
                    help='Minibatch size')
parser.add_argument('--hidden', default=64, type=int,
                    help='Units of the hidden fully-connected layer')
parser.add_argument('--data', default=None,
                    help='MNIST file or directory (default: embedded subset)')
parser.add_argument('--n_train', type=int, default=None,
                    help='Use only the first N training images')
parser.add_argument('--seed', type=int, default=0, help='Random seed')
parser.add_argument('--out', '-o', default='result',
                    help='Directory to save the model in')
args = parser.parse_args()

np.random.seed(args.seed)

mnist = load_mnist(args.data, ndim=3)
x_train, y_train = mnist.x_train, mnist.y_train
x_test, y_test = mnist.x_test, mnist.y_test
if args.n_train is not None:
    x_train, y_train = x_train[:args.n_train], y_train[:args.n_train]
N = len(x_train)
N_test = len(x_test)
batchsize = args.batchsize

model = L.Classifier(net.ConvNet(n_hidden=args.hidden))
if args.gpu >= 0:
    cuda.get_device_from_id(args.gpu).use()
    model.to_gpu()
xp = np if args.gpu < 0 else cuda.cupy

optimizer = optimizers.Adam(alpha=0.001)
optimizer.setup(model)
optimizer.add_hook(chainer.optimizer_hooks.GradientClipping(5.0))

for epoch in range(1, args.epoch + 1):
    perm = np.random.permutation(N)
    sum_loss = 0
    sum_accuracy = 0
    for i in range(0, N, batchsize):
        x = chainer.Variable(xp.asarray(x_train[perm[i:i + batchsize]]))
        t = chainer.Variable(xp.asarray(y_train[perm[i:i + batchsize]]))

        model.cleargrads()
        loss = model(x, t)
        loss.backward()
        optimizer.update()

        sum_loss += float(cuda.to_cpu(loss.data)) * len(t.data)
        sum_accuracy += float(cuda.to_cpu(model.accuracy.data)) * len(t.data)
    print('epoch {} train mean loss={:.6f}, accuracy={:.4f}'.format(
        epoch, sum_loss / N, sum_accuracy / N))

    # evaluation: batch normalization uses its running averages
    with chainer.using_config('train', False):
        sum_loss = 0
        sum_accuracy = 0
        for i in range(0, N_test, batchsize):
            with chainer.no_backprop_mode():
                x = chainer.Variable(xp.asarray(x_test[i:i + batchsize]))
                t = chainer.Variable(xp.asarray(y_test[i:i + batchsize]))
                loss = model(x, t)
                sum_loss += float(cuda.to_cpu(loss.data)) * len(t.data)
                sum_accuracy += float(cuda.to_cpu(model.accuracy.data)) * len(t.data)
    print('epoch {} test  mean loss={:.6f}, accuracy={:.4f}'.format(
        epoch, sum_loss / N_test, sum_accuracy / N_test))

if not os.path.exists(args.out):
    os.makedirs(args.out)
serializers.save_npz(os.path.join(args.out, 'convnet.model'), model)
