#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Stacked autoencoder on MNIST: greedy layer-wise pretraining, then fine-tuning.

Chainer v1 (1.24) program.  Each autoencoder is pretrained on the codes of the
one below it, then the whole stack is fine-tuned to reconstruct the input.
"""
from __future__ import print_function
import argparse
import os
import time

import numpy as np

from netport.data import load_mnist

import net
import functools
import torch
from torch import nn


parser = argparse.ArgumentParser(description='Chainer example: MNIST SAE')
parser.add_argument('--unit', '-u', default='1000,500,250,2',
                    help='Comma-separated hidden layer sizes, bottom to top')
parser.add_argument('--epoch_pre', type=int, default=10,
                    help='Pretraining epochs per layer')
parser.add_argument('--epoch_fine', type=int, default=10,
                    help='Fine-tuning epochs')
parser.add_argument('--batchsize', '-b', type=int, default=100,
                    help='Minibatch size')
parser.add_argument('--optimizer', default='adam',
                    choices=('adam', 'momentumsgd'), help='Optimizer')
parser.add_argument('--activation', default='sigmoid',
                    choices=sorted(net.ACTIVATIONS), help='Activation')
parser.add_argument('--untied', action='store_true',
                    help='Give each decoder its own weight')
parser.add_argument('--dropout', type=float, default=0.0,
                    help='Dropout ratio on layer inputs while training')
parser.add_argument('--gpu', '-g', type=int, default=-1,
                    help='GPU ID (negative value indicates CPU)')
parser.add_argument('--data', default=None,
                    help='MNIST file or directory (default: embedded subset)')
parser.add_argument('--n_train', type=int, default=None,
                    help='Use only the first N training images')
parser.add_argument('--seed', type=int, default=0, help='Random seed')
parser.add_argument('--out', '-o', default='result',
                    help='Directory to save the model in')
args = parser.parse_args()

np.random.seed(args.seed)
torch.manual_seed(args.seed)

mnist = load_mnist(args.data)
x_train, x_test = mnist.x_train, mnist.x_test
if args.n_train is not None:
    x_train = x_train[:args.n_train]
N = len(x_train)
N_test = len(x_test)
batchsize = args.batchsize

n_units = [x_train.shape[1]] + [int(u) for u in args.unit.split(',')]
print('units: {}'.format('-'.join(str(u) for u in n_units)))
print('train: {}  test: {}  source: {}'.format(N, N_test, mnist.source))

autoencoders = []
for i in range(len(n_units) - 1):
    autoencoders.append(net.AutoEncoder(
        n_units[i], n_units[i + 1], activation=args.activation,
        tied=not args.untied, dropout=args.dropout))
model = net.StackedAutoEncoder(autoencoders)

if args.gpu >= 0:
    torch.cuda.set_device(args.gpu)
    model.cuda()
xp = np
device = torch.device('cpu') if args.gpu < 0 else torch.device('cuda')


def make_optimizer():
    if args.optimizer == 'adam':
        return functools.partial(torch.optim.Adam, lr=0.001, betas=(0.9, 0.999), eps=1e-08)
    return functools.partial(torch.optim.SGD, lr=0.01, momentum=0.9)


def train(optimizer, lossfun, data, n_epoch, stage):
    """Minimise lossfun(x, x) over data; lossfun keeps its last loss in .loss"""
    n = len(data)
    for epoch in range(1, n_epoch + 1):
        perm = np.random.permutation(n)
        sum_loss = 0
        start = time.time()
        for i in range(0, n, batchsize):
            x = torch.as_tensor(data[perm[i:i + batchsize]], device=device)
            optimizer.zero_grad(set_to_none=False)
            lossfun(x, x).backward()
            optimizer.step()
            sum_loss += float(lossfun.loss.detach().cpu().numpy()) * len(x)
        elapsed = time.time() - start
        print('{} epoch {} loss {:.6f} ({:.0f} samples/sec)'.format(
            stage, epoch, sum_loss / n, n / elapsed))


class LayerLoss(object):
    """Reconstruction loss of one autoencoder of the stack (it already has a
    parent chain, so it cannot be wrapped in a Regression link)."""

    def __init__(self, ae):
        self.ae = ae
        self.loss = None

    def __call__(self, x, t):
        self.loss = nn.functional.mse_loss(self.ae(x), t)
        return self.loss


def encode_all(target, data):
    """Codes of target for all of data, without dropout or a graph."""
    codes = []
    for i in range(0, len(data), batchsize):
        target.eval()
        with torch.no_grad():
            x = torch.as_tensor(data[i:i + batchsize], device=device)
            codes.append(target.encode(x).detach().cpu().numpy())
        target.train()
    return np.concatenate(codes)


def evaluate(target, data):
    sum_loss = 0
    for i in range(0, len(data), batchsize):
        target.eval()
        with torch.no_grad():
            x = torch.as_tensor(data[i:i + batchsize], device=device)
            y = target(x)
            loss = nn.functional.mse_loss(y, x)
            sum_loss += float(loss.detach().cpu().numpy()) * len(x)
        target.train()
    return sum_loss / len(data)


# Greedy layer-wise pretraining: each layer learns to reconstruct the codes
# of the layer below it.
train_data = x_train
for i, ae in enumerate(model):
    print('pretraining layer {}: {} -> {}'.format(i + 1, ae.n_in, ae.n_out))
    optimizer = make_optimizer()
    optimizer = optimizer(ae.parameters())
    train(optimizer, LayerLoss(ae), train_data, args.epoch_pre,
          'pretrain layer {}'.format(i + 1))
    train_data = encode_all(ae, train_data)

print('fine-tuning {}'.format('-'.join(str(u) for u in n_units)))
regression = net.Regression(model)
optimizer = make_optimizer()
optimizer = optimizer(regression.parameters())
train(optimizer, regression, x_train, args.epoch_fine, 'finetune')
print('test loss {:.6f}'.format(evaluate(model, x_test)))

if not os.path.exists(args.out):
    os.makedirs(args.out)
torch.save(model.state_dict(), os.path.join(args.out, 'sae.model'))
print('saved {}'.format(os.path.join(args.out, 'sae.model')))
