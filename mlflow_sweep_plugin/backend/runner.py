"""The work behind one ``mlflow run --backend sweep``: open the parent, let the search
engine (:class:`~mlflow_sweep_plugin.search.engine.Engine`) say which run starts next,
start it on the executor as soon as a slot is free (up to ``max_parallel`` in flight),
watch running children for early stopping, record each end, close the parent.

A grid is one strategy among others: the same loop runs every strategy (the engine
walks a grid in grid order). Each child gets the sweep tags, ``mlflow_sweep.point``
(its swept values), ``mlflow_sweep.trial`` (its configuration's number), with seeds
``mlflow_sweep.seed``, and ``mlflow.parentRunId`` (the UI nests it under the parent);
its process gets the sweep's environment variables, so runs the job itself creates are
tagged too (:mod:`~mlflow_sweep_plugin.mlflow_hooks.context`). When a child ends, its
status is set from the exit code and its artifacts are flattened into metrics by the
registered parsers. A failing child is FAILED and the sweep goes on. A child the pruner
stops is cancelled (local: its process group; submitit: its job), ends KILLED with
``mlflow_sweep.pruned`` = ``step 7: val_loss=1.93`` and is not a failure. The parent
records the counts, the best so far, the sweep's export table, and ends FAILED if any
child failed (:class:`~mlflow_sweep_plugin.sweep.lifecycle.SweepLifecycle`).

The tracking store is the sweep's only state: the parent holds the spec
(:func:`~mlflow_sweep_plugin.search.progress.log_spec`) and the controller lock
(:mod:`~mlflow_sweep_plugin.search.controller`); a resumed sweep's engine is rebuilt from
the children in the store.
"""

from __future__ import annotations

import contextlib
import functools
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
from ..search.controller import HEARTBEAT_S, beat, claim, refuse_if_alive
from ..search.engine import Engine
from ..search.race import make_engine
from ..search.objective import fetch_history
from ..search.bookkeeping import child_tags, record_end
from ..search.progress import log_pruned, log_race, log_race_rounds, log_spec
from ..search.space import space_size
from ..search.study import records_from_runs
from ..sweep.identity import Sweep, point_key
from ..sweep.lifecycle import SweepLifecycle
from ..sweep.outcome import error_text, record_failure
from ..tags import (KIND_BACKEND, ROLE_CHILD, ROLE_PARENT, TAG_ERROR, TAG_EXECUTOR, TAG_EXIT_CODE,
                    TAG_FIXED_PARAMS, TAG_GRID, TAG_KIND, TAG_POINT, TAG_PRUNED, TAG_ROLE, TAG_SUPERSEDED,
                    TAG_SWEEP_NAME)
from ..tracking.sink import ClientSink
from .orphans import stop_orphans
from .plan import logged_params, run_name, run_params

POLL_SECONDS = 0.2


class Child:
    """One run the sweep started, and what became of it."""

    def __init__(self, proposal, params: dict, point: dict):
        self.proposal = proposal
        self.index = proposal.index
        self.point = point                # swept values as texts (the seed included)
        self.params = params              # the point merged over -P
        self.run_id: str | None = None
        self.running = None               # the executor's RunningChild while it runs
        self.status: str | None = None
        self.pruned: str | None = None

    @property
    def name(self) -> str:
        return run_name(self.point)


class SweepRunner:
    """Runs and records one sweep (the work behind :class:`SweepSubmittedRun`)."""

    def __init__(self, *, client, tracking_uri, experiment_id, work_dir, entry_point, params, config,
                 spec, entry, types, sweep_name, source_tags, executor, context: dict):
        self.client = client
        self.tracking_uri = tracking_uri
        hide_run_urls(tracking_uri)  # MLflow's "View run ... at: <URI>" never shows credentials
        self.work_dir = work_dir
        self.entry_point = entry_point
        self.params = dict(params)
        self.config = config
        self.spec = spec                  # the search spec, its values typed for the entry point
        self.entry = entry                # the MLproject entry point (None: a script file)
        self.types = types                # param -> declared type
        self.source_tags = source_tags
        self.context = context            # stored with the spec on the parent
        self.executor = executor
        self.sweep = Sweep(name=sweep_name, kind=KIND_BACKEND, experiment_id=str(experiment_id))
        self.lifecycle = SweepLifecycle(client, self.sweep, report=config.report)
        self.engine: Engine | None = None  # or a race (search/race.py): the same interface
        self.ran: list[Child] = []
        self.n_skipped = 0
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

    @property
    def n_failed(self) -> int:
        return sum(1 for c in self.ran if c.status != "FINISHED" and not c.pruned)

    def failure_summary(self) -> str:
        what = "grid points" if self.spec.strategy == "grid" and self.spec.seeds is None else "runs"
        return f"{self.n_failed} of {len(self.ran) + self.n_skipped} {what} failed"

    # -- the parent (in the caller's thread: errors surface there) -------------------------
    def start_parent(self) -> str:
        """Open (or, resuming, reopen) the parent, become its one controller, store the
        spec on it, and rebuild the engine from the children in the store."""
        tags = dict(self.source_tags)
        tags.update({MLFLOW_PROJECT_BACKEND: "sweep", TAG_FIXED_PARAMS: json.dumps(self.params)[:5000]})
        if self.config.grid is not None:
            tags[TAG_GRID] = json.dumps(self.config.grid)[:5000]
        match = None
        if self.config.resume:  # the newest parent of this sweep's name
            match = {TAG_SWEEP_NAME: self.sweep.name, TAG_ROLE: ROLE_PARENT, TAG_KIND: KIND_BACKEND}
            found = self.lifecycle.find(match)
            if found:  # a live controller: refused before the parent is touched
                refuse_if_alive(found[-1].data.tags, self.sweep.name)
        parent_id = self.lifecycle.open_parent(match, tags)
        claim(self.client, parent_id, self.sweep.name)
        log_spec(self.client, parent_id, self.spec, **self.context)
        records = []
        if self.config.resume:
            children = self.lifecycle.runs({TAG_ROLE: ROLE_CHILD})
            if stop_orphans(self.client, [c for c in children if TAG_SUPERSEDED not in c.data.tags]):
                children = self.lifecycle.runs({TAG_ROLE: ROLE_CHILD})  # their new status: KILLED
            records = records_from_runs(children, self.spec, functools.partial(fetch_history, self.client))
        self.engine = make_engine(self.spec, records)
        self.n_skipped = sum(1 for r in records if r.status == "FINISHED")
        return parent_id

    def _points(self, child: Child) -> list:
        if self.spec.objective is None or child.run_id is None:
            return []
        with contextlib.suppress(Exception):  # a store hiccup: the next look sees it
            return fetch_history(self.client, child.run_id, self.spec.objective.metric)
        return []

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
        spec, engine = self.spec, self.engine
        size = "" if spec.strategy != "grid" else f", {space_size(spec.space)} grid point(s)"
        _say(f"sweep {self.sweep.name!r}: parent run {self.parent_id}, strategy {spec.strategy}{size}"
             + (f", {self.n_skipped} already finished (resume)" if self.n_skipped else "")
             + f", max_parallel {spec.max_parallel}")
        running: dict[int, Child] = {}
        next_watch = time.monotonic() + spec.poll_s
        next_beat = time.monotonic() + HEARTBEAT_S
        while True:
            if self._cancel.is_set():
                for child in list(running.values()):
                    with contextlib.suppress(Exception):
                        child.running.cancel()
                    self._end_child(child, "KILLED")
                break
            proposed = False
            while len(running) < spec.max_parallel and (proposal := engine.propose()) is not None:
                proposed = True
                child = self._start_child(proposal)
                if child.running is not None:
                    running[child.index] = child
            if not running and (engine.done() or not proposed):
                break
            time.sleep(POLL_SECONDS)
            for index, child in list(running.items()):
                ended = child.running.poll()
                if ended is not None:
                    del running[index]
                    status, code, reason = ended
                    self._end_child(child, status, exit_code=code, reason=reason)
            now = time.monotonic()
            if spec.early_stop is not None and now >= next_watch:
                next_watch = now + spec.poll_s
                self._watch(running)
            if now >= next_beat:
                next_beat = now + HEARTBEAT_S
                with contextlib.suppress(Exception):
                    beat(self.client, self.parent_id)
        self._finish()

    def _watch(self, running: dict) -> None:
        """One history request per running child; stop the configurations the pruner
        stops (all their runs together)."""
        for index, child in running.items():
            self.engine.observe(index, self._points(child))
        for trial in self.engine.running_trials():
            reason = self.engine.should_prune(trial)
            if reason is None:
                continue
            for index in self.engine.running_indexes(trial):
                child = running.pop(index, None)
                if child is None:
                    continue
                with contextlib.suppress(Exception):
                    child.running.cancel()
                child.pruned = reason
                with contextlib.suppress(Exception):
                    self.client.set_tag(child.run_id, TAG_PRUNED, reason)
                self._end_child(child, "KILLED")

    def _finish(self) -> None:
        engine = self.engine
        killed = self._cancel.is_set()
        exclude = [r.info.run_id for r in self.lifecycle.runs() if TAG_SUPERSEDED in r.data.tags]
        log_pruned(self.client, self.parent_id, engine)
        n_failed = self.n_failed
        with contextlib.suppress(Exception):  # before the report: its Race section reads it
            log_race_rounds(self.client, self.parent_id, engine)
        self.final_status = self.lifecycle.finish(
            n_children=len(self.ran) + self.n_skipped, n_failed=n_failed, n_skipped=self.n_skipped,
            exclude_run_ids=exclude, status="KILLED" if killed else None)
        with contextlib.suppress(Exception):  # after the report: the race's winner is the best
            log_race(self.client, self.parent_id, engine)
        n_finished = sum(1 for c in self.ran if c.status == "FINISHED")
        if engine.stop_reason and not killed:
            _say(f"sweep {self.sweep.name!r}: {engine.stop_reason}")
        _say(f"sweep {self.sweep.name!r} {self.final_status}: {n_finished} finished, {n_failed} failed, "
             f"{engine.n_pruned} pruned, {self.n_skipped} skipped (parent run {self.parent_id})")

    def _start_child(self, proposal) -> Child:
        """Create the child's run and start it on the executor (``child.running`` None
        when it could not start: then it is FAILED with the reason, and the sweep goes on)."""
        point = run_params(proposal, self.types)
        child = Child(proposal, dict(self.params, **point), point)
        self.ran.append(child)
        tags = dict(self.source_tags)
        swept = {k: v for k, v in point.items() if k in proposal.config}
        tags.update({TAG_POINT: point_key(swept), TAG_EXECUTOR: self.executor.name})
        tags.update(child_tags(proposal))
        supersedes = [proposal.supersedes] if proposal.supersedes else []
        run = self.lifecycle.create_child(child.index, child.name, tags, supersedes=supersedes)
        child.run_id = run.info.run_id
        try:
            logged = logged_params(self.entry, child.params, f"run {child.index} ({child.name})")
            if logged:
                ClientSink(child.run_id, self.client).log_batch(params=logged)
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
        except Exception as exc:  # noqa: BLE001 - this run fails; the sweep goes on
            child.running = None
            _say(f"[{child.index}] {child.name}: could not start: {type(exc).__name__}: {exc}")
            with contextlib.suppress(Exception):
                self.client.log_batch(child.run_id, tags=[RunTag(TAG_ERROR, error_text(exc))])
            self._end_child(child, "FAILED")
        return child

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
        detail += f" (pruned at {child.pruned})" if child.pruned else ""
        _say(f"[{child.index}] {child.name}: {status}{detail}")
        if status != "KILLED":
            self.lifecycle.flatten_child(child.run_id)
        record_end(self.client, self.parent_id, self.engine, child.index, status, self._points(child),
                   run_id=child.run_id, pruned=child.pruned)


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
