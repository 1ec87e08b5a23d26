"""What MLflow prints: no tracking URI with credentials in "View run ... at:" lines.

Ending a run against an HTTP store, MLflow writes "View run ... at: <tracking URI>/#/..."
on stdout, the URI with its user-info. Where our code ends runs against a URI with
credentials that line is switched off (``MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT``): for
the call in the library (:func:`no_credential_urls`: ``sweep_run``, ``sync``), for the
whole process in the hooks (:func:`hide_run_urls`: the sweep backend, the Hydra sweep
and ``import-hydra``), whose grid points inherit it.
"""

from __future__ import annotations

import contextlib
import logging
import os

from ..envvars import scoped_environ
from ..uri import has_credentials, redact_text

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
