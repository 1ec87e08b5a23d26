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

On top of the run entries, two memos make a repeated export of an unchanged sweep cost
little more than listing its runs:

- **tables**: the finished DataFrame (:mod:`.frames`), keyed by a digest of every run's
  entry key, listing fingerprint and payload plus the run columns the table shows
  (name, times, params, metrics). It is only consulted after every run's entry was
  validated as above, so it is exactly as fresh as the entries.
- **outputs**: the bytes of the file last written from such a table, per format,
  spreadsheet option and pandas/pyarrow version.

Both keep only the :data:`KEEP_TABLES` most recent tables (and their outputs).
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
SCHEMA = 2
FILENAME = "export-cache-v2.sqlite3"
#: how many memoised tables (with their written outputs) are kept
KEEP_TABLES = 8
#: the largest written output kept (bigger files are written afresh each time)
MAX_OUTPUT_BYTES = 256 * 1024 * 1024
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


# --- values as JSON: records after table.scalar() are JSON scalars or datetimes (the table
# memo in frames.py tags its object columns the same way)
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


def encode_warnings(warnings: list) -> str:
    """A run's artifact warnings, kept beside its payload: they are replayed in run
    order as the export goes, before (and without) decoding the rows."""
    return json.dumps([[w.path, w.message, w.parser] for w in warnings], ensure_ascii=False)


def decode_payload(blob: bytes) -> dict:
    doc = json.loads(zlib.decompress(blob))
    if doc.get("tagged"):
        doc["records"] = [{k: decode_value(v) for k, v in rec.items()} for rec in doc["records"]]
    return doc


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

    def get(self, key: str):
        """(fingerprint, scope, warnings, manifest or None, payload bytes) or None."""
        row = self._one("SELECT fingerprint, scope, warnings, manifest, payload FROM entries WHERE key = ?", key)
        if row is None:
            return None
        try:
            manifest = None if row[3] is None else json.loads(row[3])
            return row[0], json.loads(row[1]), json.loads(row[2]), manifest, row[4]
        except (TypeError, ValueError):
            return None

    def put(self, key: str, run_id: str, fingerprint: str, scope: dict, warnings: str, manifest: dict | None,
            payload: bytes) -> None:
        """Store a run's entry; ``manifest`` is the reader's quick check (local stores)."""
        self._write("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (key, run_id, fingerprint, json.dumps(scope), warnings, _manifest_json(manifest), payload,
                     time.time()))

    def set_manifest(self, key: str, manifest: dict | None) -> None:
        """A run's listing changed in a way its rows do not see (a file no pattern matches):
        its quick check is renewed so the next export need not list it again."""
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
