"""``hydra/sweeper=mlflow_sweep``: mlflow-sweep's search engine as a Hydra sweeper
(docs/how-to/hydra-sweeper.md). Found by Hydra's plugin discovery (the ``hydra_plugins``
namespace package); the work is in :mod:`mlflow_sweep_plugin.hydra.sweeper`."""
