"""Rows -> one tidy table: run columns, params, metrics, then record columns.

The column order is a pure function of the set of column names (never of which run
came first), so two exports of the same sweep have the same header.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone

import pandas as pd

RUN_COLUMNS = ("run_id", "run_name", "start_time", "end_time", "status")
_NUM = re.compile(r"(\d+)")


def natural_key(name: str):
    """``cluster_2_x`` sorts before ``cluster_10_x``."""
    return [(0, int(tok), "") if tok.isdigit() else (1, 0, tok) for tok in _NUM.split(name) if tok]


def ms_to_datetime(ms):
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000.0, tz=timezone.utc)


def run_columns(run) -> dict:
    info = run.info
    return {
        "run_id": info.run_id,
        "run_name": getattr(info, "run_name", None) or run.data.tags.get("mlflow.runName"),
        "start_time": ms_to_datetime(info.start_time),
        "end_time": ms_to_datetime(info.end_time),
        "status": info.status,
    }


def scalar(value):
    """Values a table cell can hold: lists/dicts become JSON strings, numpy scalars
    become Python numbers."""
    if value is None or isinstance(value, (str, bool, int, float, datetime)):
        return value
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:  # numpy scalar
        return value.item()
    if isinstance(value, (list, tuple, dict)) or hasattr(value, "tolist"):
        if hasattr(value, "tolist"):
            value = value.tolist()
        return json.dumps(value, default=str)
    return str(value)


class TableBuilder:
    """Accumulates rows run by run; :meth:`frame` returns the DataFrame."""

    def __init__(self):
        self.rows: list[dict] = []
        self.capture_cols: dict[str, None] = {}
        self.record_cols: set[str] = set()
        self.param_names: set[str] = set()
        self.metric_names: set[str] = set()

    def add_run(self, run, records: list[dict], captures_order=(), clean: bool = False):
        """Add one run's rows; ``clean=True`` when records hold table cells already
        (:func:`scalar` applied, string keys), as the exporter's do."""
        base = run_columns(run)
        params = dict(run.data.params)
        metrics = {f"metrics.{k}": v for k, v in run.data.metrics.items()}
        self.param_names.update(params)
        self.metric_names.update(metrics)
        for c in captures_order:
            self.capture_cols.setdefault(c, None)
        if not records:
            self.rows.append({"__base": base, "__params": params, "__metrics": metrics, "__rec": {}})
            return
        for rec in records:
            cells = rec if clean else {str(k): scalar(v) for k, v in rec.items()}
            self.record_cols.update(cells)
            self.rows.append({"__base": base, "__params": params, "__metrics": metrics, "__rec": cells})

    def columns(self) -> tuple[list[str], dict[str, str]]:
        """Final column order and the param -> column name mapping."""
        record_cols = [c for c in self.capture_cols if c in self.record_cols]
        record_cols += sorted((c for c in self.record_cols if c not in self.capture_cols), key=natural_key)
        taken = set(RUN_COLUMNS) | set(record_cols) | self.metric_names
        param_col = {p: (f"params.{p}" if p in taken else p) for p in self.param_names}
        cols = list(RUN_COLUMNS)
        cols += sorted(param_col.values(), key=natural_key)
        cols += sorted(self.metric_names, key=natural_key)
        cols += record_cols
        return cols, param_col

    def frame(self):
        cols, param_col = self.columns()
        data = {c: [None] * len(self.rows) for c in cols}
        for i, row in enumerate(self.rows):
            for k, v in row["__base"].items():
                data[k][i] = v
            for k, v in row["__params"].items():
                data[param_col[k]][i] = v
            for k, v in row["__metrics"].items():
                data[k][i] = v
            for k, v in row["__rec"].items():
                data[k][i] = v
        df = pd.DataFrame({c: _column(data[c], c) for c in cols}, columns=cols)
        return df


def _column(values: list, name: str):
    """A pandas Series with the narrowest honest dtype for these cells.

    Integers with gaps stay integers (nullable ``Int64``) so ``2`` is not written as
    ``2.0``; strings stay strings (params are text as logged); mixed columns stay objects.
    (The kind is inferred in C by pandas: the table of a large sweep has millions of cells.)
    """
    if name in ("start_time", "end_time"):
        return pd.Series(pd.to_datetime(values, utc=True), dtype="datetime64[ns, UTC]")
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind == "boolean":
        return pd.Series(values, dtype="boolean")
    if kind == "integer":
        try:
            return pd.Series(values, dtype="Int64")
        except (OverflowError, TypeError, ValueError):
            return pd.Series(values, dtype="object")
    if kind in ("floating", "mixed-integer-float") or (
            kind == "empty" and any(isinstance(v, float) for v in values)):  # NaN is a float
        return pd.Series([math.nan if v is None else v for v in values], dtype="float64")
    return pd.Series(values, dtype="object")
