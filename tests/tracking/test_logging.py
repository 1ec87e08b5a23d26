"""log_config, log_metrics and the artifact helpers against the sqlite store AND a real
loopback ``mlflow server`` (the session ``mlflow_server`` fixture)."""

from __future__ import annotations

import math
import os
import sys

import pytest
import yaml

from mlflow_sweep_plugin import flatten_config
from mlflow_sweep_plugin.tracking.artifacts import log_artifacts_by_type, log_artifacts_selectively
from mlflow_sweep_plugin.tracking.metrics import log_metrics
from mlflow_sweep_plugin.tracking.params import ParamChanged, log_config
from mlflow_sweep_plugin.testing import artifact_paths
from mlflow_sweep_plugin.warning_types import SweepWarning


@pytest.fixture(scope="module")
def sqlite_uri(tmp_path_factory):
    """One sqlite store for the module (creating its tables takes seconds)."""
    root = tmp_path_factory.mktemp("tracking-sqlite")
    return f"sqlite:///{root / 'mlflow.db'}", root / "artifacts"


@pytest.fixture(params=["sqlite", "server"])
def tracking(request, monkeypatch, tmp_path, sqlite_uri):
    """A tracking URI made current (env and mlflow), with a fresh experiment made current
    through ``MLFLOW_EXPERIMENT_ID``; everything restored after the test."""
    import mlflow

    if request.param == "sqlite":
        uri, artifacts = sqlite_uri
    else:
        uri, artifacts = request.getfixturevalue("mlflow_server").url, None
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    for var in ("MLFLOW_EXPERIMENT_NAME", "MLFLOW_RUN_ID"):
        monkeypatch.delenv(var, raising=False)
    mlflow.set_tracking_uri(uri)
    name = f"logging-{request.node.name}-{os.getpid()}-{id(tmp_path)}"
    location = (artifacts / name).as_uri() if artifacts else None
    exp_id = mlflow.MlflowClient(uri).create_experiment(name, artifact_location=location)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", exp_id)
    # an experiment made current by an earlier test (mlflow.set_experiment) would win
    # over the environment variable: forget it for this test
    monkeypatch.setattr(mlflow.tracking.fluent, "_active_experiment_id", None, raising=False)
    yield uri
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri("")


def _run(run_id):
    from mlflow.tracking import MlflowClient

    return MlflowClient().get_run(run_id)


def _artifacts(run_id):
    from mlflow.tracking import MlflowClient

    return artifact_paths(MlflowClient(), run_id)


DEEP = {
    "experiment": {"seed": 7, "graph": {"nodes": 5, "density": 0.3, "types": ["linear", "mlp"]}},
    "learners": [{"name": "SVGD", "n_particles": 20}, {"name": "Ensemble", "runs": 10}],
    "odd:key": {"a.b": 1, "λ": 2, "with space": 3, "x/": 4},
    "long": "v" * 7000,
    "names": ["a,b", "c"],
    "empty": [],
    "none": None,
}


def test_log_config_round_trip(tracking):
    import mlflow

    with mlflow.start_run() as run:
        logged = log_config(DEEP)
    params = _run(run.info.run_id).data.params
    assert params == logged == flatten_config(DEEP)
    assert params["experiment.graph.types"] == "linear,mlp"
    assert params["learners.1.runs"] == "10"
    assert params["odd_-3Akey.a_-2Eb"] == "1"
    assert "full value in artifact mlflow_sweep/config.yaml" in params["long"]
    # the truncated value and the lossy list are whole in the YAML artifact
    from mlflow.tracking import MlflowClient

    local = MlflowClient().download_artifacts(run.info.run_id, "mlflow_sweep/config.yaml")
    with open(local, encoding="utf-8") as fh:
        whole = yaml.safe_load(fh)
    assert whole["long"] == "v" * 7000 and whole["names"] == ["a,b", "c"]
    assert whole["odd:key"]["λ"] == 2


def test_resumed_run_and_changed_value(tracking):
    import mlflow

    cfg = {"model": {"lr": 0.1, "layers": [64, 32]}, "seed": 1}
    with mlflow.start_run() as run:
        log_config(cfg)
    run_id = run.info.run_id
    # a resumed job logs the same config again: no error, nothing changes
    with mlflow.start_run(run_id=run_id):
        log_config(cfg)
        log_config(cfg, run_id=run_id)
    assert _run(run_id).data.params == {"model.lr": "0.1", "model.layers": "64,32", "seed": "1"}
    # a changed value names key, old and new value, and logs nothing of that call
    changed = {"model": {"lr": 0.2, "layers": [64, 32]}, "seed": 1, "new_key": "x"}
    with pytest.raises(ParamChanged) as info:
        log_config(changed, run_id=run_id)
    message = str(info.value)
    assert "'model.lr'" in message and "'0.1'" in message and "'0.2'" in message
    assert run_id in message
    assert info.value.changes == [("model.lr", "0.1", "0.2")]
    assert "new_key" not in _run(run_id).data.params


def test_prefix_and_no_artifact_when_complete(tracking):
    import mlflow

    with mlflow.start_run() as run:
        log_config({"n_particles": 20, "kernel": {"bw": 1.5}}, prefix="SVGD")
        log_config({"runs": 10}, prefix="Ensemble")
    params = _run(run.info.run_id).data.params
    assert params == {"SVGD.n_particles": "20", "SVGD.kernel.bw": "1.5", "Ensemble.runs": "10"}
    assert _artifacts(run.info.run_id) == []  # the params hold the whole config


def test_config_artifact_with_prefix(tracking):
    import mlflow

    with mlflow.start_run() as run:
        log_config({"n": 1}, prefix="SVGD", config_artifact=True)
    assert _artifacts(run.info.run_id) == ["mlflow_sweep/config-SVGD.yaml"]


def test_log_metrics_prefix_nested_steps_nonfinite(tracking):
    import mlflow
    from mlflow.tracking import MlflowClient

    with mlflow.start_run() as run:
        for step in range(3):
            log_metrics({"eshd": 1.0 + step, "auroc": {"obs": 0.5, "intrv": 0.25}}, prefix="SVGD",
                        step=step)
        with pytest.warns(SweepWarning, match="non-numeric values: Ensemble.label"):
            logged = log_metrics({"eshd": 2, "label": "x", "nan": float("nan"),
                                  "inf": float("inf"), "ok": True}, prefix="Ensemble")
    assert logged == {"Ensemble.eshd": 2.0, "Ensemble.nan": pytest.approx(math.nan, nan_ok=True),
                      "Ensemble.inf": math.inf, "Ensemble.ok": 1.0}
    metrics = _run(run.info.run_id).data.metrics
    assert metrics["SVGD.eshd"] == 3.0 and metrics["SVGD.auroc.intrv"] == 0.25
    assert math.isnan(metrics["Ensemble.nan"])
    # documented: the store keeps +inf as the largest float
    assert metrics["Ensemble.inf"] in (math.inf, sys.float_info.max)
    history = MlflowClient().get_metric_history(run.info.run_id, "SVGD.eshd")
    assert sorted((m.step, m.value) for m in history) == [(0, 1.0), (1, 2.0), (2, 3.0)]


def test_log_metrics_nonfinite_choices(tracking):
    import mlflow

    with mlflow.start_run() as run:
        with pytest.raises(ValueError, match="a=inf"):
            log_metrics({"a": float("inf"), "b": 1}, nonfinite="error")
        with pytest.warns(SweepWarning, match="non-finite values: a=nan"):
            log_metrics({"a": float("nan"), "b": 2}, nonfinite="skip")
    assert _run(run.info.run_id).data.metrics == {"b": 2.0}


def test_many_metrics_are_batched(tracking):
    import mlflow

    values = {f"m{i}": float(i) for i in range(1200)}
    with mlflow.start_run() as run:
        log_metrics(values, step=4)
    assert _run(run.info.run_id).data.metrics == values


def _results_dir(tmp_path):
    d = tmp_path / "results"
    files = {
        "config.yaml": "a: 1\n",
        "metrics.yaml": "eshd: 1\n",
        "ground_truth_theta.pkl": "not really a pickle",
        "SVGD/particles.npz": "npz",
        "SVGD/thetas.pkl": "pkl",
        "SVGD/posterior.png": "png",
        "plots/graph.svg": "svg",
        "plots/deep/x.json": "{}",
        "report.html": "<html/>",
        "notes.weird": "?",
        "model.tar.gz": "tgz",
    }
    for rel, text in files.items():
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_text(text)
    return d


def test_log_artifacts_selectively(tracking, tmp_path):
    import mlflow

    d = _results_dir(tmp_path)
    with mlflow.start_run() as run:
        logged = log_artifacts_selectively(d)
        only = log_artifacts_selectively(d, "learners", include=["SVGD/*"], exclude=["*.png"])
    expected = ["SVGD/particles.npz", "SVGD/thetas.pkl", "config.yaml", "ground_truth_theta.pkl",
                "metrics.yaml", "model.tar.gz", "notes.weird", "report.html"]
    assert sorted(logged) == expected
    assert sorted(only) == ["learners/SVGD/particles.npz", "learners/SVGD/thetas.pkl"]
    assert _artifacts(run.info.run_id) == sorted(expected + only)


def test_log_artifacts_by_type(tracking, tmp_path):
    import mlflow

    d = _results_dir(tmp_path)
    with mlflow.start_run() as run:
        out = log_artifacts_by_type(d, {".tar.gz": "archives", ".npz": "arrays"})
        single = log_artifacts_by_type([d / "config.yaml"], artifact_path="again", default=None)
    assert sorted(out) == ["archives", "arrays", "models", "other", "results", "visualizations"]
    assert sorted(out["models"]) == ["models/SVGD/thetas.pkl", "models/ground_truth_theta.pkl"]
    assert out["arrays"] == ["arrays/SVGD/particles.npz"]
    assert out["archives"] == ["archives/model.tar.gz"]
    assert out["other"] == ["other/notes.weird"]
    assert sorted(out["visualizations"]) == ["visualizations/SVGD/posterior.png",
                                             "visualizations/plots/graph.svg",
                                             "visualizations/report.html"]
    assert single == {"results": ["again/results/config.yaml"]}
    every = [p for paths in out.values() for p in paths] + single["results"]
    assert _artifacts(run.info.run_id) == sorted(every)


def test_by_type_replace_mapping_and_missing_path(sweep_store, tmp_path):
    import mlflow

    d = _results_dir(tmp_path)
    with mlflow.start_run(experiment_id=sweep_store.create_experiment("by-type")):
        out = log_artifacts_by_type(d, {".yaml": "cfg"}, replace_mapping=True, default=None)
        assert out == {"cfg": ["cfg/config.yaml", "cfg/metrics.yaml"]}
        with pytest.raises(FileNotFoundError, match="nope"):
            log_artifacts_by_type(tmp_path / "nope")
        with pytest.raises(NotADirectoryError):
            log_artifacts_selectively(d / "config.yaml")


def test_log_config_request_count(mlflow_server, monkeypatch):
    """1 read + ceil(250/100) batches for a fresh 250-key config; 1 read when repeated."""
    import mlflow
    import requests

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    mlflow.set_tracking_uri(mlflow_server.url)
    client = mlflow.MlflowClient(mlflow_server.url)
    exp = client.create_experiment(f"count-{id(monkeypatch)}")
    run_id = client.create_run(exp).info.run_id
    calls = []
    original = requests.Session.request

    def counting(self, method, url, *args, **kwargs):
        calls.append(url)
        return original(self, method, url, *args, **kwargs)

    cfg = {f"group{g}": {f"key{k}": k for k in range(25)} for g in range(10)}
    monkeypatch.setattr(requests.Session, "request", counting)
    log_config(cfg, run_id=run_id)
    first = len(calls)
    log_config(cfg, run_id=run_id)
    again = len(calls) - first
    monkeypatch.undo()
    mlflow.set_tracking_uri("")
    assert first <= 3 + 1, calls
    assert again == 1, calls[first:]
    assert len(client.get_run(run_id).data.params) == 250


def test_explicit_client_for_another_store(sqlite_uri, monkeypatch):
    """``client=``: log into a store other than MLflow's current tracking URI."""
    import mlflow

    uri, artifacts = sqlite_uri
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # nothing there
    mlflow.set_tracking_uri("http://127.0.0.1:9")
    try:
        client = mlflow.MlflowClient(uri)
        exp = client.create_experiment(f"client-{id(client)}",
                                       artifact_location=(artifacts / "client").as_uri())
        run_id = client.create_run(exp).info.run_id
        log_config({"a": {"b": 1}}, prefix="P", run_id=run_id, client=client)
        log_metrics({"m": 2}, run_id=run_id, client=client, step=5)
    finally:
        mlflow.set_tracking_uri("")
    run = client.get_run(run_id)
    assert run.data.params == {"P.a.b": "1"} and run.data.metrics == {"m": 2.0}
