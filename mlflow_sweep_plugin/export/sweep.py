"""``export_sweep``: the whole export, from experiment names to a written file.

One implementation behind ``mlflow-sweep export``, ``mlflow sweep-export``,
``python -m mlflow_sweep_plugin export``, the hooks' ``sweep_table.csv`` and the
pytest harness's exporter fixture. It resolves the experiments, builds one
:class:`~.session.ReadSession`, runs the pipeline and writes the table. It changes
nothing process-wide but MLflow's HTTP variables for its duration (restored after);
the CLI adds its own process tuning (:mod:`mlflow_sweep_plugin.process`).
"""

from __future__ import annotations

import os
from datetime import datetime

from mlflow.tracking import MlflowClient

from ..errors import UsageError
from ..failures import fail_fast_http, store_errors
from ..limits import Limits
from ..parsers.generic import generic_parser
from ..plugins import get_plugin_manager
from ..stores import readable_store
from .cache_store import ExportCache
from .history import add_history_columns, parse_history_specs
from .memo import TableMemo
from .pipeline import INCLUDABLE, export_runs
from .result import ExportResult
from .runs import iter_runs, resolve_experiments
from .session import DEFAULT_WORKERS, ReadSession
from .table import TableBuilder
from .writers import FORMATS, format_for, write_table


def default_output() -> str:
    return f"mlflow_sweep_results_{datetime.now().strftime('%Y%m%d_%H%M%S')}.csv"


def check_output(path: str) -> None:
    """:class:`UsageError` (exit 2) when the table plainly cannot be written at ``path``
    (a directory, a parent that is a file, a directory without write permission): told
    before a single run is read. The writer creates missing parent directories."""
    if os.path.isdir(path):
        raise UsageError(f"-o {path} is a directory: give a file name, e.g. "
                         f"{os.path.join(path, 'results.csv')}")
    ancestor = os.path.dirname(os.path.abspath(path))
    while not os.path.lexists(ancestor) and os.path.dirname(ancestor) != ancestor:
        ancestor = os.path.dirname(ancestor)
    if not os.path.isdir(ancestor):
        raise UsageError(f"-o {path}: {ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UsageError(f"-o {path}: no permission to write in {ancestor}")


def _write_error(path: str, exc: OSError) -> UsageError:
    reason = exc.strerror or type(exc).__name__
    where = f" ({exc.filename})" if exc.filename and str(exc.filename) != path else ""
    return UsageError(f"cannot write -o {path}: {reason}{where}")


def export_sweep(*, experiment_names=(), experiment_ids=(), tracking_uri=None, output=None,
                 fmt=None, filter_string="", run_view="active", parser_names=(),
                 artifact_patterns=(), spreadsheet_safe=False, plugin_manager=None,
                 write=True, progress=None, workers=None, cache=True, refresh=False,
                 cache_dir=None, include=(), tags=(), history=(),
                 max_artifact_bytes=None, max_columns=None, trust_ended_runs=False) -> ExportResult:
    """Export the runs of one or more experiments.

    Returns an :class:`ExportResult` (the DataFrame, the warnings, the run count and
    the path written). Raises :class:`~mlflow_sweep_plugin.errors.SweepError`
    subclasses for what the user must fix (unknown experiment, unreachable store, a
    store that is not there (:func:`~mlflow_sweep_plugin.stores.require_store`: nothing
    is created), bad options); bad artifacts are warnings (sent through :mod:`warnings` as they happen,
    and on the result), never exceptions.

    ``max_artifact_bytes`` (bytes, or a size such as ``"500MB"``) and ``max_columns``
    bound the work one artifact may cost (:mod:`mlflow_sweep_plugin.limits`; default
    ``$MLFLOW_SWEEP_MAX_ARTIFACT_BYTES`` / ``$MLFLOW_SWEEP_MAX_COLUMNS``, else 1 GiB and
    10,000): a file over them is one warning and gives no row.
    ``workers``: parallel reads for remote artifact stores (default 8). ``cache``: use
    the on-disk cache of ended runs (``cache_dir``, default ``$MLFLOW_SWEEP_CACHE_DIR``
    or the user cache dir); ``refresh``: re-read every run and update the cache;
    ``trust_ended_runs``: serve an ended run's cache entry without listing the run (no
    artifact request; an artifact logged after the run ended is missed until ``refresh``).
    Superseded retries and sweep parents without a record are left out unless
    ``include`` names them (``"parents"``, ``"superseded"``; ``run_view="all"`` includes
    both); ``tags`` are run tags shown as ``tags.<key>`` columns; ``history``
    (``"val_loss:min"``...) adds per-run aggregates of metric histories (:mod:`.history`).
    ``progress`` is called with the number of runs done; if it has a ``found(n, last)``
    method, that is called as pages of runs arrive. MLflow's HTTP retries are lowered
    for the export's duration (:func:`~mlflow_sweep_plugin.failures.fail_fast_http`).
    """
    limits = Limits.requested(max_artifact_bytes, max_columns)
    if workers is not None and int(workers) < 1:
        raise UsageError("--workers must be at least 1")
    n_workers = DEFAULT_WORKERS if workers is None else int(workers)
    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}")
    history_specs = parse_history_specs(history)  # a bad spec fails before any work
    include = set(include)
    unknown = include - set(INCLUDABLE)
    if unknown:
        raise UsageError(f"--include takes {', '.join(INCLUDABLE)}; not {', '.join(sorted(unknown))}")
    if run_view == "all":
        include |= set(INCLUDABLE)
    if write and output:
        check_output(output)
    pool_size = str(max(10, 2 * n_workers + 2))
    with fail_fast_http({"MLFLOW_HTTP_POOL_MAXSIZE": pool_size, "MLFLOW_HTTP_POOL_CONNECTIONS": pool_size}):
        pm = plugin_manager or get_plugin_manager()
        parsers = pm.select_parsers(parser_names)
        try:
            parsers += [generic_parser(p) for p in artifact_patterns]
        except ValueError as exc:
            raise UsageError(f"invalid --artifact pattern: {exc}") from None
        uri = readable_store(tracking_uri)  # read it, never create it; a dead SQL server: exit 3 in seconds
        client = MlflowClient(tracking_uri=uri)
        experiments = resolve_experiments(client, uri, experiment_names, experiment_ids)
        exp_ids = [e.experiment_id for e in experiments]
        runs = iter_runs(client, exp_ids, filter_string, run_view, tracking_uri=uri,
                         on_page=getattr(progress, "found", None))

        def probe():
            with store_errors(uri):
                client.get_experiment(exp_ids[0])

        store = ExportCache(cache_dir) if cache else None
        session = ReadSession(parsers, tracking_uri=uri, client=client, workers=n_workers, cache=store,
                              limits=limits,
                              refresh=refresh, trust_ended_runs=trust_ended_runs)
        try:
            names = {e.experiment_id: e.name for e in experiments}
            table = TableBuilder(names, tags)
            stats: dict = {}
            memo = None
            if session.cache is not None and not refresh and not history_specs:  # histories are not in its key
                memo = TableMemo(session.cache, f"{session.store_id}\0{session.parsers_digest}",
                                 (sorted(names.items()), list(tags), sorted(include)), stats)
            result = export_runs(session.look_ahead(runs), session, progress=progress, probe=probe, table=table,
                                 include=include, memo=memo)
            if history_specs:
                attrs = dict(result.df.attrs)
                result.df = add_history_columns(result.df, client, history_specs, tracking_uri=uri,
                                                workers=n_workers, cache=cache, refresh=refresh,
                                                cache_dir=cache_dir)
                result.df.attrs.update(attrs)
            if write:
                path = output or default_output()
                result.format = format_for(path, fmt)
                try:
                    if memo is not None:
                        memo.write(result.df, path, result.format, spreadsheet_safe)
                    else:
                        write_table(result.df, path, result.format, spreadsheet_safe)
                except OSError as exc:  # not writable after all (/proc, a full disk, a race)
                    raise _write_error(path, exc) from None
                result.path = os.path.abspath(path)
            result.stats.update(stats)
            result.stats.update(session.requests())
        finally:
            session.close()
            if store is not None:
                store.close()
        if store is not None:
            result.stats["cache_path"] = store.path
            if store.error:  # the cache never fails an export; say why it was not used
                result.stats["cache_error"] = store.error
        return result
