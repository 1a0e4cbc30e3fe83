"""`netport migrate` on the command line: modes, outputs, exit codes and never losing data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from netport.migrate import RULES

GOOD = "import chainer.functions as F\ny = F.dropout(x, train=False)\n"
TODO = "import chainer.functions as F\npool = F.MaxPooling2D(2, 2)\n"  # a v1 function object: by hand
REPORT_LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<sev>INFO|WARNING|ERROR) (?P<rule>CH\d{3}) .+$")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "train.py").write_text(GOOD)
    (root / "pkg" / "util.py").write_text("def f(x):\n    return x\n")
    (root / "README.md").write_text("notes\n")
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_default_prints_a_diff_and_writes_nothing(project, run_netport):
    before = snapshot(project.parent)
    result = run_netport("migrate", str(project))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"--- a/{project}/train.py\n+++ b/{project}/train.py\n")
    assert "+with chainer.using_config('train', False):" in result.stdout
    assert snapshot(project.parent) == before
    lines = result.stderr.splitlines()
    assert all(REPORT_LINE.match(line) for line in lines[:-2])
    assert lines[-2] == "by rule: CH020 x1"
    assert lines[-1].startswith("netport: 2 file(s), 1 changed")


def test_output_tree_mirrors_the_input_and_copies_other_files(project, tmp_path, run_netport):
    out = tmp_path / "out"
    result = run_netport("migrate", str(project), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # no diff unless asked
    assert sorted(snapshot(out)) == ["README.md", "pkg/util.py", "train.py"]
    assert (out / "README.md").read_text() == "notes\n"
    assert "with chainer.using_config('train', False):" in (out / "train.py").read_text()
    assert (project / "train.py").read_text() == GOOD
    assert not list(out.rglob("*.netport-tmp"))


def test_single_file_to_output_file(project, tmp_path, run_netport):
    out = tmp_path / "migrated.py"
    result = run_netport("migrate", str(project / "train.py"), "-o", str(out), "--diff")
    assert result.returncode == 0
    assert out.read_text().endswith("    y = F.dropout(x)\n")
    assert "+    y = F.dropout(x)" in result.stdout


def test_output_inside_the_input_is_refused(project, run_netport):
    result = run_netport("migrate", str(project), "-o", str(project / "out"))
    assert result.returncode == 2
    assert "would overwrite or sit inside the input" in result.stderr
    assert not (project / "out").exists()


def test_in_place_with_backup(project, run_netport):
    result = run_netport("migrate", str(project), "--in-place", "--backup-suffix", ".bak")
    assert result.returncode == 0, result.stderr
    assert (project / "train.py.bak").read_text() == GOOD
    assert "using_config" in (project / "train.py").read_text()
    assert not (project / "pkg" / "util.py.bak").exists()  # unchanged files are not touched


def test_backup_suffix_needs_in_place(project, run_netport):
    result = run_netport("migrate", str(project), "--backup-suffix", ".bak")
    assert result.returncode == 2 and "--backup-suffix needs --in-place" in result.stderr


@pytest.mark.parametrize("name, content, message", [
    ("broken.py", b"import chainer\ndef f(:\n", "broken.py:2:7: syntax error"),
    ("binary.py", b"\x00\x01\x02chainer", "binary.py: binary file"),
    ("latin1.py", "import chainer\n# caf\xe9\n".encode("latin-1"), "latin1.py:2: not UTF-8 (byte 0xe9)"),
])
def test_bad_files_give_one_line_exit_2_and_the_others_are_still_migrated(project, tmp_path, run_netport,
                                                                          name, content, message):
    (project / name).write_bytes(content)
    out = tmp_path / "out"
    result = run_netport("migrate", str(project), "-o", str(out))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    bad_lines = [line for line in result.stderr.splitlines() if name in line]
    assert len(bad_lines) == 1 and message in bad_lines[0]
    assert not (out / name).exists()  # no partial output
    assert "using_config" in (out / "train.py").read_text()


def test_exit_1_when_manual_work_remains(tmp_path, run_netport):
    (tmp_path / "todo.py").write_text(TODO)
    result = run_netport("migrate", str(tmp_path / "todo.py"))
    assert result.returncode == 1
    assert "ERROR CH099" in result.stderr
    assert "+pool = F.MaxPooling2D(2, 2)  # netport: TODO(CH099):" in result.stdout


def test_json_report_to_file(project, tmp_path, run_netport):
    report = tmp_path / "report.json"
    result = run_netport("migrate", str(project), "--report", str(report), "--format", "json")
    assert result.returncode == 0
    data = json.loads(report.read_text())
    assert data["summary"] == {"files": 2, "changed": 1, "changes": 1, "warnings": 0, "errors": 0, "unreadable": 0}
    assert data["findings"][0]["rule"] == "CH020" and data["findings"][0]["line"] == 2
    assert result.stderr.startswith("netport: 2 file(s)")


def test_parallel_jobs_give_the_same_result(project, run_netport):
    assert run_netport("migrate", str(project), "-j", "2").stdout == run_netport("migrate", str(project)).stdout


def test_running_twice_gives_the_same_output(project, tmp_path, run_netport):
    once, twice = tmp_path / "once", tmp_path / "twice"
    run_netport("migrate", str(project), "-o", str(once))
    result = run_netport("migrate", str(once), "-o", str(twice))
    assert result.returncode == 0
    assert snapshot(once) == snapshot(twice)
    assert "0 changed" in result.stderr


def test_torch_target_marks_what_it_cannot_convert_and_exits_1(project, run_netport):
    """A module-level F.dropout has no module whose `training` flag it could follow."""
    result = run_netport("migrate", str(project), "--to", "torch")
    assert result.returncode == 1
    assert "ERROR PT011" in result.stderr
    assert "# netport: TODO(PT011)" in result.stdout


def test_missing_path_and_no_path(tmp_path, run_netport):
    assert run_netport("migrate", str(tmp_path / "nope")).returncode == 2
    assert run_netport("migrate").returncode == 2


def test_list_rules_in_rule_id_order(run_netport):
    result = run_netport("migrate", "--list-rules")
    assert result.returncode == 0
    ids = [line.split()[0] for line in result.stdout.splitlines()]
    assert ids == sorted(RULES)  # Chainer rules CH001.. first, then the torch rules PT001..
    assert ids[0] == "CH001" and ids.index("CH099") < ids.index("PT001")


def test_adam_eps_chainer_writes_the_exact_adam_and_applies_to_torch_only(tmp_path, run_netport):
    (tmp_path / "opt.py").write_text("from chainer import optimizers\nopt = optimizers.Adam()\nopt.setup(model)\n")
    default = run_netport("migrate", str(tmp_path / "opt.py"), "--to", "torch")
    assert default.returncode == 0 and "+opt = torch.optim.Adam(model.parameters()" in default.stdout
    assert "WARNING PT020" in default.stderr and "--adam-eps chainer" in default.stderr
    exact = run_netport("migrate", str(tmp_path / "opt.py"), "--to", "torch", "--adam-eps", "chainer")
    assert exact.returncode == 0 and "+opt = ChainerAdam(model.parameters()" in exact.stdout
    assert "+class ChainerAdam(torch.optim.Adam):" in exact.stdout and "WARNING" not in exact.stderr
    assert run_netport("migrate", str(tmp_path / "opt.py"), "--adam-eps", "chainer").returncode == 2


@pytest.mark.parametrize("existing", [False, True])
def test_single_file_into_a_directory(project, tmp_path, run_netport, existing):
    """`-o newdir/` (trailing slash) or `-o DIR` that exists writes DIR/train.py, not a file named newdir."""
    out = tmp_path / "newdir"
    if existing:
        out.mkdir()
    result = run_netport("migrate", str(project / "train.py"), "-o", str(out) + ("" if existing else "/"))
    assert result.returncode == 0, result.stderr
    assert out.is_dir() and sorted(p.name for p in out.iterdir()) == ["train.py"]
    assert "using_config" in (out / "train.py").read_text()


def test_several_files_go_side_by_side_into_the_output_directory(project, tmp_path, run_netport):
    (tmp_path / "other.py").write_text(GOOD)
    out = tmp_path / "out"
    result = run_netport("migrate", str(project / "train.py"), str(tmp_path / "other.py"), str(project / "pkg"),
                         "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert sorted(snapshot(out)) == ["other.py", "pkg/util.py", "train.py"]


def test_several_files_need_an_output_directory_and_distinct_names(project, tmp_path, run_netport):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "train.py").write_text(GOOD)
    a_file = tmp_path / "a_file"
    a_file.write_text("keep\n")
    result = run_netport("migrate", str(project / "train.py"), str(project / "pkg"), "-o", str(a_file))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{a_file}: not a directory" in result.stderr and len(result.stderr.splitlines()) == 1
    assert a_file.read_text() == "keep\n"
    out = tmp_path / "out"
    result = run_netport("migrate", str(project / "train.py"), str(tmp_path / "other" / "train.py"), "-o", str(out))
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    assert f"{out / 'train.py'}: would be written from both" in result.stderr
    assert not out.exists()  # nothing written


def test_in_place_on_a_symlink_writes_through_and_keeps_the_link(tmp_path, run_netport):
    real = tmp_path / "real"
    real.mkdir()
    (real / "train.py").write_text(GOOD)
    link = tmp_path / "train.py"
    link.symlink_to(real / "train.py")
    result = run_netport("migrate", str(link), "--in-place", "--backup-suffix", ".bak")
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and link.readlink() == real / "train.py"
    assert "using_config" in (real / "train.py").read_text()
    backup = tmp_path / "train.py.bak"  # next to the name the user gave
    assert not backup.is_symlink() and backup.read_text() == GOOD
    assert sorted(p.name for p in real.iterdir()) == ["train.py"]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_failed_write_names_the_users_file_not_the_temporary_one(project, run_netport):
    """/proc takes no new files, even from root."""
    result = run_netport("migrate", str(project / "train.py"), "-o", "/proc/train.py")
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("netport migrate: error: /proc/train.py: ")
    assert ".netport-tmp" not in result.stderr


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_report_that_cannot_be_written_gives_one_line(project, run_netport):
    result = run_netport("migrate", str(project / "train.py"), "--report", "/proc/report.json")
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("netport migrate: error: /proc/report.json: ")
