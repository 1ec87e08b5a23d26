"""Is the tracking store there? Answer in seconds, not minutes: the one reachability probe.

:func:`probe` asks an HTTP(S) server at ``<uri>/health`` (``sweep_run`` and ``sync``
before they start; ``MLFLOW_SWEEP_PROBE_TIMEOUT``, default 3 s) or connects once to a
SQL server store (:func:`probe_database`).

The SQL policy (:func:`probe_database`, :func:`require_reachable`): MLflow opens a
database store (``postgresql``, ``mysql``, ``mssql``) with 10 attempts and a growing
sleep between them, about 110 s before a store that is not there is an error. The
commands (``export``, ``flatten``, ``sync``, ``import-hydra``, ``report``) and
``sweep_run`` connect once first, through SQLAlchemy with the driver's connect timeout
(``MLFLOW_SWEEP_DB_CONNECT_TIMEOUT``, default 5 s); a store that does not answer is
exit 3 (``sweep_run``: the spool) within seconds, its URI told without credentials.
HTTP stores are left to their first call, which fails fast under
:func:`~mlflow_sweep_plugin.failures.fail_fast_http`.
"""

from __future__ import annotations

import os
import socket
import threading
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from ..errors import TrackingUnreachable, UsageError
from ..uri import redact_uri
from .classify import describe_error, is_unreachable

PROBE_TIMEOUT_ENV = "MLFLOW_SWEEP_PROBE_TIMEOUT"


def _float_env(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


def is_http(uri: str) -> bool:
    return urlsplit(uri or "").scheme in ("http", "https")


# -- SQL server stores --------------------------------------------------------------------

DB_CONNECT_TIMEOUT_ENV = "MLFLOW_SWEEP_DB_CONNECT_TIMEOUT"
DB_CONNECT_TIMEOUT = 5.0
#: the database stores MLflow opens through SQLAlchemy (sqlite is a local file)
DATABASE_SCHEMES = ("postgresql", "postgres", "mysql", "mssql")
_DEFAULT_PORTS = {"postgresql": 5432, "postgres": 5432, "mysql": 3306, "mssql": 1433}
#: driver -> the connect() argument that bounds its connection attempt, in seconds
_TIMEOUT_ARGS = {"psycopg2": "connect_timeout", "psycopg": "connect_timeout",
                 "psycopg2cffi": "connect_timeout", "pg8000": "timeout",
                 "pymysql": "connect_timeout", "mysqldb": "connect_timeout",
                 "mysqlconnector": "connection_timeout", "mariadbconnector": "connect_timeout",
                 "pyodbc": "timeout", "pymssql": "login_timeout"}


def is_database_uri(uri: str | None) -> bool:
    """Whether ``uri`` is a SQL server store (``postgresql://``, ``mysql+pymysql://``...)."""
    scheme = urlsplit(uri or "").scheme.lower()
    return scheme.split("+", 1)[0] in DATABASE_SCHEMES


def db_connect_timeout() -> float:
    """``$MLFLOW_SWEEP_DB_CONNECT_TIMEOUT`` seconds (default 5; at least 1)."""
    try:
        value = float(os.environ.get(DB_CONNECT_TIMEOUT_ENV, "") or DB_CONNECT_TIMEOUT)
    except ValueError:
        value = DB_CONNECT_TIMEOUT
    return max(1.0, value)


def _tcp_probe(uri: str, timeout: float) -> str | None:
    """Without the database's driver: can a TCP connection to its host and port be made?"""
    try:
        parts = urlsplit(uri)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None  # a local socket: nothing to probe here
    scheme = parts.scheme.lower().split("+", 1)[0]
    try:
        with socket.create_connection((host, port or _DEFAULT_PORTS.get(scheme, 0)), timeout=timeout):
            return None
    except OSError as exc:
        return describe_error(exc, 300)


def _sqlalchemy_probe(uri: str, timeout: float) -> str | None:
    """Connect once through SQLAlchemy with the driver's connect timeout; ``None`` when
    the connection was made, the reason when not. Raises ImportError when the driver
    (or SQLAlchemy) is not installed."""
    import sqlalchemy  # heavy, and needed only for a SQL server store
    from sqlalchemy.engine.url import make_url  # (the same)
    from sqlalchemy.exc import NoSuchModuleError  # (the same)
    from sqlalchemy.pool import NullPool  # (the same)

    try:
        url = make_url(uri)
    except Exception:  # noqa: BLE001 - a URI SQLAlchemy cannot read: MLflow will say so
        return None
    connect_args = {}
    try:
        driver = url.get_driver_name()
    except Exception:  # noqa: BLE001
        driver = ""
    arg = _TIMEOUT_ARGS.get(driver)
    if arg and arg not in url.query:
        connect_args[arg] = max(1, int(round(timeout)))
    try:
        engine = sqlalchemy.create_engine(url, poolclass=NullPool, connect_args=connect_args)
    except NoSuchModuleError as exc:
        raise ImportError(str(exc)) from None
    try:
        with engine.connect():
            return None
    except sqlalchemy.exc.DBAPIError as exc:
        return describe_error(getattr(exc, "orig", None) or exc, 300)
    finally:
        engine.dispose()


def probe_database(uri: str, timeout: float | None = None) -> str | None:
    """``None`` when the SQL store at ``uri`` accepts a connection (or ``uri`` is no SQL
    server store, or it cannot be told here), else why not, in a few seconds: one
    connection through SQLAlchemy with the driver's connect timeout (``timeout``,
    default :func:`db_connect_timeout`); without the driver, a TCP connection to its
    host and port. The reason has no credentials in it."""
    if not is_database_uri(uri):
        return None
    timeout = db_connect_timeout() if timeout is None else float(timeout)
    outcome: list = []

    def attempt():
        try:
            try:
                outcome.append(_sqlalchemy_probe(uri, timeout))
            except ImportError:
                outcome.append(_tcp_probe(uri, timeout))
        except Exception as exc:  # noqa: BLE001 - anything else: let MLflow's call tell
            outcome.append(None if not is_unreachable(exc) else describe_error(exc, 300))

    # the driver's timeout bounds connecting; a name lookup that hangs is bounded here
    worker = threading.Thread(target=attempt, name="mlflow-sweep-db-probe", daemon=True)
    worker.start()
    worker.join(timeout * 2 + 1)
    if not outcome:
        return f"no answer within {timeout * 2 + 1:.0f} s"
    return outcome[0]


def missing_driver(uri: str) -> str | None:
    """Why the DBAPI module of a SQL store URI's dialect cannot be imported (psycopg2 for
    ``postgresql://`` before SQLAlchemy 2.1, MySQLdb for ``mysql://``), else None
    (importable, or nothing to tell here: MLflow's own call will say)."""
    try:
        from sqlalchemy.engine.url import make_url  # heavy: only for a SQL server store

        dialect = make_url(uri).get_dialect()
        load = getattr(dialect, "import_dbapi", None) or getattr(dialect, "dbapi", None)
        if load is not None:
            load()
    except ImportError as exc:
        return str(exc)
    except Exception:  # noqa: BLE001 - an unknown dialect or a URI SQLAlchemy cannot read
        return None
    return None


def refused_driver(uri: str) -> str | None:
    """Why MLflow cannot use this SQL store URI's driver, else None: MLflow 2.x's SQL store
    compares integer experiment ids with text parameters, which psycopg 3
    (``postgresql+psycopg://``) refuses on the first query ("operator does not exist:
    integer = character varying")."""
    if not uri.lower().startswith("postgresql+psycopg:"):
        return None
    from mlflow.version import VERSION  # only for a psycopg 3 URI

    if int(VERSION.split(".")[0]) >= 3:
        return None
    return (f"MLflow {VERSION} cannot use psycopg 3 (postgresql+psycopg://): its SQL store compares "
            "integer ids with text, which psycopg 3 refuses; use postgresql+psycopg2:// "
            "(pip install psycopg2-binary) or MLflow 3")


def require_reachable(uri: str) -> str:
    """``uri``, after checking that a SQL server store answers (:func:`probe_database`);
    raises :class:`~mlflow_sweep_plugin.errors.TrackingUnreachable` (exit 3, the URI
    without credentials) when it does not, and a usage error (exit 2) when its driver is
    one MLflow cannot use (:func:`refused_driver`) or, once it answers, is not installed.
    Other stores are left to their first call (HTTP ones fail fast under
    :func:`fail_fast_http`)."""
    refused = refused_driver(uri) if is_database_uri(uri) else None
    if refused is not None:
        raise UsageError(f"tracking store {redact_uri(uri)}: {refused}")
    reason = probe_database(uri)
    if reason is not None:
        raise TrackingUnreachable(f"tracking store {redact_uri(uri)} is unreachable ({reason})")
    missing = missing_driver(uri) if is_database_uri(uri) else None
    if missing is not None:
        raise UsageError(f"the database driver for {redact_uri(uri)} is not installed ({missing}): "
                         "install it, or name an installed one in the URI (e.g. postgresql+psycopg://, "
                         "mysql+pymysql://)")
    return uri


# -- HTTP(S) servers ----------------------------------------------------------------------

def _http_probe(uri: str, timeout: float | None = None) -> str | None:
    """``None`` when the server at ``uri`` answers at ``/health`` (any HTTP answer, even
    401 or 404, means it is there), else why not."""
    timeout = _float_env(PROBE_TIMEOUT_ENV, 3.0) if timeout is None else timeout
    parts = urlsplit(uri)
    netloc = parts.netloc.rsplit("@", 1)[-1]  # credentials never go into the probe
    url = f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return None
    except urllib.error.HTTPError:
        return None
    except Exception as exc:  # noqa: BLE001 - any failure to connect is "not there"
        reason = getattr(exc, "reason", None) or exc
        return f"{type(exc).__name__}: {reason}"


def probe(uri: str, timeout: float | None = None) -> str | None:
    """``None`` when the tracking server at ``uri`` answers, else the reason it does not,
    in seconds (``sweep_run`` and ``sync`` ask before they start).

    HTTP(S) URIs are probed at ``/health`` (timeout ``$MLFLOW_SWEEP_PROBE_TIMEOUT``,
    default 3 s), SQL server stores by one connection (:func:`probe_database`); other
    stores are found out by the first real call.
    """
    if is_http(uri):
        return _http_probe(uri, timeout)
    return probe_database(uri, timeout)
