"""Small convolutional network for MNIST, written against Chainer v1 (1.24)."""
import math

import chainer
import chainer.functions as F
import chainer.links as L


class BatchNormalizationV1(L.BatchNormalization):
    """Chainer 1.24's running-variance update (written by netport, rule CH017): on the CPU v1
    averaged the batch variance plus eps, Chainer 5+ averages the batch variance alone."""

    def forward(self, x, **kwargs):
        y = super(BatchNormalizationV1, self).forward(x, **kwargs)
        if chainer.config.train and not chainer.config.in_recomputing:
            decay = 1. - 1. / self.N if kwargs.get('finetune', False) else self.decay
            m = x.size // self.avg_var.size
            self.avg_var += (1 - decay) * (m / max(m - 1., 1.)) * self.eps
        return y


class ConvNet(chainer.Chain):

    """conv-bn-relu-pool twice, then a linear classifier.

    Set ``model.train = False`` before evaluating: batch normalization then
    uses its running statistics and dropout is switched off.
    """

    def __init__(self, n_out=10, n_hidden=64):
        super(ConvNet, self).__init__()
        with self.init_scope():
            self.conv1 = L.Convolution2D(1, 16, 5, initialW=chainer.initializers.LeCunNormal(math.sqrt(math.sqrt(2))))
            self.bn1 = BatchNormalizationV1(16, initial_avg_var=0)
            # in_channels, out_channels, ksize, stride, pad, wscale
            self.conv2 = L.Convolution2D(16, 32, 5, 1, 0, initialW=chainer.initializers.LeCunNormal(math.sqrt(2.0)))
            self.bn2 = BatchNormalizationV1(32, initial_avg_var=0)
            self.fc1 = L.Linear(32 * 4 * 4, n_hidden, initial_bias=0.1)
            self.fc2 = L.Linear(n_hidden, n_out)

    def __call__(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.max_pooling_2d(h, 2)
        h = F.relu(self.bn2(self.conv2(h)))
        # cuDNN's pooling backward is not deterministic; keep this one on chainer's own kernel
        with chainer.using_config('use_cudnn', 'never'):
            h = F.max_pooling_2d(h, 2)
        h = F.dropout(F.relu(self.fc1(h)), ratio=0.5)
        return self.fc2(h)
