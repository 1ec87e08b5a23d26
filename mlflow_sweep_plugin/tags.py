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
# a report logged on a run (report/parent.py): its files are under the artifact path the
# first tag names (report/<version>); the others describe the best configuration
TAG_REPORT_PATH = "mlflow_sweep.report.path"
TAG_REPORT_PREFIX = "mlflow_sweep.report."      # .objective, .mode, .n_tied, .path
TAG_BEST_PREFIX = "mlflow_sweep.best."          # the best group's values (tags), its objective mean (metric)
# a run a spool belongs to (tracking/spool.py): the spool that created it offline
TAG_SPOOL_ID = "mlflow_sweep.spool_id"
