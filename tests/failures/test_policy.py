"""mlflow_sweep_plugin.failures.policy: MLflow's HTTP calls fail fast inside, the user's
own settings win, and the environment is restored after."""

from __future__ import annotations

import logging
import os

import pytest

from mlflow_sweep_plugin.failures.policy import HTTP_JITTER, HTTP_SETTINGS, fail_fast_http, http_settings


@pytest.fixture
def clean(monkeypatch):
    for ours, (theirs, _) in HTTP_SETTINGS.items():
        monkeypatch.delenv(ours, raising=False)
        monkeypatch.delenv(theirs, raising=False)
    monkeypatch.delenv(HTTP_JITTER[0], raising=False)
    return monkeypatch


def test_defaults_and_our_variables(clean):
    assert http_settings() == {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                               "MLFLOW_HTTP_REQUEST_TIMEOUT": "30", HTTP_JITTER[0]: HTTP_JITTER[1]}
    clean.setenv("MLFLOW_SWEEP_HTTP_TIMEOUT", "7.9")
    clean.setenv("MLFLOW_SWEEP_HTTP_MAX_RETRIES", "many")
    settings = http_settings()
    assert settings["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "7"  # MLflow parses ints
    assert settings["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "1"  # unreadable: the default


def test_inside_fail_fast_the_users_own_setting_wins_and_all_is_restored(clean):
    clean.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "300")
    pool_log = logging.getLogger("urllib3.connectionpool")
    level = pool_log.level
    with fail_fast_http({"MLFLOW_HTTP_POOL_MAXSIZE": "18"}):
        assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "1"
        assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "300"
        assert os.environ["MLFLOW_HTTP_POOL_MAXSIZE"] == "18"
        assert pool_log.level >= logging.ERROR
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "300"
    assert pool_log.level == level
