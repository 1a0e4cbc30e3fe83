#!/usr/bin/env python
"""Multi-layer perceptron on MNIST in the style of Chainer 1.0-1.4.

The model is a FunctionSet of parameterised functions (F.Linear), the forward
pass is a plain function that makes its Variables volatile at test time, and
the training loop drives the optimizer by hand.
"""
from __future__ import print_function
import argparse

import numpy as np

from netport.data import load_mnist
import math
import torch
from torch import nn


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
torch.manual_seed(args.seed)
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
model = nn.Module()
model.l1 = nn.Linear(784, n_units)
nn.init.normal_(model.l1.weight, std=1 / math.sqrt(784))
nn.init.zeros_(model.l1.bias)
model.l2 = nn.Linear(n_units, n_units)
nn.init.normal_(model.l2.weight, std=1 / math.sqrt(n_units))
nn.init.zeros_(model.l2.bias)
model.l3 = nn.Linear(n_units, 10)
nn.init.normal_(model.l3.weight, std=1 / math.sqrt(n_units))
nn.init.zeros_(model.l3.bias)
if args.gpu >= 0:
    torch.cuda.set_device(args.gpu)
    model.cuda()
xp = np
device = torch.device('cpu') if args.gpu < 0 else torch.device('cuda')


def forward(x_data, y_data):
    # Neural net architecture
    x, t = torch.as_tensor(x_data, device=device), \
        torch.as_tensor(y_data, device=device)
    h1 = nn.functional.dropout(torch.relu(model.l1(x)), p=0.5, training=model.training)
    h2 = nn.functional.dropout(torch.relu(model.l2(h1)), p=0.5, training=model.training)
    y = model.l3(h2)
    return nn.functional.cross_entropy(y, t.long(), ignore_index=-1), (y.argmax(1) == t).float().mean()


# Setup optimizer
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=0.0005)

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

        model.zero_grad(set_to_none=False)
        loss, acc = forward(x_batch, y_batch)
        loss.backward()
        optimizer.step()

        sum_loss += float(loss.detach().cpu().numpy()) * len(y_batch)
        sum_accuracy += float(acc.detach().cpu().numpy()) * len(y_batch)

    print('train mean loss={}, accuracy={}'.format(
        sum_loss / N, sum_accuracy / N))

    # evaluation
    sum_accuracy = 0
    sum_loss = 0
    for i in range(0, N_test, batchsize):
        x_batch = xp.asarray(x_test[i:i + batchsize])
        y_batch = xp.asarray(y_test[i:i + batchsize])

        model.eval()
        with torch.no_grad():
            loss, acc = forward(x_batch, y_batch)
        model.train()

        sum_loss += float(loss.detach().cpu().numpy()) * len(y_batch)
        sum_accuracy += float(acc.detach().cpu().numpy()) * len(y_batch)

    print('test  mean loss={}, accuracy={}'.format(
        sum_loss / N_test, sum_accuracy / N_test))
