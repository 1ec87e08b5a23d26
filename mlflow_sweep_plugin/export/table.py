"""Rows -> one tidy table: run columns, params, metrics, chosen tags, then record columns.

The column order depends on which columns there are and which params vary, never on
which run came first, so two exports of the same sweep have the same header. Rows are
in run order, except that a sweep's children are shown together in the order the
sweep ran them (``sweep_index``).
"""

from __future__ import annotations

import collections
import json
import math
import re
from datetime import datetime, timezone

import pandas as pd

from ..tags import CONFIG_PREFIX, ROLE_CHILD, TAG_ROLE, TAG_SWEEP_ID, TAG_SWEEP_INDEX
from .cache_store import decode_payload

RUN_COLUMNS = ("run_id", "run_name", "experiment_name", "start_time", "end_time", "status")
#: a sweep child's job number / grid point (only when the table has sweep children)
SWEEP_INDEX = "sweep_index"
TAG_COLUMN = "tags.{}"
_NUM = re.compile(r"(\d+)")


def natural_key(name: str):
    """``cluster_2_x`` sorts before ``cluster_10_x``."""
    return [(0, int(tok), "") if tok.isdigit() else (1, 0, tok) for tok in _NUM.split(name) if tok]


def ms_to_datetime(ms):
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000.0, tz=timezone.utc)


def sweep_index(run) -> int | None:
    """A sweep child's index (its job number or grid point), else None."""
    tags = run.data.tags
    if tags.get(TAG_ROLE) != ROLE_CHILD:
        return None
    try:
        return int(tags[TAG_SWEEP_INDEX])
    except (KeyError, ValueError):
        return None


def run_columns(run, experiment_names=None) -> dict:
    info = run.info
    return {
        "run_id": info.run_id,
        "run_name": getattr(info, "run_name", None) or run.data.tags.get("mlflow.runName"),
        "experiment_name": (experiment_names or {}).get(getattr(info, "experiment_id", None),
                                                        getattr(info, "experiment_id", None)),
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
    """Accumulates rows run by run; :meth:`frame` returns the DataFrame.

    ``experiment_names`` maps experiment ids to the names shown in ``experiment_name``;
    ``tag_keys`` are run tags shown as ``tags.<key>`` columns (``--tag``).
    """

    def __init__(self, experiment_names: dict | None = None, tag_keys=()):
        self.experiment_names = dict(experiment_names or {})
        self.tag_keys = list(dict.fromkeys(tag_keys))
        self.rows: list[dict] = []
        self.capture_cols: dict[str, None] = {}
        self.record_cols: set[str] = set()
        self.param_names: set[str] = set()
        self.metric_names: set[str] = set()
        self._param_values: dict[str, set] = {}
        self._param_runs: collections.Counter = collections.Counter()
        self._runs = 0
        self._sweep_first: dict[str, int] = {}  # sweep id -> position of its first child
        self._runs_added: list = []  # (run cells, (records, captures) or None, cached JSON or None)

    def add_cached(self, run, doc: bytes):
        """Add a cache hit's rows, still as the entry's JSON text: parsed only if the
        table is built (:meth:`frame`), not when the export's table is memoised."""
        self._add(run, None, doc)

    def add_run(self, run, records: list[dict], captures_order=(), clean: bool = False):
        """Add one run's rows; ``clean=True`` when records hold table cells already
        (:func:`scalar` applied, string keys), as the exporter's do."""
        if not clean:
            records = [{str(k): scalar(v) for k, v in rec.items()} for rec in records]
        self._add(run, (records, list(captures_order)), None)

    def _add(self, run, rows, doc):
        base = run_columns(run, self.experiment_names)
        tags = run.data.tags
        for key in self.tag_keys:
            base[TAG_COLUMN.format(key)] = tags.get(key)
        index = sweep_index(run)
        position = self._runs
        if index is not None:
            base[SWEEP_INDEX] = index
            # a sweep's children are shown together, in the order the sweep ran them
            position = self._sweep_first.setdefault(tags.get(TAG_SWEEP_ID, ""), position)
        order = (position, -1 if index is None else index, self._runs)
        self._runs += 1
        params = dict(run.data.params)
        metrics = {f"metrics.{k}": v for k, v in run.data.metrics.items()}
        self.param_names.update(params)
        self._count_values(params)
        self.metric_names.update(metrics)
        self._runs_added.append(({"__base": base, "__params": params, "__metrics": metrics, "__order": order},
                                 rows, doc))

    def _expand(self) -> None:
        """Every run's rows, in the order the runs were added (cached ones parsed now)."""
        for shared, rows, doc in self._runs_added:
            if doc is not None:
                parsed = decode_payload(doc, packed=False)
                rows = (parsed["records"], parsed["captures"])
            records, captures = rows
            for c in captures:
                self.capture_cols.setdefault(c, None)
            if not records:
                self.rows.append(dict(shared, __rec={}))
            for cells in records:
                self.record_cols.update(cells)
                self.rows.append(dict(shared, __rec=cells))
        self._runs_added = []

    def _count_values(self, params: dict) -> None:
        for name, value in params.items():
            values = self._param_values.setdefault(name, set())
            if len(values) < 2:  # two distinct values are enough to call it varied
                values.add(value)
            self._param_runs[name] += 1

    def varied_params(self) -> set[str]:
        """Params with more than one value across the runs (absent from a run counts)."""
        return {name for name, values in self._param_values.items()
                if len(values) > 1 or self._param_runs[name] < self._runs}

    def columns(self) -> tuple[list[str], dict[str, str]]:
        """Final column order and the param -> column name mapping: run columns, params
        (the ones that vary across the runs first, then constant ones, then flattened
        ``config.*``), metrics, chosen tags, then the records' columns (captures first)."""
        self._expand()
        record_cols = [c for c in self.capture_cols if c in self.record_cols]
        record_cols += sorted((c for c in self.record_cols if c not in self.capture_cols), key=natural_key)
        tag_cols = [TAG_COLUMN.format(k) for k in self.tag_keys]
        taken = set(RUN_COLUMNS) | {SWEEP_INDEX} | set(record_cols) | self.metric_names | set(tag_cols)
        param_col = {p: (f"params.{p}" if p in taken else p) for p in self.param_names}
        varied = self.varied_params()

        def param_rank(p):
            return (2 if p.startswith(CONFIG_PREFIX + ".") else 0 if p in varied else 1, natural_key(param_col[p]))

        cols = list(RUN_COLUMNS)
        if self._sweep_first:
            cols.insert(cols.index("experiment_name") + 1, SWEEP_INDEX)
        cols += [param_col[p] for p in sorted(self.param_names, key=param_rank)]
        cols += sorted(self.metric_names, key=natural_key)
        cols += tag_cols
        cols += record_cols
        return cols, param_col

    def frame(self):
        self._expand()
        cols, param_col = self.columns()
        rows = sorted(self.rows, key=lambda r: r["__order"]) if self._sweep_first else self.rows
        data = {c: [None] * len(rows) for c in cols}
        for i, row in enumerate(rows):
            for k, v in row["__base"].items():
                data[k][i] = v
            for k, v in row["__params"].items():
                data[param_col[k]][i] = v
            for k, v in row["__metrics"].items():
                data[k][i] = v
            for k, v in row["__rec"].items():
                data[k][i] = v
        df = pd.DataFrame({c: _column(data[c], c) for c in cols}, columns=cols)
        # the captures of the patterns that matched a file of these runs (reports group by them)
        df.attrs["captures"] = [c for c in self.capture_cols if c in self.record_cols]
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
