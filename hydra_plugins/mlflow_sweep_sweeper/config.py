"""The sweeper's settings (``hydra.sweeper.*``), registered as ``hydra/sweeper=mlflow_sweep``.

The search keys mean what they mean for ``mlflow run --backend sweep`` (docs/how-to/search.md);
``params`` is Hydra's override grammar (docs/how-to/hydra-sweeper.md).
"""

from dataclasses import dataclass
from typing import Any, Dict, Optional

from hydra.core.config_store import ConfigStore


@dataclass
class MLflowSweepSweeperConf:
    _target_: str = "hydra_plugins.mlflow_sweep_sweeper.mlflow_sweep_sweeper.MLflowSweepSweeper"
    strategy: str = "grid"                 # grid | random | tpe | cmaes | gp
    max_trials: Optional[int] = None       # configurations (required by a search strategy)
    max_runs: Optional[int] = None         # jobs in all, seeds included
    max_parallel: int = 1                  # jobs handed to the launcher at once
    sampler_seed: Optional[int] = None
    seeds: Optional[Any] = None            # N, or {param: seed, values: [0, 1, 2]}
    objective: Optional[Any] = None        # {metric, mode, agg} or {return: true, mode}
    early_stop: Optional[Any] = None       # {pruner: median, ...}: answered by should_stop
    race: Optional[Any] = None             # {initial, step, alpha}: race a grid over the seeds
    confirm: Optional[Any] = None          # {top, seeds}: race a search's top configurations
    resume: Optional[bool] = None          # true: continue the searches of the same name
    poll_s: float = 5.0                    # how often the running jobs' metrics are read
    params: Optional[Dict[str, Any]] = None


ConfigStore.instance().store(group="hydra/sweeper", name="mlflow_sweep", node=MLflowSweepSweeperConf,
                             provider="mlflow_sweep_plugin")
