"""Every name mlflow-sweep writes into a tracking store or reads from the environment,
in one place: the tags the sweep hooks set (the export, the report and ``status`` read
them), the artifact names on a sweep's parent, and the environment variables.

A tiny module with no imports: MLflow loads our run context provider on every
``import mlflow`` and that provider reads the names from here.
"""

from __future__ import annotations

# -- MLflow's own tags we set or read --------------------------------------------------
TAG_PARENT = "mlflow.parentRunId"
TAG_RUN_NAME = "mlflow.runName"

# -- a sweep: parent and children ------------------------------------------------------
TAG_SWEEP_ID = "mlflow_sweep.sweep_id"
TAG_SWEEP_INDEX = "mlflow_sweep.index"        # a child's job number / grid point, stable across resumes
TAG_SWEEP_NAME = "mlflow_sweep.sweep_name"
TAG_ROLE = "mlflow_sweep.role"                # "parent" | "child" (made by the hooks) | "job" (made by a job)
TAG_KIND = "mlflow_sweep.kind"                # "mlflow-run" | "hydra"
TAG_POINT = "mlflow_sweep.point"              # JSON of a child's swept values (grid values, Hydra overrides)
TAG_SUPERSEDED = "mlflow_sweep.superseded_by"  # a failed child re-run by a resumed sweep
TAG_ERROR = "mlflow_sweep.error"              # why a child failed (the last line of its error)
TAG_EXIT_CODE = "mlflow_sweep.exit_code"      # a backend child's exit code
TAG_EXECUTOR = "mlflow_sweep.executor"        # where a child ran: local/submitit (backend), the Hydra launcher
TAG_JOB_ID = "mlflow_sweep.job_id"            # the scheduler's job id (submitit)
TAG_PROCESS = "mlflow_sweep.process"          # child (local executor): {"host", "pid", "started"} of its process
TAG_LOG_DIR = "mlflow_sweep.log_dir"          # submitit's folder holding the job's stdout/stderr
TAG_N_CHILDREN = "mlflow_sweep.n_children"    # the parent's counts when the sweep ends
TAG_N_FAILED = "mlflow_sweep.n_failed"
TAG_N_SKIPPED = "mlflow_sweep.n_skipped"
ROLE_PARENT = "parent"
ROLE_CHILD = "child"
ROLE_JOB = "job"
KIND_BACKEND = "mlflow-run"
KIND_HYDRA = "hydra"
TABLE_ARTIFACT = "sweep_table.csv"            # the sweep's export table on its parent

# -- the project backend (``mlflow run --backend sweep``) -----------------------------
TAG_GRID = "mlflow_sweep.grid"                # the grid as JSON, on the parent
TAG_FIXED_PARAMS = "mlflow_sweep.fixed_params"  # the ``-P`` params as JSON, on the parent

# -- Hydra (callback and import-hydra) -------------------------------------------------
TAG_HYDRA_SWEEP_DIR = "mlflow_sweep.hydra.sweep_dir"  # the sweep directory (real path)
TAG_HYDRA_JOB = "mlflow_sweep.hydra.job"              # a job's number in its sweep directory
TAG_HYDRA_LOGGED = "mlflow_sweep.hydra.logged"        # "complete" once a job is fully logged
TAG_HYDRA_OVERRIDES = "mlflow_sweep.hydra.overrides"  # the multirun's task overrides, on the parent
TAG_HYDRA_SWEEPER = "mlflow_sweep.hydra.sweeper"      # Hydra's sweeper (basic, optuna, ...)
TAG_STUDY = "mlflow_sweep.study"                      # a Hydra search session's parent: its study's first parent run id
TAG_METRICS_FILE = "mlflow_sweep.metrics_file"        # facts/metrics.csv: absent/partial/complete
HYDRA_RECORD = "mlflow_sweep.yaml"                    # the sweep record in a sweep directory
HYDRA_REPORT_LOG = ".mlflow_sweep_report.log"          # the background report's warnings, there too
CONFIG_PREFIX = "config"                # a Hydra job's composed config as params config.<key> (copies)

# -- the report on a run ---------------------------------------------------------------
TAG_REPORT_OBJECTIVE = "mlflow_sweep.report.objective"
TAG_REPORT_MODE = "mlflow_sweep.report.mode"
TAG_REPORT_N_TIED = "mlflow_sweep.report.n_tied"
TAG_REPORT_STATE = "mlflow_sweep.report.state"        # the parent's report: pending (being made), done, failed
TAG_BEST_PREFIX = "mlflow_sweep.best."                # + a param: the best configuration's value
TAG_REPORT_PATH = "mlflow_sweep.report.path"          # the current report's artifacts: report/<version>
TAG_REPORT_PREFIX = "mlflow_sweep.report."            # every report tag (a second report deletes them, state aside)

# -- the logging API -------------------------------------------------------------------
TAG_SPOOL_ID = "mlflow_sweep.spool_id"                # a spooled run's identity (sync completes only it)

# -- environment: what a sweep's jobs are told ----------------------------------------
ENV_SWEEP_ID = "MLFLOW_SWEEP_ID"
ENV_SWEEP_INDEX = "MLFLOW_SWEEP_INDEX"
ENV_PARENT_RUN_ID = "MLFLOW_SWEEP_PARENT_RUN_ID"
ENV_SWEEP_NAME = "MLFLOW_SWEEP_NAME"
ENV_HYDRA_SWEEP_DIR = "MLFLOW_SWEEP_HYDRA_DIR"  # the sweep directory whose identity the environment holds

# -- environment: MLflow's own variables we read or set --------------------------------
ENV_TRACKING_URI = "MLFLOW_TRACKING_URI"
ENV_EXPERIMENT_ID = "MLFLOW_EXPERIMENT_ID"
ENV_EXPERIMENT_NAME = "MLFLOW_EXPERIMENT_NAME"
ENV_RUN_ID = "MLFLOW_RUN_ID"
ENV_ARTIFACTS_PROGRESS_BAR = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"  # off while status reads a spec

# the search engine (mlflow_sweep_plugin/search/, docs/how-to/search.md)
TAG_STRATEGY = "mlflow_sweep.strategy"        # parent: grid | random | tpe | cmaes | gp
TAG_TRIAL = "mlflow_sweep.trial"              # child: its configuration's number in the sweep
TAG_SEED = "mlflow_sweep.seed"                # child: the seed value it ran with (sweeps with seeds)
TAG_PRUNED = "mlflow_sweep.pruned"            # child stopped early: "step 7: val_loss=1.93"
TAG_N_PRUNED = "mlflow_sweep.n_pruned"        # parent: how many children were pruned
TAG_CONTROLLER_HOST = "mlflow_sweep.controller.host"  # parent: the controller running the sweep
TAG_CONTROLLER_PID = "mlflow_sweep.controller.pid"
TAG_HEARTBEAT = "mlflow_sweep.controller.heartbeat"   # parent: unix time of the controller's last beat
TAG_RACE_ROUND = "mlflow_sweep.race.round"    # child of a race: the round it ran in
TAG_STAGE = "mlflow_sweep.stage"              # child: search | race | confirm (races and confirmation)
TAG_DECIDED_BY = "mlflow_sweep.decided_by"    # parent: the stage whose runs decided the best (confirm/race/search/report)
RACE_ARTIFACT = "mlflow_sweep/race.json"      # parent: the race's rounds, survivors and eliminations
ENV_SWEEP_OBJECTIVE = "MLFLOW_SWEEP_OBJECTIVE"  # a Hydra sweeper's job: the objective metric should_stop reports
SPEC_ARTIFACT = "mlflow_sweep/sweep.json"     # parent: the normalised spec, project, entry point, -P params


def best_key(name: str) -> str:
    """The parent's best-so-far tag of a param / metric of the objective: ``mlflow_sweep.best.<name>``."""
    return TAG_BEST_PREFIX + name
