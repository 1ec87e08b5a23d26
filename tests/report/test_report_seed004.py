"""A sweep modelled on seed 004 through ``mlflow-sweep report`` with DEFAULT options: 4 runs in
the reference Hamming format (``summary/metrics_summary.json``, 30 executions each over
k x seed), checked on the files it writes: seeds averaged (n = 10), ``seed`` not a metric,
descriptors neither factors nor plotted, no stray ``layer`` factor from another parser,
and the objective's numbers against an independent pandas computation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

MATRICES = [("wanda", 1), ("wanda", 2), ("sparsegpt", 1), ("sparsegpt", 2)]
KS, SEEDS = (4, 8, 16), range(10)
#: the true separation ratio: sparsegpt separates better, k = 8 best
TRUTH = {"wanda": 1.2, "sparsegpt": 1.5}
K_EFFECT = {4: 0.0, 8: 0.3, 16: 0.1}


def hamming_doc(method, layer, rng):
    execs = []
    for seed in SEEDS:
        feature = int(rng.integers(0, 4096))
        lo, hi = int(rng.integers(700, 800)), int(rng.integers(1000, 1100))
        for k in KS:
            sizes = [int(x) for x in rng.multinomial(128, [1 / k] * k)]
            execs.append({"seed": seed, "k": k, "feature_idx": feature, "min_hamming": lo, "max_hamming": hi,
                          "mean_within_cluster_distance": float(10 + rng.normal(0, 0.5)),
                          "mean_between_cluster_distance": float(16 + rng.normal(0, 0.5)),
                          "separation_ratio": float(TRUTH[method] + K_EFFECT[k] + 0.05 * layer
                                                    + rng.normal(0, 0.05)),
                          "total_inertia": float(15000 + rng.normal(0, 300)),
                          "cluster_sizes": sizes, "n_iter": int(rng.integers(3, 15)),
                          "converged": bool(rng.random() < 0.9)})
    name = f"layer{layer}-mlp.down_proj"
    return {"matrix": {"path": f"clustering_characterization/{method}/{name}.pt", "name": name,
                       "shape": [4096, 11008]},
            "config": {"method": method, "layer": layer, "component": "mlp.down_proj", "seeds": len(SEEDS),
                       "n_similar": 128, "k_values": list(KS)},
            "executions": execs}


@pytest.fixture
def seed004(make_sweep, report_cli, tmp_path):
    rng = np.random.default_rng(4)
    docs = {(m, layer): hamming_doc(m, layer, rng) for m, layer in MATRICES}
    make_sweep([{"run_name": f"{m}-{layer}", "artifacts": {"summary/metrics_summary.json": doc}}
                for (m, layer), doc in docs.items()])
    out = tmp_path / "rep"
    res = report_cli("--experiment-name", "sweep", "-o", out, "--objective", "separation_ratio", "--mode", "max")
    assert res.exit_code == 0, (res.stderr, res.exception)
    return out, res, docs


def test_seed004_default_report(seed004):
    out, res, docs = seed004
    manifest = json.loads((out / "report.json").read_text())
    grouping = manifest["grouping"]
    assert grouping["over"] == "seed"  # seeds averaged
    assert "seed" not in grouping["metrics"] and "seed" not in grouping["by"]
    descriptors = {"feature_idx", "min_hamming", "max_hamming", "hamming_range", "cluster_balance",
                   "cluster_sizes", "converged", "n_iter", "separation_quality"}
    assert not descriptors & set(grouping["by"]) and not descriptors & set(grouping["metrics"])
    # method and layer tell the 4 runs apart (matrix/component are relabellings or constant), and k
    assert {"method", "k"} <= set(grouping["by"]) and "layer" in grouping["by"]
    assert grouping["by"].count("layer") == 1 and not any(b.endswith(".layer") for b in grouping["by"])
    assert manifest["groups"] == 4 * len(KS)
    plotted = {p["metric"] for p in manifest["plots"] if p["metric"]}
    assert not descriptors & plotted and "seed" not in plotted
    assert "n = 1" not in res.stderr and "nothing is averaged" not in res.stderr
    summary = pd.read_csv(out / "summary.csv")
    got = summary[summary["metric"] == "separation_ratio"]
    assert (got["n"] == len(SEEDS)).all()
    # the numbers, against pandas on the documents themselves
    rows = [{"method": d["config"]["method"], "layer": d["config"]["layer"], **e}
            for d in docs.values() for e in d["executions"]]
    want = pd.DataFrame(rows).groupby(["method", "layer", "k"])["separation_ratio"].agg(["mean", "std", "count"])
    for _, r in got.iterrows():
        w = want.loc[(r["method"], int(r["layer"]), int(r["k"]))]
        assert r["mean"] == pytest.approx(w["mean"], rel=1e-12) and r["std"] == pytest.approx(w["std"], rel=1e-12)
    best = json.loads((out / "best.json").read_text())
    assert best["best"]["group"]["method"] == "sparsegpt" and int(best["best"]["group"]["k"]) == 8
    # plots: points with intervals for the text factor, higher is better on the objective's axis
    objective_plots = [p for p in manifest["plots"] if p["metric"] == "separation_ratio"]
    assert objective_plots and all("higher is better" in p["caption"] for p in objective_plots)
    for p in objective_plots:
        if p["kind"] == "heatmap":
            assert "n per cell" in p["caption"]
        if p["pooled"]:  # averaged within each seed first: n is the number of seeds
            assert "averaged within each seed first" in p["caption"] and p["n"] == len(SEEDS)
