"""What does the Hydra callback cost a multirun, beyond logging the same runs with plain
MLflow calls?

A small Hydra app (a composed config like Hydra's ``6_composition`` example, each job
returning a number) runs ``--multirun`` in fresh interpreters against a fresh copy of one
migrated sqlite store, in three variants:

- ``hydra``: no tracking at all (Hydra's own cost, for reference);
- ``plain``: the baseline, a ten-line callback that logs the same runs with MLflow's
  fluent API (a parent run; per job a nested run with the overrides and the flattened
  config as params, the return value as a metric, the job directory as artifacts);
  ``import mlflow`` and opening the store are paid here too;
- ``ours``: ``mlflow_sweep_plugin.hydra.MLflowSweepCallback`` as configured by default
  (its end-of-sweep table and report included); ``ours-no-report``: with ``report: false``.

Each variant runs with 1 and with 1 + ``--more`` jobs, variants interleaved, ``-r`` times;
from the medians, ``per job = (t(1 + more) - t(1)) / more`` and ``fixed = t(1) - per job``.
Printed: each variant's fixed and per-job seconds, ours minus the baseline (the targets:
at most 1 s fixed and 0.1 s per job), and ours / baseline.

Then, unless ``--no-profile``, one run of ``ours`` under cProfile says where its time goes:
the import of the callback's modules and each hook (summed over the jobs), and the
functions of ours that take the most.

Usage: ``python benchmarks/bench_hydra_callback.py [-r 3] [--more 6] [--no-profile]``.
"""

from __future__ import annotations

import argparse
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = """\
defaults:
  - db: mysql
  - schema: school
  - _self_
lr: 0.01
seed: 0
hydra:
  job:
    chdir: true
  sweep:
    dir: multirun
    subdir: ${hydra.job.num}
"""

DB = {"mysql": "driver: mysql\nuser: omry\npass: secret\n",
      "postgresql": "driver: postgresql\nuser: postgres_user\npass: drowssap\ntimeout: 10\n"}
SCHEMA = "database: school\ntables:\n  - name: students\n    fields: [name, class]\n" \
         "  - name: exams\n    fields: [profession, time, class]\n"

APP = """\
import hydra


@hydra.main(config_path="conf", config_name="config", version_base=None)
def main(cfg):
    return cfg.lr * (cfg.seed + 1)


if __name__ == "__main__":
    main()
"""

PLAIN_CALLBACK = '''\
"""The baseline: the same runs logged with MLflow's fluent API."""
import mlflow
from hydra.core.utils import JobStatus
from hydra.experimental.callback import Callback
from omegaconf import OmegaConf


def _flat(value, prefix):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flat(v, f"{prefix}.{k}")
    else:
        yield prefix, value


class PlainMLflowCallback(Callback):
    def on_multirun_start(self, config, **kwargs):
        mlflow.set_experiment("bench")
        mlflow.start_run(run_name=config.hydra.job.name)

    def on_job_start(self, config, **kwargs):
        overrides = list(config.hydra.overrides.task)
        mlflow.start_run(run_name=",".join(overrides) or "job", nested=True)
        cfg = OmegaConf.to_container(config, resolve=True)
        cfg.pop("hydra", None)
        params = dict(o.split("=", 1) for o in overrides)
        params.update(_flat(cfg, "config"))
        mlflow.log_params(params)

    def on_job_end(self, config, job_return, **kwargs):
        ok = job_return.status == JobStatus.COMPLETED
        if ok:
            mlflow.log_metric("return_value", float(job_return.return_value))
        mlflow.log_artifacts(config.hydra.runtime.output_dir)
        mlflow.end_run(status="FINISHED" if ok else "FAILED")

    def on_multirun_end(self, config, **kwargs):
        mlflow.end_run()
'''

CALLBACKS = {
    "hydra": None,
    "plain": {"_target_": "plain_callback.PlainMLflowCallback"},
    "ours": {"_target_": "mlflow_sweep_plugin.hydra.MLflowSweepCallback", "experiment_name": "bench"},
    "ours-no-report": {"_target_": "mlflow_sweep_plugin.hydra.MLflowSweepCallback",
                       "experiment_name": "bench", "report": False},
}


def write_app(root: Path) -> Path:
    app = root / "app"
    (app / "conf" / "db").mkdir(parents=True)
    (app / "conf" / "schema").mkdir()
    (app / "conf" / "config.yaml").write_text(CONFIG)
    for name, text in DB.items():
        (app / "conf" / "db" / f"{name}.yaml").write_text(text)
    (app / "conf" / "schema" / "school.yaml").write_text(SCHEMA)
    (app / "app.py").write_text(APP)
    (app / "plain_callback.py").write_text(PLAIN_CALLBACK)
    return app


def make_template(root: Path) -> Path:
    """A migrated sqlite store with the experiment ``bench`` (its artifacts under ``root``)."""
    from mlflow.tracking import MlflowClient

    path = root / "template.db"
    MlflowClient(f"sqlite:///{path}").create_experiment("bench", artifact_location=(root / "artifacts").as_uri())
    return path


def overrides(n_jobs: int) -> list[str]:
    """``n_jobs`` jobs: one per seed, the other config group switched."""
    return ["db=postgresql", f"seed=range(0,{n_jobs})"]


def callback_overrides(variant: str) -> list[str]:
    cb = CALLBACKS[variant]
    if cb is None:
        return []
    return [f"+hydra.callbacks.cb.{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in cb.items()]


def run(app: Path, template: Path, work: Path, variant: str, n_jobs: int, profile: Path | None = None) -> float:
    """Seconds for one multirun of ``variant`` with ``n_jobs`` jobs, in a fresh interpreter
    against a fresh copy of the store."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shutil.copyfile(template, work / "mlflow.db")
    env = dict(os.environ, MLFLOW_TRACKING_URI=f"sqlite:///{work / 'mlflow.db'}",
               PYTHONPATH=os.pathsep.join(p for p in (str(app), os.environ.get("PYTHONPATH")) if p))
    for var in ("MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID"):
        env.pop(var, None)
    python = [sys.executable] + (["-m", "cProfile", "-o", str(profile)] if profile else [])
    cmd = [*python, str(app / "app.py"), "--multirun", f"hydra.sweep.dir={work / 'sweep'}",
           *callback_overrides(variant), *overrides(n_jobs)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work)
    dt = time.perf_counter() - t
    if proc.returncode != 0 or "warning" in proc.stderr:
        raise SystemExit(f"{variant} ({n_jobs} jobs) failed:\n{proc.stderr[-3000:]}")
    jobs = [p for p in (work / "sweep").iterdir() if p.is_dir()]
    assert len(jobs) == n_jobs, (variant, n_jobs, jobs)
    return dt


HOOKS = ("on_multirun_start", "on_job_start", "on_job_end", "on_multirun_end")


def where_the_time_goes(profile: Path, n_jobs: int) -> None:
    stats = pstats.Stats(str(profile))
    rows = []  # (cumulative seconds, what)
    imports = 0.0
    ours = []
    for (filename, _line, name), (_cc, nc, _tt, ct, _callers) in stats.stats.items():
        mine = "mlflow_sweep_plugin" in filename
        if mine and name in HOOKS and filename.endswith("callback.py"):
            rows.append((ct, f"{name} ({nc} call(s))"))
        elif mine and name == "<module>" and filename.endswith(os.path.join("hydra", "__init__.py")):
            imports = ct
        if mine and name not in HOOKS and name != "wrapper" and not name.startswith("<"):
            ours.append((ct, nc, f"{os.path.relpath(filename, Path(__file__).resolve().parents[1])}:{name}"))
    total = max(ct for (_f, _l, _n), (_cc, _nc, _tt, ct, _c) in stats.stats.items())
    print(f"\nwhere ours' time goes ({n_jobs} jobs, under cProfile: {total:.2f} s in all)")
    print(f"  {imports:6.2f} s  import mlflow_sweep_plugin.hydra (MLflow's import included)")
    for ct, what in sorted(rows, reverse=True):
        print(f"  {ct:6.2f} s  {what}")
    print("  our functions by cumulative time (nested: they overlap):")
    for ct, nc, what in sorted(ours, reverse=True)[:18]:
        print(f"  {ct:6.2f} s  {nc:5d}x  {what}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-r", "--repeats", type=int, default=3)
    ap.add_argument("--more", type=int, default=6, help="jobs beyond the first in the longer sweep")
    ap.add_argument("--variants", default="hydra,plain,ours,ours-no-report")
    ap.add_argument("--no-profile", action="store_true")
    args = ap.parse_args()
    variants = args.variants.split(",")
    counts = (1, 1 + args.more)
    with tempfile.TemporaryDirectory(prefix="bench-hydra-") as tmp:
        root = Path(tmp)
        app = write_app(root)
        template = make_template(root)
        times = {(v, n): [] for v in variants for n in counts}
        for rep in range(args.repeats):
            for n in counts:
                for v in (variants if rep % 2 == 0 else variants[::-1]):
                    times[(v, n)].append(run(app, template, root / "work", v, n))
        med = {k: statistics.median(ts) for k, ts in times.items()}
        fit = {}
        print(f"median of {args.repeats} runs, fresh interpreter and store copy each; "
              f"{counts[0]} and {counts[1]} jobs, basic launcher")
        print(f"{'variant':16s} {'t(1)':>7s} {'t(%d)' % counts[1]:>7s} {'fixed':>7s} {'per job':>8s}")
        for v in variants:
            per_job = (med[(v, counts[1])] - med[(v, counts[0])]) / args.more
            fit[v] = (med[(v, counts[0])] - per_job, per_job)
            print(f"{v:16s} {med[(v, counts[0])]:7.2f} {med[(v, counts[1])]:7.2f} {fit[v][0]:7.2f} "
                  f"{per_job:8.3f}")
        if "plain" in fit:
            base_fixed, base_job = fit["plain"]
            for v in variants:
                if not v.startswith("ours"):
                    continue
                fixed, job = fit[v][0] - base_fixed, fit[v][1] - base_job
                ratio = med[(v, counts[1])] / med[("plain", counts[1])]
                print(f"{v} - plain: fixed {fixed:+.2f} s (target <= 1 s: {'ok' if fixed <= 1 else 'MISSED'}), "
                      f"per job {job:+.3f} s (target <= 0.1 s: {'ok' if job <= 0.1 else 'MISSED'}); "
                      f"ours / plain at {counts[1]} jobs: {ratio:.2f}x")
        if not args.no_profile:
            profile = root / "ours.prof"
            run(app, template, root / "work", "ours", counts[1], profile=profile)
            where_the_time_goes(profile, counts[1])


if __name__ == "__main__":
    main()
