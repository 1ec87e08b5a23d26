"""``mlflow run --backend sweep`` with the search engine, for real: every strategy, seeds,
each pruner stopping a real child process early, duplicates and exhaustion, resume after
SIGKILL of the controller (and a second live controller refused with exit 2), the
submitit local executor, a remote ``mlflow server``, and every bad input refused before
anything is created. The toy project is examples/search_project (val_loss at step s =
(x - 0.3)^2 + 0.05 (y - 2)^2 + 0.2 [opt = sgd] + 1 / (s + 1)).

Real ``mlflow run`` processes with real children take tens of seconds on a loaded machine:
those tests are in the ``slow`` group (``python -m pytest -m slow``, run by .ci/run)."""

from __future__ import annotations

import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest
from mlflow.exceptions import ExecutionException

from mlflow_sweep_plugin.backend import SweepBackend
from mlflow_sweep_plugin.testing import artifact_paths
from sweep_test_helpers import mlflow_run

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROJECT = ROOT / "examples" / "search_project"
SPACE = {"x": {"low": 0.0, "high": 1.0}, "y": {"low": 1, "high": 3}, "opt": ["adam", "sgd"]}
OBJECTIVE = {"metric": "val_loss", "mode": "min"}


def _runs(client, sweep_name: str, role: str = "child") -> list:
    exp = client.get_experiment_by_name("grid")
    if exp is None:
        return []
    return client.search_runs(
        [exp.experiment_id],
        f"tags.`mlflow_sweep.role` = '{role}' and tags.`mlflow_sweep.sweep_name` = '{sweep_name}'",
        max_results=1000)


def _current(children) -> list:
    return [c for c in children if "mlflow_sweep.superseded_by" not in c.data.tags]


def _config(child) -> tuple:
    return tuple(child.data.params[k] for k in ("x", "y", "opt"))


# -- bad input: refused before anything is created (in-process, fast) ------------------------
BAD = [
    ({"strategy": "annealing", "space": SPACE, "max_trials": 2, "objective": OBJECTIVE}, '"strategy"'),
    ({"strategy": "random", "space": SPACE, "objective": OBJECTIVE}, '"max_trials"'),
    ({"strategy": "random", "space": {}, "max_trials": 2, "objective": OBJECTIVE}, '"space"'),
    ({"strategy": "random", "space": {"x": {"low": 2, "high": 1}}, "max_trials": 2, "objective": OBJECTIVE},
     "space.x: low (2) > high (1)"),
    ({"strategy": "random", "space": {"x": {"low": 0, "high": 1, "log": True}}, "max_trials": 2,
      "objective": OBJECTIVE}, "space.x: log scale needs low > 0"),
    ({"strategy": "random", "space": SPACE, "max_trials": 2, "objective": OBJECTIVE,
      "seeds": {"param": "seed", "values": []}}, '"seeds.values"'),
    ({"strategy": "random", "space": SPACE, "max_trials": 2, "objective": dict(OBJECTIVE, agg="median")},
     '"objective.agg" must be one of last, min, max, mean'),
    ({"strategy": "random", "space": SPACE, "max_trials": 2, "objective": OBJECTIVE,
      "early_stop": {"pruner": "sometimes"}}, '"early_stop.pruner" must be one of median, percentile, asha'),
    ({"grid": {"x": [0.1]}, "seeds": 0}, '"seeds": a count must be >= 1'),
]


@pytest.mark.parametrize("config, message", BAD, ids=[m[:24] for _, m in BAD])
def test_bad_input_is_refused_before_any_run_or_parent(sweep_store, config, message):
    exp = sweep_store.create_experiment("bad-search")
    with pytest.raises(ExecutionException) as info:
        SweepBackend().run(str(PROJECT), "main", {}, None, config, sweep_store.tracking_uri, exp)
    text = str(info.value)
    assert text.startswith("sweep backend config: ") and message in text and "\n" not in text
    assert sweep_store.client.search_runs([exp]) == []


def test_gp_names_what_to_install_when_it_cannot_run(sweep_store):
    import optuna

    from mlflow_sweep_plugin.search.strategies import _has_gp_sampler

    if _has_gp_sampler():
        pytest.skip(f"Optuna {optuna.__version__} has GPSampler; its install error cannot be shown")
    exp = sweep_store.create_experiment("gp")
    config = {"strategy": "gp", "space": SPACE, "max_trials": 2, "objective": OBJECTIVE}
    with pytest.raises(ExecutionException, match=r'"strategy": "gp" needs optuna>=3.6 .*\[gp\]'):
        SweepBackend().run(str(PROJECT), "main", {}, None, config, sweep_store.tracking_uri, exp)
    assert sweep_store.client.search_runs([exp]) == []


@pytest.mark.slow
def test_bad_input_through_mlflow_run_is_one_line_and_nothing_is_created(sweep_store):
    for config, message in BAD:
        proc = mlflow_run(sweep_store, PROJECT, config)
        assert proc.returncode != 0
        lines = [line for line in proc.stderr.splitlines() if "sweep backend config: " in line]
        assert len(lines) == 1 and message in lines[0], proc.stderr[-2000:]
    exp = sweep_store.client.get_experiment_by_name("grid")
    assert exp is None or sweep_store.client.search_runs([exp.experiment_id]) == []


# -- every strategy, seeds, the spec and the best so far on the parent -----------------------
@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["random", "tpe", "cmaes", "grid"])
def test_each_strategy_runs_its_trials_with_seeds(sweep_store, strategy):
    client = sweep_store.client
    name = f"s-{strategy}"
    if strategy == "grid":
        config = {"grid": {"x": [0.2, 0.9], "opt": ["adam"]}}
    else:
        config = {"strategy": strategy, "space": SPACE, "max_trials": 3, "sampler_seed": 0}
    config.update({"objective": OBJECTIVE, "seeds": {"param": "seed", "values": [0, 1]},
                   "max_parallel": 2, "sweep_name": name, "report": False})
    proc = mlflow_run(sweep_store, PROJECT, config, "steps=2", "noise=0.01")
    assert proc.returncode == 0, proc.stderr[-3000:]
    children = _runs(client, name)
    n_configs = 2 if strategy == "grid" else 3
    assert len(children) == 2 * n_configs
    assert sorted(int(c.data.tags["mlflow_sweep.index"]) for c in children) == list(range(2 * n_configs))
    by_trial: dict = {}
    for child in children:
        assert child.info.status == "FINISHED"
        assert child.data.tags["mlflow_sweep.seed"] == child.data.params["seed"]
        by_trial.setdefault(child.data.tags["mlflow_sweep.trial"], []).append(child)
    assert len(by_trial) == n_configs
    for runs in by_trial.values():  # a configuration runs once per seed value, its runs share the trial
        assert sorted(r.data.params["seed"] for r in runs) == ["0", "1"]
        assert len({(r.data.params["x"], r.data.params["opt"]) for r in runs}) == 1
    if strategy != "grid":  # the space's types: an int range is passed as an int
        assert all(re.fullmatch(r"[123]", c.data.params["y"]) for c in children)
    parent = _runs(client, name, "parent")[0]
    tags = parent.data.tags
    assert parent.info.status == "FINISHED"
    assert tags["mlflow_sweep.strategy"] == strategy and tags["mlflow_sweep.n_pruned"] == "0"
    spec = json.loads(pathlib.Path(client.download_artifacts(parent.info.run_id,
                                                             "mlflow_sweep/sweep.json")).read_text())
    assert spec["strategy"] == strategy and spec["project_uri"] == str(PROJECT)
    assert spec["entry_point"] == "main" and spec["params"] == {"steps": "2", "noise": "0.01"}
    assert spec["seeds"] == {"param": "seed", "values": [0, 1]} and spec["sweep_name"] == name
    # the best so far: the configuration with the lowest mean over its seeds
    means = {t: sum(r.data.metrics["val_loss"] for r in runs) / len(runs) for t, runs in by_trial.items()}
    best = min(means, key=means.get)
    assert parent.data.metrics["mlflow_sweep.best.val_loss"] == pytest.approx(means[best])
    assert tags["mlflow_sweep.best.x"] == by_trial[best][0].data.params["x"]
    assert tags["mlflow_sweep.best.opt"] == by_trial[best][0].data.params["opt"]


# -- early stopping stops real processes ------------------------------------------------------
PRUNERS = {
    "median": {"pruner": "median", "n_startup_trials": 1, "min_steps": 1},
    "percentile": {"pruner": "percentile", "percentile": 25.0, "n_startup_trials": 1, "min_steps": 1},
    "asha": {"pruner": "asha", "min_resource": 1, "reduction_factor": 2},
    "hyperband": {"pruner": "hyperband", "min_resource": 1, "max_resource": 2, "reduction_factor": 3},  # one bracket
}


@pytest.mark.slow
@pytest.mark.parametrize("pruner", list(PRUNERS))
def test_each_pruner_stops_a_real_child_process_early(sweep_store, pruner):
    client = sweep_store.client
    name = f"prune-{pruner}"
    # the good point first (sequentially): the bad ones are worse at every step
    config = {"grid": {"x": [0.3, 3.0, 4.0]}, "objective": OBJECTIVE, "early_stop": PRUNERS[pruner],
              "poll_s": 0.3, "sweep_name": name, "report": False}
    proc = mlflow_run(sweep_store, PROJECT, config, "steps=16", "sleep=0.4")
    assert proc.returncode == 0, proc.stderr[-3000:]  # pruned is not failed
    time.sleep(2)  # a process that was not stopped would go on logging and end its run
    children = {c.data.params["x"]: c for c in _runs(client, name)}
    assert children["0.3"].info.status == "FINISHED"
    pruned = [c for c in children.values() if c.info.status == "KILLED"]
    assert pruned, proc.stderr[-3000:]
    for child in pruned:
        reason = child.data.tags["mlflow_sweep.pruned"]
        assert re.fullmatch(r"step \d+: val_loss=[0-9.]+", reason), reason
        steps = [m.step for m in client.get_metric_history(child.info.run_id, "val_loss")]
        assert max(steps) < 15  # stopped early: it never logged its last steps
        assert "mlflow_sweep.error" not in child.data.tags
    parent = _runs(client, name, "parent")[0]
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["mlflow_sweep.n_pruned"] == str(len(pruned))
    assert parent.data.tags["mlflow_sweep.n_failed"] == "0"


# -- duplicates and exhaustion ------------------------------------------------------------------
@pytest.mark.slow
def test_a_finite_space_is_exhausted_and_no_configuration_runs_twice(sweep_store):
    client = sweep_store.client
    config = {"strategy": "random", "space": {"y": {"low": 1, "high": 2}, "opt": ["adam", "sgd"]},
              "max_trials": 10, "sampler_seed": 3, "objective": OBJECTIVE, "max_parallel": 2,
              "sweep_name": "finite", "report": False}
    proc = mlflow_run(sweep_store, PROJECT, config, "steps=1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "the space is exhausted: all 4 configurations were run" in proc.stderr
    children = _runs(client, "finite")
    configs = [(c.data.params["y"], c.data.params["opt"]) for c in children]
    assert sorted(configs) == [("1", "adam"), ("1", "sgd"), ("2", "adam"), ("2", "sgd")]


# -- resume from the store alone after SIGKILL; one controller per sweep -----------------------
def _start(store, config, *params) -> subprocess.Popen:
    env = dict(os.environ, MLFLOW_TRACKING_URI=store.tracking_uri, MLFLOW_EXPERIMENT_NAME="grid",
               PATH="/usr/bin:/bin")
    cmd = [sys.executable, "-m", "mlflow", "run", str(PROJECT), "--env-manager", "local", "--backend",
           "sweep", "--backend-config", json.dumps(config)]
    for p in params:
        cmd += ["-P", p]
    return subprocess.Popen(cmd, env=env, cwd=store.root, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _wait_for(predicate, timeout: float = 240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError("timed out")


@pytest.mark.slow
def test_resume_after_sigkill_of_the_controller_ends_exactly_max_trials(sweep_store):
    client = sweep_store.client
    config = {"strategy": "random", "space": SPACE, "max_trials": 4, "sampler_seed": 1,
              "objective": OBJECTIVE, "sweep_name": "killed", "report": False, "resume": True}
    first = _start(sweep_store, config, "steps=6", "sleep=0.5")
    try:
        _wait_for(lambda: [c for c in _runs(client, "killed") if c.info.status == "FINISHED"]
                  and [c for c in _runs(client, "killed") if c.info.status == "RUNNING"])
        # a second controller of the live sweep is refused: exit 2, naming host and process
        proc = mlflow_run(sweep_store, PROJECT, config, "steps=6", "sleep=0.5")
        assert proc.returncode == 2, proc.stderr[-3000:]
        line = [x for x in proc.stderr.splitlines() if x.startswith("mlflow-sweep: error: ")]
        assert len(line) == 1 and f"host {socket.gethostname()}, process {first.pid}" in line[0]
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()  # reaped: its pid is gone, so its lock is taken over at once
    before = _runs(client, "killed")
    proc = mlflow_run(sweep_store, PROJECT, config, "steps=6", "sleep=0.5")
    assert proc.returncode == 0, proc.stderr[-3000:]
    current = _current(_runs(client, "killed"))
    assert len(current) == 4 and all(c.info.status == "FINISHED" for c in current)
    assert len({_config(c) for c in current}) == 4  # none twice
    assert len({c.data.tags["mlflow_sweep.trial"] for c in current}) == 4
    assert len({c.data.tags["mlflow_sweep.index"] for c in current}) == 4
    kept = {c.info.run_id for c in before if c.info.status == "FINISHED"}
    assert kept <= {c.info.run_id for c in current}  # what finished is kept
    parents = _runs(client, "killed", "parent")
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@pytest.mark.slow
def test_resume_stops_what_the_killed_controller_left_running(sweep_store):
    """SIGKILL leaves the children running (their runs RUNNING); the resumed sweep stops
    them before it starts, ends their runs KILLED with the reason, and reruns their points."""
    client = sweep_store.client
    config = {"strategy": "random", "space": SPACE, "max_trials": 2, "max_parallel": 2, "sampler_seed": 1,
              "objective": OBJECTIVE, "sweep_name": "orphans", "report": False, "resume": True}
    first = _start(sweep_store, config, "steps=6", "sleep=20")  # two minutes per child
    try:
        left = _wait_for(lambda: (lambda runs: runs if len(runs) == 2 else None)(
            [c for c in _runs(client, "orphans") if c.info.status == "RUNNING" and "mlflow_sweep.process" in c.data.tags]))
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    pids = [json.loads(c.data.tags["mlflow_sweep.process"])["pid"] for c in left]
    try:
        assert all(_alive(p) for p in pids)  # the controller is gone, its children are not
        proc = mlflow_run(sweep_store, PROJECT, config, "steps=2", "sleep=0")
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert not any(_alive(p) for p in pids)
    finally:
        for p in pids:
            if _alive(p):
                os.kill(p, signal.SIGKILL)
    for old in left:
        run = client.get_run(old.info.run_id)
        assert run.info.status == "KILLED"
        assert run.data.tags["mlflow_sweep.error"].startswith("stopped on resume: process ")
        assert "mlflow_sweep.superseded_by" in run.data.tags
    current = _current(_runs(client, "orphans"))
    assert len(current) == 2 and all(c.info.status == "FINISHED" for c in current)


# -- submitit's local executor, and a remote store -----------------------------------------------
@pytest.mark.slow
def test_random_search_as_submitit_jobs(sweep_store, tmp_path):
    pytest.importorskip("submitit")
    client = sweep_store.client
    config = {"strategy": "random", "space": SPACE, "max_trials": 2, "sampler_seed": 0, "max_parallel": 2,
              "objective": OBJECTIVE, "sweep_name": "jobs", "report": False, "executor": "submitit",
              "submitit": {"cluster": "local", "folder": str(tmp_path / "submitit" / "%j")}}
    proc = mlflow_run(sweep_store, PROJECT, config, "steps=2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    children = _runs(client, "jobs")
    assert len(children) == 2 and all(c.info.status == "FINISHED" for c in children)
    assert all(c.data.tags["mlflow_sweep.executor"] == "submitit" for c in children)
    assert _runs(client, "jobs", "parent")[0].data.tags["mlflow_sweep.strategy"] == "random"


@pytest.mark.slow
@pytest.mark.server
def test_tpe_search_on_an_mlflow_server(mlflow_server, tmp_path):
    from mlflow.tracking import MlflowClient

    class Remote:  # what mlflow_run needs of a store
        tracking_uri = mlflow_server.url
        root = tmp_path

    config = {"strategy": "tpe", "space": SPACE, "max_trials": 2, "sampler_seed": 0,
              "objective": OBJECTIVE, "sweep_name": "remote-tpe", "report": False,
              "early_stop": {"pruner": "median", "n_startup_trials": 1}}
    proc = mlflow_run(Remote, PROJECT, config, "steps=2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    client = MlflowClient(mlflow_server.url)
    children = _runs(client, "remote-tpe")
    assert len(children) == 2 and all(c.info.status == "FINISHED" for c in children)
    parent = _runs(client, "remote-tpe", "parent")[0]
    assert "mlflow_sweep.best.val_loss" in parent.data.metrics
    # artifact_paths, not client.list_artifacts: MLflow 2.x resolves mlflow-artifacts:/ against
    # the global tracking URI, not the client's
    assert "mlflow_sweep/sweep.json" in artifact_paths(client, parent.info.run_id, "mlflow_sweep")


# -- racing over seeds and confirmation (issue 26) -------------------------------------------------
def _json_artifact(client, run_id, path) -> dict:
    return json.loads(pathlib.Path(client.download_artifacts(run_id, path)).read_text())


@pytest.mark.slow
def test_a_race_on_a_known_best_eliminates_the_worse_points_early(sweep_store):
    client = sweep_store.client
    config = {"grid": {"x": [2.0, 0.3, 3.0]}, "seeds": {"param": "seed", "values": [0, 1, 2, 3, 4, 5]},
              "race": {"initial": 2, "step": 2, "alpha": 0.05}, "objective": OBJECTIVE,
              "max_parallel": 2, "sweep_name": "race", "report": False}
    proc = mlflow_run(sweep_store, PROJECT, config, "steps=1", "noise=0.05")
    assert proc.returncode == 0, proc.stderr[-3000:]
    children = _runs(client, "race")
    assert len(children) < 3 * 6  # seeds spent on survivors only
    assert all(c.data.tags["mlflow_sweep.stage"] == "race" for c in children)
    rounds = {c.data.tags["mlflow_sweep.race.round"] for c in children}
    assert "0" in rounds
    first = [c for c in children if c.data.tags["mlflow_sweep.race.round"] == "0"]
    assert sorted(c.data.params["seed"] for c in first) == ["0", "0", "0", "1", "1", "1"]
    parent = _runs(client, "race", "parent")[0]
    race = _json_artifact(client, parent.info.run_id, "mlflow_sweep/race.json")
    assert race["winner"] == {"x": "0.3"}
    out = {e["config"]["x"]: e for r in race["rounds"] for e in r["eliminated"]}
    assert set(out) == {"2.0", "3.0"} and all(e["p_adjusted"] < 0.05 and e["diff"] > 0 for e in out.values())
    tags = client.get_run(parent.info.run_id).data.tags
    assert tags["mlflow_sweep.best.x"] == "0.3" and tags["mlflow_sweep.decided_by"] == "race"


@pytest.mark.slow
def test_confirmation_after_random_search_decides_on_fresh_seeds(sweep_store):
    client = sweep_store.client
    config = {"strategy": "random", "space": {"x": {"low": 0.0, "high": 1.0}}, "max_trials": 3,
              "sampler_seed": 0, "objective": OBJECTIVE, "confirm": {"top": 2, "seeds": [100, 101]},
              "max_parallel": 2, "sweep_name": "confirm", "report": False}
    proc = mlflow_run(sweep_store, PROJECT, config, "steps=1", "noise=0.01")
    assert proc.returncode == 0, proc.stderr[-3000:]
    children = _runs(client, "confirm")
    search = [c for c in children if c.data.tags["mlflow_sweep.stage"] == "search"]
    confirm = [c for c in children if c.data.tags["mlflow_sweep.stage"] == "confirm"]
    assert len(search) == 3 and len(confirm) == 4
    assert sorted(c.data.params["seed"] for c in confirm) == ["100", "100", "101", "101"]
    ranked = sorted(search, key=lambda c: c.data.metrics["val_loss"])
    assert {c.data.params["x"] for c in confirm} == {c.data.params["x"] for c in ranked[:2]}
    parent = _runs(client, "confirm", "parent")[0]
    assert parent.data.tags["mlflow_sweep.decided_by"] == "confirm"
    means = {}
    for c in confirm:
        means.setdefault(c.data.params["x"], []).append(c.data.metrics["val_loss"])
    assert parent.data.tags["mlflow_sweep.best.x"] == min(means, key=lambda x: sum(means[x]))
