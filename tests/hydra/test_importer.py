"""mlflow_sweep_plugin.hydra.importer (with .sweep_log, which logs what it reads): a
finished multirun directory logged as one parent and one child per job — statuses from
the directory, secrets hidden, nothing duplicated on a second import — on a real store."""

from __future__ import annotations

import pathlib
import shutil

import pytest
import yaml

from mlflow_sweep_plugin.hydra.importer import import_sweep
from mlflow_sweep_plugin.hydra.sweep_log import HydraSweepLog
from mlflow_sweep_plugin.tags import (KIND_HYDRA, ROLE_CHILD, TAG_ERROR, TAG_HYDRA_JOB, TAG_KIND, TAG_N_CHILDREN,
                                      TAG_N_FAILED, TAG_PARENT, TAG_ROLE)

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def sweep_dir(tmp_path):
    sweep = tmp_path / "multirun"
    shutil.copytree(DATA / "hydra_multirun" / "0", sweep / "0")
    shutil.copytree(DATA / "hydra_multirun" / "0", sweep / "1")
    job1 = sweep / "1"
    config = yaml.safe_load((job1 / ".hydra" / "config.yaml").read_text())
    config["db_password"] = "hunter22-secret"
    config["globals_beta"] = 1
    (job1 / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    (job1 / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(["phase1/latent_space=none",
                                                                     "globals_beta=1"]))
    (job1 / "cfg.yaml").unlink()
    (job1 / "train.log").write_text("[2024-01-01 10:00:00] db_password: hunter22-secret\n"
                                    "Traceback (most recent call last):\n  File \"t.py\"\nValueError: diverged\n")
    return sweep


def test_a_multirun_is_logged_once_with_statuses_and_secrets_hidden(sweep_dir, sweep_store):
    client = sweep_store.client
    result = import_sweep(str(sweep_dir), tracking_uri=sweep_store.tracking_uri, experiment_name="hydra",
                          report=False)
    assert {k: result[k] for k in ("jobs", "imported", "skipped", "failed")} == \
        {"jobs": 2, "imported": 2, "skipped": 0, "failed": 1}
    parent = client.get_run(result["parent_run_id"])
    assert (parent.data.tags[TAG_N_CHILDREN], parent.data.tags[TAG_N_FAILED]) == ("2", "1")
    children = {c.data.tags[TAG_HYDRA_JOB]: c for c in client.search_runs(
        [result["experiment_id"]], f"tags.`{TAG_ROLE}` = '{ROLE_CHILD}'")}
    assert set(children) == {"0", "1"}
    ok, failed = children["0"], children["1"]
    assert ok.info.status == "FINISHED" and failed.info.status == "FAILED"
    assert failed.data.tags[TAG_ERROR] == "ValueError: diverged"
    assert failed.data.tags[TAG_PARENT] == parent.info.run_id and failed.data.tags[TAG_KIND] == KIND_HYDRA
    assert "hunter22-secret" not in str(failed.data.params)
    assert ok.data.metrics  # facts/metrics.csv as step metrics
    log = pathlib.Path(client.download_artifacts(failed.info.run_id, "train.log")).read_text()
    assert "hunter22-secret" not in log and "ValueError: diverged" in log
    assert "hunter22-secret" in (sweep_dir / "1" / "train.log").read_text()  # the job's own file untouched

    again = import_sweep(str(sweep_dir), tracking_uri=sweep_store.tracking_uri, experiment_name="hydra",
                         report=False)
    assert (again["imported"], again["skipped"], again["parent_run_id"]) == (0, 2, result["parent_run_id"])
    assert len(client.search_runs([result["experiment_id"]], f"tags.`{TAG_ROLE}` = '{ROLE_CHILD}'")) == 2


def test_a_directory_without_jobs_is_refused(tmp_path, sweep_store):
    with pytest.raises(ValueError, match="holds no Hydra job directories"):
        import_sweep(str(tmp_path), tracking_uri=sweep_store.tracking_uri, report=False)
    with pytest.raises(FileNotFoundError):
        import_sweep(str(tmp_path / "absent"), tracking_uri=sweep_store.tracking_uri, report=False)


def test_the_sweep_logs_identity_is_what_jobs_find(sweep_dir, sweep_store):
    log = HydraSweepLog(str(sweep_dir), tracking_uri=sweep_store.tracking_uri, experiment_name="hydra")
    parent = log.open_parent()
    identity = log.identity()
    assert identity["parent_run_id"] == parent and identity["sweep_dir"] == str(sweep_dir)
    assert identity["tracking_uri"] == sweep_store.tracking_uri
    job_side = HydraSweepLog.attach(identity)  # what a job on another host rebuilds
    assert job_side.identity() == identity
