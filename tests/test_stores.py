"""A fresh sqlite store under concurrent writers: 8 processes starting at once on a new
``sqlite:///mlflow.db`` (a ``max_parallel`` sweep, a joblib launcher) initialise it once,
under a lock beside it, instead of racing MLflow's schema migrations."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("fcntl")

N_WRITERS = 8
N_STEPS = 5

WRITER = textwrap.dedent("""
    import os, sys, time
    i, n, how = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    import mlflow
    from mlflow_sweep_plugin import log_config, log_metrics, sweep_run
    open(f"ready.{i}", "w").close()  # everything imported: start together (a barrier)
    while sum(os.path.exists(f"ready.{k}") for k in range(n)) < n:
        time.sleep(0.001)
    if how == "sweep_run":
        with sweep_run("concurrent", run_name=f"w{i}", tracking_uri="sqlite:///mlflow.db") as run:
            log_config({"writer": i, "opt": {"lr": 0.1 * i}})
            for step in range(%(steps)d):
                log_metrics({"loss": 1.0 / (step + 1) + i}, step=step)
        print(run.run_id, run.spooled)
    else:  # the log_* helpers with no run: they start MLflow's run themselves, in the
        # Default experiment (mlflow.set_experiment would open the store before them, and
        # MLflow's own creation of a named experiment is not safe against a parallel one)
        mlflow.set_tracking_uri("sqlite:///mlflow.db")
        log_config({"writer": i, "opt": {"lr": 0.1 * i}})
        for step in range(%(steps)d):
            log_metrics({"loss": 1.0 / (step + 1) + i}, step=step)
        run_id = mlflow.active_run().info.run_id
        mlflow.end_run()
        print(run_id, False)
""") % {"steps": N_STEPS}


def test_eight_writers_on_a_fresh_store(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MLFLOW_") or k.startswith("MLFLOW_SWEEP_")}
    env["MLFLOW_SWEEP_SPOOL_DIR"] = str(tmp_path / "spool")
    env["MLFLOW_SWEEP_CACHE_DIR"] = str(tmp_path / "cache")
    env["_MLFLOW_SERVER_ARTIFACT_ROOT"] = (tmp_path / "artifacts").as_uri()
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    procs = [subprocess.Popen([sys.executable, str(script), str(i), str(N_WRITERS),
                               "sweep_run" if i % 2 == 0 else "helpers"],
                              cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
             for i in range(N_WRITERS)]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        outputs.append((proc.returncode, out, err))
    failed = [(i, rc, err[-3000:]) for i, (rc, _, err) in enumerate(outputs) if rc != 0]
    assert not failed, failed
    run_ids = {}
    for i, (_, out, _) in enumerate(outputs):
        run_id, spooled = out.split()[-2:]
        assert spooled == "False", (i, outputs[i][2][-2000:])  # logged, not spooled
        run_ids[i] = run_id
    assert not (tmp_path / "spool").exists() or not any((tmp_path / "spool").iterdir())

    db = tmp_path / "mlflow.db"
    con = sqlite3.connect(db)  # the database opens, and MLflow's schema is complete
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert not [t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'")
                if t.startswith("_alembic_tmp")]
    con.close()
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{db}")
    exp = client.get_experiment_by_name("concurrent")
    runs = {r.info.run_id: r for r in client.search_runs([exp.experiment_id, "0"])}
    assert set(runs) == set(run_ids.values()), (sorted(runs), run_ids)
    for i, run_id in run_ids.items():
        run = runs[run_id]
        assert run.info.status == "FINISHED"
        assert run.data.params["writer"] == str(i) and run.data.params["opt.lr"] == str(0.1 * i)
        history = sorted((m.step, m.value) for m in client.get_metric_history(run_id, "loss"))
        assert history == [(s, 1.0 / (s + 1) + i) for s in range(N_STEPS)], (i, history)
    assert os.path.exists(f"{db}.lock")  # initialised under the lock beside it


def test_ensure_sqlite_store_creates_once_under_the_lock(tmp_path, monkeypatch):
    from mlflow_sweep_plugin.stores import ensure_sqlite_store, require_store

    monkeypatch.setenv("_MLFLOW_SERVER_ARTIFACT_ROOT", (tmp_path / "artifacts").as_uri())
    uri = f"sqlite:///{tmp_path / 'new' / 'mlflow.db'}"
    ensure_sqlite_store(uri)
    assert require_store(uri) == uri  # a complete MLflow database
    assert (tmp_path / "new" / "mlflow.db.lock").exists()
    ensure_sqlite_store("http://127.0.0.1:9")  # other stores: left to MLflow, no call made
    ensure_sqlite_store(None)


def test_import_hydra_initialises_a_fresh_store_under_the_lock(sweep_cli, tmp_path):
    import shutil

    sweep = tmp_path / "sweep"
    shutil.copytree(os.path.join(os.path.dirname(__file__), "data", "hydra_multirun"), sweep)
    db = tmp_path / "fresh" / "mlflow.db"
    res = sweep_cli("import-hydra", sweep, "--tracking-uri", f"sqlite:///{db}")
    assert res.exit_code == 0, (res.stderr, res.exception)
    assert db.exists() and os.path.exists(f"{db}.lock")


def test_readable_store_is_the_one_preamble_of_reading_commands(tmp_path, sweep_store):
    from mlflow_sweep_plugin.errors import NoTrackingStore
    from mlflow_sweep_plugin.stores import readable_store

    missing = f"sqlite:///{tmp_path / 'nowhere' / 'mlflow.db'}"
    with pytest.raises(NoTrackingStore):
        readable_store(missing)
    assert not (tmp_path / "nowhere").exists()  # never created
    assert readable_store(sweep_store.tracking_uri) == sweep_store.tracking_uri
    assert readable_store(None) == sweep_store.tracking_uri  # $MLFLOW_TRACKING_URI, set by the fixture
