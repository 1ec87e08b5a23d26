"""The memoised table (and file) of an export whose every run came from the cache.

A warm export of an unchanged sweep serves the finished DataFrame and the bytes of the
file written last time; these tests hold it to "exactly what a fresh export gives" and
"never when anything the table shows changed".
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import date, datetime, timezone

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from mlflow_sweep_plugin.export import cache_store as cache_mod
from mlflow_sweep_plugin.export.memo import decode_frame, encode_frame
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
    return sqlite3.connect(os.path.join(os.environ["MLFLOW_SWEEP_CACHE_DIR"], cache_mod.FILENAME))


def test_a_served_table_is_exactly_the_fresh_one_and_so_are_its_files(sweep, sweep_exporter, tmp_path):
    fresh = sweep_exporter(cache=False)
    cold = sweep_exporter()
    stored = sweep_exporter()  # every run a hit: the table is memoised now
    served = sweep_exporter()
    assert "table_memo" not in cold.stats
    assert stored.stats["table_memo"] == "stored" and served.stats["table_memo"] == "hit"
    assert served.stats["cache_hits"] == 4 and served.stats["files_read"] == 0
    for result in (cold, stored, served):
        pd.testing.assert_frame_equal(result.df, fresh.df, check_exact=True)
    # the warning of the malformed file is still told, naming the run and the file
    assert [str(w) for w in served.warnings] == [str(w) for w in fresh.warnings]
    assert sweep.run_ids[2] in str(served.warnings[0]) and "layer_0/cluster_summary.json" in str(served.warnings[0])
    served.df.loc[0, "energy_contrast_ratio"] = 7.0  # a user's frame is theirs to change
    assert sweep_exporter().df.loc[0, "energy_contrast_ratio"] != 7.0

    for name, safe in [("t.csv", False), ("t.parquet", False), ("t.json", False), ("t.jsonl", False),
                       ("safe.csv", True)]:
        want = tmp_path / f"fresh-{name}"
        sweep_exporter(cache=False, output=str(want), spreadsheet_safe=safe)
        first = sweep_exporter(output=str(tmp_path / f"1-{name}"), spreadsheet_safe=safe)
        again = sweep_exporter(output=str(tmp_path / f"2-{name}"), spreadsheet_safe=safe)
        assert "output_memo" not in first.stats and again.stats["output_memo"] == "hit", name
        if name.endswith(".parquet"):  # same table; the file's bytes may carry a timestamp
            for got in (first, again):
                pd.testing.assert_frame_equal(pd.read_parquet(got.path), pd.read_parquet(want))
        else:
            assert (tmp_path / f"2-{name}").read_bytes() == want.read_bytes(), name
    text = (tmp_path / "2-t.csv").read_text()
    assert ",=x," in text and "'=x" not in text  # round-trips as logged...
    assert "'=x" in (tmp_path / "2-safe.csv").read_text()  # ...and neutralised only on request
    back = pd.read_csv(tmp_path / "2-t.csv")
    assert back.loc[back["run_name"] == "b", "lr"].tolist() == [-0.5]


def test_anything_the_table_shows_changing_rebuilds_it(sweep, sweep_exporter, sweep_store):
    sweep_exporter()
    assert sweep_exporter().stats["table_memo"] == "stored"
    client = MlflowClient(sweep_store.tracking_uri)

    client.log_metric(sweep.run_ids[1], "loss", 0.75)  # a metric logged after the run ended
    after = sweep_exporter()
    assert after.stats["table_memo"] == "stored" and after.stats["cache_hits"] == 4
    assert after.df.loc[after.df["run_name"] == "b", "metrics.loss"].tolist() == [0.75]

    client.set_tag(sweep.run_ids[0], "mlflow.runName", "renamed")
    renamed = sweep_exporter()  # tags are part of a run's entry key: that run is read again
    assert renamed.stats["cache_misses"] == 1 and "table_memo" not in renamed.stats
    assert "renamed" in set(renamed.df["run_name"])
    assert sweep_exporter().stats["table_memo"] == "stored"

    root = local_path_of(client.get_run(sweep.run_ids[1]).info.artifact_uri)
    os.makedirs(os.path.join(root, "layer_3"))
    with open(os.path.join(root, "layer_3", "cluster_summary.json"), "w") as fh:
        json.dump(doc(3, 0.33), fh)
    grown = sweep_exporter()
    assert grown.stats["cache_misses"] == 1 and "table_memo" not in grown.stats
    assert sorted(grown.df.loc[grown.df["run_name"] == "b", "layer"]) == [0, 3]
    assert sweep_exporter().stats["table_memo"] == "stored"
    assert sweep_exporter().stats["table_memo"] == "hit"

    client.delete_run(sweep.run_ids[3])  # fewer runs: another table
    fewer = sweep_exporter()
    assert fewer.stats["table_memo"] == "stored" and "killed" not in set(fewer.df["run_name"])


def test_a_running_run_or_refresh_means_no_memo(make_sweep, sweep_exporter, tmp_path):
    make_sweep([{"artifacts": {"layer_0/cluster_summary.json": doc(0, 0.1)}},
                {"status": "RUNNING", "artifacts": {"layer_0/cluster_summary.json": doc(0, 0.2)}}])
    for _ in range(3):
        result = sweep_exporter(output=str(tmp_path / "t.csv"))
        assert "table_memo" not in result.stats and "output_memo" not in result.stats
    assert "table_memo" not in sweep_exporter(refresh=True).stats
    with db() as conn:
        assert conn.execute("SELECT count(*) FROM tables").fetchone()[0] == 0


def test_a_damaged_memo_is_rebuilt_and_old_ones_are_dropped(sweep, sweep_exporter, sweep_store, tmp_path):
    sweep_exporter()
    good = sweep_exporter(output=str(tmp_path / "a.csv"))
    with db() as conn:
        conn.execute("UPDATE tables SET frame = ?", (b"MSWF1\n garbage",))
        conn.execute("UPDATE outputs SET data = data")  # untouched: keyed by the table
    again = sweep_exporter(output=str(tmp_path / "b.csv"))
    assert again.stats["table_memo"] == "stored"
    pd.testing.assert_frame_equal(again.df, good.df, check_exact=True)

    with db() as conn:  # an entry whose rows cannot be decoded: that run is read again
        conn.execute("UPDATE entries SET payload = ? WHERE run_id = ?", (b"not zlib", sweep.run_ids[1]))
    damaged = sweep_exporter()
    assert damaged.stats["cache_misses"] == 1 and damaged.stats["cache_hits"] == 3
    assert damaged.stats["files_read"] == 1 and "table_memo" not in damaged.stats
    pd.testing.assert_frame_equal(damaged.df, good.df, check_exact=True)
    assert [str(w) for w in damaged.warnings] == [str(w) for w in good.warnings]
    assert sweep_exporter().stats["table_memo"] == "hit"  # the same rows again: the same table

    client = MlflowClient(sweep_store.tracking_uri)
    for i in range(cache_mod.KEEP_TABLES + 3):  # a new table per export
        client.log_metric(sweep.run_ids[0], "step_metric", float(i))
        sweep_exporter(output=str(tmp_path / "c.csv"))
    with db() as conn:
        assert conn.execute("SELECT count(*) FROM tables").fetchone()[0] == cache_mod.KEEP_TABLES
        orphans = conn.execute("SELECT count(*) FROM outputs WHERE table_key NOT IN "
                               "(SELECT key FROM tables)").fetchone()[0]
        assert orphans == 0


def test_frame_codec_is_exact_for_every_dtype_the_table_uses():
    t0 = datetime(2024, 5, 1, 12, 30, 15, 123000, tzinfo=timezone.utc)
    df = pd.DataFrame({
        "f": pd.Series([0.1, -0.0, float("nan"), float("inf"), 1e-300], dtype="float64"),
        "i": pd.Series([1, None, -(2 ** 63), 2 ** 63 - 1, 0], dtype="Int64"),
        "b": pd.Series([True, None, False, True, None], dtype="boolean"),
        "t": pd.Series(pd.to_datetime([t0, None, t0, t0, None], utc=True), dtype="datetime64[ns, UTC]"),
        "o": pd.Series(["=x", -0.5, None, 2 ** 80, True], dtype="object"),
        "d": pd.Series([datetime(2020, 1, 2, 3, 4, 5), date(2021, 2, 3), "{\"$dt\": 1}", "ü", float("nan")],
                       dtype="object"),
    })
    back = decode_frame(encode_frame(df))
    pd.testing.assert_frame_equal(back, df, check_exact=True)
    for col in ("o", "d"):
        assert [type(v) for v in back[col]] == [type(v) for v in df[col]]
    assert str(back.loc[1, "f"]) == "-0.0" and np.isnan(back.loc[2, "f"])
    back.loc[0, "f"] = 5.0  # a decoded frame is an ordinary, writable one
    assert back.loc[0, "f"] == 5.0

    assert encode_frame(pd.DataFrame({"x": pd.Series(["a", "b"], dtype="category")})) is None
    assert encode_frame(pd.DataFrame({"x": pd.Series([{"a": 1}], dtype="object")})) is None
    assert encode_frame(df.set_index("f")) is None
    assert len(decode_frame(encode_frame(df.iloc[:0].reset_index(drop=True)))) == 0
    for bad in (b"", b"PK\x03\x04", encode_frame(df)[:-3], encode_frame(df) + b"x"):
        with pytest.raises(ValueError):
            decode_frame(bad)
