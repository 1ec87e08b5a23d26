"""Search engine benchmarks (issue 25): ``python benchmarks/bench_search.py [--quick]``.

First in-process, on a toy objective with a known optimum (:mod:`toy_objective`)
evaluated by the engine's own loop (proposal, observation of the history, the pruner's
decision, recording): the engine's decisions and its own cost. Then the same comparisons
with **real child processes** (``--real`` sections, run by default):

4. TPE against random search (one trial at a time) and early stopping, each trial a real
   process printing its learning curve (``toy_objective.py``), pruned ones stopped by
   killing their process group, as the backend's loop does.
5. The backend's overhead per run through ``mlflow run --backend sweep`` on a sqlite store
   (the ``idle`` entry point of examples/search_project sleeps a given time): the wall
   time of a 6-run and a 2-run sweep (one run at a time); the difference over 4 runs,
   less the 4 runs' own sleep, is the cost per run of proposing, creating and tagging the
   run, starting its process, watching and recording it, as a share of a 10-second run.

1. TPE against random search: runs until a configuration within 10 % of the optimum,
   median over 5 sampler seeds.
2. Early stopping: steps run by random search with the median pruner against the same
   search without it (same sampler seed, so the same configurations), and both bests.
3. The engine's overhead per run (propose + observe per step + prune decision + record),
   as a share of a 10-second run.
"""

from __future__ import annotations

import statistics
import time

from mlflow_sweep_plugin.search.engine import Engine
from mlflow_sweep_plugin.search.spec import parse_search
from toy_objective import STEPS, history

OPTIMUM = 0.0
SPACE = {"lr": {"low": 1e-5, "high": 1.0, "log": True}, "wd": {"low": 1e-6, "high": 1e-1, "log": True},
         "dropout": {"low": 0.0, "high": 0.6}, "layers": {"low": 1, "high": 8}}


def run(strategy, seed, max_trials, early_stop=None, stop_at=None):
    config = {"strategy": strategy, "max_trials": max_trials, "sampler_seed": seed, "space": SPACE,
              "objective": {"metric": "loss", "mode": "min", "agg": "last"}}
    if early_stop:
        config["early_stop"] = early_stop
    engine = Engine(parse_search(config))
    runs = steps_run = 0
    first_hit = None
    while not engine.done():
        p = engine.propose()
        if p is None:
            break
        points = history(p.config)
        pruned = None
        for s in range(1, STEPS + 1):
            engine.observe(p.index, points[:s])
            if early_stop and (pruned := engine.should_prune(p.trial)):
                points = points[:s]
                break
        steps_run += len(points)
        engine.record(p.index, "KILLED" if pruned else "FINISHED", points, run_id=str(p.index), pruned=pruned)
        runs += 1
        best = engine.best_config()
        if first_hit is None and best and best[0] <= (stop_at or -1):
            first_hit = runs
    return engine, runs, steps_run, first_hit


def main() -> None:
    target = OPTIMUM + 1.0 + 0.1  # the curves end at loss + 1: within 10 % of the best reachable 1.0
    hits = {}
    for strategy in ("random", "tpe"):
        hits[strategy] = [run(strategy, seed, 150, stop_at=target)[3] or 151 for seed in range(5)]
    print(f"runs to reach within 10 % of the optimum (median of 5 seeds): "
          f"random {statistics.median(hits['random'])}, tpe {statistics.median(hits['tpe'])} "
          f"(per seed: random {hits['random']}, tpe {hits['tpe']})")
    plain, _, steps_plain, _ = run("random", 0, 60)
    pruned, _, steps_pruned, _ = run("random", 0, 60, early_stop={"pruner": "median", "min_steps": 3,
                                                                  "n_startup_trials": 5})
    print(f"early stopping (median pruner): {steps_pruned} steps against {steps_plain} "
          f"({100 * (1 - steps_pruned / steps_plain):.0f} % saved); best {pruned.best_config()[0]:.4f} "
          f"against {plain.best_config()[0]:.4f}")
    start = time.perf_counter()
    engine, runs, _, _ = run("tpe", 0, 100, early_stop={"pruner": "median", "min_steps": 3})
    per_run = (time.perf_counter() - start) / runs
    print(f"engine overhead per run (TPE, median pruner, {STEPS} observations each): "
          f"{per_run * 1000:.1f} ms = {100 * per_run / 10:.2f} % of a 10-second run")


def run_processes(strategy, seed, max_trials, early_stop=None, stop_at=None, parallel=4, step_s=0.005):
    """The engine's loop over real child processes (see the module docstring, 4)."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import threading

    config = {"strategy": strategy, "max_trials": max_trials, "sampler_seed": seed, "space": SPACE,
              "objective": {"metric": "loss", "mode": "min", "agg": "last"}, "max_parallel": parallel}
    if early_stop:
        config["early_stop"] = early_stop
    engine = Engine(parse_search(config))
    child = os.path.join(os.path.dirname(os.path.abspath(__file__)), "toy_objective.py")
    running, runs, steps_run, first_hit = {}, 0, 0, None

    def read(proc, points):
        for line in proc.stdout:
            step, value = line.split()
            points.append((int(step), int(step), float(value)))

    while not engine.done():
        while len(running) < parallel and (p := engine.propose()) is not None:
            proc = subprocess.Popen([sys.executable, child, json.dumps(p.config), str(step_s)],
                                    stdout=subprocess.PIPE, text=True, start_new_session=True)
            points: list = []
            reader = threading.Thread(target=read, args=(proc, points), daemon=True)
            reader.start()
            running[p.index] = (p, proc, points, reader)
        if not running:
            break
        time.sleep(0.02)
        for index, (p, proc, points, reader) in list(running.items()):
            engine.observe(index, list(points))
        ended = [(i, None) for i, (_, proc, _, _) in running.items() if proc.poll() is not None]
        for trial in engine.running_trials():
            reason = engine.should_prune(trial)
            if reason:
                for index in engine.running_indexes(trial):
                    os.killpg(running[index][1].pid, signal.SIGTERM)
                    ended.append((index, reason))
        for index, reason in ended:
            p, proc, points, reader = running.pop(index)
            proc.wait()
            reader.join()
            steps_run += len(points)
            engine.record(index, "KILLED" if reason else "FINISHED", list(points), run_id=str(index), pruned=reason)
            runs += 1
            best = engine.best_config()
            if first_hit is None and best and best[0] <= (stop_at or -1):
                first_hit = runs
    return engine, runs, steps_run, first_hit


def real_processes(quick: bool) -> None:
    target = OPTIMUM + 1.0 + 0.1
    n = 3 if quick else 5
    limit = 80 if quick else 150
    # one trial at a time, as the in-process comparison (TPE in parallel proposes without
    # the results still running); steps printed without a pause: the run is a process start
    hits = {s: [run_processes(s, seed, limit, stop_at=target, parallel=1, step_s=0.0)[3] or limit + 1
                for seed in range(n)] for s in ("random", "tpe")}
    print(f"[real processes] runs to reach within 10 % of the optimum (median of {n} seeds): "
          f"random {statistics.median(hits['random'])}, tpe {statistics.median(hits['tpe'])} "
          f"(per seed: random {hits['random']}, tpe {hits['tpe']})")
    plain, _, steps_plain, _ = run_processes("random", 0, 40, parallel=1)
    pruned, _, steps_pruned, _ = run_processes("random", 0, 40, parallel=1, early_stop={
        "pruner": "median", "min_steps": 3, "n_startup_trials": 5})
    print(f"[real processes] early stopping (median pruner): {steps_pruned} steps against {steps_plain} "
          f"({100 * (1 - steps_pruned / steps_plain):.0f} % saved); best {pruned.best_config()[0]:.4f} "
          f"against {plain.best_config()[0]:.4f}")


def backend_overhead() -> None:
    import json
    import os
    import pathlib
    import subprocess
    import sys
    import tempfile

    project = pathlib.Path(__file__).resolve().parents[1] / "examples" / "search_project"
    sleep_s = 2.0

    def sweep(root: str, n: int) -> float:
        config = {"grid": {"seconds": [sleep_s + i / 1000 for i in range(n)]}, "sweep_name": f"overhead-{n}",
                  "report": False}
        env = dict(os.environ, MLFLOW_TRACKING_URI=f"sqlite:///{root}/mlflow.db", MLFLOW_EXPERIMENT_NAME="bench")
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mlflow", "run", str(project), "-e", "idle", "--env-manager",
                        "local", "--backend", "sweep", "--backend-config", json.dumps(config)],
                       env=env, cwd=root, check=True, capture_output=True)
        return time.perf_counter() - start

    with tempfile.TemporaryDirectory() as root:
        sweep(root, 1)  # the store is created once, outside the measurement
        small, large = sweep(root, 2), sweep(root, 6)
    per_run = (large - small) / 4 - sleep_s
    print(f"[real processes] backend overhead per run (mlflow run --backend sweep, sqlite): "
          f"{per_run:.2f} s = {100 * per_run / 10:.1f} % of a 10-second run "
          f"(2 runs {small:.1f} s, 6 runs {large:.1f} s, each sleeping {sleep_s} s)")


if __name__ == "__main__":
    import sys as _sys

    main()
    real_processes(quick="--quick" in _sys.argv)
    backend_overhead()
