"""Chainer npz <-> torch state_dict: names, layouts, and equal outputs of converted layers."""

from __future__ import annotations

import io

import numpy as np
import pytest

from netport.weights import WeightConversionError, chainer_to_torch, strip_snapshot_prefix, torch_to_chainer
from tests.conftest import REPO, run_python

chainer = pytest.importorskip("chainer")
torch = pytest.importorskip("torch")
L = chainer.links
F = chainer.functions


def npz_of(link) -> dict[str, np.ndarray]:
    buffer = io.BytesIO()
    chainer.serializers.save_npz(buffer, link)
    buffer.seek(0)
    with np.load(buffer) as archive:
        return {k: archive[k] for k in archive.files}


def load(module: "torch.nn.Module", state: dict[str, np.ndarray]) -> None:
    module.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}, strict=True)


def test_lstm_gate_order_gives_the_same_outputs():
    np.random.seed(0)
    link = L.LSTM(3, 4)
    link.upward.b.array[...] = np.random.randn(16)  # make every gate's bias distinct
    cell = torch.nn.LSTMCell(3, 4)
    load(cell, chainer_to_torch(npz_of(link)))
    xs = [np.random.randn(2, 3).astype(np.float32) for _ in range(3)]
    h = c = torch.zeros(2, 4)
    for x in xs:
        expected = link(x).array
        h, c = cell(torch.from_numpy(x), (h, c))
        np.testing.assert_allclose(h.detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c.detach().numpy(), link.c.array, rtol=1e-5, atol=1e-6)


def test_nstep_lstm_matrices_give_the_same_outputs():
    np.random.seed(1)
    link = L.NStepLSTM(2, 3, 4, 0.0)
    lstm = torch.nn.LSTM(3, 4, num_layers=2)
    load(lstm, chainer_to_torch(npz_of(link)))
    xs = np.random.randn(5, 2, 3).astype(np.float32)  # (time, batch, features)
    hy, cy, ys = link(None, None, [xs[:, b] for b in range(2)])
    out, (h_n, c_n) = lstm(torch.from_numpy(xs))
    for b in range(2):
        np.testing.assert_allclose(out[:, b].detach().numpy(), ys[b].array, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h_n.detach().numpy(), hy.array, rtol=1e-5, atol=1e-6)


class Net(chainer.Chain):
    def __init__(self):
        super().__init__()
        with self.init_scope():
            self.embed = L.EmbedID(7, 4)
            self.conv = L.Convolution2D(1, 3, 3)
            self.bn = L.BatchNormalization(3)
            self.deconv = L.Deconvolution2D(3, 2, 3)
            self.fc = L.Linear(2 * 6 * 6, 5)


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(7, 4)
        self.conv = torch.nn.Conv2d(1, 3, 3)
        self.bn = torch.nn.BatchNorm2d(3, eps=2e-5)
        self.deconv = torch.nn.ConvTranspose2d(3, 2, 3)
        self.fc = torch.nn.Linear(2 * 6 * 6, 5)


def test_linear_conv_deconv_batchnorm_embed_give_the_same_outputs():
    np.random.seed(2)
    net = Net()
    x = np.random.randn(4, 1, 6, 6).astype(np.float32)
    for _ in range(3):  # give the batch-norm statistics values of their own
        net.bn(net.conv(x))
    torch_net = TorchNet().eval()
    load(torch_net, chainer_to_torch(npz_of(net)))
    with chainer.using_config("train", False):
        expected = net.fc(net.deconv(net.bn(net.conv(x)))).array
        embedded = net.embed(np.array([0, 6, 3], dtype=np.int32)).array
    with torch.no_grad():
        t = torch.from_numpy(x)
        got = torch_net.fc(torch_net.deconv(torch_net.bn(torch_net.conv(t))).flatten(1)).numpy()
        got_embedded = torch_net.embed(torch.tensor([0, 6, 3])).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(got_embedded, embedded)


def test_round_trip_is_exact():
    np.random.seed(3)
    model = chainer.ChainList(Net(), L.LSTM(3, 4), L.NStepLSTM(1, 3, 4, 0.0))
    arrays = npz_of(model)
    back = torch_to_chainer(chainer_to_torch(arrays))
    assert sorted(back) == sorted(arrays)
    for key in arrays:
        np.testing.assert_array_equal(back[key], arrays[key], err_msg=key)


def test_snapshot_prefix_keeps_only_the_model():
    arrays = {"updater/model:main/predictor/l1/W": np.ones((2, 3)), "updater/optimizer:main/t": np.array(3),
              "extensions/LogReport/_log": np.array("x")}
    assert list(strip_snapshot_prefix(arrays)) == ["predictor/l1/W"]
    assert list(chainer_to_torch(arrays)) == ["predictor.l1.weight"]


def test_lstm_with_a_hidden_bias_cannot_go_back_to_chainer():
    state = {"weight_ih": np.ones((8, 3)), "weight_hh": np.ones((8, 2)), "bias_ih": np.zeros(8), "bias_hh": np.ones(8)}
    with pytest.raises(WeightConversionError, match="bias_hh is not zero"):
        torch_to_chainer(state)


def test_cli_converts_a_chainer_1_24_model_and_checks_a_template(tmp_path, legacy_python, run_netport):
    result = run_python(legacy_python, ["train_mnist_sae.py", "--unit", "16,2", "--epoch_pre", "1", "--epoch_fine", "1",
                                        "--n_train", "200", "--out", str(tmp_path)], cwd=REPO / "legacy_examples/mnist_sae")
    assert result.returncode == 0, result.stderr
    npz, pt = tmp_path / "sae.model", tmp_path / "sae.pt"
    converted = run_netport("convert-weights", str(npz), "-o", str(pt))
    assert converted.returncode == 0, converted.stderr
    state = torch.load(pt, weights_only=True)
    assert {k: tuple(v.shape) for k, v in state.items()} == {
        "0.encoder.weight": (16, 784), "0.encoder.bias": (16,), "0.decoder_bias": (784,),
        "1.encoder.weight": (2, 16), "1.encoder.bias": (2,), "1.decoder_bias": (16,)}
    with np.load(npz) as original:
        np.testing.assert_array_equal(state["0.encoder.weight"].numpy(), original["0/encoder/W"])

    back = tmp_path / "back.npz"
    assert run_netport("convert-weights", str(pt), "-o", str(back), "--to", "chainer",
                       "--template", str(npz)).returncode == 0
    wrong = tmp_path / "wrong.pt"
    torch.save({"0.encoder.weight": torch.zeros(16, 784), "0.encoder.extra": torch.zeros(1)}, wrong)
    mismatch = run_netport("convert-weights", str(npz), "-o", str(tmp_path / "x.pt"), "--template", str(wrong))
    assert mismatch.returncode == 2
    assert "missing in the weights: 0.encoder.extra" in mismatch.stderr
    assert "not in" in mismatch.stderr and "0.decoder_bias" in mismatch.stderr
    assert not (tmp_path / "x.pt").exists()


def test_cli_rejects_a_file_that_is_not_npz(tmp_path, run_netport):
    bad = tmp_path / "bad.npz"
    bad.write_text("not a zip")
    result = run_netport("convert-weights", str(bad), "-o", str(tmp_path / "out.pt"))
    assert result.returncode == 2 and "not a readable Chainer .npz" in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("layers, in_size", [(1, 3), (2, 3), (2, 4), (3, 5)])
def test_nstep_bilstm_links_are_named_as_nn_lstms_directions(layers, in_size):
    """NStepBiLSTM's links 2k + d are nn.LSTM(bidirectional=True)'s `_l<k>` and `_l<k>_reverse` (they were
    named `_l<2k + d>`, silently, without a template), told from an NStepLSTM by the input widths; the
    outputs agree and the round trip is exact."""
    np.random.seed(4)
    link = L.NStepBiLSTM(layers, in_size, 4, 0.0)
    lstm = torch.nn.LSTM(in_size, 4, num_layers=layers, bidirectional=True)
    arrays = npz_of(link)
    load(lstm, chainer_to_torch(arrays))
    xs = [np.random.randn(n, in_size).astype(np.float32) for n in (5, 3)]
    hy, cy, ys = link(None, None, xs)
    packed = torch.nn.utils.rnn.pack_sequence([torch.from_numpy(x) for x in xs])
    out, (h_n, c_n) = lstm(packed)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out)
    for b, n in enumerate((5, 3)):
        np.testing.assert_allclose(out[:n, b].detach().numpy(), ys[b].array, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h_n.detach().numpy(), hy.array, rtol=1e-5, atol=1e-6)
    back = torch_to_chainer(chainer_to_torch(arrays))
    assert sorted(back) == sorted(arrays)
    for key in arrays:
        np.testing.assert_array_equal(back[key], arrays[key], err_msg=key)
    unidirectional = npz_of(L.NStepLSTM(2 * layers, in_size, 4, 0.0))
    assert not any(k.endswith("_reverse") for k in chainer_to_torch(unidirectional)) or in_size == 4


def test_an_nstep_link_pair_the_widths_cannot_tell_is_warned_and_settled_by_a_template(tmp_path):
    from netport.weights import convert_file

    np.random.seed(5)
    link = L.NStepBiLSTM(1, 4, 4, 0.0)
    with pytest.warns(UserWarning, match="could be a 2-layer NStepLSTM or a 1-layer NStepBiLSTM"):
        assert "weight_ih_l1" in chainer_to_torch(npz_of(link))
    assert "weight_ih_l0_reverse" in chainer_to_torch(npz_of(link), bidirectional=True)
    chainer.serializers.save_npz(tmp_path / "bi.npz", link)
    torch.save(torch.nn.LSTM(4, 4, bidirectional=True).state_dict(), tmp_path / "template.pt")
    shapes = convert_file(tmp_path / "bi.npz", tmp_path / "bi.pt", template=tmp_path / "template.pt")
    assert "weight_hh_l0_reverse" in shapes


def test_cli_names_the_uninitialised_parameters_of_an_npz(tmp_path, run_netport):
    """A model saved before its first forward pass holds None for L.Linear(None, n)'s W: the message says so
    (it said "not a readable Chainer .npz")."""
    chainer.serializers.save_npz(tmp_path / "lazy.npz", chainer.Chain(fc=L.Linear(None, 3), out=L.Linear(3, 2)))
    result = run_netport("convert-weights", str(tmp_path / "lazy.npz"), "-o", str(tmp_path / "out.pt"))
    assert result.returncode == 2 and "fc/W is an uninitialised parameter" in result.stderr
    assert "save the model after a forward pass" in result.stderr and not (tmp_path / "out.pt").exists()


def sae_state_dict() -> dict:
    return {"0.encoder.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3), "0.encoder.bias": torch.ones(2),
            "0.decoder_bias": torch.zeros(3)}


def test_cli_infers_the_direction_from_the_source_files_content(tmp_path, capsys):
    """No --to: a torch file becomes an npz and an npz a torch file, whatever the files are called."""
    from netport.cli import main

    torch.save(sae_state_dict(), tmp_path / "sae.pt")
    assert main(["convert-weights", str(tmp_path / "sae.pt"), "-o", str(tmp_path / "sae.npz")]) == 0
    with np.load(tmp_path / "sae.npz") as archive:
        assert sorted(archive.files) == ["0/decoder_bias", "0/encoder/W", "0/encoder/b"]
        np.testing.assert_array_equal(archive["0/encoder/W"], sae_state_dict()["0.encoder.weight"].numpy())
    assert "Chainer .npz" in capsys.readouterr().err

    (tmp_path / "weights.bin").write_bytes((tmp_path / "sae.npz").read_bytes())  # the suffix says nothing
    assert main(["convert-weights", str(tmp_path / "weights.bin"), "-o", str(tmp_path / "back.pt")]) == 0
    back = torch.load(tmp_path / "back.pt", weights_only=True)
    assert sorted(back) == sorted(sae_state_dict())
    assert "torch state_dict" in capsys.readouterr().err

    (tmp_path / "misnamed.npz").write_bytes((tmp_path / "sae.pt").read_bytes())  # a torch file named .npz
    assert main(["convert-weights", str(tmp_path / "misnamed.npz"), "-o", str(tmp_path / "again.npz")]) == 0
    with np.load(tmp_path / "again.npz") as archive:
        assert sorted(archive.files) == ["0/decoder_bias", "0/encoder/W", "0/encoder/b"]


def test_cli_refuses_an_output_named_for_the_other_format(tmp_path, capsys):
    """`convert-weights sae.pt -o x.pt`: a torch file converts to an npz, which a .pt name would hide."""
    from netport.cli import main

    torch.save(sae_state_dict(), tmp_path / "sae.pt")
    assert main(["convert-weights", str(tmp_path / "sae.pt"), "-o", str(tmp_path / "x.pt")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "name the output x.npz" in error and "Traceback" not in error
    assert not (tmp_path / "x.pt").exists()
    np.savez(tmp_path / "w.npz", **{"0/encoder/W": np.zeros((2, 3), np.float32)})
    assert main(["convert-weights", str(tmp_path / "w.npz"), "-o", str(tmp_path / "y.npz")]) == 2
    assert "name the output y.pt" in capsys.readouterr().err


@pytest.mark.parametrize("source_name, to, says", [
    ("sae.pt", "torch", "is a torch file already"),
    ("sae.npz", "chainer", "is a Chainer .npz already"),
])
def test_cli_refuses_a_to_the_source_contradicts(tmp_path, capsys, source_name, to, says):
    from netport.cli import main

    torch.save(sae_state_dict(), tmp_path / "sae.pt")
    np.savez(tmp_path / "sae.npz", **{"0/encoder/W": np.zeros((2, 3), np.float32)})
    output = tmp_path / "out"
    assert main(["convert-weights", str(tmp_path / source_name), "-o", str(output), "--to", to]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"netport convert-weights: error: {tmp_path / source_name}: {says}")
    assert err.count("\n") == 1 and not output.exists()


def test_cli_output_that_cannot_be_written_gives_one_line(tmp_path, capsys):
    from netport.cli import main

    torch.save(sae_state_dict(), tmp_path / "sae.pt")
    output = tmp_path / "sae.pt" / "sae.npz"  # inside a regular file
    assert main(["convert-weights", str(tmp_path / "sae.pt"), "-o", str(output)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"netport convert-weights: error: {tmp_path / 'sae.pt'}: ") and err.count("\n") == 1


def test_cli_rejects_a_zip_that_holds_more_than_arrays(tmp_path, capsys):
    """np.load hands such members out as bytes, which ended in torch's TypeError on numpy.bytes_."""
    import zipfile

    from netport.cli import main

    with zipfile.ZipFile(tmp_path / "mixed.npz", "w") as archive:
        archive.writestr("notes.txt", "not an array")
    assert main(["convert-weights", str(tmp_path / "mixed.npz"), "-o", str(tmp_path / "out.pt")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'mixed.npz'}: not a Chainer .npz (it holds notes.txt, which is not an .npy array)" in err
    assert err.count("\n") == 1 and not (tmp_path / "out.pt").exists()
