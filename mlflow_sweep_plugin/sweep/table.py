"""The sweep's export table on its parent (``sweep_table.csv``): its children, one row
per record, through the export itself."""

from __future__ import annotations

import os
import tempfile

from ..export import export_sweep
from ..export.writers import write_table
from ..tags import ROLE_CHILD, TABLE_ARTIFACT, TAG_ROLE, TAG_SWEEP_ID
from ..warning_types import TellOnce
from ..warning_types import warn as _warn
from .query import client_uri, tag_filter, without_runs


def log_sweep_table(client, experiment_id: str, parent_run_id: str, sweep_id: str,
                    exclude_run_ids=(), scope: TellOnce | None = None) -> int | None:
    """Log the sweep's export table (its children -- not runs the jobs made themselves --
    one row per record, ``exclude_run_ids`` left out) on the parent as
    ``sweep_table.csv``. Returns the number of rows, or None when it could not be made.
    The export's warnings go down the warning channel once in ``scope``."""
    scope = scope or TellOnce()
    try:
        with scope.catching():
            result = export_sweep(experiment_ids=[str(experiment_id)],
                                  tracking_uri=client_uri(client),
                                  filter_string=tag_filter({TAG_SWEEP_ID: sweep_id, TAG_ROLE: ROLE_CHILD}),
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
