"""The MLflow options every research script grew by hand, as one call.

::

    parser = argparse.ArgumentParser()
    add_mlflow_arguments(parser)
    args = parser.parse_args()
    with sweep_run_from_args(args, run_name="som-8x8"):
        ...

``--experiment NAME`` (default ``$MLFLOW_EXPERIMENT_NAME``), ``--mlflow-tracking-uri
URI`` (default ``$MLFLOW_TRACKING_URI``, else MLflow's default) and ``--no-mlflow``
(log nothing; the job runs as before). The environment is read when the arguments are
added, so ``--help`` shows the effective defaults.
"""

from __future__ import annotations

import os


def add_mlflow_arguments(parser, *, default_experiment: str | None = None):
    """Add ``--experiment``, ``--mlflow-tracking-uri`` and ``--no-mlflow`` to an
    ``argparse`` parser (in an "MLflow" group); returns the group.

    Parsed into ``args.experiment``, ``args.mlflow_tracking_uri`` and ``args.no_mlflow``.
    """
    group = parser.add_argument_group("MLflow")
    experiment = os.environ.get("MLFLOW_EXPERIMENT_NAME") or default_experiment
    uri = os.environ.get("MLFLOW_TRACKING_URI") or None
    group.add_argument("--experiment", default=experiment, metavar="NAME",
                       help="MLflow experiment name (default: $MLFLOW_EXPERIMENT_NAME"
                            + (f", else {default_experiment!r}" if default_experiment else "")
                            + f"; now {experiment!r})")
    group.add_argument("--mlflow-tracking-uri", default=uri, metavar="URI",
                       help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else MLflow's "
                            "default sqlite:///mlflow.db)")
    group.add_argument("--no-mlflow", action="store_true",
                       help="Do not log to MLflow (the job runs the same).")
    return group


def sweep_run_from_args(args, run_name: str | None = None, **options):
    """:func:`~mlflow_sweep_plugin.sweep_run` configured from the parsed arguments
    (``enabled=False`` under ``--no-mlflow``)."""
    from .run import sweep_run  # loads MLflow: a script's --help stays fast

    return sweep_run(getattr(args, "experiment", None), run_name,
                     getattr(args, "mlflow_tracking_uri", None),
                     enabled=not getattr(args, "no_mlflow", False), **options)
