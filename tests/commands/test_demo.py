"""``mlflow-sweep demo`` with its sqlite store on a read-only file system: exit 2 at
once, one line naming the place, no sqlite traceback (issue 23, item 11)."""

from __future__ import annotations

import shutil

from mlflow_sweep_plugin.commands.demo import demo_command
from mlflow_sweep_plugin.plugins import get_plugin_manager, reset_plugin_manager
from tmpfs_helpers import remount_read_only, tmpfs


def test_a_new_store_on_a_read_only_file_system(sweep_cli, tmp_path):
    with tmpfs(tmp_path / "ro", "ro,size=1m") as ro:
        uri = f"sqlite:///{ro / 'sub' / 'mlflow.db'}"
        res = sweep_cli("demo", "--tracking-uri", uri, "--runs", "2", "-o", str(tmp_path / "t.csv"))
        assert res.exit_code == 2, res.stderr
        assert "Traceback" not in res.stderr
        (line,) = [x for x in res.stderr.splitlines() if "error" in x]
        assert f"{ro} is read-only" in line and "--tracking-uri" in line
        assert list(ro.iterdir()) == []


def test_an_existing_store_on_a_read_only_file_system(sweep_cli, sweep_store, tmp_path):
    with tmpfs(tmp_path / "fs", "size=16m") as fs:
        shutil.copyfile(sweep_store.root / "mlflow.db", fs / "mlflow.db")
        remount_read_only(fs)
        before = (fs / "mlflow.db").read_bytes()
        res = sweep_cli("demo", "--tracking-uri", f"sqlite:///{fs / 'mlflow.db'}", "--runs", "2",
                        "-o", str(tmp_path / "t.csv"))
        assert res.exit_code == 2, res.stderr
        assert "Traceback" not in res.stderr and "is read-only" in res.stderr
        assert (fs / "mlflow.db").read_bytes() == before


def test_an_unknown_demo_is_exit_2_naming_the_available_ones(sweep_cli, tmp_path):
    reset_plugin_manager()
    available = sorted(get_plugin_manager().demos)
    reset_plugin_manager()
    store = tmp_path / "demo.db"
    result = sweep_cli("demo", "--kind", "no-such-demo", "--tracking-uri", f"sqlite:///{store}")
    assert result.exit_code == 2
    if available:
        assert f"unknown demo 'no-such-demo'; available: {', '.join(available)}" in result.stderr
    assert not store.exists()  # refused before the store is made
    assert demo_command.name == "demo"
