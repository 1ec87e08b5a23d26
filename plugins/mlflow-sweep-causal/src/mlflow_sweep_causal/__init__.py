"""mlflow-sweep reference plugin for causal-discovery runs.

Parses ``metrics.yaml``, ``ground_truth.yaml`` and ``<learner>/particles.npz`` into one
row per learner per run, recomputes the expected SHD and edge AUROC from the particles,
and logs a run the way the causal-discovery team's helpers did (learner-prefixed
metrics and config, artifacts without plots).

Importing the package is cheap (numpy and mlflow are imported when used).
"""

from __future__ import annotations

from mlflow_sweep_plugin import lazy_api

__version__ = "0.1.0"

_API = {
    "expected_shd": ".graph_metrics",
    "edge_auroc": ".graph_metrics",
    "edge_marginals": ".graph_metrics",
    "shd": ".graph_metrics",
    "parse_metrics": ".results",
    "parse_particles": ".results",
    "parse_ground_truth": ".results",
    "log_causal_run": ".tracking",
    "log_learner": ".tracking",
}

__all__ = sorted(_API) + ["__version__"]


__getattr__, __dir__ = lazy_api(__name__, globals(), _API)
