"""On-disk cache of parsed records for runs that have ended.

Why: a sweep is exported again and again while it is analysed, and its ended runs do
not change; re-downloading and re-parsing them is most of an export's cost.

What makes an entry valid (anything else is a miss, never a stale row):

- the **key**: tracking store, run id, artifact URI, status, end time, a digest of the
  run's params and tags, and the parsers' :attr:`Parser.cache_key` (plugin, plugin
  version, parser name, version, pattern) plus this package's version and cache schema;
- the **listing fingerprint** stored with the entry: every path the patterns can match
  with its size (and mtime for local stores), plus any directory a parser read from
  outside its pattern. It is re-listed and compared on every hit, so an artifact logged
  or rewritten after the run ended is re-read. (Remote stores give sizes but no mtimes:
  a same-size rewrite there is only seen with ``--refresh``.)

Only runs whose status is FINISHED, FAILED or KILLED are cached, and only when every
file could be read (a network error is not remembered; a malformed file is, with its
warning). The store is one SQLite file (WAL; safe for concurrent exports), rows hold
zlib-compressed JSON — no pickle.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
import zlib
from datetime import date, datetime

ENDED = frozenset({"FINISHED", "FAILED", "KILLED"})
SCHEMA = 1
FILENAME = "export-cache-v1.sqlite3"
ENV_DIR = "MLFLOW_SWEEP_CACHE_DIR"


def default_cache_dir() -> str:
    """``$MLFLOW_SWEEP_CACHE_DIR``, else the user cache dir (platformdirs)."""
    env = os.environ.get(ENV_DIR)
    if env:
        return os.path.abspath(os.path.expanduser(env))
    try:
        import platformdirs

        return platformdirs.user_cache_dir("mlflow-sweep", appauthor=False)
    except ImportError:  # pragma: no cover - platformdirs is a dependency
        return os.path.join(os.path.expanduser("~"), ".cache", "mlflow-sweep")


def store_identity(tracking_uri: str | None) -> str:
    """The tracking store as a cache-key component: credentials dropped, local paths
    made absolute (``sqlite:///mlflow.db`` means different stores in different dirs)."""
    from ..uri import redact_uri

    uri = tracking_uri or ""
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        path = uri[len("sqlite:///"):]
        if path and path != ":memory:":
            uri = "sqlite:///" + os.path.abspath(path)
    elif uri and "://" not in uri:
        uri = os.path.abspath(uri)
    elif uri.startswith("file:"):
        from .artifacts import local_path_of

        local = local_path_of(uri)
        if local:
            uri = "file://" + os.path.abspath(local)
    return redact_uri(uri)


def parsers_key(parsers) -> str:
    """Changes whenever any selected parser (or this package) may yield other rows."""
    from .. import __version__

    keys = sorted(p.cache_key for p in parsers)
    text = "\n".join([f"schema={SCHEMA}", f"core={__version__}", *keys])
    return hashlib.sha256(text.encode()).hexdigest()


def run_key(store_id: str, run, parsers_digest: str) -> str:
    """The key of one run's entry (see the module docstring)."""
    info, data = run.info, run.data
    h = hashlib.sha256()
    for part in (store_id, info.run_id, info.artifact_uri or "", info.status or "",
                 str(info.end_time), parsers_digest):
        h.update(str(part).encode("utf-8", "surrogateescape"))
        h.update(b"\0")
    h.update(repr((sorted(data.params.items()), sorted(data.tags.items()))).encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def cacheable(run) -> bool:
    return run.info.status in ENDED and run.info.end_time is not None


# --- payload encoding: records after table.scalar(), so values are JSON scalars or datetimes
def _encode_value(v):
    if isinstance(v, datetime):
        return {"$dt": v.isoformat()}
    if isinstance(v, date):
        return {"$date": v.isoformat()}
    return v


def _decode_value(v):
    if isinstance(v, dict):
        if "$dt" in v:
            return datetime.fromisoformat(v["$dt"])
        if "$date" in v:
            return date.fromisoformat(v["$date"])
    return v


def encode_payload(records: list[dict], captures: list, warnings: list) -> bytes:
    tagged = any(isinstance(v, date) for rec in records for v in rec.values())
    doc = {
        "tagged": tagged,
        "records": [{k: _encode_value(v) for k, v in rec.items()} for rec in records] if tagged else records,
        "captures": list(captures),
        "warnings": [[w.path, w.message, w.parser] for w in warnings],
    }
    return zlib.compress(json.dumps(doc, ensure_ascii=False, allow_nan=True).encode("utf-8"), 1)


def decode_payload(blob: bytes) -> dict:
    doc = json.loads(zlib.decompress(blob))
    if doc.get("tagged"):
        doc["records"] = [{k: _decode_value(v) for k, v in rec.items()} for rec in doc["records"]]
    return doc


class ExportCache:
    """The SQLite-backed cache; thread-safe; every failure degrades to a miss."""

    def __init__(self, directory: str | None = None):
        self.directory = os.path.abspath(directory) if directory else default_cache_dir()
        self.path = os.path.join(self.directory, FILENAME)
        self._lock = threading.Lock()
        self._pending = 0
        self.error: str | None = None
        self.hits = 0
        self.misses = 0
        self.stores = 0
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
                       "fingerprint TEXT, scope TEXT, payload BLOB, stored REAL)")
            db.execute("SELECT count(*) FROM entries WHERE key = ''").fetchone()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    @property
    def enabled(self) -> bool:
        return self._db is not None

    def get(self, key: str):
        """(fingerprint, scope, payload bytes) or None."""
        if self._db is None:
            return None
        try:
            with self._lock:
                row = self._db.execute("SELECT fingerprint, scope, payload FROM entries WHERE key = ?",
                                       (key,)).fetchone()
        except sqlite3.Error as exc:
            self._fail(exc)
            return None
        if row is None:
            return None
        try:
            return row[0], json.loads(row[1]), row[2]
        except ValueError:
            return None

    def put(self, key: str, run_id: str, fingerprint: str, scope: dict, payload: bytes) -> None:
        if self._db is None:
            return
        try:
            with self._lock:
                if self._pending == 0:
                    self._db.execute("BEGIN")
                self._db.execute("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?)",
                                 (key, run_id, fingerprint, json.dumps(scope), payload, time.time()))
                self._pending += 1
                self.stores += 1
                if self._pending >= 500:
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
