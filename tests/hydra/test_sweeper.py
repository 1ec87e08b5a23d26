"""``hydra/sweeper=mlflow_sweep``: the search engine behind Hydra's sweeper interface.

The search space is parsed with Hydra's own override parser (checked in process, fast);
the rest are real multiruns of apps written here (a config-group sweep, a structured
config), in subprocesses against a sqlite store, under the basic, joblib and
submitit_local launchers. Each multirun costs seconds: the default suite runs one (a
small search with seeds); the others are ``slow``
(``python -m pytest -m slow tests/hydra/test_sweeper.py``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from hydra_test_helpers import hydra_yaml, multirun, write_app

pytest.importorskip("hydra")

from hydra.errors import OverrideParseException  # noqa: E402

from mlflow_sweep_plugin.hydra.search_space import RETURN_METRIC, engine_config  # noqa: E402
from mlflow_sweep_plugin.search.spec import SearchSpecError, parse_search  # noqa: E402

# -- the search space, parsed with Hydra's parser (in process) -----------------------------


def test_params_in_hydra_grammar_become_the_engines_space():
    config, keys = engine_config(
        {"strategy": "tpe", "max_trials": 5, "objective": {"metric": "loss"},
         "params": {"lr": "tag(log, interval(1e-4, 1e-1))", "layers": "range(1, 5)",
                    "optimizer": "choice(adam, sgd)", "db": "mysql,postgresql", "dropout": "interval(0, 0.5)",
                    "steps": 10}},
        ["+extra=3", "layers=range(2,8,2)"])
    assert config["space"] == {"lr": {"low": 1e-4, "high": 0.1, "log": True},
                               "layers": {"low": 2, "high": 6, "step": 2},  # the command line wins
                               "optimizer": ["adam", "sgd"], "db": ["mysql", "postgresql"],
                               "dropout": {"low": 0.0, "high": 0.5, "log": False},
                               "steps": "10", "extra": "3"}
    assert keys["extra"] == "+extra" and keys["lr"] == "lr"
    spec = parse_search(config)
    assert spec.space["lr"].log and spec.space["layers"].kind == "int" and spec.space["db"].kind == "categorical"


def test_a_grid_takes_comma_lists_and_ranges_as_values():
    config, _ = engine_config({"params": {"db": "mysql,postgresql", "n": "range(1,4)"}}, ["lr=0.1,0.01"])
    assert config["strategy"] == "grid"
    assert config["grid"] == {"db": ["mysql", "postgresql"], "n": [1, 2, 3], "lr": [0.1, 0.01]}
    spec = parse_search(config)
    assert spec.max_trials is None and list(spec.space) == ["db", "n", "lr"]


def test_a_return_objective_reads_the_return_value_metric():
    config, _ = engine_config({"strategy": "random", "max_trials": 2, "objective": {"return": True, "mode": "max"},
                               "params": {"x": "interval(0, 1)"}}, [])
    assert config["objective"] == {"metric": RETURN_METRIC, "mode": "max", "agg": "last"}


@pytest.mark.parametrize("settings, arguments, error, message", [
    ({"params": {"lr": "interval(1,"}}, [], OverrideParseException, "Error parsing override 'lr=interval(1,'"),
    ({"strategy": "tpe", "max_trials": 3, "objective": {"metric": "loss"},
      "params": {"lr": "tag(log, interval(0, 1))"}}, [], SearchSpecError,
     "hydra.sweeper.params.lr: tag(log, interval(0.0, 1.0)) needs a positive interval"),
    ({"strategy": "tpe", "objective": {"metric": "loss"}, "params": {"lr": "interval(0, 1)"}}, [],
     SearchSpecError, '"max_trials" is required with strategy "tpe"'),
    ({"params": {"lr": "interval(0, 1)"}}, [], SearchSpecError, "strategy grid needs values"),
    ({"strategy": "random", "max_trials": 2, "objective": {"return": True, "agg": "min"},
      "params": {"x": "interval(0, 1)"}}, [], SearchSpecError, '"return" takes only "mode"'),
    ({}, [], SearchSpecError, "nothing to sweep"),
    ({"params": {"x": "1,2"}}, ["~y"], SearchSpecError, "a deletion (~y) cannot be swept"),
])
def test_bad_settings_are_one_clear_error(settings, arguments, error, message):
    with pytest.raises(error) as info:
        parse_search(engine_config(settings, arguments)[0])
    assert message in str(info.value)


RACE = {"strategy": "grid", "seeds": {"param": "seed", "values": [0, 1, 2, 3]},
        "objective": {"metric": "loss"}, "params": {"lr": "0.01,0.1", "db": "mysql,postgresql"}}
CONFIRM = {"strategy": "random", "max_trials": 4, "objective": {"metric": "loss"},
           "params": {"lr": "interval(0.001, 0.1)"}}


def test_race_and_confirm_go_to_the_engine():
    """The keys reach the engine as the backend's ``--backend-config`` does: the same
    ``make_engine`` picks a race, or a search then a confirmation."""
    from mlflow_sweep_plugin.search.race import Confirmed, Race, make_engine

    spec = parse_search(engine_config(dict(RACE, race={"initial": 2, "step": 1}), [])[0])
    assert spec.race.initial == 2 and spec.race.step == 1
    assert isinstance(make_engine(spec), Race)
    spec = parse_search(engine_config(dict(CONFIRM, confirm={"top": 2, "seeds": [10, 11, 12]}), [])[0])
    assert spec.confirm.top == 2 and list(spec.confirm.seeds) == [10, 11, 12]
    assert isinstance(make_engine(spec), Confirmed)


@pytest.mark.parametrize("settings, message", [
    (dict(RACE, race={"initial": 2}, strategy="random", max_trials=2), 'races the points of a "grid"'),
    (dict(RACE, race={"initial": 2}, seeds=None), '"race" needs "seeds"'),
    (dict(RACE, race={"initial": 9}), '"race.initial" (9) is more than the 4 seed values'),
    (dict(RACE, race={"initial": 0}), '"race.initial" must be an integer >= 1, got 0'),
    (dict(RACE, race={"initial": 2, "alpha": 2}), '"race.alpha" must be a number in (0, 1)'),
    (dict(RACE, race={"rounds": 2}), '"race" must be {"initial": N, "step": M'),
    (dict(RACE, race={"initial": 2}, early_stop={"pruner": "median"}), '"race" and "early_stop" cannot be combined'),
    (dict(RACE, confirm={"top": 2, "seeds": [7]}), '"confirm" follows a search strategy'),
    (dict(CONFIRM, confirm={"seeds": [7, 8]}), '"confirm.top" must be an integer >= 1'),
    (dict(CONFIRM, confirm={"top": 2, "seeds": [0, 7]}, seeds={"param": "seed", "values": [0, 1]}),
     '"confirm.seeds" must be values the search never used; 0 are in "seeds"'),
    (dict(CONFIRM, confirm={"top": 2, "seeds": [7]}, objective=None), '"objective" is required'),
])
def test_bad_race_and_confirm_settings_are_one_clear_error(settings, message):
    with pytest.raises(SearchSpecError) as info:
        parse_search(engine_config(settings, [])[0])
    assert message in str(info.value)


def test_a_key_that_is_no_setting_is_refused():
    with pytest.raises(SearchSpecError, match="hydra.sweeper: rounds is not a setting of the sweeper"):
        engine_config(dict(RACE, rounds=3), [])


# -- real multiruns ---------------------------------------------------------------------------

CONFIG = """\
defaults:
  - db: mysql
  - override hydra/sweeper: mlflow_sweep
  - _self_
lr: 0.01
layers: 2
seed: 0
steps: 3
sleep: 0.0
ask: false          # report each step through should_stop
returns: loss       # loss | none
""" + hydra_yaml("app") + """      report: false
  sweeper:
    strategy: random
    max_trials: 2
    sampler_seed: 0
    objective: {metric: loss, mode: min, agg: min}
    params:
      lr: tag(log, interval(1e-3, 1e-1))
      db: choice(mysql, postgresql)
"""
CONF_FILES = {"db/mysql.yaml": "penalty: 0.5\n", "db/postgresql.yaml": "penalty: 0.0\n"}

APP = '''\
import math
import time

import hydra
import mlflow

from mlflow_sweep_plugin import should_stop


def loss_of(cfg):
    return (math.log10(cfg.lr) + 2) ** 2 + 0.1 * cfg.layers + cfg.db.penalty + 0.01 * cfg.seed


@hydra.main(config_path="conf", config_name="config", version_base=None)
def main(cfg):
    loss = loss_of(cfg)
    for step in range(cfg.steps):
        value = loss + cfg.steps - step
        if cfg.ask:
            if should_stop(step, value):
                return None
        else:
            mlflow.log_metric("loss", value, step=step)
        time.sleep(cfg.sleep)
    return None if cfg.returns == "none" else loss + 1


if __name__ == "__main__":
    main()
'''

STRUCTURED_APP = '''\
from dataclasses import dataclass, field

import hydra
import mlflow
from hydra.core.config_store import ConfigStore


@dataclass
class Optim:
    lr: float = 0.01
    name: str = "adam"


@dataclass
class Config:
    optim: Optim = field(default_factory=Optim)
    seed: int = 0


ConfigStore.instance().store(name="base", node=Config)


@hydra.main(config_path="conf", config_name="config", version_base=None)
def main(cfg):
    loss = abs(cfg.optim.lr - 0.05) + (cfg.optim.name == "sgd") * 0.1 + cfg.seed * 0.001
    mlflow.log_metric("loss", loss)
    return loss


if __name__ == "__main__":
    main()
'''

STRUCTURED_CONFIG = """\
defaults:
  - base
  - override hydra/sweeper: mlflow_sweep
  - _self_
hydra:
  job: {chdir: true}
  sweep: {dir: multirun, subdir: "${hydra.job.num}"}
  callbacks:
    mlflow_sweep:
      _target_: mlflow_sweep_plugin.hydra.MLflowSweepCallback
      experiment_name: app
      report: false
  sweeper:
    strategy: grid
    max_parallel: 2
    seeds: {param: seed, values: [0, 1]}
    objective: {metric: loss, mode: min}
    params:
      optim.lr: 0.01,0.05
      optim.name: adam
"""


@pytest.fixture
def app(tmp_path):
    return write_app(tmp_path / "app", CONFIG, APP, CONF_FILES)


def _children(client, experiment="app"):
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], max_results=1000) if exp else []
    parents = [r for r in runs if r.data.tags.get("mlflow_sweep.role") == "parent"]
    children = [r for r in runs if r.data.tags.get("mlflow_sweep.role") == "child"]
    return parents, children


def _live(children):
    return [r for r in children if "mlflow_sweep.superseded_by" not in r.data.tags]


def _ok(proc):
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _config_key(run, names=("lr", "db")):
    return tuple(run.data.params.get(n) for n in names)


def test_a_search_with_seeds_under_the_basic_launcher(sweep_store, app, tmp_path):
    """Two configurations x two seeds: four jobs, each child tagged with its trial and
    seed, the best so far on the parent, the spec beside it."""
    out = _ok(multirun(sweep_store, app, tmp_path / "sweep", "hydra.sweeper.seeds={param: seed, values: [0, 1]}"))
    client = sweep_store.client
    parents, children = _children(client)
    assert len(parents) == 1 and len(children) == 4, out
    parent = parents[0]
    assert parent.data.tags["mlflow_sweep.strategy"] == "random"
    by_trial = {}
    for run in children:
        assert run.info.status == "FINISHED"
        by_trial.setdefault(run.data.tags["mlflow_sweep.trial"], []).append(run)
    assert sorted(by_trial) == ["0", "1"]
    for runs in by_trial.values():
        assert sorted(r.data.tags["mlflow_sweep.seed"] for r in runs) == ["0", "1"]
        assert len({_config_key(r) for r in runs}) == 1
    # the engine's value of a configuration: the mean over its seeds of each run's min loss
    values = {t: sum(r.data.metrics["loss"] for r in runs) / 2 for t, runs in by_trial.items()}
    # run.data.metrics holds the last point; the min of this app's history is the last one
    best_trial = min(values, key=values.get)
    best = client.get_metric_history(parent.info.run_id, "mlflow_sweep.best.loss")[-1].value
    assert best == pytest.approx(values[best_trial])
    assert parent.data.tags["mlflow_sweep.best.db"] == by_trial[best_trial][0].data.params["db"]
    assert "best loss=" in out


# -- slow: every strategy, launchers, resume, pruning, the other bad inputs ------------------

STRATEGIES = {
    "grid": ["lr=0.01,0.1", "db=mysql,postgresql"],
    "random": [], "tpe": [], "cmaes": ["db=postgresql"],
}


@pytest.mark.slow
@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_each_strategy(sweep_store, app, tmp_path, strategy):
    proc = multirun(sweep_store, app, tmp_path / "sweep", f"hydra.sweeper.strategy={strategy}",
                    "hydra.sweeper.max_trials=3", *STRATEGIES[strategy])
    out = _ok(proc)
    parents, children = _children(sweep_store.client)
    assert len(children) == 3 and {r.info.status for r in children} == {"FINISHED"}, out
    assert parents[0].data.tags["mlflow_sweep.strategy"] == strategy
    assert len({_config_key(r) for r in children}) == 3  # no configuration twice
    assert "max_trials (3) reached" in out or "every grid point was run" in out


@pytest.mark.slow
def test_a_grid_ends_when_exhausted(sweep_store, app, tmp_path):
    out = _ok(multirun(sweep_store, app, tmp_path / "sweep", "hydra.sweeper.strategy=grid",
                       "hydra.sweeper.max_trials=null", "lr=0.01", "db=mysql,postgresql"))
    assert len(_children(sweep_store.client)[1]) == 2
    assert "every grid point was run (2)" in out


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_a_structured_config_under_a_launcher_of_processes(sweep_store, tmp_path, launcher):
    root = write_app(tmp_path / "app", STRUCTURED_CONFIG, STRUCTURED_APP)
    extra = ["hydra.launcher.n_jobs=2"] if launcher == "joblib" else ["hydra.launcher.timeout_min=5"]
    out = _ok(multirun(sweep_store, root, tmp_path / "sweep", f"hydra/launcher={launcher}", *extra))
    parents, children = _children(sweep_store.client)
    assert len(children) == 4 and {r.info.status for r in children} == {"FINISHED"}, out
    assert {(r.data.params["optim.lr"], r.data.tags["mlflow_sweep.seed"]) for r in children} == \
        {("0.01", "0"), ("0.01", "1"), ("0.05", "0"), ("0.05", "1")}
    assert {r.data.tags["mlflow_sweep.executor"] for r in children} == {launcher}
    assert parents[0].data.tags["mlflow_sweep.best.optim.lr"] == "0.05"


@pytest.mark.slow
def test_a_return_objective_and_a_task_returning_nothing(sweep_store, tmp_path):
    app = write_app(tmp_path / "app", CONFIG.replace("{metric: loss, mode: min, agg: min}", "{return: true}"),
                    APP, CONF_FILES)
    out = _ok(multirun(sweep_store, app, tmp_path / "sweep",
                       "hydra.sweeper.strategy=grid", "db=mysql",
                       "lr=0.01,0.1"))
    children = _children(sweep_store.client)[1]
    assert sorted(r.data.metrics[RETURN_METRIC] for r in children) == pytest.approx([1.5 + 0.2, 2.5 + 0.2])
    assert "best return_value=1.7" in out

    out = _ok(multirun(sweep_store, app, tmp_path / "sweep2",
                       "hydra.sweeper.strategy=grid", "db=postgresql",
                       "lr=0.01,0.1", "returns=none", "hydra.job.name=nothing"))
    assert out.count("the objective is the task's return value, but it returned NoneType") == 2, out
    assert "2 failed" in out


@pytest.mark.slow
def test_resume_after_the_multirun_process_was_killed(sweep_store, app, tmp_path):
    """Killed while its third job runs; the same command in a new sweep directory goes on
    from the children in MLflow: the finished configurations are not run again, the
    killed job's runs again (superseding it), up to max_trials."""
    args = ["hydra.sweeper.strategy=grid", "hydra.sweeper.max_trials=null", "lr=0.01,0.1",
            "db=mysql,postgresql", "sleep=1.0", "steps=2", "hydra.sweeper.resume=true"]
    proc = multirun(sweep_store, app, tmp_path / "sweep1", *args, wait=False)
    client = sweep_store.client
    deadline = time.time() + 240
    try:
        while time.time() < deadline:
            exp = client.get_experiment_by_name("app")
            runs = _children(client)[1] if exp else []
            if sum(r.info.status == "FINISHED" for r in runs) >= 2 and any(r.info.status == "RUNNING" for r in runs):
                break
            time.sleep(0.3)
        else:
            pytest.fail("the first multirun did not get to its third job")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    before = {r.info.run_id: r for r in _children(client)[1]}
    finished_before = {_config_key(r) for r in before.values() if r.info.status == "FINISHED"}
    out = _ok(multirun(sweep_store, app, tmp_path / "sweep2", *args))
    parents, children = _children(client)
    assert len(parents) == 2
    live = _live(children)
    assert sorted(_config_key(r) for r in live) == sorted(set(_config_key(r) for r in live))  # each once
    assert len(live) == 4 and {r.info.status for r in live} == {"FINISHED"}, out
    new = [r for r in live if r.info.run_id not in before]
    assert finished_before.isdisjoint({_config_key(r) for r in new})
    killed = [r for r in children if r.info.run_id in before and before[r.info.run_id].info.status == "RUNNING"]
    assert killed and all(r.data.tags.get("mlflow_sweep.superseded_by") for r in killed)
    assert all(r.info.status == "KILLED" for r in killed)
    # the killed multirun's parent, left RUNNING, ended KILLED by the resumed one (the lock taken over)
    old, new_parent = sorted(parents, key=lambda r: r.info.start_time)
    assert old.info.status == "KILLED" and "was gone when the sweep was resumed" in \
        old.data.tags["mlflow_sweep.error"]
    assert new_parent.info.status == "FINISHED"
    assert new_parent.data.tags["mlflow_sweep.controller.pid"] != old.data.tags["mlflow_sweep.controller.pid"]
    # mlflow-sweep status: the study as one sweep (the newest parent, both sessions' runs),
    # the killed session KILLED, the command that continues
    assert new_parent.data.tags["mlflow_sweep.study"] == old.info.run_id
    proc = subprocess.run([sys.executable, "-m", "mlflow_sweep_plugin", "status", "--sweep", "app", "--json",
                           "--tracking-uri", sweep_store.tracking_uri], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (sweep,) = json.loads(proc.stdout)["sweeps"]
    assert sweep["parent_run_id"] == new_parent.info.run_id and sweep["state"] == "FINISHED"
    assert [(s["run_id"], s["state"]) for s in sweep["sessions"]] == \
        [(old.info.run_id, "KILLED"), (new_parent.info.run_id, "FINISHED")]
    assert sweep["runs"]["finished"] == 4 and sweep["runs"]["missing"] == 0 and sweep["runs"]["killed"] == 0
    assert sweep["controller"]["alive"] is False
    assert sweep["resume_command"].endswith("hydra.sweeper.resume=true")


@pytest.mark.slow
def test_should_stop_prunes_a_job(sweep_store, app, tmp_path):
    """The first configuration runs to its end; the median pruner stops the worse ones
    at their first reported step after it, and should_stop tells the task."""
    out = _ok(multirun(sweep_store, app, tmp_path / "sweep",
                       "hydra.sweeper.strategy=grid", "hydra.sweeper.max_trials=null", "lr=0.01,0.001,0.0001",
                       "db=mysql", "hydra.sweeper.poll_s=0.2",
                       "hydra.sweeper.early_stop={pruner: median, n_startup_trials: 1}",
                       "ask=true", "steps=12", "sleep=0.4"))
    client = sweep_store.client
    parents, children = _children(client)
    by_lr = {r.data.params["lr"]: r for r in children}
    assert "mlflow_sweep.pruned" not in by_lr["0.01"].data.tags
    assert len(client.get_metric_history(by_lr["0.01"].info.run_id, "loss")) == 12
    for lr in ("0.001", "0.0001"):
        run = by_lr[lr]
        assert run.data.tags["mlflow_sweep.pruned"].startswith("step "), out
        assert len(client.get_metric_history(run.info.run_id, "loss")) < 12
    assert parents[0].data.tags["mlflow_sweep.n_pruned"] == "2"


@pytest.mark.slow
@pytest.mark.parametrize("args, message", [
    (["lr=tag(log,interval(0,1))"],
     "hydra.sweeper.params.lr: tag(log, interval(0.0, 1.0)) needs a positive interval"),
    (["hydra.sweeper.params.lr='interval(1,'"], "hydra.sweeper: Error parsing override 'lr=interval(1,'"),
    (["hydra.sweeper.strategy=tpe", "hydra.sweeper.max_trials=null"], '"max_trials" is required with strategy "tpe"'),
    (["hydra.sweeper.strategy=gp"], "strategy"),
    (["~hydra.callbacks.mlflow_sweep"], "add the callback to the app's config"),
])
def test_other_bad_inputs_stop_before_any_job(sweep_store, app, tmp_path, args, message):
    proc = multirun(sweep_store, app, tmp_path / "sweep", *args)
    text = proc.stdout + proc.stderr
    if args == ["hydra.sweeper.strategy=gp"] and proc.returncode == 0:
        pytest.skip("the gp strategy is installed here")
    assert proc.returncode == 1 and message in text, text[-3000:]
    assert "Launching" not in text
    assert _children(sweep_store.client)[1] == []  # the callback's parent only, FAILED


# -- slow: racing, confirmation, one controller per study ------------------------------------

def _race_json(client, parent_id):
    path = client.download_artifacts(parent_id, "mlflow_sweep/race.json")
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


@pytest.mark.slow
@pytest.mark.parametrize("launcher", [
    [], ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "hydra.sweeper.max_parallel=4"],
    ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5", "hydra.sweeper.max_parallel=4"]],
    ids=["basic", "joblib", "submitit_local"])
def test_a_race_over_seeds_finds_the_known_best(sweep_store, app, tmp_path, launcher):
    """Four grid points on the first two of six seeds (round 0); the app's loss differs by
    configuration plus the same seed term, so the three worse are shown worse at once and
    ``lr=0.01, db=postgresql`` wins after 8 jobs: the race's rounds in race.json, the winner
    on the parent, each child tagged with its round and stage (the basic launcher, one job
    at a time; joblib's processes and submitit's local jobs, four handed over at once)."""
    out = _ok(multirun(sweep_store, app, tmp_path / "sweep", *launcher, "hydra.sweeper.strategy=grid",
                       "hydra.sweeper.max_trials=null", "lr=0.01,0.1", "db=mysql,postgresql",
                       "hydra.sweeper.seeds={param: seed, values: [0, 1, 2, 3, 4, 5]}",
                       "hydra.sweeper.race={initial: 2, step: 1}",
                       # the callback's report after the sweeper: it must name the race's winner too
                       "hydra.callbacks.mlflow_sweep.report=true",
                       "+hydra.callbacks.mlflow_sweep.report_objective=metrics.loss",
                       "+hydra.callbacks.mlflow_sweep.report_in_background=false"))
    client = sweep_store.client
    parents, children = _children(client)
    assert len(children) == 8 and {r.info.status for r in children} == {"FINISHED"}, out
    assert {(r.data.tags["mlflow_sweep.race.round"], r.data.tags["mlflow_sweep.stage"]) for r in children} == \
        {("0", "race")}
    assert {r.data.tags["mlflow_sweep.seed"] for r in children} == {"0", "1"}
    assert {r.data.tags["mlflow_sweep.executor"] for r in children} == \
        {launcher[0].split("=")[1] if launcher else "basic"}
    parent = parents[0]
    race = _race_json(client, parent.info.run_id)
    assert race["stage"] == "race" and race["winner"] == {"lr": 0.01, "db": "postgresql"}, race
    assert len(race["rounds"]) == 1 and len(race["rounds"][0]["eliminated"]) == 3
    assert parent.data.tags["mlflow_sweep.decided_by"] == "race"
    assert parent.data.tags["mlflow_sweep.best.lr"] == "0.01"
    assert parent.data.tags["mlflow_sweep.best.db"] == "postgresql"
    assert "the race ended: 1 candidate left after round 0" in out
    # the report decided on the winner's two runs (the candidates the race left)
    assert parent.data.tags["mlflow_sweep.report.objective"] == "metrics.loss"
    path = client.download_artifacts(parent.info.run_id, parent.data.tags["mlflow_sweep.report.path"] + "/best.json")
    with open(path, encoding="utf-8") as fh:
        best = json.load(fh)
    assert best["decided_by"] == "race" and best["decided_on_runs"] == 2
    assert best["best"]["group"] == {"lr": "0.01", "db": "postgresql"}  # the overrides, not config.* copies


@pytest.mark.slow
def test_a_confirmation_after_a_random_search(sweep_store, app, tmp_path):
    """Three random configurations, no seeds; then the top two run on the confirmation's
    three fresh seeds (stage ``confirm``), and the better of them is the sweep's best."""
    out = _ok(multirun(sweep_store, app, tmp_path / "sweep", "hydra.sweeper.max_trials=3",
                       "hydra.sweeper.confirm={top: 2, seeds: [10, 11, 12]}",
                       "hydra.callbacks.mlflow_sweep.report=true",
                       "+hydra.callbacks.mlflow_sweep.report_objective=metrics.loss",
                       "+hydra.callbacks.mlflow_sweep.report_in_background=false"))
    client = sweep_store.client
    parents, children = _children(client)
    assert {r.info.status for r in children} == {"FINISHED"}, out
    stages = {}
    for run in children:
        stages.setdefault(run.data.tags["mlflow_sweep.stage"], []).append(run)
    assert len(stages["search"]) == 3 and len(stages["confirm"]) == 6, out
    assert all("mlflow_sweep.seed" not in r.data.tags for r in stages["search"])
    assert sorted(r.data.tags["mlflow_sweep.seed"] for r in stages["confirm"]) == ["10", "10", "11", "11", "12", "12"]
    search = sorted(stages["search"], key=lambda r: r.data.metrics["loss"])
    top = [_config_key(r) for r in search[:2]]
    assert {_config_key(r) for r in stages["confirm"]} == set(top)
    parent = parents[0]
    assert parent.data.tags["mlflow_sweep.decided_by"] == "confirm"
    assert (parent.data.tags["mlflow_sweep.best.lr"], parent.data.tags["mlflow_sweep.best.db"]) == top[0]
    race = _race_json(client, parent.info.run_id)
    assert race["stage"] == "confirm" and race["finished"]
    # the callback's report, made after the sweeper, decided on the confirm runs of the
    # candidates left and names the same best
    path = client.download_artifacts(parent.info.run_id, parent.data.tags["mlflow_sweep.report.path"] + "/best.json")
    with open(path, encoding="utf-8") as fh:
        best = json.load(fh)
    assert best["decided_by"] == "confirm" and best["decided_on_runs"] == 3 * len(race["left_trials"])
    assert (best["best"]["group"]["lr"], best["best"]["group"]["db"]) == top[0]


@pytest.mark.slow
def test_two_multiruns_of_one_study_at_once(sweep_store, app, tmp_path):
    """While a resumable study runs, the same command in another sweep directory is
    refused before any job, naming the live controller; the first goes on undisturbed."""
    args = ["hydra.sweeper.strategy=grid", "hydra.sweeper.max_trials=null", "lr=0.01,0.1",
            "db=mysql", "sleep=1.0", "steps=3", "hydra.sweeper.resume=true"]
    first = multirun(sweep_store, app, tmp_path / "sweep1", *args, wait=False)
    client = sweep_store.client
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not any(r.info.status == "RUNNING" for r in _children_or_none(client)):
            time.sleep(0.3)
        second = multirun(sweep_store, app, tmp_path / "sweep2", *args)
        text = second.stdout + second.stderr
        assert second.returncode == 1 and "is run by a live controller (host " in text, text[-3000:]
        assert "Launching" not in text
        out, _ = first.communicate(timeout=240)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 0, out[-3000:]
    parents, children = _children(client)
    assert len(children) == 2 and {r.info.status for r in children} == {"FINISHED"}


def _children_or_none(client):
    return _children(client)[1] if client.get_experiment_by_name("app") else []
