"""The search config: every bad input is one error naming the key and the allowed values."""

import pytest

from mlflow_sweep_plugin.search.spec import SearchSpecError, parse_search

TPE = {"strategy": "tpe", "max_trials": 5, "space": {"lr": {"low": 1e-4, "high": 0.1, "log": True}},
       "objective": {"metric": "val_loss"}}


def with_(**changes):
    config = dict(TPE)
    for key, value in changes.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    return config


def test_the_issue_example_normalises():
    spec = parse_search({"strategy": "tpe", "max_trials": 40, "max_parallel": 4, "sampler_seed": 0,
                         "space": {"lr": {"low": 1e-4, "high": 1e-1, "log": True},
                                   "layers": {"low": 1, "high": 4},
                                   "dropout": {"low": 0.0, "high": 0.5, "step": 0.1},
                                   "optimizer": ["adam", "sgd"]},
                         "seeds": {"param": "seed", "values": [0, 1, 2]},
                         "objective": {"metric": "val_loss", "mode": "min", "agg": "min"},
                         "early_stop": {"pruner": "median", "min_steps": 5}})
    assert [p.kind for p in spec.space.values()] == ["float", "int", "float", "categorical"]
    assert spec.space["lr"].log and spec.space["dropout"].step == 0.1
    assert spec.seed_values() == (0, 1, 2)
    data = spec.to_dict()
    assert data["space"]["layers"] == {"low": 1, "high": 4}
    assert data["early_stop"] == {"pruner": "median", "min_steps": 5}
    assert parse_search(data).to_dict() == data  # the stored spec reads back the same


def test_grid_is_the_default_and_keeps_its_order():
    spec = parse_search({"grid": {"b": [2, 1], "a": "x"}, "seeds": 3})
    assert spec.strategy == "grid" and list(spec.space) == ["b", "a"]
    assert spec.space["b"].choices == (2, 1) and spec.space["a"].choices == ("x",)
    assert spec.seeds.param == "seed" and spec.seeds.values == (0, 1, 2)
    assert spec.max_trials is None and spec.objective is None


@pytest.mark.parametrize("config, words", [
    (with_(strategy="bayes"), ['"strategy"', "grid, random, tpe, cmaes, gp", '"bayes"']),
    (with_(strategy=None), ['"strategy" is required', "random, tpe"]),
    (with_(space={"lr": {"low": 1.0, "high": 0.1}}), ["space.lr", "low (1.0) > high (0.1)"]),
    (with_(space={"lr": {"low": 0, "high": 1, "log": True}}), ["space.lr", "log scale needs low > 0"]),
    (with_(space={"lr": {"low": 1e-3, "high": 1, "log": True, "step": 0.1}}), ["space.lr", '"log" and "step"']),
    (with_(space={"lr": {"low": 0, "high": 1, "stepp": 1}}), ["space.lr", "stepp", "low, high, log, step"]),
    (with_(space={"lr": {"low": 0}}), ["space.lr", '"low" and "high"']),
    (with_(space={"lr": {"low": "a", "high": 1}}), ["space.lr.low", "finite number"]),
    (with_(space={"lr": {"low": 0, "high": 1, "step": 0}}), ["space.lr.step", "> 0"]),
    (with_(space={"lr": []}), ["space.lr", "has no values"]),
    (with_(space={"lr": [1, None]}), ["space.lr", "not a string, number or boolean"]),
    (with_(space={"lr": [1, 1]}), ["space.lr", "listed twice"]),
    (with_(space={}), ['"space"', "non-empty mapping"]),
    (with_(space=None), ['"space"', "non-empty mapping"]),
    (with_(grid={"a": [1]}), ['"grid" given with strategy "tpe"', '"space"']),
    ({"grid": {"a": {"low": 0, "high": 1}}}, ["grid.a", "list of values"]),
    ({"strategy": "grid", "space": {"a": [1]}}, ['"space" given with strategy "grid"']),
    ({"grid": {}}, ['"grid"', "non-empty mapping"]),
    (with_(max_trials=None), ['"max_trials" is required', "tpe"]),
    (with_(max_trials=0), ['"max_trials"', ">= 1"]),
    (with_(max_trials=True), ['"max_trials"', ">= 1"]),
    (with_(max_runs=-1), ['"max_runs"', ">= 1"]),
    (with_(max_parallel=1.5), ['"max_parallel"', ">= 1"]),
    (with_(seeds={"param": "seed", "values": []}), ['"seeds.values"', "non-empty list"]),
    (with_(seeds={"param": "seed"}), ['"seeds.values"', "non-empty list"]),
    (with_(seeds=0), ['"seeds"', ">= 1"]),
    (with_(seeds=[1, 2]), ['"seeds"', '{"param": NAME, "values": [...]}']),
    (with_(seeds={"param": "lr", "values": [1]}), ['"seeds.param"', "also a swept param"]),
    (with_(seeds={"values": [1, 1]}), ['"seeds.values"', "listed twice"]),
    (with_(seeds={"values": [1.5]}), ['"seeds.values"', "integer or a string"]),
    (with_(objective=None), ['"objective" is required', "tpe"]),
    (with_(objective={"metric": "val_loss", "agg": "median"}), ['"objective.agg"', "last, min, max, mean", '"median"']),
    (with_(objective={"metric": "val_loss", "mode": "lowest"}), ['"objective.mode"', "min, max"]),
    (with_(objective={"metric": ""}), ['"objective.metric"']),
    (with_(objective={"metric": "x", "goal": 1}), ['"objective"', "goal", "metric, mode, agg"]),
    (with_(early_stop={"pruner": "nope"}), ['"early_stop.pruner"', "median, percentile, asha, hyperband"]),
    (with_(early_stop={"pruner": "median", "percentile": 5}), ['"early_stop"', "median", "percentile"]),
    (with_(early_stop={"pruner": "percentile"}), ['"early_stop"', '"percentile"', "[0, 100]"]),
    (with_(early_stop={"pruner": "percentile", "percentile": 120}), ['"early_stop.percentile"', "[0, 100]"]),
    (with_(early_stop={"pruner": "asha", "reduction_factor": 1}), ['"early_stop.reduction_factor"', ">= 2"]),
    (with_(early_stop={"pruner": "median", "min_steps": -1}), ['"early_stop.min_steps"', ">= 0"]),
    ({"grid": {"a": [1]}, "early_stop": {"pruner": "median"}}, ['"early_stop" needs an "objective"']),
    (with_(sampler_seed="zero"), ['"sampler_seed"', ">= 0"]),
    (with_(poll_s=0), ['"poll_s"', "> 0"]),
])
def test_bad_input_is_one_line_naming_the_key(config, words):
    with pytest.raises(SearchSpecError) as info:
        parse_search(config)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_integer_bounds_make_an_integer_param():
    space = parse_search(with_(space={"n": {"low": 1, "high": 9, "step": 2}, "x": {"low": 1, "high": 9.0},
                                      "k": {"low": 1, "high": 64, "log": True}})).space
    assert (space["n"].kind, space["n"].step) == ("int", 2)
    assert space["x"].kind == "float"
    assert (space["k"].kind, space["k"].log) == ("int", True)


def test_a_huge_bad_value_is_previewed_not_dumped():
    with pytest.raises(SearchSpecError) as info:
        parse_search(with_(strategy="x" * 100_000))
    assert len(str(info.value)) < 300
