"""What an exception means: the project's one error classifier.

- :func:`is_unreachable`: the store was not reached at all (connection refused, DNS,
  connect or read timeout, a SQL store that cannot be opened). Commands map it to
  exit 3 (:func:`store_errors`); the export's circuit breaker counts it.
- :func:`is_transient`: trying again may succeed (unreachable, connection reset,
  429, a real 5xx answer). The export retries these per artifact call.
- :func:`is_offline`: "not there right now", as opposed to a mistake in what was sent
  (unreachable, a 5xx from a proxy, or the server's own MLflow error document saying it
  cannot serve). ``sweep_run`` spools what it cannot log for these.
- :func:`is_locked`: SQLite's "database is locked" (the logging API retries it).
- :func:`is_not_found`: a 404 from an HTTP artifact server or S3 ("not there").
- :func:`s3_connection_error`: botocore's "could not connect" as a ``ConnectionError``.
- :func:`is_uncompleted_job`: submitit stopped the job (timed out, not requeued).

Class names are compared as text where the class belongs to an optional dependency
(botocore, submitit, urllib3's internals, SQLAlchemy), so classifying never imports it.
"""

from __future__ import annotations

import contextlib
import re

import requests

from ..errors import SweepError, TrackingUnreachable
from ..uri import redact_text, redact_uri

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


def describe_error(exc: BaseException, limit: int = 200) -> str:
    """``Type: first line of the message`` (at most ``limit`` characters of it, any URI
    credentials masked): how a store's failure is told in warnings, spools and exit-3
    messages."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {redact_text(text[0])[:limit]}" if text else type(exc).__name__


#: SQLite's answer to a writer that waited its busy timeout (MLflow 3 sets 20 s) for other
#: writers of the same file; through an ``mlflow server`` on sqlite, the server's 503 says it
LOCKED_TEXT = ("database is locked", "database table is locked")


def is_locked(exc: BaseException) -> bool:
    """Whether ``exc`` (or one it was raised from) is SQLite's "database is locked"."""
    return any(any(t in str(link) for t in LOCKED_TEXT) for link in exception_chain(exc))


#: the codes S3 (botocore's ``ClientError.response``) answers for a key that is not there
_S3_NOT_FOUND = ("NoSuchKey", "404", "NotFound")


def is_not_found(exc: BaseException) -> bool:
    """Whether ``exc`` is a "not there" answer: HTTP 404 (a requests response), or S3's
    ``NoSuchKey``/404 (a botocore ``ClientError``)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):  # botocore
        code = str(response.get("Error", {}).get("Code", ""))
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return code in _S3_NOT_FOUND or status == 404
    return getattr(response, "status_code", None) == 404


#: botocore's "could not connect" errors
_S3_UNREACHABLE_TYPES = ("EndpointConnectionError", "ConnectTimeoutError", "ProxyConnectionError",
                         "ConnectionClosedError")


def s3_connection_error(exc: BaseException) -> ConnectionError | None:
    """botocore's "could not connect" errors as a ``ConnectionError`` (what
    :func:`is_unreachable` counts), raised from ``exc``; ``None`` for any other."""
    name = type(exc).__name__
    if name not in _S3_UNREACHABLE_TYPES:
        return None
    err = ConnectionError(f"S3 endpoint unreachable ({name}): {exc}")
    err.__cause__ = exc
    return err


def is_uncompleted_job(exc: BaseException) -> bool:
    """Whether ``exc`` is submitit's ``UncompletedJobError``: the scheduler stopped the
    job (timed out and not requeued), which a sweep records as KILLED."""
    return type(exc).__name__ == "UncompletedJobError"


def unreachable(uri: str, exc: BaseException) -> TrackingUnreachable:
    """The exit-3 error for a store at ``uri`` that ``exc`` says was not reached (the URI
    without credentials)."""
    return TrackingUnreachable(f"tracking store {redact_uri(uri)} is unreachable ({type(exc).__name__})")


@contextlib.contextmanager
def store_errors(uri: str):
    """Client calls inside: "the store is not there" becomes :class:`TrackingUnreachable`
    (exit 3, URI without credentials); every other exception passes unchanged."""
    try:
        yield
    except SweepError:
        raise  # already says what the user must do
    except Exception as exc:  # noqa: BLE001 - re-raised unless it means "unreachable"
        if is_unreachable(exc):
            raise unreachable(uri, exc) from None
        raise
