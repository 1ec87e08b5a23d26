"""End-to-end: a clustering sweep on a real sqlite store, exported by every spelling."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pandas as pd
import pytest

from sweep_test_helpers import summary_for


@pytest.fixture
def clustering_sweep(make_sweep, example_summary):
    ex = example_summary
    no_refined = summary_for(ex, 1)
    del no_refined["component_assignment_refined"]
    nan_fit = summary_for(ex, 0)
    nan_fit["geometry_fits"]["0"]["distances"]["circle"] = float("nan")
    nan_fit["geometry_fits"]["2"]["distances"] = {"simplex_1": 0.5, "simplex_2": float("nan")}
    null_assign = summary_for(ex, 2)
    null_assign["component_assignment"]["assignments"]["mess3"] = None
    null_assign["component_assignment"]["scores"]["mess3"] = None
    ten_clusters = summary_for(ex, 2)
    ten_clusters["geometry_fits"]["10"] = {"best_geometry": "circle", "best_optimal_distance": 0.5,
                                           "distances": {"circle": 0.5}}
    runs = [
        {"run_name": "relu_all_layers", "params": {"sae_type": "relu", "force_k": 3, "lr": "-0.5"},
         "metrics": {"final_loss": 0.25},
         "artifacts": {f"layer_{i}/cluster_summary.json": summary_for(ex, i) for i in range(4)}},
        {"run_name": "topk_missing_layer3", "params": {"sae_type": "topk", "force_k": 4, "lr": "=x"},
         "artifacts": {"layer_0/cluster_summary.json": nan_fit,
                       "layer_1/cluster_summary.json": no_refined,
                       "layer_2/cluster_summary.json": null_assign}},
        {"run_name": "crashed", "params": {"sae_type": "relu", "force_k": 6}, "status": "FAILED"},
        {"run_name": "bad_layer1", "params": {"sae_type": "topk", "force_k": 3},
         "artifacts": {"layer_0/cluster_summary.json": summary_for(ex, 0),
                       "layer_1/cluster_summary.json": '{"layer": 1, "energy_contrast_ratio": ',
                       "layer_2/cluster_summary.json": ten_clusters,
                       "notes/readme.txt": "not a summary"}},
    ]
    return make_sweep(runs, experiment_name="clustering-sweep")


def rows(df, run_name):
    return df[df["run_name"] == run_name].sort_values("layer")


def test_layers_records_and_edge_cases(clustering_sweep, sweep_exporter):
    result = sweep_exporter("clustering-sweep")
    df = result.df
    ids = dict(zip(["a", "b", "c", "d"], clustering_sweep.run_ids))

    # one row per layer per run; layers discovered from the listing, not hard-coded
    assert rows(df, "relu_all_layers")["layer"].tolist() == [0, 1, 2, 3]
    assert rows(df, "topk_missing_layer3")["layer"].tolist() == [0, 1, 2]
    # the FAILED run without artifacts: exactly one row with its run and param columns
    crashed = df[df["run_name"] == "crashed"]
    assert len(crashed) == 1
    assert crashed.iloc[0]["status"] == "FAILED"
    assert crashed.iloc[0]["force_k"] == "6"
    assert pd.isna(crashed.iloc[0]["layer"])
    # the malformed layer_1: one warning naming run and path; its other layers still exported
    assert rows(df, "bad_layer1")["layer"].tolist() == [0, 2]
    assert len(result.warnings) == 1
    warning = str(result.warnings[0])
    assert ids["d"] in warning and "layer_1/cluster_summary.json" in warning and "JSON" in warning
    assert len(df) == 4 + 3 + 1 + 2

    a0 = rows(df, "relu_all_layers").iloc[0]
    assert a0["energy_contrast_ratio"] == 0.4172
    assert a0["soft_assignments_mess3"] == 2
    assert a0["soft_assignment_scores_tom_quantum"] == 0.5518
    assert a0["soft_noise_clusters"] == "[1]"
    assert a0["refined_noise_clusters"] == "[0, 1]"
    assert pd.isna(a0["refined_assignments_tom_quantum"])  # null in the file
    assert a0["cluster_0_best_geometry"] == "circle"
    assert a0["cluster_2_simplex_3_dist"] == 0.0093
    assert "cluster_1_best_geometry" not in df.columns  # noise cluster: no fit anywhere
    assert a0["metrics.final_loss"] == 0.25

    b = rows(df, "topk_missing_layer3")
    assert math.isnan(b.iloc[0]["cluster_0_circle_dist"])  # bare NaN token in the file
    assert b.iloc[0]["cluster_2_simplex_1_dist"] == 0.5
    assert pd.isna(b.iloc[0]["cluster_2_simplex_3_dist"])  # geometry missing from distances
    assert pd.isna(b.iloc[1]["refined_assignments_mess3"])  # absent refined section
    assert pd.isna(b.iloc[1]["refined_noise_clusters"])
    assert pd.isna(b.iloc[2]["soft_assignments_mess3"])  # null assignment
    assert b.iloc[2]["soft_assignments_tom_quantum"] == 0

    # natural column order: cluster_2 before cluster_10; run columns first
    cols = list(df.columns)
    assert cols[:6] == ["run_id", "run_name", "experiment_name", "start_time", "end_time", "status"]
    assert cols.index("cluster_2_best_geometry") < cols.index("cluster_10_best_geometry")
    assert cols.index("force_k") < cols.index("metrics.final_loss") < cols.index("layer")
    assert "n_clusters" not in cols  # exactly the format's columns


SEED_ANALYSIS = """
import pandas as pd, sys
df = pd.read_csv(sys.argv[1])
layer0 = df[df["layer"] == 0]
best = layer0.nsmallest(10, "cluster_0_best_optimal_distance")
cmp = df[["run_name", "layer", "soft_assignment_scores_mess3", "refined_assignment_scores_mess3"]]
by_type = df.groupby("sae_type")["energy_contrast_ratio"].mean()
print(len(best), len(cmp), round(by_type["relu"], 4), round(by_type["topk"], 4))
"""


def test_seed_analysis_runs_unchanged_on_csv(clustering_sweep, sweep_cli, tmp_path):
    out = tmp_path / "results.csv"
    res = sweep_cli("export", "--experiment-name", "clustering-sweep", "-o", out).assert_success()
    assert "exported 4 runs, 10 rows" in res.stderr
    assert "1 warnings" in res.stderr and str(out) in res.stderr
    script = tmp_path / "analysis.py"
    script.write_text(SEED_ANALYSIS)
    proc = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["3", "10", "0.4172", "0.4172"]
    # values round-trip exactly as logged, no formula neutralisation by default
    df = pd.read_csv(out, dtype={"lr": str})
    assert set(df["lr"].dropna()) == {"-0.5", "=x"}
    text = out.read_text()
    assert ",=x," in text and "'=x" not in text
    assert "T" in df["start_time"].iloc[0] and df["start_time"].iloc[0].endswith("+00:00")


def test_parquet_and_json_outputs(clustering_sweep, sweep_cli, tmp_path):
    pq = tmp_path / "r.parquet"
    js = tmp_path / "r.json"
    jl = tmp_path / "r.out"
    sweep_cli("export", "--experiment-name", "clustering-sweep", "-o", pq).assert_success()
    sweep_cli("export", "--experiment-name", "clustering-sweep", "-o", js).assert_success()
    sweep_cli("export", "--experiment-name", "clustering-sweep", "-o", jl,
              "--format", "jsonl").assert_success()
    dfp = pd.read_parquet(pq)
    assert len(dfp) == 10
    assert str(dfp["layer"].dtype) == "Int64"
    assert str(dfp["start_time"].dtype).startswith("datetime64")
    assert dfp.groupby("sae_type")["energy_contrast_ratio"].mean()["relu"] == pytest.approx(0.4172)
    records = json.loads(js.read_text())
    assert len(records) == 10
    crashed = [r for r in records if r["run_name"] == "crashed"][0]
    assert crashed["status"] == "FAILED" and crashed["layer"] is None
    nan_row = [r for r in records if r["run_name"] == "topk_missing_layer3" and r["layer"] == 0][0]
    assert nan_row["cluster_0_circle_dist"] is None  # NaN is null in JSON
    lines = jl.read_text().splitlines()
    assert len(lines) == 10 and json.loads(lines[0])["run_id"]
    dfj = pd.read_json(js)
    assert sorted(dfj["layer"].dropna().astype(int).tolist()) == [0, 0, 0, 1, 1, 2, 2, 2, 3]


def test_filter(clustering_sweep, sweep_exporter):
    df = sweep_exporter("clustering-sweep", filter_string="params.sae_type = 'topk'").df
    assert set(df["run_name"]) == {"topk_missing_layer3", "bad_layer1"}


def test_strict_exit_code_and_output_still_written(clustering_sweep, sweep_cli, tmp_path):
    out = tmp_path / "strict.csv"
    res = sweep_cli("export", "--experiment-name", "clustering-sweep", "-o", out, "--strict")
    assert res.exit_code == 1
    assert out.exists() and len(pd.read_csv(out)) == 10
    assert "layer_1/cluster_summary.json" in res.stderr


def test_unknown_experiment_lists_similar(clustering_sweep, sweep_cli, tmp_path):
    res = sweep_cli("export", "--experiment-name", "clustering-swep", "-o", tmp_path / "x.csv")
    assert res.exit_code == 2
    assert "clustering-sweep" in res.stderr and "unknown experiment" in res.stderr
    assert not (tmp_path / "x.csv").exists()


def test_by_experiment_id_and_parser_selection(clustering_sweep, sweep_cli, tmp_path):
    out = tmp_path / "by-id.csv"
    res = sweep_cli("export", "-x", clustering_sweep.experiment_id, "-o", out,
                    "--parser", "cluster_summary", "-q").assert_success()
    assert res.stderr.count("exported") == 0
    assert len(pd.read_csv(out)) == 10
    res = sweep_cli("export", "-x", clustering_sweep.experiment_id, "--parser", "nope")
    assert res.exit_code == 2 and "unknown parser" in res.stderr


def test_usage_error_without_experiment(sweep_cli):
    res = sweep_cli("export")
    assert res.exit_code == 2
    assert "--experiment-name" in res.stderr


def test_default_output_name_in_cwd(clustering_sweep, sweep_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = sweep_cli("export", "--experiment-name", "clustering-sweep").assert_success()
    made = list(tmp_path.glob("mlflow_sweep_results_*.csv"))
    assert len(made) == 1 and len(made[0].stem) == len("mlflow_sweep_results_20241017_120000")
    assert made[0].name in res.stderr  # the summary line says where the table went


@pytest.mark.parametrize("spelling", [
    ["mlflow", "sweep-export"],
    ["mlflow-sweep", "export"],
    [sys.executable, "-m", "mlflow_sweep_plugin", "export"],
])
def test_three_spellings(clustering_sweep, sweep_store, tmp_path, spelling):
    bindir = os.path.dirname(sys.executable)
    exe = spelling[0] if spelling[0] == sys.executable else os.path.join(bindir, spelling[0])
    out = tmp_path / "spelled.csv"
    env = dict(os.environ, MLFLOW_TRACKING_URI=sweep_store.tracking_uri)
    proc = subprocess.run([exe, *spelling[1:], "--experiment-name", "clustering-sweep", "-o",
                           str(out)], capture_output=True, text=True, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert "exported 4 runs, 10 rows" in proc.stderr
    assert len(pd.read_csv(out)) == 10


@pytest.mark.parametrize("bad_filter", ["params.sae_type === 1", "params.sae_type = relu",
                                        "nonsense ~~ 3"])
def test_invalid_filter_is_a_usage_error(clustering_sweep, sweep_cli, tmp_path, bad_filter):
    out = tmp_path / "never.csv"
    res = sweep_cli("export", "--experiment-name", "clustering-sweep", "--filter", bad_filter,
                    "-o", out)
    assert res.exit_code == 2, res.stderr
    assert "invalid --filter" in res.stderr and res.exception is None
    assert not out.exists()


def test_run_view(clustering_sweep, sweep_store, sweep_exporter):
    sweep_store.client.delete_run(clustering_sweep.run_ids[2])  # the crashed run
    active = sweep_exporter("clustering-sweep").df
    deleted = sweep_exporter("clustering-sweep", run_view="deleted").df
    every = sweep_exporter("clustering-sweep", run_view="all").df
    assert "crashed" not in set(active["run_name"]) and len(active) == 9
    assert deleted["run_name"].tolist() == ["crashed"]
    assert len(every) == 10
