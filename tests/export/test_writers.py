"""Writers: exact round trips, spreadsheet-safe opt-in, atomic replacement."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from mlflow_sweep_plugin.export import writers
from mlflow_sweep_plugin.export.table import TableBuilder, natural_key


def _frame():
    return pd.DataFrame({
        "p": pd.Series(["-0.5", "=x", "@SUM(A1)", "+1", None], dtype="object"),
        "f": [0.1 + 0.2, -0.5, math.nan, 1e-300, 123456789.123456789],
        "i": pd.Series([1, None, 3, 2**53 + 1, 0], dtype="Int64"),
        "ts": pd.to_datetime([1_700_000_000_000] * 5, unit="ms", utc=True),
    })


@pytest.mark.parametrize("ext", ["csv", "json", "jsonl", "parquet"])
def test_round_trip_exact(tmp_path, ext):
    df = _frame()
    path = tmp_path / f"t.{ext}"
    assert writers.write_table(df, str(path)) == ext
    if ext == "csv":
        # written with repr precision; pandas < 3 needs round_trip to parse it exactly
        assert "0.30000000000000004" in path.read_text()
        back = pd.read_csv(path, dtype={"p": str}, float_precision="round_trip")
        assert back["p"].tolist()[:4] == ["-0.5", "=x", "@SUM(A1)", "+1"]
        assert back["f"].tolist()[0] == 0.1 + 0.2 and back["f"].tolist()[4] == 123456789.123456789
        assert back["ts"][0] == "2023-11-14T22:13:20.000+00:00"
        assert "1,\n" not in path.read_text() and "9007199254740993" in path.read_text()
    elif ext == "parquet":
        back = pd.read_parquet(path)
        assert back["p"].tolist()[:4] == ["-0.5", "=x", "@SUM(A1)", "+1"]
        assert back["i"].tolist()[3] == 2**53 + 1 and str(back["i"].dtype) == "Int64"
        assert math.isnan(back["f"][2]) and back["f"][0] == 0.1 + 0.2
        assert str(back["ts"].dtype).startswith("datetime64")
    else:
        text = path.read_text()
        recs = json.loads(text) if ext == "json" else [json.loads(x) for x in text.splitlines()]
        assert [r["p"] for r in recs] == ["-0.5", "=x", "@SUM(A1)", "+1", None]
        assert recs[0]["f"] == 0.1 + 0.2 and recs[2]["f"] is None and recs[1]["i"] is None
        assert recs[3]["i"] == 2**53 + 1


def test_spreadsheet_safe_is_opt_in(tmp_path):
    path = tmp_path / "s.csv"
    writers.write_table(_frame(), str(path), spreadsheet_safe=True)
    back = pd.read_csv(path, dtype={"p": str})
    assert back["p"].tolist()[:4] == ["-0.5", "'=x", "'@SUM(A1)", "+1"]  # numbers stay numbers


def test_failed_write_leaves_previous_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "keep.csv"
    path.write_text("old\n")

    def boom(df, p):
        with open(p, "w") as fh:
            fh.write("partial")
        raise KeyboardInterrupt

    monkeypatch.setitem(writers.__dict__, "_write_csv", boom)
    with pytest.raises(KeyboardInterrupt):
        writers.write_table(_frame(), str(path))
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.csv"]


KILLED_MID_WRITE = r"""
import os, signal, sys
import pandas as pd
from mlflow_sweep_plugin.export import writers

def killed(df, path):
    with open(path, "w") as fh:
        fh.write("partial,")
        fh.flush()
    os.kill(os.getpid(), signal.SIGKILL)   # the node is lost before the rename

writers._write_csv = killed
writers.write_table(pd.DataFrame({"a": [1]}), sys.argv[1])
"""

WRITE = r"""
import sys
import pandas as pd
from mlflow_sweep_plugin.export import writers
writers.write_table(pd.DataFrame({"a": [1, 2]}), sys.argv[1])
"""


def test_a_write_killed_before_its_rename_is_cleaned_up_by_the_next_one(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "result.csv"
    out.write_text("a\n0\n")
    killed = subprocess.run([sys.executable, "-c", KILLED_MID_WRITE, str(out)], capture_output=True)
    assert killed.returncode == -9, killed.stderr
    left = [p.name for p in tmp_path.iterdir() if p.name != "result.csv"]
    assert len(left) == 1 and left[0].startswith(".result.csv.") and left[0].endswith(".tmp")
    assert out.read_text() == "a\n0\n"  # the old table is intact
    again = subprocess.run([sys.executable, "-c", WRITE, str(out)], capture_output=True)
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.csv"]
    assert out.read_text() == "a\n1\n2\n"


def test_only_stale_temp_files_of_our_own_naming_are_removed(tmp_path):
    import fcntl
    import os
    import time

    out = tmp_path / "result.csv"
    old = time.time() - 3600

    def temp(name, mtime=old):
        path = tmp_path / name
        path.write_text("partial")
        os.utime(path, (mtime, mtime))
        return path

    stale = [temp(".result.csv.abcd1234.tmp"), temp(".result.csv.x_9y8z7w.tmp")]
    kept = [temp(".result.csv.notes.tmp"), temp(".other.csv.abcd1234.tmp"),
            temp("result.csv.abcd1234.tmp"), temp(".result.csv.abcd1234.tmp.bak"),
            temp(".result.csv.new12345.tmp", mtime=time.time() + 5)]  # newer than this process
    held = temp(".result.csv.held1234.tmp")  # a writer still filling it (it holds the lock)
    fd = os.open(held, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        writers.write_table(_frame(), str(out))
    finally:
        os.close(fd)
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in kept) and held.exists()
    assert out.is_file()
    assert writers.remove_stale_temps(str(tmp_path / "missing" / "x.csv")) == []


def test_format_from_extension():
    assert writers.format_for("a.parquet", None) == "parquet"
    assert writers.format_for("a.ndjson", None) == "jsonl"
    assert writers.format_for("a.tsv", None) == "csv"
    assert writers.format_for("a.csv", "json") == "json"


def test_natural_key_orders_numbers():
    names = ["cluster_10_x", "cluster_2_x", "cluster_1_x", "a"]
    assert sorted(names, key=natural_key) == ["a", "cluster_1_x", "cluster_2_x", "cluster_10_x"]


class _Run:
    class info:
        run_id, run_name, start_time, end_time, status = "r1", "n", 0, None, "FINISHED"

    class data:
        params = {"layer": "7", "status": "x", "lr": "0.1"}
        metrics = {"loss": 0.5}
        tags = {}


def test_param_colliding_with_a_column_is_prefixed():
    tb = TableBuilder()
    tb.add_run(_Run, [{"layer": 0, "v": [1, 2]}], ["layer"])
    df = tb.frame()
    assert list(df.columns) == ["run_id", "run_name", "experiment_name", "start_time", "end_time", "status",
                                "lr", "params.layer", "params.status", "metrics.loss", "layer", "v"]
    assert df["params.layer"][0] == "7" and df["layer"][0] == 0 and df["v"][0] == "[1, 2]"


@pytest.mark.parametrize("dtype", [object, "string", "str"])
def test_spreadsheet_safe_covers_every_text_dtype(tmp_path, dtype):
    """pandas 3 reads text as ``str``, not ``object``: those cells are neutralised too."""
    df = pd.DataFrame({"a": pd.Series(["=HYPERLINK(\"x\")", "plain", "-1.5"], dtype=dtype)})
    path = str(tmp_path / "t.csv")
    writers.write_table(df, path, spreadsheet_safe=True)
    assert pd.read_csv(path, dtype=str)["a"].tolist() == ["'=HYPERLINK(\"x\")", "plain", "-1.5"]
