"""`netport doctor --run`: run the program a few dozen optimizer steps with hooks (netport/doctor/_doctor_runner.py,
on check-shapes' run machinery) and judge the training statistics it gathered.

The thresholds, and why:
* saturation (ND101): an output within 1e-3 of its bound has a derivative under 1e-3 (sigmoid: y(1-y), at most
  0.25 at the centre; tanh: 1-y^2 < 2e-3), so it passes back at most 1/250 of what a centred unit would.
  A layer with at least half its outputs there has stopped learning for the most part.
* dead ReLU (ND102): a unit that was never positive over the run gets no gradient at all (the derivative is 0
  on the whole negative side): warned when it is at least half of a layer. Exact-zero pre-activations: with
  real-valued weights and inputs, a pre-activation exactly 0 has probability 0, so the convention for ReLU's
  derivative at 0 (0, 0.5 or 1) changes nothing -- unless weights or inputs are exactly zero (zero
  initialisation). At 1% or more of the pre-activations it decides their gradient: torch and Chainer take 0.
* gradient-norm ratio (ND103): under one learning rate a layer moves in proportion to its gradient norm; a layer
  whose mean gradient norm is below 1e-4 of another's needs 10,000 steps to move as far as that one does in one.
* zero gradient (ND104): a parameter whose gradient is exactly zero at every step never changes.
* the first NaN/Inf (ND105): always reported, with its layer and step.
* loss (ND106): with a small enough step, gradient descent lowers the training loss on average; over at least
  8 steps, a mean of the last quarter of the losses not below that of the first quarter says it does not.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from netport.doctor.report import (
    RULE_DEAD_RELU, RULE_GRADIENT_RATIO, RULE_LOSS_FLAT, RULE_NONFINITE, RULE_SATURATION, RULE_ZERO_GRADIENT,
    DoctorReport,
)
from netport.shapes.dynamic import check_parses, display_path, run_runner
from netport.shapes.findings import Finding
from netport.shapes.interpreter import AnalysisError, cannot_parse

RUNNER = Path(__file__).with_name("_doctor_runner.py")
MAX_STEPS = 30  # enough for the loss trend and for every layer to get a gradient; a run of seconds
SATURATED_SHARE = 0.5
DEAD_SHARE = 0.5
EXACT_ZERO_SHARE = 0.01
GRADIENT_RATIO = 1e-4
MIN_LOSS_VALUES = 8


def run_doctor(script: Path, script_args: list[str], python=None, timeout: float = 120.0,
               max_steps: int | None = None) -> DoctorReport:
    if not script.is_file():
        raise AnalysisError(f"{script}: no such file")
    check_parses(script)
    start = time.perf_counter()
    result, _ = run_runner(RUNNER, script, {"args": script_args, "max_steps": max_steps or MAX_STEPS,
                                            "frameworks": frameworks_used(script)}, python, timeout, "the run")
    report = DoctorReport(display_path(str(script)), "run")
    if result["status"] == "error" and result.get("exception", "").endswith("SyntaxError"):
        frame = result.get("frame") or {"file": str(script), "line": 1}
        raise cannot_parse(display_path(frame["file"]), frame["line"], 1, result.get("message", ""))
    report.findings = judge(result)
    report.statistics = summarise(result)
    report.completed = result["status"] in ("completed", "step_limit", "exited")
    if result["status"] == "error":
        frame = result.get("frame") or {"file": str(script), "line": 1}
        report.notes.append((f"{display_path(frame['file'])}:{frame['line']}",
                             f"the run stopped with {result['exception']}: {result['message'][:300]}"))
    elif result["status"] == "exited" and result.get("exit_code"):
        report.notes.append((report.script, f"the program exited with status {result['exit_code']}"))
    if not result.get("steps"):
        report.notes.append((report.script, "no optimizer step ran: no gradient statistics"))
    report.elapsed = time.perf_counter() - start
    return report


_LOCAL_IMPORT = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", re.MULTILINE)


def frameworks_used(script: Path) -> list[str]:
    """The frameworks the script or the modules it imports from its directory name (both when neither does):
    the run hooks only those, and so imports only those (torch alone takes seconds to import)."""
    from netport.sources import SourceError, read_source

    texts = []
    for path in [script] + [script.parent / f"{name}.py" for name in
                            _LOCAL_IMPORT.findall(script.read_text(encoding="utf-8", errors="replace"))]:
        try:
            texts.append(read_source(path)[0] if path.is_file() else "")
        except SourceError:
            continue
    found = [name for name in ("chainer", "torch") if any(name in text for text in texts)]
    return found or ["chainer", "torch"]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def summarise(result: dict) -> dict:
    """The statistics a report shows: per activation layer, per layer's gradient, the loss."""
    activations = []
    for record in result.get("activations", []):
        elements = record["elements"] or 1
        row = {"name": record["name"], "kind": record["kind"], "calls": record["calls"],
               "file": display_path(record["file"]), "line": record["line"]}
        if record["kind"] == "relu":
            row["dead_units"] = record["dead_units"] / record["units"] if record.get("units") else None
            row["zero_preactivation"] = record["zero_pre"] / elements
        else:
            row["saturated"] = record["saturated"] / elements
        activations.append(row)
    gradients = []
    for record in result.get("parameters", []):
        if not _is_weight(record["name"]):
            continue
        gradients.append({"name": record["name"], "mean_norm": _mean(record["norms"])})
    largest = max((row["mean_norm"] for row in gradients), default=0.0)
    for row in gradients:
        row["ratio"] = row["mean_norm"] / largest if largest > 0 else None
    losses = result.get("losses", [])
    return {"steps": result.get("steps", 0), "activations": activations, "gradients": gradients,
            "loss": {"values": losses, "first": losses[0] if losses else None, "last": losses[-1] if losses else None},
            "first_nonfinite": result.get("first_nonfinite")}


def _is_weight(name: str) -> bool:
    return name.rsplit(".", 1)[-1] in ("weight", "W")


def _site(record: dict) -> tuple[str, int]:
    built = record.get("built") or {}
    return display_path(built.get("file", "?")), built.get("line", 1)


def judge(result: dict) -> list[Finding]:
    findings = []
    steps = result.get("steps", 0)
    for record in result.get("activations", []):
        path, line = display_path(record["file"]), record["line"]
        layer = {"name": record["name"], "kind": record["kind"]}
        elements = record["elements"] or 1
        if record["kind"] in ("sigmoid", "tanh") and record["saturated"] / elements >= SATURATED_SHARE:
            share = record["saturated"] / elements
            findings.append(Finding(
                RULE_SATURATION, "warning", path, line, 1,
                f"{share:.1%} of the outputs of {record['name']} are within 1e-3 of the {record['kind']}'s bounds "
                f"over {record['calls']} call(s): their gradient is at most 1/250 of a centred unit's, so the layer "
                f"has mostly stopped learning",
                layer=layer, mode="run",
                hint="scale the inputs (raw 0-255 pixels: divide by 255) or shrink the initial weights"))
        if record["kind"] == "relu":
            zero_share = record["zero_pre"] / elements
            if zero_share >= EXACT_ZERO_SHARE:
                findings.append(Finding(
                    RULE_DEAD_RELU, "warning", path, line, 1,
                    f"{zero_share:.1%} of the pre-activations of {record['name']} are exactly 0, where ReLU's "
                    f"derivative is a convention (torch and Chainer take 0): those units get no gradient",
                    layer=layer, mode="run",
                    hint="weights or inputs that are exactly zero (zero initialisation) put them there: "
                         "initialise the weights randomly"))
            elif record.get("units") and record["dead_units"] / record["units"] >= DEAD_SHARE:
                findings.append(Finding(
                    RULE_DEAD_RELU, "warning", path, line, 1,
                    f"{record['dead_units']} of the {record['units']} units of {record['name']} were never "
                    f"positive over the run (dead ReLUs): they pass back no gradient",
                    layer=layer, mode="run",
                    hint="a smaller learning rate, a positive bias at initialisation, or LeakyReLU"))
    parameters = result.get("parameters", [])
    weights = [(record, _mean(record["norms"])) for record in parameters if _is_weight(record["name"])]
    largest = max(weights, key=lambda item: item[1], default=(None, 0.0))
    faint = sorted(((norm, record) for record, norm in weights if 0 < norm < GRADIENT_RATIO * largest[1]),
                   key=lambda item: item[0])
    if faint:  # one finding, at the faintest layer; the others named in it
        norm, record = faint[0]
        others = ", ".join(f"{other['name']} {value / largest[1]:.1e}" for value, other in faint[1:6]) + \
            (", ..." if len(faint) > 6 else "")
        path, line = _site(record)
        findings.append(Finding(
            RULE_GRADIENT_RATIO, "warning", path, line, 1,
            f"the gradient of {record['name']} is {norm / largest[1]:.1e} times that of {largest[0]['name']} "
            f"(mean norms {norm:.2e} and {largest[1]:.2e} over {steps} steps): it vanishes on its way through "
            f"the network" + (f"; {len(faint) - 1} more layer(s) below 1e-4: {others}" if others else ""),
            layer=record.get("layer"), mode="run",
            hint="look for saturating activations (sigmoid, tanh) between them: ReLU, normalisation or a "
                 "residual path keep the gradient's scale"))
    if steps >= 2 and parameters and not any(record["nonzero"] for record in parameters):
        site = result.get("loss_site") or {"file": "?", "line": 1}
        findings.append(Finding(
            RULE_ZERO_GRADIENT, "warning", display_path(site["file"]), site["line"], 1,
            f"no parameter got a nonzero gradient in {steps} steps ({len(parameters)} parameters): nothing learns",
            mode="run",
            hint="the loss has no graph back to the parameters (computed under no_grad()/no_backprop_mode(), "
                 "or detached), or the gradients are cleared between backward() and the step"))
    elif steps >= 2:
        stuck: dict[str, list[dict]] = {}
        for record in parameters:
            if not record["nonzero"] and len(record["norms"]) >= 2:
                stuck.setdefault(record["name"].rsplit(".", 1)[0], []).append(record)
        for layer_name, records in stuck.items():
            path, line = _site(records[0])
            names = " and ".join(record["name"] for record in records)
            findings.append(Finding(
                RULE_ZERO_GRADIENT, "warning", path, line, 1,
                f"the gradient of {names} was exactly zero at all {len(records[0]['norms'])} steps: "
                f"{'they never change' if len(records) > 1 else 'it never changes'}",
                layer=records[0].get("layer"), mode="run",
                hint="it takes no part in the loss, or every path to it is cut (dead or saturated units, "
                     "detach(), zero weights)"))
    first = result.get("first_nonfinite")
    if first is not None:
        where = f" in {first['layer']['name']}" if first.get("layer") else ""
        findings.append(Finding(
            RULE_NONFINITE, "warning", display_path(first["file"]), first["line"], 1,
            f"the first NaN/Inf of the run: the {first['what']}{where}, at step {first['step']}",
            layer=first.get("layer"), mode="run", context=f"optimizer step {first['step']}",
            hint="a learning rate too large, log/division of zero, or an unscaled input"))
    losses = [value for value in result.get("losses", [])]
    if len(losses) >= MIN_LOSS_VALUES and first is None:
        quarter = len(losses) // 4
        head, tail = _mean(losses[:quarter]), _mean(losses[-quarter:])
        if tail >= head:
            site = result.get("loss_site") or {"file": "?", "line": 1}
            findings.append(Finding(
                RULE_LOSS_FLAT, "warning", display_path(site["file"]), site["line"], 1,
                f"the loss did not decrease over {len(losses)} steps: mean {head:.4g} over the first quarter, "
                f"{tail:.4g} over the last", mode="run",
                hint="check the learning rate, that the gradients are cleared and reach every layer"))
    return findings
