"""Migration results kept by content: a re-run reuses them, and anything the result depends on
(the text, the other files' facts, the options, the migrator) makes a new entry."""

from __future__ import annotations

import shutil
import subprocess
import sys

from netport.migrate import migrate_paths
from netport.migrate import cache as cache_module
from tests.conftest import REPO

EXAMPLE = REPO / "legacy_examples" / "mnist_sae"


def entries(directory, kind: str = "migrated") -> list:
    return sorted((directory / kind).rglob("*.json"))


def outcome(migration) -> list:
    return [(r.path, r.migrated, r.findings, r.error, r.python2) for r in migration.report.files]


def test_a_rerun_reads_back_what_the_first_run_computed(tmp_path, monkeypatch):
    tree = tmp_path / "program"
    shutil.copytree(EXAMPLE, tree)
    store = tmp_path / "cache"
    first = migrate_paths([tree], cache=store)
    assert len(entries(store)) == 2  # net.py and train_mnist_sae.py
    assert outcome(first) == outcome(migrate_paths([tree]))

    def no_migration(*args):
        raise AssertionError("migrated again")

    monkeypatch.setattr("netport.migrate.api._migrate_one", no_migration)
    again = migrate_paths([tree], cache=store)
    assert outcome(again) == outcome(first)


def test_a_rerun_converts_no_python2_again_and_loads_no_libcst(tmp_path, monkeypatch):
    tree = tmp_path / "program"
    tree.mkdir()
    (tree / "train.py").write_text("import chainer\nfor i in xrange(3):\n    print i\n")
    store = tmp_path / "cache"
    first = migrate_paths([tree], cache=store)
    assert first.report.files[0].python2 and len(entries(store, "prepared")) == 1

    def no_conversion(*args):
        raise AssertionError("converted again")

    monkeypatch.setattr("netport.migrate.api._prepare_one", no_conversion)
    assert outcome(migrate_paths([tree], cache=store)) == outcome(first)
    # a whole run from the cache, in a fresh interpreter: the migrator proper (LibCST) is never imported
    script = ("import sys; from netport.migrate import migrate_paths; "
              f"m = migrate_paths([{str(tree)!r}], cache={str(store)!r}); "
              "print(m.report.files[0].changed, 'libcst' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO)
    assert run.stdout.split() == ["True", "False"], run.stderr


def test_what_the_result_depends_on_makes_a_new_entry(tmp_path, monkeypatch):
    tree = tmp_path / "program"
    shutil.copytree(EXAMPLE, tree)
    store = tmp_path / "cache"
    migrate_paths([tree], cache=store)
    migrate_paths([tree], cache=store, target="torch")  # other options
    assert len(entries(store)) == 4
    net = tree / "net.py"
    net.write_text(net.read_text().replace("train=True", "train=False"))  # net.py's text, and the facts
    migrate_paths([tree], cache=store)  # that train_mnist_sae.py's migration reads
    assert len(entries(store)) == 6
    monkeypatch.setattr(cache_module, "migrator_fingerprint", lambda: "another netport")
    migrate_paths([tree], cache=store)
    assert len(entries(store)) == 8


def test_an_unreadable_entry_is_a_miss(tmp_path):
    tree = tmp_path / "program"
    shutil.copytree(EXAMPLE, tree)
    store = tmp_path / "cache"
    expected = outcome(migrate_paths([tree], cache=store))
    for entry in entries(store):
        entry.write_text("{not json")
    assert outcome(migrate_paths([tree], cache=store)) == expected


def test_the_cli_caches_unless_told_not_to(tmp_path):
    environment = {"NETPORT_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "netport", "migrate", str(EXAMPLE)]
    first = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=REPO)
    assert first.returncode == 0 and len(entries(tmp_path / "cache")) == 2
    again = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=REPO)
    assert (again.returncode, again.stdout, again.stderr) == (first.returncode, first.stdout, first.stderr)
    shutil.rmtree(tmp_path / "cache")
    uncached = subprocess.run([*command, "--no-cache"], capture_output=True, text=True, env=environment, cwd=REPO)
    assert uncached.stdout == first.stdout and not (tmp_path / "cache").exists()


def test_a_whole_run_is_one_entry_and_a_module_it_read_facts_from_is_checked(tmp_path, monkeypatch):
    # train.py migrated alone reads net.py's facts: when net.py changes, the run is not reused
    (tmp_path / "net.py").write_text("import chainer\n\n\nclass AE(chainer.Chain):\n"
                                     "    def encode(self, x, train=True):\n        return x\n")
    (tmp_path / "train.py").write_text("import chainer\nfrom net import AE\nh = AE().encode(x, False)\n")
    store = tmp_path / "cache"
    first = migrate_paths([tmp_path / "train.py"], cache=store)
    assert len(entries(store, "runs")) == 1
    assert "with chainer.using_config('train', False):" in first.report.files[0].migrated

    def no_migration(*args):
        raise AssertionError("migrated again")

    with monkeypatch.context() as patch:
        patch.setattr("netport.migrate.api._prepare_all", no_migration)
        assert outcome(migrate_paths([tmp_path / "train.py"], cache=store)) == outcome(first)
    (tmp_path / "net.py").write_text("import chainer\n\n\nclass AE(chainer.Chain):\n"
                                     "    def encode(self, x, depth=0):\n        return x\n")
    again = migrate_paths([tmp_path / "train.py"], cache=store)
    assert again.report.files[0].migrated == "import chainer\nfrom net import AE\nh = AE().encode(x, False)\n"
