"""The Hydra callback under launchers that run each job in a process of its own: joblib's
workers and submitit (``submitit_local``: each job a separate submitit process, as on
SLURM). Real multiruns of an app written here, in subprocesses, against a sqlite store:
the runs are the same as with Hydra's basic launcher, one parent per sweep, closed once;
a job killed from outside is KILLED; when the submitting process is gone, ``mlflow-sweep
import-hydra`` closes the parent. The callback's state pickles to plain strings, and a
job needs nothing of the submitting host (a SLURM-style job in a scrubbed environment).
Few jobs each: every multirun starts Python processes."""

from __future__ import annotations

import os
import pathlib
import pickle
import signal
import subprocess
import sys
import time

import pytest

from hydra_test_helpers import IDENTITY_TAGS, hydra_yaml, multirun, snapshot, sweep_files, sweep_runs, write_app
from mlflow_sweep_plugin.testing import artifact_paths

pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
pytest.importorskip("hydra_plugins.hydra_submitit_launcher")

CONFIG = """\
lr: 0.1
mode: ok       # ok | raise | sigkill (the job's process is killed, as by the OOM killer)
sleep: 0.0
""" + hydra_yaml("app")

APP = '''\
import logging
import os
import signal
import time

import hydra

log = logging.getLogger(__name__)


@hydra.main(config_path="conf", config_name="config", version_base=None)
def main(cfg):
    time.sleep(cfg.sleep)
    if cfg.mode == "raise":
        raise ValueError(f"bad lr {cfg.lr}")
    if cfg.mode == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    os.makedirs("facts", exist_ok=True)
    with open("facts/metrics.csv", "w") as fh:
        fh.write(f"epoch,step,loss\\n0,9,{cfg.lr}\\n1,19,{cfg.lr / 2}\\n")
    log.info("trained lr=%s", cfg.lr)
    import mlflow

    mlflow.log_metric("own", cfg.lr)  # the job's own call: into its child run
    return cfg.lr


if __name__ == "__main__":
    main()
'''

# tags that name the run, its parent, the store, the directory or the launcher
_IDENTITY_TAGS = IDENTITY_TAGS | {"mlflow_sweep.hydra.sweep_dir", "mlflow_sweep.executor", "mlflow_sweep.job_id",
                                  "mlflow_sweep.log_dir"}


@pytest.fixture
def app(tmp_path) -> pathlib.Path:
    return write_app(tmp_path / "app", CONFIG, APP)


def _multirun(store, app, sweep_dir, experiment, *overrides, wait=True, stderr=False):
    return multirun(store, app, sweep_dir, f"hydra.callbacks.mlflow_sweep.experiment_name={experiment}",
                    *overrides, timeout=400, wait=wait, stderr=stderr)


def _snapshot(client, run):
    return snapshot(client, run, _IDENTITY_TAGS)


def _submitit_logs(sweep_dir: pathlib.Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sweep_dir.glob(".submitit/*/*_log.*"))


@pytest.mark.slow  # real processes for a minute or more: CI's slow group
def test_joblib_and_submitit_jobs_log_what_the_basic_launcher_logs(sweep_store, app, tmp_path):
    client = sweep_store.client
    sweeps, procs = {}, {}
    started = time.monotonic()
    for launcher, extra in (("basic", []), ("joblib", ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]),
                            ("submitit_local", ["hydra/launcher=submitit_local"])):
        modes = "ok,raise,sigkill" if launcher == "submitit_local" else "ok,raise"
        # the three sweeps at once, into one store (their jobs too: 7 writers)
        procs[launcher] = _multirun(sweep_store, app, tmp_path / launcher, launcher, "lr=0.5",
                                    f"mode={modes}", *extra, wait=False, stderr=True)
    for launcher, proc in procs.items():
        _out, err = proc.communicate(timeout=400)
        assert proc.returncode == 1, (launcher, err[-3000:])
        parent, children = sweep_runs(client, launcher)
        done = subprocess.CompletedProcess(proc.args, proc.returncode, _out, err)
        sweeps[launcher] = (parent, children, done, tmp_path / launcher, time.monotonic() - started)

    basic = {k: _snapshot(client, c) for k, c in sweeps["basic"][1].items()}
    assert [basic[k]["status"] for k in "01"] == ["FINISHED", "FAILED"]
    assert basic["0"]["metrics"] == {"loss": [(9, 0.5), (19, 0.25)], "epoch": [(9, 0.0), (19, 1.0)],
                                     "own": [(0, 0.5)], "return_value": [(0, 0.5)]}
    assert basic["1"]["tags"]["mlflow_sweep.error"] == "ValueError: bad lr 0.5"
    for launcher in ("joblib", "submitit_local"):
        parent, children, proc, sweep_dir, took = sweeps[launcher]
        snaps = {k: _snapshot(client, c) for k, c in children.items()}
        assert {k: snaps[k] for k in "01"} == basic, launcher  # the same runs, job by job
        for child in children.values():
            assert child.data.tags["mlflow_sweep.executor"] == launcher
        # one parent, closed once, by the submitting process (the jobs never close it)
        assert parent.info.status == "FAILED"
        output = proc.stderr + _submitit_logs(sweep_dir)
        assert output.count(f"parent run {parent.info.run_id} FAILED") == 1, output[-3000:]
        assert "sweep_table.csv" in artifact_paths(client, parent.info.run_id)

    # submitit: the scheduler's job id and log folder on each child; the job killed from
    # outside (no result, no word in its logs) is KILLED, ended by the submitting process
    _parent, children, proc, sweep_dir, _ = sweeps["submitit_local"]
    for child in children.values():
        job_id = child.data.tags["mlflow_sweep.job_id"]
        log_dir = pathlib.Path(child.data.tags["mlflow_sweep.log_dir"])
        assert log_dir == (sweep_dir / ".submitit" / job_id).resolve() and log_dir.is_dir()
        assert (log_dir / f"{job_id}_0_log.out").exists()
    killed = children["2"]
    assert killed.info.status == "KILLED"
    assert "ended without a result" in killed.data.tags["mlflow_sweep.error"]
    assert sweeps["submitit_local"][0].data.tags["mlflow_sweep.n_failed"] == "2"
    print({k: f"{v[4]:.0f}s" for k, v in sweeps.items()})


@pytest.mark.slow  # real processes for a minute or more: CI's slow group
def test_the_parent_is_closed_by_import_hydra_when_the_submitting_process_is_gone(
        sweep_store, sweep_cli, app, tmp_path):
    client = sweep_store.client
    sweep_dir = tmp_path / "sweep"
    proc = _multirun(sweep_store, app, sweep_dir, "gone", "hydra/launcher=submitit_local",
                     "lr=0.1,0.2", "sleep=6", wait=False)
    try:  # wait for both jobs to run, then kill the submitting process (a lost login session)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            exp = client.get_experiment_by_name("gone")
            runs = client.search_runs([exp.experiment_id]) if exp else []
            if sum(r.data.tags.get("mlflow_sweep.role") == "child" for r in runs) == 2:
                break
            time.sleep(0.5)
        else:
            pytest.fail("the jobs did not start")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # submitit's local jobs outlive it; wait for their results
    deadline = time.monotonic() + 240
    while len(list(sweep_dir.glob(".submitit/*/*_result.pkl"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(1)
    parent, children = sweep_runs(client, "gone")
    assert parent.info.status == "RUNNING"  # nobody closed it
    assert [children[k].info.status for k in "01"] == ["FINISHED", "FINISHED"]

    # the repair: import-hydra of the directory (its experiment from the sweep record)
    res = sweep_cli("import-hydra", str(sweep_dir))
    assert res.exit_code == 0, (res.stderr, res.exception)
    assert "imported 0 job(s) (0 failed), skipped 2 already logged" in res.stderr
    parent2, children2 = sweep_runs(client, "gone")
    assert parent2.info.run_id == parent.info.run_id
    assert parent2.info.status == "FINISHED"
    assert (parent2.data.tags["mlflow_sweep.n_children"], parent2.data.tags["mlflow_sweep.n_failed"]) == ("2", "0")
    assert sweep_files(client, parent.info.run_id) == ["multirun.yaml", "sweep_table.csv"]
    assert {k: c.info.run_id for k, c in children2.items()} == {k: c.info.run_id for k, c in children.items()}


# -- the state that travels to a job -------------------------------------------------------
JOB_SCRIPT = r"""
import os, pickle, sys
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf

state_file, job_dir, job_id = sys.argv[1:4]
if state_file == "fresh":  # a callback built anew on the node: no state, no environment
    import time
    import mlflow
    from mlflow_sweep_plugin.hydra import MLflowSweepCallback
    callback = MLflowSweepCallback(experiment_name="fresh", tracking_uri=sys.argv[4])
    barrier, n = sys.argv[5], int(sys.argv[6])
    open(os.path.join(barrier, f"ready.{job_id}"), "w").close()
    while len(os.listdir(barrier)) < n:  # every process starts at the same moment
        time.sleep(0.002)
else:
    with open(state_file, "rb") as fh:
        callback = pickle.load(fh)
sweep_dir = os.path.dirname(job_dir)
num = int(os.path.basename(job_dir))
os.makedirs(os.path.join(job_dir, ".hydra"), exist_ok=True)
config = OmegaConf.create({
    "lr": num, "hydra": {
        "mode": "MULTIRUN", "sweep": {"dir": sweep_dir, "subdir": str(num)},
        "runtime": {"output_dir": job_dir, "choices": {"hydra/launcher": "submitit_slurm"}},
        "job": {"name": "app", "num": num, "id": job_id},
        "launcher": {"_target_": "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher",
                     "submitit_folder": "${hydra.sweep.dir}/.submitit/%j"},
        "overrides": {"task": [f"lr={num}"]}}})
OmegaConf.save(OmegaConf.create({"lr": num}), os.path.join(job_dir, ".hydra", "config.yaml"))
os.chdir(job_dir)
callback.on_job_start(config=config, task_function=None)
ret = JobReturn()
ret.status = JobStatus.COMPLETED
ret.return_value = num
callback.on_job_end(config=config, job_return=ret)
print("job done", flush=True)
"""


def _scrubbed_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "SUBMITIT_"))}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    return env


def test_the_callback_state_is_plain_and_a_job_needs_nothing_of_the_submitting_host(sweep_store, tmp_path):
    from omegaconf import OmegaConf

    from mlflow_sweep_plugin.hydra import MLflowSweepCallback

    client = sweep_store.client
    sweep_dir = tmp_path / "sweep"
    callback = MLflowSweepCallback(experiment_name="pickled")
    config = OmegaConf.create({"hydra": {
        "mode": "MULTIRUN", "sweep": {"dir": str(sweep_dir)}, "job": {"name": "app"},
        "runtime": {"choices": {"hydra/launcher": "submitit_slurm"}},
        "launcher": {"_target_": "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"},
        "overrides": {"task": ["lr=0,1"]}}})
    callback.on_multirun_start(config=config)
    try:
        state = callback.__getstate__()
        identity = state["_identity"]
        assert set(identity) == {"tracking_uri", "experiment_id", "parent_run_id", "sweep_id",
                                 "sweep_name", "sweep_dir"}
        assert all(isinstance(v, str) for v in identity.values())
        assert identity["tracking_uri"] == sweep_store.tracking_uri
        blob = pickle.dumps(callback)
        settings = {k: v for k, v in vars(callback).items() if not k.startswith("_")}
        assert {k: v for k, v in vars(pickle.loads(blob)).items() if not k.startswith("_")} == settings
        for word in (b"MlflowClient", b"sqlalchemy", b"HydraSweepLog", b"ExitStack"):
            assert word not in blob, word
        state_file = tmp_path / "callback.pkl"
        state_file.write_bytes(blob)
        # the job: another process, another directory, no MLFLOW_* variable
        elsewhere = tmp_path / "node"
        elsewhere.mkdir()
        proc = subprocess.run([sys.executable, "-c", JOB_SCRIPT, str(state_file), str(sweep_dir / "0"),
                               "4242_0"], capture_output=True, text=True, env=_scrubbed_env(),
                              cwd=elsewhere, timeout=300)
        assert proc.returncode == 0 and "job done" in proc.stdout, proc.stderr[-3000:]
        assert "warning" not in proc.stderr, proc.stderr[-3000:]
        child = client.search_runs([identity["experiment_id"]], "tags.`mlflow_sweep.role` = 'child'")[0]
        assert child.data.tags["mlflow.parentRunId"] == identity["parent_run_id"]
        assert child.data.tags["mlflow_sweep.executor"] == "submitit_slurm"
        assert child.data.tags["mlflow_sweep.job_id"] == "4242_0"
        assert child.info.status == "FINISHED" and child.data.params["lr"] == "0"
        assert client.get_run(identity["parent_run_id"]).info.status == "RUNNING"  # not the job's to close
    finally:
        callback.on_multirun_end(config=config)
    assert client.get_run(identity["parent_run_id"]).info.status == "FINISHED"
    assert "MLFLOW_SWEEP_PARENT_RUN_ID" not in os.environ  # the sweep's environment is gone


def test_jobs_that_start_at_once_without_a_parent_make_one(sweep_store, tmp_path):
    client = sweep_store.client
    sweep_dir = tmp_path / "sweep"
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", JOB_SCRIPT, "fresh", str(sweep_dir / str(i)), f"77_{i}",
                               sweep_store.tracking_uri, str(barrier), "3"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=_scrubbed_env(), cwd=tmp_path)
             for i in range(3)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0 and "job done" in out, err[-3000:]
    exp = client.get_experiment_by_name("fresh")
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if r.data.tags.get("mlflow_sweep.role") == "parent"]
    children = [r for r in runs if r.data.tags.get("mlflow_sweep.role") == "child"]
    assert len(parents) == 1 and len(children) == 3
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parents[0].info.run_id}
