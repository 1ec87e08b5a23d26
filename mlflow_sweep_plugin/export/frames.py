"""An exact, pickle-free binary form of the export's DataFrame, for the cache.

Why: a warm export of an unchanged sweep spends most of its time turning cached rows
back into Python objects and those into columns. Storing the finished table column by
column (numbers as raw little-endian arrays, text as JSON) makes it a few memory copies.

Only the dtypes :mod:`.table` produces are handled (float64, Int64, boolean,
datetime64[ns, UTC], object holding JSON scalars and datetimes); anything else makes
:func:`encode_frame` return None and the table is simply not memoised. Never pickle:
the cache file is user-writable, and decoding it must not run code.
"""

from __future__ import annotations

import json
import struct
from datetime import date

from .cache import decode_value, encode_value

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
    import numpy as np
    import pandas as pd

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
    head = json.dumps({"rows": len(df), "columns": header}, ensure_ascii=False).encode("utf-8")
    return b"".join([MAGIC, _LEN.pack(len(head)), head, *buffers])


def decode_frame(blob: bytes):
    """The DataFrame :func:`encode_frame` stored; raises ValueError on anything else."""
    import numpy as np
    import pandas as pd

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
    return pd.DataFrame(data, columns=[c[0] for c in head["columns"]])
