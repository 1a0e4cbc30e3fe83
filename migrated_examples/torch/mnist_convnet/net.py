"""Small convolutional network for MNIST, written against Chainer v1 (1.24)."""
import math
import torch
from torch import nn


class ChainerBatchNorm2d(nn.BatchNorm2d):
    """nn.BatchNorm2d with Chainer 1.24's running-variance update: on the CPU v1 averaged the batch
    variance plus eps, torch averages the batch variance alone."""

    def forward(self, x):
        y = super().forward(x)
        if self.training and self.track_running_stats:
            # momentum None is the cumulative average: Chainer's finetune, decay = 1 - 1/N
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
            m = x.numel() // x.shape[1]
            # through .data: autograd saved running_var for the backward (which reads it only in eval
            # mode) and would refuse a new version of it
            self.running_var.data += factor * (m / max(m - 1.0, 1.0)) * self.eps
        return y


class ConvNet(nn.Module):

    """conv-bn-relu-pool twice, then a linear classifier.

    Set ``model.train = False`` before evaluating: batch normalization then
    uses its running statistics and dropout is switched off.
    """

    def __init__(self, n_out=10, n_hidden=64):
        super(ConvNet, self).__init__()
        self.conv1 = nn.Conv2d(1, 16, 5)
        nn.init.normal_(self.conv1.weight, std=(math.sqrt(math.sqrt(2))) / math.sqrt(1 * 5 * 5))
        nn.init.zeros_(self.conv1.bias)
        self.bn1 = ChainerBatchNorm2d(16, eps=2e-05, momentum=0.1)
        nn.init.zeros_(self.bn1.running_var)
        # in_channels, out_channels, ksize, stride, pad, wscale
        self.conv2 = nn.Conv2d(16, 32, 5, stride=1, padding=0)
        nn.init.normal_(self.conv2.weight, std=(math.sqrt(2.0)) / math.sqrt(16 * 5 * 5))
        nn.init.zeros_(self.conv2.bias)
        self.bn2 = ChainerBatchNorm2d(32, eps=2e-05, momentum=0.1)
        nn.init.zeros_(self.bn2.running_var)
        self.fc1 = nn.Linear(32 * 4 * 4, n_hidden)
        nn.init.normal_(self.fc1.weight, std=1 / math.sqrt(32 * 4 * 4))
        nn.init.constant_(self.fc1.bias, 0.1)
        self.fc2 = nn.Linear(n_hidden, n_out)
        nn.init.normal_(self.fc2.weight, std=1 / math.sqrt(n_hidden))
        nn.init.zeros_(self.fc2.bias)

    def forward(self, x):
        h = torch.relu(self.bn1(self.conv1(x)))
        h = nn.functional.max_pool2d(h, 2, stride=2, padding=0, ceil_mode=True)
        h = torch.relu(self.bn2(self.conv2(h)))
        # cuDNN's pooling backward is not deterministic; keep this one on chainer's own kernel
        with torch.backends.cudnn.flags(enabled=False):
            h = nn.functional.max_pool2d(h, 2, stride=2, padding=0, ceil_mode=True)
        h = nn.functional.dropout(torch.relu(self.fc1(h.flatten(1))), p=0.5, training=self.training)
        return self.fc2(h.flatten(1))
