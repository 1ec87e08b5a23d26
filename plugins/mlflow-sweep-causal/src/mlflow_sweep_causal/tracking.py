"""Log a causal-discovery run as the team's helpers did, through the logging API.

:func:`log_causal_run` (also ``mlflow_sweep_plugin.log_result("causal", results_dir)``)
takes the run's results directory (``metrics.yaml``, ``ground_truth.yaml``,
``<learner>/particles.npz``, ``config.yaml``, pickles, plots) and logs

- the run config flattened as params (``data.n_vars``, ``svgd.n_particles``, ...);
- each learner's config section again under the learner prefix (``SVGD.n_particles``),
  when the config has a section named like the learner, or as given in
  ``learner_configs``;
- each learner's reported metrics with the learner as prefix (``SVGD.eshd``,
  ``Ensemble.auroc``);
- the files of the directory except plots (``*.png``, ``*.pdf``, ``*.svg``, ``*.jpg``,
  ``plots/``), keeping their layout, so ``mlflow-sweep export`` reads them back.
  Pickles are uploaded as files, never opened.

Everything goes through the logging API's sink (spooled inside ``sweep_run`` when the
tracking server is unreachable). ``metrics.yaml`` is checked with the same rules as the
parser; a malformed one raises before anything is logged.
"""

from __future__ import annotations

import os

PLOT_PATTERNS = ("*.png", "*.jpg", "*.jpeg", "*.svg", "*.pdf", "*.gif", "*.eps",
                 "plots/**", "**/plots/**")


def _run(run=None, run_id: str | None = None):
    if run is not None:
        return run
    from mlflow_sweep_plugin.tracking.results import ResultLogger

    return ResultLogger(run_id)


def read_reported_metrics(results_dir) -> dict[str, dict]:
    """``metrics.yaml`` of a results directory, checked (``{}`` when there is none)."""
    from mlflow_sweep_plugin.errors import BadArtifact
    from mlflow_sweep_plugin.parsers.loaders import load_yaml

    from .results import METRICS_PATH, reported_metrics

    path = os.path.join(os.fspath(results_dir), METRICS_PATH)
    if not os.path.exists(path):
        return {}
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        return reported_metrics(load_yaml(raw))
    except BadArtifact as exc:
        raise ValueError(f"{path}: {exc}") from None


def _read_config(results_dir):
    from mlflow_sweep_plugin.parsers.loaders import load_yaml

    path = os.path.join(os.fspath(results_dir), "config.yaml")
    if not os.path.exists(path):
        return None
    with open(path, "rb") as fh:
        return load_yaml(fh.read())


def _learner_section(config, learner: str):
    if not isinstance(config, dict):
        return None
    for key in (learner, learner.lower()):
        if isinstance(config.get(key), dict):
            return config[key]
    return None


def log_learner(learner: str, metrics: dict | None = None, config=None, *, run=None,
                run_id: str | None = None, step: int | None = None) -> dict:
    """Log one learner: its metrics as ``<learner>.<name>``, its config as
    ``<learner>.<key>`` params. Returns the metrics logged."""
    run = _run(run, run_id)
    if config:
        run.log_config(config, prefix=learner)
    if metrics:
        numbers = {k: v for k, v in metrics.items() if v is not None}
        return run.log_metrics(numbers, prefix=learner, step=step)
    return {}


def log_causal_run(results_dir, config=None, *, run=None, run_id: str | None = None,
                   learner_configs: dict | None = None, exclude=PLOT_PATTERNS,
                   log_files: bool = True) -> dict[str, dict]:
    """Log a causal-discovery results directory; returns ``{learner: metrics logged}``.

    ``config``: the run config (default: the directory's ``config.yaml``, if any).
    ``learner_configs``: ``{learner: config}`` to log under each learner's prefix
    (default: the config's section named like the learner, e.g. ``svgd`` for ``SVGD``).
    ``exclude``: ``.gitignore``-like patterns of files not to log (plots by default).
    """
    results_dir = os.fspath(results_dir)
    if not os.path.isdir(results_dir):
        raise NotADirectoryError(f"log_causal_run: {results_dir!r} is not a directory")
    run = _run(run, run_id)
    reported = read_reported_metrics(results_dir)
    if config is None:
        config = _read_config(results_dir)
    if config:
        run.log_config(config)
    learners = list(reported)
    for name in sorted(learner_configs or {}):
        if name not in learners:
            learners.append(name)
    logged = {}
    for learner in learners:
        section = (learner_configs or {}).get(learner, _learner_section(config, learner))
        logged[learner] = log_learner(learner, reported.get(learner), section, run=run)
    if log_files:
        run.log_artifacts_selectively(results_dir, exclude=exclude)
    return logged


def log_causal_result(result, run, **options):
    """The ``causal`` result logger: ``log_result("causal", results_dir, config=...)``."""
    return log_causal_run(result, run=run, **options)
