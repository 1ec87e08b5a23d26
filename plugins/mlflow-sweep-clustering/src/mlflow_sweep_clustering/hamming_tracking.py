"""Log a multi-seed Hamming k-means analysis through the logging API.

:func:`log_hamming_summary` (also ``mlflow_sweep_plugin.log_result("hamming", summary)``)
takes the ``metrics_summary.json`` document (built with
:func:`.hamming_metrics.execution_metrics`) and logs

- ``config`` as params (``method``, ``layer``, ``component``, ``seeds``, ``n_similar``,
  ``k_values``) and ``matrix.name``/``matrix.shape`` as ``matrix_name``/``matrix_shape``;
- per execution the numeric metrics as ``seed_<s>.k_<k>.<metric>`` (plus
  ``hamming_range`` and ``cluster_balance``), and per k the mean over seeds as
  ``k_<k>.<metric>_mean``, so runs sort by separation in the MLflow UI;
- the document itself at ``summary/metrics_summary.json``, which the
  ``hamming_summary`` parser reads back.

The document is checked with the parser's rules first: a malformed one raises
``ValueError`` before anything is logged.
"""

from __future__ import annotations

import json
import math

from .hamming_summary import PATTERN, hamming_records

_METRICS = ("min_hamming", "max_hamming", "hamming_range", "mean_within_cluster_distance",
            "mean_between_cluster_distance", "separation_ratio", "total_inertia",
            "cluster_balance", "n_iter")


def hamming_metrics(summary: dict) -> dict[str, float]:
    """The run metrics of a summary: per execution and per-k means over seeds."""
    from mlflow_sweep_plugin.errors import BadArtifact

    try:
        records = hamming_records(summary)
    except BadArtifact as exc:
        raise ValueError(f"metrics summary: {exc}") from None
    out: dict[str, float] = {}
    per_k: dict = {}
    for rec in records:
        for name in _METRICS:
            value = rec.get(name)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            if rec.get("seed") is not None and rec.get("k") is not None:
                out[f"seed_{rec['seed']}.k_{rec['k']}.{name}"] = float(value)
            if rec.get("k") is not None:
                per_k.setdefault((rec["k"], name), []).append(float(value))
    for (k, name), values in sorted(per_k.items()):
        out[f"k_{k}.{name}_mean"] = sum(values) / len(values)
    return out


def log_hamming_summary(summary: dict, *, run=None, run_id: str | None = None) -> dict:
    """Log one analysed matrix's summary; returns the metrics logged."""
    if run is None:
        from mlflow_sweep_plugin.tracking.results import ResultLogger

        run = ResultLogger(run_id)
    metrics = hamming_metrics(summary)  # checks the document before logging anything
    params = dict(summary["config"])
    matrix = summary.get("matrix") or {}
    if matrix.get("name") is not None:
        params["matrix_name"] = matrix["name"]
    if matrix.get("shape") is not None:
        params["matrix_shape"] = "x".join(str(n) for n in matrix["shape"])
    run.log_config(params)
    logged = run.log_metrics(metrics, nonfinite="skip")
    run.log_text(json.dumps(summary, indent=2), PATTERN)
    return logged


def log_hamming_result(result, run, **options):
    """The ``hamming`` result logger: ``log_result("hamming", summary_dict)``."""
    return log_hamming_summary(result, run=run, **options)
