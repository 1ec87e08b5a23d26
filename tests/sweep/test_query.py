"""mlflow_sweep_plugin.sweep.query: tag searches that find a sweep's runs, on a real store."""

from __future__ import annotations

import pandas as pd
import pytest

from mlflow_sweep_plugin.sweep.query import client_uri, find_runs, quote, tag_filter, without_runs


def test_quote_picks_the_quote_the_value_does_not_hold():
    assert quote("a") == "'a'"
    assert quote("it's") == '"it\'s"'
    assert quote(3) == "'3'"
    with pytest.raises(ValueError, match="both quote characters"):
        quote("""it's "x" """)


def test_find_runs_finds_exactly_the_tagged_runs_across_pages(make_sweep, sweep_store, monkeypatch):
    name = "it's a sweep"
    sweep = make_sweep([{"tags": {"mlflow_sweep.sweep_name": name, "k": str(i % 2)}} for i in range(5)]
                       + [{"tags": {"mlflow_sweep.sweep_name": "other", "k": "0"}}])
    client = sweep_store.client
    found = find_runs(client, sweep.experiment_id, {"mlflow_sweep.sweep_name": name, "k": "0"})
    assert [r.info.run_id for r in found] == [sweep.run_ids[i] for i in (0, 2, 4)]
    assert tag_filter({"a.b": "x", "c": "y"}) == "tags.`a.b` = 'x' and tags.`c` = 'y'"

    original = client.search_runs
    monkeypatch.setattr(client, "search_runs", lambda *a, **k: original(*a, **{**k, "max_results": 2}))
    paged = find_runs(client, sweep.experiment_id, {"mlflow_sweep.sweep_name": name})
    assert [r.info.run_id for r in paged] == sweep.run_ids[:5]


def test_client_uri(sweep_store):
    assert client_uri(sweep_store.client) == sweep_store.tracking_uri
    assert client_uri(object()) is None


def test_without_runs():
    df = pd.DataFrame({"run_id": ["a", "b", "a", "c"], "x": [1, 2, 3, 4]})
    out = without_runs(df, ["a"])
    assert out["run_id"].tolist() == ["b", "c"] and out.index.tolist() == [0, 1]
    empty = pd.DataFrame()
    assert without_runs(empty, ["a"]) is empty
