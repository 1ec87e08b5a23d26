"""``mlflow-sweep demo``: log a small realistic sweep, export it and report it."""

from __future__ import annotations

import os

import click

from ..console import eprint, sweep_errors
from ..errors import SweepError
from .export import export_command
from .report import report_command

@click.command("demo", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--kind", default=None, help="Which registered demo (default: sae, a seeded training sweep, when installed).")
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

    from ..failures import fail_fast_http, require_reachable, store_errors
    from ..plugins import get_plugin_manager
    from ..stores import check_scheme, ensure_sqlite_store, require_writable_sqlite
    from ..uri import redact_uri, resolve_tracking_uri

    with sweep_errors():
        demos = get_plugin_manager().demos
        if not demos:
            raise SweepError("no demo is registered: install a reference plugin, e.g. "
                             "pip install ./plugins/mlflow-sweep-clustering")
        if kind is None:
            kind = next((k for k in ("sae", "clustering") if k in demos), sorted(demos)[0])
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
    from ..export import default_output

    output = output or default_output()
    ctx.invoke(export_command, experiment_names=(experiment_name,), experiment_ids=(),
               tracking_uri=uri, output=output, fmt=None, filter_string="", run_view="active",
               parser_names=(), artifact_patterns=(), spreadsheet_safe=False, strict=False,
               quiet=False)
    report_dir = os.path.splitext(output)[0] + "_report"
    options = demos[kind].report
    ctx.invoke(report_command, experiment_names=(experiment_name,), tracking_uri=uri, output=report_dir,
               objective=options.get("objective"), mode=options.get("mode", "min"))
    eprint(f"mlflow-sweep: open {os.path.join(report_dir, 'report.html')} in a browser, or browse the "
           f"runs with: mlflow ui --backend-store-uri {redact_uri(uri)}")
