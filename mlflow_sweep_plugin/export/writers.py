"""Write the table as CSV, Parquet, JSON or JSON Lines, atomically.

Values round-trip exactly: floats are written with ``repr`` precision, strings as
logged (``=x`` stays ``=x``). ``spreadsheet_safe=True`` is the opt-in for files meant
for Excel or Sheets: text cells that a spreadsheet would run as a formula get a
leading apostrophe.

Interrupted writes leave nothing behind for long: the table is written to
``.<name>.<random>.tmp`` beside the output and renamed into place; a write killed
before the rename (SIGKILL, a lost node) leaves that temp file, and the next write to
the same path removes every temp file of that naming that is older than the current
process and that no writer holds (each writer holds an ``flock`` on its temp file until
the rename), so two exports writing one path at once never remove each other's.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import time
from datetime import datetime

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

FORMATS = ("csv", "parquet", "json", "jsonl")
_EXT = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".json": "json", ".jsonl": "jsonl",
        ".ndjson": "jsonl"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def format_for(path: str, fmt: str | None) -> str:
    if fmt:
        return fmt
    ext = os.path.splitext(path)[1].lower()
    return _EXT.get(ext, "csv")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def neutralize(value):
    """Prefix text a spreadsheet would evaluate (``=cmd()``, ``@SUM``) with ``'``."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _is_number(value):
        return "'" + value
    return value


def _is_text(column) -> bool:
    """A column that may hold text: object, or pandas' string dtypes (pandas 3 reads
    text as ``str``, not ``object``)."""
    return column.dtype == object or pd.api.types.is_string_dtype(column.dtype)


def neutralized(df):
    """``df`` with :func:`neutralize` applied to every text column (a copy)."""
    out = df.copy()
    for col in out.columns:
        if _is_text(out[col]):
            out[col] = out[col].map(neutralize)
    return out


def _iso(value):
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds")
    return value


def _prepare(df, spreadsheet_safe: bool):
    out = df.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].map(lambda ts: None if pd.isna(ts) else _iso(ts.to_pydatetime()))
        elif spreadsheet_safe and _is_text(out[col]):
            out[col] = out[col].map(neutralize)
    return out


def _json_cell(value):
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if hasattr(value, "item"):
        return _json_cell(value.item())
    if isinstance(value, pd.Timestamp):
        return _iso(value.to_pydatetime())
    return value


def _records(df):
    cols = list(df.columns)
    for row in df.itertuples(index=False, name=None):
        yield {c: _json_cell(v) for c, v in zip(cols, row)}


def _write_csv(df, path):
    df.to_csv(path, index=False, lineterminator="\n")


def _write_parquet(df, path):
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object:
            kinds = {type(v) for v in out[col] if v is not None and not (isinstance(v, float) and math.isnan(v))}
            if len(kinds) > 1 or (kinds and kinds != {str}):
                out[col] = out[col].map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
    table = pa.Table.from_pandas(out, preserve_index=False)
    # from_pandas turns float NaN into null; a NaN in the table (a failed fit, say) stays
    # a float NaN in the file. Ints, booleans, text and timestamps keep their nulls.
    for i, col in enumerate(out.columns):
        if out[col].dtype == "float64":
            table = table.set_column(i, table.field(i), pa.array(out[col].to_numpy(), type=pa.float64()))
    pq.write_table(table, path)


def _write_json(df, path):
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(list(_records(df)), fh, ensure_ascii=False)
        fh.write("\n")


def _write_jsonl(df, path):
    with open(path, "w", encoding="utf-8") as fh:
        for rec in _records(df):
            fh.write(json.dumps(rec, ensure_ascii=False))
            fh.write("\n")


def write_table(df, path: str, fmt: str | None = None, spreadsheet_safe: bool = False) -> str:
    """Write ``df`` to ``path`` through a temp file in the same directory and an atomic
    rename: an interrupted export never leaves a partial file. Returns the format used."""
    fmt = format_for(path, fmt)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    if fmt == "parquet":
        data = neutralized(df) if spreadsheet_safe else df.copy()
    else:
        data = _prepare(df, spreadsheet_safe)
    writer = {"csv": _write_csv, "parquet": _write_parquet, "json": _write_json, "jsonl": _write_jsonl}[fmt]
    _atomic(path, lambda tmp: writer(data, tmp))
    return fmt


def write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` as atomically as :func:`write_table` does (the export
    cache's copy of a file written before from the same table)."""
    def dump(tmp):
        with open(tmp, "wb") as fh:
            fh.write(data)

    _atomic(path, dump)


#: when this process started writing tables (no temp file of its own is older)
_STARTED = time.time()


def _temp_name_pattern(name: str) -> re.Pattern:
    """The names :func:`tempfile.mkstemp` gives our temp files for output ``name``:
    ``.<name>.`` + 8 random characters + ``.tmp``."""
    return re.compile(rf"\.{re.escape(name)}\.[a-z0-9_]{{8}}\.tmp")


def _lock(fd: int) -> bool:
    """An exclusive, non-blocking ``flock`` on ``fd``; False when another holds one
    (True where there is no ``fcntl``: the age rule alone decides)."""
    try:
        import fcntl  # POSIX only
    except ImportError:  # pragma: no cover - Windows
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def remove_stale_temps(path: str, started: float | None = None) -> list[str]:
    """Remove the temp files an interrupted write to ``path`` left beside it (see the
    module docstring): ``.<name>.<random>.tmp`` files older than ``started`` (default:
    when this process began writing) that no writer holds. Returns the removed paths;
    never raises."""
    directory = os.path.dirname(os.path.abspath(path))
    pattern = _temp_name_pattern(os.path.basename(path))
    started = _STARTED if started is None else started
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        try:
            if not entry.is_file(follow_symlinks=False) or entry.stat(follow_symlinks=False).st_mtime >= started:
                continue
            fd = os.open(entry.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            continue
        try:
            if _lock(fd):  # no writer holds it: the write that made it is gone
                os.unlink(entry.path)
                removed.append(entry.path)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


def _atomic(path: str, fill) -> None:
    """``fill(tmp)`` writes a temp file beside ``path``, which then replaces ``path``;
    stale temp files of earlier, interrupted writes to ``path`` are removed first."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        _lock(fd)  # held until the rename: a concurrent writer's cleanup leaves it alone
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would make the result private
        fill(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    finally:
        os.close(fd)
