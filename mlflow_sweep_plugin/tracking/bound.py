"""The logging API bound to one run: the methods :class:`~.run.SweepRun` and
:class:`~.results.ResultLogger` share.

Why one class: both are "this package's logging functions with the run filled in";
they differ only in what they pass as the run (a sweep run passes itself, so what it
logs can go to its spool; a result logger passes its run id, or None for the active
run).
"""

from __future__ import annotations

from .artifacts import log_artifacts_by_type, log_artifacts_selectively
from .keys import metric_name
from .metrics import log_metrics
from .params import log_config, log_params_checked
from .sink import resolve_sink


class BoundLogging:
    """Subclasses say what the functions get as ``run_id`` (:attr:`_target`)."""

    @property
    def _target(self):
        raise NotImplementedError

    def log_config(self, cfg, prefix=None, **options):
        return log_config(cfg, prefix, run_id=self._target, **options)

    def log_params(self, params: dict) -> dict:
        """Flat params (keys made valid as for metric names, values as ``str``); the
        same no-op and changed-value rules as ``log_config``."""
        return log_params_checked(resolve_sink(self._target),
                                  {metric_name([k]): v for k, v in params.items()})

    def log_metrics(self, metrics, prefix=None, step=None, **options):
        return log_metrics(metrics, prefix, step, run_id=self._target, **options)

    def set_tags(self, tags: dict) -> None:
        resolve_sink(self._target).log_batch(tags={metric_name([k]): str(v) for k, v in tags.items()})

    def log_artifacts_selectively(self, local_dir, artifact_path=None, **options):
        return log_artifacts_selectively(local_dir, artifact_path, run_id=self._target, **options)

    def log_artifacts_by_type(self, paths_or_dir, mapping=None, **options):
        return log_artifacts_by_type(paths_or_dir, mapping, run_id=self._target, **options)
