"""Retries with backoff for remote artifact calls, and MLflow's HTTP settings for an export.

Why here and not in MLflow: MLflow's HTTP client retries each request up to 7 times with
a backoff factor of 2 and a 120 s timeout, so a dead server turns an export into minutes
of silence. During an export we lower those (unless the user set them) and retry at our
level instead, per artifact call, only for failures that can pass (connection reset,
timeouts, 5xx, 429). A run whose artifacts still cannot be read becomes a warning; when
several runs in a row fail because the store is gone, the exporter asks the tracking
server once and stops with exit 3 instead of waiting on every remaining run.
"""

from __future__ import annotations

import contextlib
import random
import time
from typing import Callable, TypeVar

T = TypeVar("T")

#: MLflow HTTP settings applied during an export unless already set in the environment.
EXPORT_HTTP_ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.5",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}

ATTEMPTS = 3
BACKOFF = 0.5  # seconds before the 2nd attempt; doubles each time (with jitter)

_TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}
_TRANSIENT_TEXT = ("Max retries exceeded", "Connection refused", "Connection reset",
                   "Connection aborted", "RemoteDisconnected", "timed out", "Read timed out",
                   "failed with exception", "ConnectionResetError", "IncompleteRead",
                   "Temporary failure", "ChunkedEncodingError", "failed with error code 5")


def exception_chain(exc: BaseException):
    """``exc`` and every exception it was raised from or during, each once."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _status_of(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(status, int):
        return status
    getter = getattr(exc, "get_http_status_code", None)  # MlflowException
    if callable(getter):
        try:
            code = int(getter())
        except Exception:  # noqa: BLE001
            return None
        return code
    return None


def is_transient(exc: BaseException) -> bool:
    """Whether trying again may succeed: connection problems, timeouts, 5xx and 429."""
    import requests

    for e in exception_chain(exc):
        if isinstance(e, (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                          requests.exceptions.ChunkedEncodingError, ConnectionError, TimeoutError)):
            return True
        status = _status_of(e)
        if status is not None and status != 500 and status in _TRANSIENT_STATUS:
            return True
        if status == 500 and type(e).__name__ == "HTTPError":
            return True  # a real 5xx answer; an MlflowException's default 500 means nothing
        text = str(e)
        if any(t in text for t in _TRANSIENT_TEXT):
            return True
        if type(e).__name__ in ("ProtocolError", "MaxRetryError", "NewConnectionError",
                                "ReadTimeoutError", "IncompleteRead"):
            return True
    return False


def is_connection_failure(exc: BaseException) -> bool:
    """Whether the store could not be reached at all (as opposed to answering an error)."""
    import requests

    for e in exception_chain(exc):
        if isinstance(e, (requests.exceptions.ConnectionError, ConnectionRefusedError,
                          requests.exceptions.ConnectTimeout)):
            return True
        text = str(e)
        if "Connection refused" in text or "Max retries exceeded" in text \
                or "NewConnectionError" in text or "Failed to establish" in text:
            return True
    return False


def with_retries(fn: Callable[[], T], attempts: int = ATTEMPTS, backoff: float = BACKOFF,
                 sleep: Callable[[float], None] = time.sleep) -> T:
    """``fn()``, tried up to ``attempts`` times while it fails transiently."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - re-raised unless transient
            if attempt >= attempts or not is_transient(exc):
                raise
            delay = backoff * (2 ** (attempt - 1))
            sleep(delay * (0.75 + 0.5 * random.random()))
    raise AssertionError("unreachable")  # pragma: no cover


#: modules MLflow tries to import on every HTTP request (Databricks runtime probes)
RUNTIME_PROBES = ("dbruntime", "pyspark", "IPython")


@contextlib.contextmanager
def absent_runtime_probes():
    """Make MLflow's per-request Databricks probes cheap while an export runs.

    MLflow's request headers ask, on every HTTP request, whether it runs in a Databricks
    notebook: it imports ``dbruntime``, ``IPython`` and ``pyspark``, and a failed import
    is not remembered, so where they are not installed each request pays ~1 ms of CPU
    searching ``sys.path`` (thousands of requests per export, on the cores the server
    may share). Modules that are not installed are marked absent in ``sys.modules``
    (what Python does for ``import x`` failing fast) and unmarked after.
    """
    import importlib.util
    import sys

    marked = []
    for name in RUNTIME_PROBES:
        if name in sys.modules:
            continue
        try:
            missing = importlib.util.find_spec(name) is None
        except (ImportError, ValueError):
            missing = False
        if missing:
            sys.modules[name] = None
            marked.append(name)
    try:
        yield
    finally:
        for name in marked:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


@contextlib.contextmanager
def export_http_settings(extra: dict | None = None):
    """Fail-fast MLflow HTTP settings for the duration of an export.

    Variables the user already set win; the previous environment is restored after.
    """
    import logging

    from ..envvars import scoped_environ

    wanted = dict(EXPORT_HTTP_ENV)
    wanted.update(extra or {})
    # urllib3 logs every retry as a WARNING; ours are reported as export warnings
    pool_log = logging.getLogger("urllib3.connectionpool")
    level = pool_log.level
    if level < logging.ERROR:
        pool_log.setLevel(logging.ERROR)
    try:
        with scoped_environ(wanted, keep_existing=True):
            yield
    finally:
        pool_log.setLevel(level)
