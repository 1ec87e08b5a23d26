"""Real Hydra apps (written into the test's directory, run with ``--multirun`` in a
subprocess) through the Hydra callback and ``mlflow-sweep import-hydra``: every override
reaches the run as its own param, a job without a metrics file is not a failure, the
callback and the import agree, secrets stay out of MLflow, and warnings are one
``mlflow-sweep: warning:`` line each."""

from __future__ import annotations

import pathlib

import pytest

from hydra_test_helpers import hydra_yaml, multirun, snapshot, sweep_runs, write_app
from mlflow_sweep_plugin.testing import artifact_paths

CONFIG = """\
defaults:
  - db: mysql
  - _self_
lr: 0.01
seed: 0
opt: adam
tag: baseline
fail_above: 1.0
metrics: none          # none | partial: what the job writes as facts/metrics.csv
api:
  token: tok-98765432
""" + hydra_yaml("app")

APP = '''\
"""An app as people write them: it logs its config, writes no metrics file, and logs
the traceback of what went wrong before re-raising it."""
import logging
import os

import hydra
from omegaconf import OmegaConf

log = logging.getLogger(__name__)


@hydra.main(config_path="conf", config_name="config", version_base=None)
def main(cfg):
    log.info("config:\\n%s", OmegaConf.to_yaml(cfg))
    try:
        if cfg.lr > cfg.fail_above:
            raise ValueError(f"lr {cfg.lr} is above {cfg.fail_above}")
    except Exception:
        log.exception("training failed")
        raise
    if cfg.metrics == "partial":
        os.makedirs("facts", exist_ok=True)
        with open("facts/metrics.csv", "w") as fh:
            fh.write("epoch,step,loss\\n0,9,0.5\\n1,19,oops\\n")
    return cfg.lr


if __name__ == "__main__":
    main()
'''

SECRETS = ("hunter2-mysql", "hunter2-pg", "tok-98765432")


@pytest.fixture
def app(tmp_path) -> pathlib.Path:
    return write_app(tmp_path / "app", CONFIG, APP, {
        "db/mysql.yaml": "driver: mysql\nport: 3306\npass: hunter2-mysql\n",
        "db/postgresql.yaml": "driver: postgresql\nport: 5432\npass: hunter2-pg\n"})


def _multirun(store, app: pathlib.Path, sweep_dir: pathlib.Path, experiment: str, *overrides,
              callback: bool = True):
    where = f"hydra.callbacks.mlflow_sweep.experiment_name={experiment}" if callback \
        else "~hydra.callbacks.mlflow_sweep"
    return multirun(store, app, sweep_dir, where, *overrides)


def _import(sweep_cli, path, *args):
    res = sweep_cli("import-hydra", str(path), *args)
    assert res.exit_code == 0, (res.stderr, res.exception)
    return res


# -- data loss: every override is its own param -------------------------------------------
GROUP_FIRST = ["db=mysql", "db.port=1111,2222", "+extra=1", "~tag", "seed=range(3,4)",
               "opt=choice(adam,sgd)"]


@pytest.mark.parametrize("overrides, group", [
    (GROUP_FIRST, "mysql"),
    ([o.replace("mysql", "postgresql") for o in reversed(GROUP_FIRST)], "postgresql"),
], ids=["group-first", "group-last"])
def test_every_override_is_its_own_param_in_any_order(sweep_store, sweep_cli, app, tmp_path,
                                                      overrides, group):
    client = sweep_store.client
    sweep_dir = tmp_path / "sweep"
    proc = _multirun(sweep_store, app, sweep_dir, "live", *overrides)
    assert proc.returncode == 0, proc.stderr[-3000:]
    _, live = sweep_runs(client, "live")
    assert sorted(live) == ["0", "1", "2", "3"]
    seen = set()
    for child in live.values():
        p = child.data.params
        assert p["db"] == group  # the group selection ...
        assert p["db.port"] in ("1111", "2222")  # ... and the swept key under it
        assert p["config.db.port"] == p["db.port"] and p["config.db.driver"] == group
        assert (p["extra"], p["tag"], p["seed"]) == ("1", "(deleted)", "3")
        assert p["opt"] in ("adam", "sgd") and p["config.opt"] == p["opt"]
        assert "config.tag" not in p and p["config.extra"] == "1"
        seen.add((p["db.port"], p["opt"]))
        assert child.data.tags["mlflow_sweep.point"].startswith('{"db": ')
        assert child.data.tags["mlflow_sweep.index"] == child.data.tags["mlflow_sweep.hydra.job"]
    assert seen == {("1111", "adam"), ("1111", "sgd"), ("2222", "adam"), ("2222", "sgd")}

    _import(sweep_cli, sweep_dir, "--experiment-name", "imported")
    _, imported = sweep_runs(client, "imported")
    assert {k: c.data.params for k, c in imported.items()} == {k: c.data.params for k, c in live.items()}


# -- a job with no metrics file is not a failure; the callback and the import agree ----------
def test_jobs_without_metrics_files_callback_and_import_agree(sweep_store, sweep_cli, app, tmp_path):
    client = sweep_store.client
    sweep_dir = tmp_path / "sweep"
    proc = _multirun(sweep_store, app, sweep_dir, "live", "lr=0.1,2.0,0.5")
    assert proc.returncode == 1 and "lr 2.0 is above 1.0" in proc.stderr
    parent, live = sweep_runs(client, "live")
    assert [live[k].info.status for k in "012"] == ["FINISHED", "FAILED", "FINISHED"]
    assert live["1"].data.tags["mlflow_sweep.error"] == "ValueError: lr 2.0 is above 1.0"
    assert all(c.data.tags["mlflow_sweep.metrics_file"] == "absent" for c in live.values())
    assert parent.info.status == "FAILED" and parent.data.tags["mlflow_sweep.n_failed"] == "1"

    res = _import(sweep_cli, sweep_dir, "--experiment-name", "imported")
    assert "imported 3 job(s) (1 failed)" in res.stderr and "warning" not in res.stderr
    iparent, imported = sweep_runs(client, "imported")
    assert {k: snapshot(client, c) for k, c in imported.items()} == \
        {k: snapshot(client, c) for k, c in live.items()}
    assert (iparent.info.status, iparent.data.tags["mlflow_sweep.n_failed"]) == ("FAILED", "1")

    # the same sweep run without the callback, imported: what the directory proves
    plain_dir = tmp_path / "plain"
    proc = _multirun(sweep_store, app, plain_dir, "", "lr=0.1,2.0,0.5", callback=False)
    assert proc.returncode == 1
    assert not (plain_dir / "1" / ".hydra" / "job_return.yaml").exists()
    res = _import(sweep_cli, plain_dir, "--experiment-name", "plain")
    assert "imported 3 job(s) (1 failed)" in res.stderr and "warning" not in res.stderr
    pparent, plain = sweep_runs(client, "plain")
    assert [plain[k].info.status for k in "012"] == ["FINISHED", "FAILED", "FINISHED"]
    assert plain["1"].data.tags["mlflow_sweep.error"] == "ValueError: lr 2.0 is above 1.0"  # from its log
    assert plain["0"].data.tags["mlflow_sweep.metrics_file"] == "absent"
    assert "mlflow_sweep.error" not in plain["0"].data.tags
    assert pparent.info.status == "FAILED"
    for k in "012":
        assert plain[k].data.params == live[k].data.params


# -- secrets ---------------------------------------------------------------------------------
def _all_text(client, run_id, tmp_path) -> str:
    out = []
    tmp_path.mkdir(parents=True, exist_ok=True)  # MLflow 2.x downloads only into a directory that exists
    for rel in artifact_paths(client, run_id):
        path = client.download_artifacts(run_id, rel, str(tmp_path))
        out.append(pathlib.Path(path).read_text(errors="replace"))
    return "\n".join(out)


def test_secrets_are_not_logged(sweep_store, sweep_cli, app, tmp_path):
    client = sweep_store.client
    sweep_dir = tmp_path / "sweep"
    proc = _multirun(sweep_store, app, sweep_dir, "live", "db=postgresql,mysql", "+db.password=pw-override-1",
                     "opt=sgd", "+hydra.callbacks.mlflow_sweep.redact_keys=[opt]")
    assert proc.returncode == 0, proc.stderr[-3000:]
    parent, live = sweep_runs(client, "live")
    for child in live.values():
        p = child.data.params
        assert p["config.db.pass"] == p["config.api.token"] == p["db.password"] == "***"
        assert p["opt"] == p["config.opt"] == "***"  # redact_keys extends the list
        assert p["config.db.driver"] == p["db"]
        everything = "\n".join([child.info.run_name, str(p), str(child.data.tags),
                                _all_text(client, child.info.run_id, tmp_path / child.info.run_id)])
        assert "db.password=***" in child.info.run_name
        assert ".hydra/config.yaml" in artifact_paths(client, child.info.run_id)
        for secret in SECRETS + ("pw-override-1",):
            assert secret not in everything, secret
    parent_text = _all_text(client, parent.info.run_id, tmp_path / "parent") + str(parent.data.tags)
    assert "multirun.yaml" in artifact_paths(client, parent.info.run_id)
    for secret in SECRETS + ("pw-override-1",):
        assert secret not in parent_text, secret

    # import-hydra redacts the same by default; --no-redact logs them as they are
    _import(sweep_cli, sweep_dir, "--experiment-name", "imported")
    _, imported = sweep_runs(client, "imported")
    assert imported["0"].data.params["config.db.pass"] == "***"
    assert imported["0"].data.params["opt"] == "sgd"  # the callback's extra name is its own
    _import(sweep_cli, sweep_dir, "--experiment-name", "clear", "--no-redact")
    _, clear = sweep_runs(client, "clear")
    assert clear["0"].data.params["config.db.pass"] == "hunter2-pg"
    assert clear["0"].data.params["db.password"] == "pw-override-1"


# -- one warning channel ---------------------------------------------------------------------
def test_warnings_are_one_line_each_live_and_through_the_library(sweep_store, app, tmp_path):
    from mlflow_sweep_plugin.hydra import import_sweep
    from mlflow_sweep_plugin.warning_types import SweepWarning

    sweep_dir = tmp_path / "sweep"
    proc = _multirun(sweep_store, app, sweep_dir, "live", "metrics=partial", "lr=0.1,0.2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if "is not a number" in line]
    assert len(lines) == 2, proc.stderr[-3000:]  # one per job
    for line in lines:
        assert line.startswith("mlflow-sweep: warning: run "), line
        assert "facts/metrics.csv: line 3, column 'loss': 'oops' is not a number" in line

    with pytest.warns(SweepWarning) as record:
        result = import_sweep(str(sweep_dir), tracking_uri=sweep_store.tracking_uri,
                              experiment_name="library")
    assert result["imported"] == 2
    texts = [str(w.message) for w in record if isinstance(w.message, SweepWarning)]
    assert sum("'oops' is not a number" in t for t in texts) == 2


def test_a_sweep_hydra_refuses_leaves_a_failed_parent_with_the_reason(sweep_store, app, tmp_path):
    # interval() needs a sweeper that samples (Optuna, Ax); Hydra's basic sweeper refuses it
    # after the callback opened the parent
    proc = _multirun(sweep_store, app, tmp_path / "sweep", "live", "lr=interval(0,1)")
    assert proc.returncode == 1 and "does not support sweep type : INTERVAL_SWEEP" in proc.stderr
    exp = sweep_store.client.get_experiment_by_name("live")
    (parent,) = sweep_store.client.search_runs([exp.experiment_id])
    assert parent.info.status == "FAILED"
    assert parent.data.tags["mlflow_sweep.error"].startswith("the sweep stopped before its end")
    assert parent.data.tags["mlflow_sweep.n_children"] == "0"
    assert parent.data.tags["mlflow_sweep.hydra.overrides"] == "lr=interval(0,1)"
