#!/usr/bin/env python
"""Convolutional network on MNIST with a hand-written training loop (Chainer v1).

Gradients are reset with model.zerograds(), clipped with
optimizer.clip_grads(), and evaluation flips the model's ``train`` attribute.
"""
from __future__ import print_function
import argparse
import os

import numpy as np

from netport.data import load_mnist

import net
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
torch.manual_seed(args.seed)

mnist = load_mnist(args.data, ndim=3)
x_train, y_train = mnist.x_train, mnist.y_train
x_test, y_test = mnist.x_test, mnist.y_test
if args.n_train is not None:
    x_train, y_train = x_train[:args.n_train], y_train[:args.n_train]
N = len(x_train)
N_test = len(x_test)
batchsize = args.batchsize

model = Classifier(net.ConvNet(n_hidden=args.hidden))
if args.gpu >= 0:
    torch.cuda.set_device(args.gpu)
    model.cuda()
xp = np
device = torch.device('cpu') if args.gpu < 0 else torch.device('cuda')

optimizer = torch.optim.Adam(model.parameters(), lr=0.001, betas=(0.9, 0.999), eps=1e-08)
def clip_gradients(optimizer, args, kwargs, threshold=5.0):
    """Chainer's GradientClipping hook: scale the gradients to an L2 norm of at most threshold."""
    torch.nn.utils.clip_grad_norm_([p for group in optimizer.param_groups for p in group['params']], threshold)
optimizer.register_step_pre_hook(clip_gradients)

for epoch in range(1, args.epoch + 1):
    perm = np.random.permutation(N)
    sum_loss = 0
    sum_accuracy = 0
    for i in range(0, N, batchsize):
        x = torch.as_tensor(x_train[perm[i:i + batchsize]], device=device)
        t = torch.as_tensor(y_train[perm[i:i + batchsize]], device=device)

        model.zero_grad(set_to_none=False)
        loss = model(x, t)
        loss.backward()
        optimizer.step()

        sum_loss += float(loss.detach().cpu().numpy()) * len(t)
        sum_accuracy += float(model.accuracy.detach().cpu().numpy()) * len(t)
    print('epoch {} train mean loss={:.6f}, accuracy={:.4f}'.format(
        epoch, sum_loss / N, sum_accuracy / N))

    # evaluation: batch normalization uses its running averages
    model.predictor.eval()
    sum_loss = 0
    sum_accuracy = 0
    for i in range(0, N_test, batchsize):
        with torch.no_grad():
            x = torch.as_tensor(x_test[i:i + batchsize], device=device)
            t = torch.as_tensor(y_test[i:i + batchsize], device=device)
            loss = model(x, t)
            sum_loss += float(loss.detach().cpu().numpy()) * len(t)
            sum_accuracy += float(model.accuracy.detach().cpu().numpy()) * len(t)
    model.predictor.train()
    print('epoch {} test  mean loss={:.6f}, accuracy={:.4f}'.format(
        epoch, sum_loss / N_test, sum_accuracy / N_test))

if not os.path.exists(args.out):
    os.makedirs(args.out)
torch.save(model.state_dict(), os.path.join(args.out, 'convnet.model'))
