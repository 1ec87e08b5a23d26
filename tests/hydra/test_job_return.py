"""A job's return value as metrics, and its record in ``.hydra/job_return.yaml``."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlflow_sweep_plugin.hydra.job_status import (read_job_return, read_returned_metrics, returned_metrics,
                                                  write_job_return)


@pytest.mark.parametrize("value, expected", [
    (0.25, {"return_value": 0.25}),
    (3, {"return_value": 3.0}),
    (np.float32(0.5), {"return_value": 0.5}),
    (np.int64(7), {"return_value": 7.0}),
    ({"loss": 0.1, "acc": 1, "name": "x", "flag": True, "nested": {"a": 1}, "xs": [1, 2]},
     {"return_value/loss": 0.1, "return_value/acc": 1.0}),
    ({"bad key:": 2.0}, {"return_value/bad key_-3A": 2.0}),  # escaped as MLflow accepts it
    (True, {}), (None, {}), ("0.5", {}), ([1.0, 2.0], {}), (object(), {}), ({}, {}),
])
def test_returned_metrics(value, expected):
    assert returned_metrics(value) == expected


def test_returned_metrics_under_another_name_or_none():
    assert returned_metrics({"a": 1}, "objective") == {"objective/a": 1.0}
    assert returned_metrics(1.0, None) == {} and returned_metrics(1.0, "") == {}
    assert math.isnan(returned_metrics(float("nan"))["return_value"])


def test_the_record_keeps_status_and_metrics(tmp_path):
    job = tmp_path / "0"
    write_job_return(str(job), "FINISHED", None, {"return_value": 0.1, "return_value/inf": float("inf")})
    assert read_job_return(str(job)) == ("FINISHED", None)
    assert read_returned_metrics(str(job)) == {"return_value": 0.1, "return_value/inf": float("inf")}
    write_job_return(str(job), "FAILED", "ValueError: x")
    assert read_returned_metrics(str(job)) == {}


def test_a_hand_edited_record_gives_only_what_is_a_number(tmp_path):
    (tmp_path / "0" / ".hydra").mkdir(parents=True)
    (tmp_path / "0" / ".hydra" / "job_return.yaml").write_text(
        "status: FINISHED\nmetrics: {a: 1.5, b: text, c: [1], '': 2, d: true}\n")
    assert read_returned_metrics(str(tmp_path / "0")) == {"a": 1.5}
    (tmp_path / "0" / ".hydra" / "job_return.yaml").write_text("status: FINISHED\nmetrics: [1, 2]\n")
    assert read_returned_metrics(str(tmp_path / "0")) == {}
