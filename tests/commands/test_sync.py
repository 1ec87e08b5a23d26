"""``mlflow-sweep sync`` through its click command (the replay itself: tests/tracking/test_sync.py)."""

from __future__ import annotations

from click.testing import CliRunner

from mlflow_sweep_plugin.commands.sync import sync_command


def test_an_empty_spool_directory_syncs_nothing_and_exits_0(tmp_path):
    res = CliRunner().invoke(sync_command, ["--spool-dir", str(tmp_path / "spool")])
    assert res.exit_code == 0, res.output
    assert "sync: 0 synced, 0 still open, 0 failed (0 spools in" in res.output
