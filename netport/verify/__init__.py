"""``netport verify``: does a migrated model compute what the legacy one did?

Both models are built by factories, each in its own interpreter (the legacy one usually in the
Chainer 1.24 environment), from the same weights: the legacy side's initial weights are saved and
loaded by the migrated side (converted to a state_dict for torch). Both run the same input in
inference mode; the final outputs and every layer's output (matched by path: ``0/encoder`` ~
``0.encoder``) are compared.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from netport.verify.worker import EXIT_FACTORY, OUTPUT_KEY


class VerifyError(RuntimeError):
    """A side could not be built or run; the message carries its error output."""


@dataclass
class LayerComparison:
    path: str
    shape: tuple
    max_abs: float
    max_rel: float
    ok: bool


@dataclass
class Verification:
    frameworks: tuple[str, str]
    layers: list[LayerComparison] = field(default_factory=list)
    only_legacy: list[str] = field(default_factory=list)
    only_migrated: list[str] = field(default_factory=list)

    @property
    def output(self) -> LayerComparison:
        return next(layer for layer in self.layers if layer.path == OUTPUT_KEY)

    @property
    def ok(self) -> bool:
        return all(layer.ok for layer in self.layers)

    def to_text(self) -> str:
        lines = [f"{'layer':32} {'shape':>16} {'max |diff|':>12} {'max rel':>10}",
                 *(f"{('(output)' if c.path == OUTPUT_KEY else c.path):32} {str(c.shape):>16} "
                   f"{c.max_abs:12.3e} {c.max_rel:10.3e}{'' if c.ok else '  MISMATCH'}" for c in self.layers)]
        if self.only_legacy or self.only_migrated:
            lines.append(f"not compared (no counterpart): legacy {', '.join(self.only_legacy) or '-'}; "
                         f"migrated {', '.join(self.only_migrated) or '-'}")
        verdict = "agree" if self.ok else "DIFFER"
        lines.append(f"{self.frameworks[0]} vs {self.frameworks[1]}: outputs {verdict} "
                     f"(max |diff| {self.output.max_abs:.3e})")
        return "\n".join(lines) + "\n"


def verify(legacy: str, migrated: str, input_shape: tuple[int, ...], legacy_python: str | None = None,
           migrated_python: str | None = None, seed: int = 0, rtol: float = 1e-5, atol: float = 1e-6,
           cwd: str | None = None) -> Verification:
    """Compare two model factories (``file.py:function``) on one random input of ``input_shape``."""
    with tempfile.TemporaryDirectory(prefix="netport-verify-") as tmp:
        tmp_path = Path(tmp)
        x = np.random.RandomState(seed).uniform(0, 1, size=input_shape).astype(np.float32)
        np.save(tmp_path / "input.npy", x)
        (tmp_path / "legacy").mkdir()
        (tmp_path / "migrated").mkdir()
        legacy_framework = _run(legacy_python, [legacy, str(tmp_path / "input.npy"), str(tmp_path / "legacy")], cwd)
        migrated_framework = _run(migrated_python, [migrated, str(tmp_path / "input.npy"), str(tmp_path / "migrated"),
                                                    "--weights", str(tmp_path / "legacy" / "weights.npz")], cwd)
        with np.load(tmp_path / "legacy" / "outputs.npz") as a, np.load(tmp_path / "migrated" / "outputs.npz") as b:
            left, right = {k: a[k] for k in a.files}, {k: b[k] for k in b.files}
    result = Verification((f"legacy ({legacy_framework})", f"migrated ({migrated_framework})"))
    for path in sorted(set(left) & set(right), key=lambda p: (p == OUTPUT_KEY, p)):
        result.layers.append(_compare(path, left[path], right[path], rtol, atol))
    result.only_legacy = sorted(set(left) - set(right))
    result.only_migrated = sorted(set(right) - set(left))
    return result


def _run(python: str | None, args: list[str], cwd: str | None) -> str:
    command = [python or sys.executable, "-W", "ignore", "-m", "netport.verify.worker", *args]
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    if result.returncode == EXIT_FACTORY and result.stderr.strip():  # the worker's one-line message
        raise VerifyError(f"{args[0]}: {result.stderr.strip().splitlines()[-1]}")
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-8:])
        raise VerifyError(f"{args[0]} failed in {python or sys.executable}:\n{tail}")
    return result.stdout.strip().splitlines()[-1]


def _compare(path: str, a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> LayerComparison:
    if a.shape != b.shape:
        return LayerComparison(path, a.shape, float("inf"), float("inf"), False)
    diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
    rel = diff / np.maximum(np.abs(a.astype(np.float64)), 1e-12)
    ok = bool(np.allclose(b, a, rtol=rtol, atol=atol))
    return LayerComparison(path, a.shape, float(diff.max(initial=0.0)), float(rel.max(initial=0.0)), ok)
