"""`netport train-sae` and the netport.sae API at their rough edges: where the output goes, resuming
with the checkpoint's settings, --units, data outside what a sigmoid reconstructs, --help, docstrings
and the progress bar."""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import io
import os
import shutil
import stat
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("matplotlib")

import netport.data  # noqa: E402
import netport.sae  # noqa: E402
from netport import cli  # noqa: E402
from netport.data import MNIST  # noqa: E402
from netport.sae import SAEError, SAETrainer, StackedAutoencoder, TrainConfig, fit  # noqa: E402

TINY = ["--epochs-pre", "1", "--epochs-fine", "1", "--no-progress", "--device", "cpu"]
SMALL = ["--units", "8,2", "--n-train", "100", *TINY]  # what the --out tests would train, were --out not checked


def run_cli(*args: str) -> tuple[int, str, str]:
    """Run the CLI in this process (no interpreter start-up): exit status, stdout, stderr."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = cli.main(list(args))
    return status, stdout.getvalue(), stderr.getvalue()


def keras_npz(path: Path, n_train: int = 200, n_test: int = 50) -> Path:
    rng = np.random.default_rng(0)
    np.savez(path, x_train=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
             y_train=rng.integers(0, 10, n_train), x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
             y_test=np.arange(n_test) % 10)
    return path


def tiny_mnist(scale: float = 1.0, poison: float | None = None) -> MNIST:
    """A 784-wide MNIST stand-in for load_mnist: 200 train and 50 test images, times ``scale``, with
    one training value replaced by ``poison``."""
    rng = np.random.default_rng(1)
    x_train = rng.random((200, 784), dtype=np.float32) * np.float32(scale)
    if poison is not None:
        x_train[3, 5] = poison
    x_test = rng.random((50, 784), dtype=np.float32) * np.float32(scale)
    return MNIST(x_train, np.arange(200) % 10, x_test, np.arange(50) % 10, "test stand-in")


# -- 1. --out is checked before anything trains ---------------------------------------------------


def assert_refused_before_training(status: int, stdout: str, stderr: str, *words: str) -> None:
    assert status == 2
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert "epoch" not in stdout and "units:" not in stdout  # nothing loaded, nothing trained
    for word in words:
        assert word in stderr, (word, stderr)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
@pytest.mark.parametrize("out, reason", [
    ("/proc/netport-foo", "cannot create the directory"),
    ("/proc", "cannot write a file there"),  # an existing directory that not even root can write into
])
def test_out_in_proc_is_refused_before_training(out, reason):
    assert_refused_before_training(*run_cli("train-sae", *SMALL, "--out", out), f"--out {out}: ", reason)


def test_out_under_a_regular_file_is_refused_before_training(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("not a directory\n")
    assert_refused_before_training(*run_cli("train-sae", *SMALL, "--out", str(afile / "sub")),
                                   f"--out {afile / 'sub'}: ", f"{afile} is not a directory")
    assert_refused_before_training(*run_cli("train-sae", *SMALL, "--out", str(afile)),
                                   f"--out {afile}: ", "is not a directory")
    assert afile.read_text() == "not a directory\n"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root writes into a read-only directory anyway; /proc stands in for it above")
def test_out_in_a_read_only_directory_is_refused_before_training(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert_refused_before_training(*run_cli("train-sae", *SMALL, "--out", str(locked)),
                                       f"--out {locked}: ", "cannot write a file there")
    finally:
        locked.chmod(stat.S_IRWXU)


def test_the_write_probe_leaves_nothing_behind(tmp_path, monkeypatch):
    def load_mnist(path=None):
        raise netport.data.MNISTError("x.npz", "stop after the --out check")

    monkeypatch.setattr(netport.data, "load_mnist", load_mnist)
    status, _, stderr = run_cli("train-sae", *SMALL, "--out", str(tmp_path / "new" / "run"))
    assert status == 2 and "stop after the --out check" in stderr
    assert list((tmp_path / "new" / "run").iterdir()) == []


# -- 2. --resume takes the checkpoint's settings ---------------------------------------------------


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory):
    """The README's first run, tiny: --data, an architecture and a loss that are not the defaults."""
    root = tmp_path_factory.mktemp("readme")
    keras_npz(root / "mnist.npz")
    cwd = os.getcwd()
    os.chdir(root)  # --data and --out relative, as in the README
    try:
        status, stdout, stderr = run_cli("train-sae", "--data", "mnist.npz", "--units", "8,2", "--activation",
                                         "relu", "--linear-code", "--output-activation", "sigmoid", "--loss", "bce",
                                         "--n-train", "150", "--batch-size", "50", *TINY, "--out", "run1")
    finally:
        os.chdir(cwd)
    assert status == 0, stderr
    return root / "run1", stdout


@pytest.fixture
def run1(readme_run, tmp_path, monkeypatch):
    """A copy of the README run, resumed from another working directory (--data was relative there)."""
    copy = tmp_path / "run1"
    shutil.copytree(readme_run[0], copy)
    monkeypatch.chdir(tmp_path)
    return copy


def test_resume_takes_the_architecture_settings_and_data_from_the_checkpoint(run1):
    status, stdout, stderr = run_cli("train-sae", "--out", str(run1), "--epochs-fine", "3", "--resume",
                                     "--no-progress")
    assert status == 0, stderr
    assert "units: 784-8-2  train: 150  test: 50" in stdout and "device: cpu  loss: bce" in stdout
    assert "pretrain layer" not in stdout and "finetune epoch 1 " not in stdout
    assert "finetune epoch 2 " in stdout and "finetune epoch 3 " in stdout
    model = netport.sae.load_model(run1)
    assert model.architecture() == {"units": [784, 8, 2], "activation": "relu", "linear_code": True,
                                    "output_activation": "sigmoid", "tied": True, "dropout": 0.0}


def test_resume_accepts_the_checkpoints_own_values_given_again(run1):
    status, stdout, stderr = run_cli("train-sae", "--out", str(run1), "--resume", "--epochs-fine", "2",
                                     "--units", "8,2", "--activation", "relu", "--linear-code", "--loss", "bce",
                                     "--batch-size", "50", "--tied", "--no-progress")
    assert status == 0, stderr
    assert "finetune epoch 2 " in stdout


@pytest.mark.parametrize("option, message", [
    (["--activation", "sigmoid"], "--activation: the checkpoint has relu, the command line says sigmoid"),
    (["--units", "16,2"], "--units: the checkpoint has 8,2, the command line says 16,2"),
    (["--untied"], "--untied: the checkpoint has tied decoders, the command line says untied decoders"),
    (["--loss", "mse"], "--loss: the checkpoint has bce, the command line says mse"),
    (["--lr", "0.01"], "--lr: the checkpoint has the optimizer's default, the command line says 0.01"),
    (["--n-train", "100"], "--n-train: the checkpoint has 150, the command line says 100"),
])
def test_resume_names_the_option_that_conflicts_with_the_checkpoint(run1, option, message):
    status, stdout, stderr = run_cli("train-sae", "--out", str(run1), "--resume", *option, "--no-progress")
    assert_refused_before_training(status, stdout, stderr, f"{run1 / 'checkpoint.pt'}: {message}",
                                   "drop the option or use another --out")


# -- 3. --units lists the widths after the input ---------------------------------------------------


def test_units_starting_with_the_input_width_are_refused(tmp_path):
    status, stdout, stderr = run_cli("train-sae", "--units", "784,64,2", *TINY, "--out", str(tmp_path))
    assert status == 2 and "epoch" not in stdout
    assert stderr.strip() == ("netport train-sae: error: --units 784,64,2: the first width equals the data's width "
                              "784; --units lists the layers after the input (try --units 64,2)")


def test_units_help_says_the_input_width_comes_from_the_data():
    assert "after the input" in " ".join(train_sae_help().split())


# -- 4. data the model cannot reconstruct ------------------------------------------------------------


def unit_data(n=300, seed=0):
    return np.random.default_rng(seed).random((n, 784), dtype=np.float32)


def quiet(**settings):
    return TrainConfig(**{"epochs_pre": 0, "epochs_fine": 1, "progress": False, "device": "cpu", **settings})


def model(**kwargs):
    torch.manual_seed(0)
    return StackedAutoencoder([784, 8, 2], **kwargs)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("which", ["training", "validation"])
def test_nan_or_inf_in_the_data_is_refused(bad, which):
    x, val = unit_data(), unit_data(50, seed=1)
    (x if which == "training" else val)[7, 100] = bad
    with pytest.raises(SAEError, match=rf"^the {which} data holds 1 NaN or infinite value \(first in row 7\)"):
        fit(model(), x, x_val=val, config=quiet())


def test_uint8_data_is_scaled_like_mnist_with_a_warning():
    pixels = np.random.default_rng(0).integers(0, 256, (300, 784), dtype=np.uint8)
    scaled = pixels.astype(np.float32) * np.float32(1.0 / 255.0)  # as load_mnist and Chainer scale
    with pytest.warns(netport.sae.SAEWarning, match=r"^uint8 data scaled to \[0, 1\] by /255$"):
        from_pixels = fit(trained := model(), pixels, x_val=pixels[:50], config=quiet())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_floats = fit(model(), scaled, x_val=scaled[:50], config=quiet())
    assert [r.loss for r in from_pixels.records] == [r.loss for r in from_floats.records]
    assert [r.val_loss for r in from_pixels.records] == [r.val_loss for r in from_floats.records]
    with pytest.warns(netport.sae.SAEWarning, match="uint8 data scaled"):
        assert torch.equal(trained.reconstruct(pixels[:5]), trained.reconstruct(scaled[:5]))


def test_data_beyond_a_sigmoid_output_warns_and_suggests_scaling():
    pixels = unit_data() * 255
    pixels[0, :2] = 0, 255
    with pytest.warns(netport.sae.SAEWarning) as caught:
        history = fit(model(), pixels, config=quiet())
    assert len(caught) == 1 and caught[0].filename == __file__  # the line that called fit
    message = str(caught[0].message)
    assert message.startswith("the training data spans [0, 255], but the output layer is a sigmoid")
    assert "x / 255" in message
    assert np.isfinite(history.records[0].loss)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an output that reaches the data's range: nothing to say
        fit(model(output_activation="identity"), unit_data() * 255, config=quiet())


@pytest.mark.parametrize("which", ["training", "validation"])
def test_bce_refuses_data_outside_the_unit_interval_and_suggests_scaling(which):
    x, val = unit_data(), unit_data(50, seed=1)
    if which == "training":
        x = x * 255
    else:
        val = val * 255
    with pytest.raises(SAEError, match=rf"loss 'bce' needs data in \[0, 1\]; the {which} data spans .*/ 255"):
        fit(model(), x, x_val=val, config=quiet(loss="bce"))


def test_cli_refuses_nan_data_in_one_line(monkeypatch, tmp_path):
    monkeypatch.setattr(netport.data, "load_mnist", lambda path=None: tiny_mnist(poison=np.nan))
    status, stdout, stderr = run_cli("train-sae", "--units", "8,2", *TINY, "--out", str(tmp_path))
    assert status == 2 and "epoch" not in stdout
    assert stderr.strip() == ("netport train-sae: error: the training data holds 1 NaN or infinite value "
                              "(first in row 3); clean or drop those samples")


def test_cli_prints_data_warnings_as_one_line(monkeypatch, tmp_path):
    monkeypatch.setattr(netport.data, "load_mnist", lambda path=None: tiny_mnist(scale=255))
    status, _, stderr = run_cli("train-sae", "--units", "8,2", "--epochs-pre", "0", *TINY[2:],
                                "--out", str(tmp_path))
    assert status == 0, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 2  # the training data's warning and the test data's
    assert all(line.startswith("netport train-sae: warning: the ") and "/ 255" in line for line in lines)


# -- 5. --help shows the defaults ---------------------------------------------------------------------


def train_sae_help() -> str:
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout), pytest.raises(SystemExit):
        cli.build_parser().parse_args(["train-sae", "--help"])
    return stdout.getvalue()


def test_help_shows_every_default():
    text = " ".join(train_sae_help().split())
    for shown in ("--units N,N,... hidden widths", "(default: 1000,500,250,2)", "(default: 10)", "(default: 100)",
                  "(default: adam)", "(default: the optimizer's)", "(default: sigmoid)", "(default: mse)",
                  "(default: 0)", "(default: 0.0)", "(default: auto)", "(default: result)",
                  "(default: --activation's)", "(default: the embedded 5,000-digit subset)", "(default: all)"):
        assert shown in text, shown
    assert "default: None" not in text


def test_help_defaults_are_the_librarys():
    config, architecture = TrainConfig(), inspect.signature(StackedAutoencoder).parameters
    for name, value in cli.TRAIN_SAE_DEFAULTS.items():
        if name in architecture and name != "units":  # the library has no default units list
            assert value == architecture[name].default, name
        elif name in {f.name for f in dataclasses.fields(TrainConfig)} and name != "device":
            assert value == getattr(config, name), name
    assert cli.TRAIN_SAE_DEFAULTS["units"] == "1000,500,250,2"  # the seed program's 784-1000-500-250-2


# -- 6. docstrings of our own -------------------------------------------------------------------------


@pytest.mark.parametrize("name", netport.sae.__all__)
def test_public_classes_document_what_they_override(name):
    cls = getattr(netport.sae, name)
    if not inspect.isclass(cls):
        return
    for attribute, value in vars(cls).items():
        if attribute.startswith("_") or not callable(value):
            continue
        inherited = any(getattr(base, attribute, None) is not None for base in cls.__mro__[1:])
        if inherited:
            assert value.__doc__, f"{name}.{attribute} shows its base class's docstring"


@pytest.mark.parametrize("cls", [TrainConfig, netport.sae.EpochRecord, netport.sae.History])
def test_dataclasses_say_more_than_their_generated_signature(cls):
    assert not cls.__doc__.startswith(f"{cls.__name__}(")


def test_help_of_the_model_describes_its_own_forward():
    assert "Should be overridden" not in inspect.getdoc(StackedAutoencoder.forward)
    assert "Should be overridden" not in inspect.getdoc(netport.sae.AutoencoderLayer.forward)


# -- 7. the progress bar's loss ---------------------------------------------------------------------


class RecordingBar:
    """Stands in for tqdm: keeps every postfix the trainer sets."""

    made: list[RecordingBar] = []

    def __init__(self, total, **options):
        self.total, self.n, self.disable, self.postfixes = total, 0, options.get("disable", False), []
        RecordingBar.made.append(self)

    def update(self, n):
        self.n += n

    def set_postfix(self, **postfix):
        self.postfixes.append((self.n, postfix["loss"]))

    def close(self):
        pass


@pytest.mark.parametrize("interval, expected_updates", [(0.0, 30), (3600.0, 0)])
def test_progress_loss_refreshes_at_an_interval_within_the_epoch(monkeypatch, interval, expected_updates):
    import tqdm.auto

    monkeypatch.setattr(tqdm.auto, "tqdm", RecordingBar)
    monkeypatch.setattr(RecordingBar, "made", [])
    trainer = SAETrainer(model(), quiet(batch_size=10, progress=True))
    trainer.progress_interval_s = interval
    history = trainer.fit(unit_data())  # 300 rows: 30 batches
    (bar,) = RecordingBar.made
    assert len(bar.postfixes) == expected_updates
    if expected_updates:
        assert [n for n, _ in bar.postfixes] == list(range(10, 301, 10))
        assert len({loss for _, loss in bar.postfixes}) > 1  # the running loss moves
        assert bar.postfixes[-1][1] == f"{history.records[0].loss:.5f}"


def test_progress_interval_is_half_a_second_by_default():
    assert SAETrainer.progress_interval_s == 0.5


# -- 8. the files written -------------------------------------------------------------------------


def test_wrote_line_lists_every_file_including_the_checkpoint(readme_run):
    out, stdout = readme_run
    wrote = [line for line in stdout.splitlines() if line.startswith("wrote ")]
    assert len(wrote) == 1
    listed = wrote[0].removeprefix("wrote ").split(", ")
    assert "run1/checkpoint.pt" in listed  # --out run1, as given
    assert sorted(Path(p).name for p in listed) == sorted(p.name for p in out.iterdir())

