"""Racing over seeds and the confirmation stage (search/race.py, issue 26), in-process
through the launcher interface: the race decides with the report's best_set, starts a
round's runs as slots free up, is rebuilt from its runs, and the confirmation stage races a
search's top configurations on fresh seeds."""

from __future__ import annotations

import random

import pytest

from mlflow_sweep_plugin.errors import SearchSpecError
from mlflow_sweep_plugin.report.bestset import best_set
from mlflow_sweep_plugin.search.race import STAGE_CONFIRM, Confirmed, Race, make_engine
from mlflow_sweep_plugin.search.spec import parse_search
from mlflow_sweep_plugin.search.study import RunRecord

MEANS = {0: 1.0, 1: 0.0, 2: 3.0, 3: 0.05}  # candidate 1 is the best, 3 is close


def race_spec(**race):
    return parse_search({"grid": {"c": list(MEANS)}, "seeds": 9, "objective": {"metric": "loss"},
                         "race": {"initial": 3, "step": 3, **race}})


def value(c, seed) -> float:
    return MEANS[c] + 0.3 * random.Random(seed).gauss(0, 1) + 0.01 * random.Random(c * 100 + seed).gauss(0, 1)


def drive(engine, parallel=2, stop_after=None):
    """The launcher's loop; returns the proposals in start order."""
    started, running = [], []
    while not engine.done():
        while len(running) < parallel and (p := engine.propose()) is not None:
            started.append(p)
            running.append(p)
        if not running:
            break
        p = running.pop(0)
        engine.record(p.index, "FINISHED", [(0, 0, value(p.config["c"], p.seed))], run_id=f"r{p.index}")
        if stop_after is not None and len(started) >= stop_after:
            return started, running
    return started, running


def test_a_race_keeps_the_best_drops_those_shown_worse_and_reports_each_round():
    spec = race_spec()
    race = make_engine(spec)
    assert isinstance(race, Race)
    started, _ = drive(race)
    report = race.to_json()
    assert report["rounds"][0]["seeds"] == ["0", "1", "2"]
    assert all(p.tags["stage"] == "race" for p in started)
    left = {tuple(c.values()) for c in report["left"]}
    assert (1,) in left and (2,) not in left  # the best survives; 3 units worse is out
    out = {e["config"]["c"]: e for r in report["rounds"] for e in r["eliminated"]}
    assert 2 in out and out[2]["diff"] > 0 and out[2]["p_adjusted"] < 0.05
    # exactly the report's rule on the values of that round
    round0 = {c: {s: value(c, s) for s in range(3)} for c in MEANS}
    rows = {r.config: r for r in best_set(round0, "min", 0.05)}
    first_out = {e["config"]["c"] for e in report["rounds"][0]["eliminated"]}
    assert first_out == {c for c, r in rows.items() if r.test is not None and not r.in_set}
    # seeds are spent only on survivors: fewer runs than every seed on every candidate
    assert len(started) < len(MEANS) * 9
    assert len({p.index for p in started}) == len(started)
    assert race.best_config()[1] == {"c": 1}
    # the candidates left, by the trial their children are tagged with (the report's deciding runs)
    assert report["finished"] is True
    trials = {p.trial: p.config["c"] for p in started}
    assert sorted(trials[t] for t in report["left_trials"]) == sorted(c["c"] for c in report["left"])
    for p in started:  # a round's runs: the round's seeds only
        assert int(p.tags["round"]) * 3 <= p.seed < int(p.tags["round"]) * 3 + 3 or p.tags["round"] == "0"


def test_a_race_is_rebuilt_from_its_runs_and_never_runs_a_pair_twice():
    spec = race_spec()
    first = make_engine(spec)
    started, running = drive(first, stop_after=7)
    records = []
    for p in started:
        done = p not in running
        records.append(RunRecord(run_id=f"r{p.index}", status="FINISHED" if done else "RUNNING",
                                 config_texts={"c": str(p.config["c"])}, index=p.index, trial=p.trial,
                                 seed=str(p.seed), points=[(0, 0, value(p.config["c"], p.seed))] if done else [],
                                 stage="race"))
    again = make_engine(spec, records)
    rest, _ = drive(again)
    pairs = [(p.config["c"], p.seed) for p in started if p not in running] + [(p.config["c"], p.seed) for p in rest]
    assert len(pairs) == len(set(pairs))  # none twice
    redo = {p.index: p.supersedes for p in rest if p.supersedes}
    assert redo == {p.index: f"r{p.index}" for p in running}  # left running: run again, same index
    full = make_engine(spec)
    drive(full)
    assert again.to_json()["left"] == full.to_json()["left"]  # the same decisions


def test_confirmation_races_the_searchs_top_configurations_on_fresh_seeds():
    spec = parse_search({"strategy": "random", "space": {"x": {"low": 0.0, "high": 1.0}}, "max_trials": 6,
                         "sampler_seed": 0, "objective": {"metric": "loss"},
                         "confirm": {"top": 2, "seeds": [100, 101, 102]}})
    engine = make_engine(spec)
    assert isinstance(engine, Confirmed)
    stages, searched = [], {}
    while not engine.done():
        p = engine.propose()
        assert p is not None
        stages.append(p.tags["stage"])
        loss = (p.config["x"] - 0.3) ** 2 + (0.01 * p.seed if p.seed is not None else 0.0)
        if p.tags["stage"] == "search":
            searched[p.config["x"]] = loss
        else:
            assert p.seed in (100, 101, 102) and p.config["x"] in searched
        engine.record(p.index, "FINISHED", [(0, 0, loss)])
    assert stages[:6] == ["search"] * 6 and set(stages[6:]) == {STAGE_CONFIRM} and len(stages) == 6 + 2 * 3
    top2 = sorted(searched, key=searched.get)[:2]
    assert {c["x"] for c in engine.to_json()["left"]} <= set(top2)
    assert engine.best_config()[1]["x"] == top2[0]
    assert engine.to_json()["stage"] == "confirm"


@pytest.mark.parametrize("config, words", [
    ({"strategy": "random", "space": {"x": [1, 2]}, "max_trials": 2, "objective": "l", "seeds": 3,
      "race": {"initial": 1}}, ['"race"', '"confirm"']),
    ({"grid": {"x": [1]}, "objective": "l", "race": {"initial": 1}}, ['"race" needs "seeds"']),
    ({"grid": {"x": [1]}, "objective": "l", "seeds": 2, "race": {"initial": 3}}, ['"race.initial" (3)']),
    ({"grid": {"x": [1]}, "objective": "l", "seeds": 2, "race": {"alpha": 2}}, ['"race.alpha"']),
    ({"grid": {"x": [1]}, "objective": "l", "confirm": {"top": 1, "seeds": [5]}}, ['"confirm"', "search"]),
    ({"strategy": "tpe", "space": {"x": [1, 2]}, "max_trials": 2, "objective": "l", "seeds": {"values": [1, 2]},
      "confirm": {"top": 1, "seeds": [2, 3]}}, ['"confirm.seeds"', "never used"]),
    ({"strategy": "tpe", "space": {"x": [1, 2]}, "max_trials": 2, "objective": "l",
      "confirm": {"top": 0, "seeds": [2]}}, ['"confirm.top"']),
])
def test_bad_race_and_confirm_settings_name_the_key(config, words):
    with pytest.raises(SearchSpecError) as info:
        parse_search(config)
    for word in words:
        assert word in str(info.value)
