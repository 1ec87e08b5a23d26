"""The Hydra sweeper against Hydra's Optuna sweeper on the same app (issue 27):
``python benchmarks/bench_hydra_sweeper.py [--trials 16] [--seeds 0 1]``.

One app, one discrete space (5 learning rates x 4 layer counts x 2 config-group choices =
40 configurations, the optimum known), both sweepers with TPE, the same sampler seed and
the same budget of jobs, 2 jobs handed to the launcher at a time, the mlflow-sweep
callback on both (so both sweeps are in MLflow). Real multiruns in subprocesses against a
throwaway sqlite store. Measured, per sampler seed:

- jobs launched until the first job at the optimum (``-`` when none reached it), and the
  distinct configurations among the jobs (Optuna's sweeper runs a configuration TPE
  proposes again; the mlflow_sweep sweeper tells the sampler the known value instead and
  does not launch it);
- what each records in MLflow: runs, and on the parent the spec, the best so far (metric
  and params) and the strategy.

Prints a Markdown table (docs/how-to/hydra-sweeper.md quotes one).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile

from mlflow.tracking import MlflowClient

LRS = "0.0001,0.001,0.01,0.1,1.0"
OPTIMUM = 0.1  # lr=0.01, layers=1, db=postgresql

APP = '''\
import math

import hydra


@hydra.main(config_path="conf", config_name="config", version_base=None)
def main(cfg):
    import mlflow

    loss = (math.log10(cfg.lr) + 2) ** 2 + 0.1 * cfg.layers + cfg.db.penalty
    mlflow.log_metric("loss", loss)
    return loss


if __name__ == "__main__":
    main()
'''

COMMON = """\
lr: 0.01
layers: 2
hydra:
  job: {{chdir: true}}
  sweep: {{dir: multirun, subdir: "${{hydra.job.num}}"}}
  callbacks:
    mlflow_sweep:
      _target_: mlflow_sweep_plugin.hydra.MLflowSweepCallback
      experiment_name: {experiment}
      report: false
"""

MLFLOW_SWEEP = """\
defaults:
  - db: mysql
  - override hydra/sweeper: mlflow_sweep
  - _self_
{common}  sweeper:
    strategy: tpe
    max_trials: {trials}
    max_runs: {trials}
    max_parallel: 2
    sampler_seed: {seed}
    objective: {{metric: loss, mode: min}}
    params:
      lr: choice({lrs})
      layers: range(1, 5)
      db: choice(mysql, postgresql)
"""

OPTUNA = """\
defaults:
  - db: mysql
  - override hydra/sweeper: optuna
  - override hydra/sweeper/sampler: tpe
  - _self_
{common}  sweeper:
    direction: minimize
    n_trials: {trials}
    n_jobs: 2
    sampler: {{seed: {seed}}}
    params:
      lr: choice({lrs})
      layers: range(1, 5)
      db: choice(mysql, postgresql)
"""


def run(root: pathlib.Path, uri: str, sweeper: str, seed: int, trials: int) -> dict:
    experiment = f"{sweeper}-{seed}"
    app = root / experiment
    (app / "conf" / "db").mkdir(parents=True)
    (app / "conf" / "db" / "mysql.yaml").write_text("penalty: 0.5\n")
    (app / "conf" / "db" / "postgresql.yaml").write_text("penalty: 0.0\n")
    template = MLFLOW_SWEEP if sweeper == "mlflow_sweep" else OPTUNA
    (app / "conf" / "config.yaml").write_text(template.format(
        common=COMMON.format(experiment=experiment), trials=trials, seed=seed, lrs=LRS))
    (app / "app.py").write_text(APP)
    env = dict(os.environ, MLFLOW_TRACKING_URI=uri)
    proc = subprocess.run([sys.executable, "app.py", "--multirun"], cwd=app, env=env,
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"{sweeper} (seed {seed}) failed:\n{proc.stderr[-3000:]}")
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], max_results=1000, order_by=["attributes.start_time ASC"])
    parent = next(r for r in runs if r.data.tags.get("mlflow_sweep.role") == "parent")
    children = sorted((r for r in runs if r.data.tags.get("mlflow_sweep.role") == "child"),
                      key=lambda r: int(r.data.tags["mlflow_sweep.hydra.job"]))
    losses = [r.data.metrics.get("loss") for r in children]
    first = next((i + 1 for i, v in enumerate(losses) if v is not None and abs(v - OPTIMUM) < 1e-9), None)
    configs = {(r.data.params.get("lr"), r.data.params.get("layers"), r.data.params.get("db")) for r in children}
    artifacts = [f.path for f in client.list_artifacts(parent.info.run_id, "mlflow_sweep")] \
        if sweeper == "mlflow_sweep" else []
    return {"sweeper": sweeper, "seed": seed, "jobs": len(children), "distinct": len(configs),
            "first_at_optimum": first, "best": min(v for v in losses if v is not None), "runs": len(runs),
            "parent_best": "mlflow_sweep.best.loss" in parent.data.metrics,
            "parent_spec": any(a.endswith("sweep.json") for a in artifacts),
            "strategy_tag": parent.data.tags.get("mlflow_sweep.strategy", "-")}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-hydra-sweeper-") as tmp:
        root = pathlib.Path(tmp)
        uri = f"sqlite:///{root / 'mlflow.db'}"
        rows = [run(root, uri, sweeper, seed, args.trials)
                for seed in args.seeds for sweeper in ("mlflow_sweep", "optuna")]
    print(f"TPE, {args.trials} jobs each, 40 configurations, optimum loss {OPTIMUM}\n")
    print("| sweeper | sampler seed | jobs | distinct configurations | job reaching the optimum | best loss "
          "| MLflow runs | best on parent | spec on parent | strategy tag |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['sweeper']} | {r['seed']} | {r['jobs']} | {r['distinct']} | {r['first_at_optimum'] or '-'} "
              f"| {r['best']:.3g} | {r['runs']} | {'yes' if r['parent_best'] else 'no'} "
              f"| {'yes' if r['parent_spec'] else 'no'} | {r['strategy_tag']} |")


if __name__ == "__main__":
    main()
