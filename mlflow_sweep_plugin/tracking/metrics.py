"""Log metrics from nested dicts, with a prefix, in as few requests as MLflow allows.

``log_metrics({"eshd": 1.2, "auroc": {"obs": 0.9}}, prefix="SVGD")`` logs
``SVGD.eshd`` and ``SVGD.auroc.obs`` in one ``log_batch`` request (1000 metrics per
request), all with the same timestamp and step.

Values:

- numbers (``int``, ``float``, ``bool`` as 0/1, numpy scalars, 0-d arrays) are logged;
- anything else (text, ``None``, lists) is skipped with one warning naming the keys,
  so a stats dict with a few labels in it still logs its numbers;
- NaN and infinities follow ``nonfinite``: ``"keep"`` (default) hands them to MLflow,
  which stores NaN as NaN and +/-inf as +/-1.7976931348623157e308 (the largest float;
  the SQL stores have no infinity); ``"skip"`` drops them with a warning; ``"error"``
  raises ``ValueError`` naming them and logs nothing.
"""

from __future__ import annotations

import math
import sys
from numbers import Real

from ..warning_types import warn
from .flatten import _container
from .keys import metric_name
from .sink import now_ms, resolve_sink

NONFINITE_CHOICES = ("keep", "skip", "error")


def stored_value(value) -> float | str:
    """A metric value as the SQL stores give it back, comparable with ``==``: +/-inf as
    +/-the largest float, NaN as the text ``"nan"`` (NaN != NaN)."""
    v = float(value)
    if math.isnan(v):
        return "nan"
    return math.copysign(sys.float_info.max, v) if math.isinf(v) else v


def _number(value):
    value = _container(value)
    if isinstance(value, (bool, Real)) and not isinstance(value, complex):
        return float(value)
    if isinstance(value, (str, bytes, dict, list, type(None))):
        return None
    try:
        return float(value)  # Decimal, numpy types that slipped through
    except (TypeError, ValueError):
        return None


def flatten_metrics(metrics, prefix: str | None = None, sep: str = ".",
                    nonfinite: str = "keep") -> dict[str, float]:
    """The ``{name: float}`` that :func:`log_metrics` would log (warnings included)."""
    if nonfinite not in NONFINITE_CHOICES:
        raise ValueError(f"nonfinite must be one of {', '.join(NONFINITE_CHOICES)}, got {nonfinite!r}")
    root = _container(metrics)
    if not isinstance(root, dict):
        raise TypeError(f"log_metrics needs a mapping of names to numbers, got {type(metrics).__name__}")
    out: dict[str, float] = {}
    skipped, nonfin = [], []

    def walk(value, path):
        value = _container(value)
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, path + [str(k)])
            return
        name = metric_name(path, sep)
        number = _number(value)
        if number is None:
            skipped.append(f"{name} ({type(value).__name__})")
        elif not math.isfinite(number) and nonfinite != "keep":
            nonfin.append(f"{name}={number}")
        else:
            out[name] = number

    walk(root, [prefix] if prefix else [])
    if nonfin and nonfinite == "error":
        raise ValueError(f"non-finite metric values (nonfinite='error'): {', '.join(nonfin)}")
    if skipped:
        warn(f"log_metrics skipped non-numeric values: {', '.join(skipped)}", stacklevel=3)
    if nonfin:
        warn(f"log_metrics skipped non-finite values: {', '.join(nonfin)}", stacklevel=3)
    return out


def log_metrics(metrics, prefix: str | None = None, step: int | None = None,
                run_id: str | None = None, *, timestamp: int | None = None, sep: str = ".",
                nonfinite: str = "keep", client=None) -> dict[str, float]:
    """Log ``metrics`` (nested dicts allowed) on the run, under ``prefix``.

    ``step`` defaults to 0 and ``timestamp`` (ms since the epoch) to now, as in
    ``mlflow.log_metrics``. ``run_id`` defaults to the active :func:`sweep_run`, else
    MLflow's active run (``client``: the ``MlflowClient`` to log ``run_id`` through).
    Returns the ``{name: value}`` logged.
    """
    flat = flatten_metrics(metrics, prefix, sep, nonfinite)
    if flat:
        ts = now_ms() if timestamp is None else int(timestamp)
        st = 0 if step is None else int(step)
        resolve_sink(run_id, client).log_batch(metrics=[(k, v, ts, st) for k, v in flat.items()])
    return flat
