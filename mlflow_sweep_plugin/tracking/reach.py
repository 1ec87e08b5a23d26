"""Is the tracking server there? Answer in seconds, not minutes.

``sweep_run`` and ``sync`` probe ``<uri>/health`` once before they start, with a short
timeout (``MLFLOW_SWEEP_PROBE_TIMEOUT``, default 3 s), or connect once to a SQL server
store (:func:`mlflow_sweep_plugin.failures.probe_database`,
``MLFLOW_SWEEP_DB_CONNECT_TIMEOUT``, default 5 s), and make their MLflow calls
under the project's fail-fast HTTP policy (:func:`mlflow_sweep_plugin.failures.
fail_fast_http`); what an exception means is :mod:`mlflow_sweep_plugin.failures`' job.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

PROBE_TIMEOUT_ENV = "MLFLOW_SWEEP_PROBE_TIMEOUT"


def _float_env(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


def is_http(uri: str) -> bool:
    return urlsplit(uri or "").scheme in ("http", "https")


def probe(uri: str, timeout: float | None = None) -> str | None:
    """``None`` when the tracking server at ``uri`` answers, else the reason it does not.

    HTTP(S) URIs are probed at ``/health`` (any HTTP answer, even 401 or 404, means the
    server is there), SQL server stores (``postgresql``, ``mysql``, ``mssql``) by one
    connection with a short timeout; other stores are found out by the first real call.
    """
    if not is_http(uri):
        from ..failures import probe_database

        return probe_database(uri, timeout)
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
