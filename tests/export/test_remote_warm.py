"""A warm export over an ``mlflow server`` (``mlflow-artifacts:/``): what it costs in
artifact requests and what it sees.

- sound (the default): one listing of the run's root per ended run for the clustering
  patterns (their first segment is a directory): a new layer directory is seen, a change
  inside a directory that was there before is not (until ``--refresh``);
- ``--trust-ended-runs``: no artifact request at all; whatever was logged after a run
  ended is missed until ``--refresh``.
"""

from __future__ import annotations

import collections
import contextlib
import json
import pathlib
import uuid

import pytest

from mlflow_sweep_plugin.export import export_sweep
from mlflow_sweep_plugin.plugins import SweepPluginManager
from scale_test_helpers import log_to_server, tracking_uri_set_to
from sweep_test_helpers import summary_for

pytestmark = pytest.mark.server

DATA = pathlib.Path(__file__).parent.parent / "data"


@contextlib.contextmanager
def counted_requests():
    """Every HTTP request this process sends, as (method, path) in a Counter."""
    import requests.adapters

    seen: collections.Counter = collections.Counter()
    send = requests.adapters.HTTPAdapter.send

    def counting(self, request, *args, **kwargs):
        path = request.path_url.split("?", 1)[0]
        seen[(request.method, path)] += 1
        return send(self, request, *args, **kwargs)

    requests.adapters.HTTPAdapter.send = counting
    try:
        yield seen
    finally:
        requests.adapters.HTTPAdapter.send = send


def artifact_requests(seen) -> int:
    return sum(n for (_, path), n in seen.items() if "/mlflow-artifacts/" in path or "/artifacts/" in path)


def summary(layer: int) -> dict:
    base = json.loads((DATA / "clustering_run" / "layer_0" / "cluster_summary.json").read_text())
    return summary_for(base, layer)


@pytest.fixture
def sweep(mlflow_server):
    name = f"warm-{uuid.uuid4().hex[:8]}"
    runs = [{"run_name": f"r{i}", "params": {"force_k": i},
             "artifacts": {**{f"layer_{j}/cluster_summary.json": summary(j) for j in range(3)},
                           "checkpoints/model.bin": b"\0" * 32, "notes.txt": "n"}} for i in range(6)]
    return mlflow_server, name, log_to_server(mlflow_server, runs, name)


def export(server, name, cache_dir, **options):
    return export_sweep(experiment_names=[name], tracking_uri=server.url, write=False, cache_dir=str(cache_dir),
                        plugin_manager=SweepPluginManager(), parser_names=["cluster_summary"], **options)


def log_late(server, run_id, path, value, tmp_path):
    from mlflow.tracking import MlflowClient

    local = tmp_path / uuid.uuid4().hex
    target = local / path
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(value))
    with tracking_uri_set_to(server.url):
        MlflowClient(server.url).log_artifacts(run_id, str(local))


def test_a_sound_warm_export_lists_each_run_s_root_once(sweep, tmp_path):
    server, name, logged = sweep
    cold = export(server, name, tmp_path / "c")
    assert len(cold.df) == 18
    with counted_requests() as seen:
        warm = export(server, name, tmp_path / "c")
    assert warm.stats["cache_hits"] == 6 and warm.df.equals(cold.df)
    assert artifact_requests(seen) == 6  # one listing of each run's root, nothing else

    # a layer logged after the run ended: a new directory at the root, seen
    log_late(server, logged.run_ids[2], "layer_3/cluster_summary.json", summary(3), tmp_path)
    with counted_requests() as seen:
        later = export(server, name, tmp_path / "c")
    assert later.stats["cache_hits"] == 5 and len(later.df) == 19
    assert sorted(later.df[later.df["run_name"] == "r2"]["layer"]) == [0, 1, 2, 3]
    with counted_requests() as seen:
        export(server, name, tmp_path / "c")
    assert artifact_requests(seen) == 6


def test_an_old_entry_without_a_shallow_manifest_is_checked_in_full_once(sweep, tmp_path):
    server, name, _ = sweep
    export(server, name, tmp_path / "c")
    import sqlite3

    from mlflow_sweep_plugin.export.cache_store import FILENAME

    with sqlite3.connect(tmp_path / "c" / FILENAME) as con:  # as stored before shallow manifests
        assert con.execute("UPDATE entries SET manifest = NULL").rowcount == 6
    con.close()
    with counted_requests() as seen:
        export(server, name, tmp_path / "c")
    assert artifact_requests(seen) == 6 * 4  # the root and the three layer directories
    with counted_requests() as seen:
        export(server, name, tmp_path / "c")
    assert artifact_requests(seen) == 6


def test_a_rewrite_inside_a_directory_that_was_there_is_seen_only_with_refresh(sweep, tmp_path):
    server, name, logged = sweep
    export(server, name, tmp_path / "c")
    changed = dict(summary(0), energy_contrast_ratio=0.123456789)
    log_late(server, logged.run_ids[0], "layer_0/cluster_summary.json", changed, tmp_path)
    warm = export(server, name, tmp_path / "c")
    row = warm.df[(warm.df["run_name"] == "r0") & (warm.df["layer"] == 0)].iloc[0]
    assert row["energy_contrast_ratio"] != 0.123456789  # the shallow check's known blind spot
    fresh = export(server, name, tmp_path / "c", refresh=True)
    row = fresh.df[(fresh.df["run_name"] == "r0") & (fresh.df["layer"] == 0)].iloc[0]
    assert row["energy_contrast_ratio"] == 0.123456789


def test_trust_ended_runs_makes_no_artifact_request(sweep, tmp_path):
    server, name, logged = sweep
    cold = export(server, name, tmp_path / "c")
    with counted_requests() as seen:
        trusted = export(server, name, tmp_path / "c", trust_ended_runs=True)
    assert trusted.stats["cache_hits"] == 6 and trusted.df.equals(cold.df)
    assert artifact_requests(seen) == 0
    assert set(path for _, path in seen) <= {"/api/2.0/mlflow/experiments/get-by-name",
                                             "/api/2.0/mlflow/runs/search", "/api/2.0/mlflow/experiments/get"}
    # what it trades: a layer logged after the run ended is missed until --refresh
    log_late(server, logged.run_ids[1], "layer_3/cluster_summary.json", summary(3), tmp_path)
    assert len(export(server, name, tmp_path / "c", trust_ended_runs=True).df) == 18
    assert len(export(server, name, tmp_path / "c", refresh=True).df) == 19


def test_the_option_on_the_command(sweep, tmp_path, sweep_cli):
    server, name, _ = sweep
    out = tmp_path / "t.csv"
    env = {"MLFLOW_SWEEP_CACHE_DIR": str(tmp_path / "c")}
    first = sweep_cli("export", "--experiment-name", name, "--tracking-uri", server.url, "-o", out, env=env)
    first.assert_success()
    again = sweep_cli("export", "--experiment-name", name, "--tracking-uri", server.url, "-o", out,
                      "--trust-ended-runs", env=env).assert_success()
    assert "(6 of 6 runs from the cache)" in again.stderr
    assert "--trust-ended-runs" in sweep_cli("export", "--help").stdout
