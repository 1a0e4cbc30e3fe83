"""Rules for the PyTorch target (``netport migrate --to torch``). They run after the Chainer 5
rules, on Chainer 5 idiom. So far they cover model definitions (modules, links, parameters,
functions); the rest of a training script is marked for manual work by the residual sweep."""
