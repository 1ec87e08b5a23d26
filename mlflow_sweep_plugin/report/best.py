"""The best configuration and the ones statistically indistinguishable from it.

Groups are ranked by the objective's mean (``mode="min"``: smallest first). Each other
group is tested against the best with a two-sided test at ``alpha`` (0.05):

- **paired t** (``scipy.stats.ttest_rel``) over the seeds when every ranked group has
  the same set of seeds (values of ``over``), at least two: t = mean(d) / (sd(d) / sqrt(n))
  on the per-seed differences d, n - 1 degrees of freedom;
- **Welch's t** (``scipy.stats.ttest_ind(equal_var=False)``) otherwise:
  t = (m_a - m_b) / sqrt(s_a^2/n_a + s_b^2/n_b), Welch-Satterthwaite degrees of freedom.

A group whose p-value is at least ``alpha`` is *tied* with the best. Degenerate cases
(no spread beyond rounding, 1e-12 relative): every difference 0, or both groups constant
and equal, gives p = 1; a constant non-zero difference, or two constant different
groups, gives p = 0; a group
with fewer than 2 values cannot be tested (``p_value`` None; it is not in the tied set,
and a warning says so).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import UsageError
from ..warning_types import SweepWarning, warn
from .stats import Summary, _suggest

ALPHA = 0.05
MODES = ("min", "max")


@dataclass
class Best:
    """What :func:`rank` found; :meth:`to_json` is ``best.json``."""

    objective: str
    mode: str
    over: str | None
    test: str
    alpha: float
    best: dict | None
    tied: list
    ranking: object  # DataFrame: groups in rank order with n, mean, std, p_value, tied
    warnings: list = field(default_factory=list)

    def to_json(self) -> dict:
        return {"objective": self.objective, "mode": self.mode, "over": self.over,
                "best": self.best, "tied": self.tied, "test": self.test, "alpha": self.alpha}

    @property
    def best_group(self) -> int | None:
        """The row of ``Summary.groups`` of the best group."""
        if self.best is None:
            return None
        return int(self.ranking.iloc[0]["group"])


def plain(value):
    """A JSON-ready scalar: numpy scalars unwrapped, NaN / NA as None."""
    import pandas as pd

    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, float) and math.isinf(value):
        return None
    if hasattr(value, "isoformat"):  # a timestamp
        return value.isoformat()
    if not isinstance(value, (str, int, float, bool)):
        return str(value)
    return value


def _flat(x) -> bool:
    """No spread beyond rounding: max - min within 1e-12 of the values' magnitude."""
    import numpy as np

    return bool(np.ptp(x) <= 1e-12 * max(float(np.abs(x).max()), 1e-300))


def _quiet(test, *args, **kwargs):
    """A scipy test without its RuntimeWarnings (the degenerate cases are handled above)."""
    import warnings

    import numpy as np

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(test(*args, **kwargs).pvalue)


def _paired_p(a, b) -> float | None:
    import numpy as np
    from scipy import stats as st

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    d = a - b
    if len(d) < 2:
        return None
    if _flat(d):
        return 1.0 if _flat(np.append(d, 0.0)) else 0.0
    return _quiet(st.ttest_rel, a, b)


def _welch_p(a, b) -> float | None:
    import numpy as np
    from scipy import stats as st

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return None
    if _flat(a) and _flat(b):
        return 1.0 if _flat(np.array([a.mean(), b.mean()])) else 0.0
    return _quiet(st.ttest_ind, a, b, equal_var=False)


def rank(summary: Summary, objective: str, mode: str = "min", alpha: float = ALPHA) -> Best:
    """Rank ``summary``'s groups by the mean of ``objective`` and find the tied set."""
    import numpy as np

    if mode not in MODES:
        raise UsageError(f"--mode must be min or max, not {mode!r}")
    if objective not in summary.metrics:
        if objective in summary.by or objective == summary.over:
            raise UsageError(f"--objective {objective!r} is a grouping column, not a metric")
        raise UsageError(f"--objective {objective!r} is not a numeric metric of the table"
                         f"{_suggest(objective, summary.metrics)}")
    messages: list[str] = []

    def note(message: str) -> None:
        messages.append(message)
        warn(SweepWarning(message), stacklevel=3)

    table = summary.for_metric(objective)
    table["group"] = np.arange(len(table))
    ranked = table[table["n"] > 0]
    ranked = ranked.sort_values("mean", ascending=(mode == "min"), kind="stable").reset_index(drop=True)
    obs = summary.observations
    values = obs[obs[objective].notna()] if len(obs) else obs
    per_group = {g: sub for g, sub in values.groupby("group", sort=False)} if len(values) else {}

    unit = summary.over
    seed_sets = {g: frozenset(map(repr, per_group[g][unit].tolist())) for g in ranked["group"]} \
        if unit is not None and len(ranked) else {}
    paired = (unit is not None and len(ranked) > 1 and len(set(seed_sets.values())) == 1
              and len(next(iter(seed_sets.values()))) >= 2)
    test = "paired-t" if paired else "welch-t"
    p_values: list = [None] * len(ranked)
    if len(ranked):
        best_g = int(ranked.loc[0, "group"])
        best_vals = per_group[best_g]
        for i in range(1, len(ranked)):
            other = per_group[int(ranked.loc[i, "group"])]
            if paired:
                a = best_vals.set_index(best_vals[unit].map(repr))[objective]
                b = other.set_index(other[unit].map(repr))[objective].reindex(a.index)
                p_values[i] = _paired_p(a.to_numpy(), b.to_numpy())
            else:
                p_values[i] = _welch_p(best_vals[objective].to_numpy(), other[objective].to_numpy())
    ranked["p_value"] = p_values
    ranked["tied"] = [p is not None and p >= alpha for p in p_values]

    by = summary.by
    best = None
    tied = []
    if not len(ranked):
        note(f"objective {objective!r} has no value in any group: no best configuration")
    else:
        top = ranked.iloc[0]
        best = {"group": {c: plain(top[c]) for c in by}, "n": int(top["n"]),
                "mean": plain(top["mean"]), "std": plain(top["std"]),
                "ci_low": plain(top["ci_low"]), "ci_high": plain(top["ci_high"])}
        for _, row in ranked.iloc[1:].iterrows():
            if row["tied"]:
                tied.append({"group": {c: plain(row[c]) for c in by}, "n": int(row["n"]),
                             "mean": plain(row["mean"]), "p_value": plain(row["p_value"])})
        untested = sum(p is None for p in p_values[1:])
        if int(top["n"]) < 2 and len(ranked) > 1:
            note(f"the best group for {objective!r} has only {int(top['n'])} value: no test "
                 f"against the other groups is possible, the tied set is empty")
        elif untested:
            note(f"{untested} group(s) have fewer than 2 values of {objective!r} and were not "
                 f"tested against the best (not in the tied set)")
    dropped = len(table) - len(ranked)
    if dropped and len(ranked):
        note(f"{dropped} group(s) have no value of {objective!r} and are not ranked")
    return Best(objective=objective, mode=mode, over=summary.over, test=test, alpha=alpha,
                best=best, tied=tied, ranking=ranked, warnings=messages)
