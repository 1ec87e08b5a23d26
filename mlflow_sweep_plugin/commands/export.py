"""``mlflow-sweep export`` (also ``mlflow sweep-export`` and ``python -m mlflow_sweep_plugin
export``: the same click command object everywhere). Heavy imports (mlflow, pandas) happen
inside the command, so ``--help`` is fast and the module is cheap to load from MLflow's CLI."""

from __future__ import annotations

import sys

import click

from ..console import eprint, printing_warnings, sweep_errors
from .options import cache_options, history_option, limit_options, output_options, run_selection_options

EXIT_CODES_HELP = """\b
Exit codes:
  0    done (warnings, if any, were printed on stderr)
  1    --strict was given and there were warnings (the table is still written)
  2    usage error, unknown experiment (similar names are listed) or unknown parser
  3    tracking or artifact store unreachable, or not there (the URI is shown
       without credentials; a command that reads a store never creates one)
  4    unexpected error: its traceback, credentials masked (please report it)
  130  interrupted (Ctrl-C)
"""


@click.command(
    "export",
    epilog=EXIT_CODES_HELP,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@run_selection_options
@click.option("-o", "--output", default=None, metavar="PATH",
              help="Output file; default mlflow_sweep_results_<YYYYmmdd_HHMMSS>.csv here.")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "json", "jsonl"]),
              default=None, help="Output format; default from the output's extension, else csv.")
@click.option("--run-view", type=click.Choice(["active", "deleted", "all"]), default="active",
              show_default=True, help="Which runs by lifecycle stage.")
@click.option("-q", "--quiet", is_flag=True, help="No summary line and no progress bar.")
@click.option("--workers", type=click.IntRange(1, 64), default=None, metavar="N",
              help="Parallel reads for remote artifact stores (default 8).")
@limit_options
@cache_options
@output_options
@history_option
@click.option("--include", "include", multiple=True, metavar="parents,superseded",
              help="Also export sweep parents without a record of their own and superseded "
                   "retries (left out by default; --run-view all includes both).")
@click.option("--tag", "tag_keys", multiple=True, metavar="KEY",
              help="Add the run tag KEY as a tags.KEY column (repeatable).")
def export_command(experiment_names, experiment_ids, tracking_uri, output, fmt, filter_string,
                   run_view, parser_names, artifact_patterns, spreadsheet_safe, strict, quiet,
                   workers=None, no_cache=False, refresh=False, include=(), tag_keys=(), history=(),
                   max_artifact_bytes=None, max_columns=None,
                   trust_ended_runs=False):
    """Export an experiment's runs and their summary artifacts as one table.

    One row per record (e.g. per layer per run) with run info, params, latest metrics
    and the columns the parsers produce. A run with no record gets one row.
    """
    from ..export import export_sweep
    from ..export.progress import ExportProgress, stderr_is_terminal
    from ..plugins import get_plugin_manager
    from ..process import export_tuning

    warned: list = []
    with sweep_errors():
        with printing_warnings(collected=warned):
            pm = get_plugin_manager()
            pm.parsers  # load plugins now so their warnings are shown first
        if not experiment_names and not experiment_ids:
            raise click.UsageError("give --experiment-name NAME or -x/--experiment-id ID")
        with ExportProgress(enabled=not quiet and stderr_is_terminal()) as bar, \
                printing_warnings(bar.echo, warned), export_tuning():
            result = export_sweep(
                experiment_names=experiment_names, experiment_ids=experiment_ids,
                tracking_uri=tracking_uri, output=output, fmt=fmt, filter_string=filter_string,
                run_view=run_view, parser_names=parser_names, artifact_patterns=artifact_patterns,
                spreadsheet_safe=spreadsheet_safe, plugin_manager=pm,
                progress=bar if bar.enabled else None, workers=workers, cache=not no_cache,
                refresh=refresh, include=[k.strip() for v in include for k in v.split(",") if k.strip()],
                tags=tag_keys, history=history, max_artifact_bytes=max_artifact_bytes,
                max_columns=max_columns, trust_ended_runs=trust_ended_runs,
            )
    if not quiet:
        eprint(result.summary(len(warned)))
    if strict and warned:
        eprint(f"mlflow-sweep: --strict: {len(warned)} warning(s); exiting with status 1")
        sys.exit(1)
