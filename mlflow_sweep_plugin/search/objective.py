"""One number per run from its objective metric's history, and per-step values for pruning.

The aggregates are those of ``export --history`` (:func:`~..export.history.reduce_points`,
reused, not rewritten): ``last`` (the value at the highest step, then the latest
timestamp), ``min``, ``max``, ``mean`` (NaN points left out). A history is a list of
``(step, timestamp, value)`` points, as ``MlflowClient.get_metric_history`` gives them
(:func:`points_of`).
"""

from __future__ import annotations

import math

from ..export.history import reduce_points


def points_of(metrics) -> list[tuple]:
    """``(step, timestamp, value)`` points from MLflow ``Metric`` objects."""
    return [(int(m.step), int(m.timestamp), float(m.value)) for m in metrics]


def fetch_history(client, run_id: str, metric: str) -> list[tuple]:
    """A run's ``metric`` history as points (one ``get_metric_history`` request): what the
    backend's loop, the Hydra sweeper and ``status`` read a running or ended child with."""
    return points_of(client.get_metric_history(run_id, metric))


def run_value(points, agg: str) -> float | None:
    """The run's objective (``None`` when the history has no usable value)."""
    value = reduce_points(list(points or ()))[agg]
    return None if value is None or math.isnan(value) else float(value)


def step_values(points) -> dict:
    """``{step: value}``: a step's last point (by timestamp); NaN points left out."""
    out: dict = {}
    for step, _, value in sorted(points or (), key=lambda p: (p[0], p[1])):
        if value is not None and not math.isnan(value):
            out[int(step)] = float(value)
    return out


def better(a: float, b: float | None, mode: str) -> bool:
    """Whether ``a`` beats ``b`` (``None``: nothing yet) for ``mode`` ``min``/``max``."""
    if b is None:
        return True
    return a < b if mode == "min" else a > b
