"""mlflow_sweep_plugin.failures.probe over HTTP: is the tracking server there? — against a
real loopback HTTP server that records what it was asked, and a closed port."""

from __future__ import annotations

import http.server
import threading

import pytest

from mlflow_sweep_plugin.failures.probe import PROBE_TIMEOUT_ENV, is_http, probe
from mlflow_sweep_plugin.testing import free_port


@pytest.fixture
def server():
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.path, self.headers.get("Authorization")))
            self.send_response(404 if self.path.startswith("/missing") else 200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_address[1]}", seen
    httpd.shutdown()
    httpd.server_close()


def test_a_server_that_answers_is_there_and_gets_no_credentials(server):
    host, seen = server
    assert probe(f"http://alice:secret@{host}/prefix/", timeout=5) is None
    assert seen == [("/prefix/health", None)]


def test_any_http_answer_means_the_server_is_there(server):
    host, seen = server
    assert probe(f"http://{host}/missing", timeout=5) is None  # a 404 still answers
    assert seen == [("/missing/health", None)]


def test_a_closed_port_gives_the_reason(monkeypatch):
    monkeypatch.setenv(PROBE_TIMEOUT_ENV, "2")
    reason = probe(f"http://127.0.0.1:{free_port()}")
    assert reason is not None and "URLError" in reason


def test_sqlite_stores_are_not_probed_over_http(tmp_path):
    assert probe(f"sqlite:///{tmp_path / 'x.db'}") is None
    assert not (tmp_path / "x.db").exists()


def test_is_http():
    assert is_http("http://h") and is_http("https://h")
    assert not is_http("sqlite:///x") and not is_http("") and not is_http(None)
