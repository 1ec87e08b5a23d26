"""mlflow_sweep_plugin.hydra.record: the sweep's identity through the environment and the
sweep record, and the lock that makes one parent."""

from __future__ import annotations

import os
import threading

import pytest

from mlflow_sweep_plugin.hydra.record import (LOCK, RECORD, identity_env, identity_from_env, read_record,
                                              sweep_lock, write_record)
from mlflow_sweep_plugin.warning_types import SweepWarning

IDENTITY = {"tracking_uri": "sqlite:////s/mlflow.db", "experiment_id": "3", "parent_run_id": "p1",
            "sweep_id": "s1", "sweep_name": "grid", "sweep_dir": "/s/multirun"}


def test_the_environment_carries_the_identity_there_and_back():
    env = identity_env(IDENTITY)
    back = identity_from_env(env)
    assert back == {k: IDENTITY[k] for k in ("tracking_uri", "experiment_id", "parent_run_id", "sweep_id",
                                             "sweep_name")}
    assert identity_from_env({}) is None
    assert identity_from_env({k: v for k, v in env.items() if "PARENT" not in k}) is None


def test_the_record_round_trips_and_keeps_no_credentials(tmp_path):
    write_record(str(tmp_path), IDENTITY, sweeper="basic")
    assert read_record(str(tmp_path)) == dict(IDENTITY, sweeper="basic")
    write_record(str(tmp_path), dict(IDENTITY, tracking_uri="http://u:pw@host"))
    assert "pw" not in (tmp_path / RECORD).read_text()
    assert read_record(str(tmp_path))["tracking_uri"] is None


def test_an_unusable_record_is_none(tmp_path):
    assert read_record(str(tmp_path)) is None
    (tmp_path / RECORD).write_text("parent_run_id: p1\n")  # no sweep id
    assert read_record(str(tmp_path)) is None
    (tmp_path / RECORD).write_text(": : not yaml [")
    assert read_record(str(tmp_path)) is None


def test_a_record_linking_out_of_the_sweep_directory_is_not_read(tmp_path):
    outside = tmp_path / "elsewhere"
    write_record(str(outside), IDENTITY)
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    os.symlink(outside / RECORD, sweep / RECORD)
    with pytest.warns(SweepWarning, match="a link leading out of the sweep directory"):
        assert read_record(str(sweep)) is None


def test_the_lock_is_exclusive(tmp_path):
    order = []
    with sweep_lock(str(tmp_path)):
        thread = threading.Thread(target=lambda: _locked(tmp_path, order))
        thread.start()
        thread.join(0.3)
        order.append("first done")
    thread.join(30)
    assert order == ["first done", "second"]
    assert (tmp_path / LOCK).exists()
    with pytest.raises(TimeoutError, match="held for more than"):
        with sweep_lock(str(tmp_path)):
            with sweep_lock(str(tmp_path), timeout=0.1):
                pass


def _locked(path, order):
    with sweep_lock(str(path)):
        order.append("second")
