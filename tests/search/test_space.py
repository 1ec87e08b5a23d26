"""Space -> Optuna distributions, value texts, parsing logged params back."""

import math

import optuna

from mlflow_sweep_plugin.search.space import config_key, distributions, parse_config, space_size, value_text
from mlflow_sweep_plugin.search.spec import parse_search


def space(raw):
    return parse_search({"strategy": "random", "max_trials": 1, "objective": "m", "space": raw}).space


def test_distributions_contain_what_they_should():
    s = space({"lr": {"low": 1e-4, "high": 0.1, "log": True}, "n": {"low": 1, "high": 4},
               "d": {"low": 0.0, "high": 0.5, "step": 0.1}, "opt": ["adam", "sgd"], "fixed": 7})
    dists = distributions(s)
    assert set(dists) == {"lr", "n", "d", "opt"}  # a fixed param is not sampled
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(30):
        trial = study.ask(dists)
        p = trial.params
        assert 1e-4 <= p["lr"] <= 0.1 and isinstance(p["n"], int) and 1 <= p["n"] <= 4
        assert p["opt"] in ("adam", "sgd")
        assert abs(p["d"] / 0.1 - round(p["d"] / 0.1)) < 1e-6
        study.tell(trial, 0.0)


def test_sizes():
    assert space_size(space({"n": {"low": 1, "high": 4}, "o": ["a", "b"], "f": 1})) == 8
    assert space_size(space({"d": {"low": 0.0, "high": 0.5, "step": 0.1}})) == 6
    assert space_size(space({"n": {"low": 0, "high": 10, "step": 5}})) == 3
    assert math.isinf(space_size(space({"x": {"low": 0.0, "high": 1.0}})))


def test_logged_texts_read_back():
    s = space({"lr": {"low": 1e-4, "high": 0.1, "log": True}, "n": {"low": 1, "high": 4},
               "flag": [True, False], "k": [1, 2]})
    config = {"lr": 0.001, "n": 3, "flag": False, "k": 2}
    texts = {k: value_text(v) for k, v in config.items()}
    assert texts == {"lr": "0.001", "n": "3", "flag": "false", "k": "2"}
    assert parse_config(s, texts) == config
    # a float-declared entry point param logs "2.0" for the choice 2; an int one "3" as "3.0"
    assert parse_config(s, {**texts, "k": "2.0", "n": "3.0"}) == config
    assert parse_config(s, {**texts, "k": "5"}) is None
    assert parse_config(s, {"lr": "0.001"}) is None
    assert config_key(config) == config_key(dict(reversed(list(config.items()))))
