"""sweep_run's offline spool and ``mlflow-sweep sync`` against real ``mlflow server``s:
the server dies mid-run and comes back; the server is down from the start."""

from __future__ import annotations

import json
import math
import shutil
import time

import pytest

from mlflow_sweep_plugin import (
    ParamChanged,
    log_artifacts_by_type,
    log_config,
    log_metrics,
    sweep_run,
)
from mlflow_sweep_plugin.tracking.run import SpoolWarning
from mlflow_sweep_plugin.tracking.spool import SPOOL_ID_TAG


@pytest.fixture
def spool_env(tmp_path, monkeypatch):
    """A private spool dir; no tracking URI or experiment from the environment."""
    import mlflow

    spool = tmp_path / "spool"
    monkeypatch.setenv("MLFLOW_SWEEP_SPOOL_DIR", str(spool))
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID",
                "MLFLOW_RUN_ID"):
        monkeypatch.delenv(var, raising=False)
    yield spool
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri("")


def cli(*args):
    """``mlflow-sweep`` in-process (sync must not need the sweep_store fixture)."""
    import inspect

    from click.testing import CliRunner

    from mlflow_sweep_plugin.cli import main

    kwargs = {"mix_stderr": False} if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters else {}
    return CliRunner(**kwargs).invoke(main, [str(a) for a in args])


def snapshot(uri: str, experiment: str) -> dict:
    """Everything a run holds, to compare before and after a second sync."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id])
    out = {}
    for run in runs:
        run_id = run.info.run_id
        history = {k: sorted((m.step, m.timestamp, "nan" if math.isnan(m.value) else m.value)
                             for m in client.get_metric_history(run_id, k))
                   for k in run.data.metrics}
        artifacts = []

        def walk(path):
            for info in client.list_artifacts(run_id, path):
                walk(info.path) if info.is_dir else artifacts.append((info.path, info.file_size))

        walk(None)
        tags = {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")}
        out[run_id] = {"params": run.data.params, "history": history, "tags": tags,
                       "artifacts": sorted(artifacts), "status": run.info.status,
                       "end_time": run.info.end_time}
    return out


def _requeue(spool_dir, spool_id, forget_run_id=False):
    """Put a synced spool back as if a sync had died after doing everything but its
    bookkeeping (the worst case for duplicates)."""
    shutil.move(str(spool_dir / ".synced" / spool_id), str(spool_dir / spool_id))
    (spool_dir / spool_id / "sync.json").unlink()
    if forget_run_id:
        meta_path = spool_dir / spool_id / "run.json"
        meta = json.loads(meta_path.read_text())
        meta["run_id"] = None
        meta_path.write_text(json.dumps(meta))


def test_server_dies_mid_run_then_sync(mlflow_server_factory, spool_env, tmp_path):
    server = mlflow_server_factory()
    uri = server.url
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "before.json").write_text('{"a": 1}')
    (tmp_path / "out" / "model.pkl").write_bytes(b"weights")
    (tmp_path / "out" / "after.csv").write_text("x\n1\n")
    with sweep_run("spool-exp", run_name="mid", tracking_uri=uri, tags={"team": "causal"}) as run:
        run_id = run.run_id
        assert run_id and not run.spooled
        log_config({"a": 1, "b": {"c": [1, 2]}})
        log_metrics({"loss": 1.0}, step=0)
        run.set_tag("phase", "online")
        run.log_artifact(tmp_path / "out" / "before.json", "results")
        server.stop()
        started = time.monotonic()
        with pytest.warns(SpoolWarning, match="unreachable") as caught:
            log_metrics({"loss": 0.5, "nan": float("nan")}, step=1)
            log_metrics({"loss": 0.25, "acc": 0.9}, step=2, prefix=None)
            log_config({"late": "x", "a": 1})
            with pytest.raises(ParamChanged, match="'a'"):
                log_config({"a": 2})  # still checked while spooling
            run.set_tag("phase", "offline")
            by_type = log_artifacts_by_type([tmp_path / "out" / "model.pkl",
                                             tmp_path / "out" / "after.csv"])
        assert time.monotonic() - started < 20
        assert len([w for w in caught if issubclass(w.category, SpoolWarning)]) == 1
        assert run.spooled and run.run_id == run_id
    assert by_type == {"models": ["models/model.pkl"], "results": ["results/after.csv"]}
    server.start()

    result = cli("sync")
    assert result.exit_code == 0, result.stderr
    assert "1 synced" in result.stderr
    first = snapshot(uri, "spool-exp")
    assert list(first) == [run_id]
    got = first[run_id]
    assert got["params"] == {"a": "1", "b.c": "1,2", "late": "x"}
    assert [(s, v) for s, _, v in got["history"]["loss"]] == [(0, 1.0), (1, 0.5), (2, 0.25)]
    assert [(s, v) for s, _, v in got["history"]["nan"]] == [(1, "nan")]
    assert [(s, v) for s, _, v in got["history"]["acc"]] == [(2, 0.9)]
    assert got["tags"] == {"team": "causal", "phase": "offline"}
    assert [p for p, _ in got["artifacts"]] == ["models/model.pkl", "results/after.csv",
                                                "results/before.json"]
    assert got["status"] == "FINISHED"

    # sync again: nothing to do, nothing changes
    again = cli("sync")
    assert again.exit_code == 0 and "0 synced" in again.stderr
    assert snapshot(uri, "spool-exp") == first
    # a sync that died after replaying everything but before its bookkeeping
    spool_id = next((spool_env / ".synced").iterdir()).name
    _requeue(spool_env, spool_id)
    redo = cli("sync")
    assert redo.exit_code == 0, redo.stderr
    assert "metric points already there" in redo.stderr
    assert snapshot(uri, "spool-exp") == first


def test_server_down_from_start(mlflow_server_factory, mlflow_server, spool_env, tmp_path):
    """Nothing listens on the URI: the job runs on, spooled; sync fails with exit 3 and
    keeps the spool; then it replays into a live server (``--tracking-uri``)."""
    from mlflow.tracking import MlflowClient

    dead = mlflow_server_factory(start=False)
    (tmp_path / "fig.png").write_bytes(b"png")
    started = time.monotonic()
    with pytest.warns(SpoolWarning, match="unreachable"):
        with pytest.raises(RuntimeError, match="diverged"):
            with sweep_run("down-exp", run_name="offline", tracking_uri=dead.url,
                           tags={"seed": 3}) as run:
                assert run.spooled and run.run_id is None
                log_config({"lr": 0.1, "layers": [8, 4]}, prefix="SVGD")
                for step in range(3):
                    log_metrics({"eshd": 3.0 - step}, prefix="SVGD", step=step)
                run.log_artifacts_by_type([tmp_path / "fig.png"])
                raise RuntimeError("diverged")
    assert time.monotonic() - started < 20

    down = cli("sync")
    assert down.exit_code == 3 and "unreachable" in down.stderr, down.stderr
    assert len([p for p in spool_env.iterdir() if p.name != ".synced"]) == 1

    live = mlflow_server.url
    result = cli("sync", "--tracking-uri", live)
    assert result.exit_code == 0, result.stderr
    first = snapshot(live, "down-exp")
    assert len(first) == 1
    (run_id, got), = first.items()
    assert got["params"] == {"SVGD.lr": "0.1", "SVGD.layers": "8,4"}
    assert [(s, v) for s, _, v in got["history"]["SVGD.eshd"]] == [(0, 3.0), (1, 2.0), (2, 1.0)]
    assert got["tags"]["seed"] == "3" and SPOOL_ID_TAG in got["tags"]
    assert [p for p, _ in got["artifacts"]] == ["visualizations/fig.png"]
    assert got["status"] == "FAILED"
    run = MlflowClient(live).get_run(run_id)
    assert run.info.run_name == "offline"
    assert run.data.tags.get("mlflow.source.name")  # context tags taken at job time

    assert cli("sync", "--tracking-uri", live).exit_code == 0
    assert snapshot(live, "down-exp") == first
    # a sync that died between creating the run and writing its id down: found by tag
    spool_id = got["tags"][SPOOL_ID_TAG]
    _requeue(spool_env, spool_id, forget_run_id=True)
    redo = cli("sync", "--tracking-uri", live)
    assert redo.exit_code == 0, redo.stderr
    assert snapshot(live, "down-exp") == first


JOB = """
import os, signal, sys, warnings
warnings.simplefilter("ignore")
from mlflow_sweep_plugin import log_metrics, sweep_run
with sweep_run("killed-exp", run_name="job", tracking_uri=sys.argv[1]) as run:
    assert run.spooled
    log_metrics({"loss": 1.5}, step=0)
    os.kill(os.getpid(), signal.SIGKILL)  # no end record: killed by the scheduler, say
"""


def test_a_job_killed_mid_run_is_ended_as_killed_and_a_live_one_is_not(mlflow_server_factory, mlflow_server,
                                                                      spool_env, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    from mlflow.tracking import MlflowClient

    dead = mlflow_server_factory(start=False)
    live = mlflow_server.url
    client = MlflowClient(live)
    # a job still running holds its spool: sync replays what there is and keeps it open
    with pytest.warns(SpoolWarning):
        with sweep_run("killed-exp", run_name="alive", tracking_uri=dead.url):
            log_metrics({"loss": 0.5}, step=0)
            still = cli("sync", "--tracking-uri", live)
            assert still.exit_code == 0 and "open" in still.output, still.output
            # (no artifact listing in here: MLflow 2.x would send it to the job's dead URI)
            exp_id = client.get_experiment_by_name("killed-exp").experiment_id
            assert [r.info.status for r in client.search_runs([exp_id])] == ["RUNNING"]
    script = tmp_path / "job.py"
    script.write_text(JOB)
    job = subprocess.run([sys.executable, str(script), dead.url], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, MLFLOW_SWEEP_SPOOL_DIR=str(spool_env)))
    assert job.returncode == -signal.SIGKILL, job.stderr

    result = cli("sync", "--tracking-uri", live)
    assert result.exit_code == 0, result.stderr
    assert "ended as KILLED" in result.output
    import mlflow

    mlflow.set_tracking_uri(live)  # MLflow 2.x resolves mlflow-artifacts: URIs through it
    names = {r.info.run_id: r.info.run_name
             for r in client.search_runs([client.get_experiment_by_name("killed-exp").experiment_id])}
    first = snapshot(live, "killed-exp")
    runs = {names[run_id]: got for run_id, got in first.items()}
    assert runs["alive"]["status"] == "FINISHED"
    assert runs["job"]["status"] == "KILLED"
    assert [(s, v) for s, _, v in runs["job"]["history"]["loss"]] == [(0, 1.5)]
    killed = client.get_run(next(k for k, v in names.items() if v == "job")).info
    assert killed.start_time <= killed.end_time <= time.time() * 1000
    assert [p.name for p in spool_env.iterdir()] == [".synced"]  # nothing left open
    assert cli("sync", "--tracking-uri", live).exit_code == 0
    assert snapshot(live, "killed-exp") == first
