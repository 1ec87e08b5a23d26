"""The one error classifier (``mlflow_sweep_plugin.failures``): the answers the logging API,
the export's readers and the Hydra callback used to give each on its own, on the real
exceptions the libraries raise."""

from __future__ import annotations

import sqlite3

import pytest
import requests

from mlflow_sweep_plugin.errors import SweepError, TrackingUnreachable
from mlflow_sweep_plugin.failures import (is_locked, is_not_found, is_uncompleted_job, is_unreachable,
                                          s3_connection_error, store_errors)


def _http_error(status: int) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = status
    return requests.HTTPError(f"{status} error", response=response)


def test_is_locked_looks_through_the_chain():
    try:
        try:
            raise sqlite3.OperationalError("database is locked")
        except sqlite3.OperationalError as exc:
            raise RuntimeError("log_batch failed") from exc
    except RuntimeError as outer:
        assert is_locked(outer)
    assert not is_locked(sqlite3.OperationalError("no such table: runs"))


def test_is_not_found_for_http_and_s3():
    assert is_not_found(_http_error(404))
    assert not is_not_found(_http_error(500))
    assert not is_not_found(ValueError("404"))  # no response: not an answer
    botocore = pytest.importorskip("botocore.exceptions")
    missing = botocore.ClientError({"Error": {"Code": "NoSuchKey", "Message": "gone"}}, "GetObject")
    denied = botocore.ClientError({"Error": {"Code": "AccessDenied"},
                                   "ResponseMetadata": {"HTTPStatusCode": 403}}, "GetObject")
    assert is_not_found(missing)
    assert not is_not_found(denied)


def test_s3_connection_error_is_unreachable_and_others_are_left_alone():
    botocore = pytest.importorskip("botocore.exceptions")
    exc = botocore.EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
    err = s3_connection_error(exc)
    assert isinstance(err, ConnectionError) and err.__cause__ is exc
    assert "EndpointConnectionError" in str(err) and is_unreachable(err)
    assert s3_connection_error(botocore.ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject")) is None


def test_is_uncompleted_job_is_submitits_error():
    submitit = pytest.importorskip("submitit.core.utils")
    assert is_uncompleted_job(submitit.UncompletedJobError("timed out"))
    assert not is_uncompleted_job(RuntimeError("UncompletedJobError"))


def test_store_errors_maps_only_unreachable_to_exit_3():
    with pytest.raises(TrackingUnreachable) as caught:
        with store_errors("http://user:secret@127.0.0.1:1"):
            raise requests.exceptions.ConnectionError("Connection refused")
    assert "secret" not in str(caught.value) and "127.0.0.1:1" in str(caught.value)
    with pytest.raises(KeyError):
        with store_errors("http://127.0.0.1:1"):
            raise KeyError("x")
    with pytest.raises(SweepError, match="as it is"):
        with store_errors("http://127.0.0.1:1"):
            raise SweepError("as it is")
