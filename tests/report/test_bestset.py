"""best_set(): the one best-set rule, against independent computations (double centring
for the block model, scipy's t, Welch and studentized range)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from mlflow_sweep_plugin.report.bestset import best_set, residual_sd


def block_sigma(rows):
    """Residual sd and df of a complete configuration x seed table by double centring."""
    x = np.asarray(rows, dtype=float)
    r = x - x.mean(axis=1, keepdims=True) - x.mean(axis=0, keepdims=True) + x.mean()
    df = (x.shape[0] - 1) * (x.shape[1] - 1)
    return math.sqrt((r ** 2).sum() / df), df


def grid(rng, means, n_seeds=6):
    seed = rng.normal(0, 1.0, n_seeds)
    return {c: {s: float(m + seed[s] + rng.normal(0, 0.2)) for s in range(n_seeds)} for c, m in means.items()}


def test_complete_block_against_double_centring_and_tukey():
    rng = np.random.default_rng(1)
    values = grid(rng, {"a": 0.0, "b": 0.15, "c": 1.0, "d": 0.05})
    out = best_set(values, "min")
    means = {c: np.mean(list(v.values())) for c, v in values.items()}
    order = sorted(means, key=means.get)
    assert [c.config for c in out] == order
    best = order[0]
    sigma, df = block_sigma([[values[c][s] for s in range(6)] for c in values])
    assert residual_sd(values) == (pytest.approx(sigma, rel=1e-10), df)
    q = st.studentized_range.ppf(0.95, 4, df) / math.sqrt(2)
    for c in out[1:]:
        diff = means[c.config] - means[best]
        se = sigma * math.sqrt(2 / 6)
        t = diff / se
        assert c.test == "paired-t" and c.shared == 6 and c.df == df
        assert c.diff == pytest.approx(diff, rel=1e-10)
        half = st.t.ppf(0.975, df) * se
        assert (c.ci_low, c.ci_high) == (pytest.approx(diff - half), pytest.approx(diff + half))
        assert c.p_raw == pytest.approx(2 * st.t.sf(abs(t), df), rel=1e-9)
        assert c.p_adjusted == pytest.approx(st.studentized_range.sf(math.sqrt(2) * t, 4, df), rel=1e-6)
        assert c.in_set == (t <= q)
        assert c.mde == pytest.approx((q + st.t.ppf(0.8, df)) * se, rel=1e-6)
    assert out[0].is_best and out[0].in_set and out[-1].config == "c" and not out[-1].in_set


def test_one_missing_seed_keeps_the_other_comparisons_paired():
    rng = np.random.default_rng(2)
    values = grid(rng, {"a": -0.5, "b": 0.1, "c": 0.1})
    del values["c"][5]
    out = {c.config: c for c in best_set(values)}
    assert {c.test for c in out.values() if not c.is_best} == {"paired-t"}
    assert out["c"].shared == 5 and out["b"].shared == 6
    # the missing cell is handled by the least-squares fit: its df = 17 values - 8 parameters
    assert out["b"].df == 17 - (3 + 6 - 1)
    assert out["a"].is_best
    d = [values["c"][s] - values["a"][s] for s in range(5)]
    assert out["c"].diff == pytest.approx(np.mean(d), rel=1e-10)


def test_welch_without_shared_seeds_and_mode_max():
    values = {"x": {0: 1.0, 1: 1.2, 2: 0.9}, "y": {3: 2.0, 4: 2.4, 5: 2.1, 6: 2.2}}
    out = best_set(values, "max")
    assert out[0].config == "y"
    c = out[1]
    assert c.test == "welch-t" and c.shared == 0
    res = st.ttest_ind(list(values["x"].values()), list(values["y"].values()), equal_var=False)
    assert c.p_raw == pytest.approx(res.pvalue, rel=1e-9)
    assert c.diff == pytest.approx(np.mean([1.0, 1.2, 0.9]) - 2.175)
    assert c.diff < 0 and c.ci_high < 0  # the objective's direction: x's values are lower


def test_degenerate_and_untestable_cases():
    flat = best_set({"a": {0: 1.0, 1: 1.0}, "b": {0: 1.0, 1: 1.0}})
    assert flat[1].in_set and flat[1].p_raw == 1.0
    single = best_set({"a": {0: 0.5}, "b": {0: 0.4}})
    assert single[0].config == "b" and single[1].test is None and not single[1].in_set
    assert best_set({"a": {0: math.nan}}) == []
    with pytest.raises(ValueError):
        best_set({}, "lowest")


def test_error_rates_on_a_few_simulated_sweeps():
    """A cheap smoke version of benchmarks/bench_best_set.py (which measures the rates)."""
    rng = np.random.default_rng(3)
    excluded = 0
    for _ in range(40):
        out = best_set(grid(rng, {i: 0.0 for i in range(5)}, 5))
        excluded += not all(c.in_set for c in out)
    assert excluded <= 6  # 5 % of 40 is 2; 6 is far in the tail
