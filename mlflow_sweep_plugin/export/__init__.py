"""Export an experiment's runs and their summary artifacts as one table.

Data flows one way: tracking store (runs) -> artifact reader (files) -> parsers
(records) -> table -> writer. :func:`export_sweep` is the whole flow; the pieces live in
``runs``, ``artifacts``, ``exporter``, ``table`` and ``writers``.
"""

from __future__ import annotations

import contextlib
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
                 write=True, progress=None, workers=None, cache=True, refresh=False,
                 cache_dir=None) -> ExportResult:
    """Export the runs of one or more experiments.

    Returns an :class:`ExportResult` (the DataFrame, the warnings, the run count and
    the path written). Raises :class:`~mlflow_sweep_plugin.errors.SweepError`
    subclasses for what the user must fix (unknown experiment, unreachable store, bad
    options); bad artifacts are warnings, never exceptions.

    ``workers``: parallel reads for remote artifact stores (default 8). ``cache``: use
    the on-disk cache of ended runs (``cache_dir``, default ``$MLFLOW_SWEEP_CACHE_DIR``
    or the user cache dir); ``refresh``: re-read every run and update the cache.
    ``progress`` is called with the number of runs done; if it has a ``found(n, last)``
    method, that is called as pages of runs arrive. MLflow's HTTP retries are lowered
    for the export's duration unless set in the environment (see ``retry.py``).
    """
    from mlflow.tracking import MlflowClient

    from ..errors import UsageError
    from ..parsers.generic import generic_parser
    from ..plugins import get_plugin_manager
    from ..uri import resolve_tracking_uri
    from .cache import ExportCache
    from .exporter import DEFAULT_WORKERS
    from .retry import absent_runtime_probes, export_http_settings
    from .runs import iter_runs, resolve_experiments, store_errors
    from .writers import FORMATS, format_for

    if workers is not None and int(workers) < 1:
        raise UsageError("--workers must be at least 1")
    n_workers = DEFAULT_WORKERS if workers is None else int(workers)
    pool_size = str(max(10, 2 * n_workers + 2))
    with export_http_settings({"MLFLOW_HTTP_POOL_MAXSIZE": pool_size,
                               "MLFLOW_HTTP_POOL_CONNECTIONS": pool_size}), \
            absent_runtime_probes(), _gc_frozen():
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
        exp_ids = [e.experiment_id for e in experiments]
        runs = iter_runs(client, exp_ids, filter_string, run_view, tracking_uri=uri,
                         on_page=getattr(progress, "found", None))

        def probe():
            with store_errors(uri):
                client.get_experiment(exp_ids[0])

        store = ExportCache(cache_dir) if cache else None
        try:
            result = export_runs(runs, parsers, warn=warn, progress=progress, workers=n_workers,
                                 cache=store, refresh=refresh, tracking_uri=uri, probe=probe)
            if write:
                path = output or default_output()
                result.format = format_for(path, fmt)
                _write(result, path, spreadsheet_safe, store)
                result.path = os.path.abspath(path)
        finally:
            if store is not None:
                store.close()
        if store is not None:
            result.stats["cache_path"] = store.path
            if store.error:  # the cache never fails an export; say why it was not used
                result.stats["cache_error"] = store.error
        return result


@contextlib.contextmanager
def _gc_frozen():
    """Keep the objects that exist before the export (MLflow, SQLAlchemy, pandas: a few
    hundred thousand) out of the garbage collector's full passes while the export
    allocates its rows; measured ~30 % off a warm export. Undone after."""
    import gc

    # not when the host already froze objects itself (gc.unfreeze would undo its freeze)
    freeze = gc.isenabled() and hasattr(gc, "freeze") and gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    try:
        yield
    finally:
        if freeze:
            gc.unfreeze()


def _write(result, path, spreadsheet_safe, store) -> None:
    """Write the table; when it is a memoised one (every run from the cache) whose file
    was written before with the same options, write those bytes again."""
    import hashlib

    from .writers import write_bytes, write_table

    key = None
    if store is not None and result.table_key:
        key = hashlib.sha256(repr((result.table_key, result.format, bool(spreadsheet_safe),
                                   _writer_versions())).encode()).hexdigest()
        data = store.get_output(key)
        if data is not None:
            write_bytes(path, data)
            result.stats["output_memo"] = "hit"
            return
    write_table(result.df, path, result.format, spreadsheet_safe)
    if key is not None:
        store.put_output(key, result.table_key, path)


def _writer_versions() -> tuple:
    """What else decides a written file's bytes: the libraries that format it."""
    import pandas as pd

    try:
        import pyarrow

        arrow = pyarrow.__version__
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        arrow = None
    return pd.__version__, arrow
