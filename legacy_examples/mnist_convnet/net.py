"""Small convolutional network for MNIST, written against Chainer v1 (1.24)."""
import math

import chainer
import chainer.functions as F
import chainer.links as L


class ConvNet(chainer.Chain):

    """conv-bn-relu-pool twice, then a linear classifier.

    Set ``model.train = False`` before evaluating: batch normalization then
    uses its running statistics and dropout is switched off.
    """

    def __init__(self, n_out=10, n_hidden=64):
        super(ConvNet, self).__init__(
            conv1=L.Convolution2D(1, 16, 5, wscale=math.sqrt(2)),
            bn1=L.BatchNormalization(16),
            # in_channels, out_channels, ksize, stride, pad, wscale
            conv2=L.Convolution2D(16, 32, 5, 1, 0, 2.0),
            bn2=L.BatchNormalization(32),
            fc1=L.Linear(32 * 4 * 4, n_hidden, bias=0.1),
            fc2=L.Linear(n_hidden, n_out),
        )
        self.train = True

    def __call__(self, x):
        h = F.relu(self.bn1(self.conv1(x), test=not self.train))
        h = F.max_pooling_2d(h, 2, use_cudnn=True)
        h = F.relu(self.bn2(self.conv2(h), test=not self.train))
        # cuDNN's pooling backward is not deterministic; keep this one on chainer's own kernel
        h = F.max_pooling_2d(h, 2, use_cudnn=False)
        h = F.dropout(F.relu(self.fc1(h)), ratio=0.5, train=self.train)
        return self.fc2(h)
