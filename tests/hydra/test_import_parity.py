"""``import-hydra`` reproduces the callback's runs: two real multiruns logged by the
callback (Hydra's basic sweeper, with a failing job, and the Optuna sweeper), their
directories imported into a second store, the two stores compared run by run; and a job's
return value as a metric, live and imported.

Both multiruns run once for the module, at the same time (a Hydra app in a subprocess
costs seconds)."""

from __future__ import annotations

import shutil

import pytest
import yaml

from hydra_test_helpers import OPTUNA_CONFIG, hydra_yaml, multirun, snapshot, wait_for_report, write_app
from mlflow_sweep_plugin.hydra import import_sweep
from mlflow_sweep_plugin.testing import sqlite_store

pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")

# two real multiruns and their imports: ~15 s alone, a minute on a busy machine
pytestmark = pytest.mark.slow

BASIC_CONFIG = """\
defaults:
  - _self_
lr: 0.01
""" + hydra_yaml("basic")

BASIC_APP = '''\
import os

import hydra


@hydra.main(config_path="conf", config_name="config", version_base=None)
def main(cfg):
    if cfg.lr > 1:
        raise ValueError(f"lr {cfg.lr} diverged")
    os.makedirs("facts", exist_ok=True)
    with open("facts/metrics.csv", "w") as fh:
        fh.write("epoch,step,loss\\n0,9,%r\\n1,19,%r\\n" % (1 - cfg.lr, 1 - 2 * cfg.lr))
    if cfg.lr == 0.5:  # a dict: its numbers, one metric each
        return {"loss": 0.25, "acc": 3, "note": "text", "nested": {"a": 1}, "flag": True}
    if cfg.lr == 0.3:  # not a number: nothing
        return "done"
    return cfg.lr * 2


if __name__ == "__main__":
    main()
'''


OPTUNA_APP = """\
import hydra


@hydra.main(config_path="conf", config_name="config", version_base=None)
def main(cfg):
    return (cfg.lr - 0.05) ** 2 + cfg.layers  # Optuna's objective: logged as return_value


if __name__ == "__main__":
    main()
"""

SECRET = "tok-5551234"


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory, sweep_store_template):
    """Both multiruns logged live into one store, then imported into another."""
    root = tmp_path_factory.mktemp("parity")
    live = sqlite_store(root / "live", sweep_store_template)
    imported = sqlite_store(root / "imported", sweep_store_template)
    for store in (live, imported):  # (their artifacts under the test's directory)
        for name in ("basic", "optuna"):
            store.create_experiment(name)
    basic = write_app(root / "basic_app", BASIC_CONFIG, BASIC_APP)
    optuna = write_app(root / "optuna_app", OPTUNA_CONFIG, OPTUNA_APP)
    dirs = {"basic": root / "basic_sweep", "optuna": root / "optuna_sweep"}
    procs = {"basic": multirun(live, basic, dirs["basic"], "lr=0.1,2.0,0.5,0.3", f"+api.token={SECRET}",
                               wait=False),
             "optuna": multirun(live, optuna, dirs["optuna"], wait=False)}
    outputs = {name: proc.communicate(timeout=300)[0] for name, proc in procs.items()}
    for name in procs:  # (the callback's report: made in the background after the sweep)
        assert wait_for_report(live.client, _runs(live, name)["parent"].info.run_id) \
            .data.tags["mlflow_sweep.report.state"] == "done"
    assert procs["basic"].returncode == 1 and "lr 2.0 diverged" in outputs["basic"], outputs["basic"][-3000:]
    assert procs["optuna"].returncode == 0, outputs["optuna"][-3000:]
    results = {name: import_sweep(str(path), tracking_uri=imported.tracking_uri) for name, path in dirs.items()}
    return {"live": live, "imported": imported, "dirs": dirs, "outputs": outputs, "results": results}


def _runs(store, experiment: str) -> dict:
    """The sweep's runs in ``experiment``: ``parent`` and each child by its Hydra job."""
    client = store.client
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    out = {}
    for run in runs:
        role = run.data.tags.get("mlflow_sweep.role")
        key = "parent" if role == "parent" else run.data.tags.get("mlflow_sweep.hydra.job", run.info.run_id)
        assert key not in out, f"two runs for {key}"
        out[key] = run
    return out


def _comparable(client, run) -> dict:
    """What a run holds (:func:`snapshot`), its report's version (a time and a random
    suffix: ``report/<version>/``) left out."""
    snap = snapshot(client, run)
    version = snap["tags"].pop("mlflow_sweep.report.path", None)
    if version:
        snap["artifacts"] = sorted(p.replace(version + "/", "report/<version>/") for p in snap["artifacts"])
    return snap


@pytest.mark.parametrize("experiment, n_jobs", [("basic", 4), ("optuna", 3)])
def test_the_import_logs_what_the_callback_logged(sweeps, experiment, n_jobs):
    live, imported = sweeps["live"], sweeps["imported"]
    live_runs, imported_runs = _runs(live, experiment), _runs(imported, experiment)
    assert sorted(live_runs) == sorted(imported_runs) == sorted(["parent", *map(str, range(n_jobs))])
    for key, run in live_runs.items():
        assert _comparable(imported.client, imported_runs[key]) == _comparable(live.client, run), key
    parent = live_runs["parent"]
    assert parent.info.run_name == parent.data.tags["mlflow_sweep.sweep_name"] == "app"  # the job name
    assert parent.data.tags["mlflow_sweep.hydra.sweeper"] == experiment
    assert sweeps["results"][experiment]["imported"] == n_jobs


def test_the_sweep_s_overrides_are_on_the_parent_and_in_its_record_without_credentials(sweeps):
    parent = _runs(sweeps["imported"], "basic")["parent"]
    assert parent.data.tags["mlflow_sweep.hydra.overrides"] == "lr=0.1,2.0,0.5,0.3 +api.token=***"
    record = (sweeps["dirs"]["basic"] / "mlflow_sweep.yaml").read_text()
    assert SECRET not in record
    assert yaml.safe_load(record)["overrides"] == ["lr=0.1,2.0,0.5,0.3", "+api.token=***"]
    # Optuna's sweeper writes no multirun.yaml: the record has what the callback logged
    assert not (sweeps["dirs"]["optuna"] / "multirun.yaml").exists()
    optuna = _runs(sweeps["imported"], "optuna")["parent"]
    assert optuna.data.tags["mlflow_sweep.hydra.overrides"] == ""


def test_a_job_s_return_value_is_a_metric(sweeps):
    client = sweeps["live"].client
    runs = _runs(sweeps["live"], "basic")
    metrics = {key: runs[key].data.metrics for key in "0123"}
    assert metrics["0"]["return_value"] == pytest.approx(0.2)
    assert not any(k.startswith("return_value") for k in metrics["1"])  # it raised
    assert {k: v for k, v in metrics["2"].items() if k.startswith("return_value")} == \
        {"return_value/loss": 0.25, "return_value/acc": 3.0}  # text, a dict, a bool: not numbers
    assert not any(k.startswith("return_value") for k in metrics["3"])  # text: nothing
    assert [(m.step, m.value) for m in client.get_metric_history(runs["0"].info.run_id, "return_value")] == \
        [(0, pytest.approx(0.2))]
    assert "warning" not in sweeps["outputs"]["basic"]
    recorded = yaml.safe_load((sweeps["dirs"]["basic"] / "2" / ".hydra" / "job_return.yaml").read_text())
    assert recorded == {"status": "FINISHED", "metrics": {"return_value/loss": 0.25, "return_value/acc": 3.0}}

    optuna = _runs(sweeps["live"], "optuna")
    trials = [optuna[k] for k in "012"]
    for trial in trials:
        p = trial.data.params
        assert trial.data.metrics["return_value"] == pytest.approx((float(p["lr"]) - 0.05) ** 2 + int(p["layers"]))
    best = yaml.safe_load((sweeps["dirs"]["optuna"] / "optimization_results.yaml").read_text())
    assert best["best_value"] == pytest.approx(min(t.data.metrics["return_value"] for t in trials))


def test_without_the_callback_s_records_the_sweep_is_named_and_tagged_from_hydra_s(sweeps, tmp_path):
    """The Optuna sweep's directory as if the callback had not run (no mlflow_sweep.yaml,
    no job_return.yaml, no multirun.yaml): named after the job, not the directory."""
    plain = tmp_path / "plain_optuna_dir"
    shutil.copytree(sweeps["dirs"]["optuna"], plain)
    (plain / "mlflow_sweep.yaml").unlink()
    for path in plain.glob("*/.hydra/job_return.yaml"):
        path.unlink()
    store = sweeps["imported"]
    store.create_experiment("plain")
    import_sweep(str(plain), tracking_uri=store.tracking_uri, experiment_name="plain")
    runs = _runs(store, "plain")
    parent = runs["parent"]
    assert parent.info.run_name == "app" and parent.data.tags["mlflow_sweep.sweep_name"] == "app"
    assert parent.data.tags["mlflow_sweep.hydra.sweeper"] == "optuna"
    assert "mlflow_sweep.hydra.overrides" not in parent.data.tags  # nothing recorded the sweep's
    assert all(runs[k].data.tags["mlflow_sweep.sweep_name"] == "app" for k in "012")
    assert all("return_value" not in runs[k].data.metrics for k in "012")  # nothing recorded it

