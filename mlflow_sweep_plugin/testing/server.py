"""A real ``mlflow server`` on a free loopback port (:class:`MlflowServer`) and its
fixtures (``mlflow_server``, ``mlflow_server_factory``).
"""

from __future__ import annotations

import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest


class MlflowServer:
    """A real ``mlflow server`` on 127.0.0.1 (``--serve-artifacts``): a sqlite backend and
    a local artifact directory by default, else ``backend_uri`` (``postgresql+psycopg://...``)
    and ``artifacts_destination`` (``s3://bucket/prefix``); ``env``: variables for the
    server process (S3 endpoint and credentials), ``None`` removing one.

    ``stop()`` and ``start()`` may be called mid-test (same port, same store) to test
    what happens when the tracking server goes away and comes back.
    """

    def __init__(self, root: pathlib.Path, port: int | None = None, backend_uri: str | None = None,
                 artifacts_destination: str | None = None, env: dict | None = None):
        self.root = pathlib.Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.backend_uri = backend_uri or f"sqlite:///{self.root / 'server.db'}"
        self.artifacts_dir = self.root / "server-artifacts"
        self.artifacts_destination = artifacts_destination or str(self.artifacts_dir)
        self.extra_env = dict(env or {})
        self.proc = None
        self.log_path = self.root / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    tracking_uri = url

    def start(self, timeout: float = 120.0) -> "MlflowServer":
        if self.proc is not None and self.proc.poll() is None:
            return self
        cmd = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1",
               "--port", str(self.port), "--backend-store-uri", self.backend_uri,
               "--serve-artifacts", "--artifacts-destination", self.artifacts_destination,
               "--workers", "1"]
        env = dict(os.environ)
        env.pop("MLFLOW_TRACKING_URI", None)
        # MLflow 3.x's server also starts a job runner and eight huey consumers (GenAI
        # scorers), each a Python process importing MLflow: tens of seconds of start-up on
        # a busy machine for nothing a sweep needs
        env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
        for key, value in self.extra_env.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = str(value)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                     cwd=str(self.root), start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited early; log:\n{self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"mlflow server did not answer within {timeout}s")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc = None
        self._log.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real ``mlflow server`` on a free loopback port for the whole test session
    (artifact URIs are ``mlflow-artifacts:/...``); stopped at the end. Tests that
    stop it must start it again (``mlflow_server.start()``) or use
    ``mlflow_server_factory`` for a private one."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server")).start()
    yield server
    server.stop()


@pytest.fixture
def mlflow_server_factory(request, tmp_path):
    """``mlflow_server_factory(start=True, backend="sqlite", artifacts="local") ->
    MlflowServer``: a private server for this test (to kill and restart freely); every
    one started is stopped after the test. ``backend="postgresql"``: on a fresh database
    of the session's throwaway cluster (``postgres_cluster``); ``artifacts="s3"``:
    ``--artifacts-destination s3://<a new bucket>/artifacts`` on the session's moto server
    (``s3_server``). The test skips, with the reason, when either cannot be started."""
    servers = []

    def factory(start: bool = True, backend: str = "sqlite", artifacts: str = "local") -> MlflowServer:
        root = tmp_path / f"server-{len(servers)}"
        backend_uri, destination, env = _deployment_parts(request, backend, artifacts)
        server = MlflowServer(root, backend_uri=backend_uri, artifacts_destination=destination, env=env)
        servers.append(server)
        return server.start() if start else server

    yield factory
    for server in servers:
        server.stop()


def _deployment_parts(request, backend: str, artifacts: str, bucket: str | None = None):
    """(backend store URI or None for sqlite, artifacts destination or None for local,
    the server's extra environment) for an ``mlflow server``."""
    if backend not in ("sqlite", "postgresql"):
        raise ValueError(f"backend must be 'sqlite' or 'postgresql', not {backend!r}")
    if artifacts not in ("local", "s3"):
        raise ValueError(f"artifacts must be 'local' or 's3', not {artifacts!r}")
    backend_uri = destination = None
    env: dict = {}
    if artifacts == "s3":
        s3 = request.getfixturevalue("s3_server")
        env.update(s3.env())
        destination = f"s3://{bucket or s3.create_bucket()}/artifacts"
    if backend == "postgresql":
        backend_uri = request.getfixturevalue("postgres_cluster").mlflow_database()
    return backend_uri, destination, env
