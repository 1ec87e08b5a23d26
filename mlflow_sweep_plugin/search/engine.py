"""The search engine: which run to start next, what an ended run means, when to stop one
early, the best so far, and when the sweep is done. Independent of how runs are launched
(the ``sweep`` backend's processes or submitit jobs, a Hydra launcher).

A launcher's loop::

    engine = Engine(spec, records)            # records: the sweep's runs in the store (resume)
    while not engine.done():
        while slots_free() and (p := engine.propose()) is not None:
            start(p)                          # p.index, p.trial, p.seed, p.params, p.supersedes
        for p in running:                     # every spec.poll_s seconds
            engine.observe(p.index, history_of(p))
        for trial in engine.running_trials():
            reason = engine.should_prune(trial)
            if reason: stop every run in engine.running_indexes(trial), then record them pruned
        for p in ended: engine.record(p.index, status, history_of(p), run_id=...)

Rules (docs/how-to/search.md): a configuration runs once per seed value and the sampler sees its
mean; a proposal equal to a configuration already known is told the known value (or waits
for it) and does not count; ``max_trials`` counts configurations, ``max_runs`` child runs;
a finite space that is exhausted ends the sweep. Runs found in the store that failed, were
killed without being pruned, or were left running by a dead controller run again (the new
run supersedes the old one and keeps its ``mlflow_sweep.index``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..warning_types import warn
from . import space as _space
from .objective import better, run_value, step_values
from .pruning import pruned_text
from .seeds import config_value, seed_text, step_means
from .study import ENDED, SearchStudy

MAX_DUPLICATES = 100  # proposals in a row equal to known configurations before giving up


@dataclass
class Proposal:
    """A run to start: configuration ``trial`` with ``seed``, as child ``index``."""
    index: int
    trial: int
    seed: object                      # the seed value (None without seeds)
    config: dict                      # param -> value (Python)
    params: dict                      # param -> text, the seed param included: what -P passes
    supersedes: str | None = None     # the run id of the failed / abandoned run it replaces
    tags: dict = field(default_factory=dict)  # what the launcher tags the run with (race: round, stage)


@dataclass
class _Run:
    index: int
    seed: object
    status: str | None = None         # None: not started; RUNNING; FINISHED / FAILED / KILLED
    run_id: str | None = None
    value: float | None = None
    steps: dict = field(default_factory=dict)
    pruned: str | None = None
    redo: str | None = None           # the old run to supersede when it starts again


@dataclass
class _Config:
    trial: int
    values: dict
    key: str
    runs: dict                        # seed text -> _Run
    optuna_trial: object = None
    state: str = "running"            # running | complete | pruned | failed
    value: float | None = None
    aliases: list = field(default_factory=list)  # duplicate proposals told when it ends


class Engine:
    def __init__(self, spec, records=()):
        self.spec = spec
        self.study = SearchStudy(spec)
        self.configs: dict[str, _Config] = {}
        self.by_trial: dict[int, _Config] = {}
        self.by_index: dict[int, tuple[_Config, _Run]] = {}
        self.best: tuple[float, _Config] | None = None
        self.n_pruned = 0
        self.stop_reason: str | None = None
        self._no_new = False
        self._rebuild(records)

    # -- the store's runs --------------------------------------------------------------
    def _rebuild(self, records) -> None:
        known_index = [r.index for r in records if r.index is not None]
        self._next_index = max(known_index, default=-1) + 1
        self._next_trial = max((r.trial for r in records if r.trial is not None), default=-1) + 1
        seeds = [seed_text(s) for s in self.spec.seed_values()]
        for record in sorted(records, key=lambda r: (r.trial is None, r.trial or 0, r.index or 0)):
            values = _space.parse_config(self.spec.space, record.config_texts)
            if values is None or (record.seed not in seeds):
                continue  # not a configuration (or seed) of this spec: left as it is
            key = _space.config_key(values)
            config = self.configs.get(key)
            if config is None:
                trial = record.trial if record.trial is not None and record.trial not in self.by_trial \
                    else self._new_trial()
                config = self._add_config(trial, values)
            run = config.runs[record.seed]
            if run.status is not None and run.status == "FINISHED":
                continue  # a second record of a finished run: keep the first
            run.run_id, run.status, run.pruned = record.run_id, record.status, record.pruned
            run.index = record.index if record.index is not None else self._new_index()
            run.steps = step_values(record.points)
            run.value = self._value(record.run_id, record.points) if record.status == "FINISHED" else None
            if record.status not in ENDED:       # left running by a controller that is gone
                run.redo, run.status = record.run_id, None
            elif record.status != "FINISHED" and not record.pruned:
                run.redo, run.status = record.run_id, None  # failed / killed: runs again
            self.by_index[run.index] = (config, run)
        for config in self.configs.values():
            if any(r.pruned for r in config.runs.values()):
                config.state = "pruned"
            steps = step_means(r.steps for r in config.runs.values() if r.steps)
            config.optuna_trial = self.study.replay(config.values, steps)
            self._maybe_end(config)
        self._next_index = max([self._next_index - 1, *self.by_index]) + 1

    def _add_config(self, trial: int, values: dict) -> _Config:
        runs = {seed_text(s): _Run(index=-1, seed=s) for s in self.spec.seed_values()}
        config = _Config(trial=trial, values=values, key=_space.config_key(values), runs=runs)
        self.configs[config.key] = config
        self.by_trial[trial] = config
        self._next_trial = max(self._next_trial, trial + 1)
        return config

    def _new_trial(self) -> int:
        trial = self._next_trial
        self._next_trial += 1
        return trial

    def _new_index(self) -> int:
        index = self._next_index
        self._next_index += 1
        return index

    def _value(self, run_id, points) -> float | None:
        if self.spec.objective is None:
            return None
        value = run_value(points, self.spec.objective.agg)
        if value is None:
            warn(f"run {run_id}: objective metric {self.spec.objective.metric!r} was never logged "
                 "(or only as NaN); its configuration counts as failed for the sampler")
        return value

    # -- proposals ---------------------------------------------------------------------
    def _n_runs(self) -> int:
        return sum(1 for c in self.configs.values() for r in c.runs.values()
                   if r.status is not None or r.redo)

    def _budget_left(self, new_run: bool) -> bool:
        if new_run and self.spec.max_runs is not None and self._n_runs() >= self.spec.max_runs:
            self.stop_reason = self.stop_reason or f"max_runs ({self.spec.max_runs}) reached"
            return False
        return True

    def propose(self) -> Proposal | None:
        """The next run to start now, ``None`` when there is none (wait for a run to end,
        or :meth:`done`)."""
        for config in sorted(self.configs.values(), key=lambda c: c.trial):
            if config.state != "running":
                continue
            for run in config.runs.values():
                if run.status is None and (run.redo or self._budget_left(new_run=True)):
                    return self._start(config, run)
        return self._propose_new()

    def _propose_new(self) -> Proposal | None:
        if self._no_new or not self._budget_left(new_run=True):
            return None
        for _ in range(MAX_DUPLICATES):
            if self.spec.max_trials is not None and len(self.configs) >= self.spec.max_trials:
                self.stop_reason = self.stop_reason or f"max_trials ({self.spec.max_trials}) reached"
                self._no_new = True
                return None
            if not self.study.is_grid and len(self.configs) >= self.study.size():
                self.stop_reason = f"the space is exhausted: all {len(self.configs)} configurations were run"
                self._no_new = True
                return None
            asked = self.study.ask(set(self.configs))
            if asked is None:
                self.stop_reason = self.stop_reason or f"every grid point was run ({len(self.configs)})"
                self._no_new = True
                return None
            trial, values = asked
            key = _space.config_key(values)
            known = self.configs.get(key)
            if known is None:
                config = self._add_config(self._new_trial(), values)
                config.optuna_trial = trial
                return self._start(config, next(iter(config.runs.values())))
            if known.state == "running":
                known.aliases.append(trial)  # told with the configuration when it ends
            else:
                self._tell(known, trial)
        if not self.running_trials():
            self.stop_reason = (f"the sampler proposed only configurations already run "
                                f"({MAX_DUPLICATES} times in a row)")
            self._no_new = True
        return None

    def _start(self, config: _Config, run: _Run) -> Proposal:
        if run.index < 0:
            run.index = self._new_index()
        run.status, run.steps, run.value, run.pruned = "RUNNING", {}, None, None
        self.by_index[run.index] = (config, run)
        params = {k: _space.value_text(v) for k, v in config.values.items()}
        if self.spec.seeds is not None:
            params[self.spec.seeds.param] = seed_text(run.seed)
        old, run.redo = run.redo, None
        return Proposal(index=run.index, trial=config.trial, seed=run.seed, config=dict(config.values),
                        params=params, supersedes=old)

    # -- outcomes ----------------------------------------------------------------------
    def observe(self, index: int, points) -> None:
        """The objective's history so far of a running run."""
        _, run = self.by_index[index]
        run.steps = step_values(points)

    def record(self, index: int, status: str, points=(), *, run_id: str | None = None,
               pruned: str | None = None) -> bool:
        """A run ended (``FINISHED`` / ``FAILED`` / ``KILLED``; ``pruned``: the reason it was
        stopped early). Returns whether the best so far improved."""
        config, run = self.by_index[index]
        run.status, run.run_id, run.pruned = status, run_id or run.run_id, pruned
        run.steps = step_values(points) or run.steps
        run.value = self._value(run.run_id, points) if status == "FINISHED" else None
        if pruned:
            self.n_pruned += 1
        before = self.best
        self._maybe_end(config)
        return self.best is not before

    def _maybe_end(self, config: _Config) -> None:
        runs = list(config.runs.values())
        if config.state == "pruned":
            if any(r.status == "RUNNING" for r in runs):
                return
        elif not all(r.status in ENDED for r in runs):
            return
        else:
            config.value = config_value(r.value for r in runs if r.status == "FINISHED")
            config.state = "complete" if config.value is not None else "failed"
        for trial in [config.optuna_trial, *config.aliases]:
            if trial is not None:
                self._tell(config, trial)
        config.aliases = []
        if config.state == "complete" and self.spec.objective and \
                better(config.value, self.best[0] if self.best else None, self.spec.objective.mode):
            self.best = (config.value, config)

    def _tell(self, config: _Config, trial) -> None:
        steps = step_means(r.steps for r in config.runs.values() if r.steps)
        self.study.tell(trial, config.value, config.state, steps)

    # -- early stopping ----------------------------------------------------------------
    def running_trials(self) -> list[int]:
        return [c.trial for c in self.configs.values()
                if c.state == "running" and any(r.status == "RUNNING" for r in c.runs.values())]

    def running_indexes(self, trial: int) -> list[int]:
        return [r.index for r in self.by_trial[trial].runs.values() if r.status == "RUNNING"]

    def should_prune(self, trial: int) -> str | None:
        """``step 7: val_loss=1.93`` when the pruner stops configuration ``trial`` now (it is
        then pruned: its runs are to be stopped and recorded with this reason, its other
        seeds never start), else ``None``."""
        config = self.by_trial[trial]
        if config.state != "running" or self.spec.early_stop is None:
            return None
        steps = step_means(r.steps for r in config.runs.values() if r.steps)
        decision = self.study.decide(config.optuna_trial, steps)
        if decision is None:
            return None
        config.state = "pruned"
        return pruned_text(decision[0], self.spec.objective.metric, decision[1])

    # -- progress ----------------------------------------------------------------------
    def done(self) -> bool:
        """Nothing runs and nothing is left to start (:attr:`stop_reason` says why)."""
        if any(r.status == "RUNNING" for c in self.configs.values() for r in c.runs.values()):
            return False
        if any(c.state == "running" for c in self.configs.values()):
            return not self._budget_left(new_run=True)
        return self._no_new or not self._budget_left(new_run=True)

    def best_config(self) -> tuple[float, dict, int] | None:
        """``(value, configuration, trial)`` of the best configuration so far."""
        if self.best is None:
            return None
        value, config = self.best
        return value, dict(config.values), config.trial

    def counts(self) -> dict:
        states = [c.state for c in self.configs.values()]
        return {"configurations": len(states), "complete": states.count("complete"),
                "pruned": states.count("pruned"), "failed": states.count("failed"),
                "runs": self._n_runs(), "pruned_runs": self.n_pruned}
