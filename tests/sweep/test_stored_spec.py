"""mlflow_sweep_plugin.sweep.stored_spec: a sweep as its parent stores it, read back for
``status`` and ``resume`` — on a real sqlite store."""

from __future__ import annotations

import json

import pytest
from mlflow.utils.mlflow_tags import MLFLOW_PROJECT_ENTRY_POINT, MLFLOW_SOURCE_NAME

from mlflow_sweep_plugin.sweep.stored_spec import extend, read_spec, resume_request, search_spec
from mlflow_sweep_plugin.tags import SPEC_ARTIFACT, TAG_FIXED_PARAMS, TAG_GRID, TAG_STRATEGY, TAG_SWEEP_NAME
from mlflow_sweep_plugin.warning_types import SweepWarning

SPEC = {"strategy": "random", "space": {"lr": {"low": 0.001, "high": 0.1}}, "max_trials": 4,
        "objective": {"metric": "loss", "mode": "min"}, "seeds": {"param": "seed", "values": [0, 1]},
        "project_uri": "/work/proj", "entry_point": "train", "params": {"epochs": 3},
        "env_manager": "virtualenv", "ENV_MANAGER": "ignored"}


@pytest.fixture
def parent(sweep_store):
    client = sweep_store.client
    exp_id = sweep_store.create_experiment("stored")

    def make(tags, spec_text=None):
        run_id = client.create_run(exp_id, tags=tags).info.run_id
        if spec_text is not None:
            client.log_text(run_id, spec_text, SPEC_ARTIFACT)
        return client, client.get_run(run_id)

    return make


def test_a_stored_spec_is_read_parsed_and_resumed(parent):
    client, run = parent({TAG_STRATEGY: "random", TAG_SWEEP_NAME: "lr-search"}, json.dumps(SPEC))
    spec = read_spec(client, run)
    assert spec == SPEC
    assert search_spec(spec).max_trials == 4
    request = resume_request(run, spec)
    assert (request.project_uri, request.entry_point, request.params, request.env_manager) == \
        ("/work/proj", "train", {"epochs": "3"}, "virtualenv")
    assert request.backend_config["resume"] is True and request.backend_config["sweep_name"] == "lr-search"
    assert "ENV_MANAGER" not in request.backend_config and "project_uri" not in request.backend_config
    extended = extend(request, max_trials=8, seeds=[1, 2, 3])
    assert extended.backend_config["max_trials"] == 8
    assert extended.backend_config["seeds"] == {"param": "seed", "values": [0, 1, 2, 3]}
    assert extended.notes == ["max_trials: 4 -> 8", "seeds: 2 value(s) added (2, 3)"]


def test_a_grid_sweep_before_the_spec_is_rebuilt_from_its_tags(parent):
    client, run = parent({TAG_GRID: json.dumps({"lr": ["0.1", "0.2"]}), TAG_FIXED_PARAMS: json.dumps({"a": "1"}),
                          MLFLOW_SOURCE_NAME: "/p", MLFLOW_PROJECT_ENTRY_POINT: "main"})
    spec = read_spec(client, run)
    assert spec == {"grid": {"lr": ["0.1", "0.2"]}, "params": {"a": "1"}}
    request = resume_request(run, spec)
    assert (request.project_uri, request.entry_point, request.params) == ("/p", "main", {"a": "1"})
    assert request.backend_config == {"grid": {"lr": ["0.1", "0.2"]}, "resume": True}
    assert read_spec(*parent({})) is None


def test_an_unusable_spec_is_a_warning_and_no_plan(parent):
    client, run = parent({TAG_STRATEGY: "random"}, "{not json")
    with pytest.warns(SweepWarning, match="is not valid JSON"):
        assert read_spec(client, run) is None
    with pytest.warns(SweepWarning, match="cannot be used here"):
        assert search_spec({"strategy": "annealing"}, "r1") is None
    assert search_spec(None) is None
