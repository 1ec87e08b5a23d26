"""The ``Sweeper`` Hydra instantiates for ``hydra/sweeper=mlflow_sweep``."""

from typing import Any, List, Optional

from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf


class MLflowSweepSweeper(Sweeper):
    """mlflow-sweep's search engine behind Hydra's sweeper interface."""

    def __init__(self, params: Optional[DictConfig] = None, **settings: Any) -> None:
        # Hydra imports every plugin module at start-up (``--help`` too): MLflow, Optuna and
        # the engine are imported only when this sweeper is the one configured
        from mlflow_sweep_plugin.hydra.sweeper import HydraSearch

        plain = {k: OmegaConf.to_container(v, resolve=True) if OmegaConf.is_config(v) else v
                 for k, v in settings.items()}
        plain["params"] = OmegaConf.to_container(params, resolve=False) if OmegaConf.is_config(params) \
            else params
        self.search = HydraSearch(plain)

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction,
              config: DictConfig) -> None:
        self.search.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: List[str]) -> Any:
        return self.search.sweep(arguments)
