"""What a dead controller left running (docs/how-to/status-resume.md, "After a crash").

The ``local`` executor tags each child run ``mlflow_sweep.process`` with the host, pid
and start time of the process it started (:func:`process_tag`). A controller that is
killed outright (SIGKILL, the node's OOM killer) cannot stop its children: they run on,
and would later end their runs although the resumed sweep has rerun them. So a resumed
sweep, once it is the sweep's one controller, calls :func:`stop_orphans` on the children
the store still shows RUNNING:

- on this host, a process with the tagged pid *and* start time (a reused pid is another
  process, never touched) is stopped with its descendants: SIGTERM, then SIGKILL after
  ``grace_s`` seconds;
- the run is ended KILLED with the reason in ``mlflow_sweep.error`` (whether its process
  was stopped or was already gone); the engine then runs its point again, superseding it;
- a run whose process is on another host is left as it is, with one warning naming the
  run, the host and the pid (it is rerun here; stop it there).
"""

from __future__ import annotations

import contextlib
import json
import socket

import psutil

from ..sweep.outcome import error_text
from ..tags import TAG_ERROR, TAG_PROCESS
from ..warning_types import SweepWarning, warn

GRACE_S = 10.0


def process_tag(pid: int) -> dict:
    """``{mlflow_sweep.process: ...}`` for the child process ``pid`` ({} once it has ended)."""
    try:
        started = psutil.Process(pid).create_time()
    except psutil.Error:
        return {}
    return {TAG_PROCESS: json.dumps({"host": socket.gethostname(), "pid": pid, "started": started})}


def _tagged(run) -> dict | None:
    try:
        info = json.loads(run.data.tags[TAG_PROCESS])
        return info if isinstance(info.get("pid"), int) and isinstance(info.get("host"), str) else None
    except (KeyError, ValueError, TypeError, AttributeError):
        return None


def _same_process(info: dict):
    """The live process the tag names, or None (gone, or its pid now another process's)."""
    try:
        proc = psutil.Process(info["pid"])
        if abs(proc.create_time() - float(info.get("started"))) > 0.01:
            return None
        return proc if proc.status() != psutil.STATUS_ZOMBIE else None
    except (psutil.Error, TypeError, ValueError):
        return None


def _stop_tree(proc, grace_s: float) -> None:
    procs = [proc]
    with contextlib.suppress(psutil.Error):
        procs += proc.children(recursive=True)
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.terminate()
    _, alive = psutil.wait_procs(procs, timeout=grace_s)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(alive, timeout=grace_s)


def stop_orphans(client, runs, *, grace_s: float = GRACE_S) -> list[str]:
    """Stop and end the RUNNING ``runs`` a dead controller left (see the module docstring);
    returns the ids of the runs ended KILLED."""
    here = socket.gethostname()
    ended = []
    for run in runs:
        info = _tagged(run) if run.info.status == "RUNNING" else None
        if info is None:
            continue
        run_id = run.info.run_id
        if info["host"] != here:
            warn(SweepWarning(f"run {run_id}: its process {info['pid']} on host {info['host']!r} may still "
                              f"run (its controller is gone); the point runs again here: stop it there"))
            continue
        proc = _same_process(info)
        if proc is not None:
            _stop_tree(proc, grace_s)
        why = (f"stopped on resume: process {info['pid']} was left running by a controller that is gone"
               if proc is not None else
               f"ended on resume: its process {info['pid']} was gone and its controller too")
        with contextlib.suppress(Exception):  # the store is checked again by the engine
            client.set_tag(run_id, TAG_ERROR, error_text(why))
            client.set_terminated(run_id, status="KILLED")
            ended.append(run_id)
    return ended
