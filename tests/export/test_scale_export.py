"""Export at scale: direct local reads, pruned listings, Parquet dtypes, the progress bar."""

from __future__ import annotations

import math
import os
import pty
import subprocess
import sys
import tempfile

import pandas as pd
import pyarrow.parquet as pq
import pytest

from mlflow_sweep_plugin.export.plan import ListingPlan
from mlflow_sweep_plugin.export.readers import LocalArtifactReader
from mlflow_sweep_plugin.export.session import reader_for

SUMMARY = {"layer": 0, "energy_contrast_ratio": 0.5,
           "component_assignment": {"assignments": {"mess3": 2}, "scores": {"mess3": 0.9}},
           "geometry_fits": {"0": {"best_geometry": "circle", "best_optimal_distance": 0.25,
                                   "distances": {"circle": 0.25, "simplex_1": float("nan")}}}}


def test_listing_plan_prunes_and_guesses_literal_paths():
    plan = ListingPlan(["layer_{layer}/cluster_summary.json", "summary/metrics_summary.json"])
    assert plan.may_contain("layer_3") and plan.may_contain("summary")
    assert not plan.may_contain("checkpoints") and not plan.may_contain("layer_3/deeper")
    assert plan.literal_files("layer_3") == ["layer_3/cluster_summary.json"]
    assert plan.literal_files("summary") == ["summary/metrics_summary.json"]
    assert plan.literal_files("") is None  # the root must be listed to find the layers
    wide = ListingPlan(["layer_{layer}/cluster_summary.json", "{learner}/particles.npz"])
    assert wide.literal_files("layer_0") == ["layer_0/cluster_summary.json", "layer_0/particles.npz"]
    deep = ListingPlan(["eval/**/scores.json"])
    assert deep.may_contain("eval/a/b/c") and not deep.may_contain("train")
    assert deep.literal_files("eval/a") is None


def test_local_reader_lists_only_what_patterns_reach(tmp_path):
    root = tmp_path / "artifacts"
    for rel in ("layer_0/cluster_summary.json", "layer_0/other.txt", "checkpoints/a/b/model.bin",
                "plots/x.png"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("{}")
    reader = LocalArtifactReader(str(root), ListingPlan(["layer_{layer}/cluster_summary.json"]))
    assert reader.list() == ["layer_0/cluster_summary.json", "layer_0/other.txt"]
    assert "checkpoints/a/b/model.bin" in reader.list_all()  # what ParseContext.list() gives
    assert reader.read("layer_0/cluster_summary.json") == b"{}"


def test_local_artifacts_are_read_in_place_with_no_temp_copies(make_sweep, sweep_exporter, tmp_path,
                                                                monkeypatch):
    sweep = make_sweep([{"artifacts": {f"layer_{i}/cluster_summary.json": dict(SUMMARY, layer=i)
                                       for i in range(3)}} for _ in range(3)])
    run = sweep.store.client.get_run(sweep.run_ids[0])
    assert isinstance(reader_for(run.info.artifact_uri), LocalArtifactReader)
    spy_tmp = tmp_path / "tmp"
    spy_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spy_tmp))  # MLflow downloads land here
    result = sweep_exporter(cache=False)
    assert len(result.df) == 9 and result.stats["files_read"] == 9
    assert list(spy_tmp.iterdir()) == []  # no download-to-temp-dir round trip


def test_parquet_keeps_real_dtypes(make_sweep, sweep_exporter, tmp_path):
    make_sweep([{"params": {"lr": "0.1", "name": "-x"}, "metrics": {"loss": 0.5},
                 "artifacts": {"layer_0/cluster_summary.json": SUMMARY}},
                {"params": {"lr": "0.2", "name": "y"},
                 "artifacts": {"layer_1/cluster_summary.json": dict(SUMMARY, layer=1)}}])
    out = tmp_path / "t.parquet"
    result = sweep_exporter(output=str(out))
    assert result.format == "parquet"
    table = pq.read_table(out)
    types = {f.name: str(f.type) for f in table.schema}
    assert types["layer"] == "int64" and types["soft_assignments_mess3"] == "int64"  # ints stay ints
    assert types["cluster_0_simplex_1_dist"] == "double"
    assert types["start_time"].startswith("timestamp[") and "UTC" in types["start_time"]
    assert "string" in types["lr"] and "string" in types["name"]  # params as logged
    nan_col = table.column("cluster_0_simplex_1_dist")
    assert nan_col.null_count == 0 and all(math.isnan(v) for v in nan_col.to_pylist())  # NaN stays NaN
    back = pd.read_parquet(out)
    assert back["lr"].tolist() == ["0.1", "0.2"] and back["name"].tolist() == ["-x", "y"]
    assert back["layer"].tolist() == [0, 1] and str(back["layer"].dtype) == "Int64"
    assert back["metrics.loss"].tolist()[0] == 0.5 and math.isnan(back["metrics.loss"].tolist()[1])


def test_no_progress_bar_when_not_a_terminal_and_workers_validated(make_sweep, sweep_cli, tmp_path):
    make_sweep([{"artifacts": {"layer_0/cluster_summary.json": SUMMARY}}])
    res = sweep_cli("export", "--experiment-name", "sweep", "-o", tmp_path / "a.csv", "--workers", "3").assert_success()
    assert res.stderr.strip().splitlines() == [res.stderr.strip()]  # one summary line, no bar
    assert "\x1b" not in res.stderr and "runs/s" not in res.stderr
    bad = sweep_cli("export", "--experiment-name", "sweep", "--workers", "0")
    assert bad.exit_code == 2


def _run_with_tty_stderr(args, env):
    """Run the CLI with stderr on a pseudo-terminal; return (exit code, what it drew)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "mlflow_sweep_plugin", *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(master)
    return proc.returncode, b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_progress_bar_on_a_terminal_and_silent_with_quiet(make_sweep, sweep_store, tmp_path):
    make_sweep([{"artifacts": {"layer_0/cluster_summary.json": SUMMARY}} for _ in range(30)])
    env = dict(os.environ, COLUMNS="120", TERM="xterm")
    args = ["export", "--experiment-name", "sweep", "--tracking-uri", sweep_store.tracking_uri, "--no-cache"]
    code, drawn = _run_with_tty_stderr(args + ["-o", str(tmp_path / "a.csv")], env)
    assert code == 0, drawn
    assert "exporting runs" in drawn and "30/30" in drawn and "runs" in drawn and "eta" in drawn
    assert "exported 30 runs" in drawn
    code, drawn = _run_with_tty_stderr(args + ["-o", str(tmp_path / "b.csv"), "-q"], env)
    assert code == 0 and "exporting runs" not in drawn and "exported" not in drawn
