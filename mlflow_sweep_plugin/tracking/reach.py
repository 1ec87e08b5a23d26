"""Is the tracking server there? Answer in seconds, not minutes.

MLflow's HTTP client retries a failed request 7 times with exponential backoff and a
120 s timeout (``MLFLOW_HTTP_REQUEST_MAX_RETRIES``, ``..._BACKOFF_FACTOR``,
``..._TIMEOUT``): right for a batch job that must not lose a request, wrong for a
research job that should notice a dead server and spool. ``sweep_run`` therefore:

- probes ``<uri>/health`` once before the run with a short timeout
  (``MLFLOW_SWEEP_PROBE_TIMEOUT``, default 3 s);
- makes its own MLflow calls under :func:`quick_http`, which sets MLflow's three
  variables from ``MLFLOW_SWEEP_HTTP_MAX_RETRIES`` (default 1),
  ``MLFLOW_SWEEP_HTTP_BACKOFF_FACTOR`` (default 1; whole seconds, as MLflow wants) and
  ``MLFLOW_SWEEP_HTTP_TIMEOUT`` (default 15 s) for the duration of the call and
  restores them after. (These are
  process-wide variables: MLflow calls made by other threads at the same moment use
  the same values.)
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from ..envvars import scoped_environ

PROBE_TIMEOUT_ENV = "MLFLOW_SWEEP_PROBE_TIMEOUT"
HTTP_SETTINGS = {  # ours -> (MLflow's, default)
    "MLFLOW_SWEEP_HTTP_MAX_RETRIES": ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1"),
    "MLFLOW_SWEEP_HTTP_BACKOFF_FACTOR": ("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1"),
    "MLFLOW_SWEEP_HTTP_TIMEOUT": ("MLFLOW_HTTP_REQUEST_TIMEOUT", "15"),
}


def _float_env(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


def quick_http():
    """MLflow HTTP calls inside fail fast (see the module docstring)."""
    return scoped_environ({theirs: int(_float_env(ours, float(default)))  # MLflow wants ints
                           for ours, (theirs, default) in HTTP_SETTINGS.items()})


def is_http(uri: str) -> bool:
    return urlsplit(uri or "").scheme in ("http", "https")


def probe(uri: str, timeout: float | None = None) -> str | None:
    """``None`` when the tracking server at ``uri`` answers, else the reason it does not.

    Only HTTP(S) URIs are probed (any HTTP answer, even 401 or 404, means the server
    is there); other stores are found out by the first real call.
    """
    if not is_http(uri):
        return None
    import urllib.error
    import urllib.request

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


def is_offline_error(exc: BaseException) -> bool:
    """Whether ``exc`` from an MLflow call means "the store is not there right now"
    (connection refused, timeout, 5xx from a server without its database), as opposed
    to a mistake in what was logged."""
    import re

    from ..export.runs import is_unreachable

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
    credentials masked): how an offline reason is told in warnings and spools."""
    from ..uri import redact_uri

    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {redact_uri(text[0])[:limit]}" if text else type(exc).__name__
