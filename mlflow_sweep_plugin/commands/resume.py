"""``mlflow-sweep resume PARENT_RUN_ID``: run a backend sweep again from the spec its
parent stores (:mod:`mlflow_sweep_plugin.sweep.stored_spec`), in the foreground, through
MLflow's projects API with the ``sweep`` backend and ``"resume": true``: failed and
missing runs run again, the rest is kept. A Hydra sweep: the multirun command that
continues it is printed. Heavy imports happen inside the command (fast ``--help``)."""

from __future__ import annotations

import os

import click

from ..console import echo, printing_warnings, say, sweep_errors

EXIT_CODES_HELP = """\b
Exit codes (as mlflow run):
  0    the sweep ended with every run finished (or: a Hydra sweep's command printed)
  1    the sweep ended and some runs failed (or it stopped: its error is shown)
  2    usage error: no such run, not a sweep's parent, no stored spec, a newer sweep
       of the same name, or a live controller runs the sweep (its host and process
       are named)
  3    tracking store unreachable, or not there (it is never created)
  4    unexpected error: its traceback, credentials masked (please report it)
  130  interrupted (Ctrl-C): the sweep's running children are stopped
"""


def _seeds(ctx, param, value):
    """``--seeds 6`` (values 0..5, as the config's count) or ``--seeds 3,4,5``."""
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise click.BadParameter("give a count N or a comma-separated list of seed values")
    if len(items) == 1 and "," not in value:
        try:
            count = int(items[0])
        except ValueError:
            raise click.BadParameter(f"{value!r}: a count N or a comma-separated list of seed values") from None
        if count < 1:
            raise click.BadParameter("a count must be >= 1")
        return count
    return [int(v) if v.lstrip("-").isdigit() else v for v in items]


def _submitit(ctx, param, values):
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE (e.g. partition=gpu, time=60)")
        value = value.strip()
        out[key.strip()] = int(value) if value.isdigit() else value
    return out


@click.command("resume", epilog=EXIT_CODES_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("parent_run_id", metavar="PARENT_RUN_ID")
@click.option("--max-trials", type=click.IntRange(1, None), default=None, metavar="N",
              help="Raise the number of configurations to try.")
@click.option("--max-runs", type=click.IntRange(1, None), default=None, metavar="N",
              help="Raise the cap on child runs.")
@click.option("--max-parallel", type=click.IntRange(1, None), default=None, metavar="N",
              help="Runs in flight at once.")
@click.option("--seeds", default=None, callback=_seeds, metavar="N|V1,V2,...",
              help="More seed values: a count N (values 0..N-1) or a list; the stored ones are kept.")
@click.option("--executor", type=click.Choice(["local", "submitit"]), default=None,
              help="Where the runs go from now on.")
@click.option("--submitit", "submitit", multiple=True, callback=_submitit, metavar="KEY=VALUE",
              help="A submitit setting (partition, time, gpus, mem, cpus, folder, ...; repeatable).")
@click.option("--tracking-uri", default=None, metavar="URI",
              help="Tracking store; default $MLFLOW_TRACKING_URI, else MLflow's default.")
def resume_command(parent_run_id, max_trials, max_runs, max_parallel, seeds, executor, submitit,
                   tracking_uri):
    """Continue a sweep from its parent run, without retyping it: failed and missing runs
    run again (in the foreground, as mlflow run does); the options extend it."""
    from ..errors import UsageError
    from ..failures import store_errors
    from ..search.controller import ControllerBusy, refuse_if_alive
    from ..sweep.status import sweep_status
    from ..sweep.stored_spec import extend, read_spec, resume_request
    from ..tags import KIND_HYDRA, TAG_KIND, TAG_SWEEP_NAME
    from .status import get_parent, reading_client

    with sweep_errors():
        client, uri = reading_client(tracking_uri)
        # the reading part's warnings here; the sweep's own are printed by the backend's thread
        with store_errors(uri), printing_warnings():
            parent = get_parent(client, uri, parent_run_id)
            if parent.data.tags.get(TAG_KIND) == KIND_HYDRA:
                echo(sweep_status(client, parent, []).resume_command)
                say("a Hydra sweep continues with its multirun command (above), run in its sweep directory's "
                    "project; replace YOUR_APP.py with the script")
                return
            try:  # checked before anything starts; the backend's lock refuses a race too
                refuse_if_alive(parent.data.tags, parent.data.tags.get(TAG_SWEEP_NAME) or parent_run_id)
            except ControllerBusy as exc:
                raise UsageError(str(exc)) from None
            request = resume_request(parent, read_spec(client, parent))
            _check_newest(client, parent)
        if not request.project_uri:
            raise UsageError(f"run {parent_run_id} stores no project URI (neither its spec nor its "
                             "mlflow.source.name tag): it cannot be resumed from the parent alone")
        if "://" not in request.project_uri and not os.path.exists(request.project_uri):
            raise UsageError(f"the sweep's project {request.project_uri!r} is not there (a relative path is "
                             "read from this directory: run resume where mlflow run ran)")
        extend(request, max_trials=max_trials, max_runs=max_runs, seeds=seeds, max_parallel=max_parallel,
               executor=executor, submitit=submitit)
        say(f"resuming sweep {request.backend_config.get('sweep_name')!r} (parent run {parent_run_id}): "
            f"{request.project_uri} entry point {request.entry_point}"
            + "".join(f"; {note}" for note in request.notes))
        _run(request, parent.info.experiment_id, uri)


def _check_newest(client, parent) -> None:
    """The backend continues the newest parent of the sweep's name: refuse when that is
    another run (exit 2) rather than continue the wrong sweep."""
    from ..errors import UsageError
    from ..sweep.query import find_runs
    from ..tags import KIND_BACKEND, ROLE_PARENT, TAG_KIND, TAG_ROLE, TAG_SWEEP_NAME

    name = parent.data.tags.get(TAG_SWEEP_NAME)
    if not name:
        raise UsageError(f"run {parent.info.run_id} has no sweep name (tag {TAG_SWEEP_NAME})")
    same = find_runs(client, parent.info.experiment_id,
                     {TAG_SWEEP_NAME: name, TAG_ROLE: ROLE_PARENT, TAG_KIND: KIND_BACKEND})
    if same and same[-1].info.run_id != parent.info.run_id:
        raise UsageError(f"a newer sweep named {name!r} exists (parent run {same[-1].info.run_id}); "
                         "resume continues the newest sweep of a name: resume that one")


def _run(request, experiment_id: str, uri: str) -> None:
    """``mlflow.projects.run`` in the foreground; a failed sweep is exit 1 (as mlflow run)."""
    import sys

    import mlflow
    from mlflow.exceptions import ExecutionException

    from ..errors import UsageError
    from ..failures import exception_chain
    from ..search.controller import ControllerBusy

    mlflow.set_tracking_uri(uri)
    try:
        mlflow.projects.run(request.project_uri, entry_point=request.entry_point, version=request.version,
                            parameters=request.params,
                            experiment_id=experiment_id, backend="sweep",
                            backend_config=request.backend_config, env_manager=request.env_manager,
                            synchronous=True)
    except Exception as exc:  # noqa: BLE001 - sorted below: busy, failed runs, or not ours to judge
        busy = next((e for e in exception_chain(exc) if isinstance(e, ControllerBusy)), None)
        if busy is not None or "live controller" in str(exc):
            raise UsageError(str(busy or exc)) from None
        if isinstance(exc, ExecutionException):
            say(f"error: {exc}")
            sys.exit(1)
        raise
