"""The best set: which configurations the sweep cannot tell apart from the best one.

One pure function, :func:`best_set`, used by the report (``best.json``) and by anything
else that must decide with exactly the report's rule (the search engine's race). It takes
the objective's values per (configuration, seed) and returns one :class:`Comparison` per
configuration, best first.

The rule (``mode="min"``; for ``"max"`` every value is negated first, so "worse" always
means a larger oriented value):

- **best** ``b``: the configuration with the best mean over its seeds (ties: the first
  given). Every configuration with at least one value is ranked by its mean.
- **pairing**: configuration ``i`` is compared with ``b`` on the seeds both have. With
  ``s >= 2`` shared seeds the test is *paired*: ``d_j = x_ij - x_bj`` over the shared
  seeds, ``diff = mean(d)``, ``se = sigma * sqrt(2 / s)``, where ``sigma^2`` is the
  residual variance of the additive model ``x_cs = mu_c + beta_s + e_cs`` (configuration
  plus seed effects, least squares over every value of the paired configurations,
  missing cells allowed) with ``df = N - rank`` residual degrees of freedom (the
  randomized-block analysis: the seed's effect is removed, and one variance estimate
  serves every comparison, as Tukey's and Hsu's constants assume). When that model has
  no residual degrees of freedom, ``se = sd(d) / sqrt(s)`` and ``df = s - 1``. Otherwise it is
  *Welch's*: ``diff = mean_i - mean_b`` over all their seeds,
  ``se = sqrt(s_i^2/n_i + s_b^2/n_b)``, Welch-Satterthwaite ``df``. A configuration (or a
  best) with fewer than 2 values cannot be tested: ``test`` None, not in the set.
- ``t = diff / se`` (oriented: positive = worse than the best); ``p_raw`` is the
  two-sided t-test p-value ``2 * T_df.sf(|t|)`` (the old ``p_value``'s meaning).
- **family-wise error** (Hsu's multiple comparisons with the best, MCB): ``i`` is *shown
  worse* than the best when ``t > c``, and is *in the set* otherwise (``b`` always is).
  The constant ``c = q_{1-alpha; k, df} / sqrt(2)`` is the studentized range quantile of the
  ``k`` tested configurations (Tukey's constant; Hsu 1996, ch. 4-5, MCB deduced from all
  pairwise comparisons). With every configuration truly equal, some configuration is
  excluded only when the range of the ``k`` means exceeds ``c`` standard errors, which
  happens with probability ``alpha``; the truly best is excluded with probability at
  most ``alpha`` whatever the other means. (MCB with Dunnett's smaller one-sided
  constant keeps the second guarantee but not the first: the best is chosen after
  looking at the data.) ``p_adjusted = Q_{k, df}.sf(sqrt(2) * t)`` (1 when ``t <= 0``), so
  ``in_set`` is ``p_adjusted >= alpha``.
- ``ci_low``, ``ci_high``: ``diff -/+ T_df.ppf(0.975) * se`` (95 %, per comparison),
  in the objective's own direction (``value_i - value_b``, not oriented).
- ``mde``: the smallest true difference this rule would detect with probability
  ``power`` (0.8): ``(c + T_df.ppf(power)) * se`` (the usual normal-shift approximation).
  A configuration in the set with ``|diff|`` below its ``mde`` is "not distinguishable
  with these seeds", not "equal".

Degenerate spreads (``se`` within 1e-12 of the values' magnitude): a zero difference is
``p = 1`` (in the set), a non-zero one ``p = 0`` (shown worse).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Hashable, Mapping

ALPHA = 0.05
POWER = 0.8
MODES = ("min", "max")


@dataclass(frozen=True)
class Comparison:
    """One configuration against the best (see the module docstring for every formula)."""

    config: Hashable
    rank: int  # 1 = best
    mean: float
    n: int
    is_best: bool
    in_set: bool
    shared: int  # seeds shared with the best
    test: str | None  # "paired-t", "welch-t", None (not testable; the best: None)
    df: float | None
    diff: float | None  # mean difference from the best (value_i - value_b)
    ci_low: float | None
    ci_high: float | None
    p_raw: float | None
    p_adjusted: float | None
    mde: float | None

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in ("rank", "mean", "n", "is_best", "in_set", "shared", "test",
                                              "df", "diff", "ci_low", "ci_high", "p_raw", "p_adjusted",
                                              "mde")}


def _finite(values) -> dict:
    out = {}
    for seed, v in values.items():
        if v is None:
            continue
        v = float(v)
        if math.isfinite(v):
            out[seed] = v
    return out


@lru_cache(maxsize=512)
def range_constant(k: int, df: float, alpha: float) -> float:
    """``c = q_{1-alpha; k, df} / sqrt(2)`` (``k >= 2``)."""
    from scipy.stats import studentized_range

    return float(studentized_range.ppf(1 - alpha, k, df)) / math.sqrt(2)


def _adjusted_p(t: float, k: int, df: float) -> float:
    from scipy.stats import studentized_range

    if t <= 0:
        return 1.0
    return float(min(1.0, max(0.0, studentized_range.sf(math.sqrt(2) * t, k, df))))


def residual_sd(oriented: dict):
    """(sigma, df) of the additive configuration + seed model over ``oriented``
    (``{config: {seed: value}}``), or None without residual degrees of freedom."""
    import numpy as np

    configs = list(oriented)
    seeds = list(dict.fromkeys(s for v in oriented.values() for s in v))
    if len(configs) < 2 or len(seeds) < 2:
        return None
    ci = {c: i for i, c in enumerate(configs)}
    si = {s: i for i, s in enumerate(seeds)}
    rows = [(ci[c], si[s], x) for c, v in oriented.items() for s, x in v.items()]
    X = np.zeros((len(rows), len(configs) + len(seeds) - 1))
    y = np.empty(len(rows))
    for r, (c, s, x) in enumerate(rows):
        X[r, c] = 1.0
        if s:
            X[r, len(configs) + s - 1] = 1.0
        y[r] = x
    coef, _, rank, _ = np.linalg.lstsq(X, y, rcond=None)
    df = len(rows) - int(rank)
    if df < 1:
        return None
    rss = float(((y - X @ coef) ** 2).sum())
    return math.sqrt(rss / df), float(df)


def _difference(a: dict, b: dict, pooled=None):
    """(test, shared, diff, se, df, scale) of a against the best b (oriented values)."""
    import numpy as np

    shared = [s for s in a if s in b]
    if len(shared) >= 2:
        d = np.array([a[s] - b[s] for s in shared])
        if pooled is not None:
            se, df = pooled[0] * math.sqrt(2 / len(d)), pooled[1]
        else:
            se, df = float(d.std(ddof=1) / math.sqrt(len(d))), float(len(d) - 1)
        return "paired-t", len(shared), float(d.mean()), se, df, \
            np.abs(np.array([a[s] for s in shared] + [b[s] for s in shared])).max()
    if len(a) < 2 or len(b) < 2:
        return None, len(shared), None, None, None, 0.0
    x, y = np.array(list(a.values())), np.array(list(b.values()))
    va, vb = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / ((va ** 2 / (len(x) - 1) if va else 0.0) + (vb ** 2 / (len(y) - 1) if vb else 0.0)) \
        if va + vb > 0 else float(len(x) + len(y) - 2)
    return "welch-t", len(shared), float(x.mean() - y.mean()), se, float(df), \
        float(max(np.abs(x).max(), np.abs(y).max()))


def best_set(values: Mapping[Hashable, Mapping[Hashable, float]], mode: str = "min",
             alpha: float = ALPHA, power: float = POWER) -> list[Comparison]:
    """The report's best-set decision. ``values[config][seed]`` is the objective's value
    of one (configuration, seed); NaN and None are left out. Returns one
    :class:`Comparison` per configuration with at least one value, best first (by mean;
    ties keep the order of ``values``). Formulas: the module docstring."""
    from scipy.stats import t as student

    if mode not in MODES:
        raise ValueError(f"mode must be min or max, not {mode!r}")
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError("alpha and power must be between 0 and 1")
    sign = 1.0 if mode == "min" else -1.0
    clean = {c: _finite(v) for c, v in values.items()}
    oriented = {c: {s: sign * x for s, x in v.items()} for c, v in clean.items() if v}
    order = sorted(oriented, key=lambda c: sum(oriented[c].values()) / len(oriented[c]))
    if not order:
        return []
    best = order[0]
    paired = [best] + [c for c in order[1:] if sum(1 for s in oriented[c] if s in oriented[best]) >= 2]
    pooled = residual_sd({c: oriented[c] for c in paired}) if len(paired) > 1 else None
    found = {c: _difference(oriented[c], oriented[best], pooled) for c in order[1:]}
    k = 1 + sum(1 for c in order[1:] if found[c][0] is not None)
    out = [Comparison(config=best, rank=1, mean=sign * _mean(oriented[best]), n=len(oriented[best]),
                      is_best=True, in_set=True, shared=len(oriented[best]), test=None, df=None,
                      diff=0.0, ci_low=None, ci_high=None, p_raw=None, p_adjusted=None, mde=None)]
    for rank, c in enumerate(order[1:], 2):
        test, shared, diff, se, df, scale = found[c]
        mean, n = sign * _mean(oriented[c]), len(oriented[c])
        if test is None:
            out.append(Comparison(c, rank, mean, n, False, False, shared, None, None, None, None, None,
                                  None, None, None))
            continue
        if se <= 1e-12 * max(scale, 1e-300):
            zero = abs(diff) <= 1e-12 * max(scale, 1e-300)
            p_raw = p_adj = 1.0 if zero else 0.0
            half, mde = 0.0, 0.0
        else:
            t = diff / se
            p_raw = float(min(1.0, 2 * student.sf(abs(t), df)))
            p_adj = _adjusted_p(t, k, df)
            half = float(student.ppf(0.975, df)) * se
            mde = (range_constant(k, round(df, 6), alpha) + float(student.ppf(power, df))) * se
        out.append(Comparison(c, rank, mean, n, False, p_adj >= alpha, shared, test, df, sign * diff,
                              sign * diff - half, sign * diff + half, p_raw, p_adj, mde))
    return out


def _mean(values: dict) -> float:
    return sum(values.values()) / len(values)
