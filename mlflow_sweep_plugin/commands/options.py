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


def _stack(command, *options):
    """Apply ``options`` so that they appear in ``--help`` in the order given."""
    for option in reversed(options):
        command = option(command)
    return command


def run_selection_options(command):
    """The runs a command reads, as the export selects them: ``--experiment-name``,
    ``-x/--experiment-id``, ``--tracking-uri``, ``--filter``, ``--parser``, ``--artifact``."""
    return _stack(
        command,
        click.option("--experiment-name", "experiment_names", multiple=True, metavar="NAME",
                     help="Experiment to read (repeatable)."),
        click.option("-x", "--experiment-id", "experiment_ids", multiple=True, metavar="ID",
                     help="Experiment id to read (repeatable)."),
        click.option("--tracking-uri", default=None, metavar="URI",
                     help="Tracking store; default $MLFLOW_TRACKING_URI, else MLflow's default "
                          "(the embedded sqlite:///mlflow.db)."),
        click.option("--filter", "filter_string", default="", metavar="EXPR",
                     help="MLflow search filter, e.g. \"params.sae_type = 'relu'\"."),
        click.option("--parser", "parser_names", multiple=True, metavar="NAME",
                     help="Only these installed parsers (repeatable; default: all)."),
        click.option("--artifact", "artifact_patterns", multiple=True, metavar="PATTERN",
                     help="Also flatten JSON/YAML artifacts matching PATTERN into dotted columns, "
                          "e.g. 'eval/{split}/scores.json' (repeatable)."),
    )


def cache_options(command):
    """The export's cache of ended runs: ``--no-cache``, ``--refresh``, ``--trust-ended-runs``."""
    return _stack(
        command,
        click.option("--no-cache", "no_cache", is_flag=True,
                     help="Neither read nor write the cache of ended runs' records."),
        click.option("--refresh", is_flag=True,
                     help="Re-read every run and replace its cache entry."),
        click.option("--trust-ended-runs", "trust_ended_runs", is_flag=True,
                     help="Serve ended runs found in the cache without listing their artifacts (no "
                          "artifact request; an artifact logged after a run ended is missed until "
                          "--refresh). Off by default."),
    )


def history_option(command):
    """``--history METRIC:AGG``: per-run aggregates of metric histories as columns."""
    return click.option(
        "--history", "history", multiple=True, metavar="METRIC:AGG",
        help="Add a per-run aggregate of a metric's history as METRIC.AGG (AGG: min, max, "
             "last, mean, argmin, argmax; comma-separated; repeatable).")(command)


def output_options(command):
    """``--spreadsheet-safe`` and ``--strict``, as export and report read them."""
    return _stack(
        command,
        click.option("--spreadsheet-safe", is_flag=True,
                     help="Prefix text cells starting with = + - @ with an apostrophe, for files "
                          "opened in spreadsheets (off by default: values round-trip exactly)."),
        click.option("--strict", is_flag=True, help="Exit 1 when there were warnings."),
    )
