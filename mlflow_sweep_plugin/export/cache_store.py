"""The export cache's file: one SQLite database of parsed run records, never pickle.

Why SQLite: one file under the user cache dir, safe for concurrent exports (WAL),
writes batched in transactions, and an unreadable or locked file degrades to a miss
instead of failing an export. Rows hold zlib-compressed JSON (datetimes tagged), so
decoding an entry cannot run code. What makes an entry valid is :mod:`.cache`'s job;
the ``tables`` and ``outputs`` it also keeps are :mod:`.memo`'s.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import zlib
from datetime import date, datetime
from typing import NamedTuple

import platformdirs

FILENAME = "export-cache-v2.sqlite3"
ENV_DIR = "MLFLOW_SWEEP_CACHE_DIR"
#: how many memoised tables (with their written outputs) are kept (see :mod:`.memo`)
KEEP_TABLES = 8
#: the largest written output kept (bigger files are written afresh each time)
MAX_OUTPUT_BYTES = 256 * 1024 * 1024


def default_cache_dir() -> str:
    """``$MLFLOW_SWEEP_CACHE_DIR``, else the user cache dir (platformdirs)."""
    env = os.environ.get(ENV_DIR)
    if env:
        return os.path.abspath(os.path.expanduser(env))
    return platformdirs.user_cache_dir("mlflow-sweep", appauthor=False)


class Entry(NamedTuple):
    """A stored run: its listing fingerprint and scope (:mod:`.cache`), its warnings as
    ``[path, message, parser]`` triples, its quick-check manifest and its rows."""

    fingerprint: str
    scope: dict
    warnings: list
    manifest: dict | None
    payload: bytes


# --- values as JSON: records after table.scalar() are JSON scalars or datetimes
def encode_value(v):
    if isinstance(v, datetime):
        return {"$dt": v.isoformat()}
    if isinstance(v, date):
        return {"$date": v.isoformat()}
    return v


def decode_value(v):
    if isinstance(v, dict):
        if "$dt" in v:
            return datetime.fromisoformat(v["$dt"])
        if "$date" in v:
            return date.fromisoformat(v["$date"])
    return v


def encode_payload(records: list[dict], captures: list) -> bytes:
    tagged = any(isinstance(v, date) for rec in records for v in rec.values())
    doc = {
        "tagged": tagged,
        "records": [{k: encode_value(v) for k, v in rec.items()} for rec in records] if tagged else records,
        "captures": list(captures),
    }
    return zlib.compress(json.dumps(doc, ensure_ascii=False, allow_nan=True).encode("utf-8"), 1)


def unpack_payload(blob: bytes) -> bytes:
    """An entry's rows as JSON text; raises on a damaged entry (zlib checks its adler32),
    so a hit can be trusted before its rows are parsed."""
    return zlib.decompress(blob)


def decode_payload(blob: bytes, packed: bool = True) -> dict:
    """``{"records": [...], "captures": [...]}`` of an entry (``packed=False``: of its
    :func:`unpack_payload` text)."""
    doc = json.loads(zlib.decompress(blob) if packed else blob)
    if doc.get("tagged"):
        doc["records"] = [{k: decode_value(v) for k, v in rec.items()} for rec in doc["records"]]
    return doc


def encode_warnings(warnings: list) -> str:
    """A run's artifact warnings, kept beside its rows and replayed on a hit."""
    return json.dumps([[w.path, w.message, w.parser] for w in warnings], ensure_ascii=False)


def _manifest_json(manifest: dict | None) -> str | None:
    return None if manifest is None else json.dumps(manifest, ensure_ascii=False)


class ExportCache:
    """The SQLite-backed cache; thread-safe; every failure degrades to a miss."""

    def __init__(self, directory: str | None = None):
        self.directory = os.path.abspath(directory) if directory else default_cache_dir()
        self.path = os.path.join(self.directory, FILENAME)
        self._lock = threading.Lock()
        self._pending = 0
        self.error: str | None = None
        self._db = None
        try:
            self._db = self._open()
        except (sqlite3.Error, OSError) as exc:
            self.error = f"{type(exc).__name__}: {exc}"

    def _open(self):
        os.makedirs(self.directory, exist_ok=True)
        try:
            return self._connect()
        except sqlite3.DatabaseError:
            # not a database (truncated, overwritten): set it aside, start afresh
            os.replace(self.path, f"{self.path}.corrupt-{int(time.time())}")
            return self._connect()

    def _connect(self):
        db = sqlite3.connect(self.path, timeout=10, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, run_id TEXT, "
                       "fingerprint TEXT, scope TEXT, warnings TEXT, manifest TEXT, payload BLOB, stored REAL)")
            db.execute("CREATE TABLE IF NOT EXISTS tables (key TEXT PRIMARY KEY, frame BLOB, stored REAL)")
            db.execute("CREATE TABLE IF NOT EXISTS outputs (key TEXT PRIMARY KEY, table_key TEXT, "
                       "data BLOB, stored REAL)")
            db.execute("SELECT count(*) FROM entries WHERE key = ''").fetchone()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    @property
    def enabled(self) -> bool:
        return self._db is not None

    def get(self, key: str) -> Entry | None:
        row = self._one("SELECT fingerprint, scope, warnings, manifest, payload FROM entries WHERE key = ?", key)
        if row is None:
            return None
        try:
            manifest = None if row[3] is None else json.loads(row[3])
            return Entry(row[0], json.loads(row[1]), json.loads(row[2]), manifest, row[4])
        except (TypeError, ValueError):
            return None

    def put(self, key: str, run_id: str, fingerprint: str, scope: dict, warnings: str, manifest: dict | None,
            payload: bytes) -> None:
        """Store a run's entry; ``manifest`` is its quick check (local stores)."""
        self._write("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (key, run_id, fingerprint, json.dumps(scope), warnings, _manifest_json(manifest), payload,
                     time.time()))

    def set_manifest(self, key: str, manifest: dict | None) -> None:
        """Renew an entry's quick check (its listing changed where no row looks)."""
        self._write("UPDATE entries SET manifest = ? WHERE key = ?", (_manifest_json(manifest), key))

    def get_table(self, key: str) -> bytes | None:
        row = self._one("SELECT frame FROM tables WHERE key = ?", key)
        return None if row is None else row[0]

    def put_table(self, key: str, frame: bytes) -> None:
        """Memoise a finished table; keeps the :data:`KEEP_TABLES` newest."""
        self._write("INSERT OR REPLACE INTO tables VALUES (?, ?, ?)", (key, frame, time.time()))
        self._write("DELETE FROM tables WHERE key NOT IN "
                    "(SELECT key FROM tables ORDER BY stored DESC LIMIT ?)", (KEEP_TABLES,))
        self._write("DELETE FROM outputs WHERE table_key NOT IN (SELECT key FROM tables)", ())
        self.flush()

    def get_output(self, key: str) -> bytes | None:
        row = self._one("SELECT data FROM outputs WHERE key = ?", key)
        return None if row is None else row[0]

    def put_output(self, key: str, table_key: str, path: str) -> None:
        """Keep the file at ``path`` (just written from table ``table_key``) unless it is
        bigger than :data:`MAX_OUTPUT_BYTES`."""
        try:
            if os.path.getsize(path) > MAX_OUTPUT_BYTES:
                return
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError:
            return
        self._write("INSERT OR REPLACE INTO outputs VALUES (?, ?, ?, ?)", (key, table_key, data, time.time()))
        self.flush()

    def _one(self, sql: str, key: str):
        if self._db is None:
            return None
        try:
            with self._lock:
                return self._db.execute(sql, (key,)).fetchone()
        except sqlite3.Error as exc:
            self._fail(exc)
            return None

    def _write(self, sql: str, args: tuple) -> None:
        """Writes are batched in one transaction (committed every 500, and on flush/close)."""
        if self._db is None:
            return
        try:
            with self._lock:
                if self._pending == 0:
                    self._db.execute("BEGIN")
                self._db.execute(sql, args)
                self._pending += 1
                if self._pending >= 500:
                    self._db.execute("COMMIT")
                    self._pending = 0
        except sqlite3.Error as exc:
            self._fail(exc)

    def flush(self) -> None:
        if self._db is None:
            return
        try:
            with self._lock:
                if self._pending:
                    self._db.execute("COMMIT")
                self._pending = 0
        except sqlite3.Error as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        self.error = f"{type(exc).__name__}: {exc}"
        db, self._db = self._db, None
        try:
            if db is not None:
                db.close()
        except sqlite3.Error:
            pass

    def close(self) -> None:
        if self._db is None:
            return
        with self._lock:
            try:
                if self._pending:
                    self._db.execute("COMMIT")
                self._pending = 0
                self._db.close()
            except sqlite3.Error as exc:
                self.error = f"{type(exc).__name__}: {exc}"
            self._db = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
