"""The hamming_summary parser on a real sqlite store: the example file and broken ones."""

from __future__ import annotations

import copy
import json
import pathlib

import numpy as np
import pandas as pd
import pytest

import mlflow_sweep_clustering.plugin as clustering_plugin

EXAMPLE = pathlib.Path(__file__).parent / "data" / "hamming_run" / "summary" / "metrics_summary.json"
PATH = "summary/metrics_summary.json"
COLUMNS = ["method", "layer", "component", "matrix", "seed", "k", "feature_idx", "min_hamming",
           "max_hamming", "hamming_range", "mean_within_cluster_distance",
           "mean_between_cluster_distance", "separation_ratio", "separation_quality",
           "total_inertia", "cluster_balance", "cluster_sizes", "n_iter", "converged"]


@pytest.fixture
def example():
    return json.loads(EXAMPLE.read_text())


def export(sweep_exporter):
    return sweep_exporter(plugins=[clustering_plugin], load_entry_points=False,
                          parser_names=["hamming_summary"])


def test_example_file(make_sweep, sweep_exporter, example):
    make_sweep([{"run_name": "wanda_down", "params": {"n_similar": 128},
                 "artifacts": {PATH: EXAMPLE}}])
    result = export(sweep_exporter)
    assert result.warnings == []
    df = result.df
    assert set(COLUMNS) <= set(df.columns)
    assert len(df) == 3
    assert df[["seed", "k"]].values.tolist() == [[0, 4], [0, 8], [1, 4]]
    assert set(df["method"]) == {"wanda"} and set(df["layer"]) == {1}
    assert set(df["component"]) == {"mlp.down_proj"} and set(df["matrix"]) == {"layer1-mlp.down_proj"}
    for (_, row), ex in zip(df.iterrows(), example["executions"]):
        for key in ("feature_idx", "min_hamming", "max_hamming", "mean_within_cluster_distance",
                    "mean_between_cluster_distance", "separation_ratio", "total_inertia",
                    "n_iter", "converged"):
            assert row[key] == ex[key], key
        assert row["hamming_range"] == ex["max_hamming"] - ex["min_hamming"]
        assert row["cluster_balance"] == pytest.approx(np.std(ex["cluster_sizes"]))
        assert json.loads(row["cluster_sizes"]) == ex["cluster_sizes"]
        assert row["separation_quality"] == "good"
    assert df.iloc[0]["cluster_sizes"] == "[40, 30, 33, 25]"
    assert df.iloc[0]["hamming_range"] == 228 and df.iloc[2]["hamming_range"] == 312


def test_older_files_and_quality_bands(make_sweep, sweep_exporter, example):
    old = copy.deepcopy(example)
    for i, (ratio, ex) in enumerate(zip([2.5, 0.3, 0.7], old["executions"])):
        ex["separation_ratio"] = ratio
        ex.pop("n_iter")
        ex.pop("converged")
    del old["executions"][2]["min_hamming"]
    del old["executions"][2]["cluster_sizes"]
    other = copy.deepcopy(example)
    other["config"].update(method="sparsegpt", layer=2, component="self_attn.q_proj")
    other["executions"] = []
    make_sweep([{"run_name": "old", "artifacts": {PATH: old}},
                {"run_name": "no_executions", "artifacts": {PATH: other}}])
    result = export(sweep_exporter)
    assert result.warnings == []
    rows = result.df[result.df["run_name"] == "old"]
    assert rows["separation_quality"].tolist() == ["excellent", "poor", "moderate"]
    assert rows["n_iter"].isna().all() and rows["converged"].isna().all()
    assert pd.isna(rows.iloc[2]["hamming_range"]) and pd.isna(rows.iloc[2]["cluster_balance"])
    assert rows.iloc[2]["max_hamming"] == 1102
    empty = result.df[result.df["run_name"] == "no_executions"]
    assert len(empty) == 1 and pd.isna(empty.iloc[0]["k"])  # the run's one row, no records


def test_bad_files_warn_and_lose_nothing_else(check_bad_artifacts, example):
    def changed(fn):
        doc = copy.deepcopy(example)
        fn(doc)
        return doc

    broken = {
        "truncated": EXAMPLE.read_text()[:300],
        "top_level_list": [example],
        "no_executions": changed(lambda d: d.pop("executions")),
        "no_config": changed(lambda d: d.pop("config")),
        "no_matrix": changed(lambda d: d.pop("matrix")),
        "executions_object": changed(lambda d: d.__setitem__("executions", {"0": {}})),
        "execution_number": changed(lambda d: d["executions"].append(3)),
        "k_text": changed(lambda d: d["executions"][1].__setitem__("k", "8")),
        "ratio_text": changed(lambda d: d["executions"][0].__setitem__("separation_ratio", "1.5")),
        "sizes_object": changed(lambda d: d["executions"][0].__setitem__("cluster_sizes", {"0": 4})),
        "negative_size": changed(lambda d: d["executions"][0].__setitem__("cluster_sizes", [3, -1])),
        "converged_text": changed(lambda d: d["executions"][2].__setitem__("converged", "yes")),
        "layer_text": changed(lambda d: d["config"].__setitem__("layer", "one")),
    }
    report = check_bad_artifacts({name: {PATH: doc} for name, doc in broken.items()},
                                 {PATH: example, "summary/summary_distances.png": b"\x89PNG"},
                                 paths={name: PATH for name in broken}, plugins=[clustering_plugin],
                                 load_entry_points=False, parser_names=["hamming_summary"])
    assert len(report.result.warnings) == len(broken)
    assert "JSON" in report.reason("truncated")
    assert "executions" in report.reason("no_executions") and "config" in report.reason("no_config")
    assert "executions[1].k" in report.reason("k_text")
    assert "executions[3]" in report.reason("execution_number")
    assert "converged" in report.reason("converged_text")
    assert len(report.result.df) == len(broken) + 3
    assert len(report.rows("good")) == 3


def test_hamming_demo_sweep(sweep_store, sweep_exporter):
    from mlflow_sweep_clustering.hamming_demo import log_hamming_sweep

    sweep_store.create_experiment("hamming-demo")  # artifacts under the test's store
    log_hamming_sweep("hamming-demo", n_runs=4, seed=1)
    result = sweep_exporter("hamming-demo", plugins=[clustering_plugin], load_entry_points=False)
    assert result.warnings == []
    df = result.df
    assert len(df) == 4 * 3 * 2  # runs x seeds x k values
    assert set(df["method"]) == {"wanda", "sparsegpt"} and set(df["k"]) == {2, 4}
    ratio = df["mean_between_cluster_distance"] / df["mean_within_cluster_distance"]
    np.testing.assert_allclose(df["separation_ratio"], ratio)
    assert df["separation_quality"].notna().all()
    assert (df["hamming_range"] == df["max_hamming"] - df["min_hamming"]).all()
    assert df["n_iter"].isna().sum() == 6  # the older-format run


def test_log_hamming_summary(sweep_store, sweep_exporter, example):
    import mlflow
    from mlflow.tracking import MlflowClient

    from mlflow_sweep_clustering.hamming_tracking import log_hamming_summary
    from mlflow_sweep_plugin import log_result
    from mlflow_sweep_plugin.plugins import SweepPluginManager

    sweep_store.use_experiment("sweep")
    with mlflow.start_run() as run:
        logged = log_hamming_summary(example)
    data = MlflowClient().get_run(run.info.run_id).data
    assert data.params["method"] == "wanda" and data.params["k_values"] == "4,8"
    assert data.params["matrix_name"] == "layer1-mlp.down_proj"
    assert data.params["matrix_shape"] == "4096x11008"
    assert data.metrics["seed_0.k_4.separation_ratio"] == 1.598
    assert data.metrics["seed_1.k_4.hamming_range"] == 312
    assert data.metrics["k_4.separation_ratio_mean"] == pytest.approx((1.598 + 1.218) / 2)
    assert data.metrics["k_8.n_iter_mean"] == 9
    assert logged == {k: v for k, v in data.metrics.items()}

    result = sweep_exporter(plugins=[clustering_plugin], load_entry_points=False,
                            parser_names=["hamming_summary"])
    assert result.warnings == [] and len(result.df) == 3
    assert result.df["separation_ratio"].tolist() == [1.598, 1.758, 1.218]

    # through log_result, and a bad document logs nothing
    pm = SweepPluginManager(extra_plugins=[clustering_plugin], load_entry_points=False)
    bad = copy.deepcopy(example)
    bad["executions"][0]["k"] = "four"
    with mlflow.start_run() as run:
        with pytest.raises(ValueError, match=r"executions\[0\]\.k"):
            log_result("hamming", bad, plugin_manager=pm)
        log_result("hamming", example, plugin_manager=pm)
    assert MlflowClient().get_run(run.info.run_id).data.params["component"] == "mlp.down_proj"
