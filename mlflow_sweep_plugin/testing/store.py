"""The ``sweep_store`` fixture: a throwaway sqlite tracking store per test, copied from a
migrated template made once per session, made MLflow's current store for the test.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import sqlite3
from dataclasses import dataclass

import pytest

from ..envvars import scoped_environ
from .versions import mlflow_major

#: where MLflow 3.x's database stores put experiments created without a location (the
#: server's own variable, not one of mlflow.environment_variables: so not in tags.py)
ENV_SERVER_ARTIFACT_ROOT = "_MLFLOW_SERVER_ARTIFACT_ROOT"


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
    with pytest.MonkeyPatch.context() as mp:  # MLflow 2.x would make ./mlruns for its Default experiment
        mp.setenv(ENV_SERVER_ARTIFACT_ROOT, (path.parent / "artifacts").as_uri())
        _database_stores_read_the_default_root(mp)
        MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


def _fresh_database(template: pathlib.Path, target: pathlib.Path, artifact_root: pathlib.Path) -> None:
    shutil.copyfile(template, target)
    with sqlite3.connect(target) as con:  # the Default experiment stores under this test's root
        con.execute("UPDATE experiments SET artifact_location = ? WHERE experiment_id = 0",
                    ((artifact_root / "0").as_uri(),))
    con.close()


@contextlib.contextmanager
def mlflow_globals_restored(default_uri: bool = False):
    """Inside: no current experiment (and, with ``default_uri``, no tracking URI set: MLflow's
    default); after: MLflow's current tracking URI and experiment as they were before.

    Why: MLflow keeps both in module globals, process-wide and beside the environment
    variables: the URI ``mlflow.set_tracking_uri`` stored
    (``mlflow.tracking._tracking_service.utils._tracking_uri``) and the experiment
    ``mlflow.set_experiment`` chose (``mlflow.tracking.fluent._active_experiment_id``).
    Whatever one test sets there would still be current in every later test of the
    process (its runs going to a store pytest has deleted, or into another test's
    experiment), and MLflow has no public call that puts "not set" back. This is the one
    place the harness touches MLflow's private module globals (with, on MLflow 2.x
    only, its store registry: :func:`_database_stores_read_the_default_root`).
    """
    from mlflow.tracking import fluent  # heavy: only when a test uses it
    from mlflow.tracking._tracking_service import utils as tracking_utils  # heavy: only when a test uses it

    saved = [(module, name, getattr(module, name, None))
             for module, name in ((tracking_utils, "_tracking_uri"),
                                  (fluent, "_active_experiment_id"))]
    fluent._active_experiment_id = None
    if default_uri:
        tracking_utils._tracking_uri = None
    try:
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


def _database_stores_read_the_default_root(monkeypatch) -> None:
    """On MLflow 2.x, make this process's database stores (sqlite, postgresql, ...) put the
    artifacts of experiments created without a location under ``_MLFLOW_SERVER_ARTIFACT_ROOT``,
    as 3.x's do; put back when ``monkeypatch`` undoes.

    Why: 2.x has no setting for it: such an experiment (``mlflow.set_experiment``,
    ``import-hydra`` in process) stores under ./mlruns of the working directory, which under
    pytest is the checkout. MLflow's store registry is private API, touched on 2.x only; a
    store already built for a URI is cached by MLflow and keeps its root.
    """
    if mlflow_major() >= 3:
        return  # 3.x's _get_sqlalchemy_store reads the variable itself
    from mlflow.tracking._tracking_service import utils as tracking_utils  # private API (2.x)

    registry = tracking_utils._tracking_store_registry
    for scheme, builder in list(registry._registry.items()):
        if builder is tracking_utils._get_sqlalchemy_store:
            monkeypatch.setitem(registry._registry, scheme, _reading_the_default_root(builder))


def _reading_the_default_root(builder):
    """``builder`` (MLflow 2.x's database store builder) with ``_MLFLOW_SERVER_ARTIFACT_ROOT``
    as the artifact root when it is given none."""
    def build(store_uri, artifact_uri=None):
        return builder(store_uri, artifact_uri or os.environ.get(ENV_SERVER_ARTIFACT_ROOT))

    return build


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
    # the test's root, not ./mlruns in the working directory (MLflow 3.x reads this variable;
    # on 2.x _database_stores_read_the_default_root makes this process's stores read it)
    default_root = store.artifact_location or (store.artifact_root.as_uri() if store.artifact_root else None)
    if default_root:
        monkeypatch.setenv(ENV_SERVER_ARTIFACT_ROOT, default_root)
    else:
        monkeypatch.delenv(ENV_SERVER_ARTIFACT_ROOT, raising=False)
    _database_stores_read_the_default_root(monkeypatch)
    for key, value in (env or {}).items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    # mlflow.set_experiment sets MLFLOW_EXPERIMENT_ID and a module global: both are put
    # back after the test, so one test's current experiment never leaks into the next
    from ..plugins import reset_plugin_manager  # loads pluggy and the plugins: only when a test uses it

    experiment_env = dict.fromkeys(("MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID"))
    with scoped_environ(experiment_env), mlflow_globals_restored():
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
