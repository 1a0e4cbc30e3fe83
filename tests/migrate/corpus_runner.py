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

Options before RECORD, for tests/migrate/test_corpus_programs_torch.py (a program and its torch migration):

    --save-weights DIR   (Chainer) at the k-th `Optimizer.setup(link)` save the link's weights as DIR/setup-k.npz
                         and NumPy's and Python's generator states as DIR/setup-k.json
    --torch DIR          (a torch program) at the k-th optimizer construction load DIR/setup-k.pt (setup-k.npz
                         converted by `netport convert-weights`) into the module whose parameters it is given
                         (each parameter once: later loads skip what an earlier one set, which has trained
                         since), restore the generator states of DIR/setup-k.json, record every scalar
                         `Tensor.backward()`, and draw dropout's masks and torch.multinomial's samples with
                         replacement (the written-in L.NegativeSampling's negatives) as Chainer 1.24 does, and
                         torch.randn's numbers from NumPy's generator (a program's own noise, xp.random.randn)
    A link with parameters that its first forward pass initialises is saved at the first backward() after
    its setup instead, and the generator states after each such initialisation go to DIR/lazy.json; the
    torch module's nn.Lazy* parameters are loaded as soon as that forward pass has given them a shape, and
    the states are restored there, one per lazy module in the order of their initialisations.
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


def fake_torchvision(mnist=None, cifar=None):
    """A torchvision whose MNIST and CIFAR10 datasets hold the pixels the fakes above give Chainer, as
    torchvision's own do (uint8 images, MNIST's as a (N, 28, 28) tensor, CIFAR's as an (N, 32, 32, 3) array)."""
    import types

    import torch

    def dataset(make, n_train):
        class Dataset:
            def __init__(self, root, train=True, download=False, **kwargs):
                images, labels = make()
                part = slice(None, n_train) if train else slice(n_train, None)
                self.data, self.targets = images[part], labels[part]
        return Dataset

    def mnist_arrays():
        images, labels = mnist_raw(sum(mnist))
        return torch.from_numpy(images.reshape(-1, 28, 28)), torch.from_numpy(labels.astype(np.int64))

    def cifar_arrays():
        rng = np.random.RandomState(DATA_SEED)
        images = rng.randint(0, 256, (sum(cifar), 3, 32, 32)).astype(np.uint8).transpose(0, 2, 3, 1)
        return np.ascontiguousarray(images), [int(t) for t in rng.randint(0, 10, sum(cifar))]

    datasets = types.SimpleNamespace(MNIST=dataset(mnist_arrays, mnist[0]) if mnist else None,
                                     CIFAR10=dataset(cifar_arrays, cifar[0]) if cifar else None)
    return types.SimpleNamespace(datasets=datasets)


def have_torch():
    try:
        import torch  # noqa: F401  (the environment that runs the torch migration)
    except ImportError:
        return False
    return True


def install_data(kind):
    if kind in ('get_mnist', 'get_cifar10', 'get_cifar10-unlabelled') and have_torch():  # the torch migration's
        sizes = {'get_mnist': dict(mnist=(300, 100)), 'get_cifar10': dict(cifar=(8, 4)),
                 'get_cifar10-unlabelled': dict(cifar=(8, 0))}[kind]
        torchvision = fake_torchvision(**sizes)
        sys.modules.update({'torchvision': torchvision, 'torchvision.datasets': torchvision.datasets})
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


def leading_options():
    """The options before RECORD (see the module's docstring), removed from sys.argv."""
    options = {}
    while len(sys.argv) > 2 and sys.argv[1] in ('--save-weights', '--torch'):
        options[sys.argv[1]] = sys.argv[2]
        del sys.argv[1:3]
    return options


def generator_states():
    """NumPy's and Python's global generator states, as JSON (the environments' versions differ)."""
    name, keys, position, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {'numpy': [name, [int(k) for k in keys], int(position), int(has_gauss), float(cached)],
            'python': [version, list(internal), gauss_next]}


def restore_generator_states(states):
    name, keys, position, has_gauss, cached = states['numpy']
    np.random.set_state((name, np.array(keys, dtype=np.uint32), position, has_gauss, cached))
    version, internal, gauss_next = states['python']
    random.setstate((version, tuple(internal), gauss_next))


def persistent_values(link):
    """Copies of the persistent values of a link tree (batch normalization's statistics), by save_npz's keys."""
    values = {}
    for path, sub in link.namedlinks():
        for name in getattr(sub, '_persistent', ()):
            values[(path.strip('/') + '/' + name).lstrip('/')] = np.array(sub.__dict__[name])
    return values


def save_weights_at_setup(directory):
    """Each Optimizer.setup(link) is a synchronisation point: the link's weights (all built and
    initialised by then) and the generators' states (what the program draws next: shuffles, dropout)."""
    from chainer import serializers
    setup = chainer.optimizer.Optimizer.setup
    count = [0]
    pending = []  # links with parameters that the first forward pass initialises (L.Linear(None, n))

    def saving_setup(self, link):
        count[0] += 1
        path = os.path.join(directory, 'setup-%d' % count[0])
        if any(getattr(sub, 'has_uninitialized_params', False) for sub in link.links()) or \
                any(param.data is None for param in link.params()):  # (Chainer 1.24 or 2+)
            pending.append((path, link, persistent_values(link)))
        else:
            serializers.save_npz(path + '.npz', link)
        with open(path + '.json', 'w') as f:
            json.dump(generator_states(), f)
        return setup(self, link)

    chainer.optimizer.Optimizer.setup = saving_setup
    backward = chainer.Variable.backward

    def saving_backward(self, *a, **k):
        """A lazily initialised link is saved at the first backward() after its setup: initialised by the
        forward pass, not yet updated; its persistent values (batch normalization's statistics, which that
        forward pass updated) as they were at the setup."""
        for path, link, persistent in pending:
            serializers.save_npz(path + '.npz', link)
            with np.load(path + '.npz') as saved:
                arrays = {key: saved[key] for key in saved.files}
            arrays.update(persistent)
            np.savez(path + '.npz', **arrays)
        del pending[:]
        return backward(self, *a, **k)

    chainer.Variable.backward = saving_backward
    add_param = chainer.link.Link.add_param
    lazy_states = []  # after each lazily initialised link's initialisation: the generators' states

    def recording_add_param(self, name, *a, **k):
        """A parameter initialised at the first forward pass draws from NumPy's generator there (between the
        dropout masks, say): its link's initialisation is a synchronisation point of its own."""
        lazy = name in getattr(self, '_uninitialized_params', {})
        result = add_param(self, name, *a, **k)
        if lazy:
            if lazy_states and lazy_states[-1][0] is self:  # one point per link (W, then b, ...)
                lazy_states.pop()
            lazy_states.append((self, generator_states()))
            with open(os.path.join(directory, 'lazy.json'), 'w') as f:
                json.dump([states for _, states in lazy_states], f)
        return result

    chainer.link.Link.add_param = recording_add_param


def torch_hooks(directory, losses):
    """The torch side of save_weights_at_setup, the losses of Tensor.backward(), and Chainer's dropout."""
    import gc
    import torch

    from torch.nn.modules.lazy import LazyModuleMixin
    from torch.nn.parameter import is_lazy

    count = [0]
    loaded = set()  # ids of the tensors set from a file: a later file's copy of them is older than they are
    lazy = {}  # id -> value, for parameters the first forward pass materialises (nn.Lazy*)
    lazy_states = []  # the generator states after each lazily initialised link of the Chainer run
    if os.path.exists(os.path.join(directory, 'lazy.json')):
        with open(os.path.join(directory, 'lazy.json')) as f:
            lazy_states.extend(json.load(f))
    construct = torch.optim.Optimizer.__init__

    def module_of(tensors, state):
        """The module whose parameters `tensors` are and whose state_dict has the converted keys."""
        wanted = {id(t) for t in tensors}
        modules = [m for m in gc.get_objects() if isinstance(m, torch.nn.Module)
                   and {id(p) for p in m.parameters()} == wanted]
        for module in modules:
            if set(module.state_dict()) == set(state):
                return module
        if not modules:
            raise AssertionError('no module has exactly the parameters given to the optimizer')
        closest = min(modules, key=lambda m: len(set(m.state_dict()) ^ set(state)))
        raise AssertionError('the converted weights do not fit the module the optimizer trains: its %s lacks %s and '
                             'has %s besides' % (type(closest).__name__, sorted(set(state) - set(closest.state_dict())),
                                                 sorted(set(closest.state_dict()) - set(state))))

    def loading_construct(self, params, *args, **kwargs):
        params = [dict(g, params=list(g['params'])) if isinstance(g, dict) else g for g in params]
        tensors = [t for g in params for t in (g['params'] if isinstance(g, dict) else [g])]
        count[0] += 1
        path = os.path.join(directory, 'setup-%d' % count[0])
        state = torch.load(path + '.pt', weights_only=True)
        module = module_of(tensors, state)
        targets = dict(module.named_parameters())
        targets.update(module.named_buffers())
        with torch.no_grad():
            for key, value in state.items():
                if id(targets[key]) in loaded:
                    continue
                if is_lazy(targets[key]):
                    lazy[id(targets[key])] = value
                else:
                    targets[key].copy_(value)
                loaded.add(id(targets[key]))
        with open(path + '.json') as f:
            restore_generator_states(json.load(f))
        return construct(self, params, *args, **kwargs)

    torch.optim.Optimizer.__init__ = loading_construct
    infer = LazyModuleMixin._infer_parameters

    def loading_infer(self, *args, **kwargs):
        """A lazy module's parameters get the converted values as soon as they have a shape, and the
        generators the states they had after the Chainer link's initialisation."""
        result = infer(self, *args, **kwargs)
        with torch.no_grad():
            for param in self.parameters(recurse=False):
                if id(param) in lazy:
                    param.copy_(lazy.pop(id(param)))
        if lazy_states:
            restore_generator_states(lazy_states.pop(0))
        return result

    LazyModuleMixin._infer_parameters = loading_infer
    backward = torch.Tensor.backward

    def recording_backward(self, *a, **k):
        if self.numel() == 1:
            losses.append(float(self.detach()))
        return backward(self, *a, **k)

    torch.Tensor.backward = recording_backward

    def chainer_dropout(input, p=0.5, training=True, inplace=False):
        """Chainer 1.24's F.dropout: the mask from NumPy's generator (rand >= ratio, also for ratio 0),
        scaled by 1 / (1 - ratio) in the input's dtype, times the input (torch's own draws from its
        generator: the same distribution, other numbers)."""
        if not training:
            return input
        flag = np.random.rand(*input.shape) >= p
        scale = np.dtype(str(input.dtype).replace('torch.', '')).type(1. / (1 - p))
        return input * torch.from_numpy(scale * flag)

    torch.nn.functional.dropout = chainer_dropout
    randn = torch.randn

    def numpy_randn(*size, dtype=None, device=None, **kwargs):
        """torch.randn drawing NumPy's numbers: a program's own noise (`xp.random.randn` in Chainer, torch.randn
        once migrated) from the generator the Chainer run drew it from, float64 rounded to the dtype asked for."""
        if kwargs or size and isinstance(size[0], torch.Generator):
            return randn(*size, dtype=dtype, device=device, **kwargs)
        shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)) else size
        return torch.as_tensor(np.random.randn(*shape), dtype=dtype or torch.get_default_dtype(), device=device)

    torch.randn = numpy_randn

    def numpy_randn_like(input, dtype=None, **kwargs):
        """torch.randn_like from NumPy's generator (F.gaussian's noise: numpy.random.standard_normal in 1.24)."""
        if kwargs:
            return randn_like(input, dtype=dtype, **kwargs)
        return numpy_randn(*input.shape, dtype=dtype or input.dtype, device=input.device)

    randn_like = torch.randn_like
    torch.randn_like = numpy_randn_like
    multinomial = torch.multinomial
    aliases = {}  # the bytes of p -> Chainer's alias table (threshold, values) of it

    def chainer_multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
        """Draws with replacement from p as Chainer 1.24's WalkerAlias (L.NegativeSampling's sampler) did: its
        table of p / sum(p) in float32 and NumPy's uniform draws (torch's own draws from its generator: the
        same distribution, other numbers); anything else is torch's."""
        if not replacement or input.dim() != 1 or generator is not None or out is not None:
            return multinomial(input, num_samples, replacement, generator=generator, out=out)
        p = input.detach().cpu().numpy().astype(np.float32)
        key = p.tobytes()
        if key not in aliases:
            prob = p / np.sum(p)
            threshold = np.ndarray(len(p), np.float32)
            values = np.ndarray(len(p) * 2, np.int32)
            il, ir = 0, 0
            pairs = sorted(zip(prob, range(len(p))))
            for q, i in pairs:  # chainer/utils/walker_alias.py (1.24)
                q = q * len(p)
                while q > 1 and ir < il:
                    values[ir * 2 + 1] = i
                    q -= 1.0 - threshold[ir]
                    ir += 1
                threshold[il] = q
                values[il * 2] = i
                il += 1
            for i in range(ir, len(p)):
                values[i * 2 + 1] = 0
            aliases[key] = threshold, values
        threshold, values = aliases[key]
        pb = np.random.uniform(0, 1, (num_samples,)) * len(threshold)
        index = pb.astype(np.int32)
        left_right = (threshold[index] < pb - index).astype(np.int32)
        return torch.from_numpy(values[index * 2 + left_right].astype(np.int64)).to(input.device)

    torch.multinomial = chainer_multinomial


def main():
    options = leading_options()
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
    if '--save-weights' in options:
        save_weights_at_setup(options['--save-weights'])
    if '--torch' in options:
        torch_hooks(options['--torch'], losses)
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
