"""`netport train-sae` as a user runs it: what it writes, resuming, and one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("matplotlib")

TINY = ["--units", "32,2", "--epochs-pre", "1", "--epochs-fine", "2", "--n-train", "300", "--no-progress",
        "--device", "cpu"]
PNG = b"\x89PNG\r\n\x1a\n"


def test_train_sae_writes_model_history_and_plots(run_netport, tmp_path):
    out = tmp_path / "run"
    result = run_netport("train-sae", *TINY, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "pretrain layer 1 epoch 1 loss" in result.stdout and "finetune epoch 2 loss" in result.stdout
    for name in ("sae.pt", "sae.json", "sae.npz", "history.json", "checkpoint.pt"):
        assert (out / name).stat().st_size > 0, name
    for name in ("loss.png", "reconstructions.png", "codes.png"):  # codes.png: the code is 2-D
        assert (out / name).read_bytes()[:8] == PNG, name
    summary = json.loads((out / "history.json").read_text())
    assert summary["architecture"]["units"] == [784, 32, 2]
    assert [(e["stage"], e["layer"], e["epoch"]) for e in summary["epochs"]] == [
        ("pretrain", 1, 1), ("pretrain", 2, 1), ("finetune", None, 1), ("finetune", None, 2)]
    assert summary["test"]["squared_error_per_image"] == pytest.approx(summary["test"]["mse"] * 784)
    with np.load(out / "sae.npz") as npz:
        assert sorted(npz.files) == ["0/decoder_bias", "0/encoder/W", "0/encoder/b",
                                     "1/decoder_bias", "1/encoder/W", "1/encoder/b"]


def test_no_codes_plot_for_wider_codes(run_netport, tmp_path):
    result = run_netport("train-sae", "--units", "16,8", "--epochs-pre", "0", "--epochs-fine", "1", "--n-train", "200",
                         "--no-progress", "--untied", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "codes.png").exists() and (tmp_path / "loss.png").exists()
    with np.load(tmp_path / "sae.npz") as npz:
        assert "0/decoder/W" in npz.files


def test_resume_continues_to_the_weights_of_an_uninterrupted_run(run_netport, tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert run_netport("train-sae", *TINY, "--out", str(straight)).returncode == 0
    short = [a if a != "2" else "1" for a in TINY]  # the same run stopped after fine-tuning epoch 1
    assert run_netport("train-sae", *short, "--out", str(resumed)).returncode == 0
    result = run_netport("train-sae", *TINY, "--out", str(resumed), "--resume")
    assert result.returncode == 0, result.stderr
    assert "finetune epoch 2" in result.stdout and "pretrain layer" not in result.stdout
    import torch

    for key, value in torch.load(straight / "sae.pt").items():
        assert torch.equal(torch.load(resumed / "sae.pt")[key], value), key
    first = json.loads((straight / "history.json").read_text())
    second = json.loads((resumed / "history.json").read_text())
    assert [e["loss"] for e in second["epochs"]] == [e["loss"] for e in first["epochs"]]
    assert second["test"] == first["test"]


@pytest.mark.parametrize("args, message", [
    (["--units", "32,x"], "--units takes widths"),
    (["--data", "/nonexistent/mnist.npz"], "no such file"),
    (["--resume"], "no checkpoint to resume from"),
    (["--optimizer", "adam", "--noise", "1.5"], "noise must be in"),
])
def test_bad_input_is_one_line_and_exit_2(run_netport, tmp_path, args, message):
    result = run_netport("train-sae", *TINY, "--out", str(tmp_path / "o"), *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
