"""The work behind one ``mlflow run --backend sweep``: open the parent, start the grid's
children on the executor up to ``max_parallel`` at once, record each end, close the parent.

Each child gets the sweep tags and ``mlflow.parentRunId`` (the UI nests it under the
parent), and its process the sweep's environment variables, so runs the job itself
creates are tagged too (:mod:`~mlflow_sweep_plugin.mlflow_hooks.context`). When a child
ends, its status is set from the exit code and its artifacts are flattened into metrics
by the registered parsers. A failing child is FAILED and the sweep goes on; the parent
records the counts, gets the sweep's export table and ends FAILED if any child failed
(:class:`~mlflow_sweep_plugin.sweep.lifecycle.SweepLifecycle`).

Talking to the user: status lines through :func:`~mlflow_sweep_plugin.console.say`;
problems as :class:`~mlflow_sweep_plugin.warning_types.SweepWarning` warnings.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time

from mlflow.entities import RunTag
from mlflow.projects.submitted_run import SubmittedRun
from mlflow.projects.utils import MLFLOW_LOCAL_BACKEND_RUN_ID_CONFIG, PROJECT_SYNCHRONOUS
from mlflow.utils.mlflow_tags import MLFLOW_PROJECT_BACKEND

from ..console import printing_warnings
from ..console import say as _say
from ..failures import hide_run_urls
from ..sweep.identity import Sweep
from ..sweep.lifecycle import SweepLifecycle
from ..sweep.outcome import error_text, record_failure
from ..tags import (KIND_BACKEND, ROLE_CHILD, ROLE_PARENT, TAG_ERROR, TAG_EXECUTOR, TAG_EXIT_CODE,
                    TAG_FIXED_PARAMS, TAG_GRID, TAG_KIND, TAG_POINT, TAG_ROLE, TAG_SUPERSEDED,
                    TAG_SWEEP_NAME)
from ..tracking.sink import ClientSink
from .plan import Child, resume_plan

POLL_SECONDS = 0.2


class SweepRunner:
    """Plans, runs and records one sweep (the work behind :class:`SweepSubmittedRun`)."""

    def __init__(self, *, client, tracking_uri, experiment_id, work_dir, entry_point, params, config,
                 sweep_name, source_tags, children: list[Child], executor):
        self.client = client
        self.tracking_uri = tracking_uri
        hide_run_urls(tracking_uri)  # MLflow's "View run ... at: <URI>" never shows credentials
        self.work_dir = work_dir
        self.entry_point = entry_point
        self.params = dict(params)
        self.config = config
        self.source_tags = source_tags
        self.children = children
        self.skipped: list[Child] = []
        self.executor = executor
        self.sweep = Sweep(name=sweep_name, kind=KIND_BACKEND, experiment_id=str(experiment_id))
        self.lifecycle = SweepLifecycle(client, self.sweep, report=config.report)
        self.final_status: str | None = None
        self.error: str | None = None
        self.caller_prints_warnings = False  # the caller waits inside printing_warnings()
        self._cancel = threading.Event()

    @property
    def parent_id(self) -> str | None:
        return self.sweep.parent_run_id

    @property
    def sweep_name(self) -> str:
        return self.sweep.name

    # -- the parent (in the caller's thread: errors surface as ExecutionException) ---------
    def start_parent(self) -> str:
        tags = dict(self.source_tags)
        tags.update({MLFLOW_PROJECT_BACKEND: "sweep",
                     TAG_GRID: json.dumps(self.config.grid)[:5000],
                     TAG_FIXED_PARAMS: json.dumps(self.params)[:5000]})
        match = earlier = None
        if self.config.resume:  # the newest parent of this sweep's name, and its children so far
            match = {TAG_SWEEP_NAME: self.sweep.name, TAG_ROLE: ROLE_PARENT, TAG_KIND: KIND_BACKEND}
            earlier = self.lifecycle.find({TAG_SWEEP_NAME: self.sweep.name, TAG_ROLE: ROLE_CHILD})
        parent_id = self.lifecycle.open_parent(match, tags)
        if earlier is not None:
            self.children, self.skipped = resume_plan(self.children, earlier, self.sweep.sweep_id)
        return parent_id

    # -- running (in the background thread) --------------------------------------------
    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> None:
        # warnings are printed by whoever waits: the ``mlflow run`` command's thread, or
        # this one (two nested catch_warnings in two threads would undo each other)
        printing = contextlib.nullcontext() if self.caller_prints_warnings else printing_warnings()
        with printing:
            try:
                self._run()
            except BaseException as exc:  # noqa: BLE001 - record, end the parent, never hang
                self.error = f"{type(exc).__name__}: {exc}"
                _say(f"sweep {self.sweep.name!r} stopped: {self.error}")
                self.final_status = "FAILED"
                with contextlib.suppress(Exception):
                    self.client.set_terminated(self.parent_id, status="FAILED")

    def _run(self) -> None:
        n_total = len(self.children) + len(self.skipped)
        _say(f"sweep {self.sweep.name!r}: parent run {self.parent_id}, {n_total} grid point(s)"
             + (f", {len(self.skipped)} already finished (resume)" if self.skipped else "")
             + f", max_parallel {self.config.max_parallel}")
        pending = list(self.children)
        running: list[Child] = []
        while pending or running:
            if self._cancel.is_set():
                for child in running:
                    with contextlib.suppress(Exception):
                        child.running.cancel()
                    self._end_child(child, "KILLED")
                for child in pending:
                    child.status = "KILLED"
                break
            while pending and len(running) < self.config.max_parallel:
                child = pending.pop(0)
                if self._start_child(child):
                    running.append(child)
            time.sleep(POLL_SECONDS if running else 0)
            for child in list(running):
                ended = child.running.poll()
                if ended is None:
                    continue
                running.remove(child)
                status, code, reason = ended
                self._end_child(child, status, exit_code=code, reason=reason)
        ran = [c for c in self.children if c.status is not None]
        n_failed = sum(1 for c in ran if c.status != "FINISHED")
        exclude = [r.info.run_id for r in self.lifecycle.runs() if TAG_SUPERSEDED in r.data.tags]
        self.final_status = self.lifecycle.finish(
            n_children=n_total, n_failed=n_failed, n_skipped=len(self.skipped),
            exclude_run_ids=exclude, status="KILLED" if self._cancel.is_set() else None)
        _say(f"sweep {self.sweep.name!r} {self.final_status}: {len(ran) - n_failed} finished, "
             f"{n_failed} failed, {len(self.skipped)} skipped (parent run {self.parent_id})")

    def _start_child(self, child: Child) -> bool:
        """Create the child's run and start it on the executor; False when it could not
        start (then it is FAILED with the reason, and the sweep goes on)."""
        tags = dict(self.source_tags)
        tags.update({TAG_POINT: child.key, TAG_EXECUTOR: self.executor.name})
        run = self.lifecycle.create_child(child.index, child.name, tags, supersedes=child.supersedes)
        child.run_id = run.info.run_id
        try:
            if child.logged_params:  # computed (and checked) by the plan
                ClientSink(child.run_id, self.client).log_batch(params=child.logged_params)
            local_config = dict(self.config.extra)
            local_config[PROJECT_SYNCHRONOUS] = True  # run the entry point directly, not `mlflow run`
            local_config[MLFLOW_LOCAL_BACKEND_RUN_ID_CONFIG] = child.run_id
            env = self.sweep.env(child.index)
            if local_config.get("ENV_MANAGER") in (None, "local"):
                path = os.environ.get("PATH", "")
                env["PATH"] = os.path.dirname(sys.executable) + (os.pathsep + path if path else "")
            _say(f"[{child.index}] {child.name}: run {child.run_id}")
            child.running = self.executor.start(
                work_dir=self.work_dir, entry_point=self.entry_point, params=child.params,
                local_config=local_config, tracking_uri=self.tracking_uri,
                experiment_id=self.sweep.experiment_id, env=env)
            where = child.running.tags()
            if where:
                with contextlib.suppress(Exception):
                    self.client.log_batch(child.run_id, tags=[RunTag(k, v) for k, v in where.items()])
            described = child.running.describe()
            if described:
                _say(f"[{child.index}] {child.name}: {described}")
            return True
        except Exception as exc:  # noqa: BLE001 - this point fails; the sweep goes on
            _say(f"[{child.index}] {child.name}: could not start: {type(exc).__name__}: {exc}")
            with contextlib.suppress(Exception):
                self.client.log_batch(child.run_id, tags=[RunTag(TAG_ERROR, error_text(exc))])
            self._end_child(child, "FAILED")
            return False

    def _end_child(self, child: Child, status: str, exit_code=None, reason: str | None = None) -> None:
        if status == "FINISHED":
            with contextlib.suppress(Exception):  # the job may have failed its own run
                if self.client.get_run(child.run_id).info.status in ("FAILED", "KILLED"):
                    status = "FAILED"
        out_lines, err_lines = child.running.tails(killed=status == "KILLED") if child.running else ([], [])
        if reason:  # the cluster's reason (submitit's record) comes first
            with contextlib.suppress(Exception):
                self.client.set_tag(child.run_id, TAG_ERROR, error_text(reason))
        if status == "FAILED" or (status == "KILLED" and reason):
            with contextlib.suppress(Exception):  # the reason is a bonus; the status is what counts
                record_failure(self.client, child.run_id, exit_code=exit_code, out_lines=out_lines,
                               err_lines=err_lines, keep_error=True)
        elif exit_code is not None:
            with contextlib.suppress(Exception):
                self.client.set_tag(child.run_id, TAG_EXIT_CODE, str(exit_code))
        child.status = status
        with contextlib.suppress(Exception):
            self.client.set_terminated(child.run_id, status=status)
        detail = f" (exit code {exit_code})" if exit_code not in (None, 0) else ""
        _say(f"[{child.index}] {child.name}: {status}{detail}")
        if status != "KILLED":
            self.lifecycle.flatten_child(child.run_id)


class SweepSubmittedRun(SubmittedRun):
    """The parent run of a sweep, running in a background thread."""

    def __init__(self, runner: SweepRunner):
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
