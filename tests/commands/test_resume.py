"""``mlflow-sweep resume PARENT_RUN_ID`` on a real sqlite store: the request it builds
from the parent's stored spec, the refusals (a live controller, a newer sweep of the same
name, a run that is not a parent), a Hydra sweep's command, and a real ``mlflow run
--backend sweep`` grid continued from its parent alone."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import click
import pytest

from mlflow_sweep_plugin.commands.resume import _seeds, _submitit, resume_command
from mlflow_sweep_plugin.sweep.stored_spec import extend, read_spec, resume_request
from mlflow_sweep_plugin.tags import TAG_SUPERSEDED
from sweep_status_helpers import claiming_process, grid_sweep, hydra_sweep, make_parent
from sweep_test_helpers import mlflow_run, write_project


@pytest.fixture
def grid(sweep_store):
    client = sweep_store.client
    exp = sweep_store.create_experiment("exp")
    return {"client": client, "exp": exp, **grid_sweep(client, exp)}


def test_the_request_comes_from_the_stored_spec(grid):
    parent = grid["client"].get_run(grid["parent_id"])
    request = resume_request(parent, read_spec(grid["client"], parent))
    assert (request.project_uri, request.entry_point, request.params) == ("/nowhere/toy", "main", {"epochs": "3"})
    config = request.backend_config
    assert (config["resume"], config["sweep_name"], config["strategy"]) == (True, "toy:main", "grid")
    assert config["grid"] == {"lr": [0.1, 0.01, 0.001], "layers": [1, 2]}
    assert config["seeds"] == {"param": "seed", "values": [0, 1]}
    assert config["objective"]["metric"] == "val_loss"
    assert not {"project_uri", "entry_point", "params"} & set(config)
    extend(request, seeds=4, max_trials=10, executor="submitit", submitit={"partition": "gpu"})
    assert config["seeds"] == {"param": "seed", "values": [0, 1, 2, 3]}
    assert (config["max_trials"], config["executor"], config["submitit"]) == (10, "submitit", {"partition": "gpu"})
    extend(request, seeds=[3, 7, "x"])
    assert config["seeds"]["values"] == [0, 1, 2, 3, 7, "x"]
    extend(request, executor="local")
    assert "submitit" not in config


def test_refused_while_the_controller_is_alive(grid, sweep_store, sweep_cli):
    proc = claiming_process(sweep_store.tracking_uri, grid["parent_id"])
    try:
        result = sweep_cli("resume", grid["parent_id"])
        assert result.exit_code == 2, result.stderr
        assert f"live controller (host {socket.gethostname()}, process {proc.pid}" in result.stderr
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    # the controller is gone: no longer refused for it (the spec's project is not there here)
    result = sweep_cli("resume", grid["parent_id"])
    assert result.exit_code == 2 and "/nowhere/toy" in result.stderr and "live controller" not in result.stderr


def test_refusals_name_the_problem(grid, sweep_cli):
    assert "no run" in sweep_cli("resume", "f" * 32).stderr
    child = grid["runs"][("0.1", "2", 0)]
    result = sweep_cli("resume", child)
    assert result.exit_code == 2 and "not a sweep's parent" in result.stderr
    newer, _ = make_parent(grid["client"], grid["exp"], "toy:main")
    result = sweep_cli("resume", grid["parent_id"])
    assert result.exit_code == 2 and f"a newer sweep named 'toy:main' exists (parent run {newer})" in result.stderr
    assert sweep_cli("resume", grid["parent_id"], "--seeds", "x").exit_code == 2  # not a count


def test_a_hydra_sweep_gets_its_multirun_command(sweep_store, sweep_cli, tmp_path):
    exp = sweep_store.create_experiment("hydra")
    hydra = hydra_sweep(sweep_store.client, exp, str(tmp_path / "sweep"))
    result = sweep_cli("resume", hydra["parent_id"]).assert_success()
    assert result.stdout.strip() == f"python YOUR_APP.py --multirun lr=0.1,0.01 model=a hydra.sweep.dir={tmp_path / 'sweep'}"


MLPROJECT = """\
name: toy
entry_points:
  main:
    parameters:
      x: {type: float, default: 1.0}
      marker: {type: string, default: none}
    command: "python train.py --x {x} --marker {marker}"
"""

TRAIN = '''\
import argparse
import os

import mlflow

p = argparse.ArgumentParser()
p.add_argument("--x", type=float)
p.add_argument("--marker")
args, _ = p.parse_known_args()
with mlflow.start_run():
    if args.x > 2 and os.path.exists(args.marker):
        raise RuntimeError("x above 2 while the marker file exists")
    mlflow.log_metric("loss", (args.x - 2) ** 2)
'''


@pytest.mark.slow  # two real mlflow run sweeps (child processes): ~80 s on a loaded 2-core machine
def test_a_real_grid_sweep_resumed_from_its_parent_alone(sweep_store, tmp_path):
    """``mlflow run --backend sweep`` where one point fails (the marker file exists), then
    ``mlflow-sweep resume PARENT`` from another directory, the marker gone: only the failed
    point runs again, and the sweep ends FINISHED (exit 0)."""
    project = write_project(tmp_path / "project", MLPROJECT, TRAIN)
    marker = tmp_path / "marker"
    marker.write_text("fail")
    proc = mlflow_run(sweep_store, project, {"grid": {"x": [1, 3]}, "sweep_name": "toy"}, f"marker={marker}")
    assert proc.returncode == 1, proc.stderr[-2000:]
    client = sweep_store.client
    exp = client.get_experiment_by_name("grid").experiment_id
    parent = client.search_runs([exp], "tags.`mlflow_sweep.role` = 'parent'")[0]
    assert parent.info.status == "FAILED"
    marker.unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = dict(os.environ, MLFLOW_TRACKING_URI=sweep_store.tracking_uri, PATH="/usr/bin:/bin")
    resumed = subprocess.run([sys.executable, "-m", "mlflow_sweep_plugin", "resume", parent.info.run_id],
                             capture_output=True, text=True, env=env, cwd=elsewhere, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming sweep 'toy' (parent run {parent.info.run_id})" in resumed.stderr
    children = client.search_runs([exp], "tags.`mlflow_sweep.role` = 'child'")
    live = [r for r in children if TAG_SUPERSEDED not in r.data.tags]
    assert sorted((r.data.params["x"], r.info.status) for r in live) == [("1.0", "FINISHED"), ("3.0", "FINISHED")]
    assert len(children) == 3  # the failed run is kept, superseded
    assert client.get_run(parent.info.run_id).info.status == "FINISHED"


SEEDED_MLPROJECT = """\
name: seeded
entry_points:
  main:
    parameters:
      x: {type: float, default: 1.0}
      seed: {type: int, default: 0}
    command: "python train.py --x {x} --seed {seed}"
"""

SEEDED_TRAIN = '''\
import argparse
import time

import mlflow

p = argparse.ArgumentParser()
p.add_argument("--x", type=float)
p.add_argument("--seed", type=int)
args, _ = p.parse_known_args()
with mlflow.start_run():
    time.sleep(1.0)
    mlflow.log_metric("loss", (args.x - 2) ** 2 + 0.01 * args.seed)
'''


def _live_children(client, exp):
    runs = client.search_runs([exp], "tags.`mlflow_sweep.role` = 'child'", max_results=1000)
    return [r for r in runs if TAG_SUPERSEDED not in r.data.tags]


@pytest.mark.slow  # real sweeps of child processes, a SIGKILLed controller: > 1 min
def test_a_sigkilled_sweep_resumed_from_its_parent_then_with_more_seeds(sweep_store, tmp_path):
    import json
    import time

    project = write_project(tmp_path / "project", SEEDED_MLPROJECT, SEEDED_TRAIN)
    config = {"grid": {"x": [1, 2, 3]}, "seeds": {"param": "seed", "values": [0, 1]},
              "objective": {"metric": "loss", "mode": "min"}, "sweep_name": "killed"}
    env = dict(os.environ, MLFLOW_TRACKING_URI=sweep_store.tracking_uri, MLFLOW_EXPERIMENT_NAME="grid",
               PATH="/usr/bin:/bin")
    controller = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "run", str(project), "--env-manager", "local", "--backend", "sweep",
         "--backend-config", json.dumps(config)], env=env, cwd=sweep_store.root, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = sweep_store.client
    deadline = time.monotonic() + 240
    exp = None
    while time.monotonic() < deadline:
        exp = exp or getattr(client.get_experiment_by_name("grid"), "experiment_id", None)
        if exp and sum(r.info.status == "FINISHED" for r in _live_children(client, exp)) >= 2:
            break
        time.sleep(0.5)
    os.killpg(controller.pid, signal.SIGKILL)  # the controller and its running child, as a lost node
    controller.wait()
    parent = client.search_runs([exp], "tags.`mlflow_sweep.role` = 'parent'")[0]
    from mlflow_sweep_plugin.cli import main
    from click.testing import CliRunner

    shown = json.loads(CliRunner().invoke(main, ["status", "--json", "--parent", parent.info.run_id]).stdout)
    sweep = shown["sweeps"][0]
    assert sweep["state"] == "RUNNING" and sweep["controller"]["alive"] is False
    assert sweep["controller"]["pid"] == controller.pid
    assert sweep["runs"]["finished"] >= 2 and sweep["runs"]["finished"] + sweep["runs"]["missing"] <= 6

    def resume(*extra):
        return subprocess.run([sys.executable, "-m", "mlflow_sweep_plugin", "resume", parent.info.run_id, *extra],
                              capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)

    done = resume()
    assert done.returncode == 0, done.stderr[-3000:]
    live = _live_children(client, exp)
    assert sorted((r.data.params["x"], r.data.params["seed"], r.info.status) for r in live) == [
        (x, s, "FINISHED") for x in ("1.0", "2.0", "3.0") for s in ("0", "1")]
    more = resume("--seeds", "3")
    assert more.returncode == 0, more.stderr[-3000:]
    live = _live_children(client, exp)
    assert len(live) == 9 and all(r.info.status == "FINISHED" for r in live)
    assert client.get_run(parent.info.run_id).info.status == "FINISHED"
    best = json.loads(CliRunner().invoke(main, ["status", "--json", "--parent", parent.info.run_id]).stdout)
    assert best["sweeps"][0]["best"]["params"] == {"x": "2.0"} or best["sweeps"][0]["best"]["params"] == {"x": "2"}
    assert best["sweeps"][0]["best"]["n"] == 3 and best["sweeps"][0]["runs"]["missing"] == 0


@pytest.mark.parametrize("given, seeds", [("6", 6), ("3,4,5", [3, 4, 5]), ("7,", [7]), ("a,b", ["a", "b"]),
                                          ("-1,2", [-1, 2])])
def test_seeds_option_is_a_count_or_a_list(given, seeds):
    assert _seeds(None, None, given) == seeds


@pytest.mark.parametrize("given", ["0", "x", " , "])
def test_seeds_option_refuses_what_is_neither(given):
    with pytest.raises(click.BadParameter):
        _seeds(None, None, given)


def test_submitit_option_is_key_value_pairs():
    assert _submitit(None, None, ("partition=gpu", " time = 60")) == {"partition": "gpu", "time": 60}
    with pytest.raises(click.BadParameter, match="expected KEY=VALUE"):
        _submitit(None, None, ("partition",))
    assert resume_command.name == "resume"
