"""Hydra integration, public path: ``mlflow_sweep_plugin.hydra.MLflowSweepCallback``.

Use it under ``hydra.callbacks`` (see the README's "Automatic hooks"); the code lives
in :mod:`mlflow_sweep_plugin.integrations.hydra_callback` and
:mod:`mlflow_sweep_plugin.integrations.hydra_sweep` (shared with ``mlflow-sweep
import-hydra``).
"""

from .integrations.hydra_callback import MLflowSweepCallback
from .integrations.hydra_sweep import import_sweep

__all__ = ["MLflowSweepCallback", "import_sweep"]
