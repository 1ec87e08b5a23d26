"""``mlflow-sweep report``: the export's run selection, then the report directory."""

from __future__ import annotations

import sys

import click

from .options import cache_options, history_option, limit_options, output_options, run_selection_options

EXIT_CODES_HELP = """\b
Exit codes:
  0  done (warnings, if any, were printed on stderr)
  1  --strict was given and there were warnings (the report is still written)
  2  usage error: bad option, unknown experiment, parser or run (--log-to), an
     --objective/--over/--by/--plot that is not a column of the table; -o is a
     file, or a directory holding files no earlier report wrote, or cannot be
     written (read-only file system, disk full)
  3  tracking or artifact store unreachable (the URI is shown without credentials),
     or no tracking store at the URI
  4  unexpected error: its traceback, credentials masked (please report it)
  130  interrupted (Ctrl-C)
"""


@click.command("report", epilog=EXIT_CODES_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@run_selection_options
@cache_options
@history_option
@output_options
@limit_options
@click.option("-o", "--output", default=None, metavar="DIR",
              help="Report directory; default mlflow_sweep_report_<YYYYmmdd_HHMMSS> here.")
@click.option("--objective", default=None, metavar="COLUMN",
              help="Rank configurations by this metric column's mean; writes best.json.")
@click.option("--mode", type=click.Choice(["min", "max"]), default="min", show_default=True,
              help="Whether the objective is minimised or maximised.")
@click.option("--over", default=None, metavar="NAME",
              help="Column averaged away (default: the one seed-like column; 'none': no column).")
@click.option("--by", "by", multiple=True, metavar="NAME",
              help="Grouping columns (repeatable; default: the varied params, captures and record keys).")
@click.option("--key", "keys", multiple=True, metavar="NAME",
              help="A record field that tells records apart: grouped by (repeatable; beyond the parsers' keys).")
@click.option("--descriptor", "descriptors", multiple=True, metavar="NAME",
              help="A field neither grouped by nor summarised (repeatable; beyond the parsers' descriptors).")
@click.option("--label", "labels", multiple=True, metavar="COLUMN=TEXT",
              help="The name tables show for COLUMN (repeatable; default: the bare name).")
@click.option("--table-metrics", "table_metrics", default=None, metavar="M1,M2",
              help="The metrics of summary.tex (default: the objective, then those that fit one column).")
@click.option("--metric", "metrics", multiple=True, metavar="NAME",
              help="Metrics to summarise (repeatable; default: every numeric metric column).")
@click.option("--band", type=click.Choice(["std", "sem", "ci"]), default="std", show_default=True,
              help="The band around the mean in line plots.")
@click.option("--plot", "plot", multiple=True, metavar="FACTOR",
              help="Also plot against FACTOR (or a heatmap for 'A,B'), beyond the default ones.")
@click.option("--max-plots", type=click.IntRange(0, 200), default=12, show_default=True,
              help="Plots chosen by variance explained.")
@click.option("--include-failed", is_flag=True, help="Keep FAILED and KILLED runs.")
@click.option("--curves", "curves", multiple=True, metavar="METRIC",
              help="Also draw learning curves of METRIC's history (repeatable; default: the --history "
                   "metrics and the objective's, when logged at several steps).")
@click.option("--no-curves", "no_curves", is_flag=True, help="No learning curves.")
@click.option("--order", "order", multiple=True, metavar="FACTOR=a,b,c",
              help="The order of FACTOR's levels in plots (repeatable; default: the sweep's grid order, "
                   "else first appearance).")
@click.option("--scale", "scales", multiple=True, metavar="FACTOR=levels|linear|log",
              help="How a numeric FACTOR's axis is drawn (default: evenly spaced levels when few and "
                   "unevenly spaced, else linear or log).")
@click.option("--log-to", "log_to", default=None, metavar="RUN_ID",
              help="Also log the report on this run (artifacts under report/, best-configuration tags).")
@click.option("--title", default=None, help="The report's title.")
def report_command(experiment_names, experiment_ids, tracking_uri, filter_string, parser_names,
                   artifact_patterns, no_cache, refresh, output, objective, mode, over, by, metrics,
                   band, plot, max_plots, include_failed, history, strict, log_to, title,
                   keys=(), descriptors=(), labels=(), table_metrics=None,
                   trust_ended_runs=False, max_artifact_bytes=None, max_columns=None,
                   spreadsheet_safe=False, curves=(), no_curves=False, order=(), scales=()):
    """Summarise a sweep per configuration over seeds: report.html, summary.csv/.md/.tex,
    best.json and plots, from the export's table.

    Prints the report's path and the best configuration (with --objective) in one line.
    """
    from ..console import printing_warnings, say, sweep_errors
    from ..errors import UsageError
    from ..report.build import build_report, default_output_dir
    from ..report.levels import parse_pairs
    from ..report.options import ReportOptions, check_options
    from ..report.output import check_output_dir
    from ..report.source import load

    collected: list = []
    with sweep_errors(), printing_warnings(collected=collected):
        if not experiment_names and not experiment_ids:
            raise UsageError("give --experiment-name NAME or -x/--experiment-id ID")
        over_value = False if over is not None and over.strip().lower() in ("none", "") else over
        options = ReportOptions(objective=objective, mode=mode, over=over_value, by=list(by) or None,
                                metrics=list(metrics) or None, band=band, plot=tuple(plot),
                                include_failed=include_failed, max_plots=max_plots, title=title,
                                keys=list(keys), descriptors=list(descriptors), labels=_labels(labels),
                                table_metrics=[m.strip() for m in table_metrics.split(",") if m.strip()]
                                if table_metrics else None, spreadsheet_safe=spreadsheet_safe,
                                curves=list(curves), no_curves=no_curves, order=parse_pairs(order, "--order"),
                                scales={k: ",".join(v) for k, v in parse_pairs(scales, "--scale").items()})
        check_options(options)
        output = output or default_output_dir()
        check_output_dir(output)  # before any work: a refused directory costs nothing
        source = load(experiment_names=experiment_names, experiment_ids=experiment_ids,
                      tracking_uri=tracking_uri, filter_string=filter_string, parser_names=parser_names,
                      artifact_patterns=artifact_patterns, cache=not no_cache, refresh=refresh,
                      history=history, trust_ended_runs=trust_ended_runs,
                      max_artifact_bytes=max_artifact_bytes, max_columns=max_columns)
        report = build_report(source.df, output, options,
                              captures=source.captures, source=source, prior_warnings=list(collected))
        if log_to:
            from ..report.parent import log_report

            where = log_report(report, log_to, tracking_uri=source.tracking_uri)
            say(f"report logged on run {log_to} (artifacts under {where}/)")
    say(report.one_line())
    if strict and collected:
        say(f"--strict: {len(collected)} warning(s); exiting with status 1")
        sys.exit(1)


def _labels(pairs) -> dict:
    """``--label COLUMN=TEXT`` options as a dict; a pair without ``=`` is a usage error."""
    from ..errors import UsageError

    out = {}
    for pair in pairs:
        column, sep, text = str(pair).partition("=")
        if not sep or not column.strip():
            raise UsageError(f"--label takes COLUMN=TEXT, not {pair!r}")
        out[column.strip()] = text
    return out
