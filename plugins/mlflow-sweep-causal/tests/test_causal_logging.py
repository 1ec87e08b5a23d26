"""log_causal_run and the ``causal`` result logger against a real sqlite store."""

from __future__ import annotations

import pathlib
import shutil

import mlflow
import pytest
import yaml
from mlflow.tracking import MlflowClient
from mlflow_sweep_plugin.testing import artifact_paths

from mlflow_sweep_causal import plugin
from mlflow_sweep_causal.tracking import log_causal_run

EXAMPLE = pathlib.Path(__file__).parent / "data" / "causal_run"
CONFIG = {"seed": 3, "data": {"n_vars": 4, "graph": "erdos_renyi"},
          "svgd": {"n_particles": 4, "steps": 1000}, "ensemble": {"n_bootstrap": 3},
          "interventions": [0, 2]}



@pytest.fixture
def results_dir(tmp_path, cdata):
    d = tmp_path / "results"
    shutil.copytree(EXAMPLE, d)
    (d / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    (d / "intervention_details.yaml").write_text("targets: [0, 2]\n")
    (d / "SVGD" / "thetas.pkl").write_bytes(cdata.tripwire_pickle(tmp_path / "tripwire"))
    (d / "ground_truth_theta.pkl").write_bytes(cdata.tripwire_pickle(tmp_path / "tripwire"))
    (d / "plots").mkdir()
    (d / "plots" / "marginals.png").write_bytes(b"\x89PNG")
    (d / "SVGD" / "edges.pdf").write_bytes(b"%PDF")
    (d / "graph.svg").write_text("<svg/>")
    return d



def test_log_causal_run(sweep_store, sweep_exporter, results_dir, tmp_path):
    sweep_store.use_experiment()
    with mlflow.start_run() as run:
        logged = log_causal_run(results_dir)
        log_causal_run(results_dir)  # a resumed job: same params again is a no-op
    assert logged == {"SVGD": {"SVGD.eshd": 1.75, "SVGD.auroc": 0.9375, "SVGD.negll_obs": 1523.7,
                               "SVGD.negll_intrv": 1610.2},
                      "Ensemble": {"Ensemble.eshd": 2.5, "Ensemble.auroc": 0.8125,
                                   "Ensemble.negll_obs": 1601.3}}
    client = MlflowClient()
    data = client.get_run(run.info.run_id).data
    assert data.metrics["SVGD.eshd"] == 1.75 and data.metrics["Ensemble.auroc"] == 0.8125
    assert "Ensemble.negll_intrv" not in data.metrics
    # the run config flattened, and each learner's section under its prefix
    assert data.params["data.n_vars"] == "4" and data.params["interventions"] == "0,2"
    assert data.params["svgd.n_particles"] == "4"
    assert data.params["SVGD.n_particles"] == "4" and data.params["SVGD.steps"] == "1000"
    assert data.params["Ensemble.n_bootstrap"] == "3"
    # files kept with their layout, plots left out, pickles uploaded but never opened
    assert artifact_paths(client, run.info.run_id) == [
        "Ensemble/particles.npz", "SVGD/particles.npz", "SVGD/thetas.pkl", "config.yaml",
        "ground_truth.yaml", "ground_truth_theta.pkl", "intervention_details.yaml",
        "metrics.yaml"]
    assert not (tmp_path / "tripwire").exists()

    # what was logged exports back: reported and recomputed metrics per learner
    result = sweep_exporter(plugins=[plugin], load_entry_points=False)
    assert result.warnings == []
    df = result.df.set_index("learner")
    assert df.loc["SVGD", "eshd"] == 1.75 and df.loc["SVGD", "eshd_computed"] == pytest.approx(0.6)
    assert df.loc["SVGD", "metrics.SVGD.eshd"] == 1.75


def test_learner_configs_and_options(sweep_store, results_dir):
    sweep_store.use_experiment()
    with mlflow.start_run() as run:
        log_causal_run(results_dir, config={"seed": 1},
                       learner_configs={"SVGD": {"kernel": "rbf"}, "DiBS": {"alpha": 0.1}},
                       exclude=("*.pkl", "*.png", "*.pdf", "*.svg", "plots/**"))
    client = MlflowClient()
    data = client.get_run(run.info.run_id).data
    assert data.params == {"seed": "1", "SVGD.kernel": "rbf", "DiBS.alpha": "0.1"}
    assert not any(p.endswith(".pkl") for p in artifact_paths(client, run.info.run_id))


def test_bad_metrics_file_logs_nothing(sweep_store, results_dir):
    (results_dir / "metrics.yaml").write_text("SVGD:\n  eshd: high\n")
    sweep_store.use_experiment()
    with mlflow.start_run() as run:
        with pytest.raises(ValueError, match="metrics.yaml.*eshd"):
            log_causal_run(results_dir)
    client = MlflowClient()
    assert client.get_run(run.info.run_id).data.params == {}
    assert artifact_paths(client, run.info.run_id) == []


def test_log_result_and_demo(sweep_store, sweep_exporter, results_dir):
    from mlflow_sweep_plugin import log_result
    from mlflow_sweep_plugin.plugins import SweepPluginManager

    from mlflow_sweep_causal.demo import log_demo_sweep

    pm = SweepPluginManager(extra_plugins=[plugin], load_entry_points=False)
    sweep_store.use_experiment()
    with mlflow.start_run() as run:
        logged = log_result("causal", results_dir, plugin_manager=pm, log_files=False)
    assert logged["SVGD"]["SVGD.eshd"] == 1.75
    assert artifact_paths(MlflowClient(), run.info.run_id) == []

    sweep_store.create_experiment("causal-demo")
    log_demo_sweep("causal-demo", n_runs=3, seed=2)
    result = sweep_exporter("causal-demo", plugins=[plugin], load_entry_points=False)
    assert result.warnings == []
    df = result.df
    assert len(df) == 3 * 2 and set(df["learner"]) == {"SVGD", "Ensemble"}
    # the demo's learners report what the particles say: reported == recomputed
    assert (df["eshd"] - df["eshd_computed"]).abs().max() < 1e-3
    assert df[df["learner"] == "Ensemble"]["negll_intrv"].isna().all()
    assert not any("plots" in c for c in df.columns)
