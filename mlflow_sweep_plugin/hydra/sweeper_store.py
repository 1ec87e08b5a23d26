"""What the Hydra sweeper reads from and writes to the tracking store: the sweep the
callback opened (its identity), the study's runs so far (resume), each job's child run
(found by its sweep directory and job number), the engine's tags on it (trial, seed,
pruned, superseded) and its objective's history.

The callback (:mod:`.callback`) owns the parent and the child runs; the sweeper adds the
search's tags, the controller's claim and the best so far (:mod:`..search.progress`), and
ends an earlier parent of the study left RUNNING by a multirun that was killed.
"""

from __future__ import annotations

import os
import time

from mlflow.entities import Metric, RunTag
from mlflow.tracking import MlflowClient

from ..search.bookkeeping import child_tags
from ..search.controller import claim, recorded, refuse_if_alive
from ..search.objective import fetch_history
from ..search.study import records_from_runs
from ..sweep.identity import start_order, study_key
from ..sweep.query import find_runs
from ..tags import (ENV_HYDRA_SWEEP_DIR, KIND_HYDRA, ROLE_CHILD, ROLE_PARENT, TAG_ERROR, TAG_HYDRA_JOB,
                    TAG_HYDRA_SWEEP_DIR, TAG_KIND, TAG_PARENT, TAG_PRUNED, TAG_ROLE, TAG_STRATEGY,
                    TAG_STUDY, TAG_SUPERSEDED, TAG_SWEEP_NAME)
from ..uri import resolve_tracking_uri
from .record import identity_from_env, read_record


class NoCallback(RuntimeError):
    """The sweep is not tracked: the callback is not configured (or could not open the parent)."""


def sweep_identity(sweep_dir: str) -> dict:
    """The identity of the sweep the callback opened for ``sweep_dir`` (its environment in
    this process, else its record in the directory)."""
    real = os.path.realpath(os.path.abspath(sweep_dir))
    identity = identity_from_env()
    if identity and os.environ.get(ENV_HYDRA_SWEEP_DIR) != real:
        identity = None  # an enclosing sweep's
    identity = identity or read_record(real)
    if not identity or not identity.get("parent_run_id"):
        raise NoCallback(
            "hydra/sweeper=mlflow_sweep reads the jobs from MLflow: add the callback to the app's config "
            "(hydra.callbacks.mlflow_sweep._target_: mlflow_sweep_plugin.hydra.MLflowSweepCallback); "
            "if it is there, its warning above says why the sweep is not tracked")
    return dict(identity, sweep_dir=real)


class ResumeRefused(ValueError):
    """``resume: false`` in a sweep directory that already holds jobs."""


class SweeperStore:
    def __init__(self, identity: dict):
        self.client = MlflowClient(resolve_tracking_uri(identity.get("tracking_uri")))
        self.parent_id = identity["parent_run_id"]
        self.experiment_id = identity.get("experiment_id") or \
            self.client.get_run(self.parent_id).info.experiment_id
        self.sweep_name = identity.get("sweep_name")
        self.sweep_dir = identity["sweep_dir"]
        self._tagged: set = set()

    # -- the controller ------------------------------------------------------------------
    def _study_parents(self, resume: bool) -> list:
        """The other parents of the study still RUNNING (with ``resume``: of the same
        experiment and sweep name; else none, the study is this parent alone)."""
        if not resume:
            return []
        found = find_runs(self.client, self.experiment_id, {TAG_ROLE: ROLE_PARENT, TAG_KIND: KIND_HYDRA,
                                                            TAG_SWEEP_NAME: self.sweep_name})
        return [r for r in found if r.info.run_id != self.parent_id and r.info.status == "RUNNING"]

    def take_over(self, resume: bool | None) -> None:
        """Become the study's one controller (:mod:`..search.controller`): claim this
        parent, then refuse (:class:`ControllerBusy`) if another multirun of the study is
        alive (checked after the claim, so of two starting at once at most one goes on);
        an earlier parent left RUNNING by a multirun that is gone ends KILLED, the reason in
        ``mlflow_sweep.error``."""
        claim(self.client, self.parent_id, self.sweep_name)
        others = self._study_parents(bool(resume))
        for run in others:
            refuse_if_alive(run.data.tags, self.sweep_name)
        for run in others:
            gone = recorded(run.data.tags)
            who = f" ({gone.describe()})" if gone else ""
            self.client.set_tag(run.info.run_id, TAG_ERROR, f"its multirun{who} was gone when the sweep was "
                                                            f"resumed by parent run {self.parent_id}")
            self.client.set_terminated(run.info.run_id, status="KILLED")

    # -- resume ------------------------------------------------------------------------
    def _parents(self, resume: bool) -> list[str]:
        """This sweep's parent, and with ``resume`` every earlier parent of a search of the
        same experiment and sweep name (the job name); tags this parent with the study
        (``mlflow_sweep.study``: the earliest of them's study, else its run id), which
        ``mlflow-sweep status`` shows as one sweep."""
        earlier = []
        if resume:
            earlier = [r for r in find_runs(self.client, self.experiment_id,
                                            {TAG_ROLE: ROLE_PARENT, TAG_KIND: KIND_HYDRA,
                                             TAG_SWEEP_NAME: self.sweep_name})
                       if TAG_STRATEGY in r.data.tags and r.info.run_id != self.parent_id]
        first = min(earlier, key=start_order, default=None)
        self.client.set_tag(self.parent_id, TAG_STUDY, study_key(first) if first is not None else self.parent_id)
        return sorted({self.parent_id} | {r.info.run_id for r in earlier})

    def records(self, spec, resume: bool | None) -> list:
        """The study's runs so far: this parent's children (a sweep directory run again),
        and with ``resume`` those of every earlier search of the same name."""
        runs = []
        for parent in self._parents(bool(resume)):
            runs += find_runs(self.client, self.experiment_id, {TAG_ROLE: ROLE_CHILD, TAG_PARENT: parent})
        if resume is False and runs:
            raise ResumeRefused(f"hydra.sweeper.resume=false but {self.sweep_dir} already holds {len(runs)} job(s) "
                             "of this sweep; give a new hydra.sweep.dir, or resume")
        return records_from_runs(runs, spec, self.history)

    # -- the jobs ----------------------------------------------------------------------
    def children(self) -> dict:
        """This sweep directory's child runs by job number (the newest of each, superseded
        ones left out)."""
        out = {}
        for run in find_runs(self.client, self.experiment_id, {TAG_ROLE: ROLE_CHILD,
                                                               TAG_HYDRA_SWEEP_DIR: self.sweep_dir}):
            if TAG_SUPERSEDED not in run.data.tags and TAG_HYDRA_JOB in run.data.tags:
                out[run.data.tags[TAG_HYDRA_JOB]] = run
        return out

    def history(self, run_id: str, metric: str) -> list:
        return fetch_history(self.client, run_id, metric)

    def tag(self, run, proposal) -> None:
        """The engine's tags on a job's child (once): its trial, its seed, its race round and
        stage (:func:`~..search.bookkeeping.child_tags`), and on the run it
        replaces ``mlflow_sweep.superseded_by`` (ended KILLED when a killed sweep left it
        RUNNING)."""
        run_id = run.info.run_id
        if run_id in self._tagged:
            return
        self._tagged.add(run_id)
        self.client.log_batch(run_id, tags=[RunTag(k, v) for k, v in child_tags(proposal).items()])
        if proposal.supersedes and proposal.supersedes != run_id:
            self.client.set_tag(proposal.supersedes, TAG_SUPERSEDED, run_id)
            old = self.client.get_run(proposal.supersedes)
            if old.info.status == "RUNNING":  # left running by a sweep process that was killed
                self.client.set_terminated(proposal.supersedes, status="KILLED")

    def mark_pruned(self, run, reason: str) -> None:
        if run.data.tags.get(TAG_PRUNED) != reason:
            self.client.set_tag(run.info.run_id, TAG_PRUNED, reason)

    def log_value(self, run_id: str, metric: str, value: float, points: list) -> list:
        """``value`` (a task's return value) as the last point of ``metric`` on the run,
        unless it is that already; returns the history with it."""
        if points and max(points)[2] == value:
            return points
        step = max((p[0] for p in points), default=-1) + 1
        now = int(time.time() * 1000)
        self.client.log_batch(run_id, metrics=[Metric(metric, float(value), now, step)])
        return [*points, (step, now, float(value))]
