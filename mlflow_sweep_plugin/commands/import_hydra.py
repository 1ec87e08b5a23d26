"""``mlflow-sweep`` commands that drive the integrations (auto-registered by ``cli.py``)."""

from __future__ import annotations

import os

import click


@click.command("import-hydra", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("sweep_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--experiment-name", default=None, metavar="NAME",
              help="Experiment to log into (created if needed); default: the sweep's job name "
                   "from multirun.yaml, else the directory's name.")
@click.option("--tracking-uri", default=None, metavar="URI",
              help="Default $MLFLOW_TRACKING_URI, else MLflow's default.")
@click.option("--include-models", is_flag=True,
              help="Also log model files and checkpoints (model.pt, *.ckpt, ...). They are "
                   "copied, never loaded.")
@click.option("--no-flatten", is_flag=True,
              help="Do not parse the jobs' artifacts into metrics.")
@click.option("--redact", "redact_keys", multiple=True, metavar="NAME",
              help="Also log config keys named NAME (or matching the pattern, e.g. 'hf_*') as "
                   "*** (repeatable); password, token, api_key and the like always are.")
@click.option("--no-redact", is_flag=True,
              help="Log credential-looking keys (password, token, ...) as they are.")
@click.option("--report-objective", default=None, metavar="COLUMN",
              help="Rank the configurations by COLUMN in the sweep's report on its parent run.")
@click.option("--report-mode", type=click.Choice(["min", "max"]), default="min", show_default=True,
              help="Whether the best --report-objective is the smallest or the largest.")
@click.option("--no-report", is_flag=True, help="Log no report on the parent run.")
def import_hydra_command(sweep_dir, experiment_name, tracking_uri, include_models, no_flatten,
                         redact_keys, no_redact, report_objective=None, report_mode="min", no_report=False):
    """Log a Hydra multirun directory that ran without a tracking server.

    One parent run for the sweep, one child run per job (overrides and composed config as
    params, facts/metrics.csv as step metrics, the job's files as artifacts), exactly as
    the Hydra callback would have logged them. A job is FAILED when its directory says so
    (the callback's .hydra/job_return.yaml, a traceback its log ends with, a partial
    facts/metrics.csv); a job without facts/metrics.csv is not a failure (tag
    mlflow_sweep.metrics_file = absent). Credential-looking keys are logged as ***. The
    sweep's report (see mlflow-sweep report) is logged on the parent under report/.
    Importing again adds only jobs that are not logged yet: nothing is duplicated.

    A sweep the callback logged (its mlflow_sweep.yaml) is imported into the callback's
    experiment and store by default, and its parent closed: the repair when the process
    that submitted the sweep is gone. A job killed on the cluster (time limit,
    preemption, out of memory) is FAILED/KILLED with the reason submitit recorded.
    """
    from ..console import echo, printing_warnings, sweep_errors
    from ..errors import UsageError
    from ..failures import fail_fast_http, require_reachable, store_errors
    from ..stores import check_scheme
    from ..uri import resolve_tracking_uri
    from ..hydra.importer import import_sweep

    if not tracking_uri and not os.environ.get("MLFLOW_TRACKING_URI"):
        from ..hydra.record import read_record

        tracking_uri = (read_record(sweep_dir) or {}).get("tracking_uri")  # where the callback logged
    uri = resolve_tracking_uri(tracking_uri)
    redact = () if no_redact else (list(redact_keys) or None)
    # SweepErrors (an unreachable store among them) exit with their codes; a dead server
    # in seconds (fail_fast_http), not MLflow's minutes of retries
    with sweep_errors(), fail_fast_http(), store_errors(uri), printing_warnings():
        check_scheme(uri)
        require_reachable(uri)  # a SQL server that does not answer: exit 3 in seconds
        try:
            result = import_sweep(sweep_dir, tracking_uri=uri, experiment_name=experiment_name,
                                  include_models=include_models, flatten=not no_flatten,
                                  redact=redact,
                                  report=False if no_report else {"objective": report_objective,
                                                                  "mode": report_mode})
        except (FileNotFoundError, ValueError) as exc:  # not a sweep directory: exit 2
            raise UsageError(str(exc)) from None
    echo(f"mlflow-sweep: imported {result['imported']} job(s) ({result['failed']} failed), "
               f"skipped {result['skipped']} already logged, of {result['jobs']} in {sweep_dir} "
               f"-> experiment {result['experiment_id']}, parent run {result['parent_run_id']}",
               err=True)


COMMANDS = [import_hydra_command]
