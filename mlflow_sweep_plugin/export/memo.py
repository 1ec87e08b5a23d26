"""The whole table, and the file written from it, of an export whose every run was a
valid cache hit: memoised.

Why this exists (measured, ``benchmarks/bench_export.py`` and the README's performance
section): a warm export of an unchanged sweep spends most of its time turning cached
rows back into Python objects, those into columns, and those into CSV text. With every
run's entry validated (:mod:`.cache`), the table is a pure function of those entries and
of the run columns it shows, so it is kept whole. At 10,000 runs x 3 records, a warm CSV
export in a fresh process takes 1.45-1.6x as long without the memos (Parquet 1.16-1.2x,
500 runs 1.03-1.13x): the time a researcher waits each time an unchanged sweep is
exported again while it is analysed.

- **tables**: the DataFrame, stored column by column (numbers as raw little-endian
  arrays, text as JSON with tagged datetimes). Never pickle: the cache file is
  user-writable, and decoding it must not run code. Only the dtypes :mod:`.table`
  produces are handled; anything else is simply not memoised.
- **outputs**: the bytes of the file last written from such a table, per format,
  spreadsheet option and pandas/pyarrow versions.

The key hashes, in run order, each run's entry key, listing fingerprint and rows, its
name, start time, experiment and metrics, plus what shapes the table (experiment names,
``--tag`` columns, ``--include``). The :data:`~.cache_store.KEEP_TABLES` newest tables
(and their outputs) are kept.
"""

from __future__ import annotations

import hashlib
import json
import struct
from datetime import date

import numpy as np
import pandas as pd
import pyarrow

from .cache_store import decode_value, encode_value
from .writers import write_bytes, write_table

MAGIC = b"MSWF1\n"
_LEN = struct.Struct("<I")


class _Unencodable(Exception):
    pass


def _tag(value):
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, date):  # datetimes too
        return encode_value(value)
    raise _Unencodable(type(value).__name__)


def encode_frame(df) -> bytes | None:
    """The frame as bytes, or None when it holds something this codec cannot keep exact."""
    if not isinstance(df.index, pd.RangeIndex) or df.index.start != 0 or df.index.step != 1:
        return None
    if not df.columns.is_unique or not all(isinstance(c, str) for c in df.columns):
        return None
    header: list = []
    buffers: list[bytes] = []
    try:
        for name in df.columns:
            col = df[name]
            dtype = str(col.dtype)
            if dtype == "float64":
                parts = [col.to_numpy(dtype="<f8").tobytes()]
                kind = "f8"
            elif dtype == "Int64":
                parts = [col.to_numpy(dtype="<i8", na_value=0).tobytes(), col.isna().to_numpy().tobytes()]
                kind = "Int64"
            elif dtype == "boolean":
                parts = [col.to_numpy(dtype=bool, na_value=False).tobytes(), col.isna().to_numpy().tobytes()]
                kind = "boolean"
            elif dtype == "datetime64[ns, UTC]":
                parts = [np.asarray(col.array.asi8, dtype="<i8").tobytes()]
                kind = "dt"
            elif dtype == "object":
                text = json.dumps([_tag(v) for v in col.tolist()], ensure_ascii=False, allow_nan=True)
                parts = [text.encode("utf-8")]
                kind = "obj"
            else:
                return None
            header.append([name, kind, [len(p) for p in parts]])
            buffers.extend(parts)
    except (_Unencodable, TypeError, ValueError, OverflowError):
        return None
    head = json.dumps({"rows": len(df), "columns": header, "captures": list(df.attrs.get("captures", []))},
                      ensure_ascii=False).encode("utf-8")
    return b"".join([MAGIC, _LEN.pack(len(head)), head, *buffers])


def decode_frame(blob: bytes):
    """The DataFrame :func:`encode_frame` stored; raises ValueError on anything else."""
    view = memoryview(blob)
    if bytes(view[:len(MAGIC)]) != MAGIC:
        raise ValueError("not a stored frame")
    pos = len(MAGIC)
    (n_head,) = _LEN.unpack_from(view, pos)
    pos += _LEN.size
    head = json.loads(bytes(view[pos:pos + n_head]))
    pos += n_head
    rows = head["rows"]
    data = {}
    for name, kind, sizes in head["columns"]:
        parts = []
        for size in sizes:
            parts.append(view[pos:pos + size])
            pos += size
        if kind == "f8":
            series = np.frombuffer(parts[0], dtype="<f8").astype(np.float64)  # a copy: writable
        elif kind == "Int64":
            series = pd.Series(pd.arrays.IntegerArray(np.frombuffer(parts[0], dtype="<i8").astype("int64"),
                                                      np.frombuffer(parts[1], dtype=bool).copy()))
        elif kind == "boolean":
            series = pd.Series(pd.arrays.BooleanArray(np.frombuffer(parts[0], dtype=bool).copy(),
                                                      np.frombuffer(parts[1], dtype=bool).copy()))
        elif kind == "dt":
            ns = np.frombuffer(parts[0], dtype="<i8").astype("int64").view("M8[ns]")
            series = pd.Series(pd.DatetimeIndex(ns).tz_localize("UTC"), dtype="datetime64[ns, UTC]")
        elif kind == "obj":
            text = bytes(parts[0]).decode("utf-8")
            values = json.loads(text)
            if '{"$d' in text:
                values = [decode_value(v) for v in values]
            series = pd.Series(values, dtype="object")
        else:
            raise ValueError(f"unknown column kind {kind!r}")
        if len(series) != rows:
            raise ValueError("stored frame is truncated")
        data[name] = series
    if pos != len(blob):
        raise ValueError("stored frame has trailing bytes")
    df = pd.DataFrame(data, columns=[c[0] for c in head["columns"]])
    if "captures" in head:
        df.attrs["captures"] = list(head["captures"])
    return df


class TableMemo:
    """One export's memo: fed every outcome in run order (:meth:`add`), it answers the
    finished table when every run was a hit (:meth:`lookup`), keeps a new one
    (:meth:`store`), and writes its file from the bytes written last time (:meth:`write`).
    ``stats`` records ``table_memo`` (``"hit"``/``"stored"``) and ``output_memo``."""

    def __init__(self, cache, session_key: str, shape: object, stats: dict):
        self.cache = cache
        self.stats = stats
        self._h = hashlib.sha256(f"{MAGIC!r}\0{session_key}\0{shape!r}".encode("utf-8", "surrogateescape"))
        self.active = True   # every run so far was a hit
        self.key: str | None = None

    def add(self, outcome) -> None:
        if not outcome.from_cache:
            self.active = False
        if not self.active:
            return
        h = self._h
        for part in (outcome.cache_key, outcome.fingerprint):
            h.update(part.encode())
            h.update(b"\0")
        h.update(outcome.doc)
        run = outcome.run
        info = run.info  # status, end time, params and tags are in the entry's key already
        h.update(repr((getattr(info, "run_name", None), info.start_time, info.experiment_id,
                       sorted(run.data.metrics.items()))).encode("utf-8", "surrogateescape"))

    def lookup(self, n_runs: int):
        """The memoised DataFrame, or None (and no key when not every run was a hit)."""
        if not (self.active and n_runs):
            return None
        self.key = self._h.hexdigest()
        blob = self.cache.get_table(self.key)
        if blob is None:
            return None
        try:
            df = decode_frame(blob)
        except Exception:  # noqa: BLE001 - a bad memo is a miss
            return None
        self.stats["table_memo"] = "hit"
        return df

    def store(self, df) -> None:
        if self.key is None:
            return
        blob = encode_frame(df)
        if blob is None:
            self.key = None
            return
        self.cache.put_table(self.key, blob)
        self.stats["table_memo"] = "stored"

    def write(self, df, path: str, fmt: str, spreadsheet_safe: bool) -> None:
        """Write the table; when it is a memoised one whose file was written before with
        the same options, write those bytes again."""
        if self.key is None:
            write_table(df, path, fmt, spreadsheet_safe)
            return
        key = hashlib.sha256(repr((self.key, fmt, bool(spreadsheet_safe), pd.__version__,
                                   pyarrow.__version__)).encode()).hexdigest()
        data = self.cache.get_output(key)
        if data is not None:
            write_bytes(path, data)
            self.stats["output_memo"] = "hit"
            return
        write_table(df, path, fmt, spreadsheet_safe)
        self.cache.put_output(key, self.key, path)
