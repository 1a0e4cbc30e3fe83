"""Greedy pretraining and fine-tuning: the data each layer sees, input checks, determinism,
checkpoints and exact resume."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from netport.sae import SAEError, SAETrainer, StackedAutoencoder, TrainConfig, fit  # noqa: E402
from netport.sae import engine, training  # noqa: E402
from netport.shapes.findings import mismatch_message  # noqa: E402


def data(n=120, width=20, seed=0):
    return np.random.RandomState(seed).rand(n, width).astype(np.float32)


def small_model(seed=0, **kwargs):
    torch.manual_seed(seed)
    return StackedAutoencoder([20, 12, 6, 3], **kwargs)


def quiet(**kwargs):
    kwargs.setdefault("progress", False)
    return TrainConfig(**kwargs)


def test_each_layer_pretrains_on_the_codes_of_the_layer_below(monkeypatch):
    seen = []
    original = engine.DenseChain.load

    def spy(chain, batch_data, index):
        seen.append((len(chain.ops), batch_data.clone()))
        return original(chain, batch_data, index)

    monkeypatch.setattr(engine.DenseChain, "load", spy)
    x = data()
    model = small_model()
    fit(model, x, config=quiet(epochs_pre=1, epochs_fine=0, batch_size=200))
    pretraining = [d for ops, d in seen if ops == 2]
    assert [d.shape[1] for d in pretraining] == [20, 12, 6]
    torch.testing.assert_close(pretraining[0], torch.from_numpy(x))
    # layer k is fed layer k-1's codes (computed in inference mode): the model's own transform
    for depth in (1, 2):
        torch.testing.assert_close(pretraining[depth], model.transform(x, depth))


def test_fine_tuning_trains_the_whole_stack_on_the_input(monkeypatch):
    seen = []
    original = engine.DenseChain.load
    monkeypatch.setattr(engine.DenseChain, "load",
                        lambda chain, d, i: seen.append((len(chain.ops), d.clone())) or original(chain, d, i))
    history = fit(small_model(), data(), config=quiet(epochs_pre=0, epochs_fine=2))
    x = data()
    assert {ops for ops, _ in seen} == {6}
    assert all(torch.equal(d, torch.from_numpy(x)) for _, d in seen)
    assert [(r.stage, r.epoch) for r in history.records] == [("finetune", 1), ("finetune", 2)]


def test_training_lowers_the_loss_and_records_each_epoch():
    x = data(400)
    history = fit(small_model(), x, x_val=data(100, seed=1), config=quiet(epochs_pre=3, epochs_fine=3))
    assert [(r.stage, r.layer, r.epoch) for r in history.records][:4] == [
        ("pretrain", 1, 1), ("pretrain", 1, 2), ("pretrain", 1, 3), ("pretrain", 2, 1)]
    for layer in (1, 2, 3):
        losses = [r.loss for r in history.stage("pretrain", layer)]
        assert losses[-1] < losses[0]
    assert all(r.samples_per_s > 0 and r.val_loss is not None for r in history.records)


def test_momentum_sgd_and_bce_train_too():
    x = data(400)
    for config in (quiet(optimizer="momentumsgd", epochs_pre=2, epochs_fine=2),
                   quiet(loss="bce", epochs_pre=2, epochs_fine=2)):
        history = fit(small_model(), x, config=config)
        losses = [r.loss for r in history.stage("finetune")]
        assert np.isfinite(losses).all() and losses[-1] <= losses[0]


def test_same_seed_same_weights_other_seed_other_weights():
    x = data()
    weights = []
    for seed in (3, 3, 4):
        model = small_model(dropout=0.2)
        fit(model, x, config=quiet(epochs_pre=1, epochs_fine=1, noise=0.3, seed=seed))
        weights.append(model.state_dict())
    for key in weights[0]:
        assert torch.equal(weights[0][key], weights[1][key])
    assert any(not torch.equal(weights[0][k], weights[2][k]) for k in weights[0])


@pytest.mark.parametrize("optimizer", ["adam", "momentumsgd"])
def test_the_direct_optimizer_step_trains_exactly_as_optimizer_step(monkeypatch, optimizer):
    x, weights, direct_calls = data(), [], []
    original = training.fused_step

    def spy(opt):
        update = original(opt)
        direct_calls.append(update != opt.step)
        return update

    for direct in (True, False):
        monkeypatch.setattr(training, "fused_step", spy if direct else (lambda opt: opt.step))
        model = small_model()
        fit(model, x, config=quiet(epochs_pre=2, epochs_fine=2, optimizer=optimizer))
        weights.append(model.state_dict())
    assert any(direct_calls)  # the first run did take the direct step
    for key in weights[0]:
        assert torch.equal(weights[0][key], weights[1][key]), key


class Interrupt(Exception):
    pass


# after epoch 3: inside layer 2's pretraining; 6: the end of pretraining; 8: inside fine-tuning
@pytest.mark.parametrize("stop_after", [3, 6, 8])
def test_resume_after_an_interruption_gives_the_uninterrupted_weights(tmp_path, stop_after):
    x = data(130)  # 130 rows, batch 50: a short last batch in every epoch
    settings = dict(epochs_pre=2, epochs_fine=3, batch_size=50, noise=0.2, seed=5)
    straight = small_model(dropout=0.1)
    expected = fit(straight, x, config=quiet(**settings))

    checkpoint = tmp_path / "checkpoint.pt"
    interrupted = small_model(dropout=0.1)
    count = []

    def stop(record):
        count.append(record)
        if len(count) == stop_after:
            raise Interrupt

    with pytest.raises(Interrupt):
        SAETrainer(interrupted, quiet(checkpoint=str(checkpoint), **settings), on_epoch_end=stop).fit(x)
    resumed = small_model(seed=99, dropout=0.1)  # other initial weights: all must come from the checkpoint
    history = SAETrainer(resumed, quiet(checkpoint=str(checkpoint), resume=True, **settings)).fit(x)
    for key, value in straight.state_dict().items():
        assert torch.equal(resumed.state_dict()[key], value), key
    assert [r.loss for r in history.records] == [r.loss for r in expected.records]


def test_resume_refuses_a_checkpoint_of_another_model_or_setting(tmp_path):
    checkpoint = str(tmp_path / "c.pt")
    SAETrainer(small_model(), quiet(epochs_pre=1, epochs_fine=0, checkpoint=checkpoint)).fit(data())
    with pytest.raises(SAEError, match="other architecture .*units"):
        SAETrainer(StackedAutoencoder([20, 12, 5]), quiet(checkpoint=checkpoint, resume=True)).fit(data())
    with pytest.raises(SAEError, match="other settings .*lr"):
        SAETrainer(small_model(), quiet(checkpoint=checkpoint, resume=True, lr=0.5)).fit(data())
    with pytest.raises(SAEError, match="no checkpoint"):
        SAETrainer(small_model(), quiet(checkpoint=str(tmp_path / "none.pt"), resume=True)).fit(data())
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(SAEError, match="not a readable netport checkpoint"):
        SAETrainer(small_model(), quiet(checkpoint=str(tmp_path / "bad.pt"), resume=True)).fit(data())


def test_data_width_is_checked_before_training_in_check_shapes_words():
    model = small_model()
    started = []
    trainer = SAETrainer(model, quiet(), on_epoch_end=started.append)
    with pytest.raises(SAEError) as error:
        trainer.fit(data(width=784))
    message = str(error.value)
    assert message.startswith("error[NPS001] " + mismatch_message("layer 1 encoder", "Linear(20 -> 12)", 784, 20))
    assert "hint:" in message and "[784, ...]" in message
    assert started == []


def test_image_shaped_data_is_flattened_as_chainer_does():
    images = data(60, 16).reshape(60, 1, 4, 4)
    torch.manual_seed(0)
    history = fit(StackedAutoencoder([16, 4]), images, config=quiet(epochs_pre=1, epochs_fine=0))
    assert len(history.records) == 1


@pytest.mark.parametrize("settings, match", [
    (dict(optimizer="rmsprop"), "optimizer"), (dict(loss="l1"), "loss"), (dict(noise=1.0), "noise"),
    (dict(batch_size=0), "batch_size"), (dict(resume=True), "checkpoint"), (dict(device="cuda:7"), "CUDA"),
    (dict(device="gpu"), "device must be"), (dict(device="meta"), "device must be")])
def test_bad_settings_are_refused_before_training(settings, match):
    if "device" in settings and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(SAEError, match=match):
        SAETrainer(small_model(), quiet(**settings))


def test_inputs_of_other_layouts_and_dtypes():
    x = data()
    model = small_model()
    fit(model, x[::-1], config=quiet(epochs_pre=1, epochs_fine=0))  # a numpy view with negative strides
    assert model.transform(np.flip(x, 0)).shape == (120, 3)
    double = small_model().double()  # the data follows the model's dtype
    history = fit(double, x.astype(np.float64), config=quiet(epochs_pre=0, epochs_fine=1))
    assert double.reconstruct(x).dtype == torch.float64 and np.isfinite(history.records[0].loss)


def test_fit_leaves_the_callers_config_alone_and_rejects_unknown_settings():
    config = quiet(epochs_pre=0, epochs_fine=1)
    fit(small_model(), data(), config=config, lr=0.5)
    assert config.lr is None
    with pytest.raises(TypeError):
        fit(small_model(), data(), config=config, learning_rate=0.5)


def test_bce_needs_data_in_the_unit_interval():
    with pytest.raises(SAEError, match=r"data in \[0, 1\]"):
        fit(small_model(), data() * 255, config=quiet(loss="bce"))


def test_resume_refuses_other_data_or_another_device(tmp_path):
    checkpoint = tmp_path / "c.pt"
    fit(small_model(), data(), config=quiet(epochs_pre=1, epochs_fine=0, checkpoint=str(checkpoint)))
    with pytest.raises(SAEError, match="other training data"):
        fit(small_model(), data(seed=7), config=quiet(checkpoint=str(checkpoint), resume=True))
    state = torch.load(checkpoint, weights_only=True)
    state["device"] = "cuda"  # as if written on a GPU: its mask generator's state is not a CPU one
    torch.save(state, checkpoint)
    with pytest.raises(SAEError, match="other device"):
        fit(small_model(), data(), config=quiet(checkpoint=str(checkpoint), resume=True))


def test_bce_needs_a_sigmoid_output_and_falls_back_to_mse_for_deeper_relu_layers(monkeypatch):
    with pytest.raises(SAEError, match="sigmoid output"):
        SAETrainer(small_model(activation="relu"), quiet(loss="bce"))
    losses = []
    original = engine.DenseChain.__init__

    def spy(chain, ops, batch_size, loss="mse", generator=None):
        losses.append((len(ops), loss))
        original(chain, ops, batch_size, loss, generator)

    monkeypatch.setattr(engine.DenseChain, "__init__", spy)
    model = small_model(activation="relu", output_activation="sigmoid", linear_code=True)
    fit(model, data(), config=quiet(loss="bce", epochs_pre=1, epochs_fine=1))
    assert losses == [(2, "bce"), (2, "mse"), (2, "mse"), (6, "bce")]


def test_model_architecture_and_inference_helpers():
    model = StackedAutoencoder([20, 12, 6, 3], activation="relu", linear_code=True, output_activation="sigmoid")
    assert [(layer.encode_activation, layer.decode_activation) for layer in model] == [
        ("relu", "sigmoid"), ("relu", "relu"), ("identity", "relu")]
    x = data(7)
    codes = model.transform(x)
    assert codes.shape == (7, 3) and model.transform(x, depth=1).shape == (7, 12)
    out = model.reconstruct(x)
    assert out.shape == (7, 20) and float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    torch.testing.assert_close(model.decode(codes), out)
    assert model.training  # the helpers restore the mode they found
    with pytest.raises(ValueError, match="units"):
        StackedAutoencoder([784])
    with pytest.raises(ValueError, match="activation"):
        StackedAutoencoder([4, 2], activation="softplus")


def test_initialisation_is_chainers_lecun_normal():
    torch.manual_seed(0)
    model = StackedAutoencoder([2000, 1000], tied=False)
    layer = model[0]
    assert layer.encoder.weight.std().item() == pytest.approx(1 / np.sqrt(2000), rel=0.01)
    assert layer.decoder.weight.std().item() == pytest.approx(1 / np.sqrt(1000), rel=0.01)
    assert not layer.encoder.bias.any() and not layer.decoder_bias.any()


def test_import_netport_gives_the_trainer_without_importing_torch_first():
    import subprocess
    import sys

    code = ("import sys, netport; assert 'torch' not in sys.modules; "
            "from netport.sae import StackedAutoencoder, fit; "
            "assert netport.StackedAutoencoder is StackedAutoencoder and netport.fit is fit")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_resume_refuses_an_epoch_count_the_checkpoint_has_passed(tmp_path):
    checkpoint = str(tmp_path / "c.pt")
    x = data()
    fit(small_model(), x, config=quiet(epochs_pre=2, epochs_fine=2, checkpoint=checkpoint))
    # pretraining is over: more pretraining epochs would be skipped, not trained
    with pytest.raises(SAEError, match=r"layers 1-3 pretrained for 2 epochs each; resuming with epochs_pre=3"):
        fit(small_model(), x, config=quiet(epochs_pre=3, epochs_fine=2, checkpoint=checkpoint, resume=True))
    with pytest.raises(SAEError, match=r"fine-tuned for 2 epochs, more than epochs_fine=1"):
        fit(small_model(), x, config=quiet(epochs_pre=2, epochs_fine=1, checkpoint=checkpoint, resume=True))
    # more fine-tuning epochs train on from the checkpoint
    history = fit(small_model(), x, config=quiet(epochs_pre=2, epochs_fine=4, checkpoint=checkpoint, resume=True))
    assert [(r.stage, r.epoch) for r in history.records][-3:] == [("finetune", 2), ("finetune", 3), ("finetune", 4)]


def test_resume_inside_the_first_layer_may_change_the_pretraining_epochs(tmp_path):
    checkpoint = str(tmp_path / "c.pt")
    x = data()

    def stop(record):
        raise Interrupt

    with pytest.raises(Interrupt):
        SAETrainer(small_model(), quiet(epochs_pre=2, epochs_fine=0, checkpoint=checkpoint), on_epoch_end=stop).fit(x)
    history = fit(small_model(), x, config=quiet(epochs_pre=3, epochs_fine=0, checkpoint=checkpoint, resume=True))
    assert [(r.layer, r.epoch) for r in history.records] == [(k, e) for k in (1, 2, 3) for e in (1, 2, 3)]
