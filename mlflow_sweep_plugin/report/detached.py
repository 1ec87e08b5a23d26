"""The sweep's report on its parent, made by a process of its own after the sweep has
ended (``python -m mlflow_sweep_plugin.report.detached``): the Hydra callback's sweep
does not wait for SciPy, Matplotlib and the report's pages (about a second of imports and
rendering, more than all the rest of the callback's fixed cost).

The parent carries ``mlflow_sweep.report.state``: ``pending`` from the moment the report
is handed over, then ``done`` or ``failed``. The process gets what to report on its
standard input as JSON (the tracking URI through its environment, as the jobs get it:
never on its command line) and writes its warnings to ``log_path`` when one is given.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from ..tags import ENV_TRACKING_URI, TAG_REPORT_STATE

PENDING, DONE, FAILED = "pending", "done", "failed"


def start(tracking_uri: str, parent_run_id: str, experiment_id: str, sweep_id: str, report: dict,
          exclude_run_ids=(), log_path: str | None = None) -> subprocess.Popen:
    """Start the detached process that logs ``report`` (``report_parent``'s objective,
    mode, ...) on the parent; the caller has tagged the parent ``pending``."""
    job = {"parent_run_id": parent_run_id, "experiment_id": str(experiment_id), "sweep_id": sweep_id,
           "report": dict(report), "exclude_run_ids": list(exclude_run_ids)}
    env = dict(os.environ, **{ENV_TRACKING_URI: tracking_uri})
    out = open(log_path, "a", encoding="utf-8") if log_path else subprocess.DEVNULL  # noqa: SIM115
    try:
        proc = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=out,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True,
                                close_fds=True, text=True)
        proc.stdin.write(json.dumps(job))
        proc.stdin.close()
    finally:
        if log_path:
            out.close()
    return proc


def run(job: dict, tracking_uri: str) -> str:
    """Make and log the report of ``job`` (see :func:`start`); returns the state it left."""
    from mlflow.tracking import MlflowClient

    from .parent import report_parent

    client = MlflowClient(tracking_uri)
    report = report_parent(client, job["parent_run_id"], job["experiment_id"], sweep_id=job["sweep_id"],
                           exclude_run_ids=job.get("exclude_run_ids") or (), **job["report"])
    quiet = job["report"].get("quiet")
    state = DONE if report is not None or quiet else FAILED
    client.set_tag(job["parent_run_id"], TAG_REPORT_STATE, state)
    return state


def main() -> int:
    from ..console import printing_warnings
    from ..uri import resolve_tracking_uri

    job = json.loads(sys.stdin.read())
    with printing_warnings():
        state = run(job, resolve_tracking_uri(os.environ.get(ENV_TRACKING_URI)))
    return 0 if state == DONE else 1


if __name__ == "__main__":
    sys.exit(main())
