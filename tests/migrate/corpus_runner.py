"""Test harness for tests/migrate/test_corpus_programs.py: runs one unmodified corpus program (or its
migration) on small deterministic data, in whichever Chainer this interpreter has (1.24, 5.4 or 7.8).

    python corpus_runner.py RECORD DATA SCRIPT [ARGS...]

Run it in the program's directory. It replaces the program's data entry points by functions returning
small arrays of the real shapes and dtypes (DATA names which: `mnist-module` for a `data.py` with
`load_mnist_data()`, `get_mnist`, `get_cifar10`, `get_cifar10-unlabelled`, `ptb`, `sentiment-trees`),
stubs matplotlib and PIL (only used for pictures), seeds NumPy's and Python's global generators with 0,
and runs SCRIPT as `__main__` with ARGS as its command line. Every scalar `Variable.backward()` call
(each training loss, whatever the program prints) is recorded and written to RECORD as JSON, also when
the program fails. The same code runs in all three environments, so it must stay valid for Chainer 1.24.
"""

import json
import os
import random
import runpy
import sys
from unittest import mock

import numpy as np

import chainer
from chainer.datasets import TupleDataset

DATA_SEED = 1234  # the data's own generator: the global one is left for the program


def mnist_raw(n):
    """n images of MNIST's raw format (uint8, 784 pixels, about 80% zeros like the digits) and labels."""
    rng = np.random.RandomState(DATA_SEED)
    images = (rng.randint(0, 256, (n, 784)) * (rng.rand(n, 784) < 0.2)).astype(np.uint8)
    return images, rng.randint(0, 10, n).astype(np.uint8)


def get_mnist(n_train, n_test):
    def fake(withlabel=True, ndim=1, scale=1., dtype=np.float32, label_dtype=np.int32, rgb_format=False):
        images, labels = mnist_raw(n_train + n_test)
        images = images.reshape({1: (-1, 784), 2: (-1, 28, 28), 3: (-1, 1, 28, 28)}[ndim]).astype(dtype)
        images *= scale / 255.
        labels = labels.astype(label_dtype)
        if withlabel:
            return (TupleDataset(images[:n_train], labels[:n_train]),
                    TupleDataset(images[n_train:], labels[n_train:]))
        return images[:n_train], images[n_train:]
    return fake


def get_cifar10(n_train, n_test):
    def fake(withlabel=True, ndim=3, scale=1.):
        rng = np.random.RandomState(DATA_SEED)
        images = rng.randint(0, 256, (n_train + n_test, 3, 32, 32)).astype(np.float32)
        images = images.reshape((-1, 3072) if ndim == 1 else (-1, 3, 32, 32)) * np.float32(scale / 255.)
        labels = rng.randint(0, 10, n_train + n_test).astype(np.int32)
        if withlabel:
            return (TupleDataset(images[:n_train], labels[:n_train]),
                    TupleDataset(images[n_train:], labels[n_train:]))
        return images[:n_train], images[n_train:]
    return fake


def ptb(lengths, n_vocab):
    """get_ptb_words and get_ptb_words_vocabulary on a vocabulary of n_vocab words, each of which occurs
    in the training words (word2vec's Huffman tree and negative sampler count every id)."""
    rng = np.random.RandomState(DATA_SEED)
    weights = 1.0 / np.arange(1, n_vocab + 1)  # Zipf-like word frequencies
    words = [rng.choice(n_vocab, length, p=weights / weights.sum()).astype(np.int32) for length in lengths]
    words[0][:n_vocab] = rng.permutation(n_vocab)
    vocabulary = {'w%d' % i: i for i in range(n_vocab)}
    return (lambda: tuple(w.copy() for w in words)), (lambda: dict(vocabulary))


def write_sentiment_trees(sizes, n_words=40):
    """trees/{train,test,dev}.txt in the Stanford Sentiment Treebank's format: one binarised tree a
    line, every node `(label child child)`, every leaf `(label word)`, labels 0-4."""
    rng = np.random.RandomState(DATA_SEED)

    def tree(n_leaves):
        if n_leaves == 1:
            return '(%d w%d)' % (rng.randint(5), rng.randint(n_words))
        left = rng.randint(1, n_leaves)
        return '(%d %s %s)' % (rng.randint(5), tree(left), tree(n_leaves - left))

    if not os.path.isdir('trees'):
        os.mkdir('trees')
    for name, size in zip(('train', 'test', 'dev'), sizes):
        with open(os.path.join('trees', name + '.txt'), 'w') as f:
            f.write(''.join(tree(rng.randint(2, 8)) + '\n' for _ in range(size)))


def install_data(kind):
    if kind == 'mnist-module':  # a data.py whose load_mnist_data() downloads MNIST into mnist.pkl
        import data  # the program's own data.py: main() put its directory first on sys.path
        n_train, n_test = 300, 100
        images, labels = mnist_raw(n_train + n_test)
        data.load_mnist_data = lambda: {'data': images.copy(), 'target': labels.copy()}
        data.num_train, data.num_test = n_train, n_test
    elif kind == 'get_mnist':
        chainer.datasets.get_mnist = get_mnist(300, 100)
    elif kind == 'get_cifar10':
        chainer.datasets.get_cifar10 = get_cifar10(8, 4)
    elif kind == 'get_cifar10-unlabelled':
        chainer.datasets.get_cifar10 = get_cifar10(8, 0)
    elif kind == 'ptb':
        chainer.datasets.get_ptb_words, chainer.datasets.get_ptb_words_vocabulary = ptb((200, 100, 100), 40)
    elif kind == 'sentiment-trees':
        write_sentiment_trees((20, 5, 5))
    else:
        raise ValueError(kind)


def stub_picture_modules():
    """matplotlib and PIL only draw pictures here, and the old environments lack them."""
    pyplot = mock.MagicMock()
    pyplot.subplots.return_value = (mock.MagicMock(), mock.MagicMock())
    matplotlib = mock.MagicMock(pyplot=pyplot)
    pil = mock.MagicMock()
    sys.modules.update({'matplotlib': matplotlib, 'matplotlib.pyplot': pyplot, 'PIL': pil,
                        'PIL.Image': pil.Image})


def main():
    record, kind, script, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    script_dir = os.path.dirname(os.path.abspath(script))
    sys.path[0] = script_dir  # as `python SCRIPT` would have it, not this file's directory
    losses = []
    backward = chainer.Variable.backward

    def recording_backward(self, *a, **k):
        if self.data is not None and self.data.size == 1:
            losses.append(float(self.data))
        return backward(self, *a, **k)

    chainer.Variable.backward = recording_backward
    stub_picture_modules()
    install_data(kind)
    sys.argv = [script] + args
    np.random.seed(0)
    random.seed(0)
    try:
        runpy.run_path(script, run_name='__main__')
    finally:
        with open(record, 'w') as f:
            json.dump({'backward': losses}, f)


if __name__ == '__main__':
    main()
