"""``mlflow-sweep import-hydra`` of a submitit multirun directory: jobs that died on the
cluster are imported FAILED/KILLED with the reason from submitit's own record (its
``.submitit/<job id>/`` folder: the result file, read without unpickling, and the
stdout/stderr logs where SLURM's ``slurmstepd`` says why it killed a job). The
directory is written here in the layout ``hydra-submitit-launcher`` and SLURM leave
(the live ``submitit_local`` runs are in tests/hydra/test_launchers.py)."""

from __future__ import annotations

import pathlib
import pickle

from mlflow_sweep_plugin.sweep.submitit_records import job_record, result_outcome
from mlflow_sweep_plugin.testing import artifact_paths

ARRAY = "9001"
START = ("submitit INFO (2025-11-01 10:00:00,000) - Starting with JobEnvironment(job_id={id}, "
         "hostname=node7, local_rank=0(1), node=0(1), global_rank=0(1))\n")
TRACEBACK = ("Traceback (most recent call last):\n  File \"submitit/core/submission.py\", line 55, in "
             "process_job\n    result = delayed.result()\nRuntimeError: CUDA error: an illegal memory "
             "access was encountered\n")


class _Boom:
    """Unpickling this creates a marker file: proof that a result file was unpickled."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def _job(sweep: pathlib.Path, num: int, *, out: str = "", err: str = "", result=None,
         job_dir: bool = True) -> str:
    job_id = f"{ARRAY}_{num}"
    if job_dir:
        job = sweep / str(num)
        (job / ".hydra").mkdir(parents=True)
        (job / ".hydra" / "overrides.yaml").write_text(f"- lr={num}\n")
        (job / ".hydra" / "config.yaml").write_text(f"lr: {num}\n")
        (job / ".hydra" / "hydra.yaml").write_text(
            "hydra:\n"
            "  launcher:\n"
            "    submitit_folder: ${hydra.sweep.dir}/.submitit/%j\n"
            "    partition: gpu\n"
            "    _target_: hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher\n"
            f"  job:\n    name: train\n    id: '{job_id}'\n    num: {num}\n"
            "  runtime:\n    choices:\n      hydra/launcher: submitit_slurm\n")
        (job / "train.log").write_text("[2025-11-01 10:00:01,000][__main__][INFO] - epoch 0\n")
    folder = sweep / ".submitit" / job_id
    folder.mkdir(parents=True)
    (folder / f"{job_id}_submitted.pkl").write_bytes(pickle.dumps(
        ("hydra-submitit-launcher's arguments", [f"lr={num}"], "hydra.sweep.dir", num, f"job_id_for_{num}")))
    (folder / f"{job_id}_0_log.out").write_text(START.format(id=job_id) + out)
    (folder / f"{job_id}_0_log.err").write_text(err)
    if result is not None:
        (folder / f"{job_id}_0_result.pkl").write_bytes(pickle.dumps(result))
    return job_id


def _sweep_dir(root: pathlib.Path, marker: pathlib.Path) -> pathlib.Path:
    sweep = root / "multirun" / "2025-11-01_10-00-00"
    sweep.mkdir(parents=True)
    (sweep / "multirun.yaml").write_text(
        "hydra:\n  job:\n    name: train\n  overrides:\n    task:\n    - lr=0,1,2,3,4,5\n")
    stepd = "slurmstepd: error: *** JOB 9001 ON node7 CANCELLED AT 2025-11-01T11:00:00 DUE TO {} ***\n"
    _job(sweep, 0, result=("success", _Boom(marker)))  # a result holds arbitrary objects
    _job(sweep, 1, err=stepd.format("TIME LIMIT"))
    _job(sweep, 2, err=stepd.format("PREEMPTION"))
    _job(sweep, 3, err="slurmstepd: error: Detected 1 oom-kill event(s) in StepId=9001_3.0. Some of your "
                       "processes may have been killed by the cgroup out-of-memory handler.\n")
    _job(sweep, 4, result=("error", TRACEBACK))
    # preempted once, requeued by submitit, then done: only the last attempt counts
    _job(sweep, 5, out=("submitit WARNING (2025-11-01 10:30:00,000) - Caught signal SIGUSR2 on node7: "
                        "this job is preempted.\n" + START.format(id=f"{ARRAY}_5")),
         result=("success", None))
    _job(sweep, 6, err=stepd.format("TIME LIMIT"), job_dir=False)  # died before Hydra made its dir
    return sweep


def test_result_files_are_read_without_unpickling(tmp_path):
    marker = tmp_path / "unpickled"
    path = tmp_path / "r.pkl"
    path.write_bytes(pickle.dumps(("success", _Boom(marker))))
    assert result_outcome(str(path)) == ("success", None)
    path.write_bytes(pickle.dumps(("error", TRACEBACK)))
    assert result_outcome(str(path)) == ("error", TRACEBACK)
    path.write_bytes(b"not a pickle")
    assert result_outcome(str(path)) is None
    assert result_outcome(str(tmp_path / "missing.pkl")) is None
    assert not marker.exists()
    # a job with no result and no word about its end has not ended, as far as its folder says
    (tmp_path / "1_0_log.out").write_text(START.format(id=1) + "epoch 3\n")
    record = job_record(str(tmp_path), "1")
    assert (record.ended, record.status) == (False, None)


def test_import_a_submitit_sweep_with_jobs_the_cluster_killed(sweep_store, sweep_cli, tmp_path):
    marker = tmp_path / "unpickled"
    sweep = _sweep_dir(tmp_path, marker)
    res = sweep_cli("import-hydra", str(sweep))
    assert res.exit_code == 0, (res.stderr, res.exception)
    assert "imported 6 job(s) (4 failed), skipped 0" in res.stderr
    orphan = [line for line in res.stderr.splitlines() if "left no Hydra job directory" in line]
    assert len(orphan) == 1 and orphan[0].startswith("mlflow-sweep: warning: ")
    assert "job 6 (submitit job 9001_6)" in orphan[0] and "KILLED (timed out: slurmstepd" in orphan[0]

    client = sweep_store.client
    exp = client.get_experiment_by_name("train")
    runs = client.search_runs([exp.experiment_id])
    children = {r.data.tags["mlflow_sweep.hydra.job"]: r for r in runs
                if r.data.tags.get("mlflow_sweep.role") == "child"}
    (parent,) = [r for r in runs if r.data.tags.get("mlflow_sweep.role") == "parent"]
    assert sorted(children) == ["0", "1", "2", "3", "4", "5"]
    status = {k: (c.info.status, c.data.tags.get("mlflow_sweep.error")) for k, c in children.items()}
    assert status["0"] == ("FINISHED", None) and status["5"] == ("FINISHED", None)
    assert status["1"][0] == "KILLED" and status["1"][1].startswith("timed out: slurmstepd: error: *** JOB")
    assert status["2"][0] == "KILLED" and status["2"][1].startswith("preempted: ")
    assert status["3"][0] == "FAILED" and status["3"][1].startswith("out of memory: slurmstepd: error: "
                                                                      "Detected 1 oom-kill event(s)")
    assert status["4"] == ("FAILED", "RuntimeError: CUDA error: an illegal memory access was encountered")
    for num, child in children.items():
        tags = child.data.tags
        assert tags["mlflow_sweep.executor"] == "submitit_slurm"
        assert tags["mlflow_sweep.job_id"] == f"{ARRAY}_{num}"
        assert tags["mlflow_sweep.log_dir"] == str((sweep / ".submitit" / f"{ARRAY}_{num}").resolve())
        assert child.data.params["lr"] == num
        assert ".submitit" not in " ".join(artifact_paths(client, child.info.run_id))
    assert parent.info.status == "FAILED"
    assert (parent.data.tags["mlflow_sweep.n_children"], parent.data.tags["mlflow_sweep.n_failed"]) == ("6", "4")
    assert not marker.exists()

    res = sweep_cli("import-hydra", str(sweep))  # again: nothing new, nothing changed
    assert res.exit_code == 0 and "imported 0 job(s) (0 failed), skipped 6" in res.stderr
    again = client.search_runs([exp.experiment_id])
    assert len(again) == len(runs)
    assert {r.info.run_id: r.info.status for r in again} == {r.info.run_id: r.info.status for r in runs}
