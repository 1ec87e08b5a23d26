"""mlflow-sweep: export, log and automate hyperparameter sweeps tracked in MLflow.

Importing this package is cheap and has no side effects: MLflow loads one of our
entry points on every ``import mlflow``, so the public API below is resolved lazily
(PEP 562) and nothing heavy is imported until it is used.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_API = {
    "BadArtifact": "mlflow_sweep_plugin.errors",
    "SweepError": "mlflow_sweep_plugin.errors",
    "hookimpl": "mlflow_sweep_plugin.hookspecs",
    "hookspec": "mlflow_sweep_plugin.hookspecs",
    "ParserRegister": "mlflow_sweep_plugin.hookspecs",
    "DemoRegister": "mlflow_sweep_plugin.hookspecs",
    "LoggerRegister": "mlflow_sweep_plugin.hookspecs",
    "Parser": "mlflow_sweep_plugin.parsers",
    "ParseContext": "mlflow_sweep_plugin.parsers",
    "export_sweep": "mlflow_sweep_plugin.export",
    "export_runs": "mlflow_sweep_plugin.export",
    "ExportResult": "mlflow_sweep_plugin.export",
    "get_plugin_manager": "mlflow_sweep_plugin.plugins",
    # the Hydra sweeper's pruning question from a task (docs/how-to/hydra-sweeper.md)
    "should_stop": "mlflow_sweep_plugin.hydra.stop_question",
    # logging API (issue 5)
    "flatten_config": "mlflow_sweep_plugin.tracking.flatten",
    "log_config": "mlflow_sweep_plugin.tracking.params",
    "ParamChanged": "mlflow_sweep_plugin.tracking.params",
    "log_metrics": "mlflow_sweep_plugin.tracking.metrics",
    "log_artifacts_selectively": "mlflow_sweep_plugin.tracking.artifacts",
    "log_artifacts_by_type": "mlflow_sweep_plugin.tracking.artifacts",
    "flatten_artifacts": "mlflow_sweep_plugin.tracking.flatten_artifacts",
    "log_result": "mlflow_sweep_plugin.tracking.results",
    "sweep_run": "mlflow_sweep_plugin.tracking.run",
    "SweepRun": "mlflow_sweep_plugin.tracking.run",
    "sync_spool": "mlflow_sweep_plugin.tracking.sync",
    "add_mlflow_arguments": "mlflow_sweep_plugin.tracking.cli_args",
    "sweep_run_from_args": "mlflow_sweep_plugin.tracking.cli_args",
    # reports
    "summarize": "mlflow_sweep_plugin.report.stats",
    "Summary": "mlflow_sweep_plugin.report.stats",
    "rank": "mlflow_sweep_plugin.report.best",
    "Best": "mlflow_sweep_plugin.report.best",
    "build_report": "mlflow_sweep_plugin.report.build",
    "ReportOptions": "mlflow_sweep_plugin.report.build",
    "Report": "mlflow_sweep_plugin.report.build",
    "log_report": "mlflow_sweep_plugin.report.parent",
    "report_parent": "mlflow_sweep_plugin.report.parent",
    "add_history_columns": "mlflow_sweep_plugin.export.history",
}

__all__ = sorted(_API) + ["__version__"]


def __getattr__(name: str):
    try:
        module = _API[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # resolved once
    return value


def __dir__():
    return __all__
