"""What an exception from MLflow (or the network under it) means, and how long MLflow
may take to raise it: the project's one error classifier and one HTTP policy.

Three questions, answered here and nowhere else:

- :func:`is_unreachable`: the store was not reached at all (connection refused, DNS,
  connect or read timeout, a SQL store that cannot be opened). Commands map it to
  exit 3; the export's circuit breaker counts it.
- :func:`is_transient`: trying again may succeed (unreachable, connection reset,
  429, a real 5xx answer). The export retries these per artifact call.
- :func:`is_offline`: "not there right now", as opposed to a mistake in what was sent
  (unreachable, a 5xx from a proxy, or the server's own MLflow error document saying it
  cannot serve). ``sweep_run`` spools what it cannot log for these.

The HTTP policy (:func:`fail_fast_http`): MLflow's HTTP client retries each request 7
times with a backoff factor of 2 and a 120 s timeout, minutes of silence against a
dead server. Our commands and ``sweep_run`` set MLflow's ``MLFLOW_HTTP_REQUEST_*``
variables for the duration of their calls to ``MLFLOW_SWEEP_HTTP_MAX_RETRIES``
(default 1), ``MLFLOW_SWEEP_HTTP_BACKOFF_FACTOR`` (default 1) and
``MLFLOW_SWEEP_HTTP_TIMEOUT`` (default 30 s); a ``MLFLOW_HTTP_REQUEST_*`` variable the
user set wins. The previous environment is restored after.

The SQL policy (:func:`probe_database`, :func:`require_reachable`): MLflow opens a
database store (``postgresql``, ``mysql``, ``mssql``) with 10 attempts and a growing
sleep between them, about 110 s before a store that is not there is an error. The
commands (``export``, ``flatten``, ``sync``, ``import-hydra``, ``report``) and
``sweep_run`` connect once first, through SQLAlchemy with the driver's connect timeout
(``MLFLOW_SWEEP_DB_CONNECT_TIMEOUT``, default 5 s); a store that does not answer is
exit 3 (``sweep_run``: the spool) within seconds, its URI told without credentials.

What MLflow prints (:func:`no_credential_urls`): ending a run against an HTTP store,
MLflow writes "View run ... at: <tracking URI>/#/..." on stdout, the URI with its
user-info. Where our code ends runs against a URI with credentials that line is
switched off (``MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT``): for the call in the library
(``sweep_run``, ``sync``), for the whole process in the hooks (the sweep backend,
the Hydra sweep and ``import-hydra``), whose grid points inherit it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from urllib.parse import urlsplit

from .envvars import scoped_environ
from .uri import has_credentials, redact_text, redact_uri

#: ours -> (MLflow's variable, default)
HTTP_SETTINGS = {
    "MLFLOW_SWEEP_HTTP_MAX_RETRIES": ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1"),
    "MLFLOW_SWEEP_HTTP_BACKOFF_FACTOR": ("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1"),
    "MLFLOW_SWEEP_HTTP_TIMEOUT": ("MLFLOW_HTTP_REQUEST_TIMEOUT", "30"),
}
#: set with the above (MLflow's jitter is up to 1 s by default)
HTTP_JITTER = ("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0.5")

_TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}
_UNREACHABLE_TEXT = ("Max retries exceeded", "Connection refused", "NewConnectionError",
                     "Failed to establish")
_TRANSIENT_TEXT = ("Connection reset", "Connection aborted", "RemoteDisconnected", "timed out",
                   "failed with exception", "ConnectionResetError", "IncompleteRead",
                   "Temporary failure", "ChunkedEncodingError", "failed with error code 5")
_UNREACHABLE_TYPES = ("OperationalError", "MaxRetryError", "NewConnectionError")
_TRANSIENT_TYPES = ("ProtocolError", "ReadTimeoutError", "IncompleteRead")


def exception_chain(exc: BaseException):
    """``exc`` and every exception it was raised from or during, each once."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def status_of(exc: BaseException) -> int | None:
    """The HTTP status an exception carries (a requests response, or an MlflowException)."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(status, int):
        return status
    getter = getattr(exc, "get_http_status_code", None)  # MlflowException
    if callable(getter):
        try:
            return int(getter())
        except Exception:  # noqa: BLE001
            return None
    return None


def is_unreachable(exc: BaseException) -> bool:
    """Whether the store could not be reached at all (see the module docstring)."""
    import requests

    for link in exception_chain(exc):
        if isinstance(link, (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                             ConnectionError, TimeoutError)):
            return True
        if type(link).__name__ in _UNREACHABLE_TYPES:
            return True
        text = str(link)
        if any(t in text for t in _UNREACHABLE_TEXT) \
                or ("API request to" in text and "failed with exception" in text):
            return True
    return False


def is_transient(exc: BaseException) -> bool:
    """Whether trying again may succeed: the store unreachable, a reset, 429 or 5xx."""
    import requests

    if is_unreachable(exc):
        return True
    for link in exception_chain(exc):
        if isinstance(link, requests.exceptions.ChunkedEncodingError):
            return True
        status = status_of(link)
        if status is not None and status != 500 and status in _TRANSIENT_STATUS:
            return True
        if status == 500 and type(link).__name__ == "HTTPError":
            return True  # a real 5xx answer; an MlflowException's default 500 means nothing
        if type(link).__name__ in _TRANSIENT_TYPES or any(t in str(link) for t in _TRANSIENT_TEXT):
            return True
    return False


def is_offline(exc: BaseException) -> bool:
    """Whether ``exc`` means "the store is not there right now" (see the module docstring)."""
    if is_unreachable(exc):
        return True
    if re.search(r"failed with error code 5\d\d", str(exc)):
        return True  # a 5xx answer that is not an MLflow error document (proxy, gateway)
    # an MLflow error document from the server saying it cannot serve now (its database
    # is gone, say); MlflowExceptions raised on this side default to INTERNAL_ERROR too,
    # so only the server's (RestException) count
    return (type(exc).__name__ == "RestException"
            and getattr(exc, "error_code", "") in ("INTERNAL_ERROR", "TEMPORARILY_UNAVAILABLE"))


def _setting(ours: str, default: str) -> str:
    raw = os.environ.get(ours, "") or default
    try:
        return str(int(float(raw)))  # MLflow parses these as ints
    except ValueError:
        return default


def http_settings() -> dict:
    """MLflow's HTTP variables as the policy sets them (before the user's own win)."""
    wanted = {theirs: _setting(ours, default) for ours, (theirs, default) in HTTP_SETTINGS.items()}
    wanted[HTTP_JITTER[0]] = HTTP_JITTER[1]
    return wanted


@contextlib.contextmanager
def fail_fast_http(extra: dict | None = None):
    """MLflow HTTP calls inside fail fast (see the module docstring); ``extra`` adds
    other MLflow variables (the export's connection pool size). urllib3's own retry
    messages are silenced meanwhile: what fails is reported as our warning or error."""
    wanted = http_settings()
    wanted.update(extra or {})
    pool_log = logging.getLogger("urllib3.connectionpool")
    level = pool_log.level
    if level < logging.ERROR:
        pool_log.setLevel(logging.ERROR)
    try:
        with scoped_environ(wanted, keep_existing=True):
            yield
    finally:
        pool_log.setLevel(level)


#: the logger of MLflow's "View run ... at: <URL>" lines (MLflow 2.x has no switch for them)
_RUN_URL_LOGGER = "mlflow.tracking._tracking_service.client"


class _MaskedCredentials(logging.Filter):
    """URI credentials masked in what a logger logs (MLflow 2.x logs the run URL with the
    tracking URI's user info in it, and has no MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot be formatted: as it is
            return True
        masked = redact_text(text)
        if masked != text:
            record.msg, record.args = masked, ()
        return True


_MASKED = _MaskedCredentials()


@contextlib.contextmanager
def no_credential_urls(uri: str | None):
    """MLflow prints no "View run ... at: <URI>" line inside when ``uri`` carries
    credentials (see the module docstring; on MLflow 2.x the line is logged with them
    masked); otherwise nothing changes."""
    if not has_credentials(uri):
        yield
        return
    logger = logging.getLogger(_RUN_URL_LOGGER)
    added = _MASKED not in logger.filters
    if added:
        logger.addFilter(_MASKED)
    try:
        with scoped_environ({"MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"}):
            yield
    finally:
        if added:
            logger.removeFilter(_MASKED)


def hide_run_urls(uri: str | None) -> None:
    """From now on in this process (and the processes it starts), MLflow prints no
    "View run ... at: <URI>" lines, when ``uri`` carries credentials (MLflow 2.x: logged
    with them masked, in this process); else nothing changes. For the hooks, which end
    runs in many places (see the module docstring)."""
    if has_credentials(uri):
        os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
        logger = logging.getLogger(_RUN_URL_LOGGER)
        if _MASKED not in logger.filters:
            logger.addFilter(_MASKED)


# -- SQL stores ---------------------------------------------------------------------------

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


def describe_error(exc: BaseException, limit: int = 200) -> str:
    """``Type: first line of the message`` (at most ``limit`` characters of it, any URI
    credentials masked): how a store's failure is told in warnings, spools and exit-3
    messages."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {redact_text(text[0])[:limit]}" if text else type(exc).__name__


def _tcp_probe(uri: str, timeout: float) -> str | None:
    """Without the database's driver: can a TCP connection to its host and port be made?"""
    import socket

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
    import sqlalchemy
    from sqlalchemy.engine.url import make_url
    from sqlalchemy.exc import NoSuchModuleError
    from sqlalchemy.pool import NullPool

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
        from sqlalchemy.engine.url import make_url

        dialect = make_url(uri).get_dialect()
        load = getattr(dialect, "import_dbapi", None) or getattr(dialect, "dbapi", None)
        if load is not None:
            load()
    except ImportError as exc:
        return str(exc)
    except Exception:  # noqa: BLE001 - an unknown dialect or a URI SQLAlchemy cannot read
        return None
    return None


def require_reachable(uri: str) -> str:
    """``uri``, after checking that a SQL server store answers (:func:`probe_database`);
    raises :class:`~mlflow_sweep_plugin.errors.TrackingUnreachable` (exit 3, the URI
    without credentials) when it does not, and a usage error (exit 2) when it answers but
    its driver is not installed. Other stores are left to their first call (HTTP ones
    fail fast under :func:`fail_fast_http`)."""
    reason = probe_database(uri)
    if reason is not None:
        from .errors import TrackingUnreachable

        raise TrackingUnreachable(f"tracking store {redact_uri(uri)} is unreachable ({reason})")
    missing = missing_driver(uri) if is_database_uri(uri) else None
    if missing is not None:
        from .errors import UsageError

        raise UsageError(f"the database driver for {redact_uri(uri)} is not installed ({missing}): "
                         "install it, or name an installed one in the URI (e.g. postgresql+psycopg://, "
                         "mysql+pymysql://)")
    return uri
