"""The ``sweep_store`` fixture: a throwaway sqlite tracking store per test, copied from a
migrated template made once per session, made MLflow's current store for the test.
"""

from __future__ import annotations

import contextlib
import pathlib
import shutil
import sqlite3
from dataclasses import dataclass

import pytest

from ..envvars import scoped_environ


@dataclass
class SweepStore:
    """A tracking store that lives for one test.

    ``artifact_root`` is the local artifact directory (sqlite stores); ``artifact_location``
    a base URI instead (``s3://bucket/artifacts``); with neither (a tracking server
    serving its artifacts) the server chooses (``mlflow-artifacts:/``). ``kind`` says
    which deployment it is (``"sqlite"``, ``"postgresql+s3"``, ``"server:postgresql+s3"``).
    """

    root: pathlib.Path
    tracking_uri: str
    artifact_root: pathlib.Path | None
    artifact_location: str | None = None
    kind: str = "sqlite"
    #: the :class:`MlflowServer` in front of it (server deployments), the :class:`S3Bucket`
    #: its artifacts are in (direct S3 deployments)
    server: object = None
    bucket: object = None

    @property
    def client(self):
        from mlflow.tracking import MlflowClient  # heavy: only when a test uses it

        return MlflowClient(self.tracking_uri)

    def artifact_location_for(self, name: str) -> str | None:
        """Where experiment ``name``'s artifacts go (None: the server decides)."""
        if self.artifact_location is not None:
            return f"{self.artifact_location.rstrip('/')}/{name.replace('/', '_')}"
        if self.artifact_root is not None:
            return (self.artifact_root / name.replace("/", "_")).as_uri()
        return None

    def create_experiment(self, name: str) -> str:
        client = self.client
        exp = client.get_experiment_by_name(name)
        if exp is not None:
            return exp.experiment_id
        return client.create_experiment(name, artifact_location=self.artifact_location_for(name))

    def use_experiment(self, name: str = "sweep") -> str:
        """Create ``name`` in this store (its artifacts stay under the test's directory,
        not ./mlruns) and make it MLflow's current experiment; returns its id."""
        import mlflow  # heavy: only when a test uses it

        exp_id = self.create_experiment(name)
        mlflow.set_experiment(name)
        return exp_id


@pytest.fixture(scope="session")
def sweep_store_template(tmp_path_factory) -> pathlib.Path:
    """An empty, fully migrated MLflow sqlite database, made once per session.

    Creating a store runs MLflow's schema migrations (about a second); copying a
    migrated file takes milliseconds, so every ``sweep_store`` starts from a copy.
    """
    from mlflow.tracking import MlflowClient  # heavy: only when a test uses it

    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


def _fresh_database(template: pathlib.Path, target: pathlib.Path, artifact_root: pathlib.Path) -> None:
    shutil.copyfile(template, target)
    with sqlite3.connect(target) as con:  # the Default experiment stores under this test's root
        con.execute("UPDATE experiments SET artifact_location = ? WHERE experiment_id = 0",
                    ((artifact_root / "0").as_uri(),))
    con.close()


@contextlib.contextmanager
def _mlflow_globals_restored():
    """Inside: no current experiment; after: MLflow's current tracking URI and experiment
    as they were before.

    Why: MLflow keeps both in module globals, process-wide and beside the environment
    variables: the URI ``mlflow.set_tracking_uri`` stored
    (``mlflow.tracking._tracking_service.utils._tracking_uri``) and the experiment
    ``mlflow.set_experiment`` chose (``mlflow.tracking.fluent._active_experiment_id``).
    Whatever one test sets there would still be current in every later test of the
    process (its runs going to a store pytest has deleted, or into another test's
    experiment), and MLflow has no public call that puts "not set" back. This is the one
    place the harness touches MLflow's private module globals.
    """
    from mlflow.tracking import fluent  # heavy: only when a test uses it
    from mlflow.tracking._tracking_service import utils as tracking_utils  # heavy: only when a test uses it

    saved = [(module, name, getattr(module, name, None))
             for module, name in ((tracking_utils, "_tracking_uri"),
                                  (fluent, "_active_experiment_id"))]
    fluent._active_experiment_id = None
    try:
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


@contextlib.contextmanager
def _current_store(store: SweepStore, monkeypatch, env: dict | None = None):
    """Make ``store`` the current tracking store inside (``MLFLOW_TRACKING_URI``, the
    export cache under it, MLflow's globals), everything put back after; ``env``: more
    variables for the test (``None`` removes one)."""
    import mlflow  # heavy: only when a test uses it

    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.tracking_uri)
    # the export cache of ended runs lives with the store, never in the user's cache dir
    monkeypatch.setenv("MLFLOW_SWEEP_CACHE_DIR", str(store.root / "sweep-cache"))
    # experiments created without an artifact location (mlflow.set_experiment) store under
    # the test's root, not ./mlruns in the working directory (MLflow 3.x reads this variable)
    default_root = store.artifact_location or (store.artifact_root.as_uri() if store.artifact_root else None)
    if default_root:
        monkeypatch.setenv("_MLFLOW_SERVER_ARTIFACT_ROOT", default_root)
    else:
        monkeypatch.delenv("_MLFLOW_SERVER_ARTIFACT_ROOT", raising=False)
    for key, value in (env or {}).items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    # mlflow.set_experiment sets MLFLOW_EXPERIMENT_ID and a module global: both are put
    # back after the test, so one test's current experiment never leaks into the next
    from ..plugins import reset_plugin_manager  # loads pluggy and the plugins: only when a test uses it

    experiment_env = dict.fromkeys(("MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID"))
    with scoped_environ(experiment_env), _mlflow_globals_restored():
        mlflow.set_tracking_uri(store.tracking_uri)
        try:
            yield store
        finally:
            while mlflow.active_run() is not None:
                mlflow.end_run()
            reset_plugin_manager()


def sqlite_store(root: pathlib.Path, template: pathlib.Path) -> SweepStore:
    """A new sqlite tracking store with local artifacts under ``root`` (a copy of
    ``template``, see :func:`sweep_store_template`), not made current: for a store that
    several tests of a module share, or a second store beside ``sweep_store``."""
    root.mkdir(parents=True)
    store = SweepStore(root=root, tracking_uri=f"sqlite:///{root / 'mlflow.db'}",
                       artifact_root=root / "artifacts")
    store.artifact_root.mkdir()
    _fresh_database(template, root / "mlflow.db", store.artifact_root)
    return store


@pytest.fixture
def sweep_store(tmp_path, monkeypatch, sweep_store_template):
    """A throwaway sqlite tracking store with local artifacts, current for this test."""
    store = sqlite_store(tmp_path / "mlflow-store", sweep_store_template)
    with _current_store(store, monkeypatch):
        yield store
