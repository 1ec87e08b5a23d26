"""A Hydra sweeper other than the basic one: ``hydra-optuna-sweeper`` with the callback
(a real multirun of an app written here, 3 trials): one child per trial with the values
Optuna sampled as its params, the parent closed once with Optuna's best trial."""

from __future__ import annotations

import pathlib

import pytest
import yaml

from hydra_test_helpers import OPTUNA_CONFIG as CONFIG
from hydra_test_helpers import multirun, sweep_files, write_app

pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")

APP = """\
import hydra


@hydra.main(config_path="conf", config_name="config", version_base=None)
def main(cfg):
    loss = (cfg.lr - 0.05) ** 2 + cfg.layers
    import mlflow

    mlflow.log_metric("loss", loss)
    return loss  # Optuna's objective


if __name__ == "__main__":
    main()
"""


def test_optuna_sweeper_one_child_per_trial_with_its_sampled_params(sweep_store, tmp_path):
    app = write_app(tmp_path / "app", CONFIG, APP)
    sweep_dir = tmp_path / "sweep"
    proc = multirun(sweep_store, app, sweep_dir)
    assert proc.returncode == 0, proc.stderr[-3000:]

    client = sweep_store.client
    exp = client.get_experiment_by_name("optuna")
    runs = client.search_runs([exp.experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("mlflow_sweep.role") == "parent"]
    children = sorted((r for r in runs if r.data.tags.get("mlflow_sweep.role") == "child"),
                      key=lambda r: int(r.data.tags["mlflow_sweep.index"]))
    assert len(runs) == 4 and len(children) == 3
    assert [c.data.tags["mlflow_sweep.index"] for c in children] == ["0", "1", "2"]
    sampled = []
    for child in children:
        job = pathlib.Path(sweep_dir) / child.data.tags["mlflow_sweep.index"]
        overrides = dict(o.split("=", 1) for o in yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text()))
        p = child.data.params
        assert (p["lr"], p["layers"]) == (overrides["lr"], overrides["layers"])  # what Optuna sampled
        assert 0.001 <= float(p["lr"]) <= 0.1 and p["layers"] in ("1", "2")
        assert float(p["config.lr"]) == float(p["lr"]) and p["config.layers"] == p["layers"]
        assert child.info.status == "FINISHED"
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.data.tags["mlflow_sweep.point"] == \
            '{"layers": "%s", "lr": "%s"}' % (p["layers"], p["lr"])
        assert child.data.metrics["loss"] == pytest.approx((float(p["lr"]) - 0.05) ** 2 + int(p["layers"]))
        sampled.append(p["lr"])
    assert len(set(sampled)) == 3

    assert parent.info.status == "FINISHED"
    assert parent.data.tags["mlflow_sweep.hydra.sweeper"] == "optuna"
    assert (parent.data.tags["mlflow_sweep.n_children"], parent.data.tags["mlflow_sweep.n_failed"]) == ("3", "0")
    # (Optuna's sweeper writes no multirun.yaml; its results file is on the parent)
    assert sweep_files(client, parent.info.run_id) == ["optimization_results.yaml", "sweep_table.csv"]
    best = yaml.safe_load(open(client.download_artifacts(parent.info.run_id, "optimization_results.yaml",
                                                         str(tmp_path))))
    winner = min(children, key=lambda c: c.data.metrics["loss"])
    assert best["best_value"] == pytest.approx(winner.data.metrics["loss"])
    assert float(best["best_params"]["lr"]) == pytest.approx(float(winner.data.params["lr"]))
    assert proc.stderr.count(f"parent run {parent.info.run_id} FINISHED (3 job(s), 0 failed)") == 1
