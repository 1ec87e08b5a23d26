"""Export an experiment's runs and their summary artifacts as one table.

Data flows one way: tracking store (runs) -> artifact reader (files) -> parsers
(records) -> table -> writer. :func:`export_sweep` is the whole flow; the pieces live in
``runs``, ``artifacts``, ``exporter``, ``table`` and ``writers``.
"""

from __future__ import annotations

import os
from datetime import datetime

from .exporter import ExportResult, SweepWarning, export_runs, records_for_run

__all__ = ["ExportResult", "SweepWarning", "default_output", "export_runs", "export_sweep",
           "records_for_run"]


def default_output() -> str:
    return f"mlflow_sweep_results_{datetime.now().strftime('%Y%m%d_%H%M%S')}.csv"


def export_sweep(*, experiment_names=(), experiment_ids=(), tracking_uri=None, output=None,
                 fmt=None, filter_string="", run_view="active", parser_names=(),
                 artifact_patterns=(), spreadsheet_safe=False, plugin_manager=None, warn=None,
                 write=True, progress=None) -> ExportResult:
    """Export the runs of one or more experiments.

    Returns an :class:`ExportResult` (the DataFrame, the warnings, the run count and
    the path written). Raises :class:`~mlflow_sweep_plugin.errors.SweepError`
    subclasses for what the user must fix (unknown experiment, unreachable store, bad
    options); bad artifacts are warnings, never exceptions.
    """
    from mlflow.tracking import MlflowClient

    from ..errors import UsageError
    from ..parsers.generic import generic_parser
    from ..plugins import get_plugin_manager
    from ..uri import resolve_tracking_uri
    from .runs import iter_runs, resolve_experiments
    from .writers import FORMATS, format_for, write_table

    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}")
    pm = plugin_manager or get_plugin_manager()
    parsers = pm.select_parsers(parser_names)
    try:
        parsers += [generic_parser(p) for p in artifact_patterns]
    except ValueError as exc:
        raise UsageError(f"invalid --artifact pattern: {exc}") from None
    uri = resolve_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri=uri)
    experiments = resolve_experiments(client, uri, experiment_names, experiment_ids)
    runs = iter_runs(client, [e.experiment_id for e in experiments], filter_string, run_view,
                     tracking_uri=uri)
    result = export_runs(runs, parsers, warn=warn, progress=progress)
    if write:
        path = output or default_output()
        result.format = write_table(result.df, path, format_for(path, fmt), spreadsheet_safe)
        result.path = os.path.abspath(path)
    return result
