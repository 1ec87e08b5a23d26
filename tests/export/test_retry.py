"""What is retried, how often, and the export-time settings that are put back after."""

from __future__ import annotations

import importlib
import os
import sys

import pytest
import requests

from mlflow_sweep_plugin.export.retry import with_retries
from mlflow_sweep_plugin.failures import fail_fast_http, is_transient
from mlflow_sweep_plugin.process import absent_runtime_probes


def _http_error(status: int) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = status
    return requests.HTTPError(f"{status} error", response=response)


@pytest.mark.parametrize("exc, transient", [
    (requests.exceptions.ConnectionError("Connection refused"), True),
    (ConnectionResetError(104, "Connection reset by peer"), True),
    (requests.exceptions.ReadTimeout("Read timed out"), True),
    (_http_error(503), True),
    (_http_error(500), True),
    (_http_error(429), True),
    (_http_error(404), False),
    (_http_error(403), False),
    (ValueError("invalid JSON"), False),
])
def test_transient_failures(exc, transient):
    assert is_transient(exc) is transient


def test_retries_stop_at_the_first_success_or_a_permanent_error():
    calls, sleeps = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise _http_error(503)
        return "ok"

    assert with_retries(flaky, attempts=3, sleep=sleeps.append) == "ok"
    assert len(calls) == 3 and len(sleeps) == 2 and sleeps[1] > sleeps[0]

    calls.clear()

    def missing():
        calls.append(1)
        raise _http_error(404)

    with pytest.raises(requests.HTTPError):
        with_retries(missing, attempts=3, sleep=sleeps.append)
    assert len(calls) == 1


def test_export_settings_are_put_back(monkeypatch):
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "77")  # the user's choice wins
    probes = [name for name in ("dbruntime", "pyspark") if name not in sys.modules
              and importlib.util.find_spec(name) is None]
    with fail_fast_http(), absent_runtime_probes():
        assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "1"
        assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "77"
        for name in probes:
            with pytest.raises(ImportError):
                importlib.import_module(name)
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "77"
    assert all(name not in sys.modules for name in probes)


def test_scoped_environ_restores_exactly(monkeypatch):
    import os

    from mlflow_sweep_plugin.envvars import scoped_environ

    monkeypatch.setenv("SWEEP_T_SET", "mine")
    monkeypatch.delenv("SWEEP_T_UNSET", raising=False)
    with scoped_environ({"SWEEP_T_SET": 1, "SWEEP_T_UNSET": 2}, keep_existing=True):
        assert os.environ["SWEEP_T_SET"] == "mine" and os.environ["SWEEP_T_UNSET"] == "2"
    assert "SWEEP_T_UNSET" not in os.environ
    with scoped_environ({"SWEEP_T_SET": 3}):
        assert os.environ["SWEEP_T_SET"] == "3"
    assert os.environ["SWEEP_T_SET"] == "mine"
    with scoped_environ({"SWEEP_T_SET": None, "SWEEP_T_UNSET": None}):  # None: removed inside
        assert "SWEEP_T_SET" not in os.environ and "SWEEP_T_UNSET" not in os.environ
    assert os.environ["SWEEP_T_SET"] == "mine" and "SWEEP_T_UNSET" not in os.environ
