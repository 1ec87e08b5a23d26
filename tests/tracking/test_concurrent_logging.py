"""Many jobs of one sweep at once (what joblib, submitit or a max_parallel sweep does),
with real processes, fewer of them than benchmarks/bench_concurrency.py (whose code this
runs): into one ``mlflow server`` nothing is lost; into one sqlite file a writer that
meets "database is locked" retries it (tracking/sink.retry_locked) and loses nothing,
where MLflow's own client fails; two exports sharing one cache directory both give the
right table and leave the cache intact."""

from __future__ import annotations

import importlib.util
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bench_concurrency", ROOT / "benchmarks" / "bench_concurrency.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

NOTHING_LOST = {"runs": 0, "params": 0, "metric_points": 0, "artifacts": 0, "not_finished": 0}


@pytest.mark.server
def test_four_jobs_log_a_sweeps_children_into_one_server_at_once(mlflow_server, tmp_path):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(mlflow_server.url)
    exp_id, parent, sweep_id = bench.make_parent(client, "concurrent-server")
    results = bench.run_writers(mlflow_server.url, exp_id, parent, sweep_id, 4, tmp_path)
    assert not any(r["spooled"] for r in results)
    assert bench.lost(client, exp_id, parent, 4) == NOTHING_LOST


@pytest.mark.slow  # real processes for a minute or more: CI's slow group
def test_database_is_locked_is_retried_by_the_logging_api_and_nothing_is_lost(sweep_store, tmp_path):
    # an exclusive lock on the file (a backup, a sqlite3 shell, a stalled NFS server) held past
    # MLflow's 20 s busy timeout while two jobs log: MLflow's own client fails its call,
    # our logging API waits it out
    client = sweep_store.client
    exp_id, parent, sweep_id = bench.make_parent(client, "locked", (tmp_path / "artifacts").as_uri())
    api, raw = bench.run_writers(sweep_store.tracking_uri, exp_id, parent, sweep_id, 2, tmp_path,
                                 how=["api", "client"], steps=20, pause=0.3,
                                 during=bench.hold_lock(str(sweep_store.root / "mlflow.db"), 22))
    assert raw["locked"] >= 1, raw  # the error is real
    assert api["retries"] >= 1 and api["locked"] == 0 and not api["spooled"], api
    assert bench.lost(client, exp_id, parent, 1, steps=20) == NOTHING_LOST


def test_two_exports_at_once_share_one_cache_directory(tmp_path):
    result = bench.bench_export(tmp_path, n_runs=8)
    assert result["exit_codes"] == [0, 0, 0], result
    assert result["tables_equal"] == [True, True, True], result
    assert "(8 of 8 runs from the cache)" in result["warm"], result
    assert result["cache_integrity"] == "ok"
