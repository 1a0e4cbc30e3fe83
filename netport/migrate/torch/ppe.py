"""PT042-PT049 (``--to torch --trainer ppe``): Trainer-era code becomes pytorch-pfn-extras (0.8+).

pytorch-pfn-extras (ppe) is the Trainer's successor by Chainer's authors: an ``ExtensionsManager`` holds
the models, the optimizers and the extensions, and a plain loop over ``DataLoader`` batches runs each
update inside ``manager.run_iteration()``, after which the extensions run under their triggers, as the
Trainer ran them after each update. So a Trainer program keeps its shape::

    train_iter = torch.utils.data.DataLoader(train, batch_size=100, shuffle=True)
    trainer = ppe.training.ExtensionsManager(model, optimizer, 20, iters_per_epoch=len(train_iter), out_dir='result')
    trainer.extend(ppe.training.extensions.LogReport())
    ...
    while not trainer.stop_trigger:
        for batch in train_iter:
            with trainer.run_iteration():
                optimizer.zero_grad(set_to_none=False)
                loss = model(*batch)
                loss.backward()
                optimizer.step()

and its own extensions (``make_extension`` functions, ``Extension`` classes) and triggers survive. What
was checked against pytorch-pfn-extras 0.9.0 and Chainer 1.24 (the sources, and by running both):

- ExtensionsManager(models, optimizers, max_epochs, *, iters_per_epoch, out_dir='result',
  stop_trigger=None) registers a single model as the reporter's observer 'main' (Chainer: the main
  optimizer's target), so ``report({'loss': l}, model)`` is 'main/loss' in both. (A module *below* it is
  named 'main' + its name without a '/' by ppe, Chainer's 'main/<name>'.)
- Its epoch is ``iteration // iters_per_epoch``: ``len(loader)`` batches, the smaller last one included.
  A repeating SerialIterator whose batch size does not divide the data set fills the last batch from
  the next epoch instead (reported as a WARNING, as the loop form does).
- Extensions: the same defaults as Chainer's (trigger (1, 'iteration'), priority PRIORITY_READER;
  Evaluator (1, 'epoch') and PRIORITY_WRITER with the name 'validation'; snapshot (1, 'epoch')), the
  same order of calls (priority, then registration), and LogReport/PrintReport/ProgressBar/PlotReport/
  snapshot_object/observe_value take Chainer's arguments in Chainer's order (log_name and file_name are
  ppe's filename). Evaluator reports the mean over its batches, in evaluation mode, like Chainer's.
- IntervalTrigger, ManualScheduleTrigger (integral points) and Min/MaxValueTrigger fire at the same
  iterations as Chainer's.
- A StandardUpdater with a converter or an iterator of the program's own keeps Chainer's iterators: it is
  the written-in ChainerStandardUpdater (1.24's update_core) in a loop of updater.update() (PT131), and an
  Evaluator with a converter is ChainerEvaluator (1.24's evaluate(): reset() or a shallow copy; PT132).
  ppe's triggers count epochs as iters_per_epoch iterations, so an iterator of the program's own gives its
  first epoch's length, counted on a deep copy with the generators restored; the updater raises where a
  later epoch is not as long (a trigger of ppe's cannot follow a Chainer iterator's epoch_detail).
"""

from __future__ import annotations

import ast
import re

import libcst as cst

from netport.migrate.chainer.api import public_name
from netport.migrate.imports import import_map, qualified_name
from netport.migrate.passes import TODO_PREFIX, ZERO_GRAD, bind_arguments, code, insert_definition, spell_with
from netport.migrate.project import ProgramClasses
from netport.migrate.report import Severity
from netport.migrate.rules import Rule, register
from netport.migrate.torch.datasets import CONCAT_EXAMPLES, ITERATOR_BASE, ITERATOR_BASES, SERIAL_ITERATOR
from netport.migrate.torch.graphs import (DIFFERENCE, DUMP_GRAPH, GRAPH_DOT, HELPER, dump_graph_arguments,
                                         dump_graph_lines)

PPE = (("trainer", "ppe"),)
_HEAD = "import chainer\nfrom chainer import training\nfrom chainer.training import extensions\n\n"
_LOOP = "# trainer.run(): the StandardUpdater's step for each batch, the extensions after it\n" \
    "while not trainer.stop_trigger:\n    for batch in train_iter:\n        with trainer.run_iteration():\n" \
    "            optimizer.zero_grad(set_to_none=False)\n            loss = model(*batch)\n" \
    "            loss.backward()\n            optimizer.step()\n"
register(
    Rule("PT042", "--trainer ppe: a Trainer becomes a pytorch-pfn-extras ExtensionsManager and the loop it runs "
         "(iterators are DataLoaders, the StandardUpdater's step is written out, L.Classifier reports its loss)",
         before=_HEAD + "optimizer = chainer.optimizers.SGD()\noptimizer.setup(model)\n"
         "train_iter = chainer.iterators.SerialIterator(train, 100)\n"
         "updater = training.StandardUpdater(train_iter, optimizer)\n"
         "trainer = training.Trainer(updater, (5, 'epoch'), out='result')\n"
         "trainer.extend(extensions.LogReport())\ntrainer.run()\n",
         after="import torch\nimport pytorch_pfn_extras as ppe\n\n"
         "optimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n"
         "train_iter = torch.utils.data.DataLoader(train, batch_size=100, shuffle=True)\n"
         "trainer = ppe.training.ExtensionsManager(model, optimizer, 5, iters_per_epoch=len(train_iter), "
         "out_dir='result')\n"
         "trainer.extend(ppe.training.extensions.LogReport())\n" + _LOOP,
         target="torch", options=PPE,
         noop=("# ported from chainer\nimport pytorch_pfn_extras as ppe\nimport torch\n"
               "loader = torch.utils.data.DataLoader(train, batch_size=100, shuffle=True)\n"
               "manager = ppe.training.ExtensionsManager(model, optimizer, 5, iters_per_epoch=len(loader))\n"
               "while not manager.stop_trigger:\n    for x, t in loader:\n        with manager.run_iteration():\n"
               "            optimizer.zero_grad()\n            model(x, t).backward()\n            optimizer.step()\n",
               "# ported from chainer\nfrom ignite.engine import create_supervised_trainer\n"
               "trainer = create_supervised_trainer(model, optimizer, loss)\ntrainer.run(loader, max_epochs=5)\n")),
    Rule("PT043", "--trainer ppe: chainer.report (chainer.reporter.report) is ppe.reporting.report",
         before="import chainer\n\n\ndef forward(self, x):\n    loss = self.f(x)\n"
         "    chainer.report({'loss': loss}, self)\n    return loss\n",
         after="import pytorch_pfn_extras as ppe\n\n\ndef forward(self, x):\n    loss = self.f(x)\n"
         "    ppe.reporting.report({'loss': loss}, self)\n    return loss\n",
         target="torch", options=PPE,
         noop=("# ported from chainer\nimport pytorch_pfn_extras as ppe\nppe.reporting.report({'loss': loss}, self)\n",
               "# ported from chainer\nfrom mylib import reporter\nreporter.report({'loss': loss}, self)\n")),
    Rule("PT044", "--trainer ppe: LogReport, PrintReport, ProgressBar, PlotReport, snapshot, snapshot_object and "
         "observe_value are ppe.training.extensions' (log_name/file_name are filename; '{.updater.iteration}' is "
         "'{.iteration}')",
         before="from chainer.training import extensions\n\n"
         "log = extensions.LogReport(trigger=(10, 'iteration'), log_name='log.json')\n"
         "plot = extensions.PlotReport(['main/loss'], 'epoch', file_name='loss.png')\n"
         "snap = extensions.snapshot(filename='snapshot_{.updater.iteration}')\n",
         after="import pytorch_pfn_extras as ppe\n\n"
         "log = ppe.training.extensions.LogReport(trigger=(10, 'iteration'), filename='log.json')\n"
         "plot = ppe.training.extensions.PlotReport(['main/loss'], 'epoch', filename='loss.png')\n"
         "snap = ppe.training.extensions.snapshot(filename='snapshot_{.iteration}')\n",
         target="torch", options=PPE,
         noop=("# ported from chainer\nimport pytorch_pfn_extras as ppe\n"
               "log = ppe.training.extensions.LogReport(filename='log.json')\n",
               "# ported from chainer\nfrom mylib import extensions\nlog = extensions.LogReport(log_name='log')\n")),
    Rule("PT045", "--trainer ppe: extensions.Evaluator (and a subclass of it) is ppe.training.extensions.Evaluator; "
         "the updater's device moves each batch in an eval_func",
         before="from chainer.training import extensions\n\n\nclass TestModeEvaluator(extensions.Evaluator):\n"
         "    pass\n\n\nevaluator = extensions.Evaluator(test_iter, model)\n",
         after="import pytorch_pfn_extras as ppe\n\n\nclass TestModeEvaluator(ppe.training.extensions.Evaluator):\n"
         "    pass\n\n\nevaluator = ppe.training.extensions.Evaluator(test_iter, model)\n",
         target="torch", options=PPE,
         noop=("# ported from chainer\nimport pytorch_pfn_extras as ppe\n"
               "evaluator = ppe.training.extensions.Evaluator(test_iter, model)\n",
               "# ported from chainer\nfrom mylib import extensions\nevaluator = extensions.Evaluator(it, model)\n")),
    Rule("PT046", "--trainer ppe: ExponentialShift of the learning rate is an LRScheduler stepping torch's "
         "ExponentialLR (each call multiplies it by the rate; Adam's alpha is torch's lr); observe_lr takes the "
         "optimizer",
         before="import chainer\nfrom chainer.training import extensions\n\n"
         "optimizer = chainer.optimizers.Adam()\noptimizer.setup(model)\n"
         "shift = extensions.ExponentialShift('alpha', 0.5, optimizer=optimizer)\n",
         after="import torch\nimport pytorch_pfn_extras as ppe\n\n"
         "optimizer = torch.optim.Adam(model.parameters(), lr=0.001, betas=(0.9, 0.999), eps=1e-08)\n"
         "shift = ppe.training.extensions.LRScheduler(torch.optim.lr_scheduler.ExponentialLR(optimizer, 0.5), "
         "trigger=(1, 'iteration'))\n",
         target="torch", options=PPE,
         noop=("# ported from chainer\nimport pytorch_pfn_extras as ppe\nimport torch\n"
               "shift = ppe.training.extensions.LRScheduler(\n"
               "    torch.optim.lr_scheduler.ExponentialLR(optimizer, 0.5))\n",
               "# ported from chainer\nfrom mylib import extensions\n"
               "shift = extensions.ExponentialShift('lr', 0.5)\n")),
    Rule("PT047", "--trainer ppe: IntervalTrigger, ManualScheduleTrigger, MinValueTrigger and MaxValueTrigger are "
         "ppe.training.triggers'",
         before="from chainer import training\n\n"
         "best = training.triggers.MinValueTrigger('validation/main/loss', trigger=(1, 'epoch'))\n"
         "every = training.triggers.IntervalTrigger(100, 'iteration')\n",
         after="import pytorch_pfn_extras as ppe\n\n"
         "best = ppe.training.triggers.MinValueTrigger('validation/main/loss', trigger=(1, 'epoch'))\n"
         "every = ppe.training.triggers.IntervalTrigger(100, 'iteration')\n",
         target="torch", options=PPE,
         noop=("# ported from chainer\nimport pytorch_pfn_extras as ppe\n"
               "best = ppe.training.triggers.MinValueTrigger('validation/main/loss')\n",
               "# ported from chainer\nfrom mylib import triggers\nbest = triggers.MinValueTrigger('loss')\n")),
    Rule("PT048", "--trainer ppe: custom extensions survive: make_extension, Extension and PRIORITY_* are "
         "ppe.training's; the extension's trainer.updater.iteration/epoch/epoch_detail are the manager's, "
         "get_optimizer(name) its optimizers[name]",
         before="from chainer import training\n\n\n@training.make_extension(trigger=(1, 'epoch'), "
         "priority=training.PRIORITY_READER)\ndef show(trainer):\n"
         "    print(trainer.updater.epoch, trainer.updater.get_optimizer('main'))\n",
         after="import pytorch_pfn_extras as ppe\n\n\n@ppe.training.make_extension(trigger=(1, 'epoch'), "
         "priority=ppe.training.PRIORITY_READER)\ndef show(trainer):\n"
         "    print(trainer.epoch, trainer.optimizers['main'])\n",
         target="torch", options=PPE,
         noop=("# ported from chainer\nimport pytorch_pfn_extras as ppe\n\n\n"
               "@ppe.training.make_extension(trigger=(1, 'epoch'))\ndef show(manager):\n    print(manager.epoch)\n",
               "# ported from chainer\nclass Job:\n    def run(self, trainer):\n"
               "        return trainer.updater.epoch\n")),
    Rule("PT049", "--trainer ppe: serializers.load_npz/save_npz of the Trainer (a resumed snapshot) load or save "
         "the manager's state_dict, which ppe's snapshot() writes",
         before=_HEAD + "optimizer = chainer.optimizers.SGD()\noptimizer.setup(model)\n"
         "train_iter = chainer.iterators.SerialIterator(train, 100)\n"
         "updater = training.StandardUpdater(train_iter, optimizer)\n"
         "trainer = training.Trainer(updater, (5, 'epoch'))\ntrainer.extend(extensions.snapshot())\n"
         "if resume:\n    chainer.serializers.load_npz(resume, trainer)\ntrainer.run()\n",
         after="import torch\nimport pytorch_pfn_extras as ppe\n\n"
         "optimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n"
         "train_iter = torch.utils.data.DataLoader(train, batch_size=100, shuffle=True)\n"
         "trainer = ppe.training.ExtensionsManager(model, optimizer, 5, iters_per_epoch=len(train_iter))\n"
         "trainer.extend(ppe.training.extensions.snapshot())\n"
         "if resume:\n    trainer.load_state_dict(torch.load(resume))\n" + _LOOP,
         target="torch", options=PPE,
         noop=("# ported from chainer\nimport torch\nmanager.load_state_dict(torch.load(path))\n",
               "# ported from chainer\nimport torch\nmodel.load_state_dict(torch.load(path))\n")),
)

register(Rule(
    "PT092", "--trainer ppe: extensions.dump_graph('main/loss') of an L.Classifier's Trainer: the loop writes the "
    "graph of the first iteration's loss to the manager's out/cg.dot with autograd_graph_dot (written into the file)",
    before=_HEAD + "import chainer.links as L\n\nmodel = L.Classifier(predictor)\n"
    "optimizer = chainer.optimizers.SGD()\noptimizer.setup(model)\n"
    "train_iter = chainer.iterators.SerialIterator(train, 100)\n"
    "updater = training.StandardUpdater(train_iter, optimizer)\n"
    "trainer = training.Trainer(updater, (5, 'epoch'))\ntrainer.extend(extensions.dump_graph('main/loss'))\n"
    "trainer.run()\n",
    after="import os\nimport torch\nimport pytorch_pfn_extras as ppe\nfrom torch import nn\n\n\n" + GRAPH_DOT +
    '\n\nclass Classifier(nn.Module):\n'
    '    """Chainer\'s L.Classifier: softmax cross-entropy loss and accuracy around a predictor."""\n\n'
    "    def __init__(self, predictor):\n        super().__init__()\n        self.predictor = predictor\n\n"
    "    def forward(self, x, t):\n        y = self.predictor(x)\n"
    "        self.loss = nn.functional.cross_entropy(y, t.long(), ignore_index=-1)\n"
    "        self.accuracy = (y.argmax(1) == t).float().mean()\n"
    "        ppe.reporting.report({'loss': self.loss, 'accuracy': self.accuracy}, self)\n        return self.loss\n\n\n"
    "model = Classifier(predictor)\noptimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n"
    "train_iter = torch.utils.data.DataLoader(train, batch_size=100, shuffle=True)\n"
    "trainer = ppe.training.ExtensionsManager(model, optimizer, 5, iters_per_epoch=len(train_iter))\n"
    + _LOOP + "        if trainer.iteration == 1:\n"
    "            # extensions.dump_graph: the graph of the first iteration's loss\n"
    "            with open(os.path.join(trainer.out, 'cg.dot'), 'w') as f:\n"
    "                f.write(autograd_graph_dot([loss]))\n",
    target="torch", options=PPE,
    noop=("# ported from chainer\nimport pytorch_pfn_extras as ppe\nfrom torchviz import make_dot\n"
          "while not manager.stop_trigger:\n    for x, t in loader:\n        with manager.run_iteration():\n"
          "            loss = model(x, t)\n        if manager.iteration == 1:\n"
          "            make_dot(loss).save('cg.dot')\n",
          "# ported from chainer\nfrom mylib import extensions\ntrainer.extend(extensions.dump_graph('main/loss'))\n")))

# chainer/training/updater.py (1.24): StandardUpdater's names (the iterators and the optimizers by name, 'main'
# for a single one; converter, device, loss_func; iteration; the main iterator's epoch, epoch_detail,
# previous_epoch_detail and is_new_epoch) and update(), which calls update_core() and counts the iteration.
# Chainer's optimizer.target is targets[name] (the manager's models, which the Trainer's reporter observed
# under the optimizers' names); serialize() is state_dict()/load_state_dict(), which the manager's snapshot
# saves through its state_objects (the iterators' positions: Chainer's serializer protocol for an iterator
# with serialize(), else its plain attributes).
UPDATER_BASE = "ChainerStandardUpdater"
STANDARD_UPDATER_CLASS = '''class ChainerStandardUpdater:
    """Chainer's training.StandardUpdater for an update_core of the program's own: get_iterator(name),
    get_optimizer(name), get_all_optimizers() ('main' for a single iterator or optimizer), converter (Chainer's
    concat_examples) and device for the batches, iteration, the main iterator's epoch, epoch_detail and
    is_new_epoch; targets[name] is the model optimizer `name` trains (Chainer's optimizer.target)."""

    def __init__(self, iterator, optimizer, converter=chainer_concat_examples, device=None, loss_func=None):
        self._iterators = iterator if isinstance(iterator, dict) else {'main': iterator}
        self._optimizers = optimizer if isinstance(optimizer, dict) else {'main': optimizer}
        self.converter = converter
        self.device = device
        self.loss_func = loss_func
        self.iteration = 0
        self.targets = {}
        self.iters_per_epoch = None  # (where set: the manager's epoch length, checked against the iterator's)

    @property
    def epoch(self):
        return self._iterators['main'].epoch

    @property
    def epoch_detail(self):
        return self._iterators['main'].epoch_detail

    @property
    def previous_epoch_detail(self):
        return self._iterators['main'].previous_epoch_detail

    @property
    def is_new_epoch(self):
        return self._iterators['main'].is_new_epoch

    def get_iterator(self, name):
        return self._iterators[name]

    def get_optimizer(self, name):
        return self._optimizers[name]

    def get_all_optimizers(self):
        return dict(self._optimizers)

    def update(self):
        self.update_core()
        self.iteration += 1
        if self.iters_per_epoch is not None and self.epoch != self.iteration // self.iters_per_epoch:
            raise RuntimeError('the main iterator is in epoch %d after update %d, the manager counts epoch %d: '
                               'its epochs are not all %d updates long as its first was, so the epoch triggers '
                               'would fire at other iterations than in Chainer' % (
                                   self.epoch, self.iteration, self.iteration // self.iters_per_epoch,
                                   self.iters_per_epoch))

    def update_core(self):
        """Chainer's StandardUpdater.update_core: the main iterator's next batch through the converter gives the
        loss function's arguments (a tuple: by position, a dict: by keyword, else the one); one step."""
        batch = self._iterators['main'].next()
        in_arrays = self.converter(batch, self.device)
        optimizer = self._optimizers['main']
        loss_func = self.loss_func or self.targets['main']
        if isinstance(in_arrays, tuple):
            loss = loss_func(*[torch.as_tensor(x) for x in in_arrays])
        elif isinstance(in_arrays, dict):
            loss = loss_func(**{key: torch.as_tensor(x) for key, x in in_arrays.items()})
        else:
            loss = loss_func(torch.as_tensor(in_arrays))
        optimizer.zero_grad(set_to_none=False)
        loss.backward()
        optimizer.step()

    def finalize(self):
        for iterator in self._iterators.values():
            if hasattr(iterator, 'finalize'):
                iterator.finalize()

    def state_dict(self):
        return {'iteration': self.iteration,
                'iterators': {name: self._iterator_state(it) for name, it in self._iterators.items()}}

    def load_state_dict(self, state):
        self.iteration = state['iteration']
        for name, iterator in self._iterators.items():
            self._iterator_state(iterator, state['iterators'][name])

    @staticmethod
    def _iterator_state(iterator, state=None):
        """Saves (state None) or restores an iterator's position: through its serialize(serializer), as
        Chainer's serializers called it, else its plain attributes (NumPy values as torch's, for torch.load)."""
        def plain(value):
            return torch.from_numpy(value) if isinstance(value, numpy.ndarray) else \\
                value.item() if isinstance(value, numpy.generic) else value

        def restored(value, like):
            return value.numpy() if isinstance(value, torch.Tensor) and not isinstance(like, torch.Tensor) else value

        if hasattr(iterator, 'state_dict') and hasattr(iterator, 'load_state_dict'):  # (a ChainerIterator's is exact)
            if state is None:
                return iterator.state_dict()
            iterator.load_state_dict(state)
            return state
        if hasattr(iterator, 'serialize'):
            saved = {} if state is None else state

            def serializer(key, value):
                if state is None:
                    saved[key] = plain(value)
                    return value
                return restored(saved[key], value)
            iterator.serialize(serializer)
            return saved
        if state is None:
            return {key: plain(value) for key, value in vars(iterator).items() if key != 'dataset' and
                    isinstance(value, (bool, int, float, str, type(None), numpy.ndarray, numpy.generic))}
        for key, value in state.items():
            setattr(iterator, key, restored(value, None))
'''

# The updates in one epoch of an iterator of the program's own (a StandardUpdater draws one batch per update): the
# batches a copy of it draws until its epoch changes, the generators it may draw from restored after.
ITERS_PER_EPOCH = '''def chainer_iters_per_epoch(iterator, limit=None):
    """The manager's iters_per_epoch for a Chainer iterator: the batches a deep copy of it draws until its epoch
    changes (at most limit + 1), with NumPy's, Python's and torch's generators restored after, so that the run
    draws what it would have drawn. The updater checks at each update that the later epochs are as long."""
    states = numpy.random.get_state(), random.getstate(), torch.get_rng_state()
    copied = copy.deepcopy(iterator)
    start, n = copied.epoch, 0
    try:
        while copied.epoch == start and (limit is None or n <= limit):
            copied.next()
            n += 1
    finally:
        numpy.random.set_state(states[0])
        random.setstate(states[1])
        torch.set_rng_state(states[2])
    return n
'''

# chainer/training/extensions/evaluator.py (1.24): evaluate() resets the iterator where it has reset(), else
# iterates a shallow copy of it (copy.copy: arrays it shuffles in place are shared), passes each batch through
# the converter with the device and calls eval_func (the target) with the arrays as the updater did, and
# reports the mean of what was reported; ppe's Evaluator (evaluation mode, no gradients, 'validation/...').
EVALUATOR_CLASS = '''class ChainerEvaluator(ppe.training.extensions.Evaluator):
    """Chainer's extensions.Evaluator on a Chainer iterator with a converter and a device: each evaluation
    resets the iterator (where it has reset()) or iterates a shallow copy of it, and calls eval_func (the
    target) with the converted arrays (a tuple: by position, a dict: by keyword, else the one)."""

    def __init__(self, iterator, target, converter=chainer_concat_examples, device=None, eval_hook=None,
                 eval_func=None):
        super().__init__(iterator if isinstance(iterator, dict) else {'main': iterator}, target, eval_hook=eval_hook,
                         eval_func=eval_func)
        self.converter = converter
        self.device = device

    def evaluate(self):
        iterator = self._iterators['main']
        eval_func = self._eval_func or self._targets['main']
        if self.eval_hook:
            self.eval_hook(self)
        if hasattr(iterator, 'reset'):
            iterator.reset()
            it = iterator
        else:
            it = copy.copy(iterator)
        summary = ppe.reporting.DictSummary()
        targets = list(self._targets.values())
        modes = [target.training for target in targets]
        for target in targets:
            target.eval()
        try:
            for batch in it:
                observation = {}
                with ppe.reporting.report_scope(observation):
                    in_arrays = self.converter(batch, self.device)
                    if isinstance(in_arrays, tuple):
                        eval_func(*[torch.as_tensor(x) for x in in_arrays])
                    elif isinstance(in_arrays, dict):
                        eval_func(**{key: torch.as_tensor(x) for key, x in in_arrays.items()})
                    else:
                        eval_func(torch.as_tensor(in_arrays))
                summary.add(observation)
        finally:
            for target, mode in zip(targets, modes):
                target.train(mode)
        return summary.compute_mean()
'''

_CUSTOM = "import chainer\nfrom chainer import training\n\n\nclass GAN(training.StandardUpdater):\n" \
    "    def update_core(self):\n        batch = self.get_iterator('main').next()\n" \
    "        x = self.converter(batch, self.device)\n        opt = self.get_optimizer('dis')\n" \
    "        opt.update(opt.target, x)\n"
_CUSTOM_AFTER = CONCAT_EXAMPLES + "\n\n" + STANDARD_UPDATER_CLASS + "\n\nclass GAN(ChainerStandardUpdater):\n" \
    "    def update_core(self):\n        batch = self.get_iterator('main').next()\n" \
    "        x = self.converter(batch, self.device)\n        opt = self.get_optimizer('dis')\n" \
    "        opt.zero_grad(set_to_none=False)\n        self.targets['dis'](x).backward()\n        opt.step()\n"
register(
    Rule("PT130", "--trainer ppe: a ParallelUpdater's step is written out with the same numbers: the batch split "
         "between its devices as batch[i::n], the gradients of the parts' losses summed, one update (the parts run "
         "one after another on the main device; WARNING)",
         before=_HEAD + "optimizer = chainer.optimizers.SGD()\noptimizer.setup(model)\n"
         "train_iter = chainer.iterators.SerialIterator(train, 100)\n"
         "updater = training.ParallelUpdater(train_iter, optimizer, devices={'main': 0, 'second': 1})\n"
         "trainer = training.Trainer(updater, (5, 'epoch'), out='result')\ntrainer.run()\n",
         after="import torch\nimport pytorch_pfn_extras as ppe\n\n"
         "optimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n"
         "train_iter = torch.utils.data.DataLoader(train, batch_size=100, shuffle=True)\n"
         "device = torch.device('cuda', 0)\nmodel.to(device)\n"
         "trainer = ppe.training.ExtensionsManager(model, optimizer, 5, iters_per_epoch=len(train_iter), "
         "out_dir='result')\n"
         "# trainer.run(): the ParallelUpdater's step for each batch, the extensions after it\n"
         "while not trainer.stop_trigger:\n    for batch in train_iter:\n        with trainer.run_iteration():\n"
         "            batch = [a.to(device) for a in batch]\n"
         "            optimizer.zero_grad(set_to_none=False)\n"
         "            # ParallelUpdater: the devices 'main', 'second' each took one example in 2 (batch[i::2]) and\n"
         "            # the gradients of their losses were summed; the parts run here one after another, the main\n"
         "            # device's last (its loss is the one reported as main/loss, and the one left in `loss`)\n"
         "            for part in reversed(range(2)):\n"
         "                loss = model(*[a[part::2] for a in batch])\n                loss.backward()\n"
         "            optimizer.step()\n",
         target="torch", options=PPE,
         noop=("# ported from chainer\nfor part in reversed(range(2)):\n    loss = model(*[a[part::2] for a in batch])\n"
               "    loss.backward()\n",
               "# ported from chainer\nfrom mylib import training\n"
               "updater = training.ParallelUpdater(it, opt, devices={'main': 0})\n")),
    Rule("PT100", "--trainer ppe: an updater of the program's own (a StandardUpdater subclass with its update_core) "
         "keeps its update_core on a base class written into the file, ChainerStandardUpdater: Chainer's "
         "get_iterator/get_optimizer/converter/device/iteration/epoch, update() calling update_core(); "
         "get_optimizer(name).target is targets[name], the model the manager trains under that name",
         before=_CUSTOM,
         after="import numpy\nimport torch\n\n\n" + _CUSTOM_AFTER,
         target="torch", options=PPE,
         noop=("# ported from chainer\nclass GAN(ChainerStandardUpdater):\n    def update_core(self):\n"
               "        self.get_optimizer('main').step()\n",
               "# ported from chainer\nfrom mylib import training\n\n\nclass GAN(training.StandardUpdater):\n"
               "    def update_core(self):\n        self.get_optimizer('main').target\n")),
    Rule("PT101", "--trainer ppe: the Trainer of an updater of the program's own is an ExtensionsManager of the "
         "updater's optimizers and their models (named as the optimizers, the reporter's observers as in Chainer), "
         "its SerialIterator Chainer's order (ChainerSerialIterator), and the loop calls updater.update() in "
         "run_iteration(); the manager's snapshot holds the updater's state",
         before=_CUSTOM + "\n\nopt_gen = chainer.optimizers.SGD()\nopt_gen.setup(gen)\n"
         "opt_dis = chainer.optimizers.SGD()\nopt_dis.setup(dis)\n"
         "train_iter = chainer.iterators.SerialIterator(train, 10)\n"
         "updater = GAN(train_iter, {'gen': opt_gen, 'dis': opt_dis})\n"
         "trainer = training.Trainer(updater, (5, 'epoch'))\ntrainer.run()\n",
         after="import math\nimport numpy\nimport torch\nimport pytorch_pfn_extras as ppe\n\n\n" + SERIAL_ITERATOR +
         "\n\n" + _CUSTOM_AFTER + "\n\nopt_gen = torch.optim.SGD(gen.parameters(), lr=0.01)\n"
         "opt_dis = torch.optim.SGD(dis.parameters(), lr=0.01)\n"
         "train_iter = ChainerSerialIterator(train, 10)\n"
         "updater = GAN(train_iter, {'gen': opt_gen, 'dis': opt_dis})\n"
         "updater.targets = {'gen': gen, 'dis': dis}\n"
         "trainer = ppe.training.ExtensionsManager(updater.targets, updater.get_all_optimizers(), 5, "
         "iters_per_epoch=math.ceil(len(train) / 10), state_objects={'updater': updater})\n"
         "# trainer.run(): the updater's update() (its update_core), the extensions after it\n"
         "while not trainer.stop_trigger:\n    with trainer.run_iteration():\n        updater.update()\n",
         target="torch", options=PPE,
         noop=("# ported from chainer\nimport pytorch_pfn_extras as ppe\n"
               "manager = ppe.training.ExtensionsManager(models, optimizers, 5, iters_per_epoch=10)\n"
               "while not manager.stop_trigger:\n    with manager.run_iteration():\n        updater.update()\n",
               "# ported from chainer\nfrom mylib import training\nupdater = training.StandardUpdater(it, opt)\n")),
)

_WINDOWS = "class Windows(chainer.dataset.Iterator):\n    def __init__(self, data, size):\n" \
    "        self.data, self.size, self.epoch, self.position = data, size, 0, 0\n\n    def __next__(self):\n" \
    "        batch = self.data[self.position:self.position + self.size]\n        self.position += self.size\n" \
    "        if self.position >= len(self.data):\n            self.epoch, self.position = self.epoch + 1, 0\n" \
    "        return batch, batch\n\n\ndef convert(batch, device):\n    return batch\n\n\n"
_MANAGER_LOOP = "# trainer.run(): the updater's update() (its update_core), the extensions after it\n" \
    "while not trainer.stop_trigger:\n    with trainer.run_iteration():\n        updater.update()\n"
register(
    Rule("PT131", "--trainer ppe: a StandardUpdater with a converter or an iterator of the program's own (or whose "
         "Evaluators have one) is the written-in ChainerStandardUpdater with the same arguments: Chainer 1.24's "
         "update_core (the iterator's next() through the converter, the arrays as tensors to the loss function; "
         "zero_grad, backward, step) in a loop of updater.update(); the manager's iters_per_epoch is the iterator's "
         "first epoch, counted on a deep copy (chainer_iters_per_epoch, the generators restored; WARNING), the "
         "updater raising if a later epoch differs",
         before="import chainer\nfrom chainer import training\n\n\n" + _WINDOWS +
         "optimizer = chainer.optimizers.SGD()\noptimizer.setup(model)\ntrain_iter = Windows(train, 10)\n"
         "updater = training.StandardUpdater(train_iter, optimizer, converter=convert, device=-1)\n"
         "trainer = training.Trainer(updater, (5, 'epoch'))\ntrainer.run()\n",
         after="import copy\nimport numpy\nimport random\nimport torch\nimport pytorch_pfn_extras as ppe\n\n\n" +
         ITERATOR_BASE + "\n\n" + CONCAT_EXAMPLES + "\n\n" + STANDARD_UPDATER_CLASS + "\n\n" + ITERS_PER_EPOCH +
         "\n\n" + _WINDOWS.replace("(chainer.dataset.Iterator)", "(ChainerIterator)") +
         "optimizer = torch.optim.SGD(model.parameters(), lr=0.01)\ntrain_iter = Windows(train, 10)\n"
         "updater = ChainerStandardUpdater(train_iter, optimizer, converter=convert, device=-1)\n"
         "updater.targets = {'main': model}\nupdater.iters_per_epoch = chainer_iters_per_epoch(train_iter)\n"
         "trainer = ppe.training.ExtensionsManager(updater.targets, updater.get_all_optimizers(), 5, "
         "iters_per_epoch=updater.iters_per_epoch, state_objects={'updater': updater})\n" + _MANAGER_LOOP,
         target="torch", options=PPE,
         noop=("# ported from chainer\nupdater = ChainerStandardUpdater(train_iter, optimizer, converter=convert)\n"
               "updater.iters_per_epoch = chainer_iters_per_epoch(train_iter)\n",
               "# ported from chainer\nfrom mylib import training\n"
               "updater = training.StandardUpdater(it, opt, converter=convert)\n")),
    Rule("PT132", "--trainer ppe: an extensions.Evaluator with a converter or an iterator of the program's own is the "
         "written-in ChainerEvaluator (ppe's Evaluator with Chainer 1.24's evaluate(): reset() or a shallow copy of "
         "the iterator, each batch through the converter with the device, the mean of the reports) on the Chainer "
         "iterator (a SerialIterator: ChainerSerialIterator)",
         before=_HEAD + "optimizer = chainer.optimizers.SGD()\noptimizer.setup(model)\n"
         "train_iter = chainer.iterators.SerialIterator(train, 10)\n"
         "test_iter = chainer.iterators.SerialIterator(test, 10, repeat=False, shuffle=False)\n"
         "updater = training.StandardUpdater(train_iter, optimizer, converter=convert)\n"
         "trainer = training.Trainer(updater, (5, 'epoch'))\n"
         "trainer.extend(extensions.Evaluator(test_iter, model, converter=convert))\ntrainer.run()\n",
         after="import copy\nimport math\nimport numpy\nimport torch\nimport pytorch_pfn_extras as ppe\n\n\n" +
         SERIAL_ITERATOR + "\n\n" + CONCAT_EXAMPLES + "\n\n" + STANDARD_UPDATER_CLASS + "\n\n" + EVALUATOR_CLASS +
         "\n\noptimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n"
         "train_iter = ChainerSerialIterator(train, 10)\n"
         "test_iter = ChainerSerialIterator(test, 10, repeat=False, shuffle=False)\n"
         "updater = ChainerStandardUpdater(train_iter, optimizer, converter=convert)\n"
         "updater.targets = {'main': model}\n"
         "trainer = ppe.training.ExtensionsManager(updater.targets, updater.get_all_optimizers(), 5, "
         "iters_per_epoch=math.ceil(len(train) / 10), state_objects={'updater': updater})\n"
         "trainer.extend(ChainerEvaluator(test_iter, model, converter=convert))\n" + _MANAGER_LOOP,
         target="torch", options=PPE,
         noop=("# ported from chainer\ntrainer.extend(ChainerEvaluator(test_iter, model, converter=convert))\n",
               "# ported from chainer\nfrom mylib import extensions\n"
               "trainer.extend(extensions.Evaluator(test_iter, model, converter=convert))\n")),
)

SERIAL = ("chainer.iterators.SerialIterator",)
MULTIPROCESS = ("chainer.iterators.MultiprocessIterator",
                "chainer.iterators.multiprocess_iterator.MultiprocessIterator")
STANDARD_UPDATER = ("chainer.training.StandardUpdater", "chainer.training.updaters.StandardUpdater",
                    "chainer.training.updater.StandardUpdater",
                    "chainer.training.updaters.standard_updater.StandardUpdater")
PARALLEL_UPDATER = ("chainer.training.ParallelUpdater", "chainer.training.updaters.ParallelUpdater",
                    "chainer.training.updater.ParallelUpdater",
                    "chainer.training.updaters.parallel_updater.ParallelUpdater")
UPDATER_BASES = STANDARD_UPDATER + ("chainer.training.Updater", "chainer.training.updater.Updater",
                                    "chainer.training.ParallelUpdater", "chainer.training.updaters.ParallelUpdater")
TRAINER = ("chainer.training.Trainer", "chainer.training.trainer.Trainer")
EXTENSIONS = "chainer.training.extensions."
EVALUATOR = "chainer.training.extensions.Evaluator"
REPORT = ("chainer.report", "chainer.reporter.report")
MAKE_EXTENSION = ("chainer.training.make_extension",)
EXTENSION_BASE = ("chainer.training.Extension", "chainer.training.extension.Extension")
PRIORITIES = ("PRIORITY_WRITER", "PRIORITY_EDITOR", "PRIORITY_READER")
TRIGGERS = ("IntervalTrigger", "ManualScheduleTrigger", "MinValueTrigger", "MaxValueTrigger")
LOAD_SAVE = ("chainer.serializers.load_npz", "chainer.serializers.save_npz",
             "chainer.serializers.npz.load_npz", "chainer.serializers.npz.save_npz")
# Chainer extension -> (Chainer 1.24's parameters in order, renamed keywords, parameters this rule does not
# convert, with why). ppe's parameters come in the same order (checked in 0.9.0), so positional
# arguments stay where they are.
STANDARD = {
    "LogReport": (["keys", "trigger", "postprocess", "log_name"], {"log_name": "filename"}, {}),
    "PrintReport": (["entries", "log_report", "out"], {}, {}),
    "ProgressBar": (["training_length", "update_interval", "bar_length", "out"], {}, {}),
    "PlotReport": (["y_keys", "x_key", "trigger", "postprocess", "file_name", "marker", "grid"],
                   {"file_name": "filename"}, {}),
    "snapshot": (["savefun", "filename", "trigger"], {}, {
        "savefun": "Chainer's save function writes .npz; ppe's snapshot saves with torch.save",
        "trigger": "ppe's snapshot() takes no trigger: pass it to extend(..., trigger=...)"}),
    "snapshot_object": (["target", "filename", "savefun", "trigger"], {}, {
        "savefun": "Chainer's save function writes .npz; ppe's snapshot_object saves the state_dict with torch.save",
        "trigger": "ppe's snapshot_object() takes no trigger: pass it to extend(..., trigger=...)"}),
    "observe_value": (["observation_key", "target_func"], {}, {}),
}
UNCONVERTED = {
    "LinearShift": "extensions.LinearShift: step a torch.optim.lr_scheduler.LambdaLR with the linear schedule in a "
                   "ppe.training.extensions.LRScheduler by hand",
}
# Chainer's optimizers by the attribute ExponentialShift may shift: torch's lr (Adam's alpha is torch's lr; the
# written-in RMSpropGraves and NesterovAG apply their lr to new gradients only, as Chainer's).
SHIFTABLE = {"chainer.optimizers.Adam": "alpha", "chainer.optimizers.SGD": "lr", "chainer.optimizers.AdaGrad": "lr",
             "chainer.optimizers.RMSprop": "lr", "chainer.optimizers.RMSpropGraves": "lr",
             "chainer.optimizers.NesterovAG": "lr", "chainer.optimizers.MomentumSGD": "lr"}
# Chainer's MomentumSGD applies a new lr to new gradients only (v = momentum * v - lr * grad; param += v),
# torch.optim.SGD to its whole momentum buffer (buf = momentum * buf + grad; param -= lr * buf): the scheduler
# below rescales the buffer by old / new lr when it shifts one (then -lr * buf is Chainer's v again).
RESCALED = {"chainer.optimizers.MomentumSGD"}
SHIFT_CLASS = "ChainerExponentialShift"
# Chainer 1.24's ExponentialShift (training/extensions/exponential_shift.py): called once before training and
# then at its trigger, the t-th call (t = 0 before training) sets the attribute to init * rate ** t (init: its
# value at the first call unless given), held at target once past it (rate > 1: value / target > 1; else
# value / target < 1). A torch scheduler computes the same: built (its step 0) where the extension is, its
# k-th step() sets the lr to init * rate ** k, in Chainer's float arithmetic.
EXPONENTIAL_SHIFT = '''class ChainerExponentialShift(torch.optim.lr_scheduler.LRScheduler):
    """Chainer's ExponentialShift of an optimizer's lr: the k-th step sets it to init * rate ** k (init: the lr
    when the scheduler is built, unless given), held at target once past it. Chainer's MomentumSGD applies a new
    lr to new gradients only, torch's SGD to its whole momentum buffer, so the buffer is rescaled by old / new."""

    def __init__(self, optimizer, rate, init=None, target=None):
        if rate < 0:
            raise ValueError('ExponentialShift does not support negative rate')
        self.rate, self.init, self.target = rate, init, target
        super().__init__(optimizer)

    def get_lr(self):
        lrs = []
        for base in self.base_lrs:
            value = (base if self.init is None else self.init) * self.rate ** self.last_epoch
            if self.target is not None and (value / self.target > 1 if self.rate > 1 else value / self.target < 1):
                value = self.target
            lrs.append(value)
        return lrs

    def step(self, epoch=None):
        old = [group['lr'] for group in self.optimizer.param_groups]
        super().step(epoch)
        if not isinstance(self.optimizer, torch.optim.SGD):
            return
        for group, last in zip(self.optimizer.param_groups, old):
            # (an optimizer keeping 'chainer_lr' rescales its buffer itself)
            if group['lr'] != last and group['lr'] != 0 and 'chainer_lr' not in group:
                for p in group['params']:
                    buffer = self.optimizer.state[p].get('momentum_buffer')
                    if buffer is not None:
                        buffer.mul_(last / group['lr'])
'''

register(Rule(
    "PT102", "--trainer ppe: ExponentialShift with init or target, or of a MomentumSGD's lr, is ppe's LRScheduler "
    "stepping ChainerExponentialShift (written into the file): Chainer's init * rate**t held at target, the "
    "momentum buffer rescaled so a new lr applies to new gradients only",
    before="import chainer\nfrom chainer.training import extensions\n\n"
    "optimizer = chainer.optimizers.MomentumSGD(0.1)\noptimizer.setup(model)\n"
    "shift = extensions.ExponentialShift('lr', 0.5, target=0.001, optimizer=optimizer)\n",
    after="import torch\nimport pytorch_pfn_extras as ppe\n\n\n" + EXPONENTIAL_SHIFT +
    "\n\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)\n"
    "shift = ppe.training.extensions.LRScheduler(ChainerExponentialShift(optimizer, 0.5, target=0.001), "
    "trigger=(1, 'iteration'))\n",
    target="torch", options=PPE,
    noop=("# ported from chainer\nimport pytorch_pfn_extras as ppe\n"
          "shift = ppe.training.extensions.LRScheduler(ChainerExponentialShift(optimizer, 0.5, target=0.001))\n",
          "# ported from chainer\nfrom mylib import extensions\n"
          "shift = extensions.ExponentialShift('lr', 0.5, target=0.001)\n")))
# what a Trainer's attributes are on the ExtensionsManager that keeps its name
MANAGER_ATTRIBUTES = ("out", "observation", "elapsed_time", "get_extension", "reporter", "extend", "run")
UPDATER_ATTRIBUTES = ("iteration", "epoch", "epoch_detail")
# methods of an updater of the program's own that the written-in base does not call, with what to do
UPDATER_OWN = {
    "serialize": "the manager's snapshot saves the updater's state_dict() (its iteration and iterator positions); "
                 "write what serialize kept into state_dict()/load_state_dict() by hand",
    "connect_trainer": "no manager calls connect_trainer; call it after building the ExtensionsManager by hand",
    "finalize": "no manager calls the updater's finalize(); call it after the loop by hand",
}
_UPDATER_FORMAT = re.compile(r"(\{[^{}.:!]*)\.updater\.(iteration|epoch_detail|epoch)(?=[:!}])")


class _Unsupported(Exception):
    def __init__(self, statement, message, rule="PT042"):
        super().__init__(message)
        self.statement, self.rule = statement, rule


class _Scan(cst.CSTVisitor):
    """Every block of statements with the scope (function or module) it is in; the functions that receive
    the manager (make_extension functions, an Extension class's methods)."""

    def __init__(self, ppe: "PpeTrainer"):
        super().__init__()
        self.ppe = ppe
        self.scopes: list[cst.CSTNode] = []
        self.blocks: list[tuple[list, cst.CSTNode]] = []
        self.classes: list[cst.ClassDef] = []

    def visit_Module(self, node):
        self.scopes.append(node)
        self.blocks.append((list(node.body), node))

    def visit_ClassDef(self, node):
        self.classes.append(node)

    def leave_ClassDef(self, node):
        self.classes.pop()

    def visit_FunctionDef(self, node):
        self.scopes.append(node)
        params = [p.name.value for p in node.params.params]
        if any(isinstance(d.decorator, cst.Call) and self.ppe.callee(d.decorator) in MAKE_EXTENSION
               for d in node.decorators) and params:
            self.ppe.manager_params[id(node)] = params[0]
        elif self.classes and self.ppe.is_extension_class(self.classes[-1]) and len(params) >= 2 and \
                node.name.value in ("__call__", "initialize", "finalize", "on_error"):
            self.ppe.manager_params[id(node)] = params[1]

    def leave_FunctionDef(self, node):
        self.scopes.pop()

    def visit_IndentedBlock(self, node):
        self.blocks.append((list(node.body), self.scopes[-1]))


class _Uses(cst.CSTVisitor):
    """Where a name is used in a scope: for each use, the nodes above it (innermost first); functions and
    lambdas that bind the name themselves are another variable."""

    def __init__(self, name: str):
        super().__init__()
        self.name, self.stack, self.found = name, [], []

    def on_visit(self, node):
        if isinstance(node, cst.Name) and node.value == self.name:
            parent = self.stack[-1] if self.stack else None
            if not (isinstance(parent, cst.Attribute) and parent.attr is node) and \
                    not (isinstance(parent, cst.Arg) and parent.keyword is node):
                self.found.append(list(reversed(self.stack)))
        binds = isinstance(node, (cst.FunctionDef, cst.Lambda)) and bool(self.stack) and \
            any(p.name.value == self.name for p in node.params.params)
        self.stack.append(node)  # (on_leave comes for a node whose children are skipped too)
        return not binds

    def on_leave(self, node):
        self.stack.pop()



class _Bindings(cst.CSTVisitor):
    """The values a function binds a name to: the value of each ``name = value``, None for any other binding."""

    def __init__(self, name: str):
        super().__init__()
        self.name, self.found = name, []

    def visit_Assign(self, node):
        for target in node.targets:
            if isinstance(target.target, cst.Name) and target.target.value == self.name:
                self.found.append(node.value if len(node.targets) == 1 else None)
            elif any(isinstance(n, cst.Name) and n.value == self.name for n in _names(target.target)):
                self.found.append(None)

    def visit_AugAssign(self, node):
        if code(node.target) == self.name:
            self.found.append(None)

    def visit_For(self, node):
        if any(n.value == self.name for n in _names(node.target)):
            self.found.append(None)

    def visit_AsName(self, node):
        if any(n.value == self.name for n in _names(node.name)):
            self.found.append(None)

    def visit_Param(self, node):
        if node.name.value == self.name:
            self.found.append(None)

    def visit_CompFor(self, node):
        if any(n.value == self.name for n in _names(node.target)):
            self.found.append(None)


def _names(node) -> list[cst.Name]:
    if isinstance(node, cst.Name):
        return [node]
    if isinstance(node, (cst.Tuple, cst.List)):
        return [n for e in node.elements for n in _names(e.value)]
    if isinstance(node, cst.StarredElement):
        return _names(node.value)
    return []


class PpeTrainer:
    """The ppe form of TrainerRules (``--trainer ppe``): the pass calls it from its visits."""

    def __init__(self, rules):
        self.r = rules
        self.skip: set[int] = set()  # statements of Trainer blocks left as they were (marked)
        self.unconverted: set[str] = set()  # names of Trainers left as they were
        self.trainers: dict[str, dict] = {}  # converted Trainer name -> what its block holds
        self.calls: dict[int, str] = {}  # id(original call) -> its replacement, decided by a block
        self.manager_params: dict[int, str] = {}  # id(function) -> its parameter that holds the manager
        self.classifier_reports = False
        self.graphs_written: set[int] = set()  # id(dump_graph call) whose graph the loop writes (PT092)
        self.graph_problems: dict[int, str] = {}  # id(dump_graph call) -> why the loop does not write it
        self.helpers: dict[str, str] = {}  # definitions written into the file (PT100, PT101), in order of need
        self.renamed: dict[int, str] = {}  # id(original call) -> the name its callee becomes (PT131, PT132)
        self.chainer_evaluator_calls: set[int] = set()  # id(Evaluator call) that becomes ChainerEvaluator (PT132)

    # facts ----------------------------------------------------------------------------------------

    def callee(self, call: cst.Call) -> str | None:
        return self.r.callee(call)

    def start(self, module: cst.Module) -> None:
        tree = self.r._tree
        aliases = import_map(tree)
        self.optimizer_kinds: dict[str, set[str]] = {}
        for n in ast.walk(tree) if tree is not None else ():
            if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call):
                kind = public_name(qualified_name(n.value.func, aliases) or "")
                for target in n.targets:
                    if isinstance(target, ast.Name):
                        self.optimizer_kinds.setdefault(target.id, set()).add(kind)
        scan = _Scan(self)
        module.visit(scan)
        for statements, scope in scan.blocks:
            self._block(statements, scope)

    def _class_bases(self, name: str, seen=None) -> set[str]:
        """The qualified (or the program's own) bases of a class of the program, through its own classes."""
        seen = seen if seen is not None else set()
        found = set()
        for base in self.r.project.class_bases.get(name, ()):
            base = public_name(base) if base.startswith("chainer.") else base
            found.add(base)
            if base not in seen and base in self.r.project.class_bases:
                seen.add(base)
                found |= self._class_bases(base, seen)
        return found

    def is_extension_class(self, node: cst.ClassDef) -> bool:
        return any(self.r.qualified(b.value) in EXTENSION_BASE for b in node.bases) or \
            bool(self._class_bases(node.name.value) & set(EXTENSION_BASE))

    def _evaluator_class(self, call: cst.Call) -> str | None:
        """'chainer' for extensions.Evaluator, 'subclass' for a class of the program deriving from it."""
        if self.callee(call) == EVALUATOR:
            return "chainer"
        name = code(call.func).split(".")[-1] if isinstance(call.func, (cst.Name, cst.Attribute)) else ""
        return "subclass" if EVALUATOR in self._class_bases(name) else None

    def _updater_class(self, call: cst.Call) -> str | None:
        if self.callee(call) in STANDARD_UPDATER:
            return "standard"
        if self.callee(call) in PARALLEL_UPDATER:
            return "parallel"
        name = code(call.func).split(".")[-1] if isinstance(call.func, (cst.Name, cst.Attribute)) else ""
        return "subclass" if self._class_bases(name) & set(UPDATER_BASES) else None

    def _program_iterator(self, call: cst.Call) -> bool:
        """A call of an iterator class of the program's own (deriving from chainer.dataset.Iterator)."""
        name = code(call.func).split(".")[-1] if isinstance(call.func, (cst.Name, cst.Attribute)) else ""
        return bool(self._class_bases(name) & set(ITERATOR_BASES))

    def ppe(self) -> str:
        spelling = spell_with(self.r.aliases, "pytorch_pfn_extras")
        if spelling is None:
            self.r.ctx.imports.add(("pytorch_pfn_extras", None, "ppe"))
            self.r.aliases["pytorch_pfn_extras"] = spelling = "ppe"
        return spelling

    def _skipped(self) -> bool:
        return any(id(s) in self.skip for s in self.r._statements)

    # blocks ---------------------------------------------------------------------------------------

    def _kind(self, statement):
        """('iterator' | 'updater' | 'trainer' | 'extend' | 'run' | None, the call, the assigned name)."""
        if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
            return None, None, None
        small = statement.body[0]
        if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call) and len(small.targets) == 1 and \
                isinstance(small.targets[0].target, cst.Name):
            call, callee = small.value, self.callee(small.value)
            kind = "iterator" if callee in SERIAL + MULTIPROCESS or self._program_iterator(call) else \
                "trainer" if callee in TRAINER else "updater" if self._updater_class(call) else None
            return kind, call, small.targets[0].target.value
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call) and \
                isinstance(small.value.func, cst.Attribute) and isinstance(small.value.func.value, cst.Name):
            method = small.value.func.attr.value
            if method in ("extend", "run") and self.r._is_trainer_name(small.value.func.value.value):
                return method, small.value, small.value.func.value.value
        return None, None, None

    def _block(self, statements, scope) -> None:
        runs = [s for s in statements if self._kind(s)[0] == "run"]
        if not runs:
            return
        try:
            self._convert(statements, runs, scope)
        except _Unsupported as problem:
            for statement in statements:
                kind, _, name = self._kind(statement)
                if kind is None:
                    continue
                if kind in ("trainer", "extend", "run"):
                    self.unconverted.add(name)
                self.skip.add(id(statement))
                own = statement is problem.statement
                self._mark(statement, problem.rule if own else "PT042", str(problem) if own else
                           f"part of a Trainer that is not converted to pytorch-pfn-extras: {problem}")
            if problem.statement not in statements:
                self._mark(problem.statement, problem.rule, str(problem))

    def _todo(self, node, rule: str, message: str) -> None:
        """A marker at the current statement, unless an earlier run left one of this rule there (its message
        may differ: the Trainer it was part of is converted by now)."""
        if any(m.startswith(f"{TODO_PREFIX}({rule})") for m in self.r.existing_markers()):
            self.r.report(node, rule, Severity.ERROR, message)
        else:
            self.r.todo(node, rule, message)

    def _mark(self, statement, rule: str, message: str) -> None:
        message = " ".join(message.split())
        self.r.report(statement, rule, Severity.ERROR, message)
        comments = [line.comment.value for line in getattr(statement, "leading_lines", ()) if line.comment]
        trailing = getattr(statement, "trailing_whitespace", None)
        if trailing is not None and trailing.comment is not None:
            comments.append(trailing.comment.value)
        if not any(c.startswith(f"{TODO_PREFIX}({rule})") for c in comments):  # marked by an earlier run
            self.r.edits(statement).todos.append(f"{TODO_PREFIX}({rule}): {message}")

    def _uses(self, scope, name: str) -> list[list[cst.CSTNode]]:
        visitor = _Uses(name)
        scope.visit(visitor)
        return visitor.found

    def _convert(self, statements, runs, scope) -> None:
        if len(runs) != 1:
            raise _Unsupported(runs[1], "more than one trainer.run() in one block")
        run = runs[0]
        kinds = {id(s): self._kind(s) for s in statements}
        of = lambda wanted: [(s, call, name) for s in statements for kind, call, name in [kinds[id(s)]]  # noqa: E731
                             if kind == wanted]
        trainer_name = kinds[id(run)][2]
        trainers = [t for t in of("trainer") if t[2] == trainer_name]
        if len(trainers) != 1:
            raise _Unsupported(run, "the Trainer must be built (once) in the block that runs it")
        trainer_statement, trainer_call, _ = trainers[0]
        values = bind_arguments(trainer_call, ["updater", "stop_trigger", "out"])
        if values is None or not isinstance(values.get("updater"), cst.Name):
            raise _Unsupported(trainer_statement, "training.Trainer with arguments other than (updater, "
                               "stop_trigger, out)")
        stop, unit = _interval(values.get("stop_trigger"))
        if stop is None:
            raise _Unsupported(trainer_statement, "a stop trigger other than (n, 'epoch') or (n, 'iteration'): "
                               "pass it to ExtensionsManager(stop_trigger=...) and end the loop by hand")
        out = values.get("out")
        updaters = [u for u in of("updater") if u[2] == values["updater"].value]
        if len(updaters) != 1:
            raise _Unsupported(trainer_statement, f"`{values['updater'].value}` is not a StandardUpdater (or an "
                               "updater of the program's own) built once in the block that runs the Trainer: a "
                               "ParallelUpdater's or another updater's step is written by hand (ppe runs one "
                               "process; torch.nn.parallel spreads a model over devices)")
        updater_statement, updater_call, updater_name = updaters[0]
        if self._updater_class(updater_call) == "subclass" or self._updater_class(updater_call) == "standard" and \
                self._keeps_chainer_iterators(updater_call, of, trainer_name):
            return self._convert_custom(scope, statements, of, run, trainer_name, trainer_statement, trainer_call,
                                        stop, unit, out, updater_statement, updater_call, updater_name)
        parts = None  # ParallelUpdater: its devices' names, 'main' first, and the main device
        if self._updater_class(updater_call) == "parallel":
            args = bind_arguments(updater_call, ["iterator", "optimizer", "converter", "models", "devices",
                                                 "loss_func"])
            parts = _parallel_devices(args.get("devices") if args is not None else None)
            if args is None or set(args) - {"iterator", "optimizer", "devices", "loss_func"} or parts is None:
                raise _Unsupported(updater_statement, "a ParallelUpdater with a converter, models, or devices other "
                                   "than a dict literal with a 'main' key: write its update step by hand")
            args["device"] = parts[1]
        else:
            args = bind_arguments(updater_call, ["iterator", "optimizer", "converter", "device", "loss_func"])
        if args is None or set(args) - {"iterator", "optimizer", "device", "devices", "loss_func"} or \
                not isinstance(args.get("iterator"), cst.Name) or not isinstance(args.get("optimizer"), cst.Name):
            raise _Unsupported(updater_statement, "a StandardUpdater with iterators or optimizers given as a dict "
                               "(or arguments not matched): write its update step by hand")
        loss_func = args.get("loss_func")
        if loss_func is not None and not isinstance(loss_func, (cst.Name, cst.Attribute)):
            raise _Unsupported(updater_statement, "a loss_func that is not a name: bind it to one first")
        optimizer = args["optimizer"].value
        models = self.r._setups.get(optimizer, set())
        if len(models) != 1:
            raise _Unsupported(updater_statement, f"the model `{optimizer}` was set up with is not known (one "
                               f"`{optimizer}.setup(model)` in this file)")
        model = next(iter(models))
        device = args.get("device")
        device = None if device is None or code(device) in ("None", "-1") else code(device)
        # the iterators: the updater's repeats, an Evaluator's does not
        train_iter = args["iterator"].value
        iterators = self._block_iterators(of, trainer_name, train_iter, own=False)
        if train_iter not in iterators:
            raise _Unsupported(updater_statement, f"the iterator `{train_iter}` is not built in this block")
        loaders = [self._loader(statement, call, repeats=name == train_iter)
                   for name, (statement, call) in iterators.items()]
        self._check_uses(scope, iterators, trainer_name, updater_name, train_iter, statements)
        dumps = self._dumps([s for s in of("extend") if s[2] == trainer_name], model, loss_func, scope)
        # what the block becomes
        for statement, *_ in dumps:
            self.r._remove(statement)
        for convert in loaders:
            convert()
        ppe = self.ppe()
        torch = self.r.need_import("torch")
        facts = {"model": model, "optimizer": optimizer, "device": device, "device_name": None}
        if device is not None:
            facts["device_name"] = _free_name(self.r._tree, "device")
            if re.fullmatch(r"-?\d+", device):  # (a literal: its device)
                text = f"{facts['device_name']} = " + (f"{torch}.device('cuda', {device})\n" if int(device) >= 0
                                                        else f"{torch}.device('cpu')\n")
            else:
                text = f"{facts['device_name']} = {torch}.device('cuda', {device}) if {device} >= 0 else " \
                    f"{torch}.device('cpu')\n"
            if parts is not None:  # (Chainer's ParallelUpdater moved the model to the main device itself)
                text += f"{model}.to({facts['device_name']})\n"
            self.r._replace(updater_statement, text)
        else:
            self.r.remove(updater_statement)
        manager = [model, optimizer]
        if unit == "epoch":
            manager.append(stop)
        else:  # max_epochs only makes the default stop trigger
            manager += ["None", f"stop_trigger=({stop}, 'iteration')"]
        manager.insert(3, f"iters_per_epoch=len({train_iter})")
        if out is not None:
            manager.append(f"out_dir={code(out)}")
        self.calls[id(trainer_call)] = f"{ppe}.training.ExtensionsManager({', '.join(manager)})"
        self.trainers[trainer_name] = facts
        step = [f"batch = [a.to({facts['device_name']}) for a in batch]"] if device is not None else []
        loss_of = code(loss_func) if loss_func is not None else model
        if parts is None:
            step += [f"{optimizer}.{ZERO_GRAD}", f"loss = {loss_of}(*batch)", "loss.backward()",
                     f"{optimizer}.step()"]
        else:
            n = len(parts[0])
            step += [f"{optimizer}.{ZERO_GRAD}",
                     f"# ParallelUpdater: the devices {', '.join(parts[0])} each took one example in {n} "
                     f"(batch[i::{n}]) and",
                     "# the gradients of their losses were summed; the parts run here one after another, the main",
                     "# device's last (its loss is the one reported as main/loss, and the one left in `loss`)",
                     f"for part in reversed(range({n})):",
                     f"    loss = {loss_of}(*[a[part::{n}] for a in batch])", "    loss.backward()",
                     f"{optimizer}.step()"]
        loop = [f"# {trainer_name}.run(): the {'Parallel' if parts is not None else 'Standard'}Updater's step for "
                "each batch, the extensions after it",
                f"while not {trainer_name}.stop_trigger:", f"    for batch in {train_iter}:",
                f"        with {trainer_name}.run_iteration():", *[f"            {line}" for line in step]]
        if dumps:  # extensions.dump_graph: after the first iteration's update, as its trigger had it
            self.r._graph_dumped = True
            loop.append(f"        if {trainer_name}.iteration == 1:")
            join = f"{self.r.need_import('os')}.path.join"
        for statement, extension, filename, styles in dumps:
            loop += [f"            {c}" for c in self.r._comments[id(statement)]]
            loop.append("            # extensions.dump_graph: the graph of the first iteration's loss")
            loop += [f"            {line}" for line in dump_graph_lines(join, f"{trainer_name}.out", filename, styles)]
            whose = "the Classifier's, which it reported as 'main/loss'" if model in self.r._classifiers else \
                f"what `{model}` returns: its forward reports that variable as 'loss'"
            self.r.warn(extension, "PT092", f"extensions.dump_graph('main/loss') is written into the loop: after the "
                        f"first iteration, the graph of its loss ({whose}) "
                        f"goes to os.path.join({trainer_name}.out, {filename}), drawn by {HELPER} (written into the "
                        f"file) from torch's autograd graph in Chainer's DOT form (ppe's reporter keeps no graph); "
                        f"{DIFFERENCE} (Chainer 7's DumpGraph also rendered a .png where Graphviz's dot was installed)")
        if unit == "iteration":  # the Trainer stopped in the middle of an epoch
            loop += [f"        if {trainer_name}.stop_trigger:", "            break"]
        self.r._replace(run, "\n".join(loop) + "\n")
        self.r.info(trainer_call, "PT042", f"training.Trainer is a pytorch-pfn-extras ExtensionsManager of `{model}` "
                    f"and `{optimizer}` (the reporter's 'main', as the Trainer's), {stop} {unit}s of "
                    f"len({train_iter}) iterations")
        if parts is None:
            self.r.info(updater_call, "PT042", "the StandardUpdater's step (zero_grad, the loss of the batch, "
                        "backward, step) is written out in the loop" + (" after moving the batch to the device"
                                                                        if device is not None else ""))
        else:
            self._parallel_findings(updater_call, parts, model)
        self.r.info(run, "PT042", f"{trainer_name}.run() is the loop over the batches that runs each step in "
                    f"{trainer_name}.run_iteration(), which runs the extensions after it")
        if model in self.r._classifiers:
            self.classifier_reports = True
            self.r.info(trainer_call, "PT042", "the Classifier written for L.Classifier reports its loss and "
                        "accuracy with ppe.reporting.report, as L.Classifier did ('main/loss', 'main/accuracy')")
        elif loss_func is None:
            self.r.warn(trainer_call, "PT042", f"what `{model}` reports is what its forward passes to "
                        "chainer.report (ppe.reporting.report): check that the keys PrintReport and the triggers "
                        "read are still reported")

    def _parallel_findings(self, updater_call, parts, model: str) -> None:
        names, main = parts
        others = names[1:]
        reported = sorted({n.value for n in ast.walk(self.r._tree) if isinstance(n, ast.Constant) and
                           isinstance(n.value, str) and any(n.value.startswith(f"{o[1:-1]}/") for o in others)}) \
            if self.r._tree is not None else []
        self.r.warn(updater_call, "PT130", f"ParallelUpdater: the step is written out in the loop with the same "
                    f"numbers (the batch split as batch[i::{len(names)}], the gradients of the parts' losses summed, "
                    f"one update), but the parts run one after another on the main device ({code(main)}), where Chainer "
                    f"ran a copy of `{model}` on each device; for speed on several GPUs, spread it with "
                    "torch.nn.parallel.DistributedDataParallel. A BatchNormalization's running statistics are "
                    "updated by every part here (Chainer's main model: by the main part only)")
        if reported:
            self.r.warn(updater_call, "PT130", f"{', '.join(map(repr, reported))}: the other devices' models "
                        "reported under their own names in Chainer; here only the main part's report is kept "
                        "(main/...), so these keys are not reported")

    def _dumps(self, extends, model: str, loss_func, scope) -> list[tuple]:
        """The extend(extensions.dump_graph(...)) statements the loop writes: (statement, the dump_graph call, file
        name, styles); why the others are not is kept for their markers."""
        dumps = []
        for statement, call, _ in extends:
            args = bind_arguments(call, ["extension", "name", "trigger", "priority", "invoke_before_training"])
            extension = args.get("extension") if args is not None else None
            if not isinstance(extension, cst.Call) or self.callee(extension) not in DUMP_GRAPH:
                continue
            problem, filename, styles = dump_graph_arguments(extension)
            if problem is None and set(args) - {"extension", "name", "priority"}:
                problem = "a trigger of its own (Chainer's dump_graph draws at the first iteration only)"
            if problem is None and (loss_func is not None or model not in self.r._classifiers and
                                    not self._reports_its_loss(model, scope)):
                problem = "'main/loss' is what the model reports, not known to be the loss the loop computes (ppe's " \
                    "reporter keeps no graph; a model built with L.Classifier reports its loss, and so does one whose " \
                    "forward returns the variable it reports as 'loss')"
            if problem is not None:
                self.graph_problems[id(extension)] = problem
            else:
                self.graphs_written.add(id(extension))
                dumps.append((statement, extension, filename, styles))
        return dumps

    def _reports_its_loss(self, model: str, scope) -> bool:
        """Whether every class the block's function builds `model` from (`model = Net()`, or `model = archs[key]()`
        of a dict of classes) returns from its forward the variable it reports as 'loss' with itself as the
        observer: then 'main/loss' is the loss the loop's `loss = model(*batch)` holds. Classes are followed into
        the program's modules beside the file, through delegation to a base's __call__."""
        tree = self.r._tree

        def bound(name):
            bindings = _Bindings(name)
            scope.visit(bindings)
            values = bindings.found
            try:
                return [ast.parse(code(v), mode="eval").body for v in values] if values and None not in values \
                    else []
            except SyntaxError:
                return []
        values = bound(model)
        if tree is None or not values:
            return False
        classes = []
        for value in values:
            if not isinstance(value, ast.Call):
                return False
            if isinstance(value.func, ast.Subscript) and isinstance(value.func.value, ast.Name):
                tables = bound(value.func.value.id)
                if not tables or not all(isinstance(t, ast.Dict) and None not in t.keys for t in tables):
                    return False
                classes += [v for t in tables for v in t.values]
            else:
                classes.append(value.func)
        program = ProgramClasses(tree, self.r.ctx.path, self.r.ctx.source)
        return all(_class_reports_loss(program, c, import_map(tree), None, set()) for c in classes)

    def _loader(self, statement, call: cst.Call, repeats: bool):
        """A function that converts a Chainer iterator to a DataLoader (raises here if it cannot)."""
        multiprocess = self.callee(call) in MULTIPROCESS
        names = ["dataset", "batch_size", "repeat", "shuffle"] + \
            (["n_processes", "n_prefetch", "shared_mem"] if multiprocess else [])
        args = bind_arguments(call, names)
        if args is None or "batch_size" not in args:
            raise _Unsupported(statement, f"a {code(call.func)} with these arguments")
        repeat = code(args["repeat"]) if "repeat" in args else "True"
        if repeat not in ("True", "False") or (repeat == "True") != repeats:
            raise _Unsupported(statement, "an iterator that repeats must feed the updater, one that does not an "
                               "Evaluator")
        shuffle = code(args["shuffle"]) if "shuffle" in args and code(args["shuffle"]) != "None" else "True"

        def convert():
            torch = self.r.need_import("torch")
            text = f"{torch}.utils.data.DataLoader({code(args['dataset'])}, batch_size={code(args['batch_size'])}, " \
                   f"shuffle={shuffle}"
            if multiprocess:  # Chainer's n_processes=None is the number of CPUs; n_prefetch, shared_mem: buffers
                workers = code(args["n_processes"]) if "n_processes" in args else \
                    f"{self.r.need_import('os')}.cpu_count()"
                text += f", num_workers={workers}"
            self.calls[id(call)] = text + ")"
            self.r.info(call, "PT042", f"{code(call.func)} is a DataLoader (shuffle={shuffle})")
            if repeats:
                self.r.warn(call, "PT042", "a repeating Chainer iterator filled the last batch of an epoch with the "
                            "first examples of the next when the batch size does not divide the data set; the "
                            "DataLoader yields a smaller last batch, and the manager's epoch is len(loader) "
                            "iterations" + ("" if shuffle == "False" else
                                            " (and it shuffles with torch's generator, not NumPy's)"))
        return convert

    def _check_uses(self, scope, iterators, trainer_name, updater_name, train_iter, statements,
                    custom: cst.Call | None = None) -> None:
        """Every use of the Trainer, the updater and the iterators is one the manager form keeps (``custom``: the
        call of an updater of the program's own, which may take its iterator anywhere)."""
        statement_of = {name: s for name, (s, _) in iterators.items()}
        for uses in self._uses(scope, updater_name):
            if not (_assigned(uses) or _is_argument_of(uses, lambda call: self.callee(call) in TRAINER)):
                raise _Unsupported(_statement_of(uses, statements) or statements[0],
                                   f"`{updater_name}` is used beyond the Trainer")
        for name in iterators:
            for uses in self._uses(scope, name):
                evaluator = _is_argument_of(uses, lambda call: self._evaluator_class(call) is not None, position=0)
                updater = name == train_iter and (
                    _is_argument_of(uses, lambda call: call is custom) if custom is not None else
                    _is_argument_of(uses, lambda call: self._updater_class(call), position=0))
                if not (_assigned(uses) or evaluator or updater):
                    raise _Unsupported(statement_of[name], f"`{name}` is used beyond the updater and the "
                                       "Evaluators (a Chainer iterator's next(), epoch, reset(), ...)")
        for statement in statements:
            if self._kind(statement)[0] != "extend":
                continue
            for call in _calls(statement):
                first = _positional(call, 0)
                if self._evaluator_class(call) and first is not None and \
                        (not isinstance(first.value, cst.Name) or first.value.value not in iterators):
                    raise _Unsupported(statement, "an Evaluator whose iterator is not a SerialIterator or "
                                       "MultiprocessIterator built in this block (which become DataLoaders)")
        for uses in self._uses(scope, trainer_name):
            if _assigned(uses) or _is_load_save(uses, self) or _manager_attribute(uses):
                continue
            raise _Unsupported(_statement_of(uses, statements) or statements[0],
                               f"`{trainer_name}` is used as the Trainer in a way the ExtensionsManager does not "
                               "offer (it keeps out, observation, elapsed_time, extend and updater.iteration/"
                               "epoch/epoch_detail/get_optimizer): convert this use by hand")

    # expressions ----------------------------------------------------------------------------------

    def leave_call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if id(original) in self.calls:
            return cst.parse_expression(self.calls[id(original)])
        if id(original) in self.renamed:
            return updated.with_changes(func=cst.Name(self.renamed[id(original)]))
        if self._skipped():
            return updated
        qualified = self.callee(original) or ""
        if qualified in REPORT:
            self.r.info(original, "PT043", f"{code(original.func)} is ppe.reporting.report (the observer's name, "
                        "'main' for the model the manager trains, prefixes the keys as in Chainer)")
            return updated.with_changes(func=cst.parse_expression(f"{self.ppe()}.reporting.report"))
        if qualified in MAKE_EXTENSION:
            return self._make_extension(original, updated)
        if qualified.startswith("chainer.training.") and qualified.split(".")[-1] in TRIGGERS:
            return self._trigger(original, updated, qualified.split(".")[-1])
        if qualified in LOAD_SAVE:
            return self._load_save(original, updated, qualified)
        if self._evaluator_class(original):
            return self._evaluator(original, updated)
        if qualified.startswith(EXTENSIONS) and "." not in qualified[len(EXTENSIONS):]:
            return self._extension(original, updated, qualified[len(EXTENSIONS):])
        if self._is_extend(original) and any(a.keyword is not None and a.keyword.value == "invoke_before_training"
                                             for a in updated.args):
            self.r.info(original, "PT048", "extend(invoke_before_training=...) is ppe's call_before_training=")
            return updated.with_changes(args=[a.with_changes(keyword=cst.Name("call_before_training"))
                                              if a.keyword is not None and a.keyword.value == "invoke_before_training"
                                              else a for a in updated.args])
        func = original.func
        if isinstance(func, cst.Attribute) and func.attr.value == "get_optimizer" and self._updater_of_manager(
                func.value) and len(updated.args) == 1 and updated.args[0].keyword is None:
            receiver = code(updated.func.value.value)
            self.r.info(original, "PT048", "updater.get_optimizer(name) is the manager's optimizers[name]")
            return cst.parse_expression(f"{receiver}.optimizers[{code(updated.args[0].value)}]")
        return updated

    def leave_attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        if self._skipped():
            return updated
        if original.attr.value == "target":
            key = self._updater_optimizer(original.value)
            if key is not None:
                self.r.info(original, "PT100", f"the target of the updater's optimizer {key} is self.targets[{key}], "
                            "the model the manager trains under that name (Chainer's optimizer.target)")
                return cst.parse_expression(f"{self._self_name()}.targets[{key}]")
        if original.attr.value in UPDATER_ATTRIBUTES and self._updater_of_manager(original.value):
            self.r.info(original, "PT048", f"updater.{original.attr.value} is the manager's {original.attr.value}")
            return cst.Attribute(value=updated.value.value, attr=updated.attr)
        if original.attr.value == "target" and isinstance(original.value, cst.Call) and \
                isinstance(original.value.func, cst.Attribute) and original.value.func.attr.value == "get_optimizer" \
                and self._updater_of_manager(original.value.func.value):
            self._todo(original, "PT048", "updater.get_optimizer(name).target: a torch optimizer has no target; use "
                        "the model itself (or the manager's models[name], with `needs_model_state = True` on the "
                        "extension)")
        qualified = self.r.qualified(original) if _dotted(original) else None
        if qualified and qualified.split(".")[-1] in PRIORITIES and qualified.startswith("chainer.training."):
            self.r.info(original, "PT048", f"{qualified.split('.')[-1]} is ppe.training's (the same value)")
            return cst.parse_expression(f"{self.ppe()}.training.{qualified.split('.')[-1]}")
        if qualified == f"{EXTENSIONS}PlotReport.available":
            self.r.info(original, "PT044", "PlotReport.available() is ppe's (whether matplotlib imports)")
            return cst.parse_expression(f"{self.ppe()}.training.extensions.PlotReport.available")
        return updated

    def leave_classdef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        """Base classes: Extension and Evaluator are ppe's; an updater of the program's own is marked."""
        bases = []
        for original_base, base in zip(original.bases, updated.bases):
            qualified = self.r.qualified(original_base.value) if _dotted(original_base.value) else None
            if qualified in EXTENSION_BASE:
                self.r.info(original_base, "PT048", "training.Extension is ppe.training.Extension (called with the "
                            "manager, as Chainer's with the trainer)")
                base = base.with_changes(value=cst.parse_expression(f"{self.ppe()}.training.Extension"))
            elif qualified == EVALUATOR:
                self.r.info(original_base, "PT045", "extensions.Evaluator is ppe.training.extensions.Evaluator "
                            "(evaluate() in evaluation mode and without gradients, get_target, get_iterator)")
                base = base.with_changes(value=cst.parse_expression(f"{self.ppe()}.training.extensions.Evaluator"))
            elif qualified in STANDARD_UPDATER and self.rebases(original):
                base = base.with_changes(value=cst.Name(self._updater_base(original, original_base)))
            elif qualified in UPDATER_BASES and "update_core" in self.r.project.class_methods.get(
                    original.name.value, ()):
                self._todo(original_base, "PT042", f"`{original.name.value}` is an updater whose update_core is "
                            "the training step: pytorch-pfn-extras has no updater; write the step inside `with "
                            "manager.run_iteration():` in the loop over the batches by hand")
            bases.append(base)
        if self.is_extension_class(original):
            for item in original.body.body:
                if isinstance(item, cst.FunctionDef) and item.name.value == "serialize":
                    self._todo(item, "PT048", f"{original.name.value}.serialize(serializer): a ppe extension saves "
                               "and restores its state in state_dict() and load_state_dict(state); write them by hand")
                if isinstance(item, cst.FunctionDef) and item.name.value == "finalize" and \
                        len(item.params.params) < 2:
                    self._todo(item, "PT048", f"{original.name.value}.finalize(self): ppe calls finalize(manager); "
                               "add the parameter")
                if isinstance(item, cst.SimpleStatementLine) and "invoke_before_training" in code(item):
                    self._todo(item, "PT048", f"{original.name.value}.invoke_before_training: ppe reads no such "
                               "attribute; pass call_before_training=True to the manager's extend(), or do the work "
                               "in initialize(manager)")
        return updated.with_changes(bases=bases)

    def finish(self, module: cst.Module) -> cst.Module:
        defined = {s.name.value for s in module.body if isinstance(s, (cst.FunctionDef, cst.ClassDef))}
        for name, text in reversed(list(self.helpers.items())):  # each right after the imports, in order
            if name not in defined:
                module = insert_definition(module, text)
        if not self.classifier_reports:
            return module
        body = []
        for statement in module.body:
            if isinstance(statement, cst.ClassDef) and statement.name.value == "Classifier":
                statement = _reporting_classifier(statement, self.ppe())
            body.append(statement)
        return module.with_changes(body=body)

    # an updater of the program's own (PT100, PT101) ------------------------------------------------

    def rebases(self, node: cst.ClassDef) -> bool:
        """A StandardUpdater subclass with its own update_core: it keeps its body on ChainerStandardUpdater."""
        return any(_dotted(b.value) and self.r.qualified(b.value) in STANDARD_UPDATER for b in node.bases) and \
            any(isinstance(item, cst.FunctionDef) and item.name.value == "update_core" for item in node.body.body)

    def _helper(self, name: str, text: str, modules=("numpy", "torch")) -> str:
        """A definition written into the file once, its modules spelled as this file imports them."""
        if re.search(r"(?<![\w.$])ppe\.", text):
            text = re.sub(r"(?<![\w.$])ppe\.", self.ppe() + ".", text)
        for module in modules:
            if re.search(rf"(?<![\w.$]){module}\.", text):
                text = re.sub(rf"(?<![\w.$]){module}\.", self.r.need_import(module) + ".", text)
        self.helpers.setdefault(name, text)
        return name

    def _updater_base(self, node: cst.ClassDef, base: cst.Arg) -> str:
        methods = {item.name.value for item in node.body.body if isinstance(item, cst.FunctionDef)}
        for method, why in UPDATER_OWN.items():
            if method in methods:
                self._todo(base, "PT100", f"{node.name.value}.{method}: {why}")
        self._helper("chainer_concat_examples", CONCAT_EXAMPLES)
        self._helper(UPDATER_BASE, STANDARD_UPDATER_CLASS)
        self.r.info(base, "PT100", f"`{node.name.value}` keeps its update_core on {UPDATER_BASE} (written into the "
                    "file): Chainer's StandardUpdater without Chainer (get_iterator, get_optimizer, converter = "
                    "concat_examples, device, iteration, epoch; update() runs update_core() and counts the iteration)")
        return UPDATER_BASE

    def _self_name(self) -> str:
        function = next(n for n in reversed(self.r._path) if isinstance(n, cst.FunctionDef))
        return function.params.params[0].name.value

    def _updater_optimizer(self, node) -> str | None:
        """The name (source text of a string) of the optimizer ``node`` is, in a method of a rebased updater:
        ``self.get_optimizer('x')``, ``self._optimizers['x']`` or a local name assigned once from one of them."""
        classes = [n for n in self.r._path if isinstance(n, cst.ClassDef)]
        functions = [n for n in self.r._path if isinstance(n, cst.FunctionDef)]
        if not classes or not functions or not self.rebases(classes[-1]) or \
                not functions[-1].params.params or self.r._path.index(functions[-1]) < self.r._path.index(classes[-1]):
            return None
        function = functions[-1]
        me = function.params.params[0].name.value
        if isinstance(node, cst.Name):
            bindings = _Bindings(node.value)
            function.visit(bindings)
            if len(bindings.found) != 1 or bindings.found[0] is None:
                return None
            node = bindings.found[0]
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and \
                code(node.func) == f"{me}.get_optimizer" and len(node.args) == 1 and node.args[0].keyword is None \
                and isinstance(node.args[0].value, cst.SimpleString):
            return code(node.args[0].value)
        if isinstance(node, cst.Subscript) and code(node.value) == f"{me}._optimizers" and len(node.slice) == 1 and \
                isinstance(node.slice[0].slice, cst.Index) and isinstance(node.slice[0].slice.value, cst.SimpleString):
            return code(node.slice[0].slice.value)
        return None

    def _custom_arguments(self, statement, call: cst.Call) -> dict:
        """Chainer's StandardUpdater arguments (iterator, optimizer, device, ...) of the call of an updater of the
        program's own: bound to Chainer's parameters where the class has no __init__ of its own, through its
        __init__'s call of StandardUpdater.__init__ where this file defines it, else the keywords of Chainer's names."""
        name = code(call.func).split(".")[-1]
        chainer = ["iterator", "optimizer", "converter", "device", "loss_func"]
        if "__init__" not in self.r.project.class_methods.get(name, ()):
            args = bind_arguments(call, chainer)
            if args is None:
                raise _Unsupported(statement, f"{name}(...) with arguments StandardUpdater does not take", "PT101")
            return args
        init = next((item for n in ast.walk(self.r._tree) if isinstance(n, ast.ClassDef) and n.name == name
                     for item in n.body if isinstance(item, ast.FunctionDef) and item.name == "__init__"), None)
        keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None and a.keyword.value in chainer}
        if init is None:  # defined in another file: its keywords of Chainer's names (a use of StandardUpdater's)
            return keywords
        supers = [n for n in ast.walk(init) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and
                  n.func.attr == "__init__"]
        if len(supers) != 1:
            return {}
        forwarded = supers[0]
        params = [a.arg for a in init.args.args[1:]]
        if init.args.vararg is not None and init.args.kwarg is not None and not params and \
                [ast.unparse(a) for a in forwarded.args] in (["*" + init.args.vararg.arg], ["self", "*" +
                                                                                          init.args.vararg.arg]) \
                and [k.arg for k in forwarded.keywords] == [None] and \
                ast.unparse(forwarded.keywords[0].value) == init.args.kwarg.arg:  # (*args, **kwargs) forwarded
            positional = [a.value for a in call.args if a.keyword is None]
            if any(a.star for a in call.args):
                return {}
            return {**dict(zip(chainer, positional)), **keywords}
        if init.args.vararg is not None or init.args.kwarg is not None or init.args.kwonlyargs:
            return {}
        given = bind_arguments(call, params)
        if given is None:
            return {}
        passed = [a for a in forwarded.args if not (isinstance(a, ast.Name) and a.id == "self")] \
            if isinstance(forwarded.func.value, ast.Name) and forwarded.func.value.id != "self" else forwarded.args
        found = {}
        for parameter, value in [*zip(chainer, passed), *((k.arg, k.value) for k in forwarded.keywords)]:
            if parameter is None or isinstance(value, ast.Starred) or parameter not in chainer:
                return {}
            if isinstance(value, ast.Name) and value.id in params:
                if value.id in given:
                    found[parameter] = given[value.id]
            elif parameter in ("iterator", "optimizer"):
                return {}
        return found

    def _optimizers(self, statement, node, statements) -> list[tuple[str, str]]:
        """(name as source text, optimizer) of the updater's optimizer argument: one optimizer is 'main'."""
        if isinstance(node, cst.Name):
            assigned = [s.body[0].value for s in statements if isinstance(s, cst.SimpleStatementLine) and
                        len(s.body) == 1 and isinstance(s.body[0], cst.Assign) and len(s.body[0].targets) == 1 and
                        code(s.body[0].targets[0].target) == node.value]
            if len(assigned) == 1 and isinstance(assigned[0], cst.Dict):
                node = assigned[0]
            elif node.value in self.r._setups or self._model_of(node.value, None) is not None:
                return [("'main'", node.value)]  # an optimizer (its setup seen): Chainer's 'main'
        if isinstance(node, cst.Dict) and all(isinstance(e, cst.DictElement) and isinstance(e.key, cst.SimpleString)
                                              and isinstance(e.value, cst.Name) for e in node.elements):
            return [(code(e.key), e.value.value) for e in node.elements]
        raise _Unsupported(statement, "an updater whose optimizers are not one optimizer or a dict of named "
                           "optimizers written in this block: give ExtensionsManager the models and optimizers "
                           "by name and call updater.update() in run_iteration() by hand", "PT101")

    def _model_of(self, optimizer: str, scope) -> str | None:
        """The model ``optimizer`` was set up with: ``optimizer.setup(model)`` in this file, or ``optimizer =
        f(model, ...)`` where this file's function f sets up and returns an optimizer of its parameter."""
        models = self.r._setups.get(optimizer, set())
        if len(models) == 1:
            return next(iter(models))
        if models:
            return None
        calls = [n.value for n in ast.walk(self.r._tree) if isinstance(n, ast.Assign) and len(n.targets) == 1 and
                 isinstance(n.targets[0], ast.Name) and n.targets[0].id == optimizer and
                 isinstance(n.value, ast.Call) and isinstance(n.value.func, ast.Name)]
        found = set()
        for call in calls:
            functions = [n for n in ast.walk(self.r._tree) if isinstance(n, ast.FunctionDef) and
                         n.name == call.func.id]
            if len(functions) != 1 or any(isinstance(a, ast.Starred) for a in call.args):
                return None
            function = functions[0]
            returned = {ast.unparse(n.value) for n in ast.walk(function) if isinstance(n, ast.Return) and n.value}
            setups = [n for n in ast.walk(function) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                      and n.func.attr == "setup" and len(n.args) == 1 and isinstance(n.args[0], ast.Name)]
            if len(returned) != 1 or len(setups) != 1 or ast.unparse(setups[0].func.value) not in returned:
                return None
            params = [a.arg for a in function.args.args]
            parameter = setups[0].args[0].id
            if parameter not in params:
                return None
            index = params.index(parameter)
            value = next((k.value for k in call.keywords if k.arg == parameter), None)
            if value is None and index < len(call.args):
                value = call.args[index]
            if not isinstance(value, ast.Name):
                return None
            found.add(value.id)
        return next(iter(found)) if len(found) == 1 else None

    def _block_iterators(self, of, trainer_name: str, train_iter: str, own: bool) -> dict:
        """name -> (statement, call) of the block's SerialIterators and MultiprocessIterators and (own) of the
        iterators of the program's own that the updater or an Evaluator of the Trainer takes (others are left
        alone, as any other object)."""
        used = {train_iter}
        for statement, _, name in of("extend"):
            for call in _calls(statement) if name == trainer_name else ():
                first = _positional(call, 0)
                if self._evaluator_class(call) and first is not None and isinstance(first.value, cst.Name):
                    used.add(first.value.value)
        return {name: (s, call) for s, call, name in of("iterator")
                if not self._program_iterator(call) or own and name in used}

    def _keeps_chainer_iterators(self, updater_call: cst.Call, of, trainer_name: str) -> bool:
        """A StandardUpdater that keeps Chainer's iterators (PT131): one with a converter or with an iterator of the
        program's own, or one of whose Trainer's Evaluators has a converter or such an iterator."""
        args = bind_arguments(updater_call, ["iterator", "optimizer", "converter", "device", "loss_func"])
        if args is None:
            return False
        own = {name for _, call, name in of("iterator") if self._program_iterator(call)}
        if "converter" in args or isinstance(args.get("iterator"), cst.Name) and args["iterator"].value in own:
            return True
        return bool(self._chainer_evaluators(of, trainer_name, own, device=False))

    def _chainer_evaluators(self, of, trainer_name: str, own: set[str], device: bool = True) -> dict[int, str]:
        """id(call) -> its iterator's name, of the Trainer's extensions.Evaluators that need Chainer's iterator
        (PT132): a converter, an iterator of the program's own, a device (which Chainer's concat_examples moved the
        batches to; with `device`: once the updater keeps Chainer's iterators, PT131 or PT101), or an iterator such
        an Evaluator keeps."""
        found = []
        for statement, _, name in of("extend"):
            if name != trainer_name:
                continue
            for call in _calls(statement):
                if self._evaluator_class(call) != "chainer":
                    continue
                args = bind_arguments(call, ["iterator", "target", "converter", "device", "eval_hook", "eval_func"])
                if args is not None and isinstance(args.get("iterator"), cst.Name):
                    moves = device and "device" in args and code(args["device"]) not in ("None", "-1")
                    found.append((call, args["iterator"].value,
                                  "converter" in args or moves or args["iterator"].value in own))
        kept = {iterator for _, iterator, needs in found if needs}
        return {id(call): iterator for call, iterator, _ in found if iterator in kept}

    def _convert_custom(self, scope, statements, of, run, trainer_name, trainer_statement, trainer_call, stop, unit,
                        out, updater_statement, updater_call, updater_name) -> None:
        standard = self._updater_class(updater_call) == "standard"  # (PT131: it becomes ChainerStandardUpdater)
        rule = "PT131" if standard else "PT101"
        cls = code(updater_call.func)
        args = self._custom_arguments(updater_statement, updater_call)
        if not isinstance(args.get("iterator"), cst.Name) or "optimizer" not in args:
            raise _Unsupported(updater_statement, f"the iterator and the optimizers {cls} gives StandardUpdater are "
                               "not known here (its __init__ in another file, or not forwarding them by name): give "
                               "ExtensionsManager its optimizers' models and optimizers by name and call "
                               "updater.update() in run_iteration() by hand", rule)
        if standard and not isinstance(args.get("optimizer"), cst.Name):
            raise _Unsupported(updater_statement, "a StandardUpdater whose optimizers are given as a dict: write its "
                               "update step by hand", rule)
        loss_func = args.get("loss_func")
        if loss_func is not None and not isinstance(loss_func, (cst.Name, cst.Attribute)):
            raise _Unsupported(updater_statement, "a loss_func that is not a name: bind it to one first", rule)
        optimizers = self._optimizers(updater_statement, args["optimizer"], statements)
        targets = []
        for key, optimizer in optimizers:
            model = self._model_of(optimizer, scope)
            if model is None:
                raise _Unsupported(updater_statement, f"the model `{optimizer}` was set up with is not known (one "
                                   f"`{optimizer}.setup(model)` in this file, or `{optimizer} = f(model)` of a "
                                   "function of this file that sets one up): the manager needs it under the "
                                   "optimizer's name", rule)
            targets.append(f"{key}: {model}")
        train_iter = args["iterator"].value
        iterators = self._block_iterators(of, trainer_name, train_iter, own=True)
        own = {name for name, (_, call) in iterators.items() if self._program_iterator(call)}
        if train_iter not in iterators or train_iter in own and not standard:
            raise _Unsupported(updater_statement, f"the updater's iterator `{train_iter}` is not a SerialIterator or "
                               "MultiprocessIterator built in this block: the manager counts an epoch as "
                               "iters_per_epoch updates, and Chainer's epoch was this iterator's epoch_detail, which "
                               "netport cannot count here; build ExtensionsManager(..., iters_per_epoch=<the updates "
                               "in one epoch>) and call updater.update() in run_iteration() by hand", rule)
        evaluators = self._chainer_evaluators(of, trainer_name, own)
        for statement, _, name in of("extend"):
            for call in _calls(statement) if name == trainer_name else ():
                first = _positional(call, 0)
                if self._evaluator_class(call) == "subclass" and first is not None and \
                        isinstance(first.value, cst.Name) and first.value.value in set(evaluators.values()) | own:
                    raise _Unsupported(statement, f"an Evaluator of the program's own on `{first.value.value}`, an "
                                       "iterator that stays Chainer's (ppe's Evaluator iterates DataLoaders): "
                                       "evaluate it by hand", "PT132")
        kept = set(evaluators.values()) | own | {train_iter}  # iterators that stay Chainer's
        serials = {}
        names = ["dataset", "batch_size", "repeat", "shuffle"]
        for name in kept - own:
            statement, call = iterators[name]
            multiprocess = self.callee(call) in MULTIPROCESS
            serial = bind_arguments(call, names + (["n_processes", "n_prefetch", "shared_mem"] if multiprocess
                                                   else []))
            repeat, shuffle = (code(serial.get(n, cst.Name("True"))) if serial else None for n in ("repeat", "shuffle"))
            if serial is None or "batch_size" not in serial or repeat != ("True" if name == train_iter else repeat) \
                    or repeat not in ("True", "False") or shuffle not in ("True", "False"):
                raise _Unsupported(statement, "the updater's iterator with these arguments (repeat other than True, "
                                   "shuffle other than True or False)" if name == train_iter else "an Evaluator's "
                                   "iterator with these arguments (repeat or shuffle other than True or False)", rule)
            serials[name] = serial
        loaders = [self._loader(statement, call, repeats=False)
                   for name, (statement, call) in iterators.items() if name not in kept]
        self._check_uses(scope, iterators, trainer_name, updater_name, train_iter, statements, custom=updater_call)
        for convert in loaders:
            convert()
        for name, serial in serials.items():
            serial_call = iterators[name][1]
            iterator = self._helper("ChainerSerialIterator", SERIAL_ITERATOR)
            given = ", ".join(code(serial[n]) if n in ("dataset", "batch_size") else f"{n}={code(serial[n])}"
                              for n in names if n in serial)
            self.calls[id(serial_call)] = f"{iterator}({given})"
            self.r.info(serial_call, rule, f"{code(serial_call.func)} is {iterator} (written into the file): Chainer "
                        "1.24's batches, in its order from numpy.random, with next(), epoch, is_new_epoch and "
                        "epoch_detail" + (" (in this process: n_processes, n_prefetch and shared_mem only made it "
                                          "faster)" if self.callee(serial_call) in MULTIPROCESS else ""))
        self.chainer_evaluator_calls |= set(evaluators)
        ppe = self.ppe()
        after = [f"{updater_name}.targets = {{{', '.join(targets)}}}\n"]
        if standard:
            self._helper("chainer_concat_examples", CONCAT_EXAMPLES)
            self.renamed[id(updater_call)] = self._helper(UPDATER_BASE, STANDARD_UPDATER_CLASS)
            self.r.info(updater_call, "PT131", f"training.StandardUpdater is {UPDATER_BASE} (written into the file) "
                        "with the same iterator, optimizer, converter, device and loss_func: Chainer 1.24's "
                        "update_core (the main iterator's next() through the converter, the arrays as tensors given "
                        "to the loss function, by position for a tuple, by keyword for a dict; zero_grad, backward, "
                        "step), the Chainer iterator kept as it is")
        if train_iter in own:
            limit = f", limit={stop}" if unit == "iteration" else ""
            measure = self._helper("chainer_iters_per_epoch", ITERS_PER_EPOCH, ("numpy", "torch", "copy", "random"))
            after.append(f"{updater_name}.iters_per_epoch = {measure}({train_iter}{limit})\n")
            epoch_length = f"{updater_name}.iters_per_epoch"
        else:
            serial, math = serials[train_iter], self.r.need_import("math")
            epoch_length = f"{math}.ceil(len({code(serial['dataset'])}) / {code(serial['batch_size'])})"
        self.r.insert_after(updater_statement, [cst.parse_statement(line) for line in after])
        manager = [f"{updater_name}.targets", f"{updater_name}.get_all_optimizers()"]
        manager += [stop] if unit == "epoch" else ["None", f"stop_trigger=({stop}, 'iteration')"]
        manager.insert(3, f"iters_per_epoch={epoch_length}")
        if out is not None:
            manager.append(f"out_dir={code(out)}")
        manager.append(f"state_objects={{'updater': {updater_name}}}")
        self.calls[id(trainer_call)] = f"{ppe}.training.ExtensionsManager({', '.join(manager)})"
        main = dict(optimizers).get("'main'") or dict(optimizers).get('"main"')
        self.trainers[trainer_name] = {"model": None, "optimizer": main, "device": None, "device_name": None}
        self.r._replace(run, "\n".join([
            f"# {trainer_name}.run(): the updater's update() (its update_core), the extensions after it",
            f"while not {trainer_name}.stop_trigger:", f"    with {trainer_name}.run_iteration():",
            f"        {updater_name}.update()"]) + "\n")
        self.r.info(trainer_call, rule, f"training.Trainer is a pytorch-pfn-extras ExtensionsManager of the models "
                    f"of {cls}'s optimizers, under the optimizers' names (the reporter's observers, as the Trainer's), "
                    f"{stop} {unit}s; its state_objects hold the updater's iteration and iterator positions, which "
                    "Chainer's snapshot held")
        moved = "" if "device" not in args or code(args["device"]) in ("None", "-1") else \
            "; Chainer's updater also moved its optimizers' models to the device, which the program now does itself " \
            "(model.to(device))"
        if train_iter in own:
            self.r.warn(trainer_call, "PT131", f"the manager counts an epoch as iters_per_epoch updates, where "
                        f"Chainer's epoch was `{train_iter}`'s own: {measure} (written into the file) counts the "
                        f"batches a deep copy of `{train_iter}` draws in its first epoch (one more pass over its data "
                        "before training, NumPy's, Python's and torch's generators restored after), and the updater "
                        "raises if a later epoch is not as long" + moved)
        else:
            self.r.warn(trainer_call, rule, "the manager counts an epoch as ceil(len(dataset) / batch_size) updates; "
                        "Chainer's was the main iterator's epoch_detail: the same where update_core draws one batch "
                        "of it per update and the batch size divides the data set" + moved)
        self.r.info(run, rule, f"{trainer_name}.run() is the loop that calls {updater_name}.update() in "
                    f"{trainer_name}.run_iteration(), which runs the extensions after it")
        if any(model.split(": ", 1)[1] in self.r._classifiers for model in targets):
            self.classifier_reports = True

    # the conversions ------------------------------------------------------------------------------

    def _is_extend(self, call: cst.Call) -> bool:
        return isinstance(call.func, cst.Attribute) and call.func.attr.value == "extend" and \
            isinstance(call.func.value, cst.Name) and call.func.value.value in self.trainers

    def _updater_of_manager(self, node) -> bool:
        """``X.updater`` where X is a converted Trainer or a function's manager parameter."""
        if not (isinstance(node, cst.Attribute) and node.attr.value == "updater" and isinstance(node.value, cst.Name)):
            return False
        name = node.value.value
        if name in self.unconverted and name not in self.trainers:
            return False
        if name in self.trainers:
            return True
        return any(self.manager_params.get(id(n)) == name for n in self.r._path if isinstance(n, cst.FunctionDef))

    def _context(self) -> dict | None:
        """The converted Trainer whose extend() the current node is an argument of."""
        return next((self.trainers[n.func.value.value] for n in reversed(self.r._path)
                     if isinstance(n, cst.Call) and self._is_extend(n)), None)

    def _make_extension(self, original, updated):
        args = bind_arguments(original, ["trigger", "default_name", "priority", "invoke_before_training",
                                         "finalizer", "initializer", "on_error"])
        if args is None:
            self._todo(original, "PT048", "make_extension with these arguments: write ppe.training.make_extension "
                        "by hand")
            return updated
        if "finalizer" in args:
            self._todo(original, "PT048", "make_extension(finalizer=...): ppe calls the finalizer with the manager "
                        "(Chainer with nothing): give it a parameter, then use ppe.training.make_extension")
            return updated
        if "invoke_before_training" in args and code(args["invoke_before_training"]) != "False":
            self._todo(original, "PT048", "make_extension(invoke_before_training=...): pass call_before_training="
                        "True to the manager's extend() instead, then use ppe.training.make_extension")
            return updated
        keep = [a for a, o in zip(updated.args, original.args) if not (
            o.keyword is not None and o.keyword.value == "invoke_before_training")]
        if len(keep) != len(updated.args) and any(a.keyword is None for a in updated.args[len(keep):]):
            return updated  # (a positional invoke_before_training=False followed by more: left as is)
        self.r.info(original, "PT048", "make_extension is ppe.training.make_extension (the function is called with "
                    "the manager)")
        keep = [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) if i == len(keep) - 1 else a
                for i, a in enumerate(keep)]
        return updated.with_changes(func=cst.parse_expression(f"{self.ppe()}.training.make_extension"), args=keep)

    def _trigger(self, original, updated, name):
        if name == "ManualScheduleTrigger":
            args = bind_arguments(original, ["points", "unit"])
            unit = args.get("unit") if args else None
            points = args.get("points") if args else None
            exact = isinstance(unit, cst.SimpleString) and unit.evaluated_value == "iteration" or \
                points is not None and all(isinstance(e, cst.Integer) for e in (
                    [p.value for p in points.elements] if isinstance(points, (cst.List, cst.Tuple)) else [points]))
            if not exact:
                self.r.warn(original, "PT047", "a ManualScheduleTrigger at a fraction of an epoch fires at iteration "
                            "int(p * iters_per_epoch) in ppe, Chainer's at the first iteration at or past p epochs")
        self.r.info(original, "PT047", f"{name} is ppe.training.triggers.{name} (the same iterations)")
        return updated.with_changes(func=cst.parse_expression(f"{self.ppe()}.training.triggers.{name}"))

    def _load_save(self, original, updated, qualified):
        if len(updated.args) != 2 or any(a.keyword or a.star for a in updated.args) or \
                not isinstance(original.args[1].value, cst.Name) or original.args[1].value.value not in self.trainers:
            return updated
        path, trainer = code(updated.args[0].value), original.args[1].value.value
        torch = self.r.need_import("torch")
        if qualified.endswith("load_npz"):
            self.r.info(original, "PT049", f"load_npz(path, {trainer}) is {trainer}.load_state_dict(torch.load(path)): "
                        "it resumes from a snapshot the migrated program wrote (ppe's snapshot() saves the "
                        "manager's state_dict); Chainer's .npz snapshots do not load")
            return cst.parse_expression(f"{trainer}.load_state_dict({torch}.load({path}))")
        self.r.info(original, "PT049", f"save_npz(path, {trainer}) saves the manager's state_dict with torch.save")
        return cst.parse_expression(f"{torch}.save({trainer}.state_dict(), {path})")

    def _evaluator(self, original, updated):
        kind = self._evaluator_class(original)
        if id(original) in self.chainer_evaluator_calls:
            self._helper("chainer_concat_examples", CONCAT_EXAMPLES)
            name = self._helper("ChainerEvaluator", EVALUATOR_CLASS, ("numpy", "torch", "copy"))
            self.r.info(original, "PT132", f"extensions.Evaluator is {name} (written into the file), ppe's Evaluator "
                        "with Chainer 1.24's evaluate(): the iterator reset() where it has one, else a shallow copy of "
                        "it iterated, each batch through the converter with the device, the arrays as tensors given "
                        "to the target (or eval_func); the mean of what it reports, as 'validation/...', in evaluation "
                        "mode and without gradients")
            return updated.with_changes(func=cst.Name(name))
        if kind == "subclass" and "__init__" in self.r.project.class_methods.get(code(original.func).split(".")[-1],
                                                                                  ()):
            self._todo(original, "PT045", "an Evaluator subclass with its own __init__: ppe's Evaluator takes "
                        "(iterator, target, eval_hook, eval_func) without converter or device; pass those by hand")
            return updated
        args = bind_arguments(original, ["iterator", "target", "converter", "device", "eval_hook", "eval_func"])
        if args is None or "converter" in args or "target" not in args:
            self._todo(original, "PT045", "an Evaluator with a converter (or arguments not matched): ppe's Evaluator "
                        "calls eval_func (the target by default) with the DataLoader's batch; write it by hand")
            return updated
        device = args.get("device")
        device = None if device is None or code(device) in ("None", "-1") else code(device)
        context = self._context()
        if any(a.keyword is None for a in original.args[2:]):
            self._todo(original, "PT045", "an Evaluator with device, eval_hook or eval_func given by position: "
                        "ppe's take other places; pass them by keyword")
            return updated
        kept = [a for a, o in zip(updated.args, original.args) if not (o.keyword and o.keyword.value == "device")]
        if device is not None:
            if context is None or context["device"] != device or "eval_func" in args or \
                    not isinstance(args["target"], (cst.Name, cst.Attribute)):
                self._todo(original, "PT045", "an Evaluator with a device other than the converted updater's, or "
                            "with an eval_func: ppe's Evaluator does not move the batches; move them in its eval_func "
                            "by hand")
                return updated
            move = f"lambda *batch: {code(args['target'])}(*[a.to({context['device_name']}) for a in batch])"
            kept = [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in kept] + \
                [cst.Arg(keyword=cst.Name("eval_func"), value=cst.parse_expression(move),
                         equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")))]
            kept = [a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                    if i < len(kept) - 1 else a for i, a in enumerate(kept)]
        elif kept:
            kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        where = "; each batch moved to the updater's device by eval_func" if device is not None else ""
        if kind == "chainer":
            self.r.info(original, "PT045", "extensions.Evaluator is ppe.training.extensions.Evaluator (the mean of "
                        f"what the target reports over the batches, in evaluation mode, as 'validation/...'){where}")
            return updated.with_changes(func=cst.parse_expression(f"{self.ppe()}.training.extensions.Evaluator"),
                                        args=kept)
        if device is None and len(kept) == len(updated.args):
            return updated
        self.r.info(original, "PT045", f"ppe's Evaluator takes no device{where}")
        return updated.with_changes(args=kept)

    def _extension(self, original, updated, name):
        ppe = self.ppe()
        if name in STANDARD:
            params, renamed, refused = STANDARD[name]
            args = bind_arguments(original, params)
            problem = "these arguments" if args is None else next((refused[p] for p in args if p in refused), None)
            if args is not None and name == "LogReport" and "log_name" in args and \
                    not isinstance(args["log_name"], cst.SimpleString):
                problem = "a log_name that may be None (Chainer then wrote no file, ppe's filename=None is 'log')"
            if problem is not None:
                self._todo(original, "PT044", f"extensions.{name}: {problem}")
                return updated
            new = []
            for arg in updated.args:
                if arg.keyword is not None and arg.keyword.value in renamed:
                    arg = arg.with_changes(keyword=cst.Name(renamed[arg.keyword.value]))
                if name.startswith("snapshot") and isinstance(arg.value, cst.SimpleString) and (
                        arg.keyword.value == "filename" if arg.keyword is not None else len(new) == 1):
                    arg = arg.with_changes(value=cst.SimpleString(_UPDATER_FORMAT.sub(r"\1.\2", arg.value.value)))
                new.append(arg)
            self.r.info(original, "PT044", f"extensions.{name} is ppe.training.extensions.{name}" +
                        (" (the manager's state_dict, with torch.save)" if name == "snapshot" else ""))
            return updated.with_changes(func=cst.parse_expression(f"{ppe}.training.extensions.{name}"), args=new)
        if EXTENSIONS + name in DUMP_GRAPH:
            if id(original) not in self.graphs_written:  # (written into the loop: its statement is removed)
                self._todo(original, "PT092", "extensions.dump_graph: " + self.graph_problems.get(
                    id(original), "not given to the extend() of a Trainer converted to an ExtensionsManager") +
                    f"; write the graph of the loss with {HELPER} (netport writes it where it converts a dump) or "
                    "torchviz's make_dot, by hand")
            return updated
        if name == "ExponentialShift":
            return self._exponential_shift(original, updated)
        if name == "observe_lr":
            return self._observe_lr(original, updated)
        self._todo(original, "PT044", UNCONVERTED.get(name, f"extensions.{name} has no conversion to "
                                                              "pytorch-pfn-extras yet: rewrite it by hand"))
        return updated

    def _optimizer_of(self, args) -> tuple[str | None, str | None]:
        """The optimizer an extension acts on (its optimizer= or the converted Trainer's) and its Chainer class."""
        if "optimizer" in args:
            name = code(args["optimizer"])
        else:
            context = self._context()
            name = context["optimizer"] if context else None
        kinds = self.optimizer_kinds.get(name, set()) if name else set()
        return name, next(iter(kinds)) if len(kinds) == 1 else None

    def _exponential_shift(self, original, updated):
        args = bind_arguments(original, ["attr", "rate", "init", "target", "optimizer"])
        if args is None or "rate" not in args or "attr" not in args:
            self._todo(original, "PT046", "ExponentialShift with these arguments: step a torch.optim.lr_scheduler "
                        "scheduler in a ppe.training.extensions.LRScheduler by hand")
            return updated
        optimizer, kind = self._optimizer_of(args)
        attr = args["attr"].evaluated_value if isinstance(args["attr"], cst.SimpleString) else None
        if optimizer is None or kind not in SHIFTABLE or SHIFTABLE[kind] != attr:
            self._todo(original, "PT046", f"ExponentialShift of {code(args['attr'])} on "
                        f"{'an optimizer' if kind is None else kind.split('.')[-1]} this rule does not map to torch's "
                        "lr: shift it by hand")
            return updated
        torch, rate = self.r.need_import("torch"), code(args["rate"])
        trigger = ", trigger=(1, 'iteration'))"
        if "init" not in args and "target" not in args and kind not in RESCALED:
            self.r.info(original, "PT046", f"ExponentialShift('{attr}', r) is ppe's LRScheduler stepping "
                        "ExponentialLR(optimizer, r): the rate is multiplied by r at each call (Chainer: init * r**t, "
                        "the same), at every iteration unless extend() gives a trigger")
            return cst.parse_expression(f"{self.ppe()}.training.extensions.LRScheduler({torch}.optim.lr_scheduler."
                                        f"ExponentialLR({optimizer}, {rate})" + trigger)
        self._helper(SHIFT_CLASS, EXPONENTIAL_SHIFT)
        given = "".join(f", {key}={code(args[key])}" for key in ("init", "target") if key in args)
        why = [what for what, present in (("the init it starts from", "init" in args),
                                          ("the target it stops at", "target" in args),
                                          ("the MomentumSGD's momentum buffer rescaled so a new lr applies to new "
                                           "gradients only", kind in RESCALED)) if present]
        self.r.info(original, "PT102", f"ExponentialShift('{attr}', ...) is ppe's LRScheduler stepping "
                    f"{SHIFT_CLASS} (written into the file): Chainer's init * rate**t, with {' and '.join(why)}")
        return cst.parse_expression(f"{self.ppe()}.training.extensions.LRScheduler("
                                    f"{SHIFT_CLASS}({optimizer}, {rate}{given})" + trigger)

    def _observe_lr(self, original, updated):
        args = bind_arguments(original, ["optimizer_name", "observation_key"])
        context = self._context()
        if args is None or code(args.get("optimizer_name", cst.SimpleString("'main'"))) not in ("'main'", '"main"') \
                or context is None:
            self._todo(original, "PT046", "observe_lr of an optimizer other than the converted Trainer's main one: "
                        "ppe.training.extensions.observe_lr(optimizer) by hand")
            return updated
        optimizer, kind = self._optimizer_of({})
        if kind == "chainer.optimizers.Adam" or kind is None:
            self._todo(original, "PT046", "observe_lr of an Adam: Chainer's Adam.lr is the bias-corrected step "
                        "alpha * sqrt(1 - beta2**t) / (1 - beta1**t), torch's lr is alpha; observe that value by hand")
            return updated
        key = f", observation_key={code(args['observation_key'])}" if "observation_key" in args else ""
        self.r.info(original, "PT046", "observe_lr() is ppe's observe_lr(optimizer), the main optimizer's lr")
        return cst.parse_expression(f"{self.ppe()}.training.extensions.observe_lr({optimizer}{key})")


def _interval(node) -> tuple[str | None, str | None]:
    if isinstance(node, cst.Tuple) and len(node.elements) == 2 and isinstance(node.elements[1].value, cst.SimpleString):
        unit = node.elements[1].value.evaluated_value
        if unit in ("epoch", "iteration"):
            return code(node.elements[0].value), unit
    return None, None


def _parallel_devices(node) -> tuple[list[str], cst.BaseExpression] | None:
    """A ParallelUpdater's devices={'main': ..., ...}: the names (as written, 'main' first, then in the dict's
    order, as Chainer gave out the parts) and the main device's expression; None unless a dict literal of string
    keys with 'main'."""
    if not isinstance(node, cst.Dict) or not node.elements:
        return None
    names, main = [], None
    for element in node.elements:
        if not isinstance(element, cst.DictElement) or not isinstance(element.key, cst.SimpleString):
            return None
        key = element.key.evaluated_value
        if key == "main":
            main = element.value
        else:
            names.append(code(element.key))
    if main is None or len(set(names)) != len(names):
        return None
    return ["'main'", *names], main


def _class_reports_loss(program: ProgramClasses, reference: ast.expr, imports: dict, path, seen: set) -> bool:
    """Whether the class ``reference`` names (in the file at ``path``, None: the migrated one) returns from
    __call__ (or forward) the one variable it reports as 'loss' with chainer.report(..., self), itself or through
    `return Base.__call__(self, ...)` of a class that does; a class without the method: through its bases."""
    qualified = qualified_name(reference, imports) or (reference.id if isinstance(reference, ast.Name) else None)
    if qualified is None or qualified.startswith("chainer.") or qualified in seen:
        return False
    seen.add(qualified)
    found = program.find(qualified, path)
    if found is None:
        return False
    node, imports, path = found
    methods = [f for f in node.body if isinstance(f, ast.FunctionDef) and f.name in ("__call__", "forward")]
    if not methods:
        return bool(node.bases) and all(_class_reports_loss(program, base, imports, path, seen) for base in node.bases)
    method = methods[-1]
    returns = [r.value for r in ast.walk(method) if isinstance(r, ast.Return)]
    if not returns or None in returns:
        return False
    delegated = [r.func.value for r in returns if isinstance(r, ast.Call) and isinstance(r.func, ast.Attribute) and
                 r.func.attr in ("__call__", "forward") and r.args and isinstance(r.args[0], ast.Name) and
                 r.args[0].id == "self"]
    if len(delegated) == len(returns):
        return all(_class_reports_loss(program, base, imports, path, seen) for base in delegated)
    names = {r.id for r in returns if isinstance(r, ast.Name)}
    if len(names) != 1 or len(returns) != sum(isinstance(r, ast.Name) for r in returns):
        return False
    name = names.pop()
    assignments = [t for n in ast.walk(method) if isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign))
                   for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
                   for sub in ast.walk(t) if isinstance(sub, ast.Name) and sub.id == name]
    if len(assignments) != 1:
        return False
    for call in (n for n in ast.walk(method) if isinstance(n, ast.Call)):
        if qualified_name(call.func, imports) not in REPORT or not call.args:
            continue
        observer = call.args[1] if len(call.args) > 1 else next(
            (k.value for k in call.keywords if k.arg == "observer"), None)
        table = call.args[0]
        if isinstance(observer, ast.Name) and observer.id == "self" and isinstance(table, ast.Dict) and any(
                isinstance(k, ast.Constant) and k.value == "loss" and isinstance(v, ast.Name) and v.id == name
                for k, v in zip(table.keys, table.values)):
            return True
    return False


def _positional(call: cst.Call, index: int):
    positional = [a for a in call.args if a.keyword is None]
    return positional[index] if index < len(positional) else None


def _dotted(node) -> bool:
    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, cst.Name)


def _free_name(tree, name: str) -> str:
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} if tree is not None else set()
    candidate, i = name, 1
    while candidate in used:
        i += 1
        candidate = f"{name}{i}"
    return candidate


def _assigned(uses) -> bool:
    return bool(uses) and isinstance(uses[0], cst.AssignTarget)


def _is_argument_of(uses, accept, position: int | None = None) -> bool:
    if len(uses) < 2 or not isinstance(uses[0], cst.Arg) or not isinstance(uses[1], cst.Call):
        return False
    arg, call = uses[0], uses[1]
    if position is not None and (arg.keyword is not None or _positional(call, position) is not arg):
        return False
    return bool(accept(call))


def _is_load_save(uses, ppe: PpeTrainer) -> bool:
    return _is_argument_of(uses, lambda call: ppe.callee(call) in LOAD_SAVE, position=1)


def _manager_attribute(uses) -> bool:
    if not uses or not isinstance(uses[0], cst.Attribute):
        return False
    attr = uses[0].attr.value
    if attr in MANAGER_ATTRIBUTES:
        return True
    if attr == "updater" and len(uses) > 1 and isinstance(uses[1], cst.Attribute):
        if uses[1].attr.value in UPDATER_ATTRIBUTES:
            return True
        return uses[1].attr.value == "get_optimizer" and len(uses) > 2 and isinstance(uses[2], cst.Call) and \
            not (len(uses) > 3 and isinstance(uses[3], cst.Attribute) and uses[3].attr.value == "target")
    return False


def _calls(node) -> list[cst.Call]:
    found = []

    class Calls(cst.CSTVisitor):
        def visit_Call(self, call):
            found.append(call)

    node.visit(Calls())
    return found


def _statement_of(uses, statements):
    ids = {id(s): s for s in statements}
    return next((ids[id(n)] for n in uses if id(n) in ids), None)


REPORT_LINE = "{ppe}.reporting.report({{'loss': self.loss, 'accuracy': self.accuracy}}, self)"


def _reporting_classifier(node: cst.ClassDef, ppe: str) -> cst.ClassDef:
    """The Classifier PT006 wrote, reporting as L.Classifier did (before it returns the loss)."""
    line = REPORT_LINE.format(ppe=ppe)
    body = []
    for item in node.body.body:
        if isinstance(item, cst.FunctionDef) and item.name.value == "forward" and \
                line not in code(item) and isinstance(item.body, cst.IndentedBlock) and item.body.body and \
                code(item.body.body[-1]).strip() == "return self.loss":
            statements = list(item.body.body)
            statements.insert(-1, cst.parse_statement(line + "\n"))
            item = item.with_changes(body=item.body.with_changes(body=statements))
        body.append(item)
    return node.with_changes(body=node.body.with_changes(body=body))
