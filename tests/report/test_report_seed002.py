"""A sweep modelled on seed 002 (3 x 3 grid x 5 seeds, one FAILED run, one (configuration,
seed) logged twice) through ``mlflow-sweep report``, checked on the files it writes:
runs.csv, report.json, best.json's new fields, summary.tex (compiled where pdflatex is),
summary.md's escaping, and the issue-23 inputs (a param only some runs have, 10 KB names)."""

from __future__ import annotations

import json
import math
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

BETAS, LATENTS, SEEDS = ("0", "1", "10"), ("none", "linear", "vq"), range(5)
TRUTH = {("0", "none"): 0.50, ("0", "linear"): 0.45, ("0", "vq"): 0.60, ("1", "none"): 0.40,
         ("1", "linear"): 0.38, ("1", "vq"): 0.55, ("10", "none"): 0.70, ("10", "linear"): 0.65,
         ("10", "vq"): 0.80}


EPOCHS = 5


def history(final, beta):
    """val_loss per epoch ending at ``final``; beta = 10 dips at epoch 2 (its best epoch)."""
    return [final + 0.3 * (math.exp(-e) - math.exp(-(EPOCHS - 1))) - (0.05 if beta == "10" and e == 2 else 0.0)
            for e in range(EPOCHS)]


def final(value):
    return value[-1] if isinstance(value, list) else value


def seed002_runs():
    rng = np.random.default_rng(2)
    seed_effect = rng.normal(0, 0.02, 5)
    runs = []
    for (beta, latent), mu in TRUTH.items():
        for s in SEEDS:
            runs.append({"run_name": f"b{beta}-{latent}-{s}",
                         "params": {"globals_beta": beta, "latent_space": latent, "seed": s},
                         "metrics": {"val_loss": history(float(mu + seed_effect[s] + rng.normal(0, 0.01)), beta)}})
    runs[7]["status"] = "FAILED"  # (0, vq, seed 2)
    runs[7]["tags"] = {"mlflow_sweep.error": "CUDA out of memory"}
    dup = dict(runs[0], run_name="b0-none-0-again", metrics={"val_loss": 0.5})
    runs.append(dup)  # (0, none, seed 0) logged twice: the later one is used
    return runs


def test_seed002_like_sweep_through_the_command(make_sweep, report_cli, tmp_path):
    """One store and one report (logging 46 runs is the slow part), every check on it."""
    make_sweep(seed002_runs())
    out = tmp_path / "rep"
    res = report_cli("--experiment-name", "sweep", "-o", out, "--objective", "metrics.val_loss",
                     "--label", "metrics.val_loss=Val. loss", "--max-plots", "2")
    assert res.exit_code == 0, (res.stderr, res.exception)
    check_runs_csv((out, res))
    check_best_json((out, res))
    check_summary_tex((out, res), tmp_path)
    check_curves(out)
    check_plot_defaults(out)
    # --order, --scale and --no-curves, on the same store
    again = tmp_path / "again"
    res = report_cli("--experiment-name", "sweep", "-o", again, "--objective", "metrics.val_loss", "--no-curves",
                     "--order", "latent_space=vq,none,linear", "--scale", "globals_beta=linear", "--max-plots", "3")
    assert res.exit_code == 0, (res.stderr, res.exception)
    plots = json.loads((again / "report.json").read_text())["plots"]
    assert not [p for p in plots if p["kind"] == "curve"] and 'id="curves"' not in (again / "report.html").read_text()
    assert all(p["levels"] == ["vq", "none", "linear"] for p in plots if p["factors"] == ["latent_space"])
    assert all(p["scale"] == "linear" for p in plots if p["factors"] == ["globals_beta"])
    bad = report_cli("--experiment-name", "sweep", "-o", tmp_path / "bad", "--order", "latent_space=vqq")
    assert bad.exit_code == 2 and "'vqq' is not one of its levels" in bad.stderr


def check_curves(out):
    """One learning curve of val_loss: every configuration (9 <= 10), the best first, then its
    set; the marked step is each line's best mean, against pandas on the logged histories."""
    manifest = json.loads((out / "report.json").read_text())
    curves = [p for p in manifest["plots"] if p["kind"] == "curve"]
    assert len(curves) == 1 and curves[0]["metric"] == "metrics.val_loss" and (out / curves[0]["file"]).exists()
    curve = curves[0]
    best = json.loads((out / "best.json").read_text())
    in_set = [", ".join(f"{k}={v}" for k, v in c["group"].items()) for c in best["comparisons"] if c["in_set"]]
    assert curve["configurations"][:len(in_set)] == in_set and len(curve["configurations"]) == 9
    assert curve["n"] == 5 and curve["steps"] == [0, EPOCHS - 1] and "mean ± std over seed per step" in curve["caption"]
    # the best step of each line, independently: mean over the used runs' histories per step
    used = [r for r in seed002_runs()[:-1] if r.get("status") != "FAILED"]
    used[0] = seed002_runs()[-1]  # (0, none, seed 0): the later run, one point at step 0
    rows = [(f"globals_beta={r['params']['globals_beta']}, latent_space={r['params']['latent_space']}", step, v)
            for r in used for step, v in enumerate(r["metrics"]["val_loss"] if isinstance(r["metrics"]["val_loss"], list)
                                                   else [r["metrics"]["val_loss"]])]
    means = pd.DataFrame(rows, columns=["config", "step", "v"]).groupby(["config", "step"])["v"].mean()
    for label, step in zip(curve["configurations"], curve["best_steps"]):
        assert step == int(means.loc[label].idxmin()), label
    assert {s for c, s in zip(curve["configurations"], curve["best_steps"]) if "beta=10," in c} == {2}
    html = (out / "report.html").read_text()
    assert 'id="curves"' in html and "learning curves" in html


def check_plot_defaults(out):
    """Levels in the sweep's order, beta's uneven levels evenly spaced, points not bars,
    n in heatmap cells, the objective's direction, one plot per question."""
    plots = json.loads((out / "report.json").read_text())["plots"]
    lines = [p for p in plots if p["kind"] == "line"]
    assert lines and all("lower is better" in p["caption"] for p in plots if p["metric"] == "metrics.val_loss"
                         and p["kind"] != "matrix")
    for p in lines:
        if p["factors"] == ["latent_space"]:
            assert p["levels"] == ["none", "linear", "vq"]  # first appearance, not alphabetical
        if p["factors"] == ["globals_beta"]:
            assert p["scale"] == "levels" and p["levels"] == ["0", "1", "10"]
    # a 3 x 3 design: one plot shows every configuration's mean; the same means are not drawn again
    whole = [p for p in plots if p["kind"] in ("line", "heatmap") and not p["pooled"]]
    assert len(whole) == 1


def check_runs_csv(seed002):
    out, _ = seed002
    runs = pd.read_csv(out / "runs.csv", keep_default_na=False)
    assert len(runs) == 46 and runs["used"].sum() == 44
    failed = runs[runs["status"] == "FAILED"].iloc[0]
    assert failed["reason"] == "FAILED: CUDA out of memory" and failed["seed"] == 2
    assert failed["configuration"] == "globals_beta=0, latent_space=linear"
    dup = runs[runs["reason"].str.startswith("duplicate of")]
    assert len(dup) == 1 and dup.iloc[0]["run_name"] == "b0-none-0"
    manifest = json.loads((out / "report.json").read_text())
    assert manifest["runs"]["considered"] == 46 and manifest["runs"]["used"] == 44
    assert manifest["runs"]["left_out"] == {"FAILED": 1, "duplicate": 1}
    assert manifest["missing_pairs"] == [{"configuration": "globals_beta=0, latent_space=linear", "seed": "2",
                                          "state": "failed"}]
    assert manifest["grouping"]["over"] == "seed"
    kinds = [p["kind"] for p in manifest["plots"]]
    assert kinds[0] == "matrix" and (out / manifest["plots"][0]["file"]).exists()
    html = (out / "report.html").read_text()
    assert "CUDA out of memory" in html and 'id="missing"' in html and "44 of 46 runs contribute" in html


def check_best_json(seed002):
    from mlflow_sweep_plugin.report.bestset import best_set

    out, _ = seed002
    best = json.loads((out / "best.json").read_text())
    assert best["rule"] == "mcb-tukey" and best["best"]["group"] == {"globals_beta": 1, "latent_space": "linear"} \
        or best["best"]["group"] == {"globals_beta": "1", "latent_space": "linear"}
    comps = best["comparisons"]
    assert len(comps) == 9 and comps[0]["rank"] == 1
    # the missing seed weakens only its own comparison: every other one is paired on 5 seeds
    assert {c["test"] for c in comps[1:]} == {"paired-t"}
    vq0 = next(c for c in comps if c["group"]["latent_space"] == "linear" and str(c["group"]["globals_beta"]) == "0")
    assert vq0["shared_seeds"] == 4 and all(c["shared_seeds"] == 5 for c in comps if c is not vq0)
    # the same numbers as the library rule on the values of runs.csv's used runs
    runs = [r for r in seed002_runs()[:-1] if r.get("status") != "FAILED"]
    runs[0] = seed002_runs()[-1]
    values: dict = {}
    for r in runs:
        p = r["params"]
        values.setdefault((p["globals_beta"], p["latent_space"]), {})[p["seed"]] = final(r["metrics"]["val_loss"])
    lib = best_set(values, "min")
    assert [c.mean for c in lib] == pytest.approx([c["mean"] for c in comps], rel=1e-12)
    assert [c.in_set for c in lib] == [c["in_set"] for c in comps]
    assert [c.p_adjusted for c in lib[1:]] == pytest.approx([c["p_adjusted"] for c in comps[1:]], rel=1e-9)
    assert all(c["mde"] > 0 and c["diff_ci_low"] <= c["diff"] <= c["diff_ci_high"] for c in comps[1:])


def check_summary_tex(seed002, tmp_path):
    out, _ = seed002
    tex = (out / "summary.tex").read_text()
    assert tex.index("\\caption") < tex.index("\\label{tab:Val._loss}") < tex.index("\\begin{tabular}")
    assert "Val. loss" in tex and "metrics." not in tex and "\\pm 0$" not in tex
    assert "\\resizebox" not in tex  # it fits without scaling
    if shutil.which("pdflatex") is None:  # the checks above ran; only the compilation is skipped
        pytest.skip("pdflatex is not installed (apt-get install texlive-latex-base texlive-latex-recommended)")
    doc = tmp_path / "doc.tex"
    doc.write_text("\\documentclass[10pt]{article}\\usepackage{booktabs,graphicx}\\usepackage[utf8]{inputenc}"
                   "\\begin{document}\\input{" + str(out / "summary.tex") + "}\\end{document}\n")
    res = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout[-2000:]
    assert "Overfull \\hbox" not in res.stdout  # not wider than the column


def test_hostile_cells_a_partial_text_param_and_long_names(make_sweep, report_cli, tmp_path):
    long = "x" * 5_000  # MLflow keeps param values up to 6,000 characters (names: 250)
    runs = []
    for i, (v, s) in enumerate([(0.1, 0), (0.2, 1), (0.3, 0), (0.4, 1)]):
        params = {"opt": ["# h\n<script>alert(1)</script>", "[x](javascript:alert(1)) | y"][i % 2], "seed": s,
                  "width": long + str([0, 1, 1, 0][i])}
        if i < 2:
            params["note"] = "only some runs"  # a text param set on only some runs (issue 23, 7)
        runs.append({"run_name": f"r{i}", "params": params, "metrics": {"loss": v}})
    make_sweep(runs)
    out = tmp_path / "rep"
    res = report_cli("--experiment-name", "sweep", "-o", out, "--plot", "note", "--plot", "width")
    assert res.exit_code == 0, (res.stderr, res.exception)
    md = (out / "summary.md").read_text()
    body = [line for line in md.splitlines() if line.startswith("| ")]
    assert all(line.count(" | ") == body[0].count(" | ") for line in body)  # no cell broke the table
    assert "<script>" not in md and "\\<script\\>" in md and "](javascript" not in md
    assert "\n# h" not in md and "\\# h" in md
    from mlflow_sweep_plugin.report.plots import LABEL_CHARS

    manifest = json.loads((out / "report.json").read_text())
    assert any(p["factors"] == ["note"] for p in manifest["plots"])
    assert any(p["factors"] == ["width"] for p in manifest["plots"])  # drawn, its labels clipped
    from mlflow_sweep_plugin.report.plots import clip

    assert len(clip(long)) == LABEL_CHARS
