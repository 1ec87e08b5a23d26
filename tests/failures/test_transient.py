"""mlflow_sweep_plugin.failures.classify: what an exception means — unreachable, worth
another try, offline — read through its whole chain; and how it is told."""

from __future__ import annotations

import pytest
import requests
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST

from mlflow_sweep_plugin.failures.classify import (describe_error, exception_chain, is_offline, is_transient,
                                                   is_unreachable, status_of)


def _http_error(status):
    response = requests.Response()
    response.status_code = status
    return requests.exceptions.HTTPError(f"{status} answer", response=response)


def _chained(outer, inner):
    try:
        try:
            raise inner
        except Exception as exc:
            raise outer from exc
    except Exception as exc:
        return exc


def test_the_chain_is_each_cause_once():
    exc = _chained(RuntimeError("outer"), ValueError("inner"))
    assert [type(e).__name__ for e in exception_chain(exc)] == ["RuntimeError", "ValueError"]


def test_status_of_a_response_or_an_mlflow_exception():
    assert status_of(_http_error(503)) == 503
    assert status_of(MlflowException("x", error_code=RESOURCE_DOES_NOT_EXIST)) == 404
    assert status_of(ValueError("x")) is None


@pytest.mark.parametrize("exc, unreachable, transient", [
    (requests.exceptions.ConnectionError("refused"), True, True),
    (_chained(MlflowException("API request to x failed"), ConnectionRefusedError()), True, True),
    (_http_error(503), False, True),
    (_http_error(429), False, True),
    (_http_error(500), False, True),
    (_http_error(404), False, False),
    (MlflowException("bad param", error_code="INVALID_PARAMETER_VALUE"), False, False),
    (ValueError("no"), False, False),
])
def test_unreachable_and_transient(exc, unreachable, transient):
    assert is_unreachable(exc) is unreachable
    assert is_transient(exc) is transient


def test_offline_is_unreachable_or_a_gateways_5xx():
    assert is_offline(requests.exceptions.ConnectTimeout("t"))
    assert is_offline(MlflowException("API request failed with error code 502 != 200"))
    assert not is_offline(MlflowException("bad", error_code="INTERNAL_ERROR"))  # raised on this side


def test_describe_error_is_one_masked_bounded_line():
    exc = RuntimeError("cannot reach http://u:pw@host/api\nsecond line")
    assert describe_error(exc) == "RuntimeError: cannot reach http://***@host/api"
    assert describe_error(RuntimeError("x" * 500), limit=10) == "RuntimeError: " + "x" * 10
    assert describe_error(KeyError()) == "KeyError"
