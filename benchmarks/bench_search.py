"""Search engine benchmarks (issue 25): ``python benchmarks/bench_search.py``.

In-process, on toy objectives with a known optimum evaluated by the engine's own loop
(proposal, observation of the history, the pruner's decision, recording): what is
measured is the engine's decisions and its own cost. The same comparisons with real
child processes through ``mlflow run --backend sweep`` are to be added when the backend
runs the engine (docs/search.md, "Status").

1. TPE against random search: runs until a configuration within 10 % of the optimum,
   median over 5 sampler seeds.
2. Early stopping: steps run by random search with the median pruner against the same
   search without it (same sampler seed, so the same configurations), and both bests.
3. The engine's overhead per run (propose + observe per step + prune decision + record),
   as a share of a 10-second run.
"""

from __future__ import annotations

import math
import statistics
import time

from mlflow_sweep_plugin.search.engine import Engine
from mlflow_sweep_plugin.search.spec import parse_search

OPTIMUM = 0.0
SPACE = {"lr": {"low": 1e-5, "high": 1.0, "log": True}, "wd": {"low": 1e-6, "high": 1e-1, "log": True},
         "dropout": {"low": 0.0, "high": 0.6}, "layers": {"low": 1, "high": 8}}
STEPS = 20


def final_loss(c) -> float:
    """Known optimum 0 at lr=1e-2, wd=1e-4, dropout=0.2, layers=4."""
    return ((math.log10(c["lr"]) + 2) ** 2 + 0.5 * (math.log10(c["wd"]) + 4) ** 2
            + 10 * (c["dropout"] - 0.2) ** 2 + 0.1 * (c["layers"] - 4) ** 2)


def history(c, steps=STEPS):
    """A learning curve converging to ``final_loss(c) + 1`` (so within 10 % means <= 1.1)."""
    target = final_loss(c) + 1.0
    return [(s, s, target + 5.0 * math.exp(-0.3 * s)) for s in range(steps)]


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


if __name__ == "__main__":
    main()
