"""Hydra: a real multirun of examples/hydra_app with the callback, and ``mlflow-sweep
import-hydra`` of the format's example and of generated sweeps with crashed jobs (twice:
nothing duplicated), compared with what the callback logged."""

from __future__ import annotations

import os
import pathlib
import pickle
import shutil
import subprocess
import sys


from hydra_test_helpers import sweep_files
from mlflow_sweep_plugin.hydra.jobs import plain_config
from mlflow_sweep_plugin.hydra.metrics_csv import parse_metrics_csv
from mlflow_sweep_plugin.hydra.overrides import override_params, parse_override
from mlflow_sweep_plugin.testing import artifact_paths

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = pathlib.Path(__file__).parent.parent / "data"
APP = ROOT / "examples" / "hydra_app" / "app.py"
EXAMPLE_CSV = (DATA / "hydra_multirun" / "0" / "facts" / "metrics.csv").read_text()


# -- reading a job ------------------------------------------------------------------------


def test_metrics_csv_of_the_format_example():
    table = parse_metrics_csv(EXAMPLE_CSV)
    assert table.complete and table.problems == []
    points = {(k, s): v for k, v, s in table.points}
    assert len(table.points) == len(points) == 2 + 6 * 2  # epoch once per step
    assert points[("train/total_loss", 99)] == 1.31
    assert points[("val/total_loss", 199)] == 1.01
    assert points[("epoch", 199)] == 1.0 and ("step", 99) not in points


def test_metrics_csv_cut_short_or_bad_cells():
    cut = EXAMPLE_CSV[: EXAMPLE_CSV.index("1,199,,,,0.66")] + "1,199,,,,0.6"
    table = parse_metrics_csv(cut)
    assert not table.complete
    assert "line 5 is cut short" in table.problems[0]
    assert {k for k, _, s in table.points if s == 199} == {"epoch", "train/rec_tokens",
                                                          "train/rec_globals", "train/total_loss"}
    bad = EXAMPLE_CSV.replace("0.62", "oops")
    table = parse_metrics_csv(bad)
    assert not table.complete
    assert "column 'train/rec_tokens': 'oops' is not a number" in table.problems[0]
    assert len(table.points) == 13
    assert parse_metrics_csv("").problems == ["facts/metrics.csv: empty file"]
    assert not parse_metrics_csv("epoch,step,loss\n").complete


def test_overrides_and_config():
    assert parse_override("+db.port=3306") == ("db.port", "3306")
    assert parse_override("~db") is None
    assert parse_override("db@backup=mysql") == ("db", "mysql")
    assert override_params(["phase1/latent_space=none", "a.b=1e-3", "a.c=x=y"]) == {
        "phase1/latent_space": "none", "a.b": "1e-3", "a.c": "x=y"}
    # a key that is a prefix of another: both, in either order
    assert override_params(["db=mysql", "db.port=1"]) == {"db": "mysql", "db.port": "1"}
    assert override_params(["db.port=1", "db=mysql"]) == {"db.port": "1", "db": "mysql"}
    assert override_params(["+x=1", "++y=2", "~z", "~w=null", "db.pass=hunter2"]) == {
        "x": "1", "y": "2", "z": "(deleted)", "w": "(deleted)", "db.pass": "***"}
    assert override_params(["db.pass=hunter2"], redact=()) == {"db.pass": "hunter2"}
    # a sweep expression reaching a job (a sweeper that passes it through) is kept as written
    assert override_params(["lr=interval(0,1)", "n=range(1,3)", "o=choice(a,b)"]) == {
        "lr": "interval(0,1)", "n": "range(1,3)", "o": "choice(a,b)"}
    assert override_params(["db=mysql", "+db@backup=postgresql"]) == {
        "db": "mysql", "db_-40backup": "postgresql"}
    cfg = plain_config({"m": {"w": 8, "h": "${m.w}"}, "out": "${hydra:runtime.output_dir}",
                        "missing": "${nope}"})
    assert cfg == {"m": {"w": 8, "h": "${m.w}"}, "out": "${hydra:runtime.output_dir}",
                   "missing": "${nope}"}  # unresolvable: logged as written
    assert plain_config({"m": {"w": 8, "h": "${m.w}"}, "out": "${hydra:x}"}) == {
        "m": {"w": 8, "h": 8}, "out": "${hydra:x}"}


# -- helpers ------------------------------------------------------------------------------
def _sweep_runs(client, experiment_name):
    exp = client.get_experiment_by_name(experiment_name)
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("mlflow_sweep.role") == "parent"]
    children = [r for r in runs if r.data.tags.get("mlflow_sweep.role") == "child"]
    return parents, {c.data.tags["mlflow_sweep.hydra.job"]: c for c in children}, runs


def _snapshot(client, run, skip_metrics=()):
    return {
        "status": run.info.status,
        "name": run.info.run_name,
        "params": dict(run.data.params),
        "metrics": {k: sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, k))
                    for k in run.data.metrics if k not in skip_metrics},
        "artifacts": artifact_paths(client, run.info.run_id),
        "index": run.data.tags.get("mlflow_sweep.index"),
    }


def _import(sweep_cli, path, *args):
    res = sweep_cli("import-hydra", str(path), *args)
    assert res.exit_code == 0, (res.stderr, res.exception)
    return res


# -- import -------------------------------------------------------------------------------
def test_import_the_format_example_twice(sweep_store, sweep_cli, tmp_path):
    sweep = tmp_path / "exp_20251031-120000_compare_globals_heads"
    shutil.copytree(DATA / "hydra_multirun", sweep)
    res = _import(sweep_cli, sweep, "--experiment-name", "phase1")
    assert "imported 1 job(s) (0 failed), skipped 0" in res.stderr
    client = sweep_store.client
    parents, children, runs = _sweep_runs(client, "phase1")
    assert len(parents) == 1 and list(children) == ["0"] and len(runs) == 2
    parent, child = parents[0], children["0"]
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert child.data.tags["mlflow_sweep.sweep_id"] == parent.data.tags["mlflow_sweep.sweep_id"]
    snap = _snapshot(client, child)
    assert snap["status"] == "FINISHED" and snap["index"] == "0"
    assert snap["name"] == "phase1/latent_space=none,globals_beta=0"
    assert snap["params"] == {"phase1/latent_space": "none", "globals_beta": "0",
                              "config.phase1.latent_space": "none", "config.phase1.trainer.epochs": "20",
                              "config.phase1.trainer.lr": "0.001", "config.globals_beta": "0"}
    assert snap["metrics"]["train/total_loss"] == [(99, 1.31), (199, 0.95)]
    assert snap["metrics"]["val/rec_globals"] == [(99, 0.41), (199, 0.35)]
    assert snap["metrics"]["epoch"] == [(99, 0.0), (199, 1.0)]
    assert snap["artifacts"] == [".hydra/config.yaml", ".hydra/overrides.yaml", "cfg.yaml",
                                 "facts/metrics.csv"]
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["mlflow_sweep.hydra.sweep_dir"] == os.path.realpath(sweep)
    assert sweep_files(client, parent.info.run_id) == ["sweep_table.csv"]

    res = _import(sweep_cli, sweep, "--experiment-name", "phase1")
    assert "imported 0 job(s) (0 failed), skipped 1 already logged" in res.stderr
    parents2, children2, runs2 = _sweep_runs(client, "phase1")
    assert len(runs2) == 2 and parents2[0].info.run_id == parent.info.run_id
    assert _snapshot(client, children2["0"]) == snap


def _job(sweep: pathlib.Path, num: int, overrides: list, metrics: str | None, files=None):
    job = sweep / str(num)
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    cfg = "model:\n  width: 8\n  hidden: ${model.width}\n" + "".join(
        f"{o.split('=')[0]}: {o.split('=')[1]}\n" for o in overrides)
    (job / ".hydra" / "config.yaml").write_text(cfg)
    (job / ".hydra" / "hydra.yaml").write_text(f"hydra:\n  job:\n    name: train\n    num: {num}\n")
    (job / "cfg.yaml").write_text(cfg)
    if metrics is not None:
        (job / "facts").mkdir()
        (job / "facts" / "metrics.csv").write_text(metrics)
    for rel, content in (files or {}).items():
        path = job / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    return job


class _Boom:
    """Unpickling this creates a marker file: proof that a model file was loaded."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def _generated_sweep(root: pathlib.Path, marker: pathlib.Path) -> pathlib.Path:
    sweep = root / "multirun" / "2025-11-01_10-00-00"
    sweep.mkdir(parents=True)
    (sweep / "multirun.yaml").write_text(
        "hydra:\n  job:\n    name: train\n  overrides:\n    task:\n    - lr=0.1,0.01\n")
    outside = root / "secret.txt"
    outside.write_text("not part of the job")
    good = "epoch,step,train/loss,val/loss\n0,9,0.9,\n0,9,,0.95\n1,19,0.5,\n1,19,,0.6\n"
    job0 = _job(sweep, 0, ["lr=0.1"], good, {
        "model.pt": pickle.dumps(_Boom(marker)), "figures/loss.png": b"\x89PNG\r\n\x1a\n",
        "run.log": "epoch 0\nepoch 1\n", "checkpoints/last.ckpt": b"ckpt"})
    os.symlink(outside, job0 / "linked.txt")  # leads out of the job: never logged
    _job(sweep, 1, ["lr=0.01"], None, {"run.log": (  # crashed early: its log ends with the traceback
        "[2025-11-01 10:00:01,000][__main__][INFO] - epoch 0\n"
        "[2025-11-01 10:00:02,000][__main__][ERROR] - training failed\n"
        "Traceback (most recent call last):\n  File \"train.py\", line 9, in main\n    step()\n"
        "torch.OutOfMemoryError: CUDA out of memory\n")})
    _job(sweep, 2, ["lr=0.001"], good[: good.index("1,19,,0.6")] + "1,19,,0.")  # killed mid-write
    return sweep


def test_import_generated_sweep_with_crashed_jobs_twice(sweep_store, sweep_cli, tmp_path):
    marker = tmp_path / "model-was-unpickled"
    sweep = _generated_sweep(tmp_path, marker)
    client = sweep_store.client
    res = _import(sweep_cli, sweep)
    assert "imported 3 job(s) (2 failed), skipped 0" in res.stderr
    assert "facts/metrics.csv: line 5 is cut short" in res.stderr  # names job and file
    parents, children, runs = _sweep_runs(client, "train")  # experiment from multirun.yaml
    assert len(parents) == 1 and sorted(children) == ["0", "1", "2"] and len(runs) == 4
    snaps = {k: _snapshot(client, c) for k, c in children.items()}
    assert [snaps[k]["status"] for k in "012"] == ["FINISHED", "FAILED", "FAILED"]
    assert children["1"].data.tags["mlflow_sweep.error"] == "torch.OutOfMemoryError: CUDA out of memory"
    assert children["1"].data.tags["mlflow_sweep.metrics_file"] == "absent"
    assert children["2"].data.tags["mlflow_sweep.metrics_file"] == "partial"
    assert "partial facts/metrics.csv" in children["2"].data.tags["mlflow_sweep.error"]
    assert snaps["0"]["artifacts"] == [".hydra/config.yaml", ".hydra/hydra.yaml",
                                       ".hydra/overrides.yaml", "cfg.yaml", "facts/metrics.csv",
                                       "figures/loss.png", "run.log"]  # no model, no link
    assert snaps["0"]["metrics"]["val/loss"] == [(9, 0.95), (19, 0.6)]
    assert snaps["0"]["params"]["config.model.hidden"] == "8"
    assert snaps["1"]["artifacts"] == [".hydra/config.yaml", ".hydra/hydra.yaml",
                                       ".hydra/overrides.yaml", "cfg.yaml", "run.log"]
    assert snaps["1"]["metrics"] == {}
    assert snaps["2"]["metrics"] == {"epoch": [(9, 0.0), (19, 1.0)], "train/loss": [(9, 0.9), (19, 0.5)],
                                     "val/loss": [(9, 0.95)]}  # what it has
    parent = parents[0]
    assert parent.info.status == "FAILED"
    assert (parent.data.tags["mlflow_sweep.n_children"], parent.data.tags["mlflow_sweep.n_failed"]) == ("3", "2")
    assert sweep_files(client, parent.info.run_id) == ["multirun.yaml", "sweep_table.csv"]

    # again: nothing new
    res = _import(sweep_cli, sweep)
    assert "imported 0 job(s) (0 failed), skipped 3" in res.stderr
    parents2, children2, runs2 = _sweep_runs(client, "train")
    assert len(runs2) == 4
    assert {k: _snapshot(client, c) for k, c in children2.items()} == snaps

    # an import interrupted in the middle of job 2 is completed in place, each metric
    # point once; a job that appeared since is added
    client.set_tag(children["2"].info.run_id, "mlflow_sweep.hydra.logged", "partial")
    client.update_run(children["2"].info.run_id, status="RUNNING")
    _job(sweep, 3, ["lr=0.0001"], "epoch,step,train/loss\n0,9,0.8\n")
    res = _import(sweep_cli, sweep)
    assert "imported 2 job(s) (1 failed), skipped 2" in res.stderr
    parents3, children3, runs3 = _sweep_runs(client, "train")
    assert len(runs3) == 5 and sorted(children3) == ["0", "1", "2", "3"]
    assert children3["2"].info.run_id == children["2"].info.run_id
    assert _snapshot(client, children3["2"]) == snaps["2"]
    assert children3["3"].info.status == "FINISHED"
    assert children3["3"].data.tags["mlflow.parentRunId"] == parent.info.run_id
    parent3 = client.get_run(parent.info.run_id)
    assert (parent3.data.tags["mlflow_sweep.n_children"], parent3.data.tags["mlflow_sweep.n_failed"]) == ("4", "2")

    # --include-models copies model files; nothing ever unpickles them
    _import(sweep_cli, sweep, "--experiment-name", "with-models", "--include-models")
    _, children4, _ = _sweep_runs(client, "with-models")
    arts = artifact_paths(client, children4["0"].info.run_id)
    assert "model.pt" in arts and "checkpoints/last.ckpt" in arts and "linked.txt" not in arts
    assert not marker.exists()


def test_import_errors(sweep_store, sweep_cli, tmp_path):
    res = sweep_cli("import-hydra", str(tmp_path))
    assert res.exit_code == 2 and "holds no Hydra job directories" in res.stderr


# -- a real multirun with the callback ------------------------------------------------------
def _multirun(store, sweep_dir, experiment, *overrides):
    env = dict(os.environ, MLFLOW_TRACKING_URI=store.tracking_uri)
    cmd = [sys.executable, str(APP), "--multirun", f"hydra.sweep.dir={sweep_dir}",
           f"hydra.callbacks.mlflow_sweep.experiment_name={experiment}", *overrides]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=sweep_dir.parent,
                          timeout=300)


def test_hydra_multirun_with_the_callback_then_import_gives_the_same_runs(sweep_store, sweep_cli, tmp_path):
    client = sweep_store.client
    # all jobs succeed: the parent is closed by on_multirun_end
    ok_dir = tmp_path / "ok"
    proc = _multirun(sweep_store, ok_dir, "cb-ok", "lr=0.01", "model.width=8,16", "log_to_mlflow=true")
    assert proc.returncode == 0, proc.stderr[-3000:]
    parents, children, runs = _sweep_runs(client, "cb-ok")
    assert len(parents) == 1 and sorted(children) == ["0", "1"] and len(runs) == 3
    assert parents[0].info.status == "FINISHED"
    for key, child in children.items():
        assert child.info.status == "FINISHED"
        assert child.data.tags["mlflow.parentRunId"] == parents[0].info.run_id
        assert child.data.params["model.width"] == {"0": "8", "1": "16"}[key]
        assert child.data.params["config.model.hidden"] == child.data.params["model.width"]
        assert "final_val_loss" in child.data.metrics  # the job's own mlflow call
        assert len(client.get_metric_history(child.info.run_id, "train/loss")) == 3
    assert "model.pt" not in artifact_paths(client, children["0"].info.run_id)

    # jobs 2 and 3 raise: FAILED; Hydra then skips on_multirun_end, the parent is closed
    # at exit
    bad_dir = tmp_path / "bad"
    proc = _multirun(sweep_store, bad_dir, "cb-bad", "lr=0.01,2.0", "model.width=8,16")
    assert proc.returncode == 1 and "loss diverged" in proc.stderr
    parents, children, runs = _sweep_runs(client, "cb-bad")
    assert len(parents) == 1 and sorted(children) == ["0", "1", "2", "3"] and len(runs) == 5
    parent = parents[0]
    assert parent.info.status == "FAILED"
    assert parent.data.tags["mlflow_sweep.n_failed"] == "2"
    assert sweep_files(client, parent.info.run_id) == ["multirun.yaml", "sweep_table.csv"]
    assert [children[k].info.status for k in "0123"] == ["FINISHED", "FINISHED", "FAILED", "FAILED"]
    assert children["2"].data.tags["mlflow_sweep.error"].startswith("FloatingPointError: loss diverged")
    live = {k: _snapshot(client, c) for k, c in children.items()}

    # the same directory imported afterwards: the same runs
    _import(sweep_cli, bad_dir, "--experiment-name", "imported")
    _, imported, runs = _sweep_runs(client, "imported")
    assert len(runs) == 5
    assert {k: _snapshot(client, c) for k, c in imported.items()} == live
