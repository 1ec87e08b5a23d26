"""A tracking server that goes away: exit 3 fast, credentials hidden, never a partial file."""

from __future__ import annotations

import os
import time

import pytest

from mlflow_sweep_plugin.errors import TrackingUnreachable
from mlflow_sweep_plugin.export import export_sweep
from mlflow_sweep_plugin.plugins import SweepPluginManager
from scale_test_helpers import log_to_server

pytestmark = pytest.mark.server

SUMMARY = {"layer": 0, "energy_contrast_ratio": 0.5, "geometry_fits": {}}


def test_server_stopped_mid_export_gives_exit_3_and_no_output(mlflow_server_factory, tmp_path,
                                                               sweep_cli):
    server = mlflow_server_factory()
    runs = [{"params": {"i": i},
             "artifacts": {"layer_0/cluster_summary.json": SUMMARY}} for i in range(8)]
    log_to_server(server, runs, "doomed")
    out = tmp_path / "out" / "table.csv"
    out.parent.mkdir()
    done = []

    def progress(n):
        done.append(n)
        if n == 2:
            server.stop()  # the server goes away with 6 runs still to read

    t0 = time.monotonic()
    with pytest.raises(TrackingUnreachable) as info:
        export_sweep(experiment_names=["doomed"], tracking_uri=server.url, output=str(out),
                     plugin_manager=SweepPluginManager(), progress=progress, workers=1,
                     cache_dir=str(tmp_path / "cache"))
    assert time.monotonic() - t0 < 60
    assert info.value.exit_code == 3
    assert "127.0.0.1" in str(info.value) and "no output was written" in str(info.value)
    assert done[:2] == [1, 2] and len(done) < 8
    assert os.listdir(out.parent) == []  # no table, no temp file

    # and from the command line, a server that is down: exit 3 quickly, URI redacted
    host = server.url.replace("http://", "http://alice:s3cr3t@")
    t0 = time.monotonic()
    res = sweep_cli("export", "--experiment-name", "doomed", "--tracking-uri", host, "-o", str(out))
    elapsed = time.monotonic() - t0
    assert res.exit_code == 3, res.stderr
    assert "s3cr3t" not in res.stderr and f"http://***@127.0.0.1:{server.port}" in res.stderr
    assert elapsed < 30, f"a dead server should fail fast, took {elapsed:.0f}s"
    assert os.listdir(out.parent) == []
