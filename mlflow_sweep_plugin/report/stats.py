"""``summarize``: a sweep's table -> one row per configuration, seed-aware statistics.

For a metric's values ``x_1..x_n`` in one group (one value per seed, NaN left out):

- ``n`` = number of non-NaN values (``n_nan`` counts the NaN ones),
- ``mean`` = sum(x_i) / n,
- ``std`` = sqrt(sum((x_i - mean)^2) / (n - 1)) (sample std; NaN when n < 2),
- ``sem`` = std / sqrt(n),
- ``ci_low``, ``ci_high`` = mean -/+ t_{0.975, n-1} * sem (95 %, Student t; NaN when n < 2),
- ``min``, ``max``.

What is a value: the rows are first reduced to one *unit* per (group, seed) -- the
mean of that unit's non-NaN rows, when a seed of a group has several rows (a warning
says so: some column that tells them apart is missing from ``by``). Without a seed
column every run is a unit and its own group.

Which rows count is :mod:`.rows`; what is grouped by, averaged over and summarised is
:mod:`.grouping`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import UsageError, did_you_mean
from ..warning_types import SweepWarning, warn
from .columns import Roles, bare_name, describe_key, group_label, infer_roles, is_seed_name, value_key
from .grouping import choose_by, choose_metrics, choose_over
from .rows import EXAMPLES, drop_duplicates, run_ids_of, runs_frame, select_rows

__all__ = ["STATS", "TIDY_COLUMNS", "Summary", "summarize", "describe", "check_columns", "group_label",
           "value_key", "bare_name"]

STATS = ("n", "mean", "std", "sem", "ci_low", "ci_high", "min", "max")
#: columns of summary.csv after the ``by`` columns
TIDY_COLUMNS = ("metric",) + STATS + ("n_nan", "uneven")
_ALL = "__all__"


@dataclass
class Summary:
    """What :func:`summarize` found.

    ``table``: tidy, one row per (group, metric) -- the ``by`` columns, then
    :data:`TIDY_COLUMNS`. ``groups``: one row per group (the ``by`` columns, ``n_units``,
    ``n_runs``, ``uneven``), in natural order of the ``by`` values. ``observations``: one
    row per unit (group and seed) with the metric values that were averaged, the
    ``run_id`` they came from and ``group`` (a row number of ``groups``).
    """

    table: object
    groups: object
    observations: object
    by: list
    over: str | None
    metrics: list
    roles: Roles
    counts: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    aliases: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict, repr=False)  # metric -> DataFrame aligned with groups
    #: one row per run considered (:func:`.rows.runs_frame`): runs.csv
    runs: object = None

    @property
    def unit(self) -> str:
        """The column one value per group comes from: the seed, else ``run_id``."""
        return self.over or "run_id"

    def for_metric(self, metric: str):
        """``groups`` with the statistics of ``metric`` beside them."""
        import pandas as pd

        return pd.concat([self.groups, self.stats[metric]], axis=1)

    def wide(self):
        """One row per group; columns ``<metric>.<stat>`` for every metric."""
        import pandas as pd

        parts = [self.groups]
        for m in self.metrics:
            parts.append(self.stats[m].add_prefix(f"{m}."))
        return pd.concat(parts, axis=1)


def check_columns(df, names, what: str) -> None:
    """A :class:`UsageError` naming the first of ``names`` that is not a column."""
    for name in names:
        if name not in df.columns:
            raise UsageError(f"{what} {name!r} is not a column of the table{did_you_mean(name, df.columns)}")


def summarize(table, by=None, over=None, metrics=None, *, include_failed: bool = False,
              params=None, captures=None, declared=None, keys=(), descriptors=(),
              confidence: float = 0.95) -> Summary:
    """Summarise ``table`` (an export table) per configuration, over seeds.

    ``by``: the grouping columns (default: ``experiment_name`` when there are several,
    the params that vary, minus ``over``, plus the pattern captures and record keys). ``over``: what is averaged away (default: the one
    seed-like column -- ``seed``, ``random_seed``, ``*.seed``, ``seed_*``; ``False`` for
    none: every run its own unit). ``metrics``: default every numeric column that is not a
    param, capture, record key, descriptor or run field. ``params`` / ``captures`` name those columns
    when the table's layout cannot tell (see :mod:`.columns`); ``declared`` holds the
    parsers' declared roles (:func:`.columns.infer_roles`), ``keys`` / ``descriptors``
    (``--key`` / ``--descriptor``) add to them. Captures and keys with a single value
    are not grouped by.

    Problems (duplicates, uneven seeds, ambiguous seeds) are :class:`SweepWarning`\\ s
    and are listed in ``Summary.warnings``. Columns that do not exist are a
    :class:`~mlflow_sweep_plugin.errors.UsageError`.
    """
    import numpy as np
    import pandas as pd

    messages: list[str] = []

    def note(message: str) -> None:
        messages.append(message)
        warn(SweepWarning(message), stacklevel=3)

    df = table.reset_index(drop=True)
    for what, names in (("--by column", by or ()), ("--over column", [over] if over else ()),
                        ("metric", metrics or ()), ("--key column", keys or ()),
                        ("--descriptor column", descriptors or ())):
        check_columns(df, names, what)
    declared = {k: list(v) for k, v in (declared or {}).items()}
    declared["keys"] = list(keys or ()) + [c for c in declared.get("keys", []) if c not in (descriptors or ())]
    declared["descriptors"] = list(descriptors or ()) + [c for c in declared.get("descriptors", [])
                                                         if c not in (keys or ())]
    roles = infer_roles(df, params, captures, declared)
    run_ids = run_ids_of(df)
    counts = {"rows": len(df), "runs": int(run_ids.nunique())}
    original, original_ids = df, run_ids
    reasons: dict = {}  # run id -> why it does not contribute
    df, run_ids, status = select_rows(df, run_ids, include_failed, counts, reasons)
    over = choose_over(df, roles, over, note)
    by, aliases = choose_by(df, roles, over, by)
    metrics = choose_metrics(roles, by, over, metrics)
    values = {}
    for m in metrics:
        col = df[m]
        if pd.api.types.is_bool_dtype(col.dtype):
            col = col.astype("float64")
        values[m] = pd.to_numeric(col, errors="coerce").astype("float64").to_numpy()
    df, run_ids, values = drop_duplicates(df, run_ids, status, by, over, values, counts, reasons, note)

    # -- units (one per group and seed) -------------------------------------------------
    unit = over or "run_id"
    frame = pd.DataFrame({c: df[c] for c in by})
    frame[_ALL] = 0
    group_cols = by or [_ALL]
    if over is None and len(df):
        runs_per_config = pd.DataFrame({**{c: frame[c] for c in group_cols}, "run_id": run_ids}) \
            .groupby(group_cols, dropna=False, sort=False)["run_id"].nunique()
        repeated = int((runs_per_config > 1).sum())
        if repeated:
            note(f"no seed column to average over, and {repeated} configuration(s) were run "
                 f"more than once: each run is its own group (give --over NAME to average "
                 f"over a column)")
            by = by + ["run_id"]
            frame["run_id"] = run_ids.to_numpy()
            group_cols = by
    run_col = "__run"
    frame[run_col] = run_ids.to_numpy()
    if over is not None:
        frame[over] = df[over].to_numpy()
    unit_cols = group_cols + ([over] if over is not None else ([] if "run_id" in by else [run_col]))
    for m in metrics:
        frame[m] = values[m]
    grouped = frame.groupby(unit_cols, dropna=False, sort=False)
    units = grouped[metrics].mean() if metrics else grouped.size().to_frame("__size")[[]]
    if run_col not in unit_cols:
        units[run_col] = grouped[run_col].first()
    sizes = grouped.size()
    averaged = int((sizes > 1).sum())
    counts["averaged_units"] = averaged
    if averaged:
        note(f"{averaged} (group, {unit}) unit(s) have several rows; their mean is used -- a "
             f"column that tells the rows apart is missing from the grouping")
    units = units.reset_index()

    # -- groups -------------------------------------------------------------------------
    gb = units.groupby(group_cols, dropna=False, sort=False)
    keys = gb.size().reset_index()[group_cols]
    order = sorted(range(len(keys)), key=lambda i: [value_key(keys.iloc[i, j])
                                                   for j in range(len(group_cols))])
    keys = keys.iloc[order].reset_index(drop=True)
    index = pd.MultiIndex.from_frame(keys) if len(group_cols) > 1 else pd.Index(keys[group_cols[0]])
    n_units = gb.size().reindex(index).to_numpy()
    n_runs = gb[run_col].nunique().reindex(index).to_numpy()
    groups = keys[by].copy() if by else pd.DataFrame(index=range(len(keys)))
    groups["n_units"] = n_units.astype("int64")
    groups["n_runs"] = n_runs.astype("int64")
    most = int(n_units.max()) if len(n_units) else 0
    groups["uneven"] = (n_units < most) if over is not None else np.zeros(len(keys), dtype=bool)
    n_uneven = int(groups["uneven"].sum())
    if n_uneven:
        low = groups.loc[groups["uneven"]].head(EXAMPLES)
        examples = "; ".join(f"{describe_key(by, [r[c] for c in by])} ({r['n_units']})"
                             for _, r in low.iterrows())
        more = f" (and {n_uneven - EXAMPLES} more)" if n_uneven > EXAMPLES else ""
        note(f"{n_uneven} of {len(groups)} group(s) have fewer {over} values than the most "
             f"complete group ({most}): {examples}{more}")

    if len(groups) and int(n_units.max()) == 1 and counts["runs_used"] > 1:
        seedlike = [c for c in table.columns if is_seed_name(c) and c != over and c not in by]
        if seedlike:
            note(f"every group has a single value (n = 1), though the table has a seed-like column "
                 f"{seedlike[0]!r}: nothing is averaged over seeds and nothing can be compared; "
                 f"give --over {seedlike[0]} to average over it")

    stats = {}
    if metrics and len(keys):
        from scipy import stats as st

        count = gb[metrics].count().reindex(index)
        mean = gb[metrics].mean().reindex(index)
        std = gb[metrics].std(ddof=1).reindex(index)
        lo = gb[metrics].min().reindex(index)
        hi = gb[metrics].max().reindex(index)
        for m in metrics:
            n = count[m].to_numpy(dtype=float)
            s = std[m].to_numpy(dtype=float)
            mu = mean[m].to_numpy(dtype=float)
            with np.errstate(invalid="ignore", divide="ignore"):
                sem = s / np.sqrt(n)
                tcrit = np.where(n >= 2, st.t.ppf(0.5 + confidence / 2, np.maximum(n - 1, 1)), np.nan)
            half = tcrit * sem
            stats[m] = pd.DataFrame({
                "n": n.astype("int64"), "mean": mu, "std": s, "sem": sem,
                "ci_low": mu - half, "ci_high": mu + half,
                "min": lo[m].to_numpy(dtype=float), "max": hi[m].to_numpy(dtype=float),
                "n_nan": (n_units - n).astype("int64"),
            })
    elif metrics:
        stats = {m: pd.DataFrame({s: [] for s in STATS + ("n_nan",)}) for m in metrics}

    position = pd.Series(np.arange(len(keys)), index=index)
    obs_index = pd.MultiIndex.from_frame(units[group_cols]) if len(group_cols) > 1 else \
        pd.Index(units[group_cols[0]])
    units["group"] = position.reindex(obs_index).to_numpy() if len(units) else np.zeros(0, dtype=int)
    observations = units.drop(columns=[_ALL], errors="ignore")
    observations = (observations.drop(columns=[run_col]) if "run_id" in observations.columns
                    else observations.rename(columns={run_col: "run_id"}))
    observations = observations.sort_values(["group"], kind="stable").reset_index(drop=True)

    counts.update(groups=len(groups), units=len(units))
    runs = runs_frame(original, original_ids, by, over, reasons)
    tidy = _tidy(groups, by, metrics, stats)
    return Summary(table=tidy, groups=groups, observations=observations, by=by, over=over,
                   metrics=metrics, roles=roles, counts=counts, warnings=messages,
                   aliases=aliases, stats=stats, runs=runs)


def _tidy(groups, by, metrics, stats):
    """summary.csv's frame: the ``by`` columns, then :data:`TIDY_COLUMNS`."""
    import pandas as pd

    parts = []
    for m in metrics:
        part = groups[by].copy()
        part["metric"] = m
        for s in STATS + ("n_nan",):
            part[s] = stats[m][s].to_numpy()
        part["uneven"] = groups["uneven"].to_numpy()
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=list(by) + list(TIDY_COLUMNS))
    return pd.concat(parts, ignore_index=True)[list(by) + list(TIDY_COLUMNS)]


def describe(frame, cols, metric: str, confidence: float = 0.95):
    """The statistics of ``metric`` (one value per row of ``frame``) per value of ``cols``,
    by the formulas above: a DataFrame with ``cols`` then :data:`STATS`."""
    import numpy as np
    from scipy import stats as st

    gb = frame.groupby(list(cols), dropna=False, sort=False)[metric]
    out = gb.agg(["count", "mean", "std", "min", "max"]).reset_index()
    n = out["count"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        sem = out["std"].to_numpy(dtype=float) / np.sqrt(n)
        tcrit = np.where(n >= 2, st.t.ppf(0.5 + confidence / 2, np.maximum(n - 1, 1)), np.nan)
    out = out.rename(columns={"count": "n"})
    out["sem"] = sem
    out["ci_low"] = out["mean"] - tcrit * sem
    out["ci_high"] = out["mean"] + tcrit * sem
    return out[list(cols) + list(STATS)]
