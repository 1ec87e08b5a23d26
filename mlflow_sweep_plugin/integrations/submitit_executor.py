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
:mod:`.submitit_jobs`), the tails of its stdout/stderr log files, ``cancel()``; and its
identity for the tags (``job_id``, ``log_dir``).

``"submitit": {...}`` holds submitit's parameters (``timeout_min``, ``mem_gb``,
``gpus_per_node``, ``cpus_per_task``, ``slurm_partition``, ``slurm_array_parallelism``,
...), with the short names ``partition``, ``time`` (minutes or ``[D-]HH:MM:SS``),
``gpus``, ``mem`` (GB or ``16G``/``500M``), ``cpus``, ``account``, ``qos``,
``constraint``, ``gres``, ``exclude`` for the SLURM ones, and ``cluster`` (``slurm``,
``local``, ``debug``; default: what submitit finds) and ``folder`` (default
``.submitit/%j`` under the current directory).
"""

from __future__ import annotations

import os
import re

from .job_output import TAIL_LINES

#: short names -> submitit's parameter names
ALIASES = {"partition": "slurm_partition", "time": "timeout_min", "gpus": "gpus_per_node",
           "mem": "mem_gb", "cpus": "cpus_per_task", "account": "slurm_account",
           "qos": "slurm_qos", "constraint": "slurm_constraint", "gres": "slurm_gres",
           "exclude": "slurm_exclude"}
DEFAULT_FOLDER = os.path.join(".submitit", "%j")


class SubmititConfigError(ValueError):
    """The ``submitit`` settings are unusable; the message says which and why."""


def _minutes(value) -> int:
    """``90`` -> 90; ``"1:30:00"`` -> 90; ``"2-00:00:00"`` -> 2880 (SLURM's time format)."""
    if isinstance(value, bool):
        raise SubmititConfigError(f"time: {value!r} is not a duration")
    if isinstance(value, (int, float)):
        return max(1, int(round(value)))
    text = str(value).strip()
    m = re.fullmatch(r"(?:(\d+)-)?(\d+):(\d\d)(?::(\d\d))?", text)
    if text.isdigit():
        return int(text)
    if not m:
        raise SubmititConfigError(f"time: {value!r} is neither minutes nor [D-]HH:MM[:SS]")
    days, hours, minutes, seconds = (int(g) if g else 0 for g in m.groups())
    return max(1, days * 1440 + hours * 60 + minutes + (1 if seconds else 0))


def _gigabytes(value) -> float:
    """``16`` -> 16; ``"16G"``/``"16GB"`` -> 16; ``"500M"`` -> 0.5; ``"1T"`` -> 1024."""
    if isinstance(value, bool):
        raise SubmititConfigError(f"mem: {value!r} is not a size")
    if isinstance(value, (int, float)):
        return float(value)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)B?\s*", str(value), re.I)
    if not m:
        raise SubmititConfigError(f"mem: {value!r} is not a size (16, '16G', '500M')")
    number, unit = float(m.group(1)), m.group(2).upper()
    return number * {"": 1, "K": 1 / 1024 ** 2, "M": 1 / 1024, "G": 1, "T": 1024}[unit]


def submitit_parameters(settings: dict | None) -> tuple[str | None, str, dict]:
    """``(cluster, folder, parameters)`` from the backend config's ``"submitit"`` mapping,
    short names turned into submitit's."""
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        raise SubmititConfigError(f'"submitit" must be a mapping of submitit parameters, got {settings!r}')
    settings = dict(settings)
    cluster = settings.pop("cluster", None)
    folder = str(settings.pop("folder", None) or DEFAULT_FOLDER)
    params: dict = {}
    for key, value in settings.items():
        name = ALIASES.get(key, key)
        if name == "timeout_min":
            value = _minutes(value)
        elif name == "mem_gb":
            value = _gigabytes(value)
        if name in params:
            raise SubmititConfigError(f"submitit: {key!r} and another key both set {name}")
        params[name] = value
    return (str(cluster) if cluster else None), folder, params


def make_executor(settings: dict | None, name: str | None = None):
    """A ``submitit.AutoExecutor`` configured from ``settings`` (see the module
    docstring). Bad settings are :class:`SubmititConfigError` before anything runs."""
    try:
        import submitit
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
    os.environ["MLFLOW_TRACKING_URI"] = tracking_uri
    import mlflow
    from mlflow.projects.backend.local import LocalBackend

    mlflow.set_tracking_uri(tracking_uri)
    submitted = LocalBackend().run(work_dir, entry_point, params, None, local_config, tracking_uri,
                                   experiment_id)
    return submitted.command_proc.wait()


def _tail_lines(path: str, n: int = TAIL_LINES) -> list[str]:
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, os.path.getsize(path) - 256 * 1024))
            lines = fh.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []
    return lines[-n:]


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

    def poll(self) -> int | None:
        """None while the job runs; then its exit code (None when it returned none: it
        died). ``status`` and ``reason`` are set when it is done."""
        if self.status is not None:
            return self.exit_code
        try:
            if not self.job.done():
                return None
        except Exception:  # noqa: BLE001 - the scheduler did not answer: ask again later
            return None
        self._outcome()
        return self.exit_code

    def _outcome(self) -> None:
        from .submitit_jobs import job_record, scheduler_end

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

    def output(self) -> tuple[list[str], list[str]]:
        """The last lines of the job's stdout and stderr log files."""
        paths = self.job.paths
        return _tail_lines(str(paths.stdout)), _tail_lines(str(paths.stderr))

    def cancel(self) -> None:
        self.job.cancel(check=False)
