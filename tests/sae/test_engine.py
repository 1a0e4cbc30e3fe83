"""The hand-written training step (netport.sae.engine) against autograd: same outputs, losses and
gradients, for every layer kind, loss, mask and batch shape the trainer uses."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from netport.sae import StackedAutoencoder  # noqa: E402
from netport.sae.engine import DenseChain  # noqa: E402
from netport.sae.training import layer_ops  # noqa: E402

ACT = {"sigmoid": torch.sigmoid, "relu": torch.relu, "tanh": torch.tanh, "identity": lambda z: z}


def autograd_replay(model, layers, x, masks, loss):
    """The chain's forward pass written with torch ops and the chain's own masks, and its loss."""
    chosen, k, h = [model[i] for i in layers], 0, x
    for layer in chosen:
        h = h * masks[k] if masks[k] is not None else h
        h = ACT[layer.encode_activation](torch.nn.functional.linear(h, layer.encoder.weight, layer.encoder.bias))
        k += 1
    for layer in reversed(chosen):
        h = h * masks[k] if masks[k] is not None else h
        h = ACT[layer.decode_activation](torch.nn.functional.linear(h, layer.decoder_weight, layer.decoder_bias))
        k += 1
    if loss == "mse":
        return h, torch.nn.functional.mse_loss(h, x)
    return h, torch.nn.functional.binary_cross_entropy(h, x)


CASES = [
    # (tied, activation, loss, layers, batch rows, buffer rows, dropout, noise, linear_code)
    (True, "sigmoid", "mse", [0, 1, 2], 6, 6, 0.0, 0.0, False),  # fine-tuning, full batch: one tied GEMM
    (True, "sigmoid", "mse", [0, 1, 2], 4, 6, 0.0, 0.0, False),  # the short last batch: two GEMMs
    (False, "sigmoid", "mse", [0, 1, 2], 6, 6, 0.0, 0.0, False),
    (True, "relu", "mse", [0, 1, 2], 6, 6, 0.0, 0.0, True),
    (False, "tanh", "mse", [1], 5, 6, 0.0, 0.0, False),  # pretraining a middle layer
    (True, "sigmoid", "bce", [0, 1, 2], 6, 6, 0.0, 0.0, True),
    (False, "sigmoid", "bce", [2], 6, 6, 0.0, 0.0, False),
    (True, "sigmoid", "mse", [0, 1, 2], 6, 6, 0.3, 0.0, False),  # dropout on every op's input
    (True, "sigmoid", "mse", [0], 6, 6, 0.0, 0.25, False),  # masking noise
    (False, "relu", "mse", [0], 5, 6, 0.3, 0.25, False),  # both, short batch
]


@pytest.mark.parametrize("tied, activation, loss, layers, b, rows, dropout, noise, linear_code", CASES)
def test_chain_matches_autograd(tied, activation, loss, layers, b, rows, dropout, noise, linear_code):
    torch.manual_seed(0)
    model = StackedAutoencoder([7, 5, 4, 3], activation=activation, tied=tied, dropout=dropout,
                               linear_code=linear_code).double()
    with torch.no_grad():
        for param in model.parameters():
            param.normal_(0.0, 0.5)
    data = torch.rand(20, model.units[layers[0]], dtype=torch.float64)
    chain = DenseChain(layer_ops(model, layers, noise), rows, loss, torch.Generator().manual_seed(1))
    index = torch.randperm(20)[:b]
    with torch.no_grad():
        if b < rows:  # a full batch first, so that the rows a short batch leaves alone hold real values
            chain.load(data, torch.arange(20)[-rows:])
            chain.forward(rows)
            chain.backward(rows)
            chain.loss_sum.zero_()
        assert chain.load(data, index) == b
        output = chain.forward(b).clone()
        chain.backward(b)
    masks = [None if m is None else m[:b] for m in chain.masks()]
    if dropout or noise:
        assert any(m is not None and bool((m == 0).any()) for m in masks), "no input was dropped"
    expected_output, expected_loss = autograd_replay(model, layers, data[index], masks, loss)
    params = [param for param, _ in chain.grads()]
    expected_grads = torch.autograd.grad(expected_loss, params)
    torch.testing.assert_close(output, expected_output.detach(), rtol=1e-12, atol=1e-12)
    assert float(chain.loss_sum) / (b * data.shape[1]) == pytest.approx(expected_loss.item(), rel=1e-12)
    for (param, grad), expected in zip(chain.grads(), expected_grads):
        torch.testing.assert_close(grad, expected, rtol=1e-10, atol=1e-12)


def test_tied_layer_has_one_weight_gradient_for_both_uses():
    model = StackedAutoencoder([6, 4], tied=True)
    chain = DenseChain(layer_ops(model, [0]), 3)
    params = [param for param, _ in chain.grads()]
    assert sum(p is model[0].encoder.weight for p in params) == 1
    assert len(params) == 3  # W, b, decoder bias


def test_noise_targets_stay_clean():
    """Masking noise corrupts the layer's input only: the loss compares with the clean batch."""
    torch.manual_seed(0)
    model = StackedAutoencoder([8, 3])
    chain = DenseChain(layer_ops(model, [0], noise=0.5), 4, generator=torch.Generator().manual_seed(0))
    data = torch.rand(4, 8) + 0.5
    with torch.no_grad():
        chain.load(data, torch.arange(4))
        chain.forward(4)
    torch.testing.assert_close(chain.target[:4], data)
    first_input = chain._buf.inp[0][:4]
    assert bool((first_input == 0).any()) and bool((first_input[first_input != 0] == data[first_input != 0]).all())


def test_bce_needs_a_sigmoid_output():
    model = StackedAutoencoder([6, 4], activation="relu")
    with pytest.raises(ValueError, match="sigmoid"):
        DenseChain(layer_ops(model, [0]), 3, loss="bce")
