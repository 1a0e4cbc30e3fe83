"""netport doctor --run: the training statistics of short runs of the fixtures (each run once, a few seconds),
and the findings judged from them at the right layer and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from netport.doctor import diagnose_run

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def run():
    reports = {}

    def report_of(name: str):
        if name not in reports:
            reports[name] = diagnose_run(FIXTURES / name, timeout=240)
        return reports[name]

    return report_of


def activation(report, name: str) -> dict:
    (row,) = [row for row in report.statistics["activations"] if row["name"] == name]
    return row


def test_q4_raw_pixels_saturate_the_hidden_sigmoid(run):
    report = run("q4_raw_pixels_sigmoid.py")
    (finding,) = report.findings
    assert (finding.rule, finding.line, finding.layer["name"]) == ("ND101", 24, "sigmoid after model.hidden")
    # Inputs uniform in 0..255 (E[x^2] = 255^2/3) through torch's default U(+-1/sqrt(1600)) weights give
    # pre-activations of standard deviation sqrt(E[x^2]/3) ~ 85; a sigmoid is within 1e-3 of a bound beyond
    # |z| = ln(999) ~ 6.9, which all but ~6% of them are.
    assert activation(report, "sigmoid after model.hidden")["saturated"] >= 0.9
    assert report.completed and report.statistics["steps"] == 24


def test_q4_scaled_pixels_do_not(run):
    report = run("q4_raw_pixels_sigmoid_fixed.py")
    assert report.findings == []
    # scaled to [0, 1], the pre-activations' standard deviation is ~0.33: |z| > 6.9 is a 20-sigma event
    assert activation(report, "sigmoid after model.hidden")["saturated"] == 0.0


def test_q4_chainer_raw_pixels(run):
    bug, fixed = run("q4_chainer_raw_pixels.py"), run("q4_chainer_raw_pixels_fixed.py")
    (finding,) = bug.findings
    assert (finding.rule, finding.line, finding.layer["name"]) == ("ND101", 17, "sigmoid after model.predictor.l1")
    # Chainer's LeCun-normal init (std 1/sqrt(1600)) makes the pre-activations' std sqrt(E[x^2]) ~ 147
    assert activation(bug, "sigmoid after model.predictor.l1")["saturated"] >= 0.9
    assert fixed.findings == [] and activation(fixed, "sigmoid after model.predictor.l1")["saturated"] == 0.0
    assert [row["name"] for row in fixed.statistics["gradients"]] == ["model.predictor.l1.W", "model.predictor.l2.W"]


def test_q3_zero_init_puts_every_relu_pre_activation_at_exactly_zero(run):
    report = run("q3_relu_zero_init.py")
    # zero weights and biases: every pre-activation is 0*x + 0, exactly
    assert activation(report, "model[1]")["zero_preactivation"] == 1.0
    assert [(f.rule, f.line) for f in report.findings] == [("ND102", 23), ("ND104", 13), ("ND104", 13)]
    assert report.findings[0].layer == {"name": "model[1]", "kind": "relu"}
    # torch's ReLU derivative at 0 is 0: neither the hidden layer nor the output weights (fed zeros) learn
    assert "model[0].weight and model[0].bias" in report.findings[1].message
    assert "model[2].weight was exactly zero at all 20 steps" in report.findings[2].message


def test_q3_random_init_has_no_exact_zero(run):
    report = run("q3_relu_zero_init_fixed.py")
    # with continuous random weights and Gaussian inputs an exact 0 has probability 0: the convention never applies
    row = activation(report, "model[1]")
    assert row["zero_preactivation"] == 0.0 and row["dead_units"] < 0.5
    assert report.findings == []


def test_vanishing_gradient_through_twelve_sigmoids(run):
    report = run("run_deep_sigmoid.py")
    (finding,) = report.findings
    assert (finding.rule, finding.line, finding.layer["name"]) == ("ND103", 9, "model[0]")
    ratios = {row["name"]: row["ratio"] for row in report.statistics["gradients"]}
    # each sigmoid passes back at most 1/4: eleven of them below the last layer shrink it by >= 4^11 ~ 4e6
    assert ratios["model[0].weight"] < 1e-6 and ratios["model[24].weight"] == 1.0


def test_first_nonfinite_value_names_its_step(run):
    report = run("run_exploding_lr.py")
    (finding,) = report.findings
    assert (finding.rule, finding.line) == ("ND105", 12)
    assert finding.message == "the first NaN/Inf of the run: the loss, at step 3"


def test_no_graph_means_no_gradient_and_a_flat_loss(run):
    # the Chainer program of ND003 (loss computed under no_backprop_mode): what the run shows of it
    report = run("nd003_chainer_no_backprop.py")
    assert [(f.rule, f.line) for f in report.findings] == [("ND104", 16), ("ND106", 16)]
    assert "no parameter got a nonzero gradient in 10 steps" in report.findings[0].message
    assert len(set(report.statistics["loss"]["values"])) == 1
