"""mlflow_sweep_plugin.hydra.callback: what the callback carries into a job's pickle —
its settings and the sweep's identity, plain strings, no credentials, nothing of the
submitting process. (The callback's hooks run under Hydra in test_callback.py.)"""

from __future__ import annotations

import pickle

from omegaconf import OmegaConf

from mlflow_sweep_plugin.hydra.callback import MLflowSweepCallback, _multirun_mode, _redact_keys

IDENTITY = {"tracking_uri": "http://alice:pw@tracking:5000", "experiment_id": "1", "parent_run_id": "p1",
            "sweep_id": "s1", "sweep_name": "grid", "sweep_dir": "/shared/multirun"}


def test_settings_from_the_apps_yaml():
    callback = MLflowSweepCallback(experiment_name="e", redact_keys=OmegaConf.create(["wandb_key"]),
                                   report_objective="val_loss", report_mode="min")
    assert callback.redact_keys == ["wandb_key"]
    assert callback.report == {"objective": "val_loss", "mode": "min"}
    assert MLflowSweepCallback(report=False).report is None
    assert _redact_keys("one") == ["one"] and _redact_keys(None) is None


def test_the_pickle_holds_settings_and_identity_without_credentials():
    callback = MLflowSweepCallback(experiment_name="e", include_models=True)
    callback._multirun = True
    callback._identity = dict(IDENTITY)
    callback._sweep = object()  # this process's own state: a client, an open run ...
    callback._open = True
    state = callback.__getstate__()
    assert "_sweep" not in state and "_open" not in state
    assert state["_identity"]["tracking_uri"] is None  # the job reads $MLFLOW_TRACKING_URI
    assert state["_identity"]["parent_run_id"] == "p1"
    assert callback._identity["tracking_uri"] == IDENTITY["tracking_uri"]  # ours is unchanged

    job_side = pickle.loads(pickle.dumps(callback))
    assert job_side.experiment_name == "e" and job_side.include_models is True and job_side._multirun
    assert job_side._sweep is None and job_side._open is False  # it closes no parent
    assert b"alice" not in pickle.dumps(callback)


def test_multirun_mode_reads_hydras_mode():
    assert _multirun_mode(OmegaConf.create({"hydra": {"mode": "RunMode.MULTIRUN"}}))
    assert not _multirun_mode(OmegaConf.create({"hydra": {"mode": "RunMode.RUN"}}))
    assert not _multirun_mode(OmegaConf.create({}))
