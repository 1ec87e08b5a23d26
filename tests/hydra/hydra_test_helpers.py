"""What the Hydra tests share: an app written into the test's directory, a real
``--multirun`` of it in a subprocess, and the sweep it left in the store."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import time

from mlflow_sweep_plugin.testing import artifact_paths, report_files

#: tags that name a run, its parent or the store, not what was logged
IDENTITY_TAGS = frozenset({"mlflow.parentRunId", "mlflow_sweep.sweep_id", "mlflow.user",
                           "mlflow.source.name", "mlflow.source.type", "mlflow.source.git.commit"})

#: an app's config for Hydra's Optuna sweeper with the callback (3 trials over lr and layers)
OPTUNA_CONFIG = """\
defaults:
  - override hydra/sweeper: optuna
  - _self_
lr: 0.01
layers: 1
hydra:
  job:
    chdir: true
  sweep:
    dir: multirun
    subdir: ${hydra.job.num}
  sweeper:
    direction: minimize
    n_trials: 3
    n_jobs: 1
    sampler:
      seed: 7
    params:
      lr: interval(0.001, 0.1)
      layers: choice(1, 2)
  callbacks:
    mlflow_sweep:
      _target_: mlflow_sweep_plugin.hydra.MLflowSweepCallback
      experiment_name: optuna
"""


def write_app(root: pathlib.Path, config: str, app: str, conf_files: dict | None = None) -> pathlib.Path:
    """``root/app.py`` and ``root/conf/config.yaml`` (and ``conf_files``: relative path ->
    text under ``conf/``); returns ``root``."""
    (root / "conf").mkdir(parents=True)
    (root / "conf" / "config.yaml").write_text(config)
    for rel, text in (conf_files or {}).items():
        path = root / "conf" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "app.py").write_text(app)
    return root


def multirun(store, app: pathlib.Path, sweep_dir, *args, timeout: float = 300, wait: bool = True,
             stderr: bool = False):
    """``python app.py --multirun hydra.sweep.dir=... *args`` against ``store``, with no
    experiment or run of the calling process in its environment. ``wait=False``: the
    ``Popen`` (``stderr``: its own pipe, else merged into stdout)."""
    env = dict(os.environ, MLFLOW_TRACKING_URI=store.tracking_uri, PYTHONUNBUFFERED="1")
    for var in ("MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID"):
        env.pop(var, None)
    cmd = [sys.executable, str(app / "app.py"), "--multirun", f"hydra.sweep.dir={sweep_dir}", *args]
    if not wait:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=app,
                                stderr=subprocess.PIPE if stderr else subprocess.STDOUT)
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=app, timeout=timeout)


def sweep_runs(client, experiment: str):
    """(the parent, {Hydra job number: child}) of the one sweep in ``experiment``; every
    child names that parent and its sweep id."""
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("mlflow_sweep.role") == "parent"]
    children = {r.data.tags["mlflow_sweep.hydra.job"]: r for r in runs
                if r.data.tags.get("mlflow_sweep.role") == "child"}
    assert len(parents) == 1 and len(runs) == len(children) + 1, [r.info.run_name for r in runs]
    for child in children.values():
        assert child.data.tags["mlflow.parentRunId"] == parents[0].info.run_id
        assert child.data.tags["mlflow_sweep.sweep_id"] == parents[0].data.tags["mlflow_sweep.sweep_id"]
    return parents[0], children


def snapshot(client, run, identity_tags=IDENTITY_TAGS) -> dict:
    """What a run holds, without what only names it (to compare two ways of logging)."""
    return {
        "status": run.info.status,
        "name": run.info.run_name,
        "params": dict(run.data.params),
        "metrics": {k: sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, k))
                    for k in run.data.metrics},
        "tags": {k: v for k, v in run.data.tags.items() if k not in identity_tags},
        "artifacts": artifact_paths(client, run.info.run_id),
    }


def wait_for_report(client, parent_id: str, timeout: float = 400):
    """The parent run once its report is no longer being made (the callback makes it in
    a process of its own after the sweep: ``mlflow_sweep.report.state = pending``)."""
    deadline = time.monotonic() + timeout
    while True:
        run = client.get_run(parent_id)
        if run.data.tags.get("mlflow_sweep.report.state") != "pending" or time.monotonic() > deadline:
            return run
        time.sleep(0.2)


def sweep_files(client, parent_id) -> list[str]:
    """A sweep parent's artifacts beside its report (which must be there, under report/)."""
    run = wait_for_report(client, parent_id)
    assert run.data.tags.get("mlflow_sweep.report.state") == "done", run.data.tags
    paths = artifact_paths(client, parent_id)
    assert {"report.html", "summary.csv"} <= report_files(client, parent_id), paths
    return [p for p in paths if not p.startswith("report/")]


def hydra_yaml(experiment: str) -> str:
    """The ``hydra:`` block the tests' apps share: each job in its own directory
    (``multirun/<job num>``, chdir) and the callback logging into ``experiment``; more
    callback keys may follow it, indented six spaces."""
    return ("hydra:\n  job:\n    chdir: true\n  sweep:\n    dir: multirun\n    subdir: ${hydra.job.num}\n"
            "  callbacks:\n    mlflow_sweep:\n      _target_: mlflow_sweep_plugin.hydra.MLflowSweepCallback\n"
            f"      experiment_name: {experiment}\n")
