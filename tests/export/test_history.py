"""mlflow_sweep_plugin.export.history: aggregates of metric histories, checked against
an independent computation, on a real sqlite store."""

from __future__ import annotations

import math
import statistics

import pandas as pd
import pytest
from mlflow.entities import Metric

from mlflow_sweep_plugin.errors import UsageError
from mlflow_sweep_plugin.export.history import (AGGS, add_history_columns, is_remote, parse_history_specs,
                                                reduce_points)


def test_specs_parse_to_pairs_once_each():
    assert parse_history_specs(["val_loss:min,ARGMIN", "acc:max", "val_loss:min", "a:b:last"]) == [
        ("val_loss", "min"), ("val_loss", "argmin"), ("acc", "max"), ("a:b", "last")]
    assert parse_history_specs(None) == []


@pytest.mark.parametrize("spec, match", [("val_loss", "expected METRIC:AGG"), (":min", "expected"),
                                         ("x:median", "unknown aggregate 'median'")])
def test_bad_specs_are_usage_errors(spec, match):
    with pytest.raises(UsageError, match=match):
        parse_history_specs([spec])


def test_reduce_points_against_an_independent_computation():
    points = [(2, 20, 0.5), (0, 0, 0.9), (1, 10, 0.3), (3, 30, float("nan")), (4, 40, 0.3)]
    values = [v for _, _, v in points if not math.isnan(v)]
    by_step = sorted((s, v) for s, _, v in points if not math.isnan(v))
    out = reduce_points(points)
    assert out["min"] == min(values) and out["max"] == max(values)
    assert out["mean"] == pytest.approx(statistics.fmean(values))
    assert out["argmin"] == 1.0  # ties keep the lowest step
    assert out["argmax"] == float(max(by_step, key=lambda sv: sv[1])[0])
    assert out["last"] == max(points)[2]  # the point of the highest step
    assert math.isnan(reduce_points(points[:4])["last"])  # ...NaN when that one is NaN
    assert set(out) == set(AGGS)


def test_reduce_points_of_no_history_is_all_nan():
    assert all(math.isnan(v) for v in reduce_points([]).values())


def test_is_remote():
    assert is_remote("http://h") and is_remote("databricks") and not is_remote("sqlite:///x.db")
    assert not is_remote(None)


def test_history_columns_on_a_real_store(make_sweep, sweep_store, tmp_path):
    sweep = make_sweep([{"run_name": "a"}, {"run_name": "b"}])
    client = sweep_store.client
    histories = {sweep.run_ids[0]: [0.9, 0.4, 0.6], sweep.run_ids[1]: [1.0, 0.8]}
    for run_id, values in histories.items():
        client.log_batch(run_id, metrics=[Metric("val_loss", v, 1000 + i, i) for i, v in enumerate(values)])
    df = pd.DataFrame({"run_id": list(histories), "status": ["FINISHED"] * 2, "end_time": ["t"] * 2})
    for _ in range(2):  # the second time from the history cache
        out = add_history_columns(df, client, ["val_loss:min,argmin,last"], cache_dir=str(tmp_path))
        assert out["val_loss.min"].tolist() == [min(v) for v in histories.values()]
        assert out["val_loss.argmin"].tolist() == [1.0, 1.0]
        assert out["val_loss.last"].tolist() == [v[-1] for v in histories.values()]
    assert list(df.columns) == ["run_id", "status", "end_time"]  # the input is not changed
