"""Models of the library calls training scripts make, one module per library modelled:

- ``builtins``: Python's builtins, methods of plain values, argparse and functools.partial;
- ``numpy``: numpy, and the arrays of all three libraries (their methods, attributes and the array
  functions torch and Chainer share with numpy);
- ``chainer``: Chainer's data sets, iterators, Trainer loop, optimizers and v1-only APIs;
- ``torch``: torch's DataLoader, tensor creation and optimizers;
- ``data``: the data sets (netport.data.load_mnist, Chainer's get_mnist, get_cifar10/100, get_ptb_words),
  their labels' class counts included;
- ``losses``: Chainer's and torch's losses and metrics, which check the prediction against the target;
- ``recurrent``: recurrent and embedding layers (L.LSTM, L.NStepLSTM, nn.LSTM, nn.Embedding...) and
  Chainer's deconvolution and MLP convolution;
- ``networks``: the Chain/ChainList and Module/ModuleList/Sequential classes a script defines.

Layers (L.Linear, nn.Conv2d, pooling...) are modelled in ``netport.shapes.layers``. Each module
registers its models in ``registry``; ``dispatch`` is the interpreter's way in. A call that has no
model returns UNKNOWN and leaves one note per API (for the ML libraries).
"""
