"""``mlflow run PROJECT --backend sweep --backend-config CONFIG``: a grid sweep of an MLproject.

The ``mlflow.project_backend`` entry point ``sweep``. MLflow constructs
:class:`SweepBackend` with no arguments and calls :meth:`SweepBackend.run`. We create
one parent run, then run every grid point (see :mod:`.backend_config`) as a child run of
the project's entry point through MLflow's own ``LocalBackend`` (so ``--env-manager``,
conda/virtualenv/docker projects and ``path`` params behave as with ``mlflow run``),
with the grid values merged over ``-P``.

Each child gets the sweep tags and ``mlflow.parentRunId`` (the UI nests it under the
parent), and its process gets the sweep environment variables, so runs the job itself
creates are tagged too (:mod:`.context`). When a child ends, its status is set from the
exit code and its artifacts are flattened into metrics by the registered parsers. A
failing child is FAILED and the sweep goes on; the parent records the counts, gets the
sweep's export table (``sweep_table.csv``) and ends FAILED if any child failed.

``mlflow run`` only waits for its local backend; for a plugin backend it returns as soon
as ``run`` does. So when called from the ``mlflow run`` command we wait here and raise
``ExecutionException`` when a child failed (``mlflow run`` then exits 1). Called from
``mlflow.projects.run`` we return a :class:`SweepSubmittedRun` at once, which that
function waits on when ``synchronous=True``.

With ``--env-manager local`` the entry point's ``python`` is whatever ``python`` is first
on ``PATH``. The sweep puts the directory of the interpreter running ``mlflow run`` first
on the children's ``PATH``, so they use the same Python (and this package) even when the
virtualenv was not activated.

Talking to the user: status lines through :func:`~mlflow_sweep_plugin.console.say`;
problems as :class:`~mlflow_sweep_plugin.warning_types.SweepWarning` warnings, printed one
``mlflow-sweep: warning: ...`` line each while the backend runs
(:func:`~mlflow_sweep_plugin.console.printing_warnings`, around :meth:`SweepBackend.run`
and the sweep's thread).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time

from mlflow.projects.backend.abstract_backend import AbstractBackend
from mlflow.projects.submitted_run import SubmittedRun

from ..console import printing_warnings
from ..console import say as _say
from ..failures import hide_run_urls
from ..uri import redact_text
from ..warning_types import warn as _warn
from .backend_config import grid_points, typed_value
from .job_output import capturing_output
from .sweep_runs import TAG_ERROR, TAG_EXIT_CODE, TAG_SWEEP_ID, point_key

POLL_SECONDS = 0.2
_ENV_LOCK = threading.Lock()


@contextlib.contextmanager
def _environ(updates: dict):
    """Set environment variables while MLflow's local backend starts a child (it copies
    ``os.environ`` into the child and has no other way to add variables)."""
    from ..envvars import scoped_environ

    with _ENV_LOCK, scoped_environ(updates):
        yield


def _called_from_mlflow_run_command() -> bool:
    """Whether ``mlflow run`` (the CLI command) is the caller: it does not wait for
    plugin backends, so we must block for the sweep to finish and set the exit code."""
    try:
        import click

        ctx = click.get_current_context(silent=True)
        cli = sys.modules.get("mlflow.cli")
        return ctx is not None and cli is not None and ctx.command is getattr(cli, "run", None)
    except Exception:  # noqa: BLE001
        return False


def _point_key(point: dict) -> str:
    """The tag ``mlflow_sweep.point``: the grid values as sorted JSON."""
    return point_key(point)


def _run_name(point: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in point.items())


class _Child:
    def __init__(self, index: int, point: dict, params: dict):
        self.index = index
        self.point = point
        self.params = params  # grid values merged over -P
        self.logged_params: dict = {}  # what the entry point makes of them (logged on the run)
        self.run_id: str | None = None
        self.submitted = None
        self.status: str | None = None
        self.reason: str | None = None  # why a submitit job the cluster killed ended
        self.output = (None, None)  # OutputTail of its stdout and stderr (job_output.py)


class SweepSubmittedRun(SubmittedRun):
    """The parent run of a sweep, running in a background thread."""

    def __init__(self, runner: "_SweepRunner"):
        super().__init__()
        self._runner = runner
        self._thread = threading.Thread(target=runner.run, name=f"mlflow-sweep-{runner.parent_id}",
                                        daemon=False)
        self._thread.start()

    @property
    def run_id(self):
        return self._runner.parent_id

    def wait(self):
        while self._thread.is_alive():
            self._thread.join(timeout=0.5)
        return self._runner.final_status == "FINISHED"

    def get_status(self):
        if self._thread.is_alive():
            return "RUNNING"
        return self._runner.final_status or "FAILED"

    def cancel(self):
        self._runner.cancel()
        while self._thread.is_alive():
            self._thread.join(timeout=0.5)


class _SweepRunner:
    """Plans, runs and records one sweep (the work behind :class:`SweepSubmittedRun`)."""

    def __init__(self, *, client, tracking_uri, experiment_id, work_dir, project, entry_point,
                 params, config, sweep_name, source_tags):
        self.client = client
        self.tracking_uri = tracking_uri
        hide_run_urls(tracking_uri)  # MLflow's "View run ... at: <URI>" never shows credentials
        self.experiment_id = str(experiment_id)
        self.work_dir = work_dir
        self.project = project
        self.entry_point = entry_point
        self.params = dict(params)
        self.config = config
        self.sweep_name = sweep_name
        self.source_tags = source_tags
        self.parent_id: str | None = None
        self.sweep_id: str | None = None
        self.children: list[_Child] = []
        self.skipped: list[_Child] = []
        self.superseded: dict[str, list[str]] = {}  # point key -> old failed child run ids
        self.final_status: str | None = None
        self.error: str | None = None
        self.caller_prints_warnings = False  # the caller waits inside printing_warnings()
        self.told: set = set()  # warnings told (the sweep table does not repeat them)
        self.executor = None  # a submitit.AutoExecutor with "executor": "submitit"; None: local processes
        self._cancel = threading.Event()

    # -- planning (in the caller's thread: errors surface as ExecutionException) --------
    def plan(self) -> None:
        from mlflow.exceptions import ExecutionException

        entry = self.project.get_entry_point(self.entry_point)
        for index, point in enumerate(grid_points(self._checked_grid(entry))):
            merged = dict(self.params)
            merged.update(point)
            child = _Child(index, point, merged)
            if entry is not None:
                try:
                    final, extra = entry.compute_parameters(merged, storage_dir=None)
                except ExecutionException as exc:
                    raise ExecutionException(f"sweep grid point {index} ({_run_name(point)}): {exc}") from None
                child.logged_params = {**final, **extra}
            self.children.append(child)

    def _checked_grid(self, entry) -> dict:
        """The grid with each value as the text its declared parameter type gives it
        (:func:`~.backend_config.typed_value`), after warning about keys the entry point
        does not declare (MLflow passes them to the command as ``--key value``, which
        the script may ignore or refuse) and values that do not fit their type."""
        grid = self.config.grid
        if entry is None:
            return grid
        declared = dict(entry.parameters)
        is_file = os.path.splitext(self.entry_point)[1] in (".py", ".sh", ".R")
        if declared or not is_file:  # a script run as a file declares nothing: no news
            names = ", ".join(declared) or "none"
            for key in grid:
                if key not in declared:
                    _warn(f"grid key {key!r} is not a parameter of entry point {self.entry_point!r} "
                          f"(it declares: {names}); MLflow passes it to the command as --{key} VALUE")
        out = {}
        for key, values in grid.items():
            param = declared.get(key)
            texts = []
            for value in values:
                text, problem = typed_value(value, param.type if param is not None else None)
                if problem:
                    _warn(f"grid value {value!r} of {key!r} {problem}, but entry point "
                          f"{self.entry_point!r} declares {key} as {param.type}; passed as {text!r}")
                texts.append(text)
            out[key] = texts
        return out

    def start_parent(self) -> str:
        from mlflow.utils.mlflow_tags import MLFLOW_PROJECT_BACKEND

        from .sweep_runs import (TAG_KIND, TAG_POINT, TAG_ROLE, TAG_SUPERSEDED, TAG_SWEEP_NAME,
                                 create_parent, find_runs, new_sweep_id, reopen)

        tags = dict(self.source_tags)
        tags.update({MLFLOW_PROJECT_BACKEND: "sweep",
                     "mlflow_sweep.grid": json.dumps(self.config.grid)[:5000],
                     "mlflow_sweep.fixed_params": json.dumps(self.params)[:5000]})
        parent = None
        if self.config.resume:
            parents = find_runs(self.client, self.experiment_id,
                                {TAG_SWEEP_NAME: self.sweep_name, TAG_ROLE: "parent",
                                 TAG_KIND: "mlflow-run"})
            if parents:
                parent = parents[-1]
            done, failed = {}, {}
            runs = find_runs(self.client, self.experiment_id,
                             {TAG_SWEEP_NAME: self.sweep_name, TAG_ROLE: "child"})
            if parent is not None:
                self._keep_indexes(runs, parent.data.tags.get(TAG_SWEEP_ID))
            for run in runs:
                key = run.data.tags.get(TAG_POINT)
                if key is None or TAG_SUPERSEDED in run.data.tags:
                    continue
                if run.info.status == "FINISHED":
                    done.setdefault(key, run.info.run_id)
                else:
                    failed.setdefault(key, []).append(run.info.run_id)
            todo = []
            for child in self.children:
                key = _point_key(child.point)
                if key in done:
                    child.run_id, child.status = done[key], "FINISHED"
                    self.skipped.append(child)
                else:
                    if key in failed:
                        self.superseded[key] = failed[key]
                    todo.append(child)
            self.children = todo
        if parent is not None:
            self.parent_id = parent.info.run_id
            self.sweep_id = parent.data.tags.get("mlflow_sweep.sweep_id") or new_sweep_id()
            reopen(self.client, self.parent_id)
            from mlflow.entities import RunTag

            self.client.log_batch(self.parent_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])
        else:
            self.sweep_id = new_sweep_id()
            run = create_parent(self.client, self.experiment_id, self.sweep_id, self.sweep_name,
                                kind="mlflow-run", tags=tags)
            self.parent_id = run.info.run_id
        return self.parent_id

    def _keep_indexes(self, runs, sweep_id: str | None) -> None:
        """A resumed sweep: each grid point keeps the ``mlflow_sweep.index`` it first got
        in this sweep (found by its ``mlflow_sweep.point``); points new to the grid get
        indexes after the highest one used, in grid order. So indexes never collide
        within a sweep, however the grid grows or is reordered."""
        from .sweep_runs import TAG_POINT, TAG_SWEEP_INDEX

        first: dict = {}
        highest = -1
        for run in runs:  # oldest first
            if sweep_id is None or run.data.tags.get(TAG_SWEEP_ID) != sweep_id:
                continue
            try:
                index = int(run.data.tags.get(TAG_SWEEP_INDEX, ""))
            except ValueError:
                continue
            highest = max(highest, index)
            key = run.data.tags.get(TAG_POINT)
            if key is not None:
                first.setdefault(key, index)
        for child in self.children:
            key = _point_key(child.point)
            if key in first:
                child.index = first[key]
            else:
                highest += 1
                child.index = highest

    # -- running (in the background thread) --------------------------------------------
    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> None:
        # warnings are printed by whoever waits: the ``mlflow run`` command's thread, or
        # this one (two nested catch_warnings in two threads would undo each other)
        printing = contextlib.nullcontext() if self.caller_prints_warnings else printing_warnings()
        with printing:
            self._run_recorded()

    def _run_recorded(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # noqa: BLE001 - record, end the parent, never hang
            self.error = f"{type(exc).__name__}: {exc}"
            _say(f"sweep {self.sweep_name!r} stopped: {self.error}")
            self.final_status = "FAILED"
            with contextlib.suppress(Exception):
                self.client.set_terminated(self.parent_id, status="FAILED")

    def _run(self) -> None:
        from .sweep_runs import finish_parent, find_runs, TAG_SUPERSEDED, TAG_SWEEP_ID

        n_total = len(self.children) + len(self.skipped)
        _say(f"sweep {self.sweep_name!r}: parent run {self.parent_id}, {n_total} grid point(s)"
             + (f", {len(self.skipped)} already finished (resume)" if self.skipped else "")
             + f", max_parallel {self.config.max_parallel}")
        pending = list(self.children)
        running: list[_Child] = []
        while pending or running:
            if self._cancel.is_set():
                for child in running:
                    with contextlib.suppress(Exception):
                        child.submitted.cancel()
                    self._end_child(child, "KILLED")
                for child in pending:
                    child.status = "KILLED"
                break
            while pending and len(running) < self.config.max_parallel:
                child = pending.pop(0)
                self._start_child(child)
                if child.submitted is not None:
                    running.append(child)
            time.sleep(POLL_SECONDS if running else 0)
            for child in list(running):
                done, code, status = self._poll(child)
                if not done:
                    continue
                running.remove(child)
                self._end_child(child, status, exit_code=code)
        ran = [c for c in self.children if c.status is not None]
        n_failed = sum(1 for c in ran if c.status != "FINISHED")
        exclude = []
        for run in find_runs(self.client, self.experiment_id, {TAG_SWEEP_ID: self.sweep_id}):
            if TAG_SUPERSEDED in run.data.tags:
                exclude.append(run.info.run_id)
        status = "KILLED" if self._cancel.is_set() else None
        self.final_status = finish_parent(
            self.client, self.experiment_id, self.parent_id, self.sweep_id,
            n_children=n_total, n_failed=n_failed, n_skipped=len(self.skipped),
            exclude_run_ids=exclude, status=status, told=self.told, report=self.config.report)
        _say(f"sweep {self.sweep_name!r} {self.final_status}: {len(ran) - n_failed} finished, "
             f"{n_failed} failed, {len(self.skipped)} skipped (parent run {self.parent_id})")

    def _poll(self, child: _Child) -> tuple[bool, int | None, str | None]:
        """``(done, exit code, status)`` of a running grid point: a local process, or a
        submitit job (whose status may be KILLED/FAILED with ``child.reason`` when the
        cluster ended it: time limit, out of memory, preemption)."""
        if self.executor is None:
            code = child.submitted.command_proc.poll()
            if code is None:
                return False, None, None
            return True, code, "FINISHED" if code == 0 else "FAILED"
        code = child.submitted.poll()
        if child.submitted.status is None:
            return False, None, None
        child.reason = child.submitted.reason
        return True, code, child.submitted.status

    def _submit(self, child: _Child, local_config: dict, env: dict) -> None:
        """Start a grid point as a submitit job (:mod:`.submitit_executor`): the job runs
        the entry point through MLflow's local backend on its node; the environment
        travels as an argument too (``sbatch --export=NONE`` clusters)."""
        from mlflow.entities import RunTag

        from ..tags import TAG_JOB_ID, TAG_LOG_DIR
        from .sweep_record import absolute_uri
        from .submitit_executor import SubmititChild, run_grid_point

        with _environ(env):  # submitit's local executor and sbatch copy this process's environment
            job = self.executor.submit(run_grid_point, self.work_dir, self.entry_point, dict(child.params),
                                       local_config, absolute_uri(self.tracking_uri), self.experiment_id,
                                       dict(env))
        child.submitted = SubmititChild(job, getattr(self.executor, "cluster", None))
        with contextlib.suppress(Exception):
            self.client.log_batch(child.run_id, tags=[RunTag(TAG_JOB_ID, child.submitted.job_id),
                                                      RunTag(TAG_LOG_DIR, child.submitted.log_dir)])
        _say(f"[{child.index}] {_run_name(child.point)}: submitit job {child.submitted.job_id} "
             f"(logs in {child.submitted.log_dir})")

    def _start_child(self, child: _Child) -> None:
        from mlflow.entities import RunTag
        from mlflow.projects.backend.local import LocalBackend
        from mlflow.projects.utils import MLFLOW_LOCAL_BACKEND_RUN_ID_CONFIG, PROJECT_SYNCHRONOUS

        from ..tracking.sink import ClientSink

        from ..tags import TAG_EXECUTOR
        from .sweep_runs import TAG_KIND, TAG_POINT, TAG_SUPERSEDED, create_child, sweep_env

        point_key = _point_key(child.point)
        tags = dict(self.source_tags)
        tags.update({TAG_POINT: point_key, TAG_KIND: "mlflow-run", TAG_EXECUTOR: self.config.executor})
        run = create_child(self.client, self.experiment_id, self.parent_id, self.sweep_id,
                           self.sweep_name, child.index, _run_name(child.point), tags=tags)
        child.run_id = run.info.run_id
        for old in self.superseded.get(point_key, ()):
            with contextlib.suppress(Exception):
                self.client.set_tag(old, TAG_SUPERSEDED, child.run_id)
        try:
            if child.logged_params:  # computed (and checked) by plan()
                ClientSink(child.run_id, self.client).log_batch(params=child.logged_params)
            local_config = dict(self.config.extra)
            local_config[PROJECT_SYNCHRONOUS] = True  # run the entry point directly, not `mlflow run`
            local_config[MLFLOW_LOCAL_BACKEND_RUN_ID_CONFIG] = child.run_id
            env = sweep_env(self.sweep_id, child.index, self.parent_id, self.sweep_name)
            if local_config.get("ENV_MANAGER") in (None, "local"):
                path = os.environ.get("PATH", "")
                env["PATH"] = os.path.dirname(sys.executable) + (os.pathsep + path if path else "")
            _say(f"[{child.index}] {_run_name(child.point)}: run {child.run_id}")
            if self.executor is not None:
                self._submit(child, local_config, env)
                return
            with _environ(env), capturing_output() as output:
                child.output = output
                child.submitted = LocalBackend().run(self.work_dir, self.entry_point, child.params,
                                                     None, local_config, self.tracking_uri,
                                                     self.experiment_id)
        except Exception as exc:  # noqa: BLE001 - this point fails; the sweep goes on
            _say(f"[{child.index}] {_run_name(child.point)}: could not start: {type(exc).__name__}: {exc}")
            with contextlib.suppress(Exception):
                self.client.log_batch(child.run_id, tags=[RunTag(TAG_ERROR, redact_text(exc)[:5000])])
            self._end_child(child, "FAILED")

    def _end_child(self, child: _Child, status: str, exit_code=None) -> None:
        from .sweep_runs import flatten_child

        if status == "FINISHED":
            with contextlib.suppress(Exception):  # the job may have failed its own run
                if self.client.get_run(child.run_id).info.status in ("FAILED", "KILLED"):
                    status = "FAILED"
        if self.executor is not None and child.submitted is not None:  # submitit's log files
            out_lines, err_lines = child.submitted.output()
        else:
            out, err = child.output
            out_lines = out.finish(timeout=1 if status == "KILLED" else 10) if out else []
            err_lines = err.finish(timeout=1 if status == "KILLED" else 10) if err else []
        if child.reason:  # the cluster's reason (submitit's record) comes first
            with contextlib.suppress(Exception):
                self.client.set_tag(child.run_id, TAG_ERROR, redact_text(child.reason)[:5000])
        if status == "FAILED" or (status == "KILLED" and child.reason):
            with contextlib.suppress(Exception):  # the reason is a bonus; the status is what counts
                self._record_failure(child, exit_code, out_lines, err_lines)
        elif exit_code is not None:
            with contextlib.suppress(Exception):
                self.client.set_tag(child.run_id, TAG_EXIT_CODE, str(exit_code))
        child.status = status
        with contextlib.suppress(Exception):
            self.client.set_terminated(child.run_id, status=status)
        detail = f" (exit code {exit_code})" if exit_code not in (None, 0) else ""
        _say(f"[{child.index}] {_run_name(child.point)}: {status}{detail}")
        if status != "KILLED":
            flatten_child(child.run_id, client=self.client, told=self.told)


    def _record_failure(self, child: _Child, exit_code, out_lines: list, err_lines: list) -> None:
        """Why a grid point failed, on its run: ``mlflow_sweep.error`` (the last line of
        its error), ``mlflow_sweep.exit_code``, and the last lines of its output as
        ``logs/stderr.txt`` (and ``logs/stdout.txt``)."""
        import tempfile

        from mlflow.entities import RunTag

        tags = {}
        if exit_code is not None:
            tags[TAG_EXIT_CODE] = str(exit_code)
        if TAG_ERROR not in self.client.get_run(child.run_id).data.tags:  # "could not start" has one
            error = _error_line(err_lines) or _error_line(out_lines)
            if not error:
                error = (f"exit code {exit_code}" if exit_code not in (None, 0)
                         else "the job ended its run FAILED")
            tags[TAG_ERROR] = redact_text(error)[:5000]
        if tags:
            self.client.log_batch(child.run_id, tags=[RunTag(k, v) for k, v in tags.items()])
        with tempfile.TemporaryDirectory(prefix="mlflow-sweep-logs-") as tmp:
            for name, lines in (("stderr.txt", err_lines), ("stdout.txt", out_lines)):
                if not lines and name == "stdout.txt":
                    continue
                path = os.path.join(tmp, name)
                with open(path, "w", encoding="utf-8") as fh:
                    fh.write("".join(redact_text(line) + "\n" for line in lines))
                self.client.log_artifact(child.run_id, path, "logs")


_MLFLOW_FOOTERS = ("\U0001f3c3 View run", "\U0001f9ea View experiment")  # printed as runs end


def _error_line(lines: list) -> str | None:
    """The last line of an error in a child's output: the exception line of its last
    Python traceback, else its last line (not MLflow's "View run" footers)."""
    from .sweep_runs import traceback_error

    error, _ = traceback_error(lines)
    if error:
        return error
    for line in reversed(lines):
        text = line.strip()
        if text and not text.startswith(_MLFLOW_FOOTERS):
            return text
    return None


def _source_tags(project_uri: str, work_dir: str, entry_point: str) -> dict:
    from mlflow.utils.mlflow_tags import MLFLOW_PROJECT_ENTRY_POINT, MLFLOW_SOURCE_NAME, MLFLOW_SOURCE_TYPE

    tags = {MLFLOW_SOURCE_NAME: project_uri, MLFLOW_SOURCE_TYPE: "PROJECT",
            MLFLOW_PROJECT_ENTRY_POINT: entry_point}
    with contextlib.suppress(Exception):
        import getpass

        from mlflow.utils.mlflow_tags import MLFLOW_USER

        tags[MLFLOW_USER] = getpass.getuser()
    with contextlib.suppress(Exception):
        from mlflow.projects.utils import get_git_commit
        from mlflow.utils.mlflow_tags import MLFLOW_GIT_COMMIT

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
        with printing_warnings():
            runner = self._prepare(project_uri, entry_point, params, version, backend_config,
                                   tracking_uri, experiment_id)
            if _called_from_mlflow_run_command():
                runner.caller_prints_warnings = True
                submitted = SweepSubmittedRun(runner)
                self._wait(submitted)
                return submitted
        # from mlflow.projects.run: the sweep's thread prints its own warnings (started
        # after our printing ended, so that the two never undo each other)
        return SweepSubmittedRun(runner)

    @staticmethod
    def _prepare(project_uri, entry_point, params, version, backend_config, tracking_uri,
                 experiment_id) -> "_SweepRunner":
        """Check the config, plan the grid and create (or reopen) the parent run."""
        from mlflow.exceptions import ExecutionException
        from mlflow.projects.utils import fetch_and_validate_project, load_project
        from mlflow.tracking import MlflowClient

        from .backend_config import SweepConfigError, parse_backend_config, sweep_name_problem

        try:
            config = parse_backend_config(backend_config)
        except SweepConfigError as exc:
            raise ExecutionException(f"sweep backend config: {exc}") from None
        params = dict(params or {})
        # validate with a grid point merged in: a required param may come from the grid
        first = dict(params, **config.points()[0])
        work_dir = fetch_and_validate_project(project_uri, version, entry_point, first)
        project = load_project(work_dir)
        from ..stores import ensure_sqlite_store

        sweep_name = config.sweep_name or default_sweep_name(project, project_uri, entry_point)
        if sweep_name_problem(sweep_name):  # a project directory's name with both quotes
            raise ExecutionException(f"sweep backend config: {sweep_name_problem(sweep_name)}")
        ensure_sqlite_store(tracking_uri)  # a new sqlite file: created once, under a lock
        runner = _SweepRunner(
            client=MlflowClient(tracking_uri), tracking_uri=tracking_uri,
            experiment_id=experiment_id, work_dir=work_dir, project=project,
            entry_point=entry_point, params=params, config=config,
            sweep_name=sweep_name,
            source_tags=_source_tags(project_uri, work_dir, entry_point))
        if config.executor == "submitit":  # refused settings: before any run is made
            from .submitit_executor import SubmititConfigError, make_executor

            try:
                runner.executor = make_executor(config.submitit, name=runner.sweep_name)
            except SubmititConfigError as exc:
                raise ExecutionException(f"sweep backend config: {exc}") from None
        runner.plan()
        runner.start_parent()
        return runner

    @staticmethod
    def _wait(submitted: "SweepSubmittedRun") -> None:
        """For the ``mlflow run`` command: wait for the sweep; a failed grid point is an
        ``ExecutionException`` (``mlflow run`` exits 1)."""
        from mlflow.exceptions import ExecutionException

        runner = submitted._runner
        try:
            ok = submitted.wait()
        except KeyboardInterrupt:
            submitted.cancel()
            raise
        if not ok:
            n_failed = sum(1 for c in runner.children if c.status != "FINISHED")
            reason = runner.error or f"{n_failed} of {len(runner.children) + len(runner.skipped)} grid points failed"
            raise ExecutionException(f"Sweep {runner.sweep_name!r} (parent run {runner.parent_id}) "
                                     f"{runner.final_status}: {reason}")
