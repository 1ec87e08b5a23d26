"""Which rows of a sweep's table count, and ``runs.csv``'s frame.

FAILED and KILLED runs are left out and counted (``include_failed`` keeps them); sweep
parents (tag ``mlflow_sweep.role = parent``) and superseded retries (tag
``mlflow_sweep.superseded_by``) never count -- the report adds those tags as the columns
``tags.mlflow_sweep.role`` / ``tags.mlflow_sweep.superseded_by``; a (configuration, seed)
pair logged by several runs uses the latest FINISHED run (by start time, then end time,
then table order) and says so. Every run left out gets its reason (``runs.csv``).
"""

from __future__ import annotations

from .columns import ERROR_COLUMN, ROLE_COLUMN, SUPERSEDED_COLUMN, group_label, value_key

EXCLUDED_STATUSES = ("FAILED", "KILLED")
#: how many examples a warning names
EXAMPLES = 3


def run_ids_of(df):
    """The ``run_id`` column (``""`` for a missing one), else ``row-<i>`` per row."""
    import pandas as pd

    if "run_id" in df.columns:
        return df["run_id"].astype(object).where(df["run_id"].notna(), "")
    return pd.Series([f"row-{i}" for i in range(len(df))], index=df.index, dtype=object)


def select_rows(df, run_ids, include_failed: bool, counts: dict, reasons: dict):
    """``(df, run_ids, status)`` without parents, superseded retries and (unless
    ``include_failed``) FAILED/KILLED runs; ``counts`` gets ``parents``, ``superseded``,
    ``failed``, ``failed_included``, ``runs_used``; ``reasons`` each left-out run's reason."""
    import numpy as np
    import pandas as pd

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
    return df, run_ids, status


def drop_duplicates(df, run_ids, status, by, over, values, counts: dict, reasons: dict, note):
    """One run per (configuration, ``over``) pair: the latest FINISHED one. Returns
    ``(df, run_ids, values)`` without the other runs' rows; ``counts["duplicates"]``,
    ``reasons`` and one ``note`` say which."""
    import numpy as np
    import pandas as pd

    counts["duplicates"] = 0
    if over is None or not len(df):
        return df, run_ids, values
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
    if not len(dup):
        return df, run_ids, values
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
    for (old, new), seeds in list(replaced.items())[:EXAMPLES]:
        shown = ", ".join(str(v) for v in sorted(seeds, key=value_key))
        examples.append(f"run {new} instead of run {old} ({over} {shown})")
    more = f" (and {len(replaced) - EXAMPLES} more)" if len(replaced) > EXAMPLES else ""
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
    return df, run_ids, values


def runs_frame(df, run_ids, by, over, reasons):
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
