"""The ``sweep_store_factory`` fixture: a tracking store in one of the deployments the
research teams run (PostgreSQL + S3, directly or behind a shared ``mlflow server``).
"""

from __future__ import annotations

import contextlib
import pathlib
import shutil
import sqlite3
import uuid

import pytest

from .server import MlflowServer, _deployment_parts
from .store import SweepStore, _current_store


class _SharedServers:
    """Tracking servers shared by the session's tests, one per (backend, artifacts)."""

    def __init__(self, root: pathlib.Path):
        self.root = root
        self.servers: dict = {}

    def get(self, request, backend: str, artifacts: str) -> MlflowServer:
        key = (backend, artifacts)
        server = self.servers.get(key)
        if server is None:
            backend_uri, destination, env = _deployment_parts(request, backend, artifacts)
            server = MlflowServer(self.root / f"{backend}-{artifacts}", backend_uri=backend_uri,
                                  artifacts_destination=destination, env=env)
            self.servers[key] = server
            server.start()
        elif server.proc is None or server.proc.poll() is not None:
            server.start()  # a test stopped it
        return server

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()


@pytest.fixture(scope="session")
def _shared_mlflow_servers(tmp_path_factory):
    shared = _SharedServers(tmp_path_factory.mktemp("shared-servers"))
    yield shared
    shared.stop()


def _retire_experiments(tracking_uri: str) -> None:
    """Rename every experiment but Default to a unique name and delete it: the names are
    free again for the next test on a shared server (a deleted experiment keeps its name)."""
    from mlflow.tracking import MlflowClient  # heavy: only when a test uses it

    client = MlflowClient(tracking_uri)
    for exp in client.search_experiments(max_results=50_000):
        if exp.experiment_id == "0":
            continue
        client.rename_experiment(exp.experiment_id, f"{exp.name}~retired-{uuid.uuid4().hex[:8]}")
        client.delete_experiment(exp.experiment_id)


@pytest.fixture
def sweep_store_factory(request, tmp_path, monkeypatch, sweep_store_template):
    """``sweep_store_factory(backend="sqlite", artifacts="local", server=False,
    current=False) -> SweepStore``: a tracking store for this test, in one of the
    deployments the research teams run:

    - ``backend="postgresql", artifacts="s3"``: the client straight to a fresh
      ``postgresql+psycopg://`` database of the session's cluster, experiments made with an
      ``s3://<a new bucket>/artifacts/...`` artifact location (S3 endpoint and dummy
      credentials set for the test);
    - ``server=True``: an ``mlflow server`` on that backend with ``--serve-artifacts
      --artifacts-destination`` (``mlflow-artifacts:/`` URIs; the client needs no S3
      credentials). It is shared by the session's tests: the experiments a test made are
      renamed and deleted after it, so every test starts with only Default;
    - ``backend="sqlite", artifacts="local"``: what ``sweep_store`` gives.

    ``current=True`` makes it the test's current store, as ``sweep_store`` does (only
    one per test). Skips, with the reason, when PostgreSQL or S3 cannot be started.
    """
    stack = contextlib.ExitStack()
    made: list = []

    def factory(backend: str = "sqlite", artifacts: str = "local", server: bool = False,
                current: bool = False) -> SweepStore:
        root = tmp_path / f"store-{len(made)}"
        root.mkdir()
        env: dict = {}
        if server:
            srv = request.getfixturevalue("_shared_mlflow_servers").get(request, backend, artifacts)
            store = SweepStore(root=root, tracking_uri=srv.url, artifact_root=None,
                               kind=f"server:{backend}+{artifacts}", server=srv)

            def retire(srv=srv):
                srv.start()  # again, if the test stopped it
                _retire_experiments(srv.url)

            stack.callback(retire)
        else:
            artifact_root = location = bucket = None
            if artifacts == "s3":
                bucket = request.getfixturevalue("s3_bucket")  # sets the S3 variables for the test
                location = f"{bucket.uri}/artifacts"
            elif artifacts == "local":
                artifact_root = root / "artifacts"
                artifact_root.mkdir()
            else:
                raise ValueError(f"artifacts must be 'local' or 's3', not {artifacts!r}")
            default = f"{location}/0" if location else (artifact_root / "0").as_uri()
            if backend == "postgresql":
                cluster = request.getfixturevalue("postgres_cluster")
                uri = cluster.mlflow_database(default)
                # closes the connections MLflow still pools to it
                stack.callback(cluster.drop_database, uri.rsplit("/", 1)[1])
            elif backend == "sqlite":
                shutil.copyfile(sweep_store_template, root / "mlflow.db")
                with sqlite3.connect(root / "mlflow.db") as con:
                    con.execute("UPDATE experiments SET artifact_location = ? WHERE experiment_id = 0", (default,))
                con.close()
                uri = f"sqlite:///{root / 'mlflow.db'}"
            else:
                raise ValueError(f"backend must be 'sqlite' or 'postgresql', not {backend!r}")
            store = SweepStore(root=root, tracking_uri=uri, artifact_root=artifact_root,
                               artifact_location=location, kind=f"{backend}+{artifacts}", bucket=bucket)
        made.append(store)
        if current:
            stack.enter_context(_current_store(store, monkeypatch, env))
        return store

    with stack:
        yield factory
