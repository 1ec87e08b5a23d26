"""Parent and child runs of a sweep: what the ``sweep`` backend and the Hydra hooks share.

A sweep is one *parent* run and one *child* run per grid point or Hydra job. Children
carry ``mlflow.parentRunId`` (so the MLflow UI nests them) and the sweep tags
(``mlflow_sweep.sweep_id``, ``mlflow_sweep.index``, ``mlflow_sweep.sweep_name``); the
parent carries the sweep id too, ``mlflow_sweep.role = parent``, and at the end the
counts (``mlflow_sweep.n_children``, ``mlflow_sweep.n_failed``, ``mlflow_sweep.n_skipped``)
and the sweep's export table as the artifact ``sweep_table.csv``.

Everything here talks to MLflow through an explicit ``MlflowClient``: nothing touches
the fluent API's active run, which belongs to the user's code. Problems are
:class:`~mlflow_sweep_plugin.warning_types.SweepWarning` warnings (the entry points
that MLflow and Hydra run print them, :func:`~mlflow_sweep_plugin.console.printing_warnings`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings

from ..tags import TAG_SUPERSEDED  # noqa: F401 - the hooks' modules import it from here
from ..warning_types import SweepWarning
from ..warning_types import warn as _warn
import uuid

from .context import (
    ENV_PARENT_RUN_ID,
    ENV_SWEEP_ID,
    ENV_SWEEP_INDEX,
    ENV_SWEEP_NAME,
    TAG_PARENT,
    TAG_ROLE,
    TAG_SWEEP_ID,
    TAG_SWEEP_INDEX,
    TAG_SWEEP_NAME,
)

TAG_KIND = "mlflow_sweep.kind"  # "mlflow-run" | "hydra"
TAG_POINT = "mlflow_sweep.point"  # JSON of a child's swept values (grid values, Hydra overrides)
TAG_ERROR = "mlflow_sweep.error"  # why a child failed (the last line of its error)
TAG_EXIT_CODE = "mlflow_sweep.exit_code"  # a backend child's exit code
TAG_N_CHILDREN = "mlflow_sweep.n_children"
TAG_N_FAILED = "mlflow_sweep.n_failed"
TAG_N_SKIPPED = "mlflow_sweep.n_skipped"
TAG_RUN_NAME = "mlflow.runName"
TABLE_ARTIFACT = "sweep_table.csv"


def point_key(values: dict) -> str:
    """A child's ``mlflow_sweep.point``: its swept values as JSON with sorted keys (the
    grid values of a backend child, the override params of a Hydra job), the same for
    the same point whatever the grid's order or size."""
    import json

    return json.dumps({str(k): str(v) for k, v in values.items()}, sort_keys=True)


_TRACEBACK = "Traceback (most recent call last):"


def traceback_error(lines) -> tuple[str | None, int]:
    """The exception line of the last Python traceback in ``lines`` (``ValueError: bad
    lr``) and its index, or ``(None, -1)`` when there is no traceback."""
    lines = list(lines)
    starts = [i for i, line in enumerate(lines) if line.rstrip().endswith(_TRACEBACK)]
    if not starts:
        return None, -1
    for i in range(starts[-1] + 1, len(lines)):
        line = lines[i]
        if line.strip() and not line[:1].isspace():
            return line.strip(), i
    return None, -1


def new_sweep_id() -> str:
    return uuid.uuid4().hex


def client_uri(client) -> str | None:
    """The tracking URI an ``MlflowClient`` talks to (MLflow 2.x and 3.x)."""
    uri = getattr(client, "tracking_uri", None)
    if uri is None:
        uri = getattr(getattr(client, "_tracking_client", None), "tracking_uri", None)
    return uri


def quote(value: str) -> str:
    """A string literal for an MLflow search filter."""
    value = str(value)
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise ValueError(f"cannot search for a value holding both quote characters: {value!r}")


def without_runs(df, run_ids):
    """The table without the rows of ``run_ids`` (a sweep's parent, superseded retries)."""
    if len(df) and "run_id" in df.columns:
        return df[~df["run_id"].isin(set(run_ids))].reset_index(drop=True)
    return df


def tag_filter(tags: dict) -> str:
    return " and ".join(f"tags.`{k}` = {quote(v)}" for k, v in tags.items())


def find_runs(client, experiment_id: str, tags: dict) -> list:
    """Active runs of the experiment carrying all of ``tags`` (every page)."""
    out, token = [], None
    while True:
        page = client.search_runs([str(experiment_id)], filter_string=tag_filter(tags),
                                  max_results=1000, page_token=token,
                                  order_by=["attributes.start_time ASC"])
        out.extend(page)
        token = page.token
        if not token:
            return out


def sweep_env(sweep_id: str, index, parent_run_id: str, sweep_name: str | None) -> dict:
    """The environment variables that make runs a job creates carry the sweep tags
    (read by :class:`~.context.SweepRunContextProvider`)."""
    env = {ENV_SWEEP_ID: sweep_id, ENV_PARENT_RUN_ID: parent_run_id}
    if index is not None:
        env[ENV_SWEEP_INDEX] = str(index)
    if sweep_name:
        env[ENV_SWEEP_NAME] = sweep_name
    return env


def create_parent(client, experiment_id: str, sweep_id: str, sweep_name: str, kind: str,
                  tags: dict | None = None):
    all_tags = {TAG_SWEEP_ID: sweep_id, TAG_SWEEP_NAME: sweep_name, TAG_ROLE: "parent",
                TAG_KIND: kind, TAG_RUN_NAME: sweep_name}
    all_tags.update(tags or {})
    return client.create_run(str(experiment_id), tags=all_tags, run_name=sweep_name)


def create_child(client, experiment_id: str, parent_run_id: str, sweep_id: str,
                 sweep_name: str | None, index, run_name: str, tags: dict | None = None,
                 start_time: int | None = None):
    all_tags = {TAG_SWEEP_ID: sweep_id, TAG_PARENT: parent_run_id, TAG_ROLE: "child",
                TAG_RUN_NAME: run_name}
    if index is not None:
        all_tags[TAG_SWEEP_INDEX] = str(index)
    if sweep_name:
        all_tags[TAG_SWEEP_NAME] = sweep_name
    all_tags.update(tags or {})
    return client.create_run(str(experiment_id), tags=all_tags, run_name=run_name,
                             start_time=start_time)


def reopen(client, run_id: str) -> None:
    """Mark a terminated run RUNNING again (a resumed sweep's parent)."""
    client.update_run(run_id, status="RUNNING")


@contextlib.contextmanager
def told_once(told: set | None):
    """Warnings sent inside go on down the channel when the block ends, except those
    whose text is in ``told`` already (the sweep table's export reads the artifacts the
    children's flattening warned about); ``told`` collects the texts. None: no filtering."""
    if told is None:
        yield
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SweepWarning)
        yield
    for w in caught:
        if isinstance(w.message, SweepWarning):
            text = str(w.message)
            if text not in told:
                told.add(text)
                _warn(w.message)
        else:  # not ours: as if we had not caught it
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


def flatten_child(run_id: str, client=None, told: set | None = None) -> None:
    """Run the registered parsers over a finished child's artifacts and log their numeric
    fields as metrics (``flatten_artifacts`` of the logging API). Problems are warnings:
    a bad artifact never fails the sweep (``flatten_artifacts`` sends its warnings down
    the channel; ``told``: see :func:`told_once`)."""
    from ..tracking.flatten_artifacts import flatten_artifacts

    with told_once(told):
        try:
            flatten_artifacts(run_id, client=client, tracking_uri=client_uri(client) if client else None)
        except Exception as exc:  # noqa: BLE001 - one child's artifacts never stop the sweep
            _warn(f"run {run_id}: flattening artifacts failed: {type(exc).__name__}: {exc}")


def export_table(client, experiment_id: str, parent_run_id: str, sweep_id: str,
                 exclude_run_ids=(), told: set | None = None) -> int | None:
    """Log the sweep's export table (its children -- not runs the jobs made themselves --
    one row per record, ``exclude_run_ids`` left out) on the parent as
    ``sweep_table.csv``. Returns the number of rows, or None when it could not be made.
    The export's warnings go down the warning channel, but not again those
    :func:`flatten_child` told already (``told``)."""
    from ..export import export_sweep
    from ..export.writers import write_table

    try:
        with told_once(told):
            result = export_sweep(experiment_ids=[str(experiment_id)],
                                  tracking_uri=client_uri(client),
                                  filter_string=tag_filter({TAG_SWEEP_ID: sweep_id, TAG_ROLE: "child"}),
                                  write=False)
        df = without_runs(result.df, {parent_run_id, *exclude_run_ids})
        with tempfile.TemporaryDirectory(prefix="mlflow-sweep-table-") as tmp:
            path = os.path.join(tmp, TABLE_ARTIFACT)
            write_table(df, path, "csv")
            client.log_artifact(parent_run_id, path)
        return len(df)
    except Exception as exc:  # noqa: BLE001 - the table is a bonus; the runs are logged
        _warn(f"run {parent_run_id}: the sweep table could not be made: {type(exc).__name__}: {exc}")
        return None


def finish_parent(client, experiment_id: str, parent_run_id: str, sweep_id: str, *,
                  n_children: int, n_failed: int, n_skipped: int = 0, exclude_run_ids=(),
                  status: str | None = None, told: set | None = None, report: dict | None = None) -> str:
    """Record the counts, attach the export table (and, with ``report``, the sweep's
    report: ``{"objective": COLUMN or None, "mode": "min"|"max"}``) and end the parent:
    FAILED when any child failed (or ``status`` when given). Returns the status set."""
    from mlflow.entities import RunTag

    client.log_batch(parent_run_id, tags=[RunTag(TAG_N_CHILDREN, str(n_children)),
                                          RunTag(TAG_N_FAILED, str(n_failed)),
                                          RunTag(TAG_N_SKIPPED, str(n_skipped))])
    export_table(client, experiment_id, parent_run_id, sweep_id, exclude_run_ids, told=told)
    if report is not None:  # a failure to report is one warning, never the sweep's
        from ..report.parent import report_parent

        with told_once(told):
            # with no objective asked for, a sweep with nothing to summarise is no warning
            report_parent(client, parent_run_id, experiment_id, sweep_id=sweep_id,
                          exclude_run_ids=exclude_run_ids, quiet=not report.get("objective"), **report)
    status = status or ("FAILED" if n_failed else "FINISHED")
    client.set_terminated(parent_run_id, status=status)
    return status
