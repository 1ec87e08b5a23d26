"""Early stopping: the spec's ``early_stop`` -> an Optuna pruner, and its decision for a
configuration from its per-step values (with seeds: the mean of its runs that reported
each step, :func:`.seeds.step_means`).

Pruners (Optuna's own; docs/how-to/search.md, "Early stopping"):

- ``median``: ``MedianPruner``; ``min_steps`` -> ``n_warmup_steps``, ``n_startup_trials``,
  ``interval_steps``, ``n_min_trials``;
- ``percentile``: ``PercentilePruner``, the same arguments and ``percentile``;
- ``asha``: ``SuccessiveHalvingPruner`` (``min_resource``, ``reduction_factor``,
  ``min_early_stopping_rate``);
- ``hyperband``: ``HyperbandPruner`` (``min_resource``, ``max_resource``, ``reduction_factor``).

A configuration's values change as its runs report steps (a slower seed run adds to a step
already seen), so they are written into the study's trial whole before each decision:
through the storage's ``set_trial_intermediate_value`` (``Trial.report`` keeps the first
value of a step), which Optuna 2.10 and 3+ share.
"""

from __future__ import annotations

import math

import optuna

_RENAMED = {"min_steps": "n_warmup_steps"}


def make_pruner(early_stop):
    """The Optuna pruner of an ``EarlyStop`` (``NopPruner`` for ``None``)."""
    if early_stop is None:
        return optuna.pruners.NopPruner()
    args = {_RENAMED.get(k, k): v for k, v in early_stop.args.items()}
    if early_stop.pruner == "median":
        return optuna.pruners.MedianPruner(**args)
    if early_stop.pruner == "percentile":
        return optuna.pruners.PercentilePruner(**args)
    if early_stop.pruner == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(**args)
    if early_stop.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(**args)
    raise ValueError(f"unknown pruner {early_stop.pruner!r}")  # parse_search refuses it first


def write_steps(study, trial_id: int, steps: dict) -> None:
    """Make the trial's intermediate values ``steps`` (``{step: value}``), overwriting."""
    storage = study._storage  # noqa: SLF001 - see the module docstring
    for step, value in steps.items():
        storage.set_trial_intermediate_value(trial_id, int(step), float(value))


def decide(study, trial_id: int, steps: dict) -> tuple[int, float] | None:
    """``(step, value)`` at which the pruner stops the trial given its values ``steps``,
    ``None`` to let it go on (also when it has no step yet)."""
    if not steps or isinstance(study.pruner, optuna.pruners.NopPruner):
        return None
    write_steps(study, trial_id, steps)
    frozen = study._storage.get_trial(trial_id)  # noqa: SLF001 - the pruner reads and writes the stored trial
    if study.pruner.prune(study, frozen):
        step = max(steps)
        return step, steps[step]
    return None


def pruned_text(step: int, metric: str, value: float) -> str:
    """The ``mlflow_sweep.pruned`` tag of a stopped run: ``step 7: val_loss=1.93``."""
    shown = "nan" if math.isnan(value) else f"{value:.6g}"
    return f"step {step}: {metric}={shown}"
