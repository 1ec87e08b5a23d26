"""Seeds as their own axis: a configuration runs once per seed value, and the sampler and
the pruner see the configuration, not its runs.

- Its value is the mean of its runs' objectives over the seed runs that produced one
  (:func:`config_value`); a configuration none of whose runs produced one failed.
- Its value at a step is the mean over its runs that reported that step
  (:func:`step_means`), so a run that is behind does not hold the others back.
"""

from __future__ import annotations

import math


def config_value(values) -> float | None:
    """The mean of the seed runs' values (``None`` ones left out); ``None`` when none."""
    usable = [v for v in values if v is not None and not math.isnan(v)]
    return math.fsum(usable) / len(usable) if usable else None


def step_means(histories) -> dict:
    """``{step: mean}`` over per-run ``{step: value}`` mappings (each run counted at the
    steps it reported)."""
    sums: dict = {}
    counts: dict = {}
    for steps in histories:
        for step, value in steps.items():
            sums[step] = sums.get(step, 0.0) + value
            counts[step] = counts.get(step, 0) + 1
    return {step: sums[step] / counts[step] for step in sorted(sums)}


def seed_text(value) -> str | None:
    """A seed value as it is passed and tagged (``mlflow_sweep.seed``); ``None``: no seeds."""
    return None if value is None else str(value)
