"""``mlflow run --backend sweep`` with ``"executor": "submitit"``: each grid point a
submitit job (``submitit.AutoExecutor``: SLURM on a cluster, the local executor
elsewhere or with ``"cluster": "local"``).

The job runs :func:`run_grid_point` on the node: MLflow's own ``LocalBackend`` starts
the entry point there (``--env-manager``, conda/virtualenv projects behave as with
``mlflow run``) in the child run the sweep created, and the job returns its exit code.
Everything it needs travels as arguments (project directory, params, tracking URI,
run id, the sweep's environment), so the node needs nothing of the submitting process
but a shared file system: the project directory, submitit's folder and a ``sqlite:`` or
``file:`` store must be on it (or use an ``http(s)://`` tracking server).

What the sweep backend asks of a job (:class:`SubmititChild`): ``poll()`` (None while it
runs, then its exit code or None when it died), how it ended (``status``, ``reason``:
a job the cluster killed is KILLED/FAILED with the reason submitit recorded, see
:mod:`~mlflow_sweep_plugin.sweep.submitit_records`), the tails of its stdout/stderr log files, ``cancel()``; and its
identity for the tags (``job_id``, ``log_dir``); :class:`SubmititExecutor` starts them.

Its settings are checked by :mod:`.submitit_config`.
"""

from __future__ import annotations

import os

import mlflow
from mlflow.projects.backend.local import LocalBackend

from ...sweep.submitit_records import job_record, scheduler_end
from ...sweep.tails import tail_lines
from ...tags import ENV_TRACKING_URI, TAG_JOB_ID, TAG_LOG_DIR
from ...uri import absolute_uri
from ..output import TAIL_LINES
from .local import environ
from .submitit_config import SubmititConfigError, submitit_parameters


def make_executor(settings: dict | None, name: str | None = None):
    """A ``submitit.AutoExecutor`` configured from ``settings`` (see the module
    docstring). Bad settings are :class:`SubmititConfigError` before anything runs."""
    try:
        import submitit  # an optional extra: imported when a sweep asks for it
    except ImportError:
        raise SubmititConfigError('"executor": "submitit" needs submitit: pip install '
                                  '"mlflow-sweep-plugin[launchers]" (or submitit)') from None
    cluster, folder, params = submitit_parameters(settings)
    folder = os.path.abspath(os.path.expanduser(folder))
    try:
        executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
        if name and "name" not in params:
            params["name"] = name
        executor.update_parameters(**params)
    except Exception as exc:  # noqa: BLE001 - submitit names what it does not know
        raise SubmititConfigError(f"submitit refused the settings {params}: {type(exc).__name__}: "
                                  f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}") from None
    return executor


def run_grid_point(work_dir: str, entry_point: str, params: dict, local_config: dict,
                   tracking_uri: str, experiment_id: str, env: dict) -> int:
    """The job, on the node: the entry point through MLflow's ``LocalBackend``, in the
    child run named by ``local_config``; returns the entry point's exit code."""
    os.environ.update({k: str(v) for k, v in env.items()})
    os.environ[ENV_TRACKING_URI] = tracking_uri
    mlflow.set_tracking_uri(tracking_uri)
    submitted = LocalBackend().run(work_dir, entry_point, params, None, local_config, tracking_uri,
                                   experiment_id)
    return submitted.command_proc.wait()


class SubmititChild:
    """One grid point's submitit job, as the sweep backend polls it."""

    def __init__(self, job, cluster: str | None):
        self.job = job
        self.cluster = cluster or getattr(job, "_cluster", None)
        self.job_id = str(job.job_id)
        self.log_dir = str(job.paths.folder)
        self.exit_code: int | None = None
        self.status: str | None = None
        self.reason: str | None = None

    def poll(self):
        """None while the job runs; then ``(status, exit code, reason)``: the exit code is
        None when the job returned none (it died), ``reason`` what submitit recorded."""
        if self.status is None:
            try:
                if not self.job.done():
                    return None
            except Exception:  # noqa: BLE001 - the scheduler did not answer: ask again later
                return None
            self._outcome()
        return self.status, self.exit_code, self.reason

    def _outcome(self) -> None:
        try:
            code = self.job.result()
        except Exception:  # noqa: BLE001 - killed, timed out, or run_grid_point raised
            code = None
        if isinstance(code, int):
            self.exit_code = code
            self.status = "FINISHED" if code == 0 else "FAILED"
            return
        record = scheduler_end(self.cluster, job_record(self.log_dir, self.job_id))
        if record.ended and record.status not in (None, "FINISHED"):
            self.status, self.reason = record.status, record.reason
        else:
            self.status = "KILLED"
            self.reason = (f"submitit job {self.job_id} ended without a result "
                           f"(state {self._state()})")

    def _state(self) -> str:
        try:
            return str(self.job.state)
        except Exception:  # noqa: BLE001
            return "unknown"

    def tails(self, killed: bool = False) -> tuple[list[str], list[str]]:
        """The last lines of the job's stdout and stderr log files."""
        paths = self.job.paths
        return tail_lines(str(paths.stdout), TAIL_LINES), tail_lines(str(paths.stderr), TAIL_LINES)

    def cancel(self) -> None:
        self.job.cancel(check=False)

    def tags(self) -> dict:
        return {TAG_JOB_ID: self.job_id, TAG_LOG_DIR: self.log_dir}

    def describe(self) -> str:
        return f"submitit job {self.job_id} (logs in {self.log_dir})"


class SubmititExecutor:
    """Each child a submitit job that runs the entry point through MLflow's local backend
    on its node; the environment travels as an argument too (``sbatch --export=NONE``
    clusters)."""

    name = "submitit"

    def __init__(self, settings: dict | None, sweep_name: str):
        self.executor = make_executor(settings, name=sweep_name)

    def start(self, *, work_dir, entry_point, params, local_config, tracking_uri, experiment_id,
              env) -> SubmititChild:
        with environ(env):  # submitit's local executor and sbatch copy this process's environment
            job = self.executor.submit(run_grid_point, work_dir, entry_point, dict(params), local_config,
                                       absolute_uri(tracking_uri), experiment_id, dict(env))
        return SubmititChild(job, getattr(self.executor, "cluster", None))
