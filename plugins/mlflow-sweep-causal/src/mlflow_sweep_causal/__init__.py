"""mlflow-sweep reference plugin for causal-discovery runs.

Parses ``metrics.yaml``, ``ground_truth.yaml`` and ``<learner>/particles.npz`` into one
row per learner per run, recomputes the expected SHD and edge AUROC from the particles,
and logs a run the way the causal-discovery team's helpers did (learner-prefixed
metrics and config, artifacts without plots).

numpy and mlflow are imported by the functions that use them.
"""

from __future__ import annotations

from .graph_metrics import edge_auroc, edge_marginals, expected_shd, shd
from .results import parse_ground_truth, parse_metrics, parse_particles
from .tracking import log_causal_run, log_learner

__version__ = "0.1.0"

__all__ = ["__version__", "edge_auroc", "edge_marginals", "expected_shd", "log_causal_run",
           "log_learner", "parse_ground_truth", "parse_metrics", "parse_particles", "shd"]
