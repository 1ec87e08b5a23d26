"""mlflow-sweep reference plugin for self-organizing-map runs.

Parses ``results/som_results.json`` into one row per run, computes a trained MiniSom's
statistics the way that format defines them, and logs a SOM run (params, metrics,
results JSON, figures and models organised by type).

Importing the package is cheap (numpy, minisom and mlflow are imported when used).
"""

from __future__ import annotations

from mlflow_sweep_plugin import lazy_api

__version__ = "0.1.0"

_API = {
    "parse_som_results": ".results",
    "som_record": ".results",
    "som_results": ".stats",
    "som_config": ".stats",
    "cluster_stats": ".stats",
    "data_stats": ".stats",
    "winning_neurons": ".stats",
    "log_som_run": ".tracking",
}

__all__ = sorted(_API) + ["__version__"]


__getattr__, __dir__ = lazy_api(__name__, globals(), _API)
