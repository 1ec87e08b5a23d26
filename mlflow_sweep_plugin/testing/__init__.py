"""pytest fixtures for parser-plugin authors (and for mlflow-sweep's own tests).

Installing mlflow-sweep-plugin registers this package with pytest (the ``pytest11`` entry
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
  ``postgresql+psycopg://`` URI; ``postgresql+psycopg2://`` on MLflow 2.x), ``s3_server``
  (moto's S3 server, :class:`MotoS3Server`),
  ``s3_bucket`` (a new bucket, ``MLFLOW_S3_ENDPOINT_URL`` and dummy AWS credentials set
  for the test), and ``sweep_store_factory(backend="postgresql", artifacts="s3",
  server=False, current=False)``: the client straight to PostgreSQL with ``s3://``
  artifacts, or (``server=True``) an ``mlflow server`` on them proxying the artifacts
  (``mlflow-artifacts:/``); ``current=True`` makes it the test's store as ``sweep_store``
  does.

One module per job: :mod:`.store` (``sweep_store``), :mod:`.sweeps` (logging a sweep,
``make_sweep``), :mod:`.checks` (``sweep_exporter``, ``check_bad_artifacts``), :mod:`.cli`
(``sweep_cli``), :mod:`.server` (``mlflow server``), :mod:`.unavailable` (skip or fail),
:mod:`.postgres`, :mod:`.s3`, :mod:`.deployments` (``sweep_store_factory``), :mod:`.versions`
(``mlflow_major()``: where the harness and tests adapt to MLflow 2.x). This module
registers them all: pytest collects the fixtures it imports.

Only ``pytest`` and the standard library are imported at module level (MLflow, click,
boto3 and psycopg when a test uses them), so having this plugin installed costs other
test suites nothing.
"""

from __future__ import annotations

from .checks import BadInputReport, check_bad_artifacts, sweep_exporter
from .cli import CliResult, sweep_cli
from .deployments import _shared_mlflow_servers, sweep_store_factory
from .postgres import PG_BINDIR_ENV, PostgresCluster, mlflow_postgres_driver, postgres_bindir, postgres_cluster
from .s3 import MotoS3Server, S3Bucket, s3_bucket, s3_server
from .server import MlflowServer, free_port, mlflow_server, mlflow_server_factory
from .store import SweepStore, sqlite_store, sweep_store, sweep_store_template
from .sweeps import Sweep, artifact_paths, log_sweep, make_sweep, report_files, write_artifact
from .unavailable import REQUIRE_STORES_ENV, StoreUnavailable
from .versions import mlflow_major

__all__ = ["BadInputReport", "CliResult", "MlflowServer", "MotoS3Server", "PG_BINDIR_ENV", "PostgresCluster",
           "REQUIRE_STORES_ENV", "S3Bucket", "StoreUnavailable", "Sweep", "SweepStore", "_shared_mlflow_servers",
           "artifact_paths", "check_bad_artifacts", "free_port", "log_sweep", "make_sweep", "mlflow_major",
           "mlflow_postgres_driver", "mlflow_server",
           "mlflow_server_factory", "postgres_bindir", "postgres_cluster", "report_files", "s3_bucket", "s3_server",
           "sqlite_store", "sweep_cli",
           "sweep_exporter", "sweep_store", "sweep_store_factory", "sweep_store_template", "write_artifact"]
