#!/usr/bin/env python
"""Multi-layer perceptron on MNIST in the style of Chainer 1.11-1.24's Trainer examples.

The model is a Chain wrapped in L.Classifier; the training loop is not written out but
assembled from a SerialIterator, a StandardUpdater, a Trainer and its extensions
(Evaluator, LogReport, PrintReport, snapshot, ProgressBar), as in Chainer's own
examples/mnist/train_mnist.py of that era.
"""
from __future__ import print_function
import argparse

import numpy as np

from netport.data import load_mnist
import math
import torch
import pytorch_pfn_extras as ppe
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
        ppe.reporting.report({'loss': self.loss, 'accuracy': self.accuracy}, self)
        return self.loss


# Network definition
class MLP(nn.Module):

    def __init__(self, n_in, n_units, n_out):
        super(MLP, self).__init__()
        self.l1 = nn.Linear(n_in, n_units)  # first layer
        nn.init.normal_(self.l1.weight, std=1 / math.sqrt(n_in))
        nn.init.zeros_(self.l1.bias)
        self.l2 = nn.Linear(n_units, n_units)  # second layer
        nn.init.normal_(self.l2.weight, std=1 / math.sqrt(n_units))
        nn.init.zeros_(self.l2.bias)
        self.l3 = nn.Linear(n_units, n_out)  # output layer
        nn.init.normal_(self.l3.weight, std=1 / math.sqrt(n_units))
        nn.init.zeros_(self.l3.bias)

    def forward(self, x):
        h1 = torch.relu(self.l1(x))
        h2 = torch.relu(self.l2(h1))
        return self.l3(h2)


def main():
    parser = argparse.ArgumentParser(description='Chainer example: MNIST')
    parser.add_argument('--batchsize', '-b', type=int, default=100,
                        help='Number of images in each mini-batch')
    parser.add_argument('--epoch', '-e', type=int, default=20,
                        help='Number of sweeps over the dataset to train')
    parser.add_argument('--gpu', '-g', type=int, default=-1,
                        help='GPU ID (negative value indicates CPU)')
    parser.add_argument('--out', '-o', default='result',
                        help='Directory to output the result')
    parser.add_argument('--unit', '-u', type=int, default=1000,
                        help='Number of units')
    parser.add_argument('--data', default=None,
                        help='MNIST file or directory (default: embedded subset)')
    parser.add_argument('--n_train', type=int, default=None,
                        help='Use only the first N training images')
    parser.add_argument('--seed', type=int, default=0, help='Random seed')
    args = parser.parse_args()

    print('GPU: {}'.format(args.gpu))
    print('# unit: {}'.format(args.unit))
    print('# Minibatch-size: {}'.format(args.batchsize))
    print('# epoch: {}'.format(args.epoch))
    print('')

    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    # Set up a neural network to train
    # Classifier reports softmax cross entropy loss and accuracy at every
    # iteration, which will be used by the PrintReport extension below.
    model = Classifier(MLP(784, args.unit, 10))
    if args.gpu >= 0:
        torch.cuda.set_device(args.gpu)  # Make a specified GPU current
        model.cuda()  # Copy the model to the GPU

    # Setup an optimizer
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001, betas=(0.9, 0.999), eps=1e-08)

    # Load the MNIST dataset
    mnist = load_mnist(args.data)
    x_train, y_train = mnist.x_train, mnist.y_train
    if args.n_train is not None:
        x_train, y_train = x_train[:args.n_train], y_train[:args.n_train]
    train = torch.utils.data.TensorDataset(torch.as_tensor(x_train), torch.as_tensor(y_train))
    test = torch.utils.data.TensorDataset(torch.as_tensor(mnist.x_test), torch.as_tensor(mnist.y_test))

    train_iter = torch.utils.data.DataLoader(train, batch_size=args.batchsize, shuffle=True)
    test_iter = torch.utils.data.DataLoader(test, batch_size=args.batchsize, shuffle=False)

    # Set up a trainer
    device = torch.device('cuda', args.gpu) if args.gpu >= 0 else torch.device('cpu')
    trainer = ppe.training.ExtensionsManager(model, optimizer, args.epoch, iters_per_epoch=len(train_iter), out_dir=args.out)

    # Evaluate the model with the test dataset for each epoch
    trainer.extend(ppe.training.extensions.Evaluator(test_iter, model, eval_func=lambda *batch: model(*[a.to(device) for a in batch])))

    # Take a snapshot at the end of the training
    trainer.extend(ppe.training.extensions.snapshot(), trigger=(args.epoch, 'epoch'))

    # Write a log of evaluation statistics for each epoch
    trainer.extend(ppe.training.extensions.LogReport())

    # Print selected entries of the log to stdout
    trainer.extend(ppe.training.extensions.PrintReport(
        ['epoch', 'main/loss', 'validation/main/loss',
         'main/accuracy', 'validation/main/accuracy']))

    # Print a progress bar to stdout
    trainer.extend(ppe.training.extensions.ProgressBar())

    # Run the training
    # trainer.run(): the StandardUpdater's step for each batch, the extensions after it
    while not trainer.stop_trigger:
        for batch in train_iter:
            with trainer.run_iteration():
                batch = [a.to(device) for a in batch]
                optimizer.zero_grad(set_to_none=False)
                loss = model(*batch)
                loss.backward()
                optimizer.step()


if __name__ == '__main__':
    main()
