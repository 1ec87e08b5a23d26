"""mlflow-sweep reference plugin for self-organizing-map runs.

Parses ``results/som_results.json`` into one row per run, computes a trained MiniSom's
statistics the way that format defines them, and logs a SOM run (params, metrics,
results JSON, figures and models organised by type).

Importing the package is cheap (numpy, minisom and mlflow are imported when used).
"""

from __future__ import annotations

import importlib

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


def __getattr__(name: str):
    try:
        module = _API[name]
    except KeyError:
        raise AttributeError(f"module 'mlflow_sweep_som' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
