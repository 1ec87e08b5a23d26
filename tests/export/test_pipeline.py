"""mlflow_sweep_plugin.export.pipeline: every run, in listing order, into one table;
parents without records and superseded retries left out unless included; a store that
goes away mid-export stops it with exit 3 — on a real sqlite store."""

from __future__ import annotations

import time
import warnings

import pytest
import requests

from mlflow_sweep_plugin.errors import TrackingUnreachable
from mlflow_sweep_plugin.export.parse import RunOutcome
from mlflow_sweep_plugin.export.pipeline import (BREAKER_RUNS, INCLUDABLE, _Breaker, _ordered_map,
                                                 export_runs, left_out)
from mlflow_sweep_plugin.export.session import ReadSession
from mlflow_sweep_plugin.parsers import Parser
from mlflow_sweep_plugin.tags import ROLE_PARENT, TAG_ROLE, TAG_SUPERSEDED
from mlflow_sweep_plugin.warning_types import SweepWarning


def score(content, ctx):
    return {"score": content["score"]}


@pytest.fixture
def runs(make_sweep, sweep_store):
    sweep = make_sweep([
        {"run_name": "parent", "tags": {TAG_ROLE: ROLE_PARENT}},
        {"run_name": "c0", "artifacts": {"s.json": {"score": 1}}},
        {"run_name": "c1-old", "tags": {TAG_SUPERSEDED: "x"}, "artifacts": {"s.json": {"score": 0}}},
        {"run_name": "c1", "artifacts": {"s.json": {"nope": 2}}},
        {"run_name": "c2", "artifacts": {"s.json": {"score": 3}}},
    ])
    client = sweep_store.client
    return [client.get_run(run_id) for run_id in sweep.run_ids]


def _export(runs, **kwargs):
    session = ReadSession([Parser("score", "s.json", score)])
    try:
        return export_runs(iter(runs), session, **kwargs)
    finally:
        session.close()


def test_the_table_in_listing_order_and_what_is_left_out(runs):
    done = []
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        result = _export(runs, progress=done.append)
    assert result.df["run_name"].tolist() == ["c0", "c1", "c2"]
    assert result.df["score"].tolist()[::2] == [1, 3]
    assert result.n_runs == 3 and result.stats["left_out"] == 2
    assert result.stats["files_read"] == 2 and result.stats["uncached"] == 4
    assert done[-1] == len(runs)
    assert [w.run_id for w in result.warnings] == [runs[3].info.run_id]
    assert [w.message for w in seen if isinstance(w.message, SweepWarning)] == result.warnings


def test_include_brings_parents_and_superseded_retries_back(runs):
    result = _export(runs, include=INCLUDABLE)
    assert result.df["run_name"].tolist() == ["parent", "c0", "c1-old", "c1", "c2"]
    assert result.stats["left_out"] == 0


def test_left_out(runs):
    assert left_out(runs[2]) and not left_out(runs[2], include=("superseded",))
    assert not left_out(runs[0])


def test_ordered_map_keeps_the_input_order_whatever_finishes_first():
    def slow_first(i):
        time.sleep(0.02 * (5 - i))
        return i * i

    assert list(_ordered_map(slow_first, range(6), workers=4, window=4)) == [i * i for i in range(6)]
    assert list(_ordered_map(str, range(3), workers=1, window=1)) == ["0", "1", "2"]


class _Run:
    class info:
        artifact_uri = "http://u:pw@artifacts/x"


def _unreachable():
    return RunOutcome(_Run(), [], [], [], read_failed=True, unreachable=True)


def test_the_breaker_stops_the_export_when_the_store_is_gone():
    def probe():
        raise requests.exceptions.ConnectionError("refused")

    breaker = _Breaker(probe, "http://u:pw@tracking")
    for _ in range(BREAKER_RUNS - 1):
        breaker.observe(_unreachable())
    with pytest.raises(TrackingUnreachable, match=r"http://\*\*\*@tracking became unreachable"):
        breaker.observe(_unreachable())


def test_the_breaker_resets_on_a_good_run_and_stops_on_a_dead_artifact_store():
    breaker = _Breaker(lambda: None, "http://tracking")  # the tracking store answers
    for _ in range(BREAKER_RUNS - 1):
        breaker.observe(_unreachable())
    breaker.observe(RunOutcome(_Run(), [], [], []))
    assert breaker.consecutive == 0
    fresh = _Breaker(lambda: None, "http://tracking")
    with pytest.raises(TrackingUnreachable, match=r"artifact store http://\*\*\*@artifacts/x"):
        for _ in range(10):
            fresh.observe(_unreachable())
