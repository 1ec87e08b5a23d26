"""The MLflow project backend ``sweep`` (``mlflow run --backend sweep``).

- :mod:`.project`: the entry point MLflow loads (:class:`SweepBackend`);
- :mod:`.config`: what ``--backend-config`` may hold;
- :mod:`.plan`: the grid's children, their params and indexes, resume;
- :mod:`.runner`: the loop that starts, polls and ends children;
- :mod:`.executors`: where a child runs, one module per executor (``local``, ``submitit``);
- :mod:`.output`: a local child's output kept while it still reaches the console.
"""

from .project import SweepBackend

__all__ = ["SweepBackend"]
