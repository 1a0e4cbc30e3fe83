"""netport over the Python standard library: no crash, zero changes (there is no Chainer in it),
and every file it could not process is one Python itself cannot read (as UTF-8, or in the encoding its
coding line declares)."""

from __future__ import annotations

import json
import sysconfig
import time
from pathlib import Path

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def test_stdlib_tree_is_left_unchanged(tmp_path, run_netport, capsys):
    report = tmp_path / "report.json"
    started = time.perf_counter()
    result = run_netport("migrate", str(STDLIB), "--exclude", "site-packages", "-j", "2",
                         "--report", str(report), "--format", "json")
    elapsed = time.perf_counter() - started
    assert "Traceback" not in result.stderr
    assert result.stdout == ""  # no diff: nothing changed
    data = json.loads(report.read_text())
    assert data["summary"]["files"] > 1000
    assert data["summary"]["changed"] == 0 and data["findings"] == []
    for entry in data["files"]:
        if entry["error"] is None:
            continue
        assert result.returncode == 2
        raw = Path(entry["path"]).read_bytes()
        try:
            compile(raw, entry["path"], "exec")  # bytes: decoded by Python's own rules (PEP 263)
        except (UnicodeDecodeError, SyntaxError, ValueError):
            continue  # netport refused exactly what Python 3 refuses
        raise AssertionError(f"netport could not process valid source {entry['path']}: {entry['error']}")
    lines = sum(p.read_bytes().count(b"\n") for p in STDLIB.rglob("*.py") if "site-packages" not in p.parts)
    with capsys.disabled():
        print(f"\nnetport migrate over the standard library: {data['summary']['files']} files, {lines} lines "
              f"in {elapsed:.1f} s ({lines / elapsed:,.0f} lines/s, -j 2)")
