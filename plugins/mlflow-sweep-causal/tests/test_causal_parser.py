"""The causal parsers on a real sqlite store: the example run and broken variants."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mlflow_sweep_causal import plugin

PARSERS = ["causal_metrics", "causal_particles", "causal_ground_truth"]
COLUMNS = ["learner", "eshd", "auroc", "negll_obs", "negll_intrv", "eshd_computed",
           "auroc_computed"]


def export(sweep_exporter, **options):
    return sweep_exporter(plugins=[plugin], load_entry_points=False, parser_names=PARSERS,
                          **options)


def by_learner(df, run_name):
    rows = df[df["run_name"] == run_name]
    return {r["learner"]: r for _, r in rows.iterrows()}


def test_example_run(make_sweep, sweep_exporter, tmp_path, cdata):
    tripwire = tmp_path / "tripwire"
    run = cdata.example_run()
    run["ground_truth_theta.pkl"] = cdata.tripwire_pickle(tripwire)
    run["SVGD/thetas.pkl"] = cdata.tripwire_pickle(tripwire)
    make_sweep([{"run_name": "example", "params": {"seed": 0}, "artifacts": run}])
    result = export(sweep_exporter)
    assert result.warnings == []
    df = result.df
    assert set(COLUMNS) <= set(df.columns)
    rows = by_learner(df, "example")
    assert sorted(rows) == ["Ensemble", "SVGD"] and len(df) == 2
    svgd, ens = rows["SVGD"], rows["Ensemble"]
    assert (svgd["eshd"], svgd["auroc"], svgd["negll_obs"], svgd["negll_intrv"]) == (
        1.75, 0.9375, 1523.7, 1610.2)
    assert svgd["eshd_computed"] == pytest.approx(0.6)
    assert svgd["auroc_computed"] == 1.0
    assert (ens["eshd"], ens["auroc"], ens["negll_obs"]) == (2.5, 0.8125, 1601.3)
    assert pd.isna(ens["negll_intrv"])                      # absent: empty
    assert ens["eshd_computed"] == pytest.approx(2 / 3)    # uniform weights
    assert not tripwire.exists()                            # no pickle was opened


def test_learners_without_metrics_and_partial_runs(make_sweep, sweep_exporter, cdata):
    extra = cdata.example_run()
    extra["DiBS/particles.npz"] = cdata.npz_bytes(graphs=np.zeros((2, 4, 4), dtype=np.int8))
    only_particles = {"ground_truth.yaml": cdata.example("ground_truth.yaml"),
                      "SVGD/particles.npz": cdata.example("SVGD/particles.npz")}
    no_truth = {"metrics.yaml": cdata.example("metrics.yaml"),
                "SVGD/particles.npz": cdata.example("SVGD/particles.npz")}
    nulls = {"metrics.yaml": "SVGD:\n  eshd: null\n  auroc: .nan\nEnsemble:\n"}
    make_sweep([
        {"run_name": "extra_learner", "artifacts": extra},
        {"run_name": "only_particles", "artifacts": only_particles},
        {"run_name": "no_truth", "artifacts": no_truth},
        {"run_name": "nulls", "artifacts": nulls},
        {"run_name": "empty"},
    ])
    result = export(sweep_exporter)
    assert result.warnings == []
    df = result.df
    rows = by_learner(df, "extra_learner")
    assert sorted(rows) == ["DiBS", "Ensemble", "SVGD"]
    dibs = rows["DiBS"]
    assert all(pd.isna(dibs[c]) for c in ("eshd", "auroc", "negll_obs", "negll_intrv"))
    assert dibs["eshd_computed"] == 4.0   # empty graphs vs a 4-edge truth (4 pairs)
    assert dibs["auroc_computed"] == 0.5  # all marginals equal

    rows = by_learner(df, "only_particles")
    assert list(rows) == ["SVGD"]
    assert pd.isna(rows["SVGD"]["eshd"]) and rows["SVGD"]["eshd_computed"] == pytest.approx(0.6)

    rows = by_learner(df, "no_truth")
    assert sorted(rows) == ["Ensemble", "SVGD"]
    assert rows["SVGD"]["eshd"] == 1.75 and pd.isna(rows["SVGD"]["eshd_computed"])

    rows = by_learner(df, "nulls")
    assert sorted(rows) == ["Ensemble", "SVGD"]
    assert pd.isna(rows["SVGD"]["eshd"]) and math.isnan(rows["SVGD"]["auroc"])

    empty = df[df["run_name"] == "empty"]
    assert len(empty) == 1 and pd.isna(empty.iloc[0]["learner"])


def test_bad_files_warn_and_lose_nothing_else(check_bad_artifacts, tmp_path, cdata):
    tripwire = tmp_path / "tripwire"
    good = cdata.example_run()

    def variant(**changes):
        run = dict(good)
        run.update(changes)
        return {k: v for k, v in run.items() if v is not None}

    runs = {
        "truncated_metrics": variant(**{"metrics.yaml": "SVGD:\n  eshd: [1.75\n  auroc: 0.9"}),
        "wrong_type_metrics": variant(**{"metrics.yaml": "SVGD:\n  eshd: high\n"}),
        "list_metrics": variant(**{"metrics.yaml": "- SVGD\n- Ensemble\n"}),
        "no_graphs": variant(**{"SVGD/particles.npz": cdata.npz_bytes(weights=np.ones(2) / 2)}),
        "wrong_shape": variant(**{"Ensemble/particles.npz": cdata.npz_bytes(graphs=np.zeros((2, 3, 3)))}),
        "not_binary": variant(**{"SVGD/particles.npz": cdata.npz_bytes(graphs=np.full((1, 4, 4), 3))}),
        "bad_weights": variant(**{"SVGD/particles.npz": cdata.npz_bytes(graphs=np.zeros((2, 4, 4)),
                                                                  weights=np.array([0.9, 0.9]))}),
        "pickle_npz": variant(**{"SVGD/particles.npz": cdata.pickled_npz(tripwire)}),
        "not_a_zip": variant(**{"SVGD/particles.npz": b"PK\x03\x04 truncated"}),
        "truncated_truth": variant(**{"ground_truth.yaml": "adjacency:\n  - [0, 1\n"}),
        "nonsquare_truth": variant(**{"ground_truth.yaml": "adjacency: [[0, 1, 0], [0, 0, 1]]\n"}),
        "no_adjacency": variant(**{"ground_truth.yaml": "nodes: [X0, X1]\n"}),
    }
    expected_path = {
        "truncated_metrics": "metrics.yaml", "wrong_type_metrics": "metrics.yaml",
        "list_metrics": "metrics.yaml", "no_graphs": "SVGD/particles.npz",
        "wrong_shape": "Ensemble/particles.npz", "not_binary": "SVGD/particles.npz",
        "bad_weights": "SVGD/particles.npz", "pickle_npz": "SVGD/particles.npz",
        "not_a_zip": "SVGD/particles.npz", "truncated_truth": "ground_truth.yaml",
        "nonsquare_truth": "ground_truth.yaml", "no_adjacency": "ground_truth.yaml",
    }
    report = check_bad_artifacts(runs, good, paths=expected_path, plugins=[plugin], load_entry_points=False,
                                 parser_names=PARSERS)
    df = report.result.df
    for name in expected_path:
        assert len(report.warnings[name]) == 1, (name, [str(w) for w in report.warnings[name]])
    reasons = {name: report.reason(name) for name in expected_path}
    assert "YAML" in reasons["truncated_metrics"]
    assert "eshd" in reasons["wrong_type_metrics"] and "number" in reasons["wrong_type_metrics"]
    assert "graphs" in reasons["no_graphs"]
    assert "3 nodes" in reasons["wrong_shape"] and "4" in reasons["wrong_shape"]
    assert "pickle" in reasons["pickle_npz"].lower()
    assert "square" in reasons["nonsquare_truth"] or "length" in reasons["nonsquare_truth"]
    assert "adjacency" in reasons["no_adjacency"]
    assert not tripwire.exists()

    # every run still has both learners (from metrics.yaml, or from the particles when
    # metrics.yaml itself is bad), and nothing else lost
    for name in runs:
        assert sorted(by_learner(df, name)) == ["Ensemble", "SVGD"], name
    assert len(df) == 2 * (len(runs) + 1)

    # metrics.yaml bad: the learners' rows come from their particles (computed only)
    svgd = by_learner(df, "truncated_metrics")["SVGD"]
    assert pd.isna(svgd["eshd"]) and svgd["eshd_computed"] == pytest.approx(0.6)
    # particles bad: reported values kept, computed empty for that learner only
    rows = by_learner(df, "no_graphs")
    assert rows["SVGD"]["eshd"] == 1.75 and pd.isna(rows["SVGD"]["eshd_computed"])
    assert rows["Ensemble"]["eshd_computed"] == pytest.approx(2 / 3)
    rows = by_learner(df, "wrong_shape")
    assert pd.isna(rows["Ensemble"]["eshd_computed"]) and rows["SVGD"]["auroc_computed"] == 1.0
    # ground truth bad: reported values kept, nothing computed
    rows = by_learner(df, "nonsquare_truth")
    assert rows["SVGD"]["auroc"] == 0.9375 and pd.isna(rows["SVGD"]["auroc_computed"])
    good_rows = by_learner(df, "good")
    assert good_rows["SVGD"]["eshd_computed"] == pytest.approx(0.6)


def test_one_class_truth_leaves_auroc_empty(make_sweep, sweep_exporter, cdata):
    run = cdata.example_run()
    run["ground_truth.yaml"] = "adjacency:\n" + "".join("  - [0, 0, 0, 0]\n" for _ in range(4))
    make_sweep([{"run_name": "no_edges", "artifacts": run}])
    result = export(sweep_exporter)
    assert result.warnings == []
    svgd = by_learner(result.df, "no_edges")["SVGD"]
    assert pd.isna(svgd["auroc_computed"])
    # SVGD particles have 4, 3, 4 and 5 edges
    assert svgd["eshd_computed"] == pytest.approx(0.4 * 4 + 0.3 * 3 + 0.2 * 4 + 0.1 * 5)


@pytest.mark.server
def test_remote_store_reads_siblings(mlflow_server, cdata, monkeypatch):
    """Through a real server (remote artifact reader): the metrics parser reaches the
    ground truth and particles by reading them, even when only it is selected and the
    listing does not cover the learners' folders."""
    import mlflow

    # MLflow 2.x resolves mlflow-artifacts: URIs through the global tracking URI
    previous = mlflow.get_tracking_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    mlflow.set_tracking_uri(mlflow_server.url)
    try:
        _remote_checks(mlflow_server, cdata)
    finally:
        mlflow.set_tracking_uri(previous)


def _remote_checks(mlflow_server, cdata):
    import uuid

    from mlflow_sweep_plugin.export import export_sweep
    from mlflow_sweep_plugin.plugins import SweepPluginManager
    from mlflow_sweep_plugin.testing import log_sweep

    name = f"causal-remote-{uuid.uuid4().hex[:8]}"
    extra = cdata.example_run()
    extra["DiBS/particles.npz"] = cdata.npz_bytes(graphs=np.zeros((1, 4, 4), dtype=np.int8))
    extra["Ensemble/particles.npz"] = cdata.npz_bytes(graphs=np.zeros((1, 3, 3)))
    extra["metrics.yaml"] = cdata.example("metrics.yaml") + b"GES:\n  eshd: 3.0\n"  # no particles
    log_sweep(None, [{"run_name": "remote", "artifacts": extra}], experiment_name=name,
              tracking_uri=mlflow_server.url)
    pm = SweepPluginManager(extra_plugins=[plugin], load_entry_points=False)
    result = export_sweep(experiment_names=[name], tracking_uri=mlflow_server.url,
                          plugin_manager=pm, write=False)
    rows = by_learner(result.df, "remote")
    assert sorted(rows) == ["DiBS", "Ensemble", "GES", "SVGD"]
    assert rows["GES"]["eshd"] == 3.0 and pd.isna(rows["GES"]["eshd_computed"])
    assert rows["SVGD"]["eshd_computed"] == pytest.approx(0.6)
    assert pd.isna(rows["Ensemble"]["eshd_computed"]) and rows["DiBS"]["eshd_computed"] == 4.0
    assert [w.path for w in result.warnings] == ["Ensemble/particles.npz"]

    only = export_sweep(experiment_names=[name], tracking_uri=mlflow_server.url,
                        plugin_manager=pm, write=False, parser_names=["causal_metrics"])
    rows = by_learner(only.df, "remote")
    assert sorted(rows) == ["Ensemble", "GES", "SVGD"] and only.warnings == []
    assert rows["SVGD"]["auroc_computed"] == 1.0
