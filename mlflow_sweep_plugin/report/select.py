"""Which metrics and plots a report shows: ranked by variance explained.

For a metric and a factor (or a pair of factors), the score is the adjusted share of the
variance of the groups' means that the factor explains (epsilon squared, one-way ANOVA
over the groups): with N groups, k levels, SS_total the sum of squares of the group
means around their mean and SS_between that of the level means (weighted by their group
counts), ``eps2 = (SS_between - (k - 1) * SS_within / (N - k)) / SS_total``, where
SS_within = SS_total - SS_between; when N = k (the factor alone tells the groups apart),
eta squared, SS_between / SS_total. A heatmap of a pair scores what the pair explains
beyond the better of its two factors alone (the interaction it shows). Scores are
weighted by the share of groups that have a value of the metric. A constant or
all-NaN metric has no score (nothing to plot).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import UsageError, did_you_mean
from .columns import bare_name, is_numeric_factor

#: a categorical factor with more values than this gets no per-value plot
MAX_CATEGORIES = 50
#: heatmaps for factor pairs up to this many values each
MAX_HEATMAP = 20
#: one line per value of the other factors up to this many lines
MAX_LINES = 10
DEFAULT_MAX_PLOTS = 12


@dataclass(frozen=True)
class PlotSpec:
    kind: str  # "line" (metric against one factor) or "heatmap" (two factors)
    metric: str
    factors: tuple
    score: float


def varied_factors(summary) -> list[str]:
    """The ``by`` columns with at least two values among the groups (not ``run_id``)."""
    g = summary.groups
    return [c for c in summary.by if c != "run_id" and g[c].nunique(dropna=False) > 1]


def _codes(summary, factors):
    import pandas as pd

    g = summary.groups
    if len(factors) == 1:
        return pd.factorize(g[factors[0]].astype(str))[0]
    return g.groupby(list(factors), dropna=False, sort=False).ngroup().to_numpy()


def epsilon_squared(means, codes) -> float:
    """The score above for group ``means`` with level ``codes`` (NaN means left out)."""
    import numpy as np

    means = np.asarray(means, dtype=float)
    ok = ~np.isnan(means)
    y, c = means[ok], np.asarray(codes)[ok]
    n = len(y)
    if n < 2:
        return math.nan
    ss_t = float(((y - y.mean()) ** 2).sum())
    if not ss_t > 0 or not math.isfinite(ss_t):
        return math.nan
    _, inv, counts = np.unique(c, return_inverse=True, return_counts=True)
    k = len(counts)
    if k < 2:
        return 0.0
    level_means = np.bincount(inv, weights=y) / counts
    ss_b = float((counts * (level_means - y.mean()) ** 2).sum())
    if n - k <= 0:
        return ss_b / ss_t
    ss_w = max(ss_t - ss_b, 0.0)
    return (ss_b - (k - 1) * ss_w / (n - k)) / ss_t


def scores(summary, metrics=None) -> dict:
    """``{(metric, factors): score}`` for every metric, varied factor and pair of them,
    weighted by the fraction of groups that have a value of the metric (a metric that
    only a few configurations report ranks below one they all report)."""
    import numpy as np

    factors = varied_factors(summary)
    singles = [(f,) for f in factors]
    pairs = [(a, b) for i, a in enumerate(factors) for b in factors[i + 1:]]
    codes = {fs: _codes(summary, fs) for fs in singles + pairs}
    out = {}
    for m in metrics or summary.metrics:
        means = summary.stats[m]["mean"].to_numpy()
        coverage = float((~np.isnan(means)).mean()) if len(means) else 0.0
        for fs in singles + pairs:
            out[(m, fs)] = epsilon_squared(means, codes[fs]) * coverage
    return out


def metric_order(summary, objective=None, table=None) -> list[str]:
    """Metrics by their best score (objective first); unscorable ones last."""
    table = table if table is not None else scores(summary)
    best = {}
    for (m, _), s in table.items():
        if not math.isnan(s):
            best[m] = max(best.get(m, -math.inf), s)
    ordered = sorted(summary.metrics, key=lambda m: (m != objective, m not in best, -best.get(m, 0.0),
                                                     summary.metrics.index(m)))
    return ordered


#: metrics whose values order the units alike (|Spearman rho| at least this) answer one question
SAME_ORDER = 0.999


def repeats(summary, order) -> dict:
    """``{metric: the metric it repeats}``: a metric whose unit values are a monotone
    function of an earlier one's in ``order`` (|Spearman rho| >= :data:`SAME_ORDER` over
    at least 3 units both have) is the same question (a ratio, its log, its inverse)."""
    obs = summary.observations
    metrics = [m for m in order if m in obs.columns]
    if len(metrics) < 2 or len(obs) < 3:
        return {}
    ranked = obs[metrics].rank()
    corr = ranked.corr(min_periods=3).abs()
    out: dict = {}
    for i, m in enumerate(metrics):
        if m in out:
            continue
        for other in metrics[i + 1:]:
            if other not in out and corr.at[m, other] >= SAME_ORDER:
                out[other] = m
    return out


def choose_plots(summary, objective=None, limit: int = DEFAULT_MAX_PLOTS, extra=(), table=None):
    """The plots to draw and why others were not: ``(specs, notes)``.

    At most ``limit`` plots by score (the objective's first); each factor in ``extra``
    (``--plot FACTOR``, or ``A,B`` for a heatmap) adds its plots for the objective (or
    the top metric) beyond the limit."""
    g = summary.groups
    factors = varied_factors(summary)
    notes: list[str] = []
    n_values = {f: g[f].nunique(dropna=False) for f in factors}
    drawable_line = {}
    for f in factors:
        numeric = is_numeric_factor(g[f].dropna().unique())
        drawable_line[f] = numeric or n_values[f] <= MAX_CATEGORIES
        if not drawable_line[f]:
            notes.append(f"{f} has {n_values[f]} text values (more than {MAX_CATEGORIES}): "
                         f"no plot against it")
    table = table if table is not None else scores(summary)
    same = repeats(summary, metric_order(summary, objective, table))
    if same:
        shown = "; ".join(f"{bare_name(m)} (as {bare_name(t)})" for m, t in list(same.items())[:5])
        notes.append(f"{len(same)} metric(s) order the configurations as another does (|Spearman ρ| ≥ "
                     f"{SAME_ORDER}): one plot per question, none of {shown}"
                     + (" and more" if len(same) > 5 else ""))
    candidates = []
    skipped_pairs = 0
    for (m, fs), s in table.items():
        if math.isnan(s) or m in same:
            continue
        if len(fs) == 1 and drawable_line[fs[0]]:
            candidates.append(PlotSpec("line", m, fs, s))
        elif len(fs) == 2:
            if n_values[fs[0]] <= MAX_HEATMAP and n_values[fs[1]] <= MAX_HEATMAP:
                # a heatmap is worth what the pair explains beyond its better factor alone
                alone = [table.get((m, (f,)), math.nan) for f in fs]
                alone = max((a for a in alone if not math.isnan(a)), default=0.0)
                candidates.append(PlotSpec("heatmap", m, fs, s - max(alone, 0.0)))
            else:
                skipped_pairs += 1
    if skipped_pairs:
        wide = [f for f in factors if n_values[f] > MAX_HEATMAP]
        notes.append(f"no heatmap for factor pairs with more than {MAX_HEATMAP} values "
                     f"({', '.join(f'{f}: {n_values[f]}' for f in wide)})")
    candidates.sort(key=lambda p: (p.metric != objective, -p.score, p.kind != "line", p.metric, p.factors))
    # one plot per question: of the plots that show every group's mean of a metric (nothing
    # pooled), the first is enough
    complete = {f: len(g[[c for c in factors if c != f]].drop_duplicates()) <= MAX_LINES for f in factors}
    seen: set = set()
    unique = []
    for p in candidates:
        whole = (complete[p.factors[0]] if p.kind == "line" else set(p.factors) == set(factors))
        if whole and p.metric in seen:
            continue
        if whole:
            seen.add(p.metric)
        unique.append(p)
    if len(unique) < len(candidates):
        notes.append(f"{len(candidates) - len(unique)} plot(s) not drawn: they would show the same "
                     f"group means as a plot drawn (one plot per question)")
    candidates = unique
    chosen = candidates[:max(0, int(limit))]
    order = metric_order(summary, objective, table)
    top = order[0] if order else None
    for want in extra or ():
        fs = tuple(x.strip() for x in str(want).split(",") if x.strip())
        if not fs or any(f not in summary.by for f in fs):
            bad = next((f for f in fs if f not in summary.by), want)
            raise UsageError(f"--plot {want!r}: {bad!r} is not a grouping factor of this report "
                             f"(factors: {', '.join(summary.by) or 'none'}){did_you_mean(bad, summary.by)}")
        if top is None:
            continue
        metric = objective or top
        spec = PlotSpec("line" if len(fs) == 1 else "heatmap", metric, fs[:2],
                        table.get((metric, fs[:2]), math.nan))
        if spec not in chosen and all((c.kind, c.metric, c.factors) != (spec.kind, spec.metric, spec.factors)
                                      for c in chosen):
            chosen.append(spec)
    if len(candidates) > len(chosen):
        notes.append(f"{len(candidates) - len([c for c in chosen if c in candidates])} more plot(s) "
                     f"possible; the {len(chosen)} with the most variance explained are shown "
                     f"(--plot FACTOR asks for others)")
    if not factors:
        notes.append("no factor varies: nothing to plot against")
    return chosen, notes
