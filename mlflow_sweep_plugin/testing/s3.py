"""moto's S3 server (:class:`MotoS3Server`), the session's ``s3_server`` and a bucket per test
(``s3_bucket``).
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass

import pytest

from .server import free_port
from .unavailable import StoreUnavailable, started


class MotoS3Server:
    """An S3 HTTP endpoint from moto's server mode (``python -m moto.server``) on a free
    127.0.0.1 port, in its own process; :meth:`env` gives what a client needs to use it
    (``MLFLOW_S3_ENDPOINT_URL`` and dummy credentials, no profile or instance metadata)."""

    access_key = "mlflow-sweep-test-key"
    secret_key = "mlflow-sweep-test-secret"
    region = "us-east-1"

    def __init__(self, root: pathlib.Path | None = None):
        self.root = pathlib.Path(root or tempfile.mkdtemp(prefix="mlflow-sweep-s3-"))
        self.port: int | None = None
        self.proc = None
        self._log = None
        self._counter = 0

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict:
        return {"MLFLOW_S3_ENDPOINT_URL": self.endpoint_url, "AWS_ACCESS_KEY_ID": self.access_key,
                "AWS_SECRET_ACCESS_KEY": self.secret_key, "AWS_SESSION_TOKEN": None,
                "AWS_DEFAULT_REGION": self.region, "AWS_REGION": None, "AWS_PROFILE": None,
                "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull}

    def start(self, timeout: float = 60.0) -> "MotoS3Server":
        for module, dist in (("moto", "moto[server]"), ("flask", "moto[server]"), ("boto3", "boto3")):
            if importlib.util.find_spec(module) is None:
                raise StoreUnavailable(f"{module} is not installed (pip install '{dist}')")
        self.port = free_port()
        self._log = open(self.root / "moto.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
                                     cwd=str(self.root))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = (self.root / "moto.log").read_text(errors="replace")[-1000:]
                self.stop()
                raise StoreUnavailable(f"moto's S3 server exited early: {log}")
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=2):
                    return self
            except urllib.error.HTTPError:
                return self  # any answer: it is serving
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise StoreUnavailable(f"moto's S3 server did not answer within {timeout:.0f}s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=20)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def client(self):
        """A boto3 S3 client for this endpoint (credentials given, not from the environment)."""
        import boto3  # heavy optional dependency

        return boto3.client("s3", endpoint_url=self.endpoint_url, aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key, region_name=self.region)

    def create_bucket(self, name: str | None = None) -> str:
        self._counter += 1
        name = name or f"sweep-{self._counter}-{uuid.uuid4().hex[:8]}"
        self.client().create_bucket(Bucket=name)
        return name


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server for the session (see :class:`MotoS3Server`); the test skips,
    with the reason, when it cannot be started."""
    server = started(MotoS3Server(), "S3 (moto)")
    yield server
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


@dataclass
class S3Bucket:
    """A bucket made for one test on the session's moto server."""

    name: str
    server: MotoS3Server

    @property
    def uri(self) -> str:
        return f"s3://{self.name}"

    def keys(self, prefix: str = "") -> list[str]:
        """Every key under ``prefix``, sorted."""
        out = []
        pages = self.server.client().get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        for page in pages:
            out += [obj["Key"] for obj in page.get("Contents", [])]
        return sorted(out)


@pytest.fixture
def s3_bucket(s3_server, monkeypatch) -> S3Bucket:
    """A new bucket on the session's moto server; ``MLFLOW_S3_ENDPOINT_URL`` and dummy AWS
    credentials are set for the test (and restored after)."""
    for key, value in s3_server.env().items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    return S3Bucket(s3_server.create_bucket(), s3_server)
