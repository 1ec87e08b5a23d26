"""mlflow_sweep_plugin.testing.sweeps and .store: the fixtures' sweeps, logged through the
real client into a throwaway sqlite store, artifacts where the store keeps them."""

from __future__ import annotations

import json
import math
import pathlib

from mlflow_sweep_plugin.testing.store import SweepStore
from mlflow_sweep_plugin.testing.sweeps import artifact_paths, report_files, write_artifact


def test_write_artifact_writes_each_kind_of_value(tmp_path):
    source = tmp_path / "src.bin"
    source.write_bytes(b"\x00\x01")
    out = tmp_path / "out"
    write_artifact(out, "a/s.json", {"x": math.nan})
    write_artifact(out, "b.txt", "text")
    write_artifact(out, "c.bin", b"raw")
    write_artifact(out, "d/copy.bin", source)
    assert (out / "a" / "s.json").read_text().replace(" ", "").replace("\n", "") == '{"x":NaN}'
    assert json.loads((out / "a" / "s.json").read_text(), parse_constant=str) == {"x": "NaN"}
    assert (out / "b.txt").read_text() == "text" and (out / "c.bin").read_bytes() == b"raw"
    assert (out / "d" / "copy.bin").read_bytes() == b"\x00\x01"


def test_make_sweep_logs_runs_params_metrics_status_and_artifacts(make_sweep, sweep_store):
    sweep = make_sweep([{"run_name": "a", "params": {"lr": 0.1}, "metrics": {"loss": 1.5}, "status": "FAILED",
                         "tags": {"k": "v"}, "artifacts": {"eval/s.json": {"acc": 1}}}, {}],
                       experiment_name="fixture")
    client = sweep_store.client
    run = client.get_run(sweep.run_ids[0])
    assert (run.info.run_name, run.info.status) == ("a", "FAILED")
    assert run.data.params == {"lr": "0.1"} and run.data.metrics == {"loss": 1.5} and run.data.tags["k"] == "v"
    assert artifact_paths(client, sweep.run_ids[0]) == ["eval/s.json"]
    assert report_files(client, sweep.run_ids[0]) == set()  # no report logged
    assert client.get_run(sweep.run_ids[1]).info.status == "FINISHED"
    location = client.get_experiment(sweep.experiment_id).artifact_location
    assert location == sweep_store.artifact_location_for("fixture")
    assert location.startswith(pathlib.Path(sweep_store.root).as_uri())  # under the test's directory


def test_artifact_location_for_each_deployment(tmp_path):
    s3 = SweepStore(root=tmp_path, tracking_uri="x", artifact_root=None, artifact_location="s3://b/art/")
    assert s3.artifact_location_for("a/b") == "s3://b/art/a_b"
    served = SweepStore(root=tmp_path, tracking_uri="x", artifact_root=None)
    assert served.artifact_location_for("e") is None  # the server decides
