"""sweep_run on a reachable store, --no-mlflow, argparse helpers, the spool's file
format, sync failures, and result loggers (the sweep_register_loggers hook)."""

from __future__ import annotations

import argparse
import json
import types

import pytest

from mlflow_sweep_plugin import hookimpl, log_config, log_metrics, sweep_run, sync_spool
from mlflow_sweep_plugin.tracking.cli_args import add_mlflow_arguments, sweep_run_from_args
from mlflow_sweep_plugin.tracking.results import log_result
from mlflow_sweep_plugin.errors import UsageError
from mlflow_sweep_plugin.plugins import SweepPluginManager
from mlflow_sweep_plugin.tracking.spool import Spool


@pytest.fixture
def spool_dir(tmp_path, monkeypatch):
    path = tmp_path / "spool"
    monkeypatch.setenv("MLFLOW_SWEEP_SPOOL_DIR", str(path))
    return path


def test_online_run_is_mlflows_active_run(sweep_store, spool_dir):
    import mlflow

    with sweep_run("online", run_name="r", tags={"k": "v"}) as run:
        assert mlflow.active_run().info.run_id == run.run_id and not run.spooled
        log_config({"a": {"b": 1}})
        log_metrics({"x": 1.0}, step=3)
        mlflow.log_metric("direct", 2.0)  # MLflow's own calls go to the same run
        run.log_param("p", 5)
        run.log_metric("y", 4.0, step=1)
        run.set_tag("t", 1)
    got = mlflow.get_run(run.run_id)
    assert got.info.status == "FINISHED" and got.info.run_name == "r"
    assert got.data.params == {"a.b": "1", "p": "5"}
    assert got.data.metrics == {"x": 1.0, "direct": 2.0, "y": 4.0}
    assert got.data.tags["k"] == "v" and got.data.tags["t"] == "1"
    assert mlflow.active_run() is None
    assert not spool_dir.exists()  # nothing spooled


def test_failed_and_killed_status(sweep_store, spool_dir):
    import mlflow

    with pytest.raises(ZeroDivisionError):
        with sweep_run("status") as run:
            1 / 0
    assert mlflow.get_run(run.run_id).info.status == "FAILED"
    with pytest.raises(KeyboardInterrupt):
        with sweep_run("status") as run2:
            raise KeyboardInterrupt
    assert mlflow.get_run(run2.run_id).info.status == "KILLED"


def test_disabled_logs_nothing(sweep_store, spool_dir, tmp_path):
    import mlflow

    (tmp_path / "f.txt").write_text("x")
    with sweep_run("nothing", enabled=False) as run:
        log_config({"a": 1})
        log_metrics({"m": 1})
        run.log_artifact(tmp_path / "f.txt")
        assert run.run_id is None and mlflow.active_run() is None
    assert mlflow.MlflowClient().get_experiment_by_name("nothing") is None
    assert not spool_dir.exists()


def test_add_mlflow_arguments(monkeypatch):
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "from-env")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking:5000")
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1)
    add_mlflow_arguments(parser)
    args = parser.parse_args([])
    assert (args.experiment, args.mlflow_tracking_uri, args.no_mlflow) == \
        ("from-env", "http://tracking:5000", False)
    args = parser.parse_args(["--experiment", "x", "--mlflow-tracking-uri", "sqlite:///a.db",
                              "--no-mlflow"])
    assert (args.experiment, args.mlflow_tracking_uri, args.no_mlflow) == \
        ("x", "sqlite:///a.db", True)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME")
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    parser = argparse.ArgumentParser()
    add_mlflow_arguments(parser, default_experiment="som")
    args = parser.parse_args([])
    assert (args.experiment, args.mlflow_tracking_uri) == ("som", None)
    assert "--no-mlflow" in parser.format_help()


def test_sweep_run_from_args(sweep_store, spool_dir):
    import mlflow

    parser = argparse.ArgumentParser()
    add_mlflow_arguments(parser)
    args = parser.parse_args(["--experiment", "cli-exp", "--mlflow-tracking-uri",
                              sweep_store.tracking_uri])
    with sweep_run_from_args(args, run_name="job") as run:
        log_metrics({"m": 1})
    assert mlflow.get_run(run.run_id).info.run_name == "job"
    with sweep_run_from_args(parser.parse_args(["--no-mlflow"])) as off:
        log_metrics({"m": 1})
    assert off.run_id is None


def _spooled_run(spool_dir, **meta) -> Spool:
    spool = Spool.create(spool_dir, {"tracking_uri": None, "experiment_name": "spooled",
                                     "run_name": "s", "tags": {}, **meta})
    spool.log_batch(params={"a": "1"}, metrics=[("m", 1.0, 1000, 0)], tags={"t": "x"})
    return spool


def test_torn_last_line_is_ignored(sweep_store, spool_dir):
    import mlflow

    spool = _spooled_run(spool_dir)
    spool.end("FINISHED", 2000)
    with open(spool.path / "events.jsonl", "a") as fh:
        fh.write('{"op": "metrics", "metrics": [["m", 2.0, 30')  # the job died mid-write
    assert [e["op"] for e in spool.events()] == ["params", "tags", "metrics", "end"]
    results = sync_spool(tracking_uri=sweep_store.tracking_uri)
    assert [r.status for r in results] == ["synced"]
    run = mlflow.get_run(results[0].run_id)
    assert run.data.metrics == {"m": 1.0} and run.info.end_time == 2000


def test_open_spool_is_synced_as_far_as_it_goes(sweep_store, spool_dir):
    from mlflow.tracking import MlflowClient

    spool = _spooled_run(spool_dir)
    first, = sync_spool(tracking_uri=sweep_store.tracking_uri)
    assert first.status == "open" and first.applied == 3 and spool.path.exists()
    spool.log_batch(metrics=[("m", 2.0, 2000, 1)])  # the job is still writing
    spool.end("FINISHED")
    second, = sync_spool(tracking_uri=sweep_store.tracking_uri)
    assert second.status == "synced" and second.run_id == first.run_id and second.applied == 2
    history = MlflowClient().get_metric_history(first.run_id, "m")
    assert sorted((m.step, m.value) for m in history) == [(0, 1.0), (1, 2.0)]
    assert sync_spool(tracking_uri=sweep_store.tracking_uri) == []


def test_a_spool_for_a_run_that_ended_elsewhere_fails_and_keeps_spool(sweep_store, spool_dir, sweep_cli):
    import mlflow

    with mlflow.start_run(experiment_id=sweep_store.create_experiment("conflict")) as run:
        mlflow.log_param("a", "0")
    spool = _spooled_run(spool_dir, run_id=run.info.run_id)
    spool.end("FINISHED")
    result = sweep_cli("sync", "--tracking-uri", sweep_store.tracking_uri)
    assert result.exit_code == 1
    # a spool completes only the run it started: this one ended elsewhere, so nothing is written
    assert "failed" in result.stderr and run.info.run_id in result.stderr
    assert spool.path.exists()
    assert mlflow.tracking.MlflowClient(sweep_store.tracking_uri).get_run(run.info.run_id).data.params == {"a": "0"}


def test_redacted_uri_needs_one_given(spool_dir, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    spool = _spooled_run(spool_dir, tracking_uri="http://***@host:5000", uri_redacted=True)
    spool.end("FINISHED")
    with pytest.raises(UsageError, match="credentials are not stored"):
        sync_spool()
    meta = json.loads((spool.path / "run.json").read_text())
    assert "***" in meta["tracking_uri"]
    with pytest.raises(UsageError, match="no spool nope"):
        sync_spool(spool_ids=["nope"])


def _logger_plugin():
    @hookimpl
    def sweep_register_loggers(register):
        def log_som(result, run, grid=None):
            run.log_config(result["config"], prefix="som")
            run.log_metrics(result["training_stats"])
            run.log_dict(result, "results/som_results.json")
            if grid:
                run.set_tags({"grid": grid})
            return "logged"

        register("som", log_som, description="SOM results")

    module = types.ModuleType("logger_test_plugin")
    module.sweep_register_loggers = sweep_register_loggers
    return module


def test_log_result_through_a_plugin(sweep_store, spool_dir):
    import mlflow

    pm = SweepPluginManager(extra_plugins=[_logger_plugin()], load_entry_points=False)
    result = {"config": {"x_dim": 8}, "training_stats": {"quantization_error": 0.4}}
    with sweep_run("results") as run:
        assert log_result("som", result, plugin_manager=pm, grid="8x8") == "logged"
    got = mlflow.get_run(run.run_id)
    assert got.data.params == {"som.x_dim": "8"}
    assert got.data.metrics == {"quantization_error": 0.4}
    assert got.data.tags["grid"] == "8x8"
    path = mlflow.MlflowClient().download_artifacts(run.run_id, "results/som_results.json")
    assert json.load(open(path)) == result
    with pytest.raises(UsageError, match="no result logger for kind 'nope'; installed: som"):
        log_result("nope", {}, plugin_manager=pm)


@pytest.mark.parametrize("before", ["sqlite:////tmp/mlflow-sweep-a.db", None])
def test_a_temporary_tracking_uri_leaves_the_environment_as_it_was(before, monkeypatch):
    """mlflow.set_tracking_uri also writes $MLFLOW_TRACKING_URI; sweep_run and sync set a
    URI for a while and must leave the user's variable (or its absence) as it was."""
    import os

    import mlflow

    from mlflow_sweep_plugin.tracking.sink import tracking_uri_set_to

    if before is None:
        monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    else:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", before)
    monkeypatch.setattr("mlflow.tracking._tracking_service.utils._tracking_uri", None)
    outside = mlflow.get_tracking_uri()
    with tracking_uri_set_to("sqlite:////tmp/mlflow-sweep-b.db"):
        assert mlflow.get_tracking_uri() == "sqlite:////tmp/mlflow-sweep-b.db"
    assert os.environ.get("MLFLOW_TRACKING_URI") == before
    assert mlflow.get_tracking_uri() == outside
