"""mlflow_sweep_plugin.export.runs: experiments by name or id, runs page by page in a
stable order, and store failures told as exit codes — on a real sqlite store."""

from __future__ import annotations

import pytest
import requests

from mlflow_sweep_plugin.errors import TrackingUnreachable, UnknownExperiment, UsageError
from mlflow_sweep_plugin.export.runs import iter_runs, resolve_experiments, store_errors


@pytest.fixture
def store(make_sweep, sweep_store):
    make_sweep([{"run_name": f"r{i}", "params": {"i": i}} for i in range(5)], experiment_name="grid-a")
    make_sweep([{"run_name": "other"}], experiment_name="grid-b")
    return sweep_store


def test_experiments_by_name_and_id(store):
    client = store.client
    b = client.get_experiment_by_name("grid-b")
    found = resolve_experiments(client, store.tracking_uri, names=["grid-a"], ids=[b.experiment_id])
    assert [e.name for e in found] == ["grid-a", "grid-b"]


def test_an_unknown_experiment_lists_similar_names(store):
    with pytest.raises(UnknownExperiment, match="unknown experiment.*grid-c.*similar names: .*grid-a"):
        resolve_experiments(store.client, store.tracking_uri, names=["grid-c"])
    with pytest.raises(UnknownExperiment, match="9999"):
        resolve_experiments(store.client, store.tracking_uri, ids=["9999"])


def test_no_experiment_is_a_usage_error(store):
    with pytest.raises(UsageError, match="--experiment-name"):
        resolve_experiments(store.client, store.tracking_uri)


def test_runs_page_by_page_in_start_order(store):
    client = store.client
    exp = client.get_experiment_by_name("grid-a")
    pages = []
    runs = list(iter_runs(client, [exp.experiment_id], page_size=2,
                          on_page=lambda n, last: pages.append((n, last))))
    assert [r.info.run_name for r in runs] == [f"r{i}" for i in range(5)]
    assert pages == [(2, False), (4, False), (5, True)]
    picked = list(iter_runs(client, [exp.experiment_id], filter_string="params.i = '3'"))
    assert [r.info.run_name for r in picked] == ["r3"]


def test_a_bad_filter_and_a_bad_view_are_usage_errors(store):
    exp = store.client.get_experiment_by_name("grid-a")
    with pytest.raises(UsageError, match="invalid --filter"):
        list(iter_runs(store.client, [exp.experiment_id], filter_string="params.i === 3"))
    with pytest.raises(UsageError, match="--run-view"):
        list(iter_runs(store.client, [exp.experiment_id], run_view="some"))


def test_store_errors_tells_unreachable_without_credentials_and_passes_the_rest():
    with pytest.raises(TrackingUnreachable, match=r"http://\*\*\*@host:5000 is unreachable"):
        with store_errors("http://me:pw@host:5000"):
            raise requests.exceptions.ConnectionError("refused")
    with pytest.raises(KeyError):
        with store_errors("http://host"):
            raise KeyError("x")
    with pytest.raises(UsageError):
        with store_errors("http://host"):
            raise UsageError("mine")
