"""--history METRIC:AGG: per-run aggregates of metric histories, on a real sqlite store."""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pandas as pd
import pytest

from mlflow_sweep_plugin.errors import UsageError
from mlflow_sweep_plugin.export.history import add_history_columns, parse_history_specs, reduce_points
from mlflow_sweep_plugin.warning_types import SweepWarning
from report_test_helpers import last_line

CURVES = {  # opt, seed -> val_loss per step
    ("a", 0): [0.9, 0.5, 0.6, 0.55], ("a", 1): [0.8, 0.45, 0.5, 0.7],
    ("b", 0): [0.9, 0.7, 0.4, 0.41], ("b", 1): [1.0, 0.6, 0.35, 0.36],
}


def test_parse_history_specs():
    assert parse_history_specs(["val_loss:min,argmin", "acc:MAX", "val_loss:min"]) == [
        ("val_loss", "min"), ("val_loss", "argmin"), ("acc", "max")]
    assert parse_history_specs(["train/loss:last"]) == [("train/loss", "last")]
    for bad in ("val_loss", ":min", "val_loss:", "val_loss:median"):
        with pytest.raises(UsageError):
            parse_history_specs([bad])


def test_reduce_points_against_numpy():
    steps = [3, 0, 2, 1, 4, 5]
    values = [0.4, 0.9, 0.3, math.nan, 0.3, 0.8]
    points = [(s, 1000 + s, v) for s, v in zip(steps, values)]
    got = reduce_points(points)
    order = np.argsort(steps)
    v = np.array(values)[order]
    s = np.array(steps)[order]
    ok = ~np.isnan(v)
    assert got["min"] == np.nanmin(v) and got["max"] == np.nanmax(v)
    assert got["mean"] == pytest.approx(np.nanmean(v), rel=1e-15)
    assert got["last"] == v[-1]
    assert got["argmin"] == s[ok][np.argmin(v[ok])] == 2  # the first step of a tie
    assert got["argmax"] == 0
    # two points at one step: the later timestamp is the last one
    assert reduce_points([(1, 5, 1.0), (1, 9, 2.0), (0, 1, 3.0)])["last"] == 2.0
    assert all(math.isnan(x) for x in reduce_points([]).values())


def log_curves(store, curves=CURVES, name="sweep", status="FINISHED"):
    from mlflow.entities import Metric, Param

    client = store.client
    exp = store.create_experiment(name)
    ids = {}
    for (opt, seed), values in curves.items():
        run = client.create_run(exp, run_name=f"{opt}-{seed}")
        rid = run.info.run_id
        now = int(time.time() * 1000)
        client.log_batch(rid, params=[Param("opt", opt), Param("seed", str(seed))],
                         metrics=[Metric("val_loss", v, now + i, i) for i, v in enumerate(values)])
        if status:
            client.set_terminated(rid, status)
        ids[(opt, seed)] = rid
    return ids


def test_history_columns_on_a_real_store(sweep_store, sweep_exporter):
    ids = log_curves(sweep_store)
    df = sweep_exporter().df
    with pytest.warns(SweepWarning, match="no run has a history of metric 'acc'"):
        out = add_history_columns(df, sweep_store.client, ["val_loss:min,argmin,last,mean,max,argmax", "acc:max"],
                                  tracking_uri=sweep_store.tracking_uri)
    for key, rid in ids.items():
        row = out[out.run_id == rid].iloc[0]
        v = np.array(CURVES[key])
        assert row["val_loss.min"] == v.min() and row["val_loss.argmin"] == v.argmin()
        assert row["val_loss.max"] == v.max() and row["val_loss.argmax"] == v.argmax()
        assert row["val_loss.last"] == v[-1] == row["metrics.val_loss"]
        assert row["val_loss.mean"] == pytest.approx(v.mean(), rel=1e-15)
        assert math.isnan(row["acc.max"])


def test_ended_runs_are_cached_running_runs_are_not(sweep_store, sweep_exporter, tmp_path):
    log_curves(sweep_store)
    log_curves(sweep_store, {("c", 0): [2.0, 1.0]}, status=None)  # still RUNNING
    df = sweep_exporter().df
    client = sweep_store.client
    calls = []
    real = client.get_metric_history

    def counting(run_id, key):
        calls.append(run_id)
        return real(run_id, key)

    client.get_metric_history = counting
    first = add_history_columns(df, client, ["val_loss:min"], cache_dir=str(tmp_path))
    assert len(calls) == 5
    calls.clear()
    second = add_history_columns(df, client, ["val_loss:min,argmin"], cache_dir=str(tmp_path))
    assert len(calls) == 1  # only the running run is fetched again
    assert second["val_loss.min"].tolist() == first["val_loss.min"].tolist()
    calls.clear()
    add_history_columns(df, client, ["val_loss:min"], cache_dir=str(tmp_path), refresh=True)
    assert len(calls) == 5
    calls.clear()
    add_history_columns(df, client, ["val_loss:min"], cache=False, cache_dir=str(tmp_path))
    assert len(calls) == 5


class _FarClient:
    """A stand-in for a client of a remote server: histories arrive after a delay."""

    def __init__(self):
        self.threads = set()

    def get_metric_history(self, run_id, key):
        from mlflow.entities import Metric

        self.threads.add(threading.get_ident())
        time.sleep(0.05)
        return [Metric(key, float(i), i, i) for i in range(3)]


def test_remote_stores_fetch_in_a_thread_pool():
    df = pd.DataFrame({"run_id": [f"r{i}" for i in range(16)], "status": "RUNNING"})
    client = _FarClient()
    start = time.monotonic()
    out = add_history_columns(df, client, ["loss:max"], tracking_uri="http://tracking.example:5000",
                              workers=8, cache=False)
    assert (out["loss.max"] == 2.0).all()
    assert len(client.threads) > 1
    assert time.monotonic() - start < 16 * 0.05


def test_history_option_of_the_report_command(sweep_store, report_cli, tmp_path):
    log_curves(sweep_store)
    res = report_cli("--experiment-name", "sweep", "--history", "val_loss:min", "--objective", "val_loss.min",
                     "-o", tmp_path / "r", "--max-plots", "0")
    assert res.exit_code == 0, (res.stderr, res.exception)
    summary = pd.read_csv(tmp_path / "r" / "summary.csv")
    got = summary[summary.metric == "val_loss.min"].set_index("opt")["mean"]
    assert got["a"] == pytest.approx(np.mean([0.5, 0.45])) and got["b"] == pytest.approx(np.mean([0.4, 0.35]))
    # by the last value "a" and "b" compare differently than by their best value
    last = summary[summary.metric == "metrics.val_loss"].set_index("opt")["mean"]
    assert last["a"] == pytest.approx(np.mean([0.55, 0.7]))
    assert "best val_loss.min (min): opt=b" in last_line(res)


def test_export_takes_history_too(sweep_store, make_sweep, sweep_cli, tmp_path):
    from mlflow.tracking import MlflowClient

    sweep = make_sweep(2)
    client = MlflowClient(sweep_store.tracking_uri)
    for i, run_id in enumerate(sweep.run_ids):
        for step, value in enumerate([3.0, 1.0 + i, 2.0]):
            client.log_metric(run_id, "val_loss", value, step=step)
    out = tmp_path / "t.csv"
    sweep_cli("export", "--experiment-name", "sweep", "--tracking-uri", sweep_store.tracking_uri,
              "-o", str(out), "--history", "val_loss:min,argmin").assert_success()
    import pandas as pd

    df = pd.read_csv(out).set_index("run_id")
    assert [df.loc[r, "val_loss.min"] for r in sweep.run_ids] == [1.0, 2.0]
    assert [df.loc[r, "val_loss.argmin"] for r in sweep.run_ids] == [1, 1]
    assert [df.loc[r, "metrics.val_loss"] for r in sweep.run_ids] == [2.0, 2.0]  # the latest
    bad = sweep_cli("export", "--experiment-name", "sweep", "--tracking-uri", sweep_store.tracking_uri,
                    "-o", str(out), "--history", "val_loss")
    assert bad.exit_code == 2 and "METRIC:AGG" in bad.stderr
