"""The engine without processes: proposals, seeds, duplicates, exhaustion, budgets,
pruning, resume from records (the store's runs), each strategy."""

import math

import pytest

from mlflow_sweep_plugin.search.engine import Engine
from mlflow_sweep_plugin.search.spec import SearchSpecError, parse_search
from mlflow_sweep_plugin.search.strategies import check_available
from mlflow_sweep_plugin.search.study import RunRecord
from mlflow_sweep_plugin.warning_types import SweepWarning

OBJECTIVE = {"metric": "loss", "mode": "min", "agg": "last"}


def curve(config, seed, steps=5):
    """A toy loss: best at lr = 0.01, a little noise per seed, decreasing over steps."""
    base = (math.log10(config.get("lr", 0.01)) + 2) ** 2 + 0.1 * config.get("n", 0)
    noise = 0.01 * int(seed or 0)
    return [(s, s, base + noise + 1.0 / (s + 1)) for s in range(steps)]


def drive(engine, f=curve, parallel=1, prune=False, stop_after=None):
    """Run the engine to the end (or ``stop_after`` ended runs), ``parallel`` runs in flight;
    the oldest running run ends first. Returns the proposals in start order."""
    started, running, ended = [], [], 0
    while not engine.done():
        while len(running) < parallel and (p := engine.propose()) is not None:
            started.append(p)
            running.append(p)
        if not running:
            break
        if prune:
            for p in running:
                engine.observe(p.index, f(p.config, p.seed)[:2])
            for trial in engine.running_trials():
                reason = engine.should_prune(trial)
                if reason:
                    for index in engine.running_indexes(trial):
                        engine.record(index, "KILLED", f(running[0].config, None)[:2],
                                      run_id=f"run{index}", pruned=reason)
                        running = [r for r in running if r.index != index]
                        ended += 1
            if not running:
                continue
        p = running.pop(0)
        engine.record(p.index, "FINISHED", f(p.config, p.seed), run_id=f"run{p.index}")
        ended += 1
        if stop_after is not None and ended >= stop_after:
            break
    return started


def spec(**config):
    return parse_search(config)


def test_grid_keeps_its_order_and_indexes():
    engine = Engine(spec(grid={"a": [1, 2], "b": ["x", "y"]}))
    started = drive(engine)
    assert [p.params for p in started] == [{"a": "1", "b": "x"}, {"a": "1", "b": "y"},
                                           {"a": "2", "b": "x"}, {"a": "2", "b": "y"}]
    assert [p.index for p in started] == [p.trial for p in started] == [0, 1, 2, 3]
    assert "every grid point" in engine.stop_reason


def test_seeds_run_every_configuration_once_per_seed_and_the_sampler_sees_the_mean():
    engine = Engine(spec(grid={"lr": [0.1, 0.01]}, seeds={"param": "s", "values": [0, 1, 2]},
                         objective=OBJECTIVE))
    started = drive(engine, parallel=2)
    assert [(p.trial, p.params["s"]) for p in started] == [(0, "0"), (0, "1"), (0, "2"),
                                                           (1, "0"), (1, "1"), (1, "2")]
    assert len({p.index for p in started}) == 6
    value, config, trial = engine.best_config()
    assert (config, trial) == ({"lr": 0.01}, 1)
    expected = sum(curve({"lr": 0.01}, s)[-1][2] for s in (0, 1, 2)) / 3
    assert value == pytest.approx(expected)
    trials = engine.study.study.trials
    assert [t.value for t in trials][1] == pytest.approx(expected)  # one trial per configuration


@pytest.mark.parametrize("strategy", ["random", "tpe", "cmaes"])
def test_each_strategy_runs_max_trials_configurations_reproducibly(strategy):
    config = dict(strategy=strategy, max_trials=8, sampler_seed=3, objective=OBJECTIVE,
                  space={"lr": {"low": 1e-4, "high": 1.0, "log": True}, "n": {"low": 0, "high": 3}})
    first = [p.params for p in drive(Engine(spec(**config)), parallel=2)]
    again = [p.params for p in drive(Engine(spec(**config)), parallel=2)]
    assert len(first) == 8 and first == again
    assert len({tuple(sorted(p.items())) for p in first}) == 8


def test_gp_names_the_extra_when_it_cannot_run():
    try:
        check_available("gp")
    except SearchSpecError as exc:
        assert 'pip install "mlflow-sweep-plugin[gp]"' in str(exc)
    else:
        pytest.skip("Optuna's GPSampler and torch are installed")


def test_duplicates_are_not_run_twice_and_a_finite_space_ends_the_sweep():
    engine = Engine(spec(strategy="random", max_trials=50, sampler_seed=0, objective=OBJECTIVE,
                         space={"n": {"low": 0, "high": 2}, "opt": ["a", "b"]}))
    started = drive(engine, parallel=3)
    assert len(started) == 6 and len({tuple(sorted(p.params.items())) for p in started}) == 6
    assert "exhausted" in engine.stop_reason and "6 configurations" in engine.stop_reason
    # every proposal, duplicates included, was told (none left running in the study)
    assert all(t.state.is_finished() for t in engine.study.study.trials)
    assert len(engine.study.study.trials) >= 6


def test_max_runs_caps_runs_seeds_included():
    engine = Engine(spec(strategy="random", max_trials=10, max_runs=5, seeds=2, objective=OBJECTIVE,
                         space={"lr": {"low": 1e-3, "high": 1.0}}))
    assert len(drive(engine)) == 5
    assert "max_runs (5)" in engine.stop_reason


def test_a_metric_never_logged_fails_the_configuration_with_a_warning():
    engine = Engine(spec(grid={"lr": [0.1, 0.01]}, objective=OBJECTIVE))
    first = engine.propose()
    with pytest.warns(SweepWarning, match=r"run run0: objective metric 'loss' was never logged"):
        engine.record(first.index, "FINISHED", [], run_id="run0")
    second = engine.propose()
    engine.record(second.index, "FINISHED", curve(second.config, None), run_id="run1")
    assert engine.counts()["failed"] == 1 and engine.best_config()[1] == {"lr": 0.01}
    assert engine.propose() is None and engine.done()


def bad_curve(config, seed, steps=5):
    """Configurations with lr > 0.1 are clearly worse from the first step on."""
    return [(s, s, (10.0 if config["lr"] > 0.1 else 1.0) - 0.01 * s) for s in range(steps)]


@pytest.mark.parametrize("early_stop", [{"pruner": "median", "n_startup_trials": 2},
                                        {"pruner": "percentile", "percentile": 50.0, "n_startup_trials": 2},
                                        {"pruner": "asha", "min_resource": 1, "reduction_factor": 2},
                                        {"pruner": "hyperband", "min_resource": 1, "max_resource": 4}])
def test_pruning_stops_bad_configurations_with_all_their_seeds(early_stop):
    engine = Engine(spec(grid={"lr": [0.01, 0.02, 0.03, 0.5, 0.6, 0.7]}, seeds=2, objective=OBJECTIVE,
                         early_stop=early_stop))
    started = drive(engine, f=bad_curve, parallel=2, prune=True)
    counts = engine.counts()
    assert counts["pruned"] >= 1 and counts["complete"] >= 2
    pruned = [c for c in engine.configs.values() if c.state == "pruned"]
    assert all(c.values["lr"] > 0.1 for c in pruned)
    for config in pruned:  # no seed of a pruned configuration was started after its pruning
        assert all(r.status in ("KILLED", None) or r.status == "FINISHED" for r in config.runs.values())
    assert engine.best_config()[1]["lr"] < 0.1 and len(started) <= 12


def records_of(engine, finished_ids=None):
    """What the store would hold: one record per started run, as the engine saw it."""
    out = []
    for config in engine.configs.values():
        for seed, run in config.runs.items():
            if run.status is None:
                continue
            points = curve(config.values, run.seed) if run.status == "FINISHED" else []
            out.append(RunRecord(run_id=run.run_id or f"run{run.index}", status=run.status,
                                 config_texts={k: str(v) for k, v in config.values.items()},
                                 index=run.index, trial=config.trial, seed=seed, pruned=run.pruned,
                                 points=points))
    return out


def test_resume_reruns_failed_and_abandoned_runs_and_ends_at_max_trials():
    config = dict(strategy="tpe", max_trials=6, sampler_seed=1, seeds=2, objective=OBJECTIVE,
                  space={"lr": {"low": 1e-4, "high": 1.0, "log": True}})
    first = Engine(spec(**config))
    drive(first, stop_after=5)
    records = records_of(first)
    running = first.propose()  # started, then the controller died: RUNNING in the store
    records.append(RunRecord(run_id="dead", status="RUNNING", index=running.index, trial=running.trial,
                             seed=str(running.seed),
                             config_texts={k: str(v) for k, v in running.config.items()}))
    records[0].status, records[0].points = "FAILED", []
    resumed = Engine(spec(**config), records)
    started = drive(resumed)
    redo = [p for p in started if p.supersedes]
    assert sorted(p.supersedes for p in redo) == sorted(["dead", records[0].run_id])
    assert {p.index for p in redo} == {running.index, records[0].index}  # they keep their index
    assert len(resumed.configs) == 6 and resumed.counts()["complete"] == 6
    done_before = {(r.trial, r.seed) for r in records if r.status == "FINISHED"}
    assert not done_before & {(p.trial, str(p.seed)) for p in started}  # nothing finished ran twice
    indexes = [r.index for r in records if r.status == "FINISHED"] + [p.index for p in started]
    assert len(indexes) == len(set(indexes))


def test_resume_with_more_seeds_and_trials_extends_without_rerunning():
    base = dict(grid={"lr": [0.1, 0.01, 0.001]}, objective=OBJECTIVE, max_trials=2, seeds=1)
    first = Engine(spec(**base))
    drive(first)
    records = records_of(first)
    resumed = Engine(spec(**{**base, "max_trials": 3, "seeds": 2}), records)
    started = drive(resumed)
    assert sorted((p.trial, p.seed) for p in started) == [(0, 1), (1, 1), (2, 0), (2, 1)]
    assert resumed.best_config()[1] == {"lr": 0.01}


@pytest.mark.parametrize("pruner", [{"pruner": "asha", "min_resource": 1, "reduction_factor": 2},
                                    {"pruner": "median", "n_startup_trials": 1}])
def test_resume_tells_pruned_configurations_with_their_steps(pruner):
    base = dict(grid={"lr": [0.01, 0.02, 0.5, 0.6]}, objective=OBJECTIVE, early_stop=pruner)
    first = Engine(spec(**base))
    drive(first, f=bad_curve, prune=True)
    records = records_of(first)
    for record in records:
        if record.pruned:
            record.points = bad_curve({"lr": 0.5}, None)[:2]
    resumed = Engine(spec(**base), records)
    assert resumed.propose() is None and resumed.done()
    states = {t.state.name for t in resumed.study.study.trials}
    assert states <= {"COMPLETE", "PRUNED"} and resumed.counts() ["configurations"] == 4


@pytest.mark.parametrize("strategy, exact", [("random", True), ("cmaes", True), ("tpe", False)])
def test_a_resumed_search_continues_from_the_store_as_if_uninterrupted(strategy, exact):
    """Rebuilt from the runs, each configuration is asked and told again through the
    sampler in the order it ran, so CMA-ES's distribution and the random sampler's draws
    are what an uninterrupted sweep has: the same proposals after the resume. TPE keeps
    the same history (its model) but not its draws: new, distinct proposals."""
    config = dict(strategy=strategy, max_trials=16, sampler_seed=3, objective=OBJECTIVE,
                  space={"lr": {"low": 1e-4, "high": 1.0, "log": True}, "n": {"low": 0, "high": 3},
                         "x": {"low": 0.0, "high": 1.0}})
    uninterrupted = [p.params for p in drive(Engine(spec(**config)))]
    first = Engine(spec(**config))
    before = [p.params for p in drive(first, stop_after=8)]
    resumed = Engine(spec(**config), records_of(first))
    after = [p.params for p in drive(resumed)]
    assert before == uninterrupted[:8] and len(after) == 8
    if exact:
        assert after == uninterrupted[8:]
    assert len({tuple(sorted(p.items())) for p in before + after}) == 16
    assert resumed.counts()["complete"] == 16
