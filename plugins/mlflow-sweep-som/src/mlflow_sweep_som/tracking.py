"""Log a trained SOM run: what the team's analyzer logged, through the logging API.

:func:`log_som_run` (also ``mlflow_sweep_plugin.log_result("som", som, data=..., ...)``)
computes the results with :mod:`.stats` and logs

- params: the whole config flattened (``x_dim``, ``y_dim``, ``learning_rate``, ``sigma``,
  ``num_iterations``, ``neighborhood_function``, ``topology``, ``activation_distance``,
  the feature switches, ...) plus ``som_grid_size``;
- metrics: every numeric training and data statistic and ``cluster_size_variance``;
- ``results/som_results.json`` in the format the parser reads, so export and logging
  agree;
- the model as ``models/som_model.npz`` (weights and hyperparameters as plain arrays,
  loadable with ``allow_pickle=False`` by :func:`load_som_model`; no pickle is ever
  written or read);
- figures and reports given as ``artifacts``, sorted by type into ``visualizations/``,
  ``results/``, ``models/``.

Everything goes through the logging API's sink, so inside ``sweep_run`` it is spooled
when the tracking server is unreachable.
"""

from __future__ import annotations

import math
import os
import tempfile

from .results import PATTERN as RESULTS_FILE  # where the parser looks for it
from .stats import PARAM_KEYS, som_results

MODEL_FILE = "som_model.npz"
_MODEL_SCALARS = ("sigma", "learning_rate", "neighborhood_function", "topology",
                  "activation_distance")


def _run(run=None, run_id: str | None = None):
    if run is not None:
        return run
    from mlflow_sweep_plugin.tracking.results import ResultLogger

    return ResultLogger(run_id)


def save_som_model(som, path, config: dict | None = None) -> str:
    """Write the SOM's weights and hyperparameters to an ``.npz`` (no pickle)."""
    import numpy as np

    from .stats import som_config

    cfg = som_config(som, config)
    arrays = {"weights": np.asarray(som.get_weights(), dtype=float)}
    for key in _MODEL_SCALARS:
        value = cfg.get(key)
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            arrays[key] = np.asarray(value)
    np.savez(path, **arrays)
    return os.fspath(path)


def load_som_model(path):
    """A MiniSom rebuilt from :func:`save_som_model`'s file (``allow_pickle=False``)."""
    import numpy as np
    from minisom import MiniSom

    with np.load(path, allow_pickle=False) as z:
        weights = z["weights"]
        kwargs = {key: z[key].item() for key in _MODEL_SCALARS if key in z.files}
    x, y, n = weights.shape
    som = MiniSom(x, y, n, **kwargs)
    som._weights = weights.copy()
    return som


def _numeric(stats: dict) -> dict:
    return {k: v for k, v in stats.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


def som_params(results: dict) -> dict:
    """The params of a run: its config (flattened by ``log_config``) and the grid size."""
    cfg = dict(results["config"])
    cfg["som_grid_size"] = cfg["x_dim"] * cfg["y_dim"]
    return cfg


def som_metrics(results: dict) -> dict:
    """The metrics of a run: numeric training and data statistics, size variance."""
    metrics = _numeric(results["training_stats"])
    metrics.update(_numeric(results["data_stats"]))
    std = results["training_stats"].get("cluster_size_std")
    if std is not None and math.isfinite(std):
        metrics["cluster_size_variance"] = std ** 2
    return metrics


def log_som_run(som, data, config=None, *, run=None, run_id: str | None = None,
                extra_data_stats: dict | None = None, artifacts=(), save_model: bool = True,
                results: dict | None = None) -> dict:
    """Compute and log a trained MiniSom's results; return the ``som_results.json`` dict.

    ``config``: a mapping, dataclass or OmegaConf config (what the SOM was trained
    with; it is completed from the SOM). ``extra_data_stats``: statistics of the data
    the SOM cannot know (``unique_users``, ...). ``artifacts``: paths of figures,
    reports or directories to log by type. ``run``/``run_id``: where to log (default:
    the active ``sweep_run``, else MLflow's active run). ``results``: log these
    precomputed results instead of computing them.
    """
    import json

    run = _run(run, run_id)
    results = results or som_results(som, data, config, extra_data_stats)
    missing = [k for k in ("x_dim", "y_dim") if k not in results["config"]]
    if missing:
        raise ValueError(f"som results: config lacks {', '.join(missing)}")
    run.log_config(som_params(results))
    run.log_metrics(som_metrics(results))
    run.log_text(json.dumps(results, indent=2), RESULTS_FILE)
    if save_model:
        with tempfile.TemporaryDirectory(prefix="mlflow-sweep-som-") as tmp:
            path = save_som_model(som, os.path.join(tmp, MODEL_FILE), results["config"])
            run.log_artifacts_by_type(path, {".npz": "models"}, replace_mapping=True)
    if artifacts:
        if isinstance(artifacts, (str, os.PathLike)):
            artifacts = [artifacts]
        run.log_artifacts_by_type(list(artifacts))
    return results


def log_som_result(result, run, **options):
    """The ``som`` result logger: ``log_result("som", som, data=X, config=cfg, ...)``."""
    data = options.pop("data", None)
    if data is None:
        raise TypeError("log_result('som', som, data=...): the training data is required")
    config = options.pop("config", None)
    return log_som_run(result, data, config, run=run, **options)


# the params the format promises (kept here so tests and docs name them in one place)
PROMISED_PARAMS = PARAM_KEYS + ("som_grid_size",)
