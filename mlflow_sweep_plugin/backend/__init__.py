"""The MLflow project backend ``sweep`` (``mlflow run --backend sweep``).

- :mod:`.project`: the entry point MLflow loads (:class:`SweepBackend`);
- :mod:`.config`: what ``--backend-config`` may hold;
- :mod:`.plan`: the space as the entry point types it, each proposed run's params;
- :mod:`.runner`: the loop that asks the search engine (``search/``) what to run, starts,
  watches (early stopping), polls and ends children, for every strategy, grid included;
- :mod:`.executors`: where a child runs, one module per executor (``local``, ``submitit``);
- :mod:`.output`: a local child's output kept while it still reaches the console.
"""

from .project import SweepBackend

__all__ = ["SweepBackend"]
