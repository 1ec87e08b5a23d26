"""End to end on real sqlite stores: the plugins' demo sweeps -> ``mlflow-sweep report``,
every number checked against the export's own table, recomputed by hand with pandas/scipy."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from report_test_helpers import last_line


def log_demo(kind: str, name: str, n_runs: int = 12):
    from mlflow_sweep_plugin.plugins import get_plugin_manager

    demos = get_plugin_manager().demos
    if kind not in demos:
        pytest.skip(f"the {kind} demo is not installed (pip install -e plugins/...)")
    demos[kind].func(experiment_name=name, n_runs=n_runs, seed=0)


def run_report(report_cli, tmp_path, name, *args):
    out = tmp_path / f"report-{name}"
    res = report_cli("--experiment-name", name, "-o", out, "--max-plots", "2", *args)
    assert res.exit_code == 0, (res.stderr, res.exception)
    assert res.exception is None and "Traceback" not in res.stderr
    summary = pd.read_csv(out / "summary.csv", float_precision="round_trip")
    best = json.loads((out / "best.json").read_text()) if (out / "best.json").exists() else None
    return res, out, summary, best


def by_hand(frame, by, metric):
    """mean, std (ddof 1), n per group, with pandas (NaN left out)."""
    g = frame.groupby(by, dropna=False)[metric]
    return pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=1), "n": g.count()})


def rows(summary, metric):
    return summary[summary["metric"] == metric]


def test_clustering_demo(sweep_store, sweep_exporter, report_cli, tmp_path):
    log_demo("clustering", "clustering")
    res, out, summary, best = run_report(report_cli, tmp_path, "clustering",
                                         "--objective", "energy_contrast_ratio", "--mode", "max")
    df = sweep_exporter("clustering").df
    done = df[df["status"] == "FINISHED"]
    by = ["clustering_method", "force_k", "force_lambda", "sae_type", "layer"]
    assert list(summary.columns[:5]) == by
    got = rows(summary, "energy_contrast_ratio")
    assert len(got) == len(done) == 40 and (got["n"] == 1).all()  # no seed: one run per group
    # each group's mean is that run's layer value; the FAILED run is left out and counted
    want = done.set_index([done[c].astype(str) for c in by])["energy_contrast_ratio"]
    have = got.set_index([got[c].astype(str) for c in by])["mean"]
    assert have.sort_index().tolist() == want.sort_index().tolist()
    top = done.loc[done["energy_contrast_ratio"].idxmax()]
    assert best["best"]["group"] == {c: (int(top[c]) if c == "layer" else top[c]) for c in by}
    assert best["best"]["mean"] == top["energy_contrast_ratio"] and best["tied"] == []
    assert "FAILED / KILLED left out</th><td class=\"num\">1" in (out / "report.html").read_text()
    assert "only 1 value: no test" in res.stderr


def test_hamming_demo(sweep_store, sweep_exporter, report_cli, tmp_path):
    log_demo("hamming", "hamming")
    res, out, summary, best = run_report(report_cli, tmp_path, "hamming",
                                         "--objective", "separation_ratio", "--mode", "max")
    # 12 runs over 8 matrices: the last 4 repeat the first 4, whose seeds they replace
    assert "12 (configuration, seed) pair(s) were logged by several runs" in res.stderr
    df = sweep_exporter("hamming").df
    latest = (df.sort_values("start_time").groupby(["method", "layer", "component"]).tail(6))
    want = by_hand(latest, ["method", "layer", "component", "k"], "separation_ratio")
    got = rows(summary, "separation_ratio")
    assert len(got) == len(want) == 16 and set(got["n"]) == {3}
    for _, r in got.iterrows():
        w = want.loc[(r["method"], int(r["layer"]), r["component"], int(r["k"]))]
        assert r["mean"] == pytest.approx(w["mean"], rel=1e-12)
        assert r["std"] == pytest.approx(w["std"], rel=1e-12)
    assert best["test"] == "paired-t" and best["over"] == "seed"
    g = best["best"]["group"]
    a = latest[(latest.method == g["method"]) & (latest.layer == g["layer"])
               & (latest.component == g["component"]) & (latest.k == g["k"])].sort_values("seed")
    assert best["best"]["mean"] == pytest.approx(a["separation_ratio"].mean(), rel=1e-12)
    # the best set's paired comparisons use the block model's residual sd (double centring)
    x = latest.pivot_table(index=["method", "layer", "component", "k"], columns="seed",
                           values="separation_ratio").to_numpy()
    r = x - x.mean(axis=1, keepdims=True) - x.mean(axis=0, keepdims=True) + x.mean()
    df_resid = (x.shape[0] - 1) * (x.shape[1] - 1)
    se = np.sqrt((r ** 2).sum() / df_resid) * np.sqrt(2 / 3)
    for t in best["tied"]:
        tg = t["group"]
        b = latest[(latest.method == tg["method"]) & (latest.layer == tg["layer"])
                   & (latest.component == tg["component"]) & (latest.k == tg["k"])].sort_values("seed")
        diff = b["separation_ratio"].mean() - a["separation_ratio"].mean()
        p = 2 * st.t.sf(abs(diff) / se, df_resid)
        assert t["p_value"] == pytest.approx(p, rel=1e-9)
        q = st.studentized_range.sf(np.sqrt(2) * abs(diff) / se, 16, df_resid)
        assert t["p_adjusted"] == pytest.approx(q, rel=1e-6) and q >= 0.05


def test_som_demo(sweep_store, sweep_exporter, report_cli, tmp_path):
    pytest.importorskip("minisom")
    pytest.importorskip("sklearn")
    log_demo("som", "som")
    res, out, summary, best = run_report(report_cli, tmp_path, "som", "--objective", "quantization_error")
    df = sweep_exporter("som").df
    got = rows(summary, "quantization_error")
    assert list(summary.columns[:3]) == ["learning_rate", "sigma", "x_dim"]  # y_dim, grid size: twins
    assert len(got) == 12 and (got["n"] == 1).all()
    want = df.set_index(["learning_rate", "sigma", "x_dim"])["quantization_error"]
    for _, r in got.iterrows():
        assert r["mean"] == want.loc[(str(r["learning_rate"]), str(r["sigma"]), str(r["x_dim"]))]
    top = df.loc[df["quantization_error"].idxmin()]
    assert best["over"] == "random_seed"
    assert best["best"]["group"] == {"learning_rate": top["learning_rate"], "sigma": top["sigma"],
                                     "x_dim": top["x_dim"]}
    assert "x_dim</code> stands for <code>y_dim</code>" in (out / "report.html").read_text()


def test_causal_demo(sweep_store, sweep_exporter, report_cli, tmp_path):
    log_demo("causal", "causal")
    res, out, summary, best = run_report(report_cli, tmp_path, "causal", "--objective", "eshd")
    df = sweep_exporter("causal").df
    by = ["SVGD.n_particles", "data.n_vars", "noise", "learner"]
    assert list(summary.columns[:4]) == by
    want = by_hand(df, by, "eshd")
    got = rows(summary, "eshd")
    assert len(got) == len(want) == 16
    for _, r in got.iterrows():
        w = want.loc[(str(r["SVGD.n_particles"]), str(r["data.n_vars"]), str(r["noise"]), r["learner"])]
        assert r["n"] == w["n"] and r["mean"] == pytest.approx(w["mean"], rel=1e-12)
        if w["n"] > 1:
            assert r["std"] == pytest.approx(w["std"], rel=1e-12)
            sem = w["std"] / np.sqrt(w["n"])
            lo, hi = st.t.interval(0.95, w["n"] - 1, loc=w["mean"], scale=sem)
            assert (r["ci_low"], r["ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    # runs 8..11 repeat configurations 0..3 with new seeds: those groups have 2 seeds, the rest 1
    assert sorted(got["n"].unique()) == [1, 2] and got.loc[got["n"] == 1, "uneven"].all()
    assert "8 of 16 group(s) have fewer seed values" in res.stderr
    assert best["test"] in ("welch-t", "mixed")  # per row: paired on >= 2 shared seeds, else Welch
    assert all(c["test"] == ("paired-t" if c["shared_seeds"] >= 2 else "welch-t")
               for c in best["comparisons"][1:] if c["test"] is not None)
    g = best["best"]["group"]
    sel = lambda gr: df[np.logical_and.reduce([df[c].astype(str) == str(gr[c]) for c in by])]["eshd"]  # noqa: E731
    a = sel(g)
    assert best["best"]["mean"] == pytest.approx(a.mean(), rel=1e-12) and best["best"]["n"] == len(a)
    welch = [c for c in best["comparisons"][1:] if c["test"] == "welch-t"]
    assert welch
    for c in welch:
        p = st.ttest_ind(a, sel(c["group"]), equal_var=False).pvalue
        assert c["p_raw"] == pytest.approx(p, rel=1e-9)
    assert "best eshd (min): SVGD.n_particles=" in last_line(res)
