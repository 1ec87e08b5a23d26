"""Hydra integration: the callback (``mlflow_sweep_plugin.hydra.MLflowSweepCallback``,
under ``hydra.callbacks``) and ``import_sweep`` (``mlflow-sweep import-hydra``).

- :mod:`.callback`: the callback, live, job by job;
- :mod:`.importer`: a finished multirun directory, afterwards;
- :mod:`.sweep_log`: what both log, the same way (parent, children, params, files);
- :mod:`.jobs`, :mod:`.overrides`, :mod:`.metrics_csv`, :mod:`.job_status`,
  :mod:`.secrets`: reading a job directory (no Hydra, no MLflow);
- :mod:`.record`: the sweep record ``mlflow_sweep.yaml`` and the identity jobs find.
"""

from .callback import MLflowSweepCallback
from .importer import import_sweep

__all__ = ["MLflowSweepCallback", "import_sweep"]
