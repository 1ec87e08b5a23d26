"""Options several commands share, written once so their help says the same."""

from __future__ import annotations

import click


def limit_options(command):
    """``--max-artifact-bytes`` and ``--max-columns`` (:mod:`.limits`), as
    ``max_artifact_bytes`` and ``max_columns``."""
    command = click.option(
        "--max-columns", "max_columns", type=click.IntRange(1, None), default=None, metavar="N",
        help="Most columns one record may have (default $MLFLOW_SWEEP_MAX_COLUMNS, else "
             "10000); a record with more is a warning and gives no row.")(command)
    return click.option(
        "--max-artifact-bytes", "max_artifact_bytes", default=None, metavar="SIZE",
        help="Largest artifact read (bytes, or e.g. 500MB, 2GiB; default "
             "$MLFLOW_SWEEP_MAX_ARTIFACT_BYTES, else 1GiB); a larger one is a warning, "
             "and an .npz that would inflate beyond it is never opened.")(command)
