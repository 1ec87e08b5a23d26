"""mlflow_sweep_plugin.search.race_spec: the ``race`` and ``confirm`` keys, checked before
any run, each refusal naming the key and what it takes."""

from __future__ import annotations

import pytest

from mlflow_sweep_plugin.errors import SearchSpecError
from mlflow_sweep_plugin.search.race_spec import DEFAULT_ALPHA, ConfirmSpec, RaceSpec
from mlflow_sweep_plugin.search.spec import parse_search

GRID = {"grid": {"c": [0, 1, 2]}, "seeds": 9, "objective": {"metric": "loss"}}
SEARCH = {"strategy": "random", "space": {"lr": {"low": 0.001, "high": 0.1}}, "max_trials": 5,
          "objective": {"metric": "loss"}}


def test_race_defaults_and_round_trip():
    spec = parse_search(dict(GRID, race={}))
    assert spec.race == RaceSpec(initial=3, step=3, alpha=DEFAULT_ALPHA)
    assert parse_search(dict(GRID, race={"initial": 2, "step": 1, "alpha": 0.1})).race.to_dict() == \
        {"initial": 2, "step": 1, "alpha": 0.1}


def test_confirm_round_trip():
    spec = parse_search(dict(SEARCH, confirm={"top": 2, "seeds": [100, 101]}))
    assert spec.confirm == ConfirmSpec(top=2, seeds=(100, 101))
    assert spec.confirm.to_dict() == {"top": 2, "seeds": [100, 101]}


@pytest.mark.parametrize("config, match", [
    (dict(GRID, race={"rounds": 3}), '"race" must be'),
    (dict(SEARCH, race={}), 'not strategy "random"; after a search use "confirm"'),
    ({"grid": {"c": [0, 1]}, "objective": {"metric": "loss"}, "race": {}}, 'needs "seeds"'),
    (dict(GRID, race={"initial": 0}), '"race.initial" must be an integer >= 1'),
    (dict(GRID, race={"initial": 10}), r'"race.initial" \(10\) is more than the 9 seed values'),
    (dict(GRID, race={"alpha": 1.5}), r'"race.alpha" must be a number in \(0, 1\)'),
    (dict(GRID, race={"step": True}), '"race.step" must be an integer'),
    (dict(SEARCH, confirm=[2]), '"confirm" must be'),
    (dict(GRID, confirm={"top": 1, "seeds": [50]}), 'a grid is raced with "race"'),
    (dict(SEARCH, confirm={"top": 0, "seeds": [50]}), '"confirm.top" must be an integer >= 1'),
    (dict(SEARCH, seeds={"param": "seed", "values": [1, 2]}, confirm={"top": 1, "seeds": [2, 3]}),
     "never used; 2 are in"),
])
def test_unusable_race_or_confirm_is_refused_naming_the_key(config, match):
    with pytest.raises(SearchSpecError, match=match):
        parse_search(config)
