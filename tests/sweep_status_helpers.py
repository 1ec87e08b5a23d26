"""Sweeps written straight into a real store with ``MlflowClient``, with the tags and the
spec artifact the backend and the Hydra callback write (for ``status`` and ``resume``)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

from mlflow.entities import Metric, Param

from mlflow_sweep_plugin.search.progress import log_spec
from mlflow_sweep_plugin.search.spec import parse_search
from mlflow_sweep_plugin.sweep.identity import point_key
from mlflow_sweep_plugin.tags import (KIND_BACKEND, KIND_HYDRA, ROLE_CHILD, ROLE_PARENT, TAG_ERROR,
                                      TAG_EXIT_CODE, TAG_HYDRA_OVERRIDES, TAG_HYDRA_SWEEP_DIR,
                                      TAG_HYDRA_SWEEPER, TAG_KIND, TAG_PARENT, TAG_POINT, TAG_PRUNED,
                                      TAG_ROLE, TAG_SEED, TAG_SUPERSEDED, TAG_SWEEP_ID, TAG_SWEEP_INDEX,
                                      TAG_SWEEP_NAME, TAG_TRIAL)

GRID_CONFIG = {"grid": {"lr": [0.1, 0.01, 0.001], "layers": [1, 2]},
               "seeds": {"param": "seed", "values": [0, 1]},
               "objective": {"metric": "val_loss", "mode": "min"}}


def make_parent(client, exp_id: str, name: str, kind: str = KIND_BACKEND, tags: dict | None = None) -> tuple:
    sweep_id = uuid.uuid4().hex
    all_tags = {TAG_SWEEP_ID: sweep_id, TAG_SWEEP_NAME: name, TAG_ROLE: ROLE_PARENT, TAG_KIND: kind,
                **(tags or {})}
    run = client.create_run(exp_id, tags=all_tags, run_name=name)
    return run.info.run_id, sweep_id


def make_child(client, exp_id, parent_id, sweep_id, name, index, params: dict, status: str, *,
               seed=None, trial=None, metrics: dict | None = None, tags: dict | None = None) -> str:
    all_tags = {TAG_SWEEP_ID: sweep_id, TAG_PARENT: parent_id, TAG_ROLE: ROLE_CHILD, TAG_SWEEP_NAME: name,
                TAG_SWEEP_INDEX: str(index), TAG_POINT: point_key(params), **(tags or {})}
    if seed is not None:
        all_tags[TAG_SEED] = str(seed)
    if trial is not None:
        all_tags[TAG_TRIAL] = str(trial)
    run = client.create_run(exp_id, tags=all_tags)
    logged = dict(params, **({"seed": str(seed)} if seed is not None else {}))
    now = int(time.time() * 1000)
    client.log_batch(run.info.run_id, params=[Param(k, str(v)) for k, v in logged.items()],
                     metrics=[Metric(k, v, now, 0) for k, v in (metrics or {}).items()])
    if status != "RUNNING":
        client.set_terminated(run.info.run_id, status=status)
    return run.info.run_id


def grid_sweep(client, exp_id: str, name: str = "toy:main", project_uri: str = "/nowhere/toy") -> dict:
    """A grid lr x layers x 2 seeds: finished, failed, pruned, running and missing cells
    (see the table in tests/commands/test_status.py)."""
    parent_id, sweep_id = make_parent(client, exp_id, name)
    log_spec(client, parent_id, parse_search(GRID_CONFIG), project_uri=project_uri, entry_point="main",
             params={"epochs": "3"})
    ids: dict = {}

    def child(index, lr, layers, seed, status, loss=None, tags=None, trial=None):
        run_id = make_child(client, exp_id, parent_id, sweep_id, name, index, {"lr": lr, "layers": layers},
                            status, seed=seed, trial=trial, tags=tags,
                            metrics=None if loss is None else {"val_loss": loss})
        ids[(lr, layers, seed)] = run_id
        return run_id

    old = child(0, "0.1", "1", 0, "FAILED", tags={TAG_ERROR: "OSError: disk full"})
    child(0, "0.1", "1", 0, "FINISHED", 0.5, trial=0)
    client.set_tag(old, TAG_SUPERSEDED, ids[("0.1", "1", 0)])
    child(1, "0.1", "1", 1, "FINISHED", 0.7, trial=0)
    child(2, "0.1", "2", 0, "FINISHED", 0.3, trial=1)
    child(3, "0.1", "2", 1, "FINISHED", 0.5, trial=1)
    child(4, "0.01", "1", 0, "FAILED", tags={TAG_ERROR: "ValueError: lr \x1b[2Jtoo small", TAG_EXIT_CODE: "1"},
          trial=2)
    child(5, "0.01", "1", 1, "FINISHED", 0.2, trial=2)
    child(6, "0.01", "2", 0, "KILLED", 2.0, tags={TAG_PRUNED: "step 1: val_loss=2.0"}, trial=3)
    child(7, "0.001", "1", 0, "RUNNING", trial=4)
    return {"parent_id": parent_id, "sweep_id": sweep_id, "runs": ids, "superseded": old}


def hydra_sweep(client, exp_id: str, sweep_dir: str) -> dict:
    name = "my_app"
    parent_id, sweep_id = make_parent(client, exp_id, name, KIND_HYDRA, tags={
        TAG_HYDRA_SWEEP_DIR: sweep_dir, TAG_HYDRA_OVERRIDES: "lr=0.1,0.01 model=a",
        TAG_HYDRA_SWEEPER: "basic"})
    hydra = {TAG_KIND: KIND_HYDRA, TAG_HYDRA_SWEEP_DIR: sweep_dir}
    a = make_child(client, exp_id, parent_id, sweep_id, name, 0, {"lr": "0.1", "model": "a"}, "FINISHED",
                   tags=hydra, metrics={"loss": 1.0})
    b = make_child(client, exp_id, parent_id, sweep_id, name, 1, {"lr": "0.01", "model": "a"}, "FAILED",
                   tags={**hydra, TAG_ERROR: "RuntimeError: CUDA out of memory"})
    return {"parent_id": parent_id, "finished": a, "failed": b}


CLAIMER = """
import sys, time
from mlflow.tracking import MlflowClient
from mlflow_sweep_plugin.search.controller import claim
claim(MlflowClient(sys.argv[1]), sys.argv[2], "toy", settle_s=0.05)
print("claimed", flush=True)
time.sleep(600)
"""


def claiming_process(tracking_uri: str, parent_id: str) -> subprocess.Popen:
    """A real process that makes itself the sweep's controller and then waits (the caller
    kills it, or asks resume while it lives)."""
    proc = subprocess.Popen([sys.executable, "-c", CLAIMER, tracking_uri, parent_id], stdout=subprocess.PIPE,
                            text=True)
    line = proc.stdout.readline()
    assert line.strip() == "claimed", f"the claiming process said {line!r}"
    return proc


def status_json(sweep_cli, *args) -> list:
    result = sweep_cli("status", "--json", *args).assert_success()
    return json.loads(result.stdout)["sweeps"]


def hydra_study(client, exp_id: str, name: str = "study_app") -> dict:
    """A Hydra search resumed once: session 1 (killed, one run finished, one left RUNNING),
    session 2 (``mlflow_sweep.study`` = session 1's parent) reruns it and runs one more;
    then a separate study of the same name (``hydra.sweeper.resume=false``), one run."""
    from mlflow_sweep_plugin.tags import TAG_STUDY

    spec = parse_search(GRID_CONFIG)
    sessions, runs = [], {}
    for i, study in enumerate((None, 0, "own")):
        parent_id, sweep_id = make_parent(client, exp_id, name, KIND_HYDRA, tags={
            TAG_HYDRA_SWEEP_DIR: f"/multirun/2026-01-0{i + 1}", TAG_HYDRA_OVERRIDES: "lr=0.1,0.01"})
        log_spec(client, parent_id, spec, sweeper="hydra", sweep_name=name, overrides=["lr=0.1,0.01"])
        client.set_tag(parent_id, TAG_STUDY, parent_id if study in (None, "own") else sessions[study][0])
        sessions.append((parent_id, sweep_id))
        time.sleep(0.01)  # distinct start times: session order
    (p1, s1), (p2, s2), (p3, s3) = sessions
    runs["a0"] = make_child(client, exp_id, p1, s1, name, 0, {"lr": "0.1", "layers": "1"}, "FINISHED", seed=0,
                            trial=0, metrics={"val_loss": 0.5})
    runs["a1_old"] = make_child(client, exp_id, p1, s1, name, 1, {"lr": "0.1", "layers": "1"}, "RUNNING", seed=1,
                                trial=0)
    client.set_terminated(p1, "KILLED")
    runs["a1"] = make_child(client, exp_id, p2, s2, name, 1, {"lr": "0.1", "layers": "1"}, "FINISHED", seed=1,
                            trial=0, metrics={"val_loss": 0.7})
    client.set_tag(runs["a1_old"], TAG_SUPERSEDED, runs["a1"])
    client.set_terminated(runs["a1_old"], "KILLED")
    runs["b0"] = make_child(client, exp_id, p2, s2, name, 2, {"lr": "0.01", "layers": "1"}, "FINISHED", seed=0,
                            trial=1, metrics={"val_loss": 0.2})
    client.set_terminated(p2, "FINISHED")
    runs["c0"] = make_child(client, exp_id, p3, s3, name, 0, {"lr": "0.001", "layers": "2"}, "FINISHED", seed=0,
                            trial=0, metrics={"val_loss": 0.9})
    client.set_terminated(p3, "FINISHED")
    return {"sessions": [p1, p2], "other": p3, "runs": runs}
