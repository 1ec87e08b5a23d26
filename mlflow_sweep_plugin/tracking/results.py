"""Project-specific logging: plugins say how a kind of result is logged.

A SOM job, a causal-discovery job and a clustering job each produce a result of their
own shape (training stats and a model, per-learner metrics and particle arrays,
per-layer summaries). A plugin registers a *result logger* for its kind through the
``sweep_register_loggers`` hook, and research code calls one function::

    from mlflow_sweep_plugin import log_result

    with sweep_run(experiment="som"):
        log_result("som", analyzer_result)

The logger gets the result and a :class:`ResultLogger` bound to the run, whose
methods are this package's logging API, so what it logs goes through the same
batching, key escaping and offline spool as everything else.
"""

from __future__ import annotations

import json
import os

from ..errors import UsageError
from ..plugins import get_plugin_manager
from .bound import BoundLogging
from .flatten import config_yaml, to_plain
from .params import log_text_artifact
from .sink import resolve_sink


def result_loggers(plugin_manager=None) -> dict:
    """Every registered result logger by kind (:class:`~mlflow_sweep_plugin.plugins.Registered`,
    collected once per plugin manager)."""
    return (plugin_manager or get_plugin_manager()).loggers


class ResultLogger(BoundLogging):
    """What a result logger writes with: the logging API, bound to one run.

    ``run_id`` is ``None`` inside a :func:`sweep_run` that spools (the run does not
    exist yet); every method still works.
    """

    def __init__(self, run_id: str | None = None):
        self.run_id = run_id

    @property
    def _target(self):
        return self.run_id

    def log_artifact(self, local_path, artifact_path: str | None = None) -> None:
        resolve_sink(self.run_id).log_artifact(os.fspath(local_path), artifact_path)

    def log_text(self, text: str, artifact_file: str) -> None:
        log_text_artifact(resolve_sink(self.run_id), text, artifact_file)

    def log_dict(self, obj, artifact_file: str) -> None:
        """``obj`` as JSON (``.json``) or YAML (``.yaml``/``.yml``) at ``artifact_file``."""
        if artifact_file.endswith((".yaml", ".yml")):
            text = config_yaml(obj)
        else:
            text = json.dumps(to_plain(obj), indent=2)
        self.log_text(text, artifact_file)


def log_result(kind: str, result, run_id: str | None = None, *, plugin_manager=None,
               **options):
    """Log ``result`` the way the plugin registered for ``kind`` says.

    ``options`` are passed on to the plugin's logger. Returns what it returns.
    Raises :class:`~mlflow_sweep_plugin.errors.UsageError` for an unknown kind
    (listing the installed ones).
    """
    loggers = result_loggers(plugin_manager)
    if kind not in loggers:
        raise UsageError(f"no result logger for kind {kind!r}; installed: "
                         f"{', '.join(sorted(loggers)) or '(none)'}")
    return loggers[kind].func(result, ResultLogger(run_id), **options)
