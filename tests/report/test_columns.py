"""report.columns: what each column of an export table is (run field, param, capture,
record key, echo, flattened copy, metric) and the small rules the report shares."""

from __future__ import annotations

import math

from mlflow_sweep_plugin.report.columns import (capture_names, group_label, infer_roles, is_numeric_factor,
                                                is_seed_name, value_key)
from report_test_helpers import table


def layered():
    """Three runs with two records each (``layer`` 0/1, told apart by ``k`` too), a record
    field ``config.x`` repeating the param ``x``, and a run metric copying a record field."""
    rows = [{"run": f"r{i}", "params": {"lr": 0.1 * (i % 2), "seed": i, "x": 4},
             "metrics": {"loss": i, "layer_0.energy": i}} for i in range(3)]
    return table(rows, records={i: [{"layer": 0, "energy": float(i), "config.x": 4.0, "k": 1},
                                    {"layer": 1, "energy": 2.0, "config.x": 4.0, "k": 2}] for i in range(3)})


def test_roles_read_back_from_the_table_layout():
    roles = infer_roles(layered(), captures=["layer"])
    assert roles.run_fields == ["run_id", "run_name", "start_time", "end_time", "status"]
    assert roles.params == ["lr", "seed", "x"]
    assert roles.captures == ["layer"] and roles.keys == []
    assert roles.echoes == ["config.x"]  # repeats the param x: not a metric
    assert roles.flattened == ["metrics.layer_0.energy"]  # a copy of the record field energy
    assert roles.metrics == ["metrics.loss", "energy", "k"]
    assert roles.factors == ["lr", "seed", "x", "layer"]


def test_without_captures_a_record_key_tells_records_apart():
    roles = infer_roles(layered())
    assert roles.captures == [] and roles.keys == ["k"]
    assert "layer" in roles.metrics and "k" not in roles.metrics


def test_declared_roles_win():
    roles = infer_roles(layered(), captures=["layer"], declared={"descriptors": ["k"], "seed": ["seed"],
                                                                 "keys": ["no_such_column"]})
    assert roles.descriptors == ["k"] and "k" not in roles.metrics
    assert roles.seed == "seed" and roles.keys == []


def test_is_numeric_factor():
    assert is_numeric_factor(["1", "2.5", "1e-3", 4])
    assert not is_numeric_factor(["1", "inf"])
    assert not is_numeric_factor(["1", "nan"])
    assert not is_numeric_factor(["relu", "1"])
    assert is_numeric_factor([])


def test_seed_names():
    assert all(map(is_seed_name, ["seed", "SEED", "random_seed", "params.seed", "data.seed", "seed_data"]))
    assert not any(map(is_seed_name, ["seeds", "reseed", "data_seed_x", "speed"]))


def test_values_sort_numbers_by_value_then_text_naturally_then_missing():
    values = ["b", None, "10", "a10", 2.5, "a2", math.nan, "2"]
    assert sorted(values, key=value_key)[:6] == ["2", 2.5, "10", "a2", "a10", "b"]
    assert all(v is None or math.isnan(v) for v in sorted(values, key=value_key)[6:])


def test_capture_names_and_group_labels():
    assert capture_names(["runs/{layer}/{learner:path}.json", "{layer}_{k}.csv"]) == ["layer", "learner", "k"]
    assert group_label({"params.seed": 1, "opt": "adam"}, ["opt", "params.seed"]) == "opt=adam, seed=1"
    assert group_label({}, []) == "(all runs)"
