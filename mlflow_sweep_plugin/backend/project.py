"""``mlflow run PROJECT --backend sweep --backend-config CONFIG``: MLflow's side of it.

The ``mlflow.project_backend`` entry point ``sweep`` is :class:`SweepBackend`: MLflow
constructs it with no arguments and calls :meth:`SweepBackend.run`. It checks the config
(:mod:`.config`) and the entry point's params for the space (:mod:`.plan`), picks the
executor (:mod:`.executors`), opens the parent (taking the sweep's one-controller lock)
and hands the rest to a :class:`~.runner.SweepRunner` in a thread. Every bad input is
refused before any run or parent is created.

``mlflow run`` only waits for its local backend; for a plugin backend it returns as soon
as ``run`` does. So when called from the ``mlflow run`` command we wait here and raise
``ExecutionException`` when a child failed (``mlflow run`` then exits 1). Called from
``mlflow.projects.run`` we return a :class:`~.runner.SweepSubmittedRun` at once, which
that function waits on when ``synchronous=True``.

A second controller of a sweep whose controller is alive is refused: from the ``mlflow
run`` command with one line naming the live controller's host and process and exit code
2 (MLflow's CLI would turn an exception into exit 1, so the backend exits itself);
through ``mlflow.projects.run`` as :class:`~mlflow_sweep_plugin.search.controller.ControllerBusy`.

With ``--env-manager local`` the entry point's ``python`` is whatever ``python`` is first
on ``PATH``. The sweep puts the directory of the interpreter running ``mlflow run`` first
on the children's ``PATH``, so they use the same Python (and this package) even when the
virtualenv was not activated.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import sys

import click
from mlflow.exceptions import ExecutionException
from mlflow.projects.backend.abstract_backend import AbstractBackend
from mlflow.projects.utils import fetch_and_validate_project, get_git_commit, load_project
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import (MLFLOW_GIT_COMMIT, MLFLOW_PROJECT_ENTRY_POINT, MLFLOW_SOURCE_NAME,
                                      MLFLOW_SOURCE_TYPE, MLFLOW_USER)

from ..console import eprint, printing_warnings
from ..search.controller import ControllerBusy
from ..stores import ensure_sqlite_store
from .config import SweepConfigError, parse_backend_config, sweep_name_problem, typed_value
from .executors import make_executor
from .executors.submitit_config import SubmititConfigError
from .plan import declared_types, logged_params, run_name, samples, typed_spec
from .runner import SweepRunner, SweepSubmittedRun


def _called_from_mlflow_run_command() -> bool:
    """Whether ``mlflow run`` (the CLI command) is the caller: it does not wait for
    plugin backends, so we must block for the sweep to finish and set the exit code."""
    try:
        ctx = click.get_current_context(silent=True)
        cli = sys.modules.get("mlflow.cli")
        return ctx is not None and cli is not None and ctx.command is getattr(cli, "run", None)
    except Exception:  # noqa: BLE001
        return False


def source_tags(project_uri: str, work_dir: str, entry_point: str) -> dict:
    tags = {MLFLOW_SOURCE_NAME: project_uri, MLFLOW_SOURCE_TYPE: "PROJECT",
            MLFLOW_PROJECT_ENTRY_POINT: entry_point}
    with contextlib.suppress(Exception):
        tags[MLFLOW_USER] = getpass.getuser()
    with contextlib.suppress(Exception):
        commit = get_git_commit(work_dir)
        if commit:
            tags[MLFLOW_GIT_COMMIT] = commit
    return tags


def default_sweep_name(project, project_uri: str, entry_point: str) -> str:
    name = getattr(project, "name", None)
    if not name:
        path = project_uri.split("#", 1)[0].rstrip("/\\")
        name = os.path.basename(path) or "project"
    return f"{name}:{entry_point}"


class SweepBackend(AbstractBackend):
    """The ``sweep`` project backend (see the module docstring)."""

    def run(self, project_uri, entry_point, params, version, backend_config, tracking_uri,
            experiment_id):
        from_cli = _called_from_mlflow_run_command()
        with printing_warnings():
            try:
                runner = self.prepare(project_uri, entry_point, params, version, backend_config,
                                      tracking_uri, experiment_id)
            except ControllerBusy as exc:
                if not from_cli:
                    raise
                eprint(f"mlflow-sweep: error: {exc}")
                sys.exit(ControllerBusy.exit_code)
            if from_cli:
                runner.caller_prints_warnings = True
                submitted = SweepSubmittedRun(runner)
                self._wait(submitted)
                return submitted
        # from mlflow.projects.run: the sweep's thread prints its own warnings (started
        # after our printing ended, so that the two never undo each other)
        return SweepSubmittedRun(runner)

    @staticmethod
    def prepare(project_uri, entry_point, params, version, backend_config, tracking_uri,
                experiment_id) -> SweepRunner:
        """Check the config and the entry point's params, then create (or reopen) the
        parent run and rebuild the engine."""
        try:
            config = parse_backend_config(backend_config)
        except SweepConfigError as exc:
            raise ExecutionException(f"sweep backend config: {exc}") from None
        params = dict(params or {})
        # validate with a configuration merged in: a required param may come from the space
        first = dict(params, **{k: str(v) for k, v in samples(config.spec)[0].items()})
        work_dir = fetch_and_validate_project(project_uri, version, entry_point, first)
        project = load_project(work_dir)
        entry = project.get_entry_point(entry_point)
        spec = typed_spec(config.spec, entry, entry_point)
        types = declared_types(entry)
        for i, sample in enumerate(samples(spec)):  # a value MLflow refuses: before anything runs
            texts = {k: typed_value(v, types.get(k))[0] for k, v in sample.items()}
            label = f"grid point {i}" if spec.strategy == "grid" else "space"
            logged_params(entry, dict(params, **texts), f"{label} ({run_name(texts)})")
        ensure_sqlite_store(tracking_uri)  # a new sqlite file: created once, under a lock
        sweep_name = config.sweep_name or default_sweep_name(project, project_uri, entry_point)
        if sweep_name_problem(sweep_name):  # a project directory's name with both quotes
            raise ExecutionException(f"sweep backend config: {sweep_name_problem(sweep_name)}")
        try:  # refused settings: before any run is made
            executor = make_executor(config.executor, config.submitit, sweep_name)
        except SubmititConfigError as exc:
            raise ExecutionException(f"sweep backend config: {exc}") from None
        if config.report is not None and not config.report.get("objective") and spec.objective:
            config.report = {"objective": f"metrics.{spec.objective.metric}", "mode": spec.objective.mode}
        context = {"project_uri": project_uri, "entry_point": entry_point, "version": version,
                   "params": params, **config.backend_keys()}
        runner = SweepRunner(
            client=MlflowClient(tracking_uri), tracking_uri=tracking_uri,
            experiment_id=experiment_id, work_dir=work_dir, entry_point=entry_point, params=params,
            config=config, spec=spec, entry=entry, types=types, sweep_name=sweep_name,
            source_tags=source_tags(project_uri, work_dir, entry_point), executor=executor,
            context=context)
        runner.start_parent()
        return runner

    @staticmethod
    def _wait(submitted: SweepSubmittedRun) -> None:
        """For the ``mlflow run`` command: wait for the sweep; a failed grid point is an
        ``ExecutionException`` (``mlflow run`` exits 1)."""
        runner = submitted._runner
        try:
            ok = submitted.wait()
        except KeyboardInterrupt:
            submitted.cancel()
            raise
        if not ok:
            reason = runner.error or runner.failure_summary()
            raise ExecutionException(f"Sweep {runner.sweep_name!r} (parent run {runner.parent_id}) "
                                     f"{runner.final_status}: {reason}")
