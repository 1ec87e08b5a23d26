"""The in-memory Optuna study of a sweep, and the sweep's runs as the store holds them.

The tracking store is the sweep's only state: :func:`records_from_runs` turns a sweep's
child runs into :class:`RunRecord` s (their tags ``mlflow_sweep.trial``,
``mlflow_sweep.seed``, ``mlflow_sweep.index``, ``mlflow_sweep.pruned``, their logged
params and their objective's history); the engine rebuilds the study from them
(:meth:`SearchStudy.replay`: finished configurations told with their values, pruned ones
with their intermediate values, failed ones as failed). No Optuna database is written.

:class:`SearchStudy` hands out new configurations: for ``grid`` the next grid point in
grid order, for a search strategy the sampler's proposal (``Study.ask`` with the space's
distributions, fixed params added).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import warnings
from dataclasses import dataclass, field

import optuna
from optuna.trial import TrialState

from ..tags import TAG_POINT, TAG_PRUNED, TAG_SEED, TAG_STAGE, TAG_SUPERSEDED, TAG_SWEEP_INDEX, TAG_TRIAL
from . import space as _space
from .pruning import decide, make_pruner, write_steps
from .strategies import make_sampler

ENDED = ("FINISHED", "FAILED", "KILLED")


@dataclass
class RunRecord:
    """One child run of the sweep (from the store, or as the runner saw it end)."""
    run_id: str
    status: str                       # RUNNING | FINISHED | FAILED | KILLED | SCHEDULED
    config_texts: dict                # swept param -> its text as logged
    index: int | None = None          # mlflow_sweep.index
    trial: int | None = None          # mlflow_sweep.trial
    seed: str | None = None           # mlflow_sweep.seed
    pruned: str | None = None         # mlflow_sweep.pruned (why it was stopped)
    points: list = field(default_factory=list)  # the objective's history: (step, timestamp, value)
    stage: str | None = None          # mlflow_sweep.stage (search | race | confirm)


def _int_tag(tags: dict, key: str) -> int | None:
    try:
        return int(tags[key])
    except (KeyError, ValueError):
        return None


def records_from_runs(runs, spec, history) -> list[RunRecord]:
    """The sweep's child runs (MLflow ``Run`` objects, superseded ones left out) as records;
    ``history(run_id, metric)`` gives the objective's points (only fetched when there is
    an objective)."""
    names = list(spec.space)
    out = []
    for run in runs:
        tags = run.data.tags
        if TAG_SUPERSEDED in tags:
            continue
        texts = {k: v for k, v in run.data.params.items() if k in names}
        if len(texts) < len(names) and tags.get(TAG_POINT):  # params not logged: the point tag
            with contextlib.suppress(ValueError, AttributeError):
                texts = {**json.loads(tags[TAG_POINT]), **texts}
        seed = tags.get(TAG_SEED)
        if seed is None and spec.seeds is not None:
            seed = run.data.params.get(spec.seeds.param)
        points = history(run.info.run_id, spec.objective.metric) if spec.objective else []
        out.append(RunRecord(run_id=run.info.run_id, status=run.info.status, config_texts=texts,
                             index=_int_tag(tags, TAG_SWEEP_INDEX), trial=_int_tag(tags, TAG_TRIAL),
                             seed=seed, pruned=tags.get(TAG_PRUNED), points=list(points),
                             stage=tags.get(TAG_STAGE)))
    return out


def grid_configs(space: dict):
    """The grid's configurations in grid order (the cartesian product, the last name
    varying fastest)."""
    names = list(space)
    for combo in itertools.product(*(space[n].choices for n in names)):
        yield dict(zip(names, combo))


class SearchStudy:
    """An in-memory Optuna study plus the strategy's source of new configurations."""

    def __init__(self, spec):
        # Optuna's own chatter, set when a study is made (not at import): it logs every tell
        # at INFO (the sweep prints its own lines), and Optuna 2.10 calls enqueue_trial /
        # add_trial "experimental" (stable since 3.0), a note for developers, not users
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        self.spec = spec
        direction = "maximize" if spec.objective and spec.objective.mode == "max" else "minimize"
        self.study = optuna.create_study(direction=direction,
                                         sampler=make_sampler(spec.strategy, spec.sampler_seed)
                                         or optuna.samplers.RandomSampler(seed=spec.sampler_seed),
                                         pruner=make_pruner(spec.early_stop))
        self.distributions = _space.distributions(spec.space)
        self.fixed = _space.fixed_values(spec.space)
        self._grid = self._grid_points() if spec.strategy == "grid" else None
        self._replays_rungs = isinstance(self.study.pruner, (optuna.pruners.SuccessiveHalvingPruner,
                                                            optuna.pruners.HyperbandPruner))

    @property
    def is_grid(self) -> bool:
        return self._grid is not None

    def size(self) -> float:
        """How many configurations the space holds (``inf`` for a continuous range)."""
        return _space.space_size(self.spec.space)

    def _grid_points(self):
        return grid_configs(self.spec.space)

    def ask(self, known: set) -> tuple[object, dict] | None:
        """A new ``(optuna trial, configuration)``. For ``grid``: the next grid point whose
        key is not in ``known`` (``None`` when the grid is done); for a search strategy:
        the sampler's proposal, which may be a configuration already known (the caller
        tells it the known value)."""
        if self._grid is not None:
            for config in self._grid:
                if _space.config_key(config) not in known:
                    return self.study.ask(), config
            return None
        trial = self.study.ask(self.distributions)
        space = self.spec.space
        return trial, {**{k: _space.normalise(space[k], v) for k, v in trial.params.items()}, **self.fixed}

    def replay(self, config: dict, steps: dict):
        """An optuna trial for a configuration found in the store, its steps written (for
        successive halving / Hyperband one by one, through the pruner, so that its rungs
        are as they were); the caller tells its outcome when it is known."""
        if self._grid is None:
            self.study.enqueue_trial({k: config[k] for k in self.distributions})
            trial = self.study.ask(self.distributions)
        else:
            trial = self.study.ask()
        if self._replays_rungs:
            seen = {}
            for step in sorted(steps):
                seen[step] = steps[step]
                decide(self.study, trial._trial_id, seen)  # noqa: SLF001 - the decision is history
        elif steps:
            write_steps(self.study, trial._trial_id, steps)  # noqa: SLF001
        return trial

    def decide(self, trial, steps: dict):
        """The pruner's decision for a running configuration (see :func:`.pruning.decide`)."""
        return decide(self.study, trial._trial_id, steps)  # noqa: SLF001 - Trial has no public id

    def tell(self, trial, value: float | None, state: str, steps: dict | None = None) -> None:
        """End a trial: ``complete`` with its value, ``pruned`` (its steps written first),
        ``failed``."""
        if steps:
            write_steps(self.study, trial._trial_id, steps)  # noqa: SLF001
        if state == "complete" and value is not None:
            self.study.tell(trial, value)
        elif state == "pruned":
            self.study.tell(trial, state=TrialState.PRUNED)
        else:
            self.study.tell(trial, state=TrialState.FAIL)
