"""The best configuration and the ones the sweep cannot tell apart from it (the *best set*).

Groups are ranked by the objective's mean (``mode="min"``: smallest first) and compared
with the best by :func:`.bestset.best_set` -- the one rule, whose docstring gives every
formula: paired on the seeds each shares with the best (the block model's pooled
variance), Welch's t otherwise, Hsu's multiple comparisons with the best with Tukey's
constant for the family-wise error at ``alpha`` (0.05). The *tied* groups are the best
set's members other than the best. A group with fewer than 2 values cannot be tested
(not in the set, and a warning says so).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import UsageError, did_you_mean
from ..warning_types import SweepWarning, warn
from .bestset import ALPHA, MODES, best_set
from .stats import Summary



#: ``best.json``'s ``rule``: Hsu's MCB with Tukey's constant (:mod:`.bestset`)
RULE = "mcb-tukey"


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
    by: list = field(default_factory=list)
    #: the stage whose runs decided (:mod:`.race`): confirm, race, search or report
    decided_by: str = "report"
    #: how many runs the best set was computed on (None: every run summarised)
    decided_on: int | None = None

    def to_json(self) -> dict:
        """``best.json``: the old fields (``objective``, ``mode``, ``over``, ``best``,
        ``tied``, ``test``, ``alpha``), ``decided_by`` / ``decided_on_runs`` and, per
        ranked group, ``comparisons``."""
        return {"objective": self.objective, "mode": self.mode, "over": self.over,
                "best": self.best, "tied": self.tied, "test": self.test, "alpha": self.alpha,
                "rule": RULE, "decided_by": self.decided_by, "decided_on_runs": self.decided_on,
                "comparisons": self.comparisons()}

    def comparisons(self) -> list:
        """One entry per ranked group, best first: its ``group``, then
        :meth:`.bestset.Comparison.to_json`'s fields."""
        by = [c for c in self.ranking.columns if c in self.by]
        out = []
        for rank, (_, row) in enumerate(self.ranking.iterrows(), 1):
            out.append({"group": {c: plain(row[c]) for c in by}, "rank": rank, "mean": plain(row["mean"]),
                        "std": plain(row["std"]), "n": int(row["n"]), "in_set": bool(row["in_set"]),
                        "shared_seeds": int(row["shared"]), "test": plain(row["test"]), "df": plain(row["df"]),
                        "diff": plain(row["diff"]), "diff_ci_low": plain(row["ci_low_diff"]),
                        "diff_ci_high": plain(row["ci_high_diff"]), "p_raw": plain(row["p_raw"]),
                        "p_adjusted": plain(row["p_adjusted"]), "mde": plain(row["mde"])})
        return out

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


def _restricted(table, obs, objective: str):
    """``table`` with the statistics of ``objective`` computed on ``obs`` only (groups
    without a value there: n = 0, NaN)."""
    from .stats import STATS, describe

    stats = describe(obs[obs[objective].notna()], ["group"], objective).set_index("group")
    stats = stats.reindex(range(len(table)))
    out = table.copy()
    for name in STATS:
        out[name] = stats[name].fillna(0).astype("int64").to_numpy() if name == "n" else stats[name].to_numpy()
    return out


def rank(summary: Summary, objective: str, mode: str = "min", alpha: float = ALPHA, *,
         runs=None, decided_by: str = "report") -> Best:
    """Rank ``summary``'s groups by the mean of ``objective`` and find the tied set.
    ``runs``: the run ids the best set is computed on (a confirmation stage's runs; None:
    every run summarised); ``decided_by`` names their stage in ``best.json``."""
    import numpy as np

    if mode not in MODES:
        raise UsageError(f"--mode must be min or max, not {mode!r}")
    if objective not in summary.metrics:
        if objective in summary.by or objective == summary.over:
            raise UsageError(f"--objective {objective!r} is a grouping column, not a metric")
        raise UsageError(f"--objective {objective!r} is not a numeric metric of the table"
                         f"{did_you_mean(objective, summary.metrics)}")
    messages: list[str] = []

    def note(message: str) -> None:
        messages.append(message)
        warn(SweepWarning(message), stacklevel=3)

    table = summary.for_metric(objective)
    table["group"] = np.arange(len(table))
    obs = summary.observations
    if runs is not None:
        obs = obs[obs["run_id"].isin(set(runs))] if "run_id" in obs.columns else obs.iloc[0:0]
        table = _restricted(table, obs, objective)
    values: dict = {}
    if len(obs):
        unit = summary.unit if summary.unit in obs.columns else "run_id"
        present = obs[obs[objective].notna()]
        for g, u, x in zip(present["group"].to_numpy(), present[unit].map(repr).to_numpy(),
                           present[objective].to_numpy(dtype=float)):
            values.setdefault(int(g), {})[u] = float(x)
    comparisons = best_set({int(g): values.get(int(g), {}) for g in table["group"]}, mode, alpha)
    order = [c.config for c in comparisons]
    ranked = table.set_index("group").loc[order].reset_index() if order else table.iloc[0:0].copy()
    for name in ("shared", "test", "df", "diff", "ci_low_diff", "ci_high_diff", "p_raw", "p_adjusted", "mde"):
        key = {"ci_low_diff": "ci_low", "ci_high_diff": "ci_high"}.get(name, name)
        ranked[name] = [getattr(c, key) for c in comparisons]
    ranked["p_value"] = ranked["p_raw"]
    ranked["in_set"] = [c.in_set for c in comparisons]
    ranked["tied"] = [c.in_set and not c.is_best for c in comparisons]
    tests = {c.test for c in comparisons if c.test is not None}
    test = tests.pop() if len(tests) == 1 else ("mixed" if tests else "none")
    p_values = [c.p_raw for c in comparisons]

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
                             "mean": plain(row["mean"]), "p_value": plain(row["p_value"]),
                             "p_adjusted": plain(row["p_adjusted"])})
        untested = sum(p is None for p in p_values[1:])
        if int(top["n"]) < 2 and len(ranked) > 1:
            note(f"the best group for {objective!r} has only {int(top['n'])} value: no test "
                 f"against the other groups is possible, the tied set is empty")
        elif untested:
            note(f"{untested} group(s) have fewer than 2 values of {objective!r} and were not "
                 f"tested against the best (not in the tied set)")
    dropped = len(table) - len(ranked)
    if dropped and len(ranked) and runs is None:
        note(f"{dropped} group(s) have no value of {objective!r} and are not ranked")
    decided_on = None if runs is None else int(obs.loc[obs[objective].notna(), "run_id"].nunique()) \
        if "run_id" in obs.columns else 0
    return Best(objective=objective, mode=mode, over=summary.over, test=test, alpha=alpha,
                best=best, tied=tied, ranking=ranked, warnings=messages, by=list(by),
                decided_by=decided_by, decided_on=decided_on)
