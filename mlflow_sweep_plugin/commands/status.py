"""``mlflow-sweep status``: what is done, failed, missing and best in each sweep, and the
command that continues it. The data comes from :mod:`mlflow_sweep_plugin.sweep.status`;
this module renders it (text with a rich table of symbols, or ``--json``). Heavy imports
happen inside the command, so ``--help`` is fast."""

from __future__ import annotations

import io

import json

import click

from ..console import echo, sweep_errors, visible

EXIT_CODES_HELP = """\b
Exit codes:
  0    done (warnings, if any, were printed on stderr)
  2    usage error, unknown experiment, no sweep of that name, a run that is not
       a sweep's parent
  3    tracking or artifact store unreachable, or not there (the URI is shown
       without credentials; this command never creates a store)
  4    unexpected error: its traceback, credentials masked (please report it)
  130  interrupted (Ctrl-C)
"""
#: one symbol per cell of the configuration x seed matrix
SYMBOLS = {"finished": "✓", "failed": "✗", "pruned": "✂", "killed": "⊘", "running": "▶",
           "missing": "·", "skipped": "-"}
LEGEND = ("✓ finished  ✗ failed  ✂ pruned  ⊘ killed  ▶ running  · missing  "
          "- not run (its configuration was pruned)")
MAX_FAILED_SHOWN = 20


def reading_client(tracking_uri):
    """``(client, uri)`` of a store that exists and answers (a reading command never
    creates one: exit 3 otherwise)."""
    from mlflow.tracking import MlflowClient

    from ..stores import readable_store

    uri = readable_store(tracking_uri)
    return MlflowClient(tracking_uri=uri), uri


def get_parent(client, uri: str, run_id: str):
    """The run ``run_id``, checked to be a sweep's parent (else a usage error, exit 2)."""
    from mlflow.exceptions import MlflowException

    from ..errors import UsageError
    from ..failures import is_unreachable, store_errors
    from ..tags import ROLE_PARENT, TAG_ROLE

    with store_errors(uri):
        try:
            run = client.get_run(run_id)
        except MlflowException as exc:
            if is_unreachable(exc):
                raise
            raise UsageError(f"no run {run_id!r} in the tracking store") from None
    if run.data.tags.get(TAG_ROLE) != ROLE_PARENT:
        raise UsageError(f"run {run_id} is not a sweep's parent run (no mlflow_sweep.role = parent tag)")
    return run


@click.command("status", epilog=EXIT_CODES_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--experiment-name", "experiment_names", multiple=True, metavar="NAME",
              help="Every sweep of this experiment (repeatable).")
@click.option("-x", "--experiment-id", "experiment_ids", multiple=True, metavar="ID",
              help="Every sweep of this experiment id (repeatable).")
@click.option("--sweep", "sweep_name", default=None, metavar="NAME",
              help="Only the sweeps of this name (in the experiments given, else in every experiment).")
@click.option("--parent", "parent_run_id", default=None, metavar="RUN_ID",
              help="Only the sweep of this parent run.")
@click.option("--tracking-uri", default=None, metavar="URI",
              help="Tracking store; default $MLFLOW_TRACKING_URI, else MLflow's default.")
@click.option("--json", "as_json", is_flag=True, help='Print {"sweeps": [...]} as JSON.')
def status_command(experiment_names, experiment_ids, sweep_name, parent_run_id, tracking_uri, as_json):
    """Show each sweep's state: runs by state (finished, failed, pruned, killed, running,
    missing), budget used, best so far, failed runs with their errors, whether its
    controller is alive, and the command that continues it."""
    from ..console import printing_warnings
    from ..errors import UsageError
    from ..export.runs import resolve_experiments
    from ..failures import fail_fast_http, store_errors
    from ..sweep.status import find_sweeps

    with sweep_errors(), printing_warnings(), fail_fast_http():
        if not (experiment_names or experiment_ids or sweep_name or parent_run_id):
            raise UsageError("give --experiment-name NAME, -x/--experiment-id ID, --sweep NAME or --parent RUN_ID")
        client, uri = reading_client(tracking_uri)
        with store_errors(uri):
            if parent_run_id:
                get_parent(client, uri, parent_run_id)
                sweeps = find_sweeps(client, (), parent_run_id=parent_run_id)
            else:
                if experiment_names or experiment_ids:
                    exp_ids = [e.experiment_id for e in resolve_experiments(client, uri, experiment_names,
                                                                            experiment_ids)]
                else:
                    exp_ids = [e.experiment_id for e in client.search_experiments()]
                sweeps = find_sweeps(client, exp_ids, sweep_name=sweep_name)
                if sweep_name and not sweeps:
                    raise UsageError(f"no sweep named {sweep_name!r} in "
                                     + ("the experiment(s) given" if exp_ids and (experiment_names or experiment_ids)
                                        else "any experiment"))
    if as_json:
        click.echo(json.dumps({"sweeps": [s.to_dict() for s in sweeps]}, indent=2, default=str))
        return
    if not sweeps:
        echo("no sweeps found")
    for i, sweep in enumerate(sweeps):
        if i:
            echo("")
        render(sweep)


def _params_text(params: dict, seed=None) -> str:
    parts = [f"{k}={v}" for k, v in params.items()]
    if seed is not None:
        parts.append(f"seed={seed}")
    return ", ".join(parts) or "(no swept params)"


def _number(value) -> str:
    return "?" if value is None else f"{value:.6g}"


def _controller_line(sweep) -> str:
    from ..sweep.status import ago

    c = sweep.controller
    if c is None:
        return "controller: none recorded"
    where = f"host {c['host']}, process {c['pid']}"
    if c["alive"]:
        return f"controller: alive ({where})"
    seen = f"last seen {ago(c['last_seen_ago_s'])} ago" if c["last_seen_ago_s"] is not None else "never beat"
    if sweep.state in ("RUNNING", "SCHEDULED"):
        return f"controller: {seen} ({where}); it stopped without ending the sweep"
    return f"controller: ended ({where}, {seen})"


def lines(sweep) -> list[str]:
    """The text of one sweep (before the matrix), one line each."""
    runs = sweep.runs
    counts = ", ".join(f"{runs[k]} {k}" for k in ("finished", "failed", "pruned", "killed", "running"))
    if runs.get("missing") is not None:
        counts += f", {runs['missing']} missing"
    budget = sweep.budget
    used = f"{budget['runs']} run(s)" + (f" of max_runs {budget['max_runs']}" if budget["max_runs"] else "")
    used += f", {budget['trials']} configuration(s)" + (
        f" of max_trials {budget['max_trials']}" if budget["max_trials"] else "")
    out = [f"sweep {sweep.name!r} (parent run {sweep.parent_run_id}, experiment {sweep.experiment_id})",
           f"  kind {sweep.kind}, strategy {sweep.strategy or '?'}, parent {sweep.state}, "
           f"started {sweep.start_time or '?'}",
           f"  {_controller_line(sweep)}", f"  runs: {counts}", f"  budget: {used}"]
    if len(sweep.sessions) > 1:
        out.insert(2, f"  sessions: {len(sweep.sessions)} (parent runs, oldest first): "
                      + ", ".join(f"{s['run_id']} {s['state']}" for s in sweep.sessions))
    best = sweep.best
    if best is not None:
        spread = f" ± {_number(best['std'])}" if best["std"] is not None else ""
        agg = f" ({best['agg']})" if best.get("agg") not in (None, "last") else ""
        out.append(f"  best so far: {best['objective']}{agg} {best['mode']} = {_number(best['mean'])}{spread} "
                   f"(n={best['n']}): {_params_text(best['params'])}")
    elif sweep.objective is not None:
        out.append("  best so far: none yet (no configuration has all its runs ended)")
    if sweep.failed_runs:
        out.append(f"  failed runs ({len(sweep.failed_runs)}):")
        for run in sweep.failed_runs[:MAX_FAILED_SHOWN]:
            out.append(f"    {run['run_id']} [{run['state']}] {_params_text(run['params'], run['seed'])}: "
                       f"{run['error'] or 'no error recorded'}")
        if len(sweep.failed_runs) > MAX_FAILED_SHOWN:
            out.append(f"    ... {len(sweep.failed_runs) - MAX_FAILED_SHOWN} more (--json lists all)")
    out.append(f"  continue: {sweep.resume_command}")
    return out


def render(sweep) -> None:
    for line in lines(sweep):
        echo(visible(line, newlines=False))
    if sweep.matrix and sweep.matrix["rows"]:
        render_matrix(sweep.matrix)


def render_matrix(matrix: dict) -> None:
    """The configuration x seed matrix as a rich table of symbols (values made visible,
    passed as :class:`rich.text.Text`, never as markup)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    seeds = matrix["seeds"]
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for name in matrix["params"]:
        table.add_column(Text(visible(name, newlines=False)))
    for seed in seeds or ["run"]:
        table.add_column(Text(visible(f"seed {seed}" if seeds else seed, newlines=False)), justify="center")
    for row in matrix["rows"]:
        table.add_row(*[Text(visible(row["params"][n], newlines=False)) for n in matrix["params"]],
                      *[Text(SYMBOLS.get(c, "?")) for c in row["cells"]])
    # rendered to text, then written like every other line (the cells are visible already;
    # symbols only, so visible() leaves the table as drawn)
    console = Console(file=io.StringIO(), width=200, highlight=False, soft_wrap=False, color_system=None)
    console.print(table)
    click.echo(console.file.getvalue().rstrip("\n"))
    echo(f"  {LEGEND}")
