"""The ``mlflow-sweep`` command line.

``export`` is also ``mlflow sweep-export`` (see ``integrations/mlflow_cli.py``) and
``python -m mlflow_sweep_plugin export``: the same click command object everywhere.
Heavy imports (mlflow, pandas) happen inside the commands, so ``--help`` is fast and
the module is cheap to load from MLflow's own CLI.
"""

from __future__ import annotations

import json
import os
import sys

import click

from .cli_options import limit_options
from .console import echo, eprint, exit_interrupted, printing_warnings, sweep_errors
from .errors import SweepError
from .integrations.commands import import_hydra_command
from .report.command import report_command
from .tracking.commands import flatten_command, sync_command

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


class _Commands(click.Group):
    """The group: Ctrl-C anywhere in a command is exit 130 with one line, no traceback
    (click's own handling would print "Aborted!" and exit 1)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            exit_interrupted()


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mlflow-sweep-plugin", prog_name="mlflow-sweep")
def main():
    """Export, log and automate hyperparameter sweeps tracked in MLflow."""


@click.command(
    "export",
    epilog=EXIT_CODES_HELP,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option("--experiment-name", "experiment_names", multiple=True, metavar="NAME",
              help="Experiment to export (repeatable).")
@click.option("-x", "--experiment-id", "experiment_ids", multiple=True, metavar="ID",
              help="Experiment id to export (repeatable).")
@click.option("--tracking-uri", default=None, metavar="URI",
              help="Tracking store; default $MLFLOW_TRACKING_URI, else MLflow's default "
                   "(the embedded sqlite:///mlflow.db).")
@click.option("-o", "--output", default=None, metavar="PATH",
              help="Output file; default mlflow_sweep_results_<YYYYmmdd_HHMMSS>.csv here.")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "json", "jsonl"]),
              default=None, help="Output format; default from the output's extension, else csv.")
@click.option("--filter", "filter_string", default="", metavar="EXPR",
              help="MLflow search filter, e.g. \"params.sae_type = 'relu'\".")
@click.option("--run-view", type=click.Choice(["active", "deleted", "all"]), default="active",
              show_default=True, help="Which runs by lifecycle stage.")
@click.option("--parser", "parser_names", multiple=True, metavar="NAME",
              help="Only these installed parsers (repeatable; default: all).")
@click.option("--artifact", "artifact_patterns", multiple=True, metavar="PATTERN",
              help="Also flatten JSON/YAML artifacts matching PATTERN into dotted columns, "
                   "e.g. 'eval/{split}/scores.json' (repeatable).")
@click.option("--spreadsheet-safe", is_flag=True,
              help="Prefix text cells starting with = + - @ with an apostrophe, for files "
                   "opened in spreadsheets (off by default: values round-trip exactly).")
@click.option("--strict", is_flag=True, help="Exit 1 when there were warnings.")
@click.option("-q", "--quiet", is_flag=True, help="No summary line and no progress bar.")
@click.option("--workers", type=click.IntRange(1, 64), default=None, metavar="N",
              help="Parallel reads for remote artifact stores (default 8).")
@limit_options
@click.option("--no-cache", "no_cache", is_flag=True,
              help="Neither read nor write the cache of ended runs' records.")
@click.option("--refresh", is_flag=True,
              help="Re-read every run and replace its cache entry.")
@click.option("--trust-ended-runs", "trust_ended_runs", is_flag=True,
              help="Serve ended runs found in the cache without listing their artifacts (no "
                   "artifact request; an artifact logged after a run ended is missed until "
                   "--refresh). Off by default.")
@click.option("--include", "include", multiple=True, metavar="parents,superseded",
              help="Also export sweep parents without a record of their own and superseded "
                   "retries (left out by default; --run-view all includes both).")
@click.option("--tag", "tag_keys", multiple=True, metavar="KEY",
              help="Add the run tag KEY as a tags.KEY column (repeatable).")
@click.option("--history", "history", multiple=True, metavar="METRIC:AGG",
              help="Add a per-run aggregate of a metric's history as METRIC.AGG (AGG: min, max, "
                   "last, mean, argmin, argmax; comma-separated; repeatable).")
def export_command(experiment_names, experiment_ids, tracking_uri, output, fmt, filter_string,
                   run_view, parser_names, artifact_patterns, spreadsheet_safe, strict, quiet,
                   workers=None, no_cache=False, refresh=False, include=(), tag_keys=(), history=(),
                   max_artifact_bytes=None, max_columns=None,
                   trust_ended_runs=False):
    """Export an experiment's runs and their summary artifacts as one table.

    One row per record (e.g. per layer per run) with run info, params, latest metrics
    and the columns the parsers produce. A run with no record gets one row.
    """
    from .export import export_sweep
    from .export.progress import ExportProgress, stderr_is_terminal
    from .plugins import get_plugin_manager
    from .process import export_tuning

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


main.add_command(export_command)


@main.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins_command(as_json):
    """List installed plugins, their versions, parsers and patterns."""
    from .plugins import get_plugin_manager

    with printing_warnings():
        entries = get_plugin_manager().describe()
    if as_json:
        echo(json.dumps(entries, indent=2))
        return
    if not entries:
        echo("No mlflow-sweep plugins installed.")
        return
    for entry in entries:
        version = f" {entry['version']}" if entry["version"] else ""
        echo(f"{entry['name']}{version}" + (f"  [{entry['module']}]" if entry["module"] else ""))
        if entry["error"]:
            echo(f"  failed to load: {entry['error']}")
        for p in entry["parsers"]:
            desc = f"  - {p['description']}" if p["description"] else ""
            echo(f"  parser {p['name']} (v{p['version']}): {p['pattern']}{desc}")
        for d in entry["demos"]:
            echo(f"  demo {d}")
        for name in entry.get("loggers", ()):
            echo(f"  result logger {name}")


@main.command("demo")
@click.option("--kind", default=None, help="Which registered demo (default: the first).")
@click.option("--experiment-name", default="mlflow-sweep-demo", show_default=True)
@click.option("--runs", "n_runs", default=12, show_default=True, type=click.IntRange(1, 10000))
@click.option("--seed", default=0, show_default=True)
@click.option("--tracking-uri", default=None, help="Default: $MLFLOW_TRACKING_URI or MLflow's default.")
@click.option("-o", "--output", default=None, help="Export path (default as for export).")
@click.pass_context
def demo_command(ctx, kind, experiment_name, n_runs, seed, tracking_uri, output):
    """Log a small realistic sweep into the tracking store, export it and report it.

    Runs again on the same experiment reuse the runs already there.
    """
    import mlflow
    from mlflow.tracking import MlflowClient

    from .export.runs import store_errors
    from .failures import fail_fast_http, require_reachable
    from .plugins import get_plugin_manager
    from .stores import check_scheme, ensure_sqlite_store, require_writable_sqlite
    from .uri import redact_uri, resolve_tracking_uri

    with sweep_errors():
        demos = get_plugin_manager().demos
        if not demos:
            raise SweepError("no demo is registered: install a reference plugin, e.g. "
                             "pip install ./plugins/mlflow-sweep-clustering")
        if kind is None:
            kind = "clustering" if "clustering" in demos else sorted(demos)[0]
        if kind not in demos:
            raise SweepError(f"unknown demo {kind!r}; available: {', '.join(sorted(demos))}")
        uri = resolve_tracking_uri(tracking_uri)
        check_scheme(uri)  # demo creates its store (as MLflow does), of a kind MLflow knows
        require_writable_sqlite(uri)  # a read-only place: exit 2 now, not after sqlite's retries
        require_reachable(uri)  # a SQL server that does not answer: exit 3 in seconds
        ensure_sqlite_store(uri)  # a new sqlite file (its directories too, as MLflow 3 does)
        mlflow.set_tracking_uri(uri)
        client = MlflowClient(uri)
        # a dead server is exit 3 in seconds (not MLflow's minutes of retries)
        with fail_fast_http(), store_errors(uri):
            exp = client.get_experiment_by_name(experiment_name)
            existing = client.search_runs([exp.experiment_id], max_results=1) if exp else []
            if existing:
                eprint(f"mlflow-sweep: experiment {experiment_name!r} already has runs; reusing them")
            else:
                eprint(f"mlflow-sweep: logging a {n_runs}-run {kind} demo sweep into "
                       f"{experiment_name!r} at {redact_uri(uri)}")
                demos[kind].func(experiment_name=experiment_name, n_runs=n_runs, seed=seed)
    from .export import default_output

    output = output or default_output()
    ctx.invoke(export_command, experiment_names=(experiment_name,), experiment_ids=(),
               tracking_uri=uri, output=output, fmt=None, filter_string="", run_view="active",
               parser_names=(), artifact_patterns=(), spreadsheet_safe=False, strict=False,
               quiet=False)
    report_dir = os.path.splitext(output)[0] + "_report"
    ctx.invoke(report_command, experiment_names=(experiment_name,), tracking_uri=uri, output=report_dir)
    eprint(f"mlflow-sweep: open {os.path.join(report_dir, 'report.html')} in a browser, or browse the "
           f"runs with: mlflow ui --backend-store-uri {redact_uri(uri)}")


for _command in (flatten_command, sync_command, import_hydra_command):
    main.add_command(_command)
main.add_command(report_command)


if __name__ == "__main__":  # pragma: no cover
    main()
