"""Which tracking stores a command may use, and who may create one.

Two rules, one module:

- **The reading commands never create or change a store** (:func:`require_store`):
  ``export``, ``report``, ``flatten`` and ``sync`` (and the library's ``export_sweep``)
  read a store that is there. MLflow's own client would create what it is pointed at: a
  sqlite URI whose file is missing gets its directories and a new database, a 0-byte
  file or any other non-MLflow file becomes a fresh MLflow database, a missing
  ``file:`` store directory is created with a ``Default`` experiment. So before any
  MLflow call those commands check, read-only, that the store exists and is an MLflow
  one, and stop with :class:`~mlflow_sweep_plugin.errors.NoTrackingStore` (exit 3,
  "no tracking store at <URI without credentials>") when it is not. A URI whose scheme
  MLflow does not know is a usage error (exit 2) for every command
  (:func:`check_scheme`).
- **The writing side creates stores, once** (:func:`ensure_sqlite_store`): ``demo``,
  the logging API, the sweep backend and the Hydra callback create the store they are
  pointed at, as MLflow does.
"""

from __future__ import annotations

import os
import sqlite3
from urllib.parse import quote, unquote, urlsplit

from mlflow.tracking import MlflowClient

from .errors import NoTrackingStore, UsageError
from .failures import require_reachable
from .uri import redact_uri, resolve_tracking_uri

#: tables every MLflow sqlite database has (the schema's own and alembic's version)
_MLFLOW_TABLES = ("experiments", "alembic_version")


def check_scheme(uri: str) -> None:
    """:class:`UsageError` when MLflow has no tracking store for ``uri``'s scheme
    (``foo://bar``): exit 2 naming the URI, not MLflow's traceback."""
    try:
        from mlflow.tracking._tracking_service.utils import _tracking_store_registry as registry  # private API
    except ImportError:  # pragma: no cover - other MLflow layouts: the first call tells
        return
    try:
        registry.get_store_builder(uri)
    except Exception as exc:  # noqa: BLE001 - unknown scheme, or a database URI MLflow cannot parse
        schemes = sorted(s for s in getattr(registry, "_registry", {}) if s)
        hint = f"; MLflow knows: {', '.join(schemes)}" if schemes else ""
        reason = type(exc).__name__ if schemes else str(exc).strip()
        raise UsageError(f"unsupported tracking URI {redact_uri(uri)} ({reason}){hint}") from None


def sqlite_path(uri: str | None) -> str | None:
    """The database file of a ``sqlite:`` URI (absolute, as MLflow would open it), ``""``
    for an in-memory database, None for any other store."""
    if not uri or not uri.lower().startswith("sqlite"):
        return None
    try:
        from sqlalchemy.engine.url import make_url  # heavy: only for a sqlite URI

        url = make_url(uri)
    except Exception:  # noqa: BLE001 - not a URL sqlalchemy can read: check_scheme says so
        return None
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return ""  # in memory, or sqlite's own URI syntax: nothing on disk to check here
    return os.path.abspath(database)


def file_store_path(uri: str | None) -> str | None:
    """The directory of a local ``file:`` (or plain-path) tracking store, else None."""
    if not uri or uri in ("databricks", "databricks-uc", "uc"):
        return None
    parsed = urlsplit(uri)
    scheme = parsed.scheme.lower()
    if len(scheme) == 1 and os.name == "nt":  # pragma: no cover - C:\\path
        return os.path.abspath(uri)
    if scheme == "":
        return os.path.abspath(uri)
    if scheme == "file" and parsed.netloc in ("", "localhost"):
        return os.path.abspath(unquote(parsed.path))
    return None


def _not_mlflow_database(path: str) -> str | None:
    """Why the file at ``path`` is not an MLflow sqlite database, None when it is one.
    Opened read-only (``mode=ro``): nothing is created or written."""
    if os.path.isdir(path):
        return f"{path} is a directory"
    if os.path.getsize(path) == 0:
        return f"{path} is an empty file"
    try:
        con = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error as exc:
        return f"{path} cannot be opened ({exc})"
    try:
        rows = con.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN "
                           f"({', '.join('?' for _ in _MLFLOW_TABLES)})", _MLFLOW_TABLES).fetchall()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return None  # a writer holds it: a database, being written (MLflow will wait)
        return f"{path} is not an SQLite database ({exc})"
    except sqlite3.DatabaseError as exc:  # "file is not a database"
        return f"{path} is not an SQLite database ({exc})"
    finally:
        con.close()
    missing = set(_MLFLOW_TABLES) - {name for (name,) in rows}
    if missing:
        return f"{path} is an SQLite database without MLflow's tables ({', '.join(sorted(missing))})"
    return None


def require_store(uri: str) -> str:
    """``uri`` when it names a tracking store that exists; raises
    :class:`NoTrackingStore` (exit 3) when it is a sqlite database that is missing or not
    an MLflow one, or a ``file:`` store directory that is missing, and
    :class:`UsageError` (exit 2) for a scheme MLflow does not know. Changes nothing on
    disk. Remote stores (HTTP, SQL servers, Databricks) are checked by their first call."""
    check_scheme(uri)
    path = sqlite_path(uri)
    if path:
        reason = (f"{path} does not exist" if not os.path.lexists(path)
                  else _not_mlflow_database(path))
        if reason:
            raise NoTrackingStore(f"no tracking store at {redact_uri(uri)}: {reason} "
                                  "(this command reads a store; it never creates one)")
        return uri
    directory = file_store_path(uri)
    if directory is not None and not os.path.isdir(directory):
        raise NoTrackingStore(f"no tracking store at {redact_uri(uri)}: {directory} is not a "
                              "directory (this command reads a store; it never creates one)")
    return uri


# -- the writing side: a fresh sqlite store under concurrent writers ---------------------------

#: sqlite files this process has initialised (or seen initialised) under the lock
_READY: set = set()


def lock_path(path: str) -> str:
    """The lock file beside a sqlite database: ``<db>.lock``."""
    return path + ".lock"


def require_writable_sqlite(uri: str | None) -> None:
    """A :class:`UsageError` (exit 2) when ``uri`` is a sqlite store that cannot be
    written: its file, or the directory that holds or would hold it, is read-only
    (a read-only file system, no permission). Told at once, not after sqlite's minutes
    of retrying a locked, unwritable database."""
    path = sqlite_path(uri)
    if not path:
        return
    place = os.path.dirname(os.path.abspath(path))
    while not os.path.isdir(place) and os.path.dirname(place) != place:
        place = os.path.dirname(place)  # the nearest directory that exists: it would hold the new ones
    unwritable = place if not os.access(place, os.W_OK) else None
    if os.path.exists(path) and not os.access(path, os.W_OK):
        unwritable = path
    if unwritable:
        raise UsageError(f"the sqlite store {redact_uri(uri)} cannot be written ({unwritable} is read-only): "
                         "give --tracking-uri a writable place")


def ensure_sqlite_store(uri: str | None) -> None:
    """Create (or open) the sqlite store of ``uri`` once, under an exclusive
    ``fcntl.flock`` on ``<db>.lock`` beside it, before any writer of this process uses it.

    Why: MLflow creates a sqlite store by running its schema migrations in the first
    process that opens it. Processes starting at once on a new file (a ``max_parallel``
    sweep, a joblib launcher, 8 jobs on ``sqlite:///mlflow.db``) each see an empty
    database and all migrate it: runs fail, and the file can be left unopenable
    ("table _alembic_tmp_experiments already exists"). Under the lock the first process
    migrates; the others wait, then find the tables and only open it. Once per file and
    process (MLflow keeps the opened store); other stores, and systems without ``fcntl``,
    are left to MLflow. Errors are MLflow's (the caller decides whether that is "offline").
    """
    path = sqlite_path(uri)
    if not path or (path in _READY and os.path.exists(path)):
        return
    try:
        import fcntl  # POSIX only
    except ImportError:  # pragma: no cover - Windows: no cross-process lock here
        return
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fh = open(lock_path(path), "a")  # noqa: SIM115 - held for the block below
    except OSError:  # a read-only place: nothing can be created there, nothing to race
        return
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        # opening the store runs MLflow's migrations when the file is new, else checks them;
        # MLflow keeps the store per URI, so the writer's own client opens no second one
        MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
        _READY.add(path)
    finally:
        fh.close()  # closing releases the lock


def readable_store(tracking_uri: str | None) -> str:
    """The store a reading command reads: ``tracking_uri`` (else ``$MLFLOW_TRACKING_URI``,
    else MLflow's default) resolved, there (:func:`require_store`: never created, exit 3)
    and answering (:func:`~mlflow_sweep_plugin.failures.require_reachable`: a SQL server
    that does not is exit 3 in seconds). Returns the URI."""
    uri = require_store(resolve_tracking_uri(tracking_uri))
    require_reachable(uri)
    return uri
