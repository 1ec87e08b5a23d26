"""``mlflow-sweep flatten`` (added to the group by ``cli.py``).

Cheap to import: click only; the work is imported inside the commands.
"""

from __future__ import annotations

import click

from .options import limit_options
from ..console import eprint, printing_warnings, sweep_errors

_CTX = {"help_option_names": ["-h", "--help"]}


@click.command("flatten", context_settings=_CTX)
@click.argument("run_ids", nargs=-1, metavar="[RUN_ID]...")
@click.option("--experiment-name", "experiment_names", multiple=True, metavar="NAME",
              help="Flatten every run of this experiment (repeatable).")
@click.option("--filter", "filter_string", default="", metavar="EXPR",
              help="With --experiment-name: MLflow search filter for the runs.")
@click.option("--parser", "parser_names", multiple=True, metavar="NAME",
              help="Only these installed parsers (repeatable; default: all).")
@click.option("--tracking-uri", default=None, metavar="URI",
              help="Default: $MLFLOW_TRACKING_URI, else MLflow's default.")
@limit_options
@click.option("-q", "--quiet", is_flag=True, help="No summary line.")
def flatten_command(run_ids, experiment_names, filter_string, parser_names, tracking_uri, quiet,
                    max_artifact_bytes=None, max_columns=None):
    """Log the numeric fields of runs' artifacts as run metrics.

    Runs the installed parsers over each run's artifacts (as the export does) and logs
    what they find as metrics such as layer_0.energy_contrast_ratio, so the MLflow UI
    can sort and compare runs by them. Running it again logs nothing new.
    """
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from ..errors import UsageError
    from ..export.runs import iter_runs, resolve_experiments
    from ..failures import fail_fast_http, is_unreachable, store_errors
    from ..limits import Limits, applied
    from ..plugins import get_plugin_manager
    from ..stores import readable_store
    from ..tracking.flatten_artifacts import flatten_artifacts

    problems: list = []
    # a dead server is exit 3 in seconds (fail_fast_http), not MLflow's minutes of retries
    with sweep_errors(), fail_fast_http(), printing_warnings(collected=problems):
        if not run_ids and not experiment_names:
            raise click.UsageError("give RUN_ID... or --experiment-name NAME")
        limits = Limits.requested(max_artifact_bytes, max_columns)
        pm = get_plugin_manager()
        pm.select_parsers(parser_names)
        uri = readable_store(tracking_uri)  # read it, never create it; a dead SQL server: exit 3 in seconds
        client = MlflowClient(uri)
        ids = list(run_ids)
        if experiment_names:
            experiments = resolve_experiments(client, uri, experiment_names)
            ids += [r.info.run_id for r in iter_runs(
                client, [e.experiment_id for e in experiments], filter_string, tracking_uri=uri)]
        n_new = n_same = 0
        for run_id in dict.fromkeys(ids):
            with store_errors(uri), applied(limits):
                try:
                    result = flatten_artifacts(run_id, parsers=parser_names or None,
                                               tracking_uri=uri, plugin_manager=pm, client=client)
                except MlflowException as exc:
                    if not is_unreachable(exc) and exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                        raise UsageError(f"no run {run_id!r} at this tracking store") from None
                    raise
            n_new += len(result.logged)
            n_same += len(result.unchanged)
    if not quiet:
        eprint(f"mlflow-sweep: flattened {len(dict.fromkeys(ids))} runs: {n_new} new metrics, "
               f"{n_same} unchanged, {len(problems)} warnings")
