"""Sweep reports: seed-aware summaries, best configurations, plots, an HTML report.

Stages, one module each: :mod:`.columns` (what each column of the export table is),
:mod:`.stats` (:func:`summarize`), :mod:`.best` (ranking and the tied set),
:mod:`.history` (metric histories as per-run columns), :mod:`.plots`, :mod:`.paper`
(summary.md / summary.tex), :mod:`.html` (report.html), :mod:`.build` (the report
directory), :mod:`.parent` (logging a report onto a run) and :mod:`.command` (the
``mlflow-sweep report`` command). Nothing heavy is imported until it is used.
"""

from __future__ import annotations

import importlib

_API = {
    "summarize": "mlflow_sweep_plugin.report.stats",
    "Summary": "mlflow_sweep_plugin.report.stats",
    "rank": "mlflow_sweep_plugin.report.best",
    "Best": "mlflow_sweep_plugin.report.best",
    "add_history_columns": "mlflow_sweep_plugin.export.history",
    "parse_history_specs": "mlflow_sweep_plugin.export.history",
    "build_report": "mlflow_sweep_plugin.report.build",
    "ReportOptions": "mlflow_sweep_plugin.report.build",
    "Report": "mlflow_sweep_plugin.report.build",
    "log_report": "mlflow_sweep_plugin.report.parent",
    "report_parent": "mlflow_sweep_plugin.report.parent",
}

__all__ = sorted(_API)


def __getattr__(name: str):
    try:
        module = _API[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
