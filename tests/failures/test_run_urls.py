"""mlflow_sweep_plugin.failures.run_urls: MLflow's "View run ... at: <URI>" never shows
credentials — switched off inside, or masked in the log record."""

from __future__ import annotations

import logging
import os

import pytest

from mlflow_sweep_plugin.failures.run_urls import _RUN_URL_LOGGER, hide_run_urls, no_credential_urls

SWITCH = "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"


@pytest.fixture
def run_url_logger(monkeypatch):
    monkeypatch.delenv(SWITCH, raising=False)
    logger = logging.getLogger(_RUN_URL_LOGGER)
    filters = list(logger.filters)
    yield logger
    logger.filters[:] = filters


def _logged(logger, message, *args):
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 1, message, args, None)
    assert all(f.filter(record) for f in logger.filters)
    return record.getMessage()


def test_inside_a_uri_with_credentials_the_line_is_off_and_masked(run_url_logger):
    with no_credential_urls("http://alice:pw@host"):
        assert os.environ[SWITCH] == "true"
        assert _logged(run_url_logger, "View run r at: %s/#/runs/1", "http://alice:pw@host") == \
            "View run r at: http://***@host/#/runs/1"
    assert SWITCH not in os.environ
    assert _logged(run_url_logger, "at %s", "http://alice:pw@host") == "at http://alice:pw@host"


def test_a_uri_without_credentials_changes_nothing(run_url_logger):
    with no_credential_urls("http://host:5000"):
        assert SWITCH not in os.environ
    hide_run_urls("sqlite:///x.db")
    assert SWITCH not in os.environ


def test_hide_run_urls_is_for_the_rest_of_the_process(run_url_logger, monkeypatch):
    hide_run_urls("https://u:t@host")
    assert os.environ[SWITCH] == "true"
    hide_run_urls("https://u:t@host")  # once is enough: one filter
    assert len(run_url_logger.filters) == len({id(f) for f in run_url_logger.filters})
    assert _logged(run_url_logger, "at %s", "https://u:t@host") == "at https://***@host"
