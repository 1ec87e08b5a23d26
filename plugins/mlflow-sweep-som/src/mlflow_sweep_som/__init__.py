"""mlflow-sweep reference plugin for self-organizing-map runs.

Parses ``results/som_results.json`` into one row per run, computes a trained MiniSom's
statistics the way that format defines them, and logs a SOM run (params, metrics,
results JSON, figures and models organised by type).

numpy, minisom and mlflow are imported by the functions that use them.
"""

from __future__ import annotations

from .results import parse_som_results, som_record
from .stats import cluster_stats, data_stats, som_config, som_results, winning_neurons
from .tracking import log_som_run

__version__ = "0.1.0"

__all__ = ["__version__", "cluster_stats", "data_stats", "log_som_run", "parse_som_results",
           "som_config", "som_record", "som_results", "winning_neurons"]
