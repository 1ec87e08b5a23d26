"""report.select: which plots a report draws (the objective's first, by variance
explained, one plot per question) and which it says it left out."""

from __future__ import annotations

import pytest

from mlflow_sweep_plugin.errors import UsageError
from mlflow_sweep_plugin.report.select import PlotSpec, choose_plots, varied_factors
from mlflow_sweep_plugin.report.stats import summarize
from report_test_helpers import globals_heads


@pytest.fixture(scope="module")
def summary():
    return summarize(globals_heads())


def test_the_objectives_plot_first_then_by_variance_explained(summary):
    assert varied_factors(summary) == ["globals_beta", "phase1.latent_space"]
    specs, notes = choose_plots(summary, "metrics.val_loss", 2)
    assert [(s.kind, s.metric, s.factors) for s in specs] == [
        ("line", "metrics.val_loss", ("globals_beta",)),
        ("line", "metrics.rec_globals", ("globals_beta",))]  # rec_globals depends on beta only
    assert specs[1].score == pytest.approx(1.0)
    assert any("1 more plot(s) possible" in n for n in notes)
    assert any("one plot per question" in n for n in notes)


def test_plot_factor_adds_a_plot_beyond_the_limit_and_an_unknown_one_is_refused(summary):
    specs, _ = choose_plots(summary, "metrics.val_loss", 0, extra=("phase1.latent_space,globals_beta",))
    assert [(s.kind, s.metric, s.factors) for s in specs] == [
        ("heatmap", "metrics.val_loss", ("phase1.latent_space", "globals_beta"))]
    with pytest.raises(UsageError, match="'global_beta' is not a grouping factor.*globals_beta"):
        choose_plots(summary, "metrics.val_loss", 2, extra=("global_beta",))


def test_nothing_varies_nothing_to_plot():
    one = summarize(globals_heads().query("`phase1.latent_space` == 'none' and globals_beta == '0'"))
    specs, notes = choose_plots(one, "metrics.val_loss")
    assert specs == [] and "no factor varies: nothing to plot against" in notes


def test_plot_spec_is_a_value():
    assert PlotSpec("line", "m", ("a",), 0.5) == PlotSpec("line", "m", ("a",), 0.5)
