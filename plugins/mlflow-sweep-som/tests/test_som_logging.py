"""log_som_run and the ``som`` result logger against a real sqlite store."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pytest
from minisom import MiniSom
from mlflow.tracking import MlflowClient
from mlflow_sweep_plugin.testing import artifact_paths

from mlflow_sweep_som import plugin
from mlflow_sweep_som.tracking import PROMISED_PARAMS, load_som_model, log_som_run




@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(0, 0.2, (30, 5)), rng.normal(2, 0.2, (30, 5))])
    som = MiniSom(4, 3, 5, sigma=1.0, learning_rate=0.5, random_seed=2)
    som.train(x, 300, random_order=True)
    return som, x


CONFIG = {"x_dim": 4, "y_dim": 3, "num_iterations": 300, "normalize_features": False,
          "include_text_features": True}


def test_log_som_run_params_metrics_artifacts(sweep_store, sweep_exporter, trained, tmp_path):
    som, x = trained
    fig = tmp_path / "som_topology.png"
    fig.write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "som_interactive.html").write_text("<html></html>")
    sweep_store.use_experiment("sweep")
    with mlflow.start_run() as run:
        results = log_som_run(som, x, CONFIG, extra_data_stats={"unique_users": 7},
                              artifacts=[fig, tmp_path / "som_interactive.html"])
        # a resumed job logging the same again is a no-op, not an error
        log_som_run(som, x, CONFIG, extra_data_stats={"unique_users": 7})
    client = MlflowClient()
    data = client.get_run(run.info.run_id).data
    for key in PROMISED_PARAMS:
        assert key in data.params, key
    assert data.params["som_grid_size"] == "12" and data.params["include_text_features"] == "True"
    assert data.params["neighborhood_function"] == "gaussian"
    stats = results["training_stats"]
    assert data.metrics["quantization_error"] == pytest.approx(som.quantization_error(x))
    assert data.metrics["topographic_error"] == pytest.approx(som.topographic_error(x))
    assert data.metrics["num_samples"] == 60 and data.metrics["unique_users"] == 7
    assert data.metrics["cluster_size_variance"] == pytest.approx(stats["cluster_size_std"] ** 2)
    assert artifact_paths(client, run.info.run_id) == [
        "models/som_model.npz", "results/som_results.json",
        "visualizations/som_interactive.html", "visualizations/som_topology.png"]

    # the results file is what the parser reads: export and logging agree
    result = sweep_exporter(plugins=[plugin], load_entry_points=False, parser_names=["som_results"])
    assert result.warnings == []
    row = result.df.iloc[0]
    assert row["quantization_error"] == pytest.approx(data.metrics["quantization_error"])
    assert row["num_clusters"] == stats["num_clusters"] and row["som_grid_size"] == 12
    assert row["config.include_text_features"] == True  # noqa: E712 - a JSON boolean

    # the model file rebuilds the map without pickle
    local = client.download_artifacts(run.info.run_id, "models/som_model.npz", str(tmp_path))
    with np.load(local, allow_pickle=False) as z:
        assert z["weights"].shape == (4, 3, 5)
    again = load_som_model(local)
    assert again.quantization_error(x) == pytest.approx(som.quantization_error(x))
    assert again.topology == "rectangular"


def test_log_result_through_the_plugin(sweep_store, trained):
    from mlflow_sweep_plugin import log_result
    from mlflow_sweep_plugin.plugins import SweepPluginManager

    som, x = trained
    pm = SweepPluginManager(extra_plugins=[plugin], load_entry_points=False)
    sweep_store.use_experiment("sweep")
    with mlflow.start_run() as run:
        results = log_result("som", som, data=x, config={"x_dim": 4, "y_dim": 3},
                             plugin_manager=pm, save_model=False)
    client = MlflowClient()
    assert client.get_run(run.info.run_id).data.params["som_grid_size"] == "12"
    assert artifact_paths(client, run.info.run_id) == ["results/som_results.json"]
    local = client.download_artifacts(run.info.run_id, "results/som_results.json",
                                      str(sweep_store.root))
    with open(local) as fh:
        logged = json.load(fh)
    assert logged["training_stats"] == results["training_stats"]
    with pytest.raises(TypeError, match="data"):
        log_result("som", som, plugin_manager=pm)


def test_grid_mismatch_is_refused_before_logging(sweep_store, trained):
    som, x = trained
    sweep_store.use_experiment("sweep")
    with mlflow.start_run() as run:
        with pytest.raises(ValueError, match="grid"):
            log_som_run(som, x, {"x_dim": 8, "y_dim": 8})
    assert MlflowClient().get_run(run.info.run_id).data.params == {}


def test_demo_sweep(sweep_store, sweep_exporter):
    from mlflow_sweep_som.demo import log_demo_sweep

    sweep_store.create_experiment("som-demo")  # artifacts under the test's store, not ./mlruns
    log_demo_sweep("som-demo", n_runs=3, seed=1)
    result = sweep_exporter("som-demo", plugins=[plugin], load_entry_points=False)
    assert result.warnings == []
    assert len(result.df) == 3
    assert sorted(result.df["som_grid_size"]) == [9, 9, 9]
    assert result.df["quantization_error"].notna().all()
    assert (result.df["metrics.quantization_error"] == result.df["quantization_error"]).all()


def test_offline_run_spools_then_syncs(sweep_store, sweep_exporter, trained, tmp_path):
    """Tracking server unreachable from the start: log_som_run goes to the spool inside
    sweep_run, the job finishes, and ``sync`` later puts the whole run in the store."""
    import warnings

    from mlflow_sweep_plugin import sweep_run, sync_spool
    from mlflow_sweep_plugin.testing import free_port

    som, x = trained
    spool = tmp_path / "spool"
    fig = tmp_path / "som_topology.png"
    fig.write_bytes(b"\x89PNG\r\n\x1a\n")
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with sweep_run(experiment="som-offline", run_name="offline", tracking_uri=down,
                       spool_dir=spool):
            results = log_som_run(som, x, CONFIG, artifacts=[fig])
    assert any("spool" in str(w.message).lower() for w in caught)

    sweep_store.create_experiment("som-offline")  # artifacts under the test's store
    sync_spool(spool, tracking_uri=sweep_store.tracking_uri)
    sync_spool(spool, tracking_uri=sweep_store.tracking_uri)  # again: nothing new
    client = MlflowClient(sweep_store.tracking_uri)
    exp = client.get_experiment_by_name("som-offline")
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    run = runs[0]
    assert run.data.params["som_grid_size"] == "12"
    assert run.data.metrics["quantization_error"] == pytest.approx(
        results["training_stats"]["quantization_error"])
    assert len(client.get_metric_history(run.info.run_id, "num_clusters")) == 1
    assert artifact_paths(client, run.info.run_id) == [
        "models/som_model.npz", "results/som_results.json", "visualizations/som_topology.png"]
    result = sweep_exporter("som-offline", plugins=[plugin], load_entry_points=False)
    assert result.warnings == [] and result.df.iloc[0]["som_grid_size"] == 12
