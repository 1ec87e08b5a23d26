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

Which rows count: FAILED and KILLED runs are left out and counted (``include_failed``
keeps them); sweep parents (tag ``mlflow_sweep.role = parent``) and superseded retries
(tag ``mlflow_sweep.superseded_by``) never count -- the report adds those tags as the
columns ``tags.mlflow_sweep.role`` / ``tags.mlflow_sweep.superseded_by``; a
(configuration, seed) pair logged by several runs uses the latest FINISHED run (by
start time) and says so.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field

from ..errors import UsageError
from ..warning_types import SweepWarning, warn
from .columns import ERROR_COLUMN, ROLE_COLUMN, SUPERSEDED_COLUMN, Roles, bare_name, infer_roles, is_seed_name, \
    natural_key

STATS = ("n", "mean", "std", "sem", "ci_low", "ci_high", "min", "max")
#: columns of summary.csv after the ``by`` columns
TIDY_COLUMNS = ("metric",) + STATS + ("n_nan", "uneven")
EXCLUDED_STATUSES = ("FAILED", "KILLED")
_ALL = "__all__"
_EXAMPLES = 3


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
    #: one row per run considered (:func:`_runs_frame`): runs.csv
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


def _suggest(name: str, columns) -> str:
    close = difflib.get_close_matches(str(name), [str(c) for c in columns], n=3, cutoff=0.5)
    return f"; did you mean {', '.join(close)}?" if close else ""


def check_columns(df, names, what: str) -> None:
    """A :class:`UsageError` naming the first of ``names`` that is not a column."""
    for name in names:
        if name not in df.columns:
            raise UsageError(f"{what} {name!r} is not a column of the table{_suggest(name, df.columns)}")


def value_key(value):
    """Natural order for a factor's values: numbers (also numeric text) by value, then
    text naturally, missing last."""
    import pandas as pd

    if not isinstance(value, str) and pd.isna(value):
        return (2, 0.0, [])
    if not isinstance(value, bool):
        try:
            number = float(value)
        except (TypeError, ValueError):
            pass
        else:
            if not math.isnan(number):
                return (0, number, [])
    return (1, 0.0, natural_key(str(value)))


def _same_column(a, b) -> bool:
    """The two columns hold the same values row by row (as text)."""
    return bool((a.astype(str).to_numpy() == b.astype(str).to_numpy()).all())


def _bijective(df, a: str, b: str) -> bool:
    """``a`` and ``b`` partition the rows identically (one is a relabelling of the other)."""
    n_a = df[a].nunique(dropna=False)
    return n_a == df[b].nunique(dropna=False) == df.groupby([a, b], dropna=False).ngroups


def _drop_aliases(df, factors: list) -> tuple[list, dict]:
    """Keep one of each set of factors that are relabellings of each other (a numeric one,
    then the shortest name, then the first): ``x_dim`` for ``x_dim``, ``y_dim`` and
    ``params.som_grid_size`` (``5x5``)."""
    from .select import is_numeric_factor

    kept: list = []
    aliases: dict = {}
    numeric = {c: is_numeric_factor(df[c].dropna().unique()) for c in factors}
    for c in sorted(factors, key=lambda c: (not numeric[c], len(c), factors.index(c))):
        twin = next((k for k in kept if _bijective(df, k, c)), None)
        if twin is None:
            kept.append(c)
        else:
            aliases.setdefault(twin, []).append(c)
    return [c for c in factors if c in kept], aliases


def _run_ids(df):
    import pandas as pd

    if "run_id" in df.columns:
        return df["run_id"].astype(object).where(df["run_id"].notna(), "")
    return pd.Series([f"row-{i}" for i in range(len(df))], index=df.index, dtype=object)


def _describe_key(columns, values) -> str:
    return ", ".join(f"{c}={v}" for c, v in zip(columns, values)) or "(all runs)"


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
    run_ids = _run_ids(df)
    counts = {"rows": len(df), "runs": int(run_ids.nunique())}
    original, original_ids = df, run_ids
    reasons: dict = {}  # run id -> why it does not contribute

    # -- which rows count ---------------------------------------------------------------
    drop = np.zeros(len(df), dtype=bool)
    for column, label in ((ROLE_COLUMN, "parents"), (SUPERSEDED_COLUMN, "superseded")):
        if column in df.columns:
            values = df[column]
            hit = (values == "parent") if label == "parents" else (values.notna() & (values.astype(str) != ""))
            hit = hit.fillna(False).to_numpy(dtype=bool)
            counts[label] = int(run_ids[hit & ~drop].nunique())
            for r, v in zip(run_ids[hit & ~drop], values[hit & ~drop]):
                reasons.setdefault(r, "sweep parent" if label == "parents" else f"superseded by {v}")
            drop |= hit
        else:
            counts[label] = 0
    status = df["status"].astype(str).str.upper() if "status" in df.columns else \
        pd.Series("FINISHED", index=df.index)
    failed = status.isin(EXCLUDED_STATUSES).to_numpy()
    counts["failed"] = int(run_ids[failed & ~drop].nunique())
    counts["failed_included"] = bool(include_failed)
    if not include_failed:
        errors = df[ERROR_COLUMN] if ERROR_COLUMN in df.columns else pd.Series(None, index=df.index, dtype=object)
        for r, st_, e in zip(run_ids[failed & ~drop], status[failed & ~drop], errors[failed & ~drop]):
            reasons.setdefault(r, st_ + (f": {e}" if isinstance(e, str) and e else ""))
        drop |= failed
    df, run_ids, status = df[~drop].reset_index(drop=True), run_ids[~drop].reset_index(drop=True), \
        status[~drop].reset_index(drop=True)
    counts["runs_used"] = int(run_ids.nunique())

    # -- over, by, metrics --------------------------------------------------------------
    if over is None and roles.seed is not None:
        over = roles.seed
    elif over is None:
        seeds = [c for c in roles.params + roles.captures + roles.keys if is_seed_name(c)]
        distinct: list = []
        for c in sorted(seeds, key=len):
            if not any(_same_column(df[c], df[d]) for d in distinct):
                distinct.append(c)
        if len(distinct) == 1:
            over = distinct[0]
        elif len(distinct) > 1:
            note(f"several seed-like columns ({', '.join(distinct)}): nothing is averaged over "
                 f"seeds; give --over NAME")
            over = None
    elif over is False or over == "":
        over = None
    aliases: dict = {}
    if by is None:
        varied = [p for p in roles.params if p != over and df[p].nunique(dropna=False) > 1]
        if "experiment_name" in df.columns and df["experiment_name"].nunique(dropna=False) > 1:
            varied.insert(0, "experiment_name")  # a report over several experiments compares them
        factors = varied + [c for c in roles.captures + roles.keys if c != over and c not in varied
                            and df[c].nunique(dropna=False) > 1]
        by, aliases = _drop_aliases(df, factors) if len(df) else (factors, {})
    else:
        by = list(by)
        if over in by:
            raise UsageError(f"{over!r} is both a --by column and the --over column")
    if metrics is None:
        metrics = [m for m in roles.metrics if m not in by and m != over and m not in roles.descriptors]
    else:
        metrics = list(metrics)
        for m in metrics:
            if m in by or m == over:
                raise UsageError(f"{m!r} is a grouping column, not a metric")
    values = {}
    for m in metrics:
        col = df[m]
        if pd.api.types.is_bool_dtype(col.dtype):
            col = col.astype("float64")
        values[m] = pd.to_numeric(col, errors="coerce").astype("float64").to_numpy()

    # -- duplicates: one run per (configuration, seed) ----------------------------------
    counts["duplicates"] = 0
    if over is not None and len(df):
        per_run = df.groupby(run_ids, sort=False, dropna=False)
        run_level = [c for c in by if (per_run[c].nunique(dropna=False) <= 1).all()]
        key = run_level + [over]
        gid = df.groupby(key, dropna=False, sort=False).ngroup().to_numpy()
        start = (pd.to_datetime(df["start_time"], utc=True).astype("int64").to_numpy()
                 if "start_time" in df.columns else np.zeros(len(df), dtype="int64"))
        end = (pd.to_datetime(df["end_time"], utc=True).astype("int64").to_numpy()
               if "end_time" in df.columns else np.zeros(len(df), dtype="int64"))
        pairs = pd.DataFrame({"gid": gid, "run_id": run_ids.to_numpy(),
                              "finished": (status == "FINISHED").to_numpy(), "start": start,
                              "end": end, "pos": np.arange(len(df))})
        pairs = pairs.drop_duplicates(["gid", "run_id"])
        dup = pairs[pairs.duplicated("gid", keep=False)]
        if len(dup):
            dup = dup.sort_values(["gid", "finished", "start", "end", "pos"])
            winners = dup[~dup.duplicated("gid", keep="last")]
            losers = dup[dup.duplicated("gid", keep="last")]
            lose = pd.MultiIndex.from_arrays([losers["gid"], losers["run_id"]])
            mask = pd.MultiIndex.from_arrays([gid, run_ids.to_numpy()]).isin(lose)
            counts["duplicates"] = len(losers)
            winner_of = dict(zip(winners["gid"], winners["run_id"]))
            replaced: dict = {}  # (left-out run, kept run) -> [seed values]
            for g, r, pos in zip(losers["gid"], losers["run_id"], losers["pos"]):
                replaced.setdefault((r, winner_of[g]), []).append(df[over].iloc[int(pos)])
            examples = []
            for (old, new), seeds in list(replaced.items())[:_EXAMPLES]:
                shown = ", ".join(str(v) for v in sorted(seeds, key=value_key))
                examples.append(f"run {new} instead of run {old} ({over} {shown})")
            more = f" (and {len(replaced) - _EXAMPLES} more)" if len(replaced) > _EXAMPLES else ""
            note(f"{len(winners)} (configuration, {over}) pair(s) were logged by several runs; "
                 f"the latest FINISHED run of each is used: {'; '.join(examples)}{more}")
            keep = ~mask
            df, run_ids = df[keep].reset_index(drop=True), run_ids[keep].reset_index(drop=True)
            values = {m: v[keep] for m, v in values.items()}
            left = set(run_ids)
            for old, new in replaced:
                if old not in left:
                    reasons.setdefault(old, f"duplicate of {new}")
            counts["runs_used"] = int(run_ids.nunique())  # the runs that contribute

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
        low = groups.loc[groups["uneven"]].head(_EXAMPLES)
        examples = "; ".join(f"{_describe_key(by, [r[c] for c in by])} ({r['n_units']})"
                             for _, r in low.iterrows())
        more = f" (and {n_uneven - _EXAMPLES} more)" if n_uneven > _EXAMPLES else ""
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
    runs = _runs_frame(original, original_ids, by, over, reasons)
    tidy = _tidy(groups, by, metrics, stats)
    return Summary(table=tidy, groups=groups, observations=observations, by=by, over=over,
                   metrics=metrics, roles=roles, counts=counts, warnings=messages,
                   aliases=aliases, stats=stats, runs=runs)


def _runs_frame(df, run_ids, by, over, reasons):
    """One row per run of ``df``: ``run_id``, ``run_name``, ``configuration`` (its ``by``
    values), ``seed`` (its ``over`` value), ``status``, ``used`` and ``reason`` (why not:
    a sweep parent, superseded by RUN, FAILED with its ``mlflow_sweep.error``, duplicate of
    RUN). A run with several records shows its first record's values."""
    import pandas as pd

    first = ~run_ids.duplicated().to_numpy()
    sub = df[first]
    ids = run_ids[first].to_numpy()
    cols = [c for c in by if c in df.columns and c != "run_id"]
    config = [group_label(r, cols) if cols else "(all runs)" for _, r in sub[cols].iterrows()] \
        if len(sub) else []
    out = pd.DataFrame({
        "run_id": ids,
        "run_name": sub["run_name"].to_numpy() if "run_name" in sub.columns else [""] * len(sub),
        "configuration": config,
        "seed": sub[over].to_numpy() if over is not None and over in sub.columns else [None] * len(sub),
        "status": sub["status"].to_numpy() if "status" in sub.columns else ["FINISHED"] * len(sub),
    })
    out["used"] = [r not in reasons for r in ids]
    out["reason"] = [reasons.get(r, "") for r in ids]
    return out


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


def group_label(row, by) -> str:
    """``sae_type=relu, layer=2``: a group's name in messages, tables and plots."""
    return _describe_key([bare_name(c) for c in by], [row[c] for c in by])
