"""The one reachability probe (``mlflow_sweep_plugin.failures.probe``) against a real
loopback HTTP server and a port nobody listens on."""

from __future__ import annotations

import http.server
import socket
import threading

import pytest

from mlflow_sweep_plugin.failures import probe


@pytest.fixture
def http_404_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_any_http_answer_means_the_server_is_there(http_404_server):
    assert probe(http_404_server) is None  # answers 501 to GET /health: still there


def test_nothing_listening_is_a_reason_without_credentials():
    reason = probe(f"http://user:secret@127.0.0.1:{_closed_port()}", timeout=2)
    assert reason and "secret" not in reason


def test_local_stores_are_left_to_the_first_call(tmp_path):
    assert probe(f"sqlite:///{tmp_path / 'mlflow.db'}") is None
    assert probe(str(tmp_path)) is None
