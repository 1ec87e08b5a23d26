"""A warm export (every ended run from the cache) gives exactly what a fresh export
gives, and never a stale row when anything the table shows changed."""

from __future__ import annotations

import json
import os
import sqlite3

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from mlflow_sweep_plugin.export.cache_store import FILENAME
from mlflow_sweep_plugin.export.paths import local_path_of

SUMMARY = {"layer": 0, "energy_contrast_ratio": 0.5, "geometry_fits": {}}


def doc(layer, ecr, **extra):
    return dict(SUMMARY, layer=layer, energy_contrast_ratio=ecr, **extra)


@pytest.fixture
def sweep(make_sweep):
    return make_sweep([
        {"run_name": "a", "params": {"lr": "0.1", "note": "=x"}, "metrics": {"loss": -0.5},
         "artifacts": {"layer_0/cluster_summary.json": doc(0, 0.11),
                       "layer_1/cluster_summary.json": doc(1, 0.12)}},
        {"run_name": "b", "params": {"lr": "-0.5"}, "metrics": {"loss": 0.25},
         "artifacts": {"layer_0/cluster_summary.json": doc(0, 0.21)}},
        {"run_name": "bad", "status": "FAILED",
         "artifacts": {"layer_0/cluster_summary.json": "{not json"}},
        {"run_name": "killed", "status": "KILLED", "artifacts": {}},
    ])


def db():
    return sqlite3.connect(os.path.join(os.environ["MLFLOW_SWEEP_CACHE_DIR"], FILENAME))


def test_a_warm_table_is_exactly_the_fresh_one_and_so_are_its_files(sweep, sweep_exporter, tmp_path):
    fresh = sweep_exporter(cache=False)
    cold = sweep_exporter()
    warm = sweep_exporter()
    again = sweep_exporter()
    assert cold.stats["cache_misses"] == 4
    assert again.stats["cache_hits"] == 4 and again.stats["files_read"] == 0
    for result in (cold, warm, again):
        pd.testing.assert_frame_equal(result.df, fresh.df, check_exact=True)
    # the warning of the malformed file is still told, naming the run and the file
    assert [str(w) for w in again.warnings] == [str(w) for w in fresh.warnings]
    assert sweep.run_ids[2] in str(again.warnings[0]) and "layer_0/cluster_summary.json" in str(again.warnings[0])
    again.df.loc[0, "energy_contrast_ratio"] = 7.0  # a user's frame is theirs to change
    assert sweep_exporter().df.loc[0, "energy_contrast_ratio"] != 7.0

    for name, safe in [("t.csv", False), ("t.parquet", False), ("t.json", False), ("t.jsonl", False),
                       ("safe.csv", True)]:
        want = tmp_path / f"fresh-{name}"
        sweep_exporter(cache=False, output=str(want), spreadsheet_safe=safe)
        first = sweep_exporter(output=str(tmp_path / f"1-{name}"), spreadsheet_safe=safe)
        second = sweep_exporter(output=str(tmp_path / f"2-{name}"), spreadsheet_safe=safe)
        assert second.stats["cache_hits"] == 4, name
        if name.endswith(".parquet"):  # same table; the file's bytes may carry a timestamp
            for got in (first, second):
                pd.testing.assert_frame_equal(pd.read_parquet(got.path), pd.read_parquet(want))
        else:
            assert (tmp_path / f"2-{name}").read_bytes() == want.read_bytes(), name
    text = (tmp_path / "2-t.csv").read_text()
    assert ",=x," in text and "'=x" not in text  # round-trips as logged...
    assert "'=x" in (tmp_path / "2-safe.csv").read_text()  # ...and neutralised only on request
    back = pd.read_csv(tmp_path / "2-t.csv")
    assert back.loc[back["run_name"] == "b", "lr"].tolist() == [-0.5]


def test_anything_the_table_shows_changing_is_seen(sweep, sweep_exporter, sweep_store):
    sweep_exporter()
    assert sweep_exporter().stats["cache_hits"] == 4
    client = MlflowClient(sweep_store.tracking_uri)

    client.log_metric(sweep.run_ids[1], "loss", 0.75)  # a metric logged after the run ended
    after = sweep_exporter()
    assert after.stats["cache_hits"] == 4  # metrics are run columns, not cached rows
    assert after.df.loc[after.df["run_name"] == "b", "metrics.loss"].tolist() == [0.75]

    client.set_tag(sweep.run_ids[0], "mlflow.runName", "renamed")
    renamed = sweep_exporter()  # tags are part of a run's entry key: that run is read again
    assert renamed.stats["cache_misses"] == 1
    assert "renamed" in set(renamed.df["run_name"])

    root = local_path_of(client.get_run(sweep.run_ids[1]).info.artifact_uri)
    os.makedirs(os.path.join(root, "layer_3"))
    with open(os.path.join(root, "layer_3", "cluster_summary.json"), "w") as fh:
        json.dump(doc(3, 0.33), fh)
    grown = sweep_exporter()
    assert grown.stats["cache_misses"] == 1
    assert sorted(grown.df.loc[grown.df["run_name"] == "b", "layer"]) == [0, 3]
    assert sweep_exporter().stats["cache_hits"] == 4

    client.delete_run(sweep.run_ids[3])  # fewer runs: fewer rows
    fewer = sweep_exporter()
    assert fewer.n_runs == 3 and "killed" not in set(fewer.df["run_name"])


def test_a_running_run_is_read_every_time(make_sweep, sweep_exporter, tmp_path):
    make_sweep([{"artifacts": {"layer_0/cluster_summary.json": doc(0, 0.1)}},
                {"status": "RUNNING", "artifacts": {"layer_0/cluster_summary.json": doc(0, 0.2)}}])
    sweep_exporter()
    for _ in range(2):
        result = sweep_exporter(output=str(tmp_path / "t.csv"))
        assert result.stats["cache_hits"] == 1 and result.stats["uncached"] == 1
        assert result.stats["files_read"] == 1
    assert sweep_exporter(refresh=True).stats["cache_misses"] == 1


def test_a_damaged_entry_is_read_again(sweep, sweep_exporter, tmp_path):
    sweep_exporter()
    good = sweep_exporter(output=str(tmp_path / "a.csv"))
    with db() as conn:  # an entry whose rows cannot be decoded: that run is read again
        conn.execute("UPDATE entries SET payload = ? WHERE run_id = ?", (b"not zlib", sweep.run_ids[1]))
    damaged = sweep_exporter()
    assert damaged.stats["cache_misses"] == 1 and damaged.stats["cache_hits"] == 3
    assert damaged.stats["files_read"] == 1
    pd.testing.assert_frame_equal(damaged.df, good.df, check_exact=True)
    assert [str(w) for w in damaged.warnings] == [str(w) for w in good.warnings]
    assert sweep_exporter().stats["cache_hits"] == 4  # stored again
