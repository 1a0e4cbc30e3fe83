"""netport: bring legacy Chainer programs back to life.

Capabilities, one package each: ``netport.data`` (MNIST loading), and, as their issues land,
``netport.migrate`` (Chainer v1 -> Chainer 5+ / PyTorch source rewriting), ``netport.shapes``
(layer-shape checking) and ``netport.sae`` (stacked-autoencoder trainer).
"""

__version__ = "0.1.0"
