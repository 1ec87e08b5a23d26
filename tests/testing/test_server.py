"""The real loopback ``mlflow server`` the harness starts (``mlflow_sweep_plugin.testing.server``)."""

from __future__ import annotations

import socket
import urllib.request

import pytest

from mlflow_sweep_plugin.testing.server import MlflowServer, free_port

pytestmark = pytest.mark.server


def test_free_port_can_be_bound_on_loopback():
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
    assert 1024 < port < 65536


def test_the_server_answers_and_keeps_runs(mlflow_server):
    from mlflow.tracking import MlflowClient

    assert isinstance(mlflow_server, MlflowServer)
    assert mlflow_server.url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(mlflow_server.url + "/health", timeout=30) as response:
        assert response.status == 200
    client = MlflowClient(mlflow_server.url)
    exp = client.create_experiment("served")
    run = client.create_run(exp)
    client.log_metric(run.info.run_id, "m", 1.5)
    assert client.get_run(run.info.run_id).data.metrics == {"m": 1.5}
