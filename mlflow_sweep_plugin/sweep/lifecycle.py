"""One sweep's life in the tracking store, for every front-end: the backend's runner and
the Hydra callback/import are thin users of :class:`SweepLifecycle`.

A sweep is one *parent* run and one *child* run per grid point or Hydra job. Children
carry ``mlflow.parentRunId`` (so the MLflow UI nests them) and the sweep tags
(``mlflow_sweep.sweep_id``, ``mlflow_sweep.index``, ``mlflow_sweep.sweep_name``); the
parent carries the sweep id too, ``mlflow_sweep.role = parent``, and at the end the
counts (``mlflow_sweep.n_children``, ``mlflow_sweep.n_failed``, ``mlflow_sweep.n_skipped``),
the sweep's export table (``sweep_table.csv``) and, when asked, its report.

Everything here talks to MLflow through an explicit ``MlflowClient``: nothing touches
the fluent API's active run, which belongs to the user's code. Problems are
:class:`~mlflow_sweep_plugin.warning_types.SweepWarning` warnings, each told once per
sweep (:class:`~mlflow_sweep_plugin.warning_types.TellOnce`).
"""

from __future__ import annotations

import contextlib

from mlflow.entities import RunTag

from ..report import detached
from ..report.detached import DONE, FAILED, PENDING
from ..report.parent import report_parent
from ..tags import (TAG_N_CHILDREN, TAG_N_FAILED, TAG_N_SKIPPED, TAG_REPORT_STATE, TAG_SUPERSEDED,
                    TAG_SWEEP_ID)
from ..tracking.flatten_artifacts import flatten_artifacts
from ..warning_types import TellOnce
from ..warning_types import warn as _warn
from .identity import Sweep, new_sweep_id
from .query import client_uri, find_runs
from .table import log_sweep_table


class SweepLifecycle:
    """Open (or reopen) the parent, create and supersede children, flatten a finished
    child's artifacts, and close the parent with its counts, table and report."""

    def __init__(self, client, sweep: Sweep, report: dict | None = None):
        self.client = client
        self.sweep = sweep
        #: the sweep's report when it ends: ``{"objective": COLUMN or None, "mode": ...}``; None: none
        self.report = report
        self.scope = TellOnce()  # each warning once in this sweep (children, table, report)
        #: make the report in a process of its own after the parent ended (see :meth:`finish`)
        self.detach_report = False
        self.report_log = None  # where that process writes its warnings (None: nowhere)
        self.new_parent = False  # open_parent created the parent (it has no children yet)

    # -- the parent ---------------------------------------------------------------------
    def open_parent(self, match: dict | None, tags: dict) -> str:
        """Reuse the newest active parent carrying ``match`` (reopened when it ended;
        ``tags`` written on it), else create one. ``match`` None: always a new parent."""
        found = find_runs(self.client, self.sweep.experiment_id, match) if match else []
        if found:
            parent = found[-1]
            self.sweep.parent_run_id = parent.info.run_id
            self.sweep.sweep_id = parent.data.tags.get(TAG_SWEEP_ID) or new_sweep_id()
            if parent.info.status != "RUNNING":
                self.client.update_run(self.sweep.parent_run_id, status="RUNNING")
            self.client.log_batch(self.sweep.parent_run_id,
                                  tags=[RunTag(k, str(v)) for k, v in tags.items()])
        else:
            self.new_parent = True
            self.sweep.sweep_id = new_sweep_id()
            all_tags = self.sweep.parent_tags()
            all_tags.update(tags)
            run = self.client.create_run(str(self.sweep.experiment_id), tags=all_tags,
                                         run_name=self.sweep.name)
            self.sweep.parent_run_id = run.info.run_id
        return self.sweep.parent_run_id

    def find(self, tags: dict) -> list:
        """Active runs of the sweep's experiment carrying all of ``tags``, oldest first."""
        return find_runs(self.client, self.sweep.experiment_id, tags)

    def runs(self, tags: dict | None = None) -> list:
        """The sweep's runs (children and the jobs' own), oldest first; ``tags`` narrows."""
        return self.find({TAG_SWEEP_ID: self.sweep.sweep_id, **(tags or {})})

    def finish(self, *, n_children: int, n_failed: int, n_skipped: int = 0, exclude_run_ids=(),
               status: str | None = None) -> str:
        """Record the counts, attach the export table (and the report, when asked) and end
        the parent: FAILED when any child failed (or ``status`` when given).

        With :attr:`detach_report` the report is made by a process of its own once the
        parent has ended (:mod:`~mlflow_sweep_plugin.report.detached`); the parent's
        ``mlflow_sweep.report.state`` says ``pending`` until it is there (``done``)."""
        parent_id = self.sweep.parent_run_id
        counts = [RunTag(TAG_N_CHILDREN, str(n_children)), RunTag(TAG_N_FAILED, str(n_failed)),
                  RunTag(TAG_N_SKIPPED, str(n_skipped))]
        log_sweep_table(self.client, self.sweep.experiment_id, parent_id, self.sweep.sweep_id,
                        exclude_run_ids, scope=self.scope)
        report = None
        if self.report is not None:
            # with no objective asked for, a sweep with nothing to summarise is no warning
            report = dict(self.report, quiet=not self.report.get("objective"))
        if report is not None and not self.detach_report:  # a failure to report is one warning
            with self.scope.catching():
                made = report_parent(self.client, parent_id, self.sweep.experiment_id,
                                     sweep_id=self.sweep.sweep_id, exclude_run_ids=exclude_run_ids, **report)
            counts.append(RunTag(TAG_REPORT_STATE, DONE if made is not None or report["quiet"] else FAILED))
        elif report is not None:
            counts.append(RunTag(TAG_REPORT_STATE, PENDING))
        self.client.log_batch(parent_id, tags=counts)
        status = status or ("FAILED" if n_failed else "FINISHED")
        self.client.set_terminated(parent_id, status=status)
        if report is not None and self.detach_report:
            try:
                detached.start(client_uri(self.client), parent_id, self.sweep.experiment_id, self.sweep.sweep_id,
                               report, exclude_run_ids, log_path=self.report_log)
            except Exception as exc:  # noqa: BLE001 - a report never fails the sweep
                self.client.set_tag(parent_id, TAG_REPORT_STATE, FAILED)
                _warn(f"run {parent_id}: the sweep report could not be started: {type(exc).__name__}: {exc}")
        return status

    # -- children -----------------------------------------------------------------------
    def create_child(self, index, run_name: str, tags: dict | None = None, *,
                     start_time: int | None = None, supersedes=()):
        """A new child run; each run in ``supersedes`` (an earlier failed run of the same
        point or job) is tagged ``mlflow_sweep.superseded_by`` it."""
        all_tags = self.sweep.child_tags(index, run_name)
        all_tags.update(tags or {})
        run = self.client.create_run(str(self.sweep.experiment_id), tags=all_tags,
                                     run_name=run_name, start_time=start_time)
        for old in supersedes:
            with contextlib.suppress(Exception):
                self.client.log_batch(old, tags=[RunTag(TAG_SUPERSEDED, run.info.run_id)])
        return run

    def flatten_child(self, run_id: str) -> None:
        """Run the registered parsers over a finished child's artifacts and log their
        numeric fields as metrics (``flatten_artifacts`` of the logging API). A bad
        artifact never fails the sweep: its problems are warnings, told once."""
        with self.scope.catching():
            try:
                flatten_artifacts(run_id, client=self.client, tracking_uri=client_uri(self.client))
            except Exception as exc:  # noqa: BLE001 - one child's artifacts never stop the sweep
                _warn(f"run {run_id}: flattening artifacts failed: {type(exc).__name__}: {exc}")
