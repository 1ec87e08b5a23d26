"""The Hydra sweeper's loop (``hydra/sweeper=mlflow_sweep``; docs/how-to/hydra-sweeper.md): the
search engine (:func:`~..search.race.make_engine`: a search, a race or a search then a
confirmation, the same code as the backend) proposes runs, Hydra's configured launcher runs them, the callback logs them, and the outcome read
back from MLflow (or the task's return value) goes to the engine.

A Hydra launcher's ``launch`` blocks until every job it was given has ended, so the
sweeper hands it ``max_parallel`` jobs at a time (consecutive job numbers: a job's number
is its ``mlflow_sweep.index``; runs of an earlier sweep that run again keep theirs, so a
resumed sweep may launch smaller groups). While a group runs, a watcher thread reads the
running children's objective every ``poll_s`` seconds and asks the engine's pruner; it
cannot stop a job (no Hydra launcher can), it tags the run ``mlflow_sweep.pruned`` and
:func:`~mlflow_sweep_plugin.should_stop` tells the task, which stops if it asks.

One controller per study, as in the backend (:mod:`..search.controller`): the sweeper
claims the parent the callback opened before any job, and a multirun of the same study
that is still alive refuses it; a heartbeat thread renews the claim while jobs run.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading

from hydra.core.plugins import Plugins
from hydra.core.utils import JobStatus
from hydra.errors import CompactHydraException

from ..console import printing_warnings, say
from ..envvars import scoped_environ
from ..search.bookkeeping import record_end
from ..search.controller import ControllerBusy, Heartbeat
from ..search.progress import log_pruned, log_race, log_race_rounds, log_spec
from ..search.race import make_engine
from ..search.spec import SearchSpecError, parse_search
from ..tags import ENV_SWEEP_OBJECTIVE
from ..warning_types import warn
from .search_space import RETURN_METRIC, engine_config
from .sweeper_store import NoCallback, ResumeRefused, SweeperStore, sweep_identity

RESULTS_FILE = "optimization_results.yaml"  # the best trial, as Hydra's Optuna sweeper writes it


class SweeperConfigError(CompactHydraException):
    """The sweep cannot start (Hydra prints the message alone, exit code 1)."""


def groups(proposals: list) -> list[list]:
    """``proposals`` in runs of consecutive indexes (one launch each)."""
    out: list[list] = []
    for proposal in sorted(proposals, key=lambda p: p.index):
        if out and out[-1][-1].index + 1 == proposal.index:
            out[-1].append(proposal)
        else:
            out.append([proposal])
    return out


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class HydraSearch:
    """The work behind ``hydra_plugins.mlflow_sweep_sweeper.MLflowSweepSweeper``."""

    def __init__(self, settings: dict):
        self.settings = settings
        self.config = self.launcher = None

    def setup(self, *, hydra_context, task_function, config) -> None:
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            config=config, hydra_context=hydra_context, task_function=task_function)

    # -- the sweep ---------------------------------------------------------------------
    def sweep(self, arguments: list[str]) -> list:
        try:  # one clear error before any job
            engine_settings, self.keys = engine_config(self.settings, arguments)
            self.spec = spec = parse_search(engine_settings)
            self.store = store = SweeperStore(sweep_identity(str(self.config.hydra.sweep.dir)))
            resume = self.settings.get("resume")
            store.take_over(resume)  # the one controller of the study, or refused
            records = store.records(spec, resume)
        except (SearchSpecError, NoCallback, ResumeRefused, ControllerBusy) as exc:
            raise SweeperConfigError(str(exc)) from None
        self.by_return = spec.objective is not None and (self.settings.get("objective") or {}).get("return") is True
        engine = self.engine = make_engine(spec, records)  # a search, a race, or a search then a confirmation
        log_spec(store.client, store.parent_id, spec, sweeper="hydra", sweep_name=store.sweep_name,
                 overrides=list(arguments))
        self.returns = []
        env = {ENV_SWEEP_OBJECTIVE: spec.objective.metric} if spec.objective else {}
        with scoped_environ(env), Heartbeat(store.client, store.parent_id):
            while not engine.done():
                batch = []
                while len(batch) < spec.max_parallel and (proposal := engine.propose()) is not None:
                    batch.append(proposal)
                if not batch:
                    break
                for group in groups(batch):
                    self._launch(group)
        log_pruned(store.client, store.parent_id, engine)
        with contextlib.suppress(Exception):  # the race's rounds and winner; never the sweep's failure
            log_race_rounds(store.client, store.parent_id, engine)
            log_race(store.client, store.parent_id, engine)
        self._finish()
        return self.returns

    def _launch(self, group: list) -> None:
        overrides = [tuple(f"{self.keys.get(k, k)}={v}" for k, v in p.params.items()) for p in group]
        watcher = _Watcher(self, group)
        watcher.start()
        try:
            returns = self.launcher.launch(overrides, initial_job_idx=group[0].index)
        finally:
            watcher.stop()
        self.returns.append(returns)
        children = self.store.children()
        for proposal, ret in zip(group, returns):
            with printing_warnings():
                self._record(proposal, ret, children.get(str(proposal.index)), watcher.pruned)

    def _record(self, proposal, ret, run, pruned: dict) -> None:
        spec, store = self.spec, self.store
        run_id = run.info.run_id if run is not None else None
        if run is None:
            warn(f"job {proposal.index}: no child run in MLflow (the callback warned why); "
                 "it counts as failed for the sampler")
        else:
            store.tag(run, proposal)
        status = "FINISHED" if ret.status == JobStatus.COMPLETED else "FAILED"
        points = []
        if run_id and spec.objective is not None:
            points = store.history(run_id, spec.objective.metric)
        if self.by_return and status == "FINISHED":
            value = _number(ret.return_value)
            if value is None:
                warn(f"job {proposal.index} (run {run_id}): the objective is the task's return value, "
                     f"but it returned {type(ret.return_value).__name__} {str(ret.return_value)[:60]!r}, "
                     "not a number; the job counts as failed for the sampler")
                status = "FAILED"
            elif run_id:
                points = store.log_value(run_id, RETURN_METRIC, value, points)
            else:
                points = [(0, 0, value)]
        record_end(store.client, store.parent_id, self.engine, proposal.index, status, points, run_id=run_id,
                   pruned=pruned.get(proposal.trial))

    def _finish(self) -> None:
        counts, best = self.engine.counts(), self.engine.best_config()
        why = self.engine.stop_reason or "every proposed run ended"
        text = (f"sweep {self.store.sweep_name!r}: {counts['configurations']} configuration(s), "
                f"{counts['runs']} run(s), {counts['pruned']} pruned, {counts['failed']} failed; {why}")
        if best is not None:
            value, config, trial = best
            shown = ", ".join(f"{k}={v}" for k, v in config.items())
            text += f"; best {self.spec.objective.metric}={value:g} (trial {trial}: {shown})"
            self._write_results(value, config)
        say(text)

    def _write_results(self, value: float, config: dict) -> None:
        """``optimization_results.yaml`` in the sweep directory (the callback logs it on the
        parent), as Hydra's Optuna sweeper writes it."""
        from omegaconf import OmegaConf

        path = os.path.join(self.store.sweep_dir, RESULTS_FILE)
        with contextlib.suppress(OSError):
            OmegaConf.save(OmegaConf.create({"name": "mlflow_sweep", "best_params": config,
                                             "best_value": value}), path)


class _Watcher:
    """While a group of jobs runs: tag their children as they appear, feed the engine
    their objective's history and tag the runs of a configuration the pruner stops."""

    def __init__(self, search: HydraSearch, group: list):
        self.search, self.group = search, group
        self.pruned: dict = {}  # trial -> the pruner's reason
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mlflow-sweep-watcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._pass(final=True)

    def _run(self) -> None:
        while not self._stop.wait(self.search.spec.poll_s):
            try:
                self._pass()
            except Exception as exc:  # noqa: BLE001 - a store hiccup: try again next poll
                with printing_warnings():
                    warn(f"sweeper: watching the running jobs failed: {type(exc).__name__}: {exc}")

    def _pass(self, final: bool = False) -> None:
        search = self.search
        spec, store, engine = search.spec, search.store, search.engine
        children = store.children()
        for proposal in self.group:
            run = children.get(str(proposal.index))
            if run is None:
                continue
            store.tag(run, proposal)
            if not final and spec.early_stop is not None and run.info.status == "RUNNING" and \
                    proposal.trial not in self.pruned:
                engine.observe(proposal.index, store.history(run.info.run_id, spec.objective.metric))
        if not final and spec.early_stop is not None:
            for trial in {p.trial for p in self.group} & set(engine.running_trials()):
                reason = engine.should_prune(trial)
                if reason:
                    self.pruned[trial] = reason
        for proposal in self.group:
            run = children.get(str(proposal.index))
            if run is not None and proposal.trial in self.pruned:
                store.mark_pruned(run, self.pruned[proposal.trial])
