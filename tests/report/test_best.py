"""rank(): the best configuration, the tied set and best.json, against scipy
(the rule itself: test_bestset.py)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats as st

from mlflow_sweep_plugin.errors import UsageError
from mlflow_sweep_plugin.report.best import rank
from mlflow_sweep_plugin.report.stats import summarize
from mlflow_sweep_plugin.warning_types import SweepWarning
from report_test_helpers import table

# opt -> loss per seed 0..3: "b" is best, "c" close to it (tied), "a" clearly worse
LOSSES = {"a": [0.90, 0.95, 0.88, 0.93], "b": [0.30, 0.36, 0.29, 0.33], "c": [0.31, 0.40, 0.27, 0.36]}


def block_sigma(rows):
    """Residual sd and df of a complete configuration x seed table by double centring."""
    x = np.asarray(rows, dtype=float)
    r = x - x.mean(axis=1, keepdims=True) - x.mean(axis=0, keepdims=True) + x.mean()
    df = (x.shape[0] - 1) * (x.shape[1] - 1)
    return math.sqrt((r ** 2).sum() / df), df


def runs(losses=LOSSES, seeds=None):
    rows = []
    for opt, values in losses.items():
        for i, v in enumerate(values):
            seed = (seeds or {}).get(opt, range(len(values)))[i]
            rows.append({"run": f"{opt}{seed}", "params": {"opt": opt, "seed": seed},
                         "metrics": {"loss": v}})
    return table(rows)


def test_paired_t_over_matching_seeds_against_scipy():
    s = summarize(runs())
    best = rank(s, "metrics.loss", "min")
    assert best.test == "paired-t" and best.alpha == 0.05 and best.over == "seed"
    assert best.best["group"] == {"opt": "b"} and best.best["n"] == 4
    assert best.best["mean"] == pytest.approx(np.mean(LOSSES["b"]))
    assert best.best["std"] == pytest.approx(np.std(LOSSES["b"], ddof=1))
    lo, hi = st.t.interval(0.95, 3, loc=np.mean(LOSSES["b"]), scale=st.sem(LOSSES["b"]))
    assert (best.best["ci_low"], best.best["ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    # the block model's residual sd (double centring, an independent computation)
    sigma, df = block_sigma([LOSSES[k] for k in "abc"])
    se = sigma * math.sqrt(2 / 4)
    t_c = (np.mean(LOSSES["c"]) - np.mean(LOSSES["b"])) / se
    t_a = (np.mean(LOSSES["a"]) - np.mean(LOSSES["b"])) / se
    p_c, p_a = 2 * st.t.sf(t_c, df), 2 * st.t.sf(t_a, df)
    q_c = st.studentized_range.sf(math.sqrt(2) * t_c, 3, df)
    assert q_c >= 0.05 > st.studentized_range.sf(math.sqrt(2) * t_a, 3, df)
    assert best.tied == [{"group": {"opt": "c"}, "n": 4, "mean": pytest.approx(np.mean(LOSSES["c"])),
                          "p_value": pytest.approx(p_c, rel=1e-9), "p_adjusted": pytest.approx(q_c, rel=1e-6)}]
    ranking = best.ranking
    assert ranking["opt"].tolist() == ["b", "c", "a"]
    assert ranking["p_value"].iloc[2] == pytest.approx(p_a, rel=1e-9)


def test_welch_when_the_seeds_do_not_match_and_mode_max():
    losses = {"a": [0.90, 0.95, 0.88, 0.93], "b": [0.30, 0.36, 0.29], "c": [0.31, 0.40, 0.27, 0.36]}
    with pytest.warns(SweepWarning, match="fewer seed values"):
        s = summarize(runs(losses))
    best = rank(s, "metrics.loss", "max")
    # b has seeds 0-2, shared with a and c: still paired on the shared ones
    assert best.test == "paired-t" and best.best["group"] == {"opt": "a"}
    assert best.tied == []
    best = rank(s, "metrics.loss", "min")
    assert best.best["group"] == {"opt": "b"}
    assert best.tied[0]["group"] == {"opt": "c"}
    # different seed values (same counts) are not pairs either
    s = summarize(runs(LOSSES, seeds={"a": [0, 1, 2, 3], "b": [4, 5, 6, 7], "c": [0, 1, 2, 3]}))
    best = rank(s, "metrics.loss")
    assert best.test == "welch-t"
    p_c = st.ttest_ind(LOSSES["b"], LOSSES["c"], equal_var=False).pvalue
    assert best.ranking.set_index("opt").loc["c", "p_value"] == pytest.approx(p_c, rel=1e-9)


def test_best_json_has_exactly_the_documented_shape():
    doc = rank(summarize(runs()), "metrics.loss", "min").to_json()
    assert list(doc) == ["objective", "mode", "over", "best", "tied", "test", "alpha", "rule", "decided_by",
                         "decided_on_runs", "comparisons"]
    assert (doc["decided_by"], doc["decided_on_runs"]) == ("report", None)
    assert list(doc["best"]) == ["group", "n", "mean", "std", "ci_low", "ci_high"]
    assert list(doc["tied"][0]) == ["group", "n", "mean", "p_value", "p_adjusted"]
    assert list(doc["comparisons"][0]) == ["group", "rank", "mean", "std", "n", "in_set", "shared_seeds",
                                           "test", "df", "diff", "diff_ci_low", "diff_ci_high", "p_raw",
                                           "p_adjusted", "mde"]
    assert [c["group"]["opt"] for c in doc["comparisons"]] == ["b", "c", "a"]
    assert [c["in_set"] for c in doc["comparisons"]] == [True, True, False]
    text = json.dumps(doc, allow_nan=False)
    assert json.loads(text)["best"]["group"] == {"opt": "b"}


def test_the_tied_set_is_ordered_best_first_by_mean():
    losses = {"b": [0.30, 0.36, 0.29, 0.33], "c": [0.31, 0.40, 0.27, 0.36], "d": [0.32, 0.34, 0.31, 0.38]}
    best = rank(summarize(runs(losses)), "metrics.loss", "min")
    means = [t["mean"] for t in best.tied]
    assert means == sorted(means) and {t["group"]["opt"] for t in best.tied} == {"c", "d"}


def test_constant_objective_ties_everything_and_single_values_cannot_be_tested():
    best = rank(summarize(runs({"a": [1.0, 1.0], "b": [1.0, 1.0]})), "metrics.loss")
    assert best.tied == [{"group": {"opt": "b"}, "n": 2, "mean": 1.0, "p_value": 1.0, "p_adjusted": 1.0}]
    rows = [{"run": f"r{i}", "params": {"opt": o}, "metrics": {"loss": v}}
            for i, (o, v) in enumerate([("a", 0.5), ("b", 0.4)])]
    with pytest.warns(SweepWarning, match="only 1 value: no test"):
        best = rank(summarize(table(rows)), "metrics.loss")
    assert best.best["group"] == {"opt": "b"} and best.best["std"] is None and best.tied == []
    assert json.dumps(best.to_json(), allow_nan=False)


def test_an_all_nan_objective_has_no_best():
    with pytest.warns(SweepWarning, match="no value in any group"):
        best = rank(summarize(runs({"a": [math.nan, math.nan]})), "metrics.loss")
    assert best.best is None and best.tied == []


def test_bad_objective_or_mode_is_a_usage_error():
    s = summarize(runs())
    with pytest.raises(UsageError, match="did you mean metrics.loss"):
        rank(s, "metrics.los")
    with pytest.raises(UsageError, match="grouping column"):
        rank(s, "opt")
    with pytest.raises(UsageError, match="--mode"):
        rank(s, "metrics.loss", "lowest")
