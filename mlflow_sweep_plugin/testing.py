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
    """A tracking store that lives for one test."""

    root: pathlib.Path
    tracking_uri: str
    artifact_root: pathlib.Path

    @property
    def client(self):
        from mlflow.tracking import MlflowClient

        return MlflowClient(self.tracking_uri)

    def create_experiment(self, name: str) -> str:
        client = self.client
        exp = client.get_experiment_by_name(name)
        if exp is not None:
            return exp.experiment_id
        location = (self.artifact_root / name.replace("/", "_")).as_uri()
        return client.create_experiment(name, artifact_location=location)

    def use_experiment(self, name: str = "sweep") -> str:
        """Create ``name`` in this store (its artifacts stay under the test's directory,
        not ./mlruns) and make it MLflow's current experiment; returns its id."""
        import mlflow

        exp_id = self.create_experiment(name)
        mlflow.set_experiment(name)
        return exp_id


def artifact_paths(client, run_id: str, path: str | None = None) -> list[str]:
    """Every artifact file of run ``run_id`` (under ``path``), sorted."""
    out = []
    for info in client.list_artifacts(run_id, path):
        out += artifact_paths(client, run_id, info.path) if info.is_dir else [info.path]
    return sorted(out)


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
        metrics = [Metric(str(k), float(v), now, 0) for k, v in spec.get("metrics", {}).items()]
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


@pytest.fixture
def sweep_store(tmp_path, monkeypatch, sweep_store_template):
    """A throwaway sqlite tracking store with local artifacts, current for this test."""
    import mlflow

    root = tmp_path / "mlflow-store"
    root.mkdir()
    store = SweepStore(root=root, tracking_uri=f"sqlite:///{root / 'mlflow.db'}",
                       artifact_root=root / "artifacts")
    store.artifact_root.mkdir()
    _fresh_database(sweep_store_template, root / "mlflow.db", store.artifact_root)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.tracking_uri)
    # the export cache of ended runs lives with the store, never in the user's cache dir
    monkeypatch.setenv("MLFLOW_SWEEP_CACHE_DIR", str(root / "sweep-cache"))
    # experiments created without an artifact location (mlflow.set_experiment) store under
    # the test's root, not ./mlruns in the working directory (MLflow 3.x reads this variable)
    monkeypatch.setenv("_MLFLOW_SERVER_ARTIFACT_ROOT", store.artifact_root.as_uri())
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
    """A real ``mlflow server`` on 127.0.0.1 (sqlite backend, ``--serve-artifacts``).

    ``stop()`` and ``start()`` may be called mid-test (same port, same store) to test
    what happens when the tracking server goes away and comes back.
    """

    def __init__(self, root: pathlib.Path, port: int | None = None):
        self.root = pathlib.Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.backend_uri = f"sqlite:///{self.root / 'server.db'}"
        self.artifacts_dir = self.root / "server-artifacts"
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
               "--serve-artifacts", "--artifacts-destination", str(self.artifacts_dir),
               "--workers", "1"]
        env = dict(os.environ)
        env.pop("MLFLOW_TRACKING_URI", None)
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
def mlflow_server_factory(tmp_path):
    """``mlflow_server_factory() -> MlflowServer``: a private server for this test
    (to kill and restart freely); every one started is stopped after the test."""
    servers = []

    def factory(start: bool = True) -> MlflowServer:
        server = MlflowServer(tmp_path / f"server-{len(servers)}")
        servers.append(server)
        return server.start() if start else server

    yield factory
    for server in servers:
        server.stop()
