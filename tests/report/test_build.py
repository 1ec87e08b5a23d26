"""The report directory from hand-made tables: summary.csv, best.json, summary.md/.tex,
plots, report.html, and the edge cases (each a clear message, never a traceback)."""

from __future__ import annotations

import base64
import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from mlflow_sweep_plugin.errors import UsageError
from mlflow_sweep_plugin.report.best import rank
from mlflow_sweep_plugin.report.build import ReportOptions, build_report
from mlflow_sweep_plugin.report.paper import format_pm
from mlflow_sweep_plugin.report.levels import Levels
from mlflow_sweep_plugin.report.stats import TIDY_COLUMNS, summarize
from mlflow_sweep_plugin.warning_types import SweepWarning
from report_test_helpers import globals_heads, table


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    return root, build_report(globals_heads(), str(root / "rep"),
                              ReportOptions(objective="metrics.val_loss", mode="min", max_plots=5))


@pytest.fixture
def report(built):
    return built[1]


@pytest.fixture
def rep_dir(built):
    return built[0]


def test_the_files_of_a_report(report, rep_dir):
    d = rep_dir / "rep"
    assert {p.name for p in d.iterdir()} - {".mlflow-sweep-report.json"} == {
        "report.html", "summary.csv", "best.json", "summary.md", "summary.tex", "plots", "runs.csv", "report.json"}
    assert report.files == ["report.html", "report.json", "summary.csv", "best.json", "summary.md",
                            "summary.tex", "runs.csv", "plots/"]
    assert not [p for p in d.iterdir() if p.name.startswith(".mlflow-sweep-report-stage-")]  # no staging dir left


def test_summary_csv_is_tidy_and_round_trips_exactly(report, rep_dir):
    back = pd.read_csv(rep_dir / "rep" / "summary.csv", float_precision="round_trip")
    s = report.summary
    assert list(back.columns) == s.by + list(TIDY_COLUMNS)
    assert s.by == ["globals_beta", "phase1.latent_space"]
    assert len(back) == 9 * 3
    for col in ("mean", "std", "sem", "ci_low", "ci_high", "min", "max"):
        got, want = back[col].to_numpy(), s.table[col].to_numpy()
        assert np.array_equal(got, want), col  # bit for bit, not approximately
    assert back["n"].tolist() == s.table["n"].tolist()
    # 0.1 / (1 + beta) + 1/3 has no short decimal form: it still comes back exactly
    assert any(len(repr(v)) > 15 for v in back.loc[back.metric == "metrics.rec_globals", "mean"])


def test_best_json_matches_rank(report, rep_dir):
    doc = json.loads((rep_dir / "rep" / "best.json").read_text())
    want = rank(summarize(globals_heads()), "metrics.val_loss", "min").to_json()
    assert doc == json.loads(json.dumps(want))
    assert doc["best"]["group"] == {"globals_beta": "10", "phase1.latent_space": "none"}
    assert doc["test"] == "paired-t" and doc["alpha"] == 0.05 and doc["over"] == "seed"


def test_summary_md_and_tex_bold_the_best_mean(report, rep_dir):
    md = (rep_dir / "rep" / "summary.md").read_text()
    tex = (rep_dir / "rep" / "summary.tex").read_text()
    best = report.best.best
    cell = format_pm(best["mean"], best["std"])
    assert f"**{cell}**" in md
    assert md.count("**") == 2
    header = next(line for line in md.splitlines() if line.startswith("| "))
    assert header.startswith("| globals\\_beta | phase1.latent\\_space | n | val\\_loss |")
    first_row = md.splitlines()[md.splitlines().index(header) + 2]
    assert first_row.startswith("| 10 | none | 3 |")  # ranked: best first
    mean, std = cell.split(" ± ")
    assert f"$\\mathbf{{{mean} \\pm {std}}}$" in tex
    assert "\\toprule" in tex and "val\\_loss" in tex and "metrics.val" not in tex
    assert "phase1.latent\\_space" in tex
    assert tex.index("\\caption") < tex.index("\\label{tab:val_loss}") < tex.index("\\begin{tabular}")


def test_format_pm():
    assert format_pm(0.81234, 0.03123) == "0.812 ± 0.031"
    assert format_pm(1523.4, 22.0) == "1523 ± 22"
    assert format_pm(0.5, None) == "0.5"
    assert format_pm(math.nan, 1) == "–"
    assert format_pm(2.5e-7, 1e-8) == "2.5e-07 ± 1e-08"


def test_plots_png_and_svg_chosen_by_variance_explained(report, rep_dir):
    plots = report.plots
    assert len(plots) == 3  # one per metric that varies: each shows every group's mean once
    for p in plots:
        assert (rep_dir / "rep" / p.png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (rep_dir / "rep" / p.svg).read_text().lstrip().startswith("<?xml")
    first = plots[0].spec
    assert first.metric == "metrics.val_loss"  # the objective first
    kinds = {(p.spec.kind, p.spec.factors) for p in plots if p.spec.metric == "metrics.val_loss"}
    # one plot per question: the line plot against beta (one colour per latent space) shows
    # all nine means; the plot against latent space and the heatmap would show them again
    assert kinds == {("line", ("globals_beta",))}
    assert any("one plot per question" in n for n in report.notes)
    line = next(p for p in plots if p.spec.factors == ("globals_beta",) and p.spec.metric == "metrics.val_loss")
    # beta in {0, 1, 10}: evenly spaced levels, a colour (points with intervals) per latent space
    assert "mean ± std over seed" in line.caption and "one colour per phase1.latent_space" in line.caption
    assert "n = 3" in line.caption and "lower is better" in line.caption and line.extra["scale"] == "levels"
    # a constant metric is never plotted, and says so
    assert not [p for p in plots if p.spec.metric == "metrics.epochs"]


def test_numeric_axis_levels_linear_or_log():
    scale = Levels().scale
    assert scale("x", [0.001, 0.01, 0.1]) == "log" and scale("x", ["1e-4", "1e-3", "1e-2", "1e-1"]) == "log"
    assert scale("beta", [0, 1, 10]) == "levels"  # few, uneven, not all positive: evenly spaced positions
    assert scale("x", [1, 2, 3]) == "linear" and scale("x", [0.01, 0.1]) == "linear"
    assert scale("x", [1, 2, 5, 10, 20, 50, 100, 200, 500]) == "log"  # many levels: a number line
    assert Levels(scales={"beta": "linear"}).scale("beta", [0, 1, 10]) == "linear"  # asked otherwise


@pytest.mark.parametrize("band", ["std", "sem", "ci"])
def test_bands_and_max_plots(tmp_path, band):
    rep = build_report(globals_heads(), str(tmp_path / band),
                       ReportOptions(objective="metrics.val_loss", band=band, max_plots=1))
    assert len(rep.plots) == 1
    assert {"std": "± std", "sem": "± sem", "ci": "95 % CI"}[band] in rep.plots[0].caption or \
        rep.plots[0].spec.kind == "heatmap"


def test_plot_factor_asks_for_more_and_unknown_factors_are_usage_errors(tmp_path):
    rep = build_report(globals_heads(), str(tmp_path / "a"),
                       ReportOptions(max_plots=0, plot=("globals_beta", "globals_beta,phase1.latent_space")))
    assert [(p.spec.kind, p.spec.factors) for p in rep.plots] == [
        ("line", ("globals_beta",)), ("heatmap", ("globals_beta", "phase1.latent_space"))]
    with pytest.raises(UsageError, match="--plot 'beta'.*did you mean globals_beta"):
        build_report(globals_heads(), str(tmp_path / "b"), ReportOptions(plot=("beta",)))


def test_report_html_is_self_contained(report, rep_dir):
    html = (rep_dir / "rep" / "report.html").read_text()
    assert "<script" not in html and not re.search(r"""(src|href)=["']https?:""", html)
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == len(report.plots) + 1 > 1  # and the run matrix
    for data in images:
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'id="summary"' in html and 'id="best"' in html and "paired when" in html and "<td>paired</td>" in html
    assert len(html.encode()) < 5 * 1024 * 1024


# -- edge cases: a clear message and a report, or a usage error; never a traceback --------

def test_no_numeric_metric(tmp_path):
    df = table([{"run": f"r{i}", "params": {"opt": o}} for i, o in enumerate("ab")])
    with pytest.warns(SweepWarning, match="no numeric metric"):
        rep = build_report(df, str(tmp_path / "r"))
    assert rep.plots == [] and "no numeric metric" in (tmp_path / "r" / "report.html").read_text()
    assert rep.files == ["report.html", "report.json", "summary.csv", "runs.csv"]


def test_one_run(tmp_path):
    df = table([{"run": "r0", "params": {"opt": "a"}, "metrics": {"loss": 0.5}}])
    with pytest.warns(SweepWarning, match="only one run"):
        rep = build_report(df, str(tmp_path / "r"), ReportOptions(objective="metrics.loss"))
    assert rep.best.best["mean"] == 0.5 and rep.best.tied == []
    assert "best metrics.loss (min): (all runs): 0.5 (n=1), 0 tied" in rep.one_line()


def test_every_run_failed(tmp_path):
    df = table([{"run": f"r{i}", "status": "FAILED", "params": {"opt": o}, "metrics": {"loss": 1}}
                for i, o in enumerate("ab")])
    with pytest.warns(SweepWarning, match=r"every run \(2\) FAILED.*--include-failed"):
        rep = build_report(df, str(tmp_path / "r"), ReportOptions(objective="metrics.loss"))
    assert rep.best is None and "nothing ranked" in rep.one_line()
    assert "Nothing could be ranked" in (tmp_path / "r" / "report.html").read_text()


def test_all_nan_and_constant_metrics(tmp_path):
    rows = [{"run": f"r{i}", "params": {"opt": o, "seed": i}, "metrics": {"loss": math.nan, "flat": 2.0}}
            for i, o in enumerate("aabb")]
    with pytest.warns(SweepWarning, match="no value in any group"):
        rep = build_report(table(rows), str(tmp_path / "r"), ReportOptions(objective="metrics.loss"))
    assert rep.best.best is None and rep.plots == []
    assert any("constant across groups or without values" in n for n in rep.notes)
    assert json.loads((tmp_path / "r" / "best.json").read_text())["best"] is None
    rep = build_report(table(rows), str(tmp_path / "c"), ReportOptions(objective="metrics.flat"))
    assert rep.best.best["mean"] == 2.0 and len(rep.best.tied) == 1  # equal groups are tied


def test_objective_not_a_column_writes_nothing(tmp_path):
    with pytest.raises(UsageError, match="--objective 'val_loss' is not a column.*metrics.val_loss"):
        build_report(globals_heads(), str(tmp_path / "r"), ReportOptions(objective="val_loss"))
    assert not (tmp_path / "r").exists()
    with pytest.raises(UsageError, match="grouping column"):
        build_report(globals_heads(), str(tmp_path / "r"), ReportOptions(objective="globals_beta"))


def test_a_factor_with_500_values(tmp_path):
    rows = [{"run": f"r{i}", "params": {"width": i, "name": f"cfg-{i}", "opt": "ab"[i % 2],
                                        "tag": f"t{i % 250}"},
             "metrics": {"loss": 1.0 / (1 + i) + 0.1 * (i % 2)}} for i in range(500)]
    rep = build_report(table(rows), str(tmp_path / "r"), ReportOptions(objective="metrics.loss"))
    assert len(rep.summary.groups) == 500
    assert rep.summary.aliases == {"width": ["name"]}  # the numeric twin is kept
    assert any("tag has 250 text values (more than 50): no plot against it" in n for n in rep.notes)
    assert any("no heatmap for factor pairs with more than 20 values" in n for n in rep.notes)
    assert all(p.spec.kind == "line" for p in rep.plots)
    assert ("width",) in {p.spec.factors for p in rep.plots}
    assert (tmp_path / "r" / "report.html").stat().st_size < 5 * 1024 * 1024


def test_a_second_report_replaces_the_first(tmp_path):
    build_report(globals_heads(), str(tmp_path / "r"), ReportOptions(objective="metrics.val_loss", max_plots=2))
    rep = build_report(globals_heads(), str(tmp_path / "r"), ReportOptions(max_plots=1))
    assert not (tmp_path / "r" / "best.json").exists()
    assert len(list((tmp_path / "r" / "plots").glob("*.png"))) == len(rep.plots) + 1 == 2  # + run matrix


def test_level_order_grid_then_first_appearance_then_order_option():
    from mlflow_sweep_plugin.report.curves import curves_asked
    from mlflow_sweep_plugin.report.levels import grid_orders

    grid = grid_orders(['{"latent": ["none", "linear", "vq"], "beta": [10, 1, 0]}', "not json"])
    levels = Levels(grid=grid, appearance={"opt": ["sgd", "adam"]})
    assert levels.order("params.latent", ["vq", "linear", "none"]) == ["none", "linear", "vq"]
    assert levels.order("beta", ["0", "1", "10"]) == ["10", "1", "0"]  # the grid's order, even for numbers
    assert levels.order("opt", ["adam", "sgd"]) == ["sgd", "adam"]  # first appearance for text
    assert levels.order("n", ["10", "9"]) == ["9", "10"]  # numbers by value otherwise
    assert Levels(orders={"opt": ["adam"]}).order("opt", ["sgd", "adam", "rms"]) == ["adam", "rms", "sgd"]
    asks = curves_asked("metrics.val_loss", "min", [("acc", "max"), ("val_loss", "min")], ["lr"])
    assert [(a.key, a.mode, a.asked) for a in asks] == [("lr", "min", True), ("val_loss", "min", False),
                                                        ("acc", "max", False)]
    assert curves_asked("metrics.val_loss", "min", no_curves=True) == []
