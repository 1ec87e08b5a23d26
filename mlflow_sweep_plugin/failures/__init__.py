"""What goes wrong talking to a tracking store, and how long it may take to find out:
the project's one error classifier, one reachability probe and one HTTP policy.

- :mod:`.classify`: what an exception means (unreachable, transient, offline, SQLite
  locked, not found, a job submitit stopped) and how it is told (:func:`describe_error`,
  :func:`store_errors`: unreachable becomes exit 3).
- :mod:`.probe`: is the store there, in seconds (:func:`probe`, :func:`require_reachable`).
- :mod:`.policy`: MLflow's HTTP calls fail fast (:func:`fail_fast_http`).
- :mod:`.run_urls`: MLflow prints no tracking URI with credentials (:func:`no_credential_urls`,
  :func:`hide_run_urls`).

Everything is imported from here (``from mlflow_sweep_plugin.failures import ...``).
"""

from __future__ import annotations

from .classify import (LOCKED_TEXT, describe_error, exception_chain, is_locked, is_not_found, is_offline,
                       is_transient, is_uncompleted_job, is_unreachable, s3_connection_error, status_of,
                       store_errors, unreachable)
from .policy import HTTP_JITTER, HTTP_SETTINGS, fail_fast_http, http_settings
from .probe import (DATABASE_SCHEMES, DB_CONNECT_TIMEOUT, DB_CONNECT_TIMEOUT_ENV, PROBE_TIMEOUT_ENV,
                    db_connect_timeout, is_database_uri, is_http, missing_driver, probe, probe_database,
                    refused_driver, require_reachable)
from .run_urls import hide_run_urls, no_credential_urls

__all__ = ["DATABASE_SCHEMES", "DB_CONNECT_TIMEOUT", "DB_CONNECT_TIMEOUT_ENV", "HTTP_JITTER", "HTTP_SETTINGS",
           "LOCKED_TEXT", "PROBE_TIMEOUT_ENV", "db_connect_timeout", "describe_error", "exception_chain",
           "fail_fast_http", "hide_run_urls", "http_settings", "is_database_uri", "is_http", "is_locked",
           "is_not_found", "is_offline", "is_transient", "is_uncompleted_job", "is_unreachable",
           "missing_driver", "no_credential_urls", "probe", "probe_database", "refused_driver", "require_reachable",
           "s3_connection_error", "status_of", "store_errors", "unreachable"]
