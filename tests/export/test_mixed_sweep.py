"""One experiment mixing every kind of run the reference plugins read, exported through
the installed entry points (clustering, Hamming k-means, SOM, causal discovery)."""

from __future__ import annotations

import json
import pathlib

import pandas as pd
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CLUSTERING = ROOT / "tests" / "data" / "clustering_run" / "layer_0" / "cluster_summary.json"
HAMMING = (ROOT / "plugins" / "mlflow-sweep-clustering" / "tests" / "data" / "hamming_run"
           / "summary" / "metrics_summary.json")
SOM = ROOT / "plugins" / "mlflow-sweep-som" / "tests" / "data" / "som_run" / "results" / "som_results.json"
CAUSAL = ROOT / "plugins" / "mlflow-sweep-causal" / "tests" / "data" / "causal_run"

CLUSTER_COLS = {"layer", "energy_contrast_ratio", "soft_assignments_mess3", "soft_noise_clusters",
                "cluster_0_best_geometry", "cluster_2_simplex_3_dist"}
HAMMING_COLS = {"method", "component", "matrix", "seed", "k", "feature_idx", "min_hamming",
                "max_hamming", "hamming_range", "mean_within_cluster_distance",
                "mean_between_cluster_distance", "separation_ratio", "separation_quality",
                "total_inertia", "cluster_balance", "cluster_sizes", "n_iter", "converged"}
SOM_COLS = {"quantization_error", "topographic_error", "num_clusters", "largest_cluster_size",
            "smallest_cluster_size", "mean_cluster_size", "cluster_size_std", "num_samples",
            "num_features", "unique_users", "total_tweets", "avg_engagement_per_tweet",
            "config.x_dim", "config.neighborhood_function", "som_grid_size",
            "cluster_size_variance"}
CAUSAL_COLS = {"learner", "eshd", "auroc", "negll_obs", "negll_intrv", "eshd_computed",
               "auroc_computed"}
PARSERS = {"mlflow-sweep-clustering": {"cluster_summary", "hamming_summary"},
           "mlflow-sweep-som": {"som_results"},
           "mlflow-sweep-causal": {"causal_metrics", "causal_particles", "causal_ground_truth"}}


@pytest.fixture
def mixed_sweep(make_sweep):
    causal = {p.relative_to(CAUSAL).as_posix(): p for p in CAUSAL.rglob("*") if p.is_file()}
    runs = [
        {"run_name": "clustering", "params": {"sae_type": "relu"},
         "artifacts": {"layer_0/cluster_summary.json": CLUSTERING}},
        {"run_name": "hamming", "params": {"n_similar": 128},
         "artifacts": {"summary/metrics_summary.json": HAMMING}},
        {"run_name": "som", "params": {"x_dim": 8}, "artifacts": {"results/som_results.json": SOM}},
        {"run_name": "causal", "params": {"seed": 0}, "artifacts": causal},
        {"run_name": "som_and_hamming",
         "artifacts": {"results/som_results.json": SOM, "summary/metrics_summary.json": HAMMING}},
        {"run_name": "bad_of_each_kind",
         "artifacts": {"layer_0/cluster_summary.json": "{", "summary/metrics_summary.json": "[",
                       "results/som_results.json": '{"config": {}}', "metrics.yaml": "SVGD: [",
                       "ground_truth.yaml": CAUSAL / "ground_truth.yaml",
                       "SVGD/particles.npz": CAUSAL / "SVGD" / "particles.npz"}},
        {"run_name": "nothing", "status": "FAILED"},
    ]
    return make_sweep(runs, experiment_name="mixed")


def rows(df, name):
    return df[df["run_name"] == name]


def blank(frame, columns) -> bool:
    return frame[sorted(columns)].isna().all().all()


def test_every_record_with_its_columns(mixed_sweep, sweep_exporter, tmp_path):
    out = tmp_path / "mixed.csv"
    result = sweep_exporter("mixed", output=str(out))
    df = result.df
    assert CLUSTER_COLS | HAMMING_COLS | SOM_COLS | CAUSAL_COLS <= set(df.columns)
    counts = df["run_name"].value_counts().to_dict()
    assert counts == {"clustering": 1, "hamming": 3, "som": 1, "causal": 2, "som_and_hamming": 4,
                      "bad_of_each_kind": 1, "nothing": 1}
    assert len(df) == 13

    c = rows(df, "clustering")
    assert c.iloc[0]["layer"] == 0 and c.iloc[0]["energy_contrast_ratio"] == 0.4172
    assert blank(c, HAMMING_COLS | SOM_COLS | CAUSAL_COLS)

    h = rows(df, "hamming")
    assert h["k"].tolist() == [4, 8, 4] and set(h["layer"]) == {1}
    assert h["cluster_sizes"].tolist()[0] == "[40, 30, 33, 25]"
    assert blank(h, SOM_COLS | CAUSAL_COLS | {"energy_contrast_ratio"})

    s = rows(df, "som").iloc[0]
    assert s["quantization_error"] == 0.4121 and s["som_grid_size"] == 64
    assert s["x_dim"] == "8" and s["config.x_dim"] == 8
    assert blank(rows(df, "som"), HAMMING_COLS | CAUSAL_COLS | CLUSTER_COLS)

    cz = rows(df, "causal").set_index("learner")
    assert cz.loc["SVGD", "eshd"] == 1.75 and cz.loc["SVGD", "eshd_computed"] == pytest.approx(0.6)
    assert pd.isna(cz.loc["Ensemble", "negll_intrv"])
    assert blank(cz, HAMMING_COLS | SOM_COLS | (CLUSTER_COLS - {"layer"}))

    both = rows(df, "som_and_hamming")
    assert both["som_grid_size"].notna().sum() == 1 and both["k"].notna().sum() == 3

    # one warning per bad file, naming run and path; the good particles still give a row
    bad_id = mixed_sweep.run_ids[5]
    assert sorted(w.path for w in result.warnings) == [
        "layer_0/cluster_summary.json", "metrics.yaml", "results/som_results.json",
        "summary/metrics_summary.json"]
    assert all(w.run_id == bad_id and bad_id in str(w) for w in result.warnings)
    bad = rows(df, "bad_of_each_kind").iloc[0]
    assert bad["learner"] == "SVGD" and bad["eshd_computed"] == pytest.approx(0.6)
    assert len(rows(df, "nothing")) == 1

    # the file reads back with the analysis code of the formats
    back = pd.read_csv(out)
    assert len(back) == 13
    layer0 = back[back["layer"] == 0]
    assert layer0["run_name"].tolist() == ["clustering"]
    assert back.groupby("learner")["eshd"].mean().to_dict() == {"Ensemble": 2.5, "SVGD": 1.75}
    assert back.groupby("separation_quality").size().to_dict() == {"good": 6}


def test_plugins_command_lists_the_three_plugins(sweep_cli):
    res = sweep_cli("plugins", "--json").assert_success()
    entries = {e["distribution"] or e["name"]: e for e in json.loads(res.stdout)}
    for dist, parsers in PARSERS.items():
        assert dist in entries, sorted(entries)
        assert entries[dist]["error"] is None
        assert {p["name"] for p in entries[dist]["parsers"]} == parsers
    assert {"clustering", "hamming"} <= set(entries["mlflow-sweep-clustering"]["demos"])
    assert entries["mlflow-sweep-som"]["demos"] == ["som"]
    assert entries["mlflow-sweep-causal"]["demos"] == ["causal"]
    text = sweep_cli("plugins").stdout
    for pattern in ("summary/metrics_summary.json", "results/som_results.json",
                    "{learner}/particles.npz", "metrics.yaml", "ground_truth.yaml"):
        assert pattern in text


@pytest.mark.parametrize("kind, n_rows", [("som", 2), ("causal", 4), ("hamming", 12)])
def test_demo_command(sweep_store, sweep_cli, tmp_path, kind, n_rows):
    sweep_store.create_experiment(f"demo-{kind}")  # artifacts under the test's store
    out = tmp_path / f"{kind}.csv"
    res = sweep_cli("demo", "--kind", kind, "--runs", "2", "--experiment-name", f"demo-{kind}",
                    "-o", str(out)).assert_success()
    assert "0 warnings" in res.stderr + res.stdout
    assert len(pd.read_csv(out)) == n_rows
    # the demo ends with its report beside the CSV, and says how to look at both
    report = tmp_path / f"{kind}_report"
    assert (report / "report.html").is_file() and (report / "summary.csv").is_file()
    assert "mlflow ui --backend-store-uri" in res.stderr
