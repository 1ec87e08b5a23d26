"""Metric histories as per-run columns: ``--history val_loss:min`` -> ``val_loss.min``.

"Best loss per run" needs the minimum over a step metric, not its last value (the table
holds ``metrics.<key>``, the latest). For each ``KEY:AGG`` every run's history of ``KEY``
is fetched (``MlflowClient.get_metric_history``; in a thread pool on remote stores) and
reduced to one number per run, added to every row of the run before grouping:

- ``min``, ``max``, ``mean`` over the points' values (NaN points left out),
- ``last``: the value of the last point (highest step, then latest timestamp),
- ``argmin`` / ``argmax``: the step of the smallest / largest value (the first such step).

A run without that metric gets NaN. Several aggregates of one key share one fetch
(``val_loss:min,argmin``), and the report's learning curves read the same histories
(:func:`fetch_points`). Ended runs' histories (steps and values) are cached (one SQLite file beside the
export's cache, ``$MLFLOW_SWEEP_CACHE_DIR/report-history.sqlite``) keyed by the store,
run, metric, status, end time and the metric's latest value; ``refresh`` re-reads them,
``cache=False`` neither reads nor writes the file.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import math
import os
import sqlite3

import numpy as np
import pandas as pd
import platformdirs

from ..errors import UsageError
from ..warning_types import SweepWarning, warn

AGGS = ("min", "max", "last", "mean", "argmin", "argmax")
ENDED = ("FINISHED", "FAILED", "KILLED")
DEFAULT_WORKERS = 8


def parse_history_specs(specs) -> list[tuple[str, str]]:
    """``["val_loss:min,argmin", "acc:max"]`` -> ``[("val_loss", "min"), ("val_loss",
    "argmin"), ("acc", "max")]``; a bad spec is a :class:`UsageError`."""
    out: list[tuple[str, str]] = []
    for spec in specs or ():
        key, sep, aggs = str(spec).rpartition(":")
        if not sep or not key or not aggs:
            raise UsageError(f"--history {spec!r}: expected METRIC:AGG, e.g. val_loss:min "
                             f"(AGG one of {', '.join(AGGS)})")
        for agg in aggs.split(","):
            agg = agg.strip().lower()
            if agg not in AGGS:
                raise UsageError(f"--history {spec!r}: unknown aggregate {agg!r}; use one of "
                                 f"{', '.join(AGGS)}")
            if (key, agg) not in out:
                out.append((key, agg))
    return out


def reduce_points(points) -> dict:
    """Every aggregate of one history, from ``(step, timestamp, value)`` points."""
    nan = math.nan
    if not points:
        return dict.fromkeys(AGGS, nan)
    ordered = sorted(points, key=lambda p: (p[0], p[1]))
    values = [(s, v) for s, _, v in ordered if v is not None and not math.isnan(v)]
    out = {"last": float(ordered[-1][2]) if ordered[-1][2] is not None else nan}
    if not values:
        out.update(min=nan, max=nan, mean=nan, argmin=nan, argmax=nan)
        return out
    lo = min(values, key=lambda sv: sv[1])  # min/max keep the first (lowest step) on ties
    hi = max(values, key=lambda sv: sv[1])
    hi = next(sv for sv in values if sv[1] == hi[1])
    out.update(min=float(lo[1]), max=float(hi[1]), mean=math.fsum(v for _, v in values) / len(values),
               argmin=float(lo[0]), argmax=float(hi[0]))
    return out


def is_remote(uri: str | None) -> bool:
    return bool(uri) and str(uri).split(":", 1)[0].lower() in ("http", "https", "databricks", "uc")


class _HistoryCache:
    """Ended runs' histories (``[[step, value], ...]``) in one SQLite file (JSON, never pickle).
    Any failure turns the cache off; it never fails a report."""

    def __init__(self, directory: str | None):
        self.con = None
        directory = directory or os.environ.get("MLFLOW_SWEEP_CACHE_DIR")
        if not directory:
            try:
                directory = platformdirs.user_cache_dir("mlflow-sweep", appauthor=False)
            except Exception:  # noqa: BLE001 - no cache then
                return
        try:
            os.makedirs(directory, exist_ok=True)
            self.con = sqlite3.connect(os.path.join(directory, "report-history.sqlite"), timeout=10)
            self.con.execute("CREATE TABLE IF NOT EXISTS history (key TEXT PRIMARY KEY, value TEXT)")
        except Exception:  # noqa: BLE001
            self.con = None

    def get(self, key: str):
        if self.con is None:
            return None
        try:
            row = self.con.execute("SELECT value FROM history WHERE key = ?", (key,)).fetchone()
        except Exception:  # noqa: BLE001
            return None
        if row is None:
            return None
        return [(int(step), math.nan if v is None else float(v)) for step, v in json.loads(row[0])]

    def put(self, items: dict) -> None:
        if self.con is None or not items:
            return
        try:
            with self.con:
                self.con.executemany(
                    "INSERT OR REPLACE INTO history (key, value) VALUES (?, ?)",
                    [(k, json.dumps([[step, None if math.isnan(v) else v] for step, v in points]))
                     for k, points in items.items()])
        except Exception:  # noqa: BLE001
            pass

    def close(self) -> None:
        if self.con is not None:
            self.con.close()


def fetch_points(client, runs, keys, *, tracking_uri: str | None = None, workers: int = DEFAULT_WORKERS,
                 cache: bool = True, refresh: bool = False, cache_dir: str | None = None) -> dict:
    """``{(run_id, key): [(step, value), ...]}``: the history of each ``key`` of each run
    of ``runs`` (a table with ``run_id`` and, when it has them, ``status``, ``end_time``
    and ``metrics.<key>``), ordered by step then timestamp (NaN values kept as NaN).

    One ``get_metric_history`` per (run, key), in a thread pool on remote stores; ended
    runs' histories are cached (see the module docstring) under a key that changes when
    the run's status, end time or latest value changes."""
    runs = runs.drop_duplicates("run_id")
    run_ids = runs["run_id"].tolist()
    status = dict(zip(run_ids, runs["status"].astype(str) if "status" in runs.columns else [""] * len(runs)))
    ends = dict(zip(run_ids, runs["end_time"].astype(str) if "end_time" in runs.columns else [""] * len(runs)))
    uri = tracking_uri or getattr(client, "tracking_uri", None)
    latest_values = {key: dict(zip(run_ids, runs[f"metrics.{key}"])) for key in keys
                     if f"metrics.{key}" in runs.columns}

    def latest(run_id, key):
        value = latest_values.get(key, {}).get(run_id)
        return None if value is None or pd.isna(value) else repr(float(value))

    store = _HistoryCache(cache_dir) if cache else None
    points: dict = {}
    todo = []
    cache_keys = {}
    for run_id in run_ids:
        for key in keys:
            if store is not None and status[run_id] in ENDED:
                ck = json.dumps(["points", str(uri), run_id, key, status[run_id], ends[run_id], latest(run_id, key)])
                cache_keys[(run_id, key)] = ck
                hit = None if refresh else store.get(ck)
                if hit is not None:
                    points[(run_id, key)] = hit
                    continue
            todo.append((run_id, key))

    def fetch(item):
        run_id, key = item
        got = sorted(((m.step, m.timestamp, m.value) for m in client.get_metric_history(run_id, key)),
                     key=lambda p: (p[0], p[1]))
        return item, [(int(s), math.nan if v is None else float(v)) for s, _, v in got]

    try:
        if is_remote(uri) and len(todo) > 1:
            with cf.ThreadPoolExecutor(max_workers=max(1, int(workers))) as pool:
                for item, value in pool.map(fetch, todo):
                    points[item] = value
        else:
            for item in todo:
                points[item] = fetch(item)[1]
        if store is not None:
            store.put({cache_keys[i]: points[i] for i in todo if i in cache_keys})
    finally:
        if store is not None:
            store.close()
    return points


def add_history_columns(df, client, specs, *, tracking_uri: str | None = None,
                        workers: int = DEFAULT_WORKERS, cache: bool = True, refresh: bool = False,
                        cache_dir: str | None = None):
    """``df`` with one column ``<key>.<agg>`` per spec (see the module docstring).

    ``specs``: strings (``"val_loss:min"``) or ``(key, agg)`` pairs. The history of each
    (run, key) is fetched once (:func:`fetch_points`), however many aggregates and rows use it."""
    pairs = [tuple(s) for s in specs] if specs and not isinstance(next(iter(specs)), str) \
        else parse_history_specs(specs)
    if not pairs or not len(df) or "run_id" not in df.columns:
        return df
    keys = list(dict.fromkeys(k for k, _ in pairs))
    run_ids = df["run_id"].drop_duplicates().tolist()
    points = fetch_points(client, df, keys, tracking_uri=tracking_uri, workers=workers, cache=cache,
                          refresh=refresh, cache_dir=cache_dir)
    # (step, order, value): the order of the points stands for their timestamps
    reduced = {item: reduce_points([(s, i, v) for i, (s, v) in enumerate(pts)]) for item, pts in points.items()}
    out = df.copy()
    index = out["run_id"].tolist()
    for key, agg in pairs:
        name = f"{key}.{agg}"
        per_run = {r: reduced[(r, key)][agg] for r in run_ids}
        out[name] = np.array([per_run.get(r, math.nan) for r in index], dtype=float)
    for key in keys:
        if all(math.isnan(reduced[(r, key)]["last"]) and math.isnan(reduced[(r, key)]["min"])
               for r in run_ids):
            warn(SweepWarning(f"--history: no run has a history of metric {key!r}"))
    return out
