"""PT040-PT041: Trainer-era training code becomes a plain PyTorch loop.

A Chainer Trainer program spreads one training loop over several statements of one block::

    train_iter = chainer.iterators.SerialIterator(train, 100)
    test_iter = chainer.iterators.SerialIterator(test, 100, repeat=False, shuffle=False)
    updater = training.StandardUpdater(train_iter, optimizer, device=gpu)
    trainer = training.Trainer(updater, (20, 'epoch'), out='result')
    trainer.extend(extensions.Evaluator(test_iter, model, device=gpu))
    trainer.extend(extensions.LogReport())
    trainer.extend(extensions.PrintReport(['epoch', 'main/loss', 'validation/main/loss']))
    trainer.run()

When every piece is one this pass knows (the iterators, a StandardUpdater without a custom
converter or loss function, an epoch stop trigger, and the extensions Evaluator, LogReport,
PrintReport, snapshot and ProgressBar with their default per-epoch triggers, around a model built
with L.Classifier, whose loss and accuracy are what Chainer reported), the iterators become
``DataLoader``s and ``trainer.run()`` becomes the loop the Trainer ran: Chainer's averages (per
iteration for ``main/``, per batch for ``validation/``), its ``log`` file and its printed table.
Otherwise every Trainer-era statement of the block is marked TODO(PT040) with the reason, and
nothing of it is converted: half a converted Trainer would be wrong.

This is ``--trainer loop``. By default (``--trainer ppe``) this pass hands the Trainer code to ppe.py
(PT042-PT049), which keeps the Trainer's shape, its extensions included, on pytorch-pfn-extras.
"""

from __future__ import annotations

import ast

import libcst as cst

from netport.migrate.passes import TODO_PREFIX, ZERO_GRAD, RulePass, bind_arguments, code
from netport.migrate.registry import rule_pass
from netport.migrate.report import Severity
from netport.migrate.rules import Rule, register
from netport.migrate.torch.graphs import (DIFFERENCE, DUMP_GRAPH, GRAPH_DOT, HELPER, define_graph_helper,
                                         dump_graph_arguments, dump_graph_lines)
from netport.migrate.torch.ppe import PpeTrainer

register(
    Rule("PT041", "chainer.datasets.TupleDataset becomes torch.utils.data.TensorDataset",
         before="import chainer\ntrain = chainer.datasets.TupleDataset(x, y)\n",
         after="import torch\n\ntrain = torch.utils.data.TensorDataset(torch.as_tensor(x), torch.as_tensor(y))\n",
         target="torch",
         noop=("# ported from chainer\nimport torch\n"
               "train = torch.utils.data.TensorDataset(torch.as_tensor(x), torch.as_tensor(y))\n",
               "# ported from chainer\nfrom mylib import datasets\ntrain = datasets.TupleDataset(x, y)\n")),
    Rule("PT040", "a Trainer (SerialIterator, StandardUpdater, Trainer, extensions, run) becomes a plain loop over "
         "DataLoaders that computes, logs and prints what the Trainer did",
         before="import chainer\nimport chainer.links as L\nfrom chainer import training\nfrom chainer.training import extensions\n\nmodel = L.Classifier(predictor)\noptimizer = chainer.optimizers.SGD()\noptimizer.setup(model)\ntrain_iter = chainer.iterators.SerialIterator(train, 100)\nupdater = training.StandardUpdater(train_iter, optimizer)\ntrainer = training.Trainer(updater, (5, 'epoch'))\ntrainer.extend(extensions.LogReport())\ntrainer.extend(extensions.PrintReport(['epoch', 'main/loss']))\ntrainer.run()\n",
         after='import json\nimport os\nimport time\nimport torch\nfrom torch import nn\n\n\nclass Classifier(nn.Module):\n    """Chainer\'s L.Classifier: softmax cross-entropy loss and accuracy around a predictor."""\n\n    def __init__(self, predictor):\n        super().__init__()\n        self.predictor = predictor\n\n    def forward(self, x, t):\n        y = self.predictor(x)\n        self.loss = nn.functional.cross_entropy(y, t.long(), ignore_index=-1)\n        self.accuracy = (y.argmax(1) == t).float().mean()\n        return self.loss\n\n\nmodel = Classifier(predictor)\noptimizer = torch.optim.SGD(model.parameters(), lr=0.01)\ntrain_iter = torch.utils.data.DataLoader(train, batch_size=100, shuffle=True)\n# the loop training.Trainer ran, written out\nos.makedirs(\'result\', exist_ok=True)\nlog = []\nstart = time.time()\niteration = 0\nfor epoch in range(1, 5 + 1):\n    observations = {}\n    for batch in train_iter:\n        optimizer.zero_grad(set_to_none=False)\n        loss = model(*batch)\n        loss.backward()\n        optimizer.step()\n        iteration += 1\n        observations.setdefault(\'main/loss\', []).append(model.loss.item())\n        observations.setdefault(\'main/accuracy\', []).append(model.accuracy.item())\n    # extensions.LogReport(): the mean of each observation since the last entry\n    entry = {key: sum(values) / len(values) for key, values in observations.items()}\n    entry.update(epoch=epoch, iteration=iteration, elapsed_time=time.time() - start)\n    log.append(entry)\n    with open(os.path.join(\'result\', \'log\'), \'w\') as f:\n        json.dump(log, f, indent=4)\n    # extensions.PrintReport(...)\n    if epoch == 1:\n        print(\'epoch       main/loss \')\n    print(\'{:<10g}  {:<10g}  \'.format(entry[\'epoch\'], entry[\'main/loss\']))\n',
         target="torch", options=(("trainer", "loop"),),
         noop=("# ported from chainer\nfrom ignite.engine import create_supervised_trainer\n"
               "trainer = create_supervised_trainer(model, optimizer, loss)\ntrainer.run(loader, max_epochs=5)\n",
               "# ported from chainer\nimport torch\n"
               "loader = torch.utils.data.DataLoader(train, batch_size=100, shuffle=True)\nfor epoch in range(5):\n"
               "    for x, t in loader:\n        optimizer.zero_grad()\n        model(x, t).backward()\n"
               "        optimizer.step()\n")),
)

_GRAPH_HEAD = "import chainer\nimport chainer.links as L\nfrom chainer import training\n" \
    "from chainer.training import extensions\n\nmodel = L.Classifier(predictor)\n" \
    "optimizer = chainer.optimizers.SGD()\n" \
    "optimizer.setup(model)\ntrain_iter = chainer.iterators.SerialIterator(train, 100)\n" \
    "updater = training.StandardUpdater(train_iter, optimizer)\ntrainer = training.Trainer(updater, (5, 'epoch'))\n"
register(Rule(
    "PT091", "extensions.dump_graph('main/loss') of a Trainer written out as a loop: the loop writes the graph of "
    "its first iteration's loss to out/cg.dot with autograd_graph_dot (written into the file)",
    before=_GRAPH_HEAD + "# the graph, once\ntrainer.extend(extensions.dump_graph('main/loss', 'loss.dot'))\n"
    "trainer.run()\n",
    after="import os\nimport torch\nfrom torch import nn\n\n\n" + GRAPH_DOT + '\n\nclass Classifier(nn.Module):\n'
    '    """Chainer\'s L.Classifier: softmax cross-entropy loss and accuracy around a predictor."""\n\n'
    "    def __init__(self, predictor):\n        super().__init__()\n        self.predictor = predictor\n\n"
    "    def forward(self, x, t):\n        y = self.predictor(x)\n"
    "        self.loss = nn.functional.cross_entropy(y, t.long(), ignore_index=-1)\n"
    "        self.accuracy = (y.argmax(1) == t).float().mean()\n        return self.loss\n\n\n"
    "model = Classifier(predictor)\noptimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n"
    "train_iter = torch.utils.data.DataLoader(train, batch_size=100, shuffle=True)\n"
    "# the loop training.Trainer ran, written out\nos.makedirs('result', exist_ok=True)\niteration = 0\n"
    "for epoch in range(1, 5 + 1):\n    observations = {}\n    for batch in train_iter:\n"
    "        optimizer.zero_grad(set_to_none=False)\n        loss = model(*batch)\n        loss.backward()\n"
    "        optimizer.step()\n        iteration += 1\n"
    "        observations.setdefault('main/loss', []).append(model.loss.item())\n"
    "        observations.setdefault('main/accuracy', []).append(model.accuracy.item())\n"
    "        if iteration == 1:\n            # the graph, once\n"
    "            # extensions.dump_graph: the graph of the first iteration's loss\n"
    "            with open(os.path.join('result', 'loss.dot'), 'w') as f:\n"
    "                f.write(autograd_graph_dot([loss]))\n",
    target="torch", options=(("trainer", "loop"),),
    noop=("# ported from chainer\nimport torch\nfrom torchviz import make_dot\nfor i, (x, t) in enumerate(loader):\n"
          "    loss = model(x, t)\n    if i == 0:\n        make_dot(loss).save('cg.dot')\n",
          "# ported from chainer\nfrom mylib import extensions\ntrainer.extend(extensions.dump_graph('main/loss'))\n")))

ITERATOR = ("chainer.iterators.SerialIterator", "chainer.iterators.serial_iterator.SerialIterator")
UPDATER = ("chainer.training.StandardUpdater", "chainer.training.updaters.StandardUpdater",
           "chainer.training.updater.StandardUpdater",
           "chainer.training.updaters.standard_updater.StandardUpdater")
TRAINER = ("chainer.training.Trainer", "chainer.training.trainer.Trainer")
EXTENSIONS = "chainer.training.extensions."
TUPLE_DATASET = ("chainer.datasets.TupleDataset", "chainer.datasets.tuple_dataset.TupleDataset")
# what L.Classifier reports, and what the Trainer adds to each log entry
OBSERVED = ("main/loss", "main/accuracy", "validation/main/loss", "validation/main/accuracy")
LOG_KEYS = ("epoch", "iteration", "elapsed_time")
PER_EPOCH = ("(1, 'epoch')", '(1, "epoch")')


class _Unsupported(Exception):
    """A Trainer-era statement this pass does not convert; the message says why."""

    def __init__(self, statement, message, rule="PT040"):
        super().__init__(message)
        self.statement, self.rule = statement, rule


@rule_pass("torch.trainer", 10)
class TrainerRules(RulePass):
    def visit_Module(self, node: cst.Module) -> None:
        super().visit_Module(node)
        self._tree = self.ctx.syntax_tree()
        self._classifiers = {target.id for n in ast.walk(self._tree) if isinstance(n, ast.Assign)
                             for target in n.targets if isinstance(target, ast.Name) and
                             isinstance(n.value, ast.Call) and isinstance(n.value.func, ast.Name) and
                             n.value.func.id == "Classifier"} if "class Classifier(nn.Module)" in self.ctx.source \
            else set()
        self._setups = {}  # optimizer name -> the model it was set up with
        for n in ast.walk(self._tree):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "setup" and \
                    isinstance(n.func.value, ast.Name) and len(n.args) == 1 and isinstance(n.args[0], ast.Name):
                self._setups.setdefault(n.func.value.id, set()).add(n.args[0].id)
        self._comments: dict[int, list[str]] = {}  # id(removed statement) -> its comments
        self._graph_dumped = False  # a dump_graph written into the loop: autograd_graph_dot goes into the file
        # --trainer ppe: ppe.py decides every block up front (an extension function may come before the
        # Trainer it serves) and converts what it decided as the traversal reaches it
        self._ppe = PpeTrainer(self) if self.ctx.options.trainer == "ppe" else None
        if self._ppe is not None:
            self._ppe.start(node)
        else:
            self._block(node.body)

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if self.callee(original) in TUPLE_DATASET and updated.args and \
                not any(a.keyword or a.star for a in updated.args):
            self.need_import("torch")
            self.info(original, "PT041", "TupleDataset is torch.utils.data.TensorDataset (of tensors: the "
                      "DataLoader stacks them into batches as Chainer's concat_examples did)")
            arrays = ", ".join(f"torch.as_tensor({code(a.value)})" for a in updated.args)
            return cst.parse_expression(f"torch.utils.data.TensorDataset({arrays})")
        return self._ppe.leave_call(original, updated) if self._ppe is not None else updated

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        return self._ppe.leave_attribute(original, updated) if self._ppe is not None else updated

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        return self._ppe.leave_classdef(original, updated) if self._ppe is not None else updated

    def finish_module(self, module: cst.Module) -> cst.Module:
        module = self._ppe.finish(module) if self._ppe is not None else module
        return define_graph_helper(module) if self._graph_dumped else module

    def leave_SimpleStatementLine(self, original, updated):
        if id(original) in self._comments:  # its comments moved into the loop
            return updated.with_changes(leading_lines=[])
        return updated

    # blocks ---------------------------------------------------------------------------------------

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        if self._ppe is None:
            self._block(node.body)

    def _block(self, statements) -> None:
        runs = [s for s in statements if self._kind(s)[0] == "run"]
        if not runs:
            return
        try:
            self._convert(list(statements), runs)
        except _Unsupported as problem:
            for statement in statements:
                if self._kind(statement)[0] is not None:
                    own = statement is problem.statement
                    self._mark(statement, str(problem) if own else
                               f"part of a Trainer that is not converted: {problem}", problem.rule if own else "PT040")

    def _mark(self, statement, message: str, rule: str = "PT040") -> None:
        message = " ".join(message.split())
        self.report(statement, rule, Severity.ERROR, message)
        comments = [line.comment.value for line in statement.leading_lines if line.comment is not None]
        if statement.trailing_whitespace.comment is not None:
            comments.append(statement.trailing_whitespace.comment.value)
        if not any(c.startswith(f"{TODO_PREFIX}({rule})") for c in comments):  # marked by an earlier run
            self.edits(statement).todos.append(f"{TODO_PREFIX}({rule}): {message}")

    def _kind(self, statement) -> tuple[str | None, cst.Call | None, str | None]:
        """('iterator' | 'updater' | 'trainer' | 'extend' | 'run' | None, the call, the assigned name)."""
        if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
            return None, None, None
        small = statement.body[0]
        if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call) and len(small.targets) == 1 and \
                isinstance(small.targets[0].target, cst.Name):
            callee = self.callee(small.value)
            kind = "iterator" if callee in ITERATOR else "updater" if callee in UPDATER else \
                "trainer" if callee in TRAINER else None
            return kind, small.value, small.targets[0].target.value
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call) and \
                isinstance(small.value.func, cst.Attribute) and isinstance(small.value.func.value, cst.Name):
            method = small.value.func.attr.value
            if method in ("extend", "run") and self._is_trainer_name(small.value.func.value.value):
                return method, small.value, small.value.func.value.value
        return None, None, None

    def _is_trainer_name(self, name: str) -> bool:
        return any(isinstance(n, ast.Assign) and isinstance(n.value, ast.Call) and
                   any(isinstance(t, ast.Name) and t.id == name for t in n.targets) and
                   _ast_dotted(n.value.func).split(".")[-1] == "Trainer" for n in ast.walk(self._tree))

    def _uses(self, name: str) -> int:
        return sum(isinstance(n, ast.Name) and n.id == name for n in ast.walk(self._tree))

    # the conversion -------------------------------------------------------------------------------

    def _convert(self, statements, runs) -> None:
        if len(runs) != 1:
            raise _Unsupported(runs[1], "more than one trainer.run() in one block")
        run = runs[0]
        kinds = {id(s): self._kind(s) for s in statements}
        iterators = {name: (s, call) for s in statements for kind, call, name in [kinds[id(s)]] if kind == "iterator"}
        updaters = [(s, call, name) for s in statements for kind, call, name in [kinds[id(s)]] if kind == "updater"]
        trainers = [(s, call, name) for s in statements for kind, call, name in [kinds[id(s)]] if kind == "trainer"]
        extends = [(s, call) for s in statements for kind, call, _ in [kinds[id(s)]] if kind == "extend"]
        if len(trainers) != 1 or len(updaters) != 1:
            raise _Unsupported(run, "the Trainer and its StandardUpdater must be built in the block that runs it")
        trainer_statement, trainer_call, trainer_name = trainers[0]
        updater_statement, updater_call, updater_name = updaters[0]
        if kinds[id(run)][2] != trainer_name:
            raise _Unsupported(run, "trainer.run() of another trainer")
        # the trainer: Trainer(updater, (n, 'epoch'), out=...)
        values = bind_arguments(trainer_call, ["updater", "stop_trigger", "out"])
        if values is None or code(values.get("updater", cst.Name("_"))) != updater_name:
            raise _Unsupported(trainer_statement, "training.Trainer with arguments other than (updater, "
                               "stop_trigger, out)")
        epochs = _epoch_trigger(values.get("stop_trigger"))
        if epochs is None:
            raise _Unsupported(trainer_statement, "a stop trigger other than (n, 'epoch'): write the loop's stop "
                               "condition by hand")
        out = code(values["out"]) if "out" in values else "'result'"
        if self._uses(trainer_name) != 1 + len(extends) + 1:
            raise _Unsupported(trainer_statement, f"`{trainer_name}` is used beyond extend() and run() (a resumed "
                               "snapshot, trainer.out, ...): convert its uses by hand")
        # the updater: StandardUpdater(iterator, optimizer, device=...)
        values = bind_arguments(updater_call, ["iterator", "optimizer", "converter", "device", "loss_func"])
        if values is None or set(values) - {"iterator", "optimizer", "device"} or \
                not isinstance(values.get("iterator"), cst.Name) or not isinstance(values.get("optimizer"), cst.Name):
            raise _Unsupported(updater_statement, "a StandardUpdater with a converter, a loss function or iterators "
                               "given as a dict: write its update step by hand")
        if self._uses(updater_name) != 2:
            raise _Unsupported(updater_statement, f"`{updater_name}` is used beyond the Trainer")
        optimizer = values["optimizer"].value
        models = self._setups.get(optimizer, set())
        if len(models) != 1 or not models <= self._classifiers:
            raise _Unsupported(updater_statement, "the optimizer's target is not a model built with L.Classifier, "
                               "so what it reported to the Trainer (chainer.report) is not known: write the loop "
                               "by hand")
        model = next(iter(models))
        device = values.get("device")
        device = None if device is None or code(device) in ("None", "-1") else code(device)
        train_iter = values["iterator"].value
        loaders = {train_iter: True}  # iterator name -> repeats
        # the extensions
        sections, evaluator, log_report, printed, snapshot, dumps = [], None, False, None, None, []
        for statement, call in extends:
            extension, trigger = _extend_arguments(call)
            if not isinstance(extension, cst.Call) or not (self.callee(extension) or "").startswith(EXTENSIONS):
                raise _Unsupported(statement, "an extension other than Evaluator, LogReport, PrintReport, snapshot "
                                   "and ProgressBar: write what it does into the loop by hand")
            name = self.callee(extension)[len(EXTENSIONS):]
            if name == "Evaluator":
                args = bind_arguments(extension, ["iterator", "target", "converter", "device"])
                if args is None or set(args) - {"iterator", "target", "device"} or \
                        not isinstance(args.get("iterator"), cst.Name) or code(args.get("target")) != model or \
                        (trigger is not None and code(trigger) not in PER_EPOCH) or evaluator is not None:
                    raise _Unsupported(statement, "an Evaluator other than Evaluator(iterator, model[, device]) "
                                       "run every epoch on the trained model")
                evaluator_device = args.get("device")
                evaluator_device = None if evaluator_device is None or \
                    code(evaluator_device) in ("None", "-1") else code(evaluator_device)
                if evaluator_device != device:
                    raise _Unsupported(statement, "an Evaluator on another device than the updater's")
                evaluator = args["iterator"].value
                loaders[evaluator] = False
            elif name == "LogReport" and not extension.args and (trigger is None or code(trigger) in PER_EPOCH):
                log_report = True
            elif name == "PrintReport" and len(extension.args) == 1 and trigger is None and \
                    isinstance(extension.args[0].value, cst.List) and \
                    all(isinstance(e.value, cst.SimpleString) for e in extension.args[0].value.elements):
                printed = [e.value.evaluated_value for e in extension.args[0].value.elements]
                unknown = [e for e in printed if e not in OBSERVED + LOG_KEYS]
                if unknown:
                    raise _Unsupported(statement, f"PrintReport of {', '.join(unknown)}: not something L.Classifier "
                                       "or the Trainer reports")
            elif name == "snapshot" and not extension.args:
                every = _epoch_trigger(trigger) if trigger is not None else "1"
                if every is None:
                    raise _Unsupported(statement, "a snapshot trigger other than (n, 'epoch')")
                snapshot = every
            elif name == "ProgressBar" and not extension.args:
                pass  # a display only
            elif EXTENSIONS + name in DUMP_GRAPH:
                problem, filename, styles = dump_graph_arguments(extension)
                if problem is None and trigger is not None:
                    problem = "a trigger of its own (Chainer's dump_graph draws at the first iteration only)"
                if problem is not None:
                    raise _Unsupported(statement, f"extensions.dump_graph: {problem}", rule="PT091")
                dumps.append((statement, extension, filename, styles))
            else:
                raise _Unsupported(statement, f"extensions.{name} with these arguments: write what it does into the "
                                   "loop by hand")
            sections.append((name, statement))
        if printed is not None and not log_report:
            raise _Unsupported(run, "PrintReport without a LogReport")
        if printed and any(e.startswith("validation/") for e in printed) and evaluator is None:
            raise _Unsupported(run, "PrintReport of validation values without an Evaluator")
        # the iterators: SerialIterator(dataset, batch_size, repeat=True, shuffle=True)
        for name, repeats in loaders.items():
            if name not in iterators:
                raise _Unsupported(run, f"the iterator `{name}` is not built in this block")
            statement, call = iterators[name]
            args = bind_arguments(call, ["dataset", "batch_size", "repeat", "shuffle"])
            if args is None or "batch_size" not in args:
                raise _Unsupported(statement, "a SerialIterator with these arguments")
            repeat = code(args["repeat"]) if "repeat" in args else "True"
            if repeat not in ("True", "False") or (repeat == "True") != repeats:
                raise _Unsupported(statement, "an iterator that repeats must feed the updater, one that does not "
                                   "an Evaluator")
            if self._uses(name) != 2:
                raise _Unsupported(statement, f"`{name}` is used beyond the updater or Evaluator")
            shuffle = code(args["shuffle"]) if "shuffle" in args else "True"
            self._replace(statement, f"{name} = torch.utils.data.DataLoader({code(args['dataset'])}, "
                          f"batch_size={code(args['batch_size'])}, shuffle={shuffle})\n")
            self.info(call, "PT040", f"SerialIterator is a DataLoader (shuffle={shuffle})")
            if repeats:
                self.warn(call, "PT040", "a repeating SerialIterator filled the last batch of an epoch with the "
                          "first examples of the next when the batch size does not divide the data set; the "
                          "DataLoader yields a smaller last batch" + ("" if shuffle == "False" else
                                                                     " (and shuffles with torch's generator, "
                                                                     "not NumPy's)"))
        for statement in (updater_statement, trainer_statement, *[s for _, s in sections]):
            self._remove(statement)
        self.need_import("torch")
        loop = self._loop(model, optimizer, train_iter, evaluator, device, epochs, out, log_report, printed,
                          snapshot, sections, dumps, comments=self._comment_lines(updater_statement) +
                          self._comment_lines(trainer_statement))
        for _, extension, filename, _ in dumps:
            self._graph_dumped = True
            self.warn(extension, "PT091", f"extensions.dump_graph('main/loss') is written into the loop: after the "
                      f"first iteration, the graph of its loss (the Classifier's, which it reported as 'main/loss') "
                      f"goes to os.path.join({out}, {filename}), drawn by {HELPER} (written into the file) from "
                      f"torch's autograd graph in Chainer's DOT form; {DIFFERENCE} (Chainer 7's DumpGraph also "
                      "rendered a .png where Graphviz's dot was installed)")
        self._replace(run, loop)
        self.info(run, "PT040", "trainer.run() is the loop the Trainer ran, written out" +
                  ("" if "ProgressBar" not in [n for n, _ in sections] else " (without its ProgressBar)"))

    def _comment_lines(self, statement) -> list[str]:
        lines = [line.comment.value for line in statement.leading_lines if line.comment is not None]
        trailing = statement.trailing_whitespace.comment
        return lines + ([trailing.value] if trailing is not None else [])

    def _remove(self, statement) -> None:
        self._comments[id(statement)] = self._comment_lines(statement)
        self.remove(statement)

    def _replace(self, statement, text: str) -> None:
        """Remove ``statement`` and put ``text`` in its place, keeping its comments above it."""
        comments = self._comment_lines(statement)
        self._remove(statement)
        parsed = cst.parse_module(text)
        new = list(parsed.body)
        lines = [cst.EmptyLine(comment=cst.Comment(c)) for c in comments] + \
            [line for line in parsed.header if line.comment is not None]
        blank = [l for l in statement.leading_lines if l.comment is None][:1]
        new[0] = new[0].with_changes(leading_lines=[*blank, *lines, *new[0].leading_lines])
        self.insert_after(statement, new)

    def _loop(self, model, optimizer, train_iter, evaluator, device, epochs, out, log_report, printed, snapshot,
              sections, dumps, comments) -> str:
        comments_of = {name: self._comments[id(statement)] for name, statement in sections}
        lines = ["# the loop training.Trainer ran, written out"] + comments
        if device is not None:
            lines.append(f"device = torch.device('cuda', {device}) if {device} >= 0 else torch.device('cpu')")
        if log_report or snapshot or dumps:  # (the Trainer made its out directory when it started)
            lines.append(f"{self.need_import('os')}.makedirs({out}, exist_ok=True)")
        if log_report:
            lines.append("log = []")
            lines.append(f"start = {self.need_import('time')}.time()")
        lines += ["iteration = 0", f"for epoch in range(1, {epochs} + 1):", "    observations = {}",
                  f"    for batch in {train_iter}:"]
        if device is not None:
            lines.append("        batch = [a.to(device) for a in batch]")
        lines += [f"        {optimizer}.{ZERO_GRAD}", f"        loss = {model}(*batch)", "        loss.backward()",
                  f"        {optimizer}.step()", "        iteration += 1",
                  f"        observations.setdefault('main/loss', []).append({model}.loss.item())",
                  f"        observations.setdefault('main/accuracy', []).append({model}.accuracy.item())"]
        if dumps:
            lines.append("        if iteration == 1:")
        for statement, extension, filename, styles in dumps:
            lines += [f"            {c}" for c in self._comments[id(statement)]]
            lines.append("            # extensions.dump_graph: the graph of the first iteration's loss")
            lines += [f"            {line}" for line in dump_graph_lines(f"{self.need_import('os')}.path.join", out,
                                                                          filename, styles)]
        if evaluator is not None:
            lines += [f"    {c}" for c in comments_of["Evaluator"]]
            lines += ["    # extensions.Evaluator: the mean over the test batches, in evaluation mode",
                      f"    {model}.eval()", "    with torch.no_grad():", f"        for batch in {evaluator}:"]
            if device is not None:
                lines.append("            batch = [a.to(device) for a in batch]")
            lines += [f"            {model}(*batch)",
                      f"            observations.setdefault('validation/main/loss', []).append({model}.loss.item())",
                      f"            observations.setdefault('validation/main/accuracy', [])"
                      f".append({model}.accuracy.item())",
                      f"    {model}.train()"]
        if log_report:
            lines += [f"    {c}" for c in comments_of["LogReport"]]
            json = self.need_import("json")
            lines += ["    # extensions.LogReport(): the mean of each observation since the last entry",
                      "    entry = {key: sum(values) / len(values) for key, values in observations.items()}",
                      "    entry.update(epoch=epoch, iteration=iteration, elapsed_time=time.time() - start)",
                      "    log.append(entry)", f"    with open(os.path.join({out}, 'log'), 'w') as f:",
                      f"        {json}.dump(log, f, indent=4)"]
        if printed is not None:
            widths = [max(10, len(e)) for e in printed]
            header = "  ".join(f"{{:{w}}}" for w in widths).format(*printed)
            template = "".join(f"{{:<{w}g}}  " for w in widths)
            values = ", ".join(f"entry[{e!r}]" for e in printed)
            lines += [f"    {c}" for c in comments_of["PrintReport"]]
            lines += ["    # extensions.PrintReport(...)", "    if epoch == 1:", f"        print({header!r})",
                      f"    print({template!r}.format({values}))"]
        if snapshot is not None:
            lines += [f"    {c}" for c in comments_of["snapshot"]]
            indent = "    " if snapshot == "1" else "        "
            lines += ["    # extensions.snapshot(): the model, the optimizer and the position, every "
                      f"{'epoch' if snapshot == '1' else snapshot + ' epochs'}"]
            if snapshot != "1":
                lines.append(f"    if epoch % {snapshot} == 0:")
            lines += [f"{indent}torch.save({{'model': {model}.state_dict(), 'optimizer': {optimizer}.state_dict(), "
                      "'epoch': epoch, 'iteration': iteration},",
                      f"{indent}           os.path.join({out}, 'snapshot_iter_{{}}'.format(iteration)))"]
        if "ProgressBar" in comments_of and comments_of["ProgressBar"]:
            lines += [f"    {c}" for c in comments_of["ProgressBar"]]
            lines.append("    # (extensions.ProgressBar: a display only, not converted)")
        return "\n".join(lines) + "\n"


def _epoch_trigger(node) -> str | None:
    """n of an ``(n, 'epoch')`` trigger, as source text."""
    if isinstance(node, cst.Tuple) and len(node.elements) == 2 and \
            isinstance(node.elements[1].value, cst.SimpleString) and \
            node.elements[1].value.evaluated_value == "epoch":
        return code(node.elements[0].value)
    return None


def _extend_arguments(call: cst.Call):
    values = bind_arguments(call, ["extension", "name", "trigger", "priority", "invoke_before_training"])
    if values is None or set(values) - {"extension", "trigger"}:
        return None, None
    return values.get("extension"), values.get("trigger")


def _ast_dotted(node) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_ast_dotted(node.value)}.{node.attr}"
    return ""
