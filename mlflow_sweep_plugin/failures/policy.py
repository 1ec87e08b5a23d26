"""How long MLflow may take to raise: the project's one HTTP policy.

MLflow's HTTP client retries each request 7 times with a backoff factor of 2 and a
120 s timeout, minutes of silence against a dead server. Our commands and ``sweep_run``
set MLflow's ``MLFLOW_HTTP_REQUEST_*`` variables for the duration of their calls
(:func:`fail_fast_http`) to ``MLFLOW_SWEEP_HTTP_MAX_RETRIES`` (default 1),
``MLFLOW_SWEEP_HTTP_BACKOFF_FACTOR`` (default 1) and ``MLFLOW_SWEEP_HTTP_TIMEOUT``
(default 30 s); a ``MLFLOW_HTTP_REQUEST_*`` variable the user set wins. The previous
environment is restored after.
"""

from __future__ import annotations

import contextlib
import logging
import os

from ..envvars import scoped_environ

#: ours -> (MLflow's variable, default)
HTTP_SETTINGS = {
    "MLFLOW_SWEEP_HTTP_MAX_RETRIES": ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1"),
    "MLFLOW_SWEEP_HTTP_BACKOFF_FACTOR": ("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1"),
    "MLFLOW_SWEEP_HTTP_TIMEOUT": ("MLFLOW_HTTP_REQUEST_TIMEOUT", "30"),
}
#: set with the above (MLflow's jitter is up to 1 s by default)
HTTP_JITTER = ("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0.5")

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
