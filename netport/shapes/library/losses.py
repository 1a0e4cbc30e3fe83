"""Losses and metrics, Chainer's and torch's: the prediction and the target they compare must fit, and a
classifier's output must have a column for every class its labels take.

Each check fires only on what is proven: dimensions the checker knows on both sides (an unknown batch
size never differs), and class counts of labels from a known data set (every class occurs in it). Where
the framework broadcasts (torch's mse_loss, the arithmetic inside F.bernoulli_nll) only what broadcasting
rejects is an error. The predicted messages were checked on Chainer 1.24, 5.4 and 7.8 and torch 2.13.
"""

from __future__ import annotations

from netport.shapes import findings as F_
from netport.shapes.arrays import broadcast, new_array
from netport.shapes.layers import finding_flow, finding_stack, layer_name
from netport.shapes.library.registry import argument, register_models
from netport.shapes.values import UNKNOWN, Array, Layer, LibraryObject, describe_shape

# Chainer's type-check expressions: (function, v1-v4 words, v5+ words)
_SAME_SHAPE = {
    "mean_squared_error": ("MeanSquaredError", "in_types[0].shape == in_types[1].shape", "x0.shape == x1.shape"),
    "mean_absolute_error": ("MeanAbsoluteError", "in_types[0].shape == in_types[1].shape", "x0.shape == x1.shape"),
    "sigmoid_cross_entropy": ("SigmoidCrossEntropy", "in_types[0].shape == in_types[1].shape", "x.shape == t.shape"),
}
# Chainer 7 raises this instead of SoftmaxCrossEntropy's InvalidType (its type check evaluates an Expr as a bool)
_CHAINER7_EXPR_BUG = ("RuntimeError: An Expr instance cannot be evaluated as bool. Please use "
                      "chainer.utils.type_check.eval() to evaluate an expression.")


def _shape(value):
    return value.shape if isinstance(value, Array) and value.shape is not None else None


def _differing_axis(a, b):
    """The first axis where both shapes know the size and differ; "rank" if their ranks differ."""
    if len(a) != len(b):
        return "rank"
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x is not None and y is not None and x != y), None)


def _unbroadcastable_axis(a, b):
    """How far from the end the first pair of sizes broadcasting rejects is (1: the last axis), or None."""
    for back in range(1, min(len(a), len(b)) + 1):
        x, y = a[-back], b[-back]
        if x is not None and y is not None and x != y and 1 not in (x, y):
            return back
    return None


def _dims(shape) -> str:
    return ", ".join("B" if d is None else str(d) for d in shape)


def _loss_finding(interp, api, site, prediction: Array, message, expected, actual, framework, rephrase=None,
                  hint=None, raised_by="Chainer"):
    finding = F_.Finding(
        rule=F_.RULE_LOSS, severity="error", path=site.path, line=site.line, col=site.col, message=message,
        expected=expected, actual=actual, value_flow=finding_flow(interp, prediction),
        called_from=finding_stack(interp, site), framework_message=framework, raised_by=raised_by, hint=hint)
    if rephrase is not None:
        finding.rephrase = rephrase  # the Chainer version whose words to use is decided after the run
    if interp.updates:
        finding.context = (f"the real program reaches this only after about {int(interp.updates):,} optimizer "
                           f"updates with these settings")
    interp.add_finding(finding)


def _producer_hint(interp, prediction: Array, made: int, wanted: int, reason: str) -> str | None:
    """`made` (the prediction's size on the axis that differs) came out of a layer: build it for `wanted`."""
    layer = prediction.produced_by
    if not isinstance(layer, Layer) or layer.out_size != made:
        return None
    name = layer_name(interp, getattr(layer, "weight_of", None) or layer)
    return (f"the prediction is the {made}-wide output of {name} ({layer.label()}, built at {layer.built.site}), "
            f"but {reason}: build {name} with {wanted} outputs")


def _shape_mismatch(interp, api, site, prediction: Array, target: Array, axis, framework_message, rephrase,
                    raised_by):
    """An NPS004 finding for a prediction and a target of shapes that differ on `axis` (or in rank)."""
    y, t = prediction.shape, target.shape
    if axis == "rank":
        made, wanted, hint = len(y), len(t), None
    else:
        made, wanted = y[axis], t[axis]
        hint = _producer_hint(interp, prediction, made, wanted, f"the target is {wanted} wide") \
            if axis == len(y) - 1 else None
    _loss_finding(
        interp, api, site, prediction,
        f"{api} compares a prediction of shape {describe_shape(y)} with a target of shape {describe_shape(t)}",
        {"expr": f"y.shape == t.shape == {describe_shape(t)}", "value": wanted},
        {"expr": f"y.shape == {describe_shape(y)}", "value": made},
        framework_message, rephrase, hint, raised_by)


def _chainer_same_shape(name):
    """F.mean_squared_error(x0, x1), F.mean_absolute_error, F.sigmoid_cross_entropy(x, t): equal shapes."""
    function, old, new = _SAME_SHAPE[name]

    def model(interp, args, kwargs, site):
        y = argument(args, kwargs, 0, "x0" if name.startswith("mean") else "x")
        t = argument(args, kwargs, 1, "x1" if name.startswith("mean") else "t")
        if _shape(y) is not None and _shape(t) is not None:
            axis = _differing_axis(y.shape, t.shape)
            if axis is not None:
                def message(version, y=y.shape, t=t.shape):
                    return (f"InvalidType: Invalid operation is performed in: {function} (Forward) Expect: "
                            f"{old if version[0] <= 4 else new} Actual: ({_dims(y)}) != ({_dims(t)})")
                _shape_mismatch(interp, f"F.{name}", site, y, t, axis, message(interp.chainer_version), message,
                                "Chainer")
                return UNKNOWN
        return _reduced(args, kwargs, y, t, site, "reduce", "mean", "no")
    return model


def _reduced(args, kwargs, y, t, site, keyword, default, elementwise):
    """A scalar loss, or the elementwise one (reduce='no' / reduction='none')."""
    if kwargs.get(keyword, default) == elementwise:
        shapes = [_shape(v) for v in (y, t)]
        if None in shapes:
            return new_array(None, site, "a loss per element")
        return new_array(broadcast(*shapes), site, "a loss per element")
    return new_array((), site, "a loss")


def _bernoulli_nll(interp, args, kwargs, site):
    """F.bernoulli_nll(x, y): x the data in [0, 1], y the pre-activation; `x * y` must broadcast."""
    x, y = argument(args, kwargs, 0, "x"), argument(args, kwargs, 1, "y")
    if _shape(x) is not None and _shape(y) is not None:
        back = _unbroadcastable_axis(y.shape, x.shape)
        if back is not None:
            def message(version, x=x.shape, y=y.shape):
                if version[0] <= 4:  # v1 programs wrap x in a Variable: Chainer's own `*` checks equal shapes
                    return (f"InvalidType: Invalid operation is performed in: _ * _ (Forward) Expect: "
                            f"in_types[0].shape == in_types[1].shape Actual: ({_dims(x)}) != ({_dims(y)})")
                return (f"InvalidType: cannot broadcast inputs of the following shapes: lhs.shape = ({_dims(y)}) "
                        f"rhs.shape = ({_dims(x)})")
            axis = len(y.shape) - back
            _shape_mismatch(interp, "F.bernoulli_nll", site, y, x, axis if len(y.shape) == len(x.shape) else "rank",
                            message(interp.chainer_version), message, "Chainer")
            return UNKNOWN
    return _reduced(args, kwargs, x, y, site, "reduce", "sum", "no")


def _labels_check(interp, api, site, y, t, framework, batch_texts, ndim_texts=None):
    """A classifier's output y (N, C, ...) against integer labels t (N, ...): the same N, labels that
    fit C. Returns True when it reported an error."""
    if _shape(y) is None or _shape(t) is None or len(y.shape) < 2:
        return False
    if len(t.shape) != len(y.shape) - 1:
        if ndim_texts is None:
            return False  # torch: class probabilities of the prediction's shape are a target too
        old, new, hint = ndim_texts
        rephrase = _chainer_rephrase("SoftmaxCrossEntropy", old, new, len(t.shape), len(y.shape) - 1, expr_bug=True)
        _loss_finding(
            interp, api, site, y,
            f"{api} takes class labels of shape {describe_shape(y.shape[:1] + y.shape[2:])}; it is given a target "
            f"of shape {describe_shape(t.shape)}",
            {"expr": "t.ndim == y.ndim - 1", "value": len(y.shape) - 1},
            {"expr": f"t.shape == {describe_shape(t.shape)}", "value": len(t.shape)},
            rephrase(interp.chainer_version), rephrase, hint=hint)
        return True
    n, m = y.shape[0], t.shape[0]
    if n is not None and m is not None and n != m:
        text, rephrase = batch_texts(n, m)
        _loss_finding(interp, api, site, y, f"{api} is given {n} predictions but {m} labels",
                      {"expr": f"t.shape[0] == {m}", "value": m}, {"expr": f"y.shape == {describe_shape(y.shape)}",
                                                                   "value": n},
                      text, rephrase, raised_by=framework)
        return True
    classes, width = t.classes, y.shape[1]
    if classes is not None and width is not None and width < classes:
        if framework == "torch":
            text = f"IndexError: Target L is out of bounds. (L: the first label from {width} to {classes - 1})"
        else:
            text = (f"IndexError: index L is out of bounds for axis 0 with size {width} (L: the first label from "
                    f"{width} to {classes - 1})")
        hint = _producer_hint(interp, y, width, classes, f"the labels take {classes} values (0..{classes - 1})")
        _loss_finding(interp, api, site, y,
                      f"{api} is given labels of {classes} classes (0..{classes - 1}) but a prediction of "
                      f"{width} classes on axis 1",
                      {"expr": f"y.shape[1] >= {classes}", "value": classes},
                      {"expr": f"y.shape == {describe_shape(y.shape)}", "value": width},
                      text, hint=hint, raised_by=framework if framework == "torch" else "numpy")
        return True
    return False


def _chainer_rephrase(function, old, new, actual, expected, expr_bug=False):
    def message(version):
        if expr_bug and version[0] >= 7:
            return _CHAINER7_EXPR_BUG
        return (f"InvalidType: Invalid operation is performed in: {function} (Forward) Expect: "
                f"{old if version[0] <= 4 else new} Actual: {actual} != {expected}")
    return message


def _chainer_softmax_cross_entropy(interp, args, kwargs, site):
    y, t = argument(args, kwargs, 0, "x"), argument(args, kwargs, 1, "t")

    def batch(n, m):
        rephrase = _chainer_rephrase("SoftmaxCrossEntropy", "in_types[0].shape[0] == in_types[1].shape[0]",
                                     "x.shape[0] == t.shape[0]", n, m, expr_bug=True)
        return rephrase(interp.chainer_version), rephrase

    one_hot = ("in_types[1].ndim == in_types[0].ndim - 1", "t.ndim == x.ndim - 1",
               "softmax_cross_entropy takes class indices, one per row: for one-hot rows pass t.argmax(axis=1)")
    if _labels_check(interp, "F.softmax_cross_entropy", site, y, t, "Chainer", batch, one_hot):
        return UNKNOWN
    if kwargs.get("reduce", "mean") == "no":
        return new_array(_shape(t), site, "a loss per example")
    return new_array((), site, "a loss")


def _chainer_accuracy(interp, args, kwargs, site):
    y, t = argument(args, kwargs, 0, "y"), argument(args, kwargs, 1, "t")

    def batch(n, m):
        rephrase = _chainer_rephrase("Accuracy", "in_types[0].shape[0] == in_types[1].shape[0]",
                                     "x.shape[0] == t.shape[0]", n, m)
        return rephrase(interp.chainer_version), rephrase

    if _shape(y) is not None and _shape(t) is not None and len(y.shape) >= 2 \
            and len(t.shape) == len(y.shape) - 1 and None not in (y.shape[0], t.shape[0]) \
            and y.shape[0] != t.shape[0]:
        _labels_check(interp, "F.accuracy", site, y, t, "Chainer", batch)  # (too few classes is no error here)
        return UNKNOWN
    return new_array((), site, "an accuracy")


def _torch_broadcast_loss(name):
    """F.mse_loss / l1_loss / smooth_l1_loss / huber_loss(input, target): broadcast, then elementwise."""
    def model(interp, args, kwargs, site):
        y, t = argument(args, kwargs, 0, "input"), argument(args, kwargs, 1, "target")
        if _shape(y) is not None and _shape(t) is not None:
            back = _unbroadcastable_axis(y.shape, t.shape)
            if back is not None:
                a, b = y.shape[-back], t.shape[-back]
                dimension = max(len(y.shape), len(t.shape)) - back
                text = (f"RuntimeError: The size of tensor a ({a}) must match the size of tensor b ({b}) at "
                        f"non-singleton dimension {dimension}")
                axis = len(y.shape) - back if len(y.shape) == len(t.shape) else "rank"
                _shape_mismatch(interp, f"nn.functional.{name}", site, y, t, axis, text, None, "torch")
                return UNKNOWN
        return _reduced(args, kwargs, y, t, site, "reduction", "mean", "none")
    return model


def _torch_same_size_loss(name, words):
    """F.binary_cross_entropy(input, target) and ..._with_logits: the target must have the input's size."""
    def model(interp, args, kwargs, site):
        y, t = argument(args, kwargs, 0, "input"), argument(args, kwargs, 1, "target")
        if _shape(y) is not None and _shape(t) is not None:
            axis = _differing_axis(y.shape, t.shape)
            if axis is not None:
                sizes = {"target": f"torch.Size([{_dims(t.shape)}])", "input": f"torch.Size([{_dims(y.shape)}])"}
                _shape_mismatch(interp, f"nn.functional.{name}", site, y, t, axis,
                                "ValueError: " + words.format(**sizes), None, "torch")
                return UNKNOWN
        return _reduced(args, kwargs, y, t, site, "reduction", "mean", "none")
    return model


def _torch_classification_loss(name):
    """F.cross_entropy / F.nll_loss(input (N, C, ...), target (N, ...) class indices)."""
    def model(interp, args, kwargs, site):
        y, t = argument(args, kwargs, 0, "input"), argument(args, kwargs, 1, "target")

        def batch(n, m):
            return f"ValueError: Expected input batch_size ({n}) to match target batch_size ({m}).", None

        if _labels_check(interp, f"nn.functional.{name}", site, y, t, "torch", batch):
            return UNKNOWN
        if kwargs.get("reduction", "mean") == "none":
            return new_array(_shape(t), site, "a loss per example")
        return new_array((), site, "a loss")
    return model


_BCE = ("Using a target size ({target}) that is different to the input size ({input}) is deprecated. "
        "Please ensure they have the same size.")
_BCE_LOGITS = "Target size ({target}) must be the same as input size ({input})"
TORCH_LOSSES = {
    "mse_loss": _torch_broadcast_loss("mse_loss"),
    "l1_loss": _torch_broadcast_loss("l1_loss"),
    "smooth_l1_loss": _torch_broadcast_loss("smooth_l1_loss"),
    "huber_loss": _torch_broadcast_loss("huber_loss"),
    "binary_cross_entropy": _torch_same_size_loss("binary_cross_entropy", _BCE),
    "binary_cross_entropy_with_logits": _torch_same_size_loss("binary_cross_entropy_with_logits", _BCE_LOGITS),
    "cross_entropy": _torch_classification_loss("cross_entropy"),
    "nll_loss": _torch_classification_loss("nll_loss"),
}
# nn.MSELoss() and its kin: a module whose call is the functional loss with the module's settings
TORCH_LOSS_MODULES = {"MSELoss": "mse_loss", "L1Loss": "l1_loss", "SmoothL1Loss": "smooth_l1_loss",
                      "HuberLoss": "huber_loss", "BCELoss": "binary_cross_entropy",
                      "BCEWithLogitsLoss": "binary_cross_entropy_with_logits", "CrossEntropyLoss": "cross_entropy",
                      "NLLLoss": "nll_loss"}


def _loss_module(function):
    def model(interp, args, kwargs, site):
        settings = {k: v for k, v in kwargs.items() if k == "reduction"}
        return LibraryObject("LossModule", {"function": function, "settings": settings})
    return model


def call_loss_module(interp, module: LibraryObject, args, kwargs, site):
    return TORCH_LOSSES[module.fields["function"]](interp, args, {**kwargs, **module.fields["settings"]}, site)


def _gaussian_kl_divergence(interp, args, kwargs, site):
    return _reduced(args, kwargs, argument(args, kwargs, 0, "mean"), argument(args, kwargs, 1, "ln_var"), site,
                    "reduce", "sum", "no")


register_models({f"chainer.functions.{name}": _chainer_same_shape(name) for name in _SAME_SHAPE})
register_models({
    "chainer.functions.softmax_cross_entropy": _chainer_softmax_cross_entropy,
    "chainer.functions.accuracy": _chainer_accuracy,
    "chainer.functions.bernoulli_nll": _bernoulli_nll,
    "chainer.functions.gaussian_kl_divergence": _gaussian_kl_divergence,
    "chainer.functions.gaussian_nll": lambda interp, args, kwargs, site: new_array((), site, "a loss"),
})
register_models({f"torch.nn.functional.{name}": model for name, model in TORCH_LOSSES.items()})
register_models({f"torch.nn.{module}": _loss_module(function) for module, function in TORCH_LOSS_MODULES.items()})
