"""What submitit recorded about a job: how a Hydra job run by ``hydra-submitit-launcher``
(or a grid point of ``mlflow run --backend sweep`` on ``"executor": "submitit"``) ended.

submitit keeps one folder per job (Hydra's default ``${hydra.sweep.dir}/.submitit/%j``):
``<id>_submitted.pkl`` (the job), ``<id>_<task>_log.out`` / ``_log.err`` (its stdout and
stderr; on SLURM also the scheduler's own ``slurmstepd`` lines) and, once the job is
over, ``<id>_<task>_result.pkl`` (``("success", value)`` or ``("error", traceback)``).
A job killed from outside (out of memory, time limit, preemption, ``scancel``) writes no
result; the scheduler says why in its stderr.

Nothing here unpickles anything: the result file is read with :mod:`pickletools`, which
parses the opcodes without running them (a result holds the job's return value,
arbitrary objects); only its first strings (the outcome and, for an error, the
traceback text) are used. Nothing imports submitit either.
"""

from __future__ import annotations

import os
import pickletools
import re
import shutil
from dataclasses import dataclass

from .outcome import traceback_error
from .tails import tail_lines

#: submitit's own line when a (re)started job begins: what comes before was an earlier attempt
_START = "Starting with JobEnvironment("
#: (pattern in the job's stderr/stdout, status, what it means): the scheduler's words first
_SCHEDULER_ENDS = (
    (re.compile(r"CANCELLED AT \S+ DUE TO TIME LIMIT"), "KILLED", "timed out"),
    (re.compile(r"CANCELLED AT \S+ DUE TO PREEMPTION"), "KILLED", "preempted"),
    (re.compile(r"CANCELLED AT \S+ DUE TO NODE FAIL"), "KILLED", "node failure"),
    (re.compile(r"CANCELLED AT \S+ DUE TO (\w[\w ]*?) \*\*\*"), "KILLED", "cancelled"),
    (re.compile(r"\*\*\* (JOB|STEP) \S+ ON \S+ CANCELLED AT \S+"), "KILLED", "cancelled"),
    (re.compile(r"oom[-_ ]kill|Out Of Memory|out-of-memory handler|OOM Killed", re.I), "FAILED",
     "out of memory"),
    (re.compile(r"Job not requeued because: (.*timed-out.*)"), "KILLED", "timed out"),
    (re.compile(r"this job is timed-out"), "KILLED", "timed out"),
    (re.compile(r"this job is preempted"), "KILLED", "preempted"),
    (re.compile(r"Exiting gracefully after preemption/timeout"), "KILLED", "preempted or timed out"),
)


@dataclass
class SubmititJob:
    """One submitit job's folder and what it says about the job's end."""

    job_id: str
    folder: str
    stdout: str
    stderr: str
    result: str  # the result file's path (it may not exist)
    ended: bool = False
    status: str | None = None  # FINISHED / FAILED / KILLED once ended
    reason: str | None = None


def format_folder(pattern: str, job_id: str, sweep_dir: str | None = None, task: int = 0) -> str:
    """submitit's folder pattern for one job: ``%j`` the job id, ``%A``/``%a`` the array's
    id and index, ``%t`` the task; ``${hydra.sweep.dir}`` the sweep directory."""
    text = str(pattern)
    if sweep_dir is not None:
        text = text.replace("${hydra.sweep.dir}", sweep_dir)
    array_id, _, index = str(job_id).partition("_")
    text = text.replace("%j", str(job_id)).replace("%t", str(task)).replace("%A", array_id)
    if index:
        text = text.replace("%a", index)
    return text


def job_folder(job_id: str, sweep_dir: str, pattern: str | None = None) -> str | None:
    """The submitit folder of ``job_id``: ``pattern`` (a Hydra job's
    ``hydra.launcher.submitit_folder``) when it can be resolved and exists, else
    ``<sweep_dir>/.submitit/<job_id>``; None when neither exists."""
    candidates = []
    if pattern:
        folder = format_folder(pattern, job_id, sweep_dir)
        if "${" not in folder:
            candidates.append(folder if os.path.isabs(folder) else os.path.join(sweep_dir, folder))
    candidates.append(os.path.join(sweep_dir, ".submitit", str(job_id)))
    for folder in candidates:
        if os.path.isdir(folder):
            return folder
    return None


def _last_attempt(lines: list[str]) -> list[str]:
    """The lines of the job's last (re)start: a requeued job appends to the same logs."""
    starts = [i for i, line in enumerate(lines) if _START in line]
    return lines[starts[-1]:] if starts else lines


def result_outcome(path: str) -> tuple[str, str | None] | None:
    """``("success", None)`` or ``("error", traceback)`` from a submitit result file, read
    with :func:`pickletools.genops` (never unpickled); None when there is none or it is
    not one."""
    try:
        with open(path, "rb") as fh:
            strings = []
            for opcode, arg, _pos in pickletools.genops(fh):
                if opcode.name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE"):
                    strings.append(arg)
                    if strings[0] != "error" or len(strings) == 2:
                        break
                elif opcode.name in ("STOP",):
                    break
    except (OSError, ValueError, EOFError):  # no file, or not a pickle
        return None
    if not strings or strings[0] not in ("success", "error"):
        return None
    return strings[0], (strings[1] if strings[0] == "error" and len(strings) > 1 else None)


def job_record(folder: str, job_id: str, task: int = 0) -> SubmititJob:
    """What ``folder`` records about job ``job_id`` (task ``task``):

    - a result file: ``success`` (FINISHED as far as submitit knows; Hydra's own outcome
      is in the job's directory) or ``error`` (FAILED with the traceback's exception line);
    - no result, and the scheduler or submitit told why in the last attempt's stderr or
      stdout: time limit, preemption, node failure -> KILLED; out of memory -> FAILED;
      ``scancel`` -> KILLED (the reason is that line);
    - else: not ended as far as the record shows (still running, or killed without a
      word: ``ended`` is False).
    """
    prefix = os.path.join(folder, f"{job_id}_{task}")
    job = SubmititJob(job_id=str(job_id), folder=folder, stdout=prefix + "_log.out",
                      stderr=prefix + "_log.err", result=prefix + "_result.pkl")
    outcome = result_outcome(job.result)
    if outcome is not None:
        job.ended = True
        if outcome[0] == "success":
            job.status = "FINISHED"
        else:
            lines = (outcome[1] or "").splitlines()
            error, _ = traceback_error(lines)
            job.status = "FAILED"
            job.reason = error or next((line for line in reversed(lines) if line.strip()),
                                       "the job raised")
            if "UncompletedJobError" in (job.reason or ""):  # submitit gave up on a timed-out job
                job.status = "KILLED"
        return job
    lines = _last_attempt(tail_lines(job.stderr)) + _last_attempt(tail_lines(job.stdout))
    for pattern, status, meaning in _SCHEDULER_ENDS:
        for line in lines:
            if pattern.search(line):
                job.ended, job.status = True, status
                job.reason = f"{meaning}: {line.strip()[:1000]}"
                return job
    return job


def folder_job_ids(submitit_dir: str) -> list[tuple[str, str]]:
    """``(job_id, folder)`` of every job folder under a ``.submitit`` directory (those
    holding a ``<id>_submitted.pkl`` or ``<id>_<task>_log.*``)."""
    out = []
    try:
        entries = sorted(os.listdir(submitit_dir))
    except OSError:
        return out
    for entry in entries:
        folder = os.path.join(submitit_dir, entry)
        if not os.path.isdir(folder) or os.path.islink(folder):
            continue
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        if any(n == f"{entry}_submitted.pkl" or n.startswith(f"{entry}_0_log.") for n in names):
            out.append((entry, folder))
    return out


def record_of(job, sweep_dir: str, ask_scheduler: bool = True) -> SubmititJob | None:
    """The submitit record of a Hydra job (:class:`~.hydra_jobs.HydraJob` with the
    ``job_id`` and ``submitit_folder`` its ``.hydra/hydra.yaml`` holds), or None when a
    submitit launcher did not run it or its folder is not there. When the folder
    records no end, the scheduler is asked (:func:`scheduler_end`)."""
    if not getattr(job, "job_id", None):
        return None
    folder = job_folder(job.job_id, sweep_dir, getattr(job, "submitit_folder", None))
    if not folder:
        return None
    record = job_record(folder, job.job_id)
    return scheduler_end(getattr(job, "launcher", None), record) if ask_scheduler else record


#: SLURM job states (``sacct``) -> (status, what it means); states not here: not ended
_SLURM_STATES = {
    "COMPLETED": ("FINISHED", None), "FAILED": ("FAILED", "failed"),
    "OUT_OF_MEMORY": ("FAILED", "out of memory"), "TIMEOUT": ("KILLED", "timed out"),
    "PREEMPTED": ("KILLED", "preempted"), "NODE_FAIL": ("KILLED", "node failure"),
    "CANCELLED": ("KILLED", "cancelled"), "BOOT_FAIL": ("KILLED", "boot failure"),
    "DEADLINE": ("KILLED", "deadline"),
}


def _local_job_alive(job_id: str) -> bool | None:
    """Whether submitit's local controller process ``job_id`` (its pid) still runs on
    this host (a zombie or another program under that pid is not it); None when it
    cannot be told."""
    if not str(job_id).isdigit():
        return None
    pid = int(job_id)
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as fh:
            state = fh.read().rsplit(")", 1)[-1].split()[0]
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read()
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            return None
        return True
    return state not in ("Z", "X") and b"submitit" in cmdline


def scheduler_end(launcher: str | None, record: SubmititJob) -> SubmititJob:
    """Ask the scheduler about a job whose folder records no end: the local executor's
    controller process (gone: KILLED), or SLURM's ``sacct`` through submitit (its state:
    TIMEOUT, OUT_OF_MEMORY, PREEMPTED, ...). ``record`` comes back with ``ended``,
    ``status`` and ``reason`` set when the scheduler knows; unchanged otherwise (still
    running, or nothing to ask: no submitit, no ``sacct``)."""
    if record.ended:
        return record
    launcher = str(launcher or "")
    if launcher.endswith("local"):
        alive = _local_job_alive(record.job_id)
        if alive is False:
            record.ended, record.status = True, "KILLED"
            record.reason = (f"submitit job {record.job_id} ended without a result and without a "
                             "word in its logs (its process was killed: out of memory, a signal)")
        return record
    if launcher.endswith("slurm"):
        if shutil.which("sacct") is None:
            return record
        try:
            import submitit  # only to ask SLURM (sacct) about a job: the launcher installed it

            state = str(submitit.SlurmJob(folder=record.folder, job_id=record.job_id).state or "")
        except Exception:  # noqa: BLE001 - sacct failed: nothing known
            return record
        key = state.split()[0].upper() if state else ""
        if key in _SLURM_STATES:
            status, meaning = _SLURM_STATES[key]
            record.ended, record.status = True, status
            record.reason = f"{meaning}: SLURM state {state}" if meaning else None
    return record


def submitted_job_num(folder: str, job_id: str) -> int | None:
    """The Hydra job number a submitit job was given (``hydra-submitit-launcher`` passes
    ``job_id_for_<num>`` among its arguments), read from ``<id>_submitted.pkl`` with
    :mod:`pickletools` (never unpickled); None when it is not there."""
    try:
        with open(os.path.join(folder, f"{job_id}_submitted.pkl"), "rb") as fh:
            for opcode, arg, _pos in pickletools.genops(fh):
                if isinstance(arg, str) and arg.startswith("job_id_for_") and arg[11:].isdigit():
                    return int(arg[11:])
    except (OSError, ValueError, EOFError):
        return None
    return None


def orphans(sweep_dir: str, job_ids) -> list[SubmititJob]:
    """The jobs of ``<sweep_dir>/.submitit`` that no Hydra job directory names (a job
    that died before Hydra made its directory), with what their record says."""
    known = {str(j) for j in job_ids if j}
    out = []
    for job_id, folder in folder_job_ids(os.path.join(sweep_dir, ".submitit")):
        if job_id not in known:
            out.append(job_record(folder, job_id))
    return out
