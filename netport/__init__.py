"""netport: bring legacy Chainer programs back to life.

Capabilities, one package each: ``netport.data`` (MNIST loading), ``netport.migrate`` (Chainer v1 ->
Chainer 5+ / PyTorch source rewriting), ``netport.shapes`` (layer-shape checking), ``netport.weights``
(npz <-> state_dict), ``netport.verify`` (layer-by-layer comparison) and ``netport.sae`` (the
stacked-autoencoder trainer, whose main names are also reachable as ``netport.StackedAutoencoder``,
``netport.fit`` ... without importing torch until they are used).
"""

__version__ = "0.1.0"

_SAE_NAMES = {"StackedAutoencoder", "TrainConfig", "SAETrainer", "fit", "export_chainer_npz", "import_chainer_npz"}


def __getattr__(name: str):
    if name in _SAE_NAMES:
        from netport import sae

        return getattr(sae, name)
    raise AttributeError(f"module 'netport' has no attribute {name!r}")


def __dir__() -> list[str]:
    # the lazily loaded names are attributes too, so that dir() and completion in a REPL show them
    return sorted(set(globals()) | _SAE_NAMES)
