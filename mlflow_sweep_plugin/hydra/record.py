"""What a Hydra sweep's jobs need to know about it, without the submitting process.

A sweep run by a launcher that starts each job in a process of its own (submitit on
SLURM or locally, joblib's workers) logs its children from those processes, on other
hosts. Each job must find the sweep's parent run without asking the process that
submitted it, which may be gone. Three channels carry the sweep's *identity* (the
tracking URI, the experiment id, the parent run id, the sweep id and name, the sweep
directory), tried in this order by a job:

1. the callback's own state, pickled with Hydra's context into the job
   (:meth:`~.hydra_callback.MLflowSweepCallback.__getstate__` keeps only this identity,
   plain strings: no client, no connection, no path of the submitting host's cwd);
2. the environment (``MLFLOW_SWEEP_PARENT_RUN_ID``, ``MLFLOW_SWEEP_ID``,
   ``MLFLOW_SWEEP_NAME``, ``MLFLOW_TRACKING_URI``, ``MLFLOW_EXPERIMENT_ID``), which the
   submitting process exports while the sweep runs, and which submitit, ``sbatch``
   (``--export=ALL``, its default) and joblib pass on to the jobs;
3. the sweep record ``mlflow_sweep.yaml`` in the sweep directory (on the shared file
   system, like the job directories), also read by ``mlflow-sweep import-hydra``.

When none of them is there (a launcher that builds the callback anew on the node and
drops the environment), the job finds the parent by its sweep directory, or creates it
under :func:`sweep_lock`, so that jobs starting at the same moment make one parent.
"""

from __future__ import annotations

import contextlib
import os
import time

import yaml

from ..tags import (ENV_EXPERIMENT_ID, ENV_PARENT_RUN_ID, ENV_SWEEP_ID, ENV_SWEEP_NAME, ENV_TRACKING_URI,
                    HYDRA_RECORD)
from ..uri import redact_uri
from ..warning_types import warn
from .jobs import safe_load

RECORD = HYDRA_RECORD
LOCK = ".mlflow_sweep.lock"
IDENTITY_KEYS = ("tracking_uri", "experiment_id", "parent_run_id", "sweep_id", "sweep_name",
                 "sweep_dir")


def identity_from_env(environ=None) -> dict | None:
    """The sweep identity the submitting process exported, or None."""
    env = os.environ if environ is None else environ
    if not (env.get(ENV_PARENT_RUN_ID) and env.get(ENV_SWEEP_ID)):
        return None
    return {"tracking_uri": env.get(ENV_TRACKING_URI) or None,
            "experiment_id": env.get(ENV_EXPERIMENT_ID) or None,
            "parent_run_id": env[ENV_PARENT_RUN_ID], "sweep_id": env[ENV_SWEEP_ID],
            "sweep_name": env.get(ENV_SWEEP_NAME) or None}


def identity_env(identity: dict) -> dict:
    """The environment that carries ``identity`` to the jobs (see :func:`identity_from_env`)."""
    env = {ENV_PARENT_RUN_ID: identity["parent_run_id"], ENV_SWEEP_ID: identity["sweep_id"],
           ENV_EXPERIMENT_ID: identity["experiment_id"]}
    if identity.get("sweep_name"):
        env[ENV_SWEEP_NAME] = identity["sweep_name"]
    if identity.get("tracking_uri"):
        env[ENV_TRACKING_URI] = identity["tracking_uri"]
    return env


def write_record(sweep_dir: str, identity: dict, **extra) -> None:
    """Write ``mlflow_sweep.yaml`` (atomically). A tracking URI holding credentials is
    not written (the jobs and the import then use ``$MLFLOW_TRACKING_URI``)."""
    data = {k: identity.get(k) for k in IDENTITY_KEYS}
    if data.get("tracking_uri") and redact_uri(data["tracking_uri"]) != data["tracking_uri"]:
        data["tracking_uri"] = None
    data.update(extra)
    text = ("# where this sweep is logged, written by mlflow-sweep's Hydra callback (its jobs\n"
            "# and `mlflow-sweep import-hydra` read it)\n"
            + yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    os.makedirs(sweep_dir, exist_ok=True)
    path = os.path.join(sweep_dir, RECORD)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def read_record(sweep_dir: str) -> dict | None:
    """The sweep record of ``sweep_dir`` (``mlflow_sweep.yaml``), or None: its values as
    text, lists of text (the multirun's overrides) as they are."""
    path = os.path.join(sweep_dir, RECORD)
    real = os.path.realpath(path)
    if os.path.lexists(path) and os.path.dirname(real) != os.path.realpath(sweep_dir):
        warn(f"{sweep_dir}: {RECORD}: a link leading out of the sweep directory (to {real}): not read")
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            data = safe_load(fh)
    except (OSError, ValueError, yaml.YAMLError):
        return None
    if not isinstance(data, dict) or not data.get("parent_run_id") or not data.get("sweep_id"):
        return None
    return {k: (v if v is None or (isinstance(v, list) and all(isinstance(x, str) for x in v)) else str(v))
            for k, v in data.items()}


@contextlib.contextmanager
def sweep_lock(sweep_dir: str, timeout: float = 120.0):
    """An exclusive lock on the sweep directory (``flock`` on ``.mlflow_sweep.lock``),
    held while the parent run is looked up and created, so processes starting at the
    same time make one parent. Works across hosts where the shared file system supports
    ``flock`` (Linux NFSv4, Lustre, GPFS). Without ``fcntl`` (Windows) or when the
    directory is read-only, no lock."""
    try:
        import fcntl  # POSIX only
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    try:
        os.makedirs(sweep_dir, exist_ok=True)
        fd = os.open(os.path.join(sweep_dir, LOCK), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield
        return
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{sweep_dir}: {LOCK} held for more than {timeout:.0f} s")
                time.sleep(0.05)
            except OSError:  # a file system without flock: go on unlocked
                break
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
