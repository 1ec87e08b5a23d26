"""The tags the sweep hooks set, in one place: the hooks write them, the export and the
report read them (which runs are sweep parents, children, superseded retries; a
child's place in its sweep)."""

from __future__ import annotations

TAG_SWEEP_ID = "mlflow_sweep.sweep_id"
TAG_SWEEP_INDEX = "mlflow_sweep.index"        # a child's job number / grid point, stable across resumes
TAG_SWEEP_NAME = "mlflow_sweep.sweep_name"
TAG_ROLE = "mlflow_sweep.role"                # "parent" | "child" (made by the hooks) | "job" (made by a job)
TAG_SUPERSEDED = "mlflow_sweep.superseded_by"  # a failed child re-run by a resumed sweep
TAG_PARENT = "mlflow.parentRunId"
TAG_EXECUTOR = "mlflow_sweep.executor"        # where a child ran: local/submitit (backend), the Hydra launcher
TAG_JOB_ID = "mlflow_sweep.job_id"            # the scheduler's job id (submitit)
TAG_LOG_DIR = "mlflow_sweep.log_dir"          # submitit's folder holding the job's stdout/stderr
ROLE_PARENT = "parent"
ROLE_CHILD = "child"
ROLE_JOB = "job"

# the search engine (mlflow_sweep_plugin/search/, docs/search.md)
TAG_STRATEGY = "mlflow_sweep.strategy"        # parent: grid | random | tpe | cmaes | gp
TAG_TRIAL = "mlflow_sweep.trial"              # child: its configuration's number in the sweep
TAG_SEED = "mlflow_sweep.seed"                # child: the seed value it ran with (sweeps with seeds)
TAG_PRUNED = "mlflow_sweep.pruned"            # child stopped early: "step 7: val_loss=1.93"
TAG_N_PRUNED = "mlflow_sweep.n_pruned"        # parent: how many children were pruned
TAG_BEST_PREFIX = "mlflow_sweep.best."        # parent: best-so-far param tags; metric mlflow_sweep.best.<metric>
TAG_CONTROLLER_HOST = "mlflow_sweep.controller.host"  # parent: the controller running the sweep
TAG_CONTROLLER_PID = "mlflow_sweep.controller.pid"
TAG_HEARTBEAT = "mlflow_sweep.controller.heartbeat"   # parent: unix time of the controller's last beat
SPEC_ARTIFACT = "mlflow_sweep/sweep.json"     # parent: the normalised spec, project, entry point, -P params


def best_key(name: str) -> str:
    """The parent's best-so-far tag of a param / metric of the objective: ``mlflow_sweep.best.<name>``."""
    return TAG_BEST_PREFIX + name
