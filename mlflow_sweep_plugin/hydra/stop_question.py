"""``mlflow_sweep_plugin.should_stop(step, value)``: a task run by the Hydra sweeper
(``hydra/sweeper=mlflow_sweep``) asks whether the sweep's pruner stopped its
configuration (docs/how-to/hydra-sweeper.md, "Pruning").

No Hydra launcher can stop a job it launched, so pruning is a question the task asks:
this logs ``value`` as the objective metric at ``step`` on the job's child run (unless
that point is there already) and answers whether the sweeper tagged the run
``mlflow_sweep.pruned``; the sweeper's watcher decides from the same history, every
``poll_s`` seconds, so the answer comes up to one poll after the point that decides it.
Outside such a sweep (no objective or no run in the environment) it logs nothing and
answers ``False``.
"""

from __future__ import annotations

import os

from ..tags import ENV_RUN_ID, ENV_SWEEP_OBJECTIVE, TAG_PRUNED


def should_stop(step: int, value: float) -> bool:
    """Report ``value`` at ``step``; ``True`` when the sweep's pruner stopped this job's
    configuration (the task should then return)."""
    metric, run_id = os.environ.get(ENV_SWEEP_OBJECTIVE), os.environ.get(ENV_RUN_ID)
    if not metric or not run_id:
        return False
    from mlflow.tracking import MlflowClient  # only inside a sweep's job: the task may not use MLflow

    client = MlflowClient()
    step, value = int(step), float(value)
    if not any(m.step == step and m.value == value for m in client.get_metric_history(run_id, metric)):
        client.log_metric(run_id, metric, value, step=step)
    return TAG_PRUNED in client.get_run(run_id).data.tags
