"""The pytest harness itself: the store is private to a test and the environment restored."""

from __future__ import annotations

import os

import mlflow
import pytest
from mlflow_sweep_plugin.testing.checks import BadInputReport

_seen = {}


def test_store_is_private_and_current(sweep_store, make_sweep):
    assert os.environ["MLFLOW_TRACKING_URI"] == sweep_store.tracking_uri
    assert mlflow.get_tracking_uri() == sweep_store.tracking_uri
    assert str(sweep_store.root) in sweep_store.tracking_uri
    sweep = make_sweep(3, experiment_name="h")
    assert len(sweep.run_ids) == 3
    runs = sweep_store.client.search_runs([sweep.experiment_id])
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert all(r.info.artifact_uri.startswith(sweep_store.artifact_root.as_uri()) for r in runs)
    _seen["uri"] = sweep_store.tracking_uri


def test_environment_restored_after_the_store_fixture():
    assert _seen, "runs after test_store_is_private_and_current"
    assert os.environ.get("MLFLOW_TRACKING_URI") != _seen["uri"]
    assert mlflow.get_tracking_uri() != _seen["uri"]


def test_make_sweep_logs_params_metrics_tags_status(make_sweep, sweep_store, tmp_path):
    local = tmp_path / "local.bin"
    local.write_bytes(b"\x00\x01")
    many = {f"p{i}": i for i in range(150)}  # more than one log_batch request
    sweep = make_sweep([{"params": many, "metrics": {"m": 1.5}, "tags": {"t": "v"},
                         "status": "KILLED", "run_name": "x",
                         "artifacts": {"a/b.json": {"k": [1]}, "c.txt": "hi", "d.bin": local}}])
    run = sweep_store.client.get_run(sweep.run_ids[0])
    assert run.data.params["p149"] == "149" and len(run.data.params) == 150
    assert run.data.metrics == {"m": 1.5} and run.data.tags["t"] == "v"
    assert run.info.status == "KILLED" and run.info.run_name == "x"
    files = {f.path for f in sweep_store.client.list_artifacts(run.info.run_id)}
    assert files == {"a", "c.txt", "d.bin"}


def test_sweep_cli_separates_streams(sweep_cli):
    res = sweep_cli("plugins", "--json")
    assert res.assert_success() is res
    assert res.stdout.lstrip().startswith("[") and res.exception is None


def test_fluent_experiments_store_artifacts_under_the_test_root(sweep_store, tmp_path):
    mlflow.set_experiment("fluent")
    with mlflow.start_run() as run:
        mlflow.log_dict({"a": 1}, "x.json")
    uri = mlflow.get_run(run.info.run_id).info.artifact_uri
    assert str(sweep_store.root) in uri, uri


def test_current_experiment_is_set_inside_a_test(sweep_store):
    mlflow.set_experiment("leaky")
    _seen["leaky"] = mlflow.tracking.fluent._active_experiment_id
    assert _seen["leaky"] is not None


def test_current_experiment_does_not_leak_into_the_next_test():
    assert "leaky" in _seen
    assert mlflow.tracking.fluent._active_experiment_id != _seen["leaky"]
    assert os.environ.get("MLFLOW_EXPERIMENT_ID") != _seen["leaky"]


def test_log_sweep_to_a_server_without_a_store(mlflow_server):
    from mlflow.tracking import MlflowClient

    from mlflow_sweep_plugin.testing import log_sweep

    before = mlflow.get_tracking_uri()
    sweep = log_sweep(None, [{"artifacts": {"a.json": {"x": 1}}}], experiment_name="to-server",
                      tracking_uri=mlflow_server.url)
    assert mlflow.get_tracking_uri() == before
    files = [f.path for f in MlflowClient(mlflow_server.url).list_artifacts(sweep.run_ids[0])]
    assert files == ["a.json"]


def _scores_plugin(swallow: bool):
    """A parser of ``scores.json``; ``swallow=True`` makes it hide bad input (a bug)."""
    import types

    from mlflow_sweep_plugin import hookimpl

    def parse(data, ctx):
        if not isinstance(data.get("acc"), float):
            if swallow:
                return []
            raise ValueError("acc must be a number")
        return [{"acc": data["acc"]}]

    @hookimpl
    def sweep_register_parsers(register):
        register("scores", "scores.json", parse)

    module = types.ModuleType("scores_plugin")
    module.sweep_register_parsers = sweep_register_parsers
    return module


def test_check_bad_artifacts_holds_a_parser_to_the_contract(check_bad_artifacts):
    options = {"load_entry_points": False, "parser_names": ["scores"]}
    variants = {"text": {"scores.json": {"acc": "high"}}, "truncated": {"scores.json": '{"acc": 0.'}}
    report = check_bad_artifacts(variants, {"scores.json": {"acc": 0.9}}, paths={"text": "scores.json"},
                                 plugins=[_scores_plugin(swallow=False)], **options)
    assert isinstance(report, BadInputReport)
    assert "acc must be a number" in report.reason("text") and "JSON" in report.reason("truncated")
    assert report.rows("good")["acc"].tolist() == [0.9]
    assert report.rows("text")["acc"].isna().all()  # the run keeps its row


def test_check_bad_artifacts_fails_a_parser_that_hides_bad_input(check_bad_artifacts):
    with pytest.raises(AssertionError, match="variant 'text' gave no warning"):
        check_bad_artifacts({"text": {"scores.json": {"acc": "high"}}}, {"scores.json": {"acc": 0.9}},
                            plugins=[_scores_plugin(swallow=True)], load_entry_points=False,
                            parser_names=["scores"])


def test_assert_success_shows_what_the_command_said(sweep_cli):
    res = sweep_cli("export", "--experiment-name", "no-such-experiment")
    assert res.exit_code == 2
    with pytest.raises(AssertionError) as failed:
        res.assert_success()
    text = str(failed.value)
    assert text.startswith("mlflow-sweep exited with 2, not 0")
    assert "--- stdout ---" in text and "--- stderr ---" in text and res.stderr.strip() in text
