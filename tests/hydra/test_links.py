"""``import-hydra`` and the Hydra callback never read through a link out of the sweep
directory: a job's ``.hydra/config.yaml``, ``.hydra/overrides.yaml``, ``cfg.yaml``,
``facts/metrics.csv``, a linked ``.hydra/`` or ``facts/`` directory and the sweep's
``multirun.yaml`` that resolve elsewhere are refused with a warning, as the artifact
filter refuses links; an alias bomb in a job's config is refused before OmegaConf
expands it."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from mlflow_sweep_plugin.testing import artifact_paths

DATA = pathlib.Path(__file__).parent.parent / "data" / "hydra_multirun"
SECRET = "hunter2-outside"


def _outside(tmp_path) -> pathlib.Path:
    """Files an attacker (or a careless link) points a job at, outside the sweep."""
    out = tmp_path / "outside"
    (out / "hydra").mkdir(parents=True)
    (out / "facts").mkdir()
    config = f"db:\n  password: {SECRET}\n  host: evil.example\nlr: qqq_outside\n"
    (out / "config.yaml").write_text(config)
    (out / "overrides.yaml").write_text("- lr=qqq_outside\n- db.host=evil.example\n")
    (out / "hydra" / "config.yaml").write_text(config)
    (out / "hydra" / "overrides.yaml").write_text("- lr=qqq_outside\n")
    metrics = "epoch,step,stolen_loss\n0,1,42.0\n"
    (out / "metrics.csv").write_text(metrics)
    (out / "facts" / "metrics.csv").write_text(metrics)
    (out / "multirun.yaml").write_text("hydra:\n  job:\n    name: stolen\n")
    return out


def _job(sweep: pathlib.Path, num: int) -> pathlib.Path:
    job = sweep / str(num)
    shutil.copytree(DATA / "0", job)
    return job


def _sweep_with_links(tmp_path) -> pathlib.Path:
    out = _outside(tmp_path)
    sweep = tmp_path / "multirun" / "2025-12-01_10-00-00"
    sweep.mkdir(parents=True)
    (sweep / "multirun.yaml").symlink_to(out / "multirun.yaml")
    _job(sweep, 0)  # untouched: imported as usual
    j1 = _job(sweep, 1)  # files linked out of the sweep
    (j1 / ".hydra" / "config.yaml").unlink()
    (j1 / ".hydra" / "config.yaml").symlink_to(out / "config.yaml")
    (j1 / ".hydra" / "overrides.yaml").unlink()
    (j1 / ".hydra" / "overrides.yaml").symlink_to(out / "overrides.yaml")
    (j1 / "facts" / "metrics.csv").unlink()
    (j1 / "facts" / "metrics.csv").symlink_to(out / "metrics.csv")
    (j1 / "cfg.yaml").unlink()
    (j1 / "cfg.yaml").symlink_to(out / "config.yaml")
    j2 = _job(sweep, 2)  # directories linked out of the sweep
    shutil.rmtree(j2 / ".hydra")
    (j2 / ".hydra").symlink_to(out / "hydra", target_is_directory=True)
    shutil.rmtree(j2 / "facts")
    (j2 / "facts").symlink_to(out / "facts", target_is_directory=True)
    (j2 / "cfg.yaml").unlink()
    (j2 / "cfg.yaml").symlink_to(out / "config.yaml")
    return sweep


def _children(client, experiment):
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, experiment
    runs = client.search_runs([exp.experiment_id], max_results=100)
    parents = [r for r in runs if r.data.tags.get("mlflow_sweep.role") == "parent"]
    children = {r.data.tags["mlflow_sweep.hydra.job"]: r for r in runs
                if r.data.tags.get("mlflow_sweep.role") == "child"}
    return parents, children


def _everything_logged(client, run) -> str:
    history = [f"{k}={m.value}" for k in run.data.metrics for m in client.get_metric_history(run.info.run_id, k)]
    return "\n".join([run.info.run_name or "", *map(str, run.data.params.items()),
                      *map(str, run.data.tags.items()), *history])


def test_import_hydra_never_reads_through_links_out_of_the_sweep(sweep_store, sweep_cli, tmp_path):
    sweep = _sweep_with_links(tmp_path)
    res = sweep_cli("import-hydra", sweep)
    assert res.exit_code == 0, (res.stderr, res.exception)
    client = sweep_store.client
    assert client.get_experiment_by_name("stolen") is None  # multirun.yaml's name was not read
    parents, children = _children(client, sweep.name)
    assert len(parents) == 1 and sorted(children) == ["0", "1", "2"]
    for key in ("1", "2"):
        logged = _everything_logged(client, children[key])
        assert SECRET not in logged and "evil.example" not in logged and "qqq_outside" not in logged, (key, logged)
        assert "stolen_loss" not in children[key].data.metrics
        assert children[key].info.status == "FINISHED"  # a refused file is no failure of the job
    good = children["0"].data
    assert good.params.get("config.model.lr") or good.params  # the untouched job: as before
    assert "multirun.yaml" not in artifact_paths(client, parents[0].info.run_id)
    for key in ("1", "2"):  # nor are the linked files uploaded (the artifact filter)
        files = artifact_paths(client, children[key].info.run_id)
        assert not any(f.endswith(("config.yaml", "overrides.yaml", "metrics.csv")) for f in files), files
    refused = [line for line in res.stderr.splitlines() if "a link leading out of the sweep directory" in line]
    said = "\n".join(refused)
    for what in ("multirun.yaml", ".hydra/config.yaml", ".hydra/overrides.yaml", "cfg.yaml",
                 "facts/metrics.csv"):
        assert f"{what}: a link leading out of the sweep directory" in said, (what, res.stderr)
    assert all(line.startswith("mlflow-sweep: warning: ") for line in refused)
    assert SECRET not in res.stderr


def test_a_link_inside_the_sweep_is_read(sweep_store, sweep_cli, tmp_path):
    sweep = tmp_path / "multirun" / "inside"
    sweep.mkdir(parents=True)
    _job(sweep, 0)
    j1 = _job(sweep, 1)
    (j1 / ".hydra" / "config.yaml").unlink()
    (j1 / ".hydra" / "config.yaml").symlink_to(sweep / "0" / ".hydra" / "config.yaml")
    res = sweep_cli("import-hydra", sweep)
    assert res.exit_code == 0, (res.stderr, res.exception)
    assert "a link leading out" not in res.stderr
    _, children = _children(sweep_store.client, "inside")
    assert children["1"].data.params == children["0"].data.params


def test_an_alias_bomb_config_is_refused_before_omegaconf_expands_it(sweep_store, sweep_cli, tmp_path):
    sweep = tmp_path / "multirun" / "bomb"
    sweep.mkdir(parents=True)
    _job(sweep, 0)
    j1 = _job(sweep, 1)
    bomb = "l0: &l0 [1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
        f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]\n" for i in range(1, 9))
    (j1 / ".hydra" / "config.yaml").write_text(bomb)
    (j1 / "cfg.yaml").write_text(bomb)
    res = sweep_cli("import-hydra", sweep, "--no-flatten")
    assert res.exit_code == 0, (res.stderr, res.exception)
    assert ".hydra/config.yaml: more than 2,000,000 values" in res.stderr
    _, children = _children(sweep_store.client, "bomb")
    assert not any(k.startswith("config.l") for k in children["1"].data.params)


APP = '''\
import os
import sys

import hydra


@hydra.main(config_path=None, config_name=None, version_base=None)
def main(cfg):
    os.makedirs("facts", exist_ok=True)  # the job's metrics are a link to a file elsewhere
    os.symlink(sys.argv[0] + ".metrics.csv", "facts/metrics.csv")
    return 0


if __name__ == "__main__":
    main()
'''


def test_the_callback_never_reads_through_links_out_of_the_sweep(sweep_store, tmp_path):
    pytest.importorskip("hydra")
    app = tmp_path / "app.py"
    app.write_text(APP)
    pathlib.Path(f"{app}.metrics.csv").write_text("epoch,step,stolen_loss\n0,1,42.0\n")
    sweep = tmp_path / "sweep"
    env = dict(os.environ, MLFLOW_TRACKING_URI=sweep_store.tracking_uri)
    res = subprocess.run(
        [sys.executable, str(app), "--multirun", f"hydra.sweep.dir={sweep}", "hydra.job.chdir=true",
         "+x=1,2", "+hydra.callbacks.mlflow_sweep._target_=mlflow_sweep_plugin.hydra.MLflowSweepCallback",
         "+hydra.callbacks.mlflow_sweep.experiment_name=linked", "+hydra.callbacks.mlflow_sweep.flatten=false"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "facts/metrics.csv: a link leading out of the sweep directory" in res.stderr, res.stderr[-3000:]
    _, children = _children(sweep_store.client, "linked")
    assert sorted(children) == ["0", "1"]
    for run in children.values():
        assert "stolen_loss" not in run.data.metrics
        assert run.info.status == "FINISHED"
