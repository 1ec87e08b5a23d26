"""pytest fixtures for parser-plugin authors (and for mlflow-sweep's own tests).

Installing mlflow-sweep-plugin registers this module with pytest (the ``pytest11`` entry
point), so every test can ask for the fixtures below with nothing to enable; they are
inert until a test asks for one. (Only with ``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` set is
``-p mlflow_sweep_plugin.testing`` needed.) Fixtures:

- ``sweep_store``: a throwaway tracking store (``sqlite:///<tmp>/mlflow.db`` plus an
  artifact directory under ``tmp_path``); ``MLFLOW_TRACKING_URI`` points at it during
  the test and is restored after; ``MLFLOW_SWEEP_CACHE_DIR`` (the export cache) is
  under it too.
- ``make_sweep``: ``make_sweep(runs, experiment_name="sweep")`` logs an experiment whose
  runs are given as an int or a list of dicts with ``params``, ``metrics``, ``tags``,
  ``artifacts`` (artifact path -> dict/list (JSON), str (text), bytes, or a local
  ``pathlib.Path`` file or directory), ``status`` and ``run_name``.
- ``sweep_exporter``: ``sweep_exporter(experiment_names=..., plugins=[...], **options)``
  exports in-process and returns an :class:`~mlflow_sweep_plugin.export.ExportResult`
  (``.df``, ``.warnings``); nothing is written unless ``output=`` is given.
- ``sweep_cli``: ``sweep_cli("export", "--experiment-name", "sweep", ...)`` runs the
  ``mlflow-sweep`` command in-process; returns a :class:`CliResult` (``exit_code``,
  ``stdout``, ``stderr``; ``.assert_success()`` asserts exit code 0 and returns it).
- ``artifact_paths(client, run_id)`` (a function) lists a run's artifact files, sorted;
  ``sweep_store.use_experiment(name)`` creates an experiment in the store and makes it current.
- ``check_bad_artifacts``: ``check_bad_artifacts(variants, good, paths=None, **options)``
  logs one run per broken variant plus a good run, exports them, and asserts the bad-input
  contract (a warning naming each broken run and file, none for the good one, no run lost).
- ``mlflow_server`` / ``mlflow_server_factory(start=True, backend="sqlite", artifacts="local")``:
  a real ``mlflow server`` on a free loopback port (``backend="postgresql"``,
  ``artifacts="s3"``: on the production stores below).
- Production stores, each started once per session when a test first needs it and
  skipping the test, with the reason, when it cannot be (``MLFLOW_SWEEP_REQUIRE_STORES=1``
  makes that a failure): ``postgres_cluster`` (a throwaway PostgreSQL cluster,
  :class:`PostgresCluster`; ``.mlflow_database()`` is a fresh migrated MLflow database's
  ``postgresql+psycopg://`` URI), ``s3_server`` (moto's S3 server, :class:`MotoS3Server`),
  ``s3_bucket`` (a new bucket, ``MLFLOW_S3_ENDPOINT_URL`` and dummy AWS credentials set
  for the test), and ``sweep_store_factory(backend="postgresql", artifacts="s3",
  server=False, current=False)``: the client straight to PostgreSQL with ``s3://``
  artifacts, or (``server=True``) an ``mlflow server`` on them proxying the artifacts
  (``mlflow-artifacts:/``); ``current=True`` makes it the test's store as ``sweep_store``
  does.

Only ``pytest`` is imported here at module level, so having this plugin installed
costs other test suites nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import shutil
from dataclasses import dataclass, field

import pytest


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
        from mlflow.tracking import MlflowClient

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
        import mlflow

        exp_id = self.create_experiment(name)
        mlflow.set_experiment(name)
        return exp_id


def artifact_paths(client, run_id: str, path: str | None = None) -> list[str]:
    """Every artifact file of run ``run_id`` (under ``path``), sorted (MLflow 2.x resolves
    ``mlflow-artifacts:/`` against the current tracking URI: the client's, meanwhile)."""
    from .sweep.query import client_uri
    from .tracking.sink import tracking_uri_set_to

    uri = client_uri(client)
    with tracking_uri_set_to(uri) if uri else contextlib.nullcontext():
        out = []
        for info in client.list_artifacts(run_id, path):
            out += artifact_paths(client, run_id, info.path) if info.is_dir else [info.path]
    return sorted(out)


def report_files(client, run_id: str) -> set[str]:
    """The files of the report logged on run ``run_id`` (relative to its
    ``report/<version>/`` path, which the tag ``mlflow_sweep.report.path`` names);
    empty when the run has no report."""
    from .tags import TAG_REPORT_PATH

    path = client.get_run(run_id).data.tags.get(TAG_REPORT_PATH)
    if not path:
        return set()
    return {p[len(path) + 1:] for p in artifact_paths(client, run_id, path)}


@dataclass
class Sweep:
    """What ``make_sweep`` logged."""

    experiment_id: str
    experiment_name: str
    run_ids: list = field(default_factory=list)
    store: SweepStore | None = None


def write_artifact(directory: pathlib.Path, path: str, value) -> None:
    """Write one artifact value to ``directory/path`` (see ``make_sweep``)."""
    target = directory / path
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(value, pathlib.Path):
        if value.is_dir():
            shutil.copytree(value, target, dirs_exist_ok=True)
        else:
            shutil.copyfile(value, target)
    elif isinstance(value, bytes):
        target.write_bytes(value)
    elif isinstance(value, str):
        target.write_text(value, encoding="utf-8")
    else:
        # json.dumps writes the bare NaN token for float('nan'), as research code does
        target.write_text(json.dumps(value, indent=2), encoding="utf-8")


def log_sweep(store: SweepStore | None, runs, experiment_name: str = "sweep",
              tracking_uri: str | None = None) -> Sweep:
    """Log a sweep through the real MLflow client (used by ``make_sweep``)."""
    import tempfile
    import time

    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    from .tracking.sink import tracking_uri_set_to

    uri = tracking_uri or store.tracking_uri
    client = MlflowClient(uri)
    if store is not None:
        exp_id = store.create_experiment(experiment_name)
    else:
        exp = client.get_experiment_by_name(experiment_name)
        exp_id = exp.experiment_id if exp else client.create_experiment(experiment_name)
    if isinstance(runs, int):
        runs = [{} for _ in range(runs)]
    sweep = Sweep(experiment_id=exp_id, experiment_name=experiment_name, store=store)
    for i, spec in enumerate(runs):
        tags = dict(spec.get("tags", {}))
        run = client.create_run(exp_id, run_name=spec.get("run_name", f"run-{i}"), tags=tags)
        run_id = run.info.run_id
        now = int(time.time() * 1000)
        params = [Param(str(k), str(v)) for k, v in spec.get("params", {}).items()]
        # a list of values is a history: one point per step 0, 1, ...
        metrics = [Metric(str(k), float(x), now + step, step) for k, v in spec.get("metrics", {}).items()
                   for step, x in (enumerate(v) if isinstance(v, (list, tuple)) else [(0, v)])]
        for start in range(0, max(len(params), len(metrics), 1), 100):
            client.log_batch(run_id, metrics=metrics[start:start + 100],
                             params=params[start:start + 100], tags=[])
        artifacts = spec.get("artifacts", {})
        if artifacts:
            # MLflow 2.x resolves mlflow-artifacts:/ URIs against the current tracking URI
            with tempfile.TemporaryDirectory() as tmp, tracking_uri_set_to(uri):
                for path, value in artifacts.items():
                    write_artifact(pathlib.Path(tmp), path, value)
                client.log_artifacts(run_id, tmp)
        client.set_terminated(run_id, status=spec.get("status", "FINISHED"))
        sweep.run_ids.append(run_id)
    return sweep


@pytest.fixture(scope="session")
def sweep_store_template(tmp_path_factory) -> pathlib.Path:
    """An empty, fully migrated MLflow sqlite database, made once per session.

    Creating a store runs MLflow's schema migrations (about a second); copying a
    migrated file takes milliseconds, so every ``sweep_store`` starts from a copy.
    """
    from mlflow.tracking import MlflowClient

    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


def _fresh_database(template: pathlib.Path, target: pathlib.Path, artifact_root: pathlib.Path) -> None:
    import sqlite3

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
    from mlflow.tracking import fluent
    from mlflow.tracking._tracking_service import utils as tracking_utils

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
    import mlflow

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
    from .envvars import scoped_environ
    from .plugins import reset_plugin_manager

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


@pytest.fixture
def make_sweep(sweep_store):
    """``make_sweep(runs, experiment_name="sweep") -> Sweep``: log runs with artifacts."""

    def factory(runs, experiment_name: str = "sweep") -> Sweep:
        return log_sweep(sweep_store, runs, experiment_name)

    return factory


@pytest.fixture
def sweep_exporter(sweep_store):
    """``sweep_exporter(experiment_names=("sweep",), plugins=(), **options)`` ->
    ExportResult, exported in-process from the test's store."""
    from .export import export_sweep
    from .plugins import SweepPluginManager

    def export(experiment_names=("sweep",), plugins=(), load_entry_points=True, **options):
        if isinstance(experiment_names, str):
            experiment_names = (experiment_names,)
        pm = SweepPluginManager(extra_plugins=plugins, load_entry_points=load_entry_points)
        options.setdefault("tracking_uri", sweep_store.tracking_uri)
        options.setdefault("write", "output" in options)
        return export_sweep(experiment_names=experiment_names, plugin_manager=pm, **options)

    return export


@dataclass
class BadInputReport:
    """What :func:`check_bad_artifacts` saw: the export, each variant's run id and warnings."""

    result: object
    run_ids: dict
    warnings: dict

    def reason(self, name: str) -> str:
        """The messages of variant ``name``'s warnings, joined (for ``in`` checks)."""
        return "\n".join(w.message for w in self.warnings[name])

    def rows(self, name: str):
        """The table rows of variant ``name`` (or ``"good"``)."""
        df = self.result.df
        return df[df["run_id"] == self.run_ids[name]]


@pytest.fixture
def check_bad_artifacts(make_sweep, sweep_exporter):
    """``check_bad_artifacts(variants, good, paths=None, **export_options)`` -> BadInputReport.

    The contract every parser owes its users, checked in one call: ``variants`` maps a
    name to one run's ``artifacts`` (as for ``make_sweep``) with something broken;
    ``good`` is a run's artifacts with nothing broken. One run per variant plus a run
    named ``"good"`` is logged and exported, and this asserts that each broken run got
    at least one warning naming its run id and the artifact path (exactly the paths in
    ``paths[name]`` when given, a str or a set), that the good run got none, and that
    every run still has its row(s) in the table. Further checks go on the returned report.
    """

    def check(variants: dict, good: dict, paths: dict | None = None, **export_options) -> BadInputReport:
        names = [*variants, "good"]
        if len(set(names)) != len(names):
            raise ValueError('a variant may not be called "good"')
        sweep = make_sweep([{"run_name": name, "artifacts": arts}
                            for name, arts in [*variants.items(), ("good", good)]])
        ids = dict(zip(names, sweep.run_ids))
        result = sweep_exporter(**export_options)
        by_id: dict = {}
        for w in result.warnings:
            by_id.setdefault(w.run_id, []).append(w)
        assert not by_id.get(ids["good"]), [str(w) for w in by_id[ids["good"]]]
        warnings = {name: by_id.get(ids[name], []) for name in variants}
        for name, got in warnings.items():
            assert got, f"variant {name!r} gave no warning"
            for w in got:
                assert ids[name] in str(w) and w.path and w.path in str(w), (name, str(w))
            if paths and name in paths:
                want = {paths[name]} if isinstance(paths[name], str) else set(paths[name])
                assert {w.path for w in got} == want, (name, [str(w) for w in got])
        missing = set(ids.values()) - set(result.df["run_id"])
        assert not missing, f"runs lost from the table: {sorted(missing)}"
        return BadInputReport(result, ids, warnings)

    return check


@dataclass
class CliResult:
    """What ``sweep_cli`` saw: the exit code, both streams, and an exception the command
    raised (other than ``SystemExit``)."""

    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None = None

    def assert_success(self) -> "CliResult":
        """Assert the command exited 0 (the failure shows its output); returns ``self``,
        so ``sweep_cli("plugins", "--json").assert_success().stdout`` reads on."""
        __tracebackhide__ = True
        if self.exit_code != 0:
            shown = [f"mlflow-sweep exited with {self.exit_code}, not 0",
                     f"--- stdout ---\n{self.stdout.rstrip()}",
                     f"--- stderr ---\n{self.stderr.rstrip()}"]
            if self.exception is not None:
                shown.append(f"--- exception ---\n{self.exception!r}")
            raise AssertionError("\n".join(shown))
        return self


@pytest.fixture
def sweep_cli(sweep_store):
    """``sweep_cli(*args, env=None) -> CliResult``: run ``mlflow-sweep`` in-process."""
    import inspect

    from click.testing import CliRunner

    from .cli import main
    from .plugins import reset_plugin_manager

    kwargs = {}
    if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters:
        kwargs["mix_stderr"] = False  # click < 8.2

    def run(*args, env=None) -> CliResult:
        reset_plugin_manager()
        runner = CliRunner(**kwargs)
        result = runner.invoke(main, [str(a) for a in args], env=env, catch_exceptions=True)
        reset_plugin_manager()
        exc = result.exception if not isinstance(result.exception, SystemExit) else None
        return CliResult(result.exit_code, result.stdout, result.stderr, exc)

    return run


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
        import subprocess
        import sys
        import time
        import urllib.request

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
        import signal
        import subprocess

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
    import socket

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


# --- production stores: PostgreSQL and S3 ------------------------------------------------
#
# What the research teams run (``mlflow server --backend-store-uri postgresql://...
# --default-artifact-root s3://...``), made of throwaway parts: a PostgreSQL cluster in a
# temp dir (``initdb`` + ``pg_ctl``, 127.0.0.1, a free port), an S3 endpoint from moto's
# server mode, and MLflow talking to them through psycopg (``postgresql+psycopg://``) and
# boto3. Each part is started once per session, when a test first asks for it; a part
# that cannot be started skips the tests that need it, with the reason
# (``MLFLOW_SWEEP_REQUIRE_STORES=1``, as CI sets it, makes that a failure instead).

#: set to 1 to fail, not skip, a test whose PostgreSQL or S3 cannot be started
REQUIRE_STORES_ENV = "MLFLOW_SWEEP_REQUIRE_STORES"
#: the PostgreSQL binaries' directory, when not found by ``pg_config --bindir`` or under
#: /usr/lib/postgresql/*/bin
PG_BINDIR_ENV = "MLFLOW_SWEEP_PG_BINDIR"


class StoreUnavailable(RuntimeError):
    """A PostgreSQL cluster or an S3 endpoint could not be started (the reason)."""


def _unavailable(reason: str):
    """Skip the test with ``reason`` (fail it when ``$MLFLOW_SWEEP_REQUIRE_STORES`` is set)."""
    __tracebackhide__ = True
    if os.environ.get(REQUIRE_STORES_ENV, "").strip() not in ("", "0"):
        pytest.fail(f"{reason} (and {REQUIRE_STORES_ENV} is set)", pytrace=False)
    pytest.skip(reason)


def postgres_bindir() -> str | None:
    """The directory of ``initdb``/``pg_ctl``/``postgres``: ``$MLFLOW_SWEEP_PG_BINDIR``,
    ``pg_config --bindir``, the newest /usr/lib/postgresql/*/bin, else the ``initdb`` on
    PATH."""
    import glob
    import subprocess

    def complete(d):
        return d and all(os.access(os.path.join(d, b), os.X_OK) for b in ("initdb", "pg_ctl", "postgres"))

    candidates = [os.environ.get(PG_BINDIR_ENV)]
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            candidates.append(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                             timeout=30).stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass

    def version(path):
        try:
            return int(path.split("/")[-2])
        except ValueError:
            return -1

    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    initdb = shutil.which("initdb")
    candidates.append(os.path.dirname(initdb) if initdb else None)
    return next((d for d in candidates if complete(d)), None)


class PostgresCluster:
    """A throwaway PostgreSQL cluster: ``initdb`` in a temp dir, ``pg_ctl start`` on
    127.0.0.1 and a free port (trust authentication, user ``mlflow``, fsync off for speed;
    committed transactions survive a server crash), ``stop()`` removes it all.

    As root, the server binaries run as the ``postgres`` user (``runuser``), as PostgreSQL
    refuses to run as root. :meth:`mlflow_database` gives a fresh, migrated MLflow
    database in a fraction of a second (a copy of a template migrated once).
    """

    user = "mlflow"

    def __init__(self, bindir: str | None = None):
        self.bindir = bindir or postgres_bindir()
        self.port: int | None = None
        self.root: str | None = None
        self._run_as: list = []
        self._template_ready = False
        self._counter = 0

    # -- lifecycle -------------------------------------------------------------------
    def _run(self, *args, timeout=120):
        import subprocess

        return subprocess.run([*self._run_as, *map(str, args)], capture_output=True, text=True,
                              timeout=timeout, cwd=self.root)

    def start(self) -> "PostgresCluster":
        import tempfile

        if self.bindir is None:
            raise StoreUnavailable("no PostgreSQL server binaries (initdb, pg_ctl, postgres) found: "
                                   "install Debian's postgresql package or set " + PG_BINDIR_ENV)
        try:
            import psycopg  # noqa: F401 - MLflow's driver here (postgresql+psycopg://)
        except ImportError:
            raise StoreUnavailable("psycopg is not installed (pip install 'psycopg[binary]')") from None
        owner = None
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            import pwd

            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise StoreUnavailable("running as root and there is no 'postgres' user to run "
                                       "PostgreSQL as (it refuses to run as root)") from None
            runuser = shutil.which("runuser")
            if runuser is None:
                raise StoreUnavailable("running as root and no runuser to start PostgreSQL as 'postgres'")
            self._run_as = [runuser, "-u", "postgres", "--"]
        # not under pytest's tmp dir: that is private to this user, and the server may be another
        self.root = tempfile.mkdtemp(prefix="mlflow-sweep-pg-")
        if owner is not None:
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        os.chmod(self.root, 0o700)
        data = os.path.join(self.root, "data")
        init = self._run(os.path.join(self.bindir, "initdb"), "-D", data, "-U", self.user, "-A", "trust",
                         "-E", "UTF8", "--locale=C", "-N")
        if init.returncode != 0:
            self.stop()
            raise StoreUnavailable(f"initdb failed: {(init.stderr or init.stdout).strip()[-500:]}")
        last = ""
        for _ in range(3):  # a free port can be taken between choosing it and binding it
            self.port = free_port()
            started = self._pg_ctl_start()
            if started.returncode == 0:
                return self
            last = self.log_tail() or started.stderr
        self.stop()
        raise StoreUnavailable(f"PostgreSQL did not start: {last.strip()[-500:]}")

    def log_tail(self, n: int = 2000) -> str:
        try:
            with open(os.path.join(self.root, "server.log"), errors="replace") as fh:
                return fh.read()[-n:]
        except (OSError, TypeError):
            return ""

    def stop(self) -> None:
        """Stop the server and remove the cluster's directory."""
        if self.root is None:
            return
        data = os.path.join(self.root, "data")
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            self._run(os.path.join(self.bindir, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop",
                      timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def restart(self) -> None:
        """Stop and start the server on the same port (what a crash and a restart look
        like to clients: their connections are gone)."""
        data = os.path.join(self.root, "data")
        pg_ctl = os.path.join(self.bindir, "pg_ctl")
        self._run(pg_ctl, "-D", data, "-m", "immediate", "-w", "stop", timeout=60)
        self.start_again()

    def stop_server(self) -> None:
        """Stop the server only (the data stays): clients cannot connect until
        :meth:`start_again`."""
        self._run(os.path.join(self.bindir, "pg_ctl"), "-D", os.path.join(self.root, "data"),
                  "-m", "immediate", "-w", "stop", timeout=60)

    def _pg_ctl_start(self):
        # fsync off: the machine does not crash under a test, only the server does (an
        # immediate stop), and the OS keeps what was written. synchronous_commit stays on:
        # a commit the client saw must survive that stop, as on a real server (with it off,
        # the run a job created just before an outage could vanish).
        options = (f"-h 127.0.0.1 -p {self.port} -k {self.root} -F -c fsync=off "
                   "-c full_page_writes=off -c max_connections=300")
        return self._run(os.path.join(self.bindir, "pg_ctl"), "-D", os.path.join(self.root, "data"),
                         "-l", os.path.join(self.root, "server.log"), "-w", "-t", "60", "-o", options,
                         "start")

    def start_again(self) -> None:
        started = self._pg_ctl_start()
        if started.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start again: {self.log_tail(500)}")

    # -- databases -------------------------------------------------------------------
    def uri(self, database: str) -> str:
        """The SQLAlchemy URI MLflow uses for ``database`` (psycopg 3 as the driver)."""
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str, params=None, database: str = "postgres"):
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=self.user, dbname=database,
                             autocommit=True, connect_timeout=30) as con:
            cur = con.execute(sql, params)
            return cur.fetchall() if cur.description else None

    def create_database(self, name: str | None = None, template: str | None = None) -> str:
        """A new empty database (a copy of ``template`` when given); returns its name."""
        self._counter += 1
        name = name or f"db_{os.getpid()}_{self._counter}"
        self.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, closing whatever connections are still open to it."""
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _mlflow_template(self) -> str:
        name = "mlflow_template"
        if not self._template_ready:
            from mlflow.tracking import MlflowClient

            self.create_database(name)
            MlflowClient(self.uri(name)).search_experiments()  # MLflow's schema migrations, once
            # a template may have no open connection when it is copied: close MLflow's
            self.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
            self.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
            self._template_ready = True
        return name

    def mlflow_database(self, default_artifact_location: str | None = None) -> str:
        """A fresh, migrated MLflow database; returns its URI. ``default_artifact_location``
        becomes the Default experiment's (else it would be ./mlruns/0 of whoever migrated)."""
        name = self.create_database(template=self._mlflow_template())
        if default_artifact_location:
            self.execute("UPDATE experiments SET artifact_location = %s WHERE experiment_id = 0",
                         (default_artifact_location,), database=name)
        return self.uri(name)


class MotoS3Server:
    """An S3 HTTP endpoint from moto's server mode (``python -m moto.server``) on a free
    127.0.0.1 port, in its own process; :meth:`env` gives what a client needs to use it
    (``MLFLOW_S3_ENDPOINT_URL`` and dummy credentials, no profile or instance metadata)."""

    access_key = "mlflow-sweep-test-key"
    secret_key = "mlflow-sweep-test-secret"
    region = "us-east-1"

    def __init__(self, root: pathlib.Path | None = None):
        import tempfile

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
        import importlib.util
        import subprocess
        import sys
        import time
        import urllib.error
        import urllib.request

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
        import signal
        import subprocess

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
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url, aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key, region_name=self.region)

    def create_bucket(self, name: str | None = None) -> str:
        import uuid

        self._counter += 1
        name = name or f"sweep-{self._counter}-{uuid.uuid4().hex[:8]}"
        self.client().create_bucket(Bucket=name)
        return name


@pytest.fixture(scope="session")
def postgres_cluster():
    """A throwaway PostgreSQL cluster for the session (see :class:`PostgresCluster`);
    the test skips, with the reason, when it cannot be started."""
    cluster = PostgresCluster()
    try:
        cluster.start()
    except StoreUnavailable as exc:
        _unavailable(f"PostgreSQL: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server for the session (see :class:`MotoS3Server`); the test skips,
    with the reason, when it cannot be started."""
    server = MotoS3Server()
    try:
        server.start()
    except StoreUnavailable as exc:
        _unavailable(f"S3 (moto): {exc}")
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
    import uuid

    from mlflow.tracking import MlflowClient

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
                import sqlite3

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
