"""The cluster_summary parser, tested through the harness as any plugin author would."""

from __future__ import annotations

import copy
import json
import math
import pathlib

import pandas as pd
import pytest

import mlflow_sweep_clustering.plugin as clustering_plugin

DATA = pathlib.Path(__file__).parent / "data"
EXAMPLE = DATA / "clustering_run" / "layer_0" / "cluster_summary.json"


@pytest.fixture
def example():
    return json.loads(EXAMPLE.read_text())


def export(sweep_exporter):
    # only this plugin's parser, whatever else is installed
    return sweep_exporter(plugins=[clustering_plugin], load_entry_points=False,
                          parser_names=["cluster_summary"])


def test_example_file_gives_exactly_the_format_columns(make_sweep, sweep_exporter):
    make_sweep([{"params": {"sae_type": "relu"},
                 "artifacts": {"layer_0/cluster_summary.json": EXAMPLE}}])
    result = export(sweep_exporter)
    assert result.warnings == []
    row = result.df.iloc[0]
    record_cols = list(result.df.columns[result.df.columns.get_loc("layer"):])
    expected = {"layer", "energy_contrast_ratio",
                "soft_assignments_mess3", "soft_assignments_tom_quantum",
                "soft_assignment_scores_mess3", "soft_assignment_scores_tom_quantum",
                "soft_noise_clusters", "refined_assignments_mess3", "refined_assignments_tom_quantum",
                "refined_assignment_scores_mess3", "refined_assignment_scores_tom_quantum",
                "refined_noise_clusters"}
    for n in (0, 2):
        expected |= {f"cluster_{n}_best_geometry", f"cluster_{n}_best_optimal_distance",
                     f"cluster_{n}_circle_dist"} | {f"cluster_{n}_simplex_{k}_dist" for k in range(1, 9)}
    assert set(record_cols) == expected
    assert row["layer"] == 0 and row["sae_type"] == "relu"
    assert row["refined_assignment_scores_mess3"] == 0.9540
    assert row["cluster_0_simplex_8_dist"] == 0.29
    assert row["cluster_2_best_geometry"] == "simplex_3"


def test_tolerated_variations(make_sweep, sweep_exporter, example):
    varied = copy.deepcopy(example)
    varied["layer"] = 5
    del varied["component_assignment_refined"]
    varied["component_assignment"] = {"assignments": {"fanizza": None, "mess3": 1},
                                      "scores": {"fanizza": None, "mess3": 0.7},
                                      "noise_clusters": []}
    varied["geometry_fits"] = {"1": {"best_geometry": "simplex_2", "best_optimal_distance": float("nan"),
                                     "distances": {"simplex_1": float("nan"), "simplex_2": 0.1}},
                               "7": {"best_geometry": "circle", "best_optimal_distance": 0.2,
                                     "distances": {}}}
    make_sweep([{"artifacts": {"layer_0/cluster_summary.json": example,
                               "layer_5/cluster_summary.json": varied}}])
    result = export(sweep_exporter)
    assert result.warnings == []
    df = result.df.sort_values("layer")
    five = df.iloc[1]
    assert five["layer"] == 5 and five["soft_noise_clusters"] == "[]"
    assert pd.isna(five["soft_assignments_fanizza"])
    assert math.isnan(five["cluster_1_best_optimal_distance"])
    assert math.isnan(five["cluster_1_simplex_1_dist"])
    assert five["cluster_7_best_geometry"] == "circle"
    assert df.iloc[0]["refined_noise_clusters"] == "[0, 1]"
    assert pd.isna(five["refined_noise_clusters"])


@pytest.mark.parametrize("mutate, reason", [
    (lambda d: "{\"layer\": 0, \"geometry_fits\": {", "invalid JSON"),
    (lambda d: {**d, "layer": 3}, "path says layer 0"),
    (lambda d: {**d, "energy_contrast_ratio": "high"}, "energy_contrast_ratio"),
    (lambda d: {**d, "geometry_fits": [1, 2]}, "geometry_fits"),
    (lambda d: {**d, "geometry_fits": {"x": {}}}, "cluster id 'x'"),
    (lambda d: {**d, "component_assignment": {"assignments": {"mess3": "two"}}}, "assignments.mess3"),
    (lambda d: [d], "top level"),
])
def test_malformed_files_warn_and_lose_nothing_else(make_sweep, sweep_exporter, example, mutate, reason):
    bad = mutate(copy.deepcopy(example))
    other = copy.deepcopy(example)
    other["layer"] = 1
    sweep = make_sweep([
        {"run_name": "bad", "artifacts": {"layer_0/cluster_summary.json": bad,
                                          "layer_1/cluster_summary.json": other}},
        {"run_name": "good", "artifacts": {"layer_0/cluster_summary.json": example}},
    ])
    result = export(sweep_exporter)
    assert len(result.warnings) == 1
    msg = str(result.warnings[0])
    assert sweep.run_ids[0] in msg and "layer_0/cluster_summary.json" in msg and reason in msg
    got = sorted(zip(result.df["run_name"], result.df["layer"]))
    assert got == [("bad", 1), ("good", 0)]


def test_demo_sweep_exports_every_layer(sweep_store, sweep_exporter):
    from mlflow_sweep_clustering.demo import log_demo_sweep

    log_demo_sweep("demo", n_runs=5, seed=3)
    result = sweep_exporter("demo", plugins=[clustering_plugin], load_entry_points=False)
    df = result.df
    assert result.warnings == [] and result.n_runs == 5
    assert (df["status"] == "FAILED").sum() == 1
    finished = df[df["status"] == "FINISHED"]
    assert set(finished["layer"].dropna().astype(int)) <= {0, 1, 2, 3}
    assert finished.groupby("run_id")["layer"].count().between(3, 4).all()
