"""``mlflow run --backend sweep`` of an MLflow project written here (code the sweep knows
nothing about), for real against a sqlite store: why a grid point failed is on its run,
grid points keep their identity when the grid grows, grid mistakes are told, warnings go
through the one channel."""

from __future__ import annotations

import pathlib

import pytest

from sweep_test_helpers import mlflow_run, write_project

MLPROJECT = """\
name: failing
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.5}
      max_alpha: {type: float, default: 1.0}
      mode: {type: string, default: ok}
    command: "python train.py --alpha {alpha} --max-alpha {max_alpha} --mode {mode}"
"""

TRAIN = '''\
import argparse
import os
import sys

import mlflow

p = argparse.ArgumentParser()
p.add_argument("--alpha", type=float)
p.add_argument("--max-alpha", type=float)
p.add_argument("--mode")
args, _unknown = p.parse_known_args()  # a misspelt option is ignored, as many scripts do
with mlflow.start_run():
    mlflow.log_param("alpha", args.alpha)  # what the script sees: "--alpha 1" is 1.0
    for i in range(300):
        print(f"step {i}: working", file=sys.stderr)
    print("stdout line")
    sys.stdout.flush()
    if args.mode not in ("ok", "fast"):
        raise ValueError(f"unknown mode {args.mode!r}")
    if args.alpha > args.max_alpha:
        raise FloatingPointError(f"alpha {args.alpha} above {args.max_alpha}")
    if args.mode == "fast":  # an artifact the clustering parser cannot read
        os.makedirs("out/layer_0", exist_ok=True)
        with open("out/layer_0/cluster_summary.json", "w") as fh:
            fh.write("{not json")
        mlflow.log_artifacts("out")
    mlflow.log_metric("score", args.alpha)
'''


@pytest.fixture
def project(tmp_path) -> pathlib.Path:
    return write_project(tmp_path / "project", MLPROJECT, TRAIN)


_mlflow_run = mlflow_run


def _children(client, sweep_name: str) -> list:
    exp = client.get_experiment_by_name("grid")
    return client.search_runs(
        [exp.experiment_id], f"tags.`mlflow_sweep.role` = 'child' and tags.`mlflow_sweep.sweep_name` = '{sweep_name}'",
        max_results=1000)


def _text(client, run_id, path) -> str:
    return pathlib.Path(client.download_artifacts(run_id, path)).read_text()


# -- why a grid point failed --------------------------------------------------------------
def test_a_failed_grid_point_records_its_error_exit_code_and_output(sweep_store, project):
    from mlflow_sweep_plugin.testing import artifact_paths

    client = sweep_store.client
    proc = _mlflow_run(sweep_store, project, {"grid": {"mode": ["ok", "bad"]}, "sweep_name": "why"})
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "ValueError: unknown mode 'bad'" in proc.stderr  # the user still sees it
    assert "stdout line" in proc.stdout
    children = {c.data.params["mode"]: c for c in _children(client, "why")}
    bad, ok = children["bad"], children["ok"]
    assert bad.info.status == "FAILED" and ok.info.status == "FINISHED"
    assert bad.data.tags["mlflow_sweep.error"] == "ValueError: unknown mode 'bad'"
    assert bad.data.tags["mlflow_sweep.exit_code"] == "1"
    assert ok.data.tags["mlflow_sweep.exit_code"] == "0" and "mlflow_sweep.error" not in ok.data.tags
    lines = _text(client, bad.info.run_id, "logs/stderr.txt").splitlines()
    assert len(lines) == 200  # the tail of the job's output
    assert lines[-1] == "ValueError: unknown mode 'bad'"
    assert "step 299: working" in lines and "step 0: working" not in lines
    assert "stdout line" in _text(client, bad.info.run_id, "logs/stdout.txt")
    assert not any(p.startswith("logs/") for p in artifact_paths(client, ok.info.run_id))


# -- grid points keep their identity when the grid grows ------------------------------------
@pytest.mark.slow  # real processes for a minute or more: CI's slow group
def test_a_grown_grid_keeps_each_points_index_and_new_points_get_new_ones(sweep_store, project):
    client = sweep_store.client
    config = {"grid": {"alpha": [0.1, 0.5]}, "sweep_name": "grow"}
    proc = _mlflow_run(sweep_store, project, config, "max_alpha=0.4")  # alpha 0.5 fails
    assert proc.returncode == 1, proc.stderr[-3000:]
    first = {c.data.params["alpha"]: c for c in _children(client, "grow")}
    assert {a: c.data.tags["mlflow_sweep.index"] for a, c in first.items()} == {"0.1": "0", "0.5": "1"}
    assert first["0.5"].data.tags["mlflow_sweep.point"] == '{"alpha": "0.5"}'

    # a value added in the middle of the grid; the failed point runs again
    proc = _mlflow_run(sweep_store, project, dict(config, grid={"alpha": [0.1, 0.3, 0.5]}, resume=True))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "1 already finished (resume)" in proc.stderr
    runs = _children(client, "grow")
    current = {c.data.params["alpha"]: c for c in runs if "mlflow_sweep.superseded_by" not in c.data.tags}
    index = {a: c.data.tags["mlflow_sweep.index"] for a, c in current.items()}
    assert index == {"0.1": "0", "0.5": "1", "0.3": "2"}  # kept; the new point gets a new one
    assert current["0.1"].info.run_id == first["0.1"].info.run_id
    old = client.get_run(first["0.5"].info.run_id)
    assert old.data.tags["mlflow_sweep.superseded_by"] == current["0.5"].info.run_id
    assert {c.data.tags["mlflow_sweep.sweep_id"] for c in runs} == {first["0.1"].data.tags["mlflow_sweep.sweep_id"]}
    assert current["0.3"].data.tags["mlflow_sweep.point"] == '{"alpha": "0.3"}'
    # the environment the job ran with said the same index (runs it made itself get it)
    assert "[2] alpha=0.3: run" in proc.stderr and "[1] alpha=0.5: run" in proc.stderr


# -- grid mistakes are told, not silently run ------------------------------------------------
def test_an_undeclared_grid_key_is_warned_about_and_values_get_the_declared_type(sweep_store, project):
    client = sweep_store.client
    config = {"grid": {"alpha": [1, 0.25], "alhpa": [0.3], "mode": ["fast"]}, "sweep_name": "typo"}
    proc = _mlflow_run(sweep_store, project, config)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stderr.splitlines()
    warned = [i for i, line in enumerate(lines) if line.startswith("mlflow-sweep: warning: grid key 'alhpa'")]
    assert len(warned) == 1
    assert "(it declares: alpha, max_alpha, mode)" in lines[warned[0]]
    started = [i for i, line in enumerate(lines) if line.startswith("mlflow-sweep: [0] ")]
    assert warned[0] < started[0]  # before anything was launched
    children = {c.data.params["alpha"]: c for c in _children(client, "typo")}
    # alpha: [1] for a float parameter is logged as the script logs it ("1.0"): no
    # "Changing param values is not allowed" from the script's own log_param
    assert set(children) == {"1.0", "0.25"}
    assert all(c.info.status == "FINISHED" for c in children.values())
    assert children["1.0"].data.tags["mlflow_sweep.point"] == '{"alhpa": "0.3", "alpha": "1.0", "mode": "fast"}'
    assert children["1.0"].info.run_name == "alpha=1.0,alhpa=0.3,mode=fast"

    # one warning channel: each bad artifact is one line, though the children's
    # flattening and the parent's sweep table both read it
    for child in children.values():
        told = [line for line in lines
                if line.startswith("mlflow-sweep: warning: ") and child.info.run_id in line]
        assert len(told) == 1, told
        assert "layer_0/cluster_summary.json" in told[0]


def test_the_hooks_library_side_warns_through_the_channel(sweep_store):
    import mlflow

    from mlflow_sweep_plugin.sweep.identity import Sweep
    from mlflow_sweep_plugin.sweep.lifecycle import SweepLifecycle
    from mlflow_sweep_plugin.warning_types import SweepWarning

    experiment_id = sweep_store.use_experiment("channel")
    with mlflow.start_run() as run:
        mlflow.log_text("{not json", "layer_0/cluster_summary.json")
    lifecycle = SweepLifecycle(sweep_store.client, Sweep("channel", "mlflow-run", str(experiment_id)))
    with pytest.warns(SweepWarning, match="layer_0/cluster_summary.json"):
        lifecycle.flatten_child(run.info.run_id)
