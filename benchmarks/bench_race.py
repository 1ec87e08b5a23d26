"""Racing over seeds (issue 26): ``python benchmarks/bench_race.py [N_RACES]``.

A simulation with a known truth, through the race's own loop
(:class:`mlflow_sweep_plugin.search.race.Race`: propose, record, the best-set rule between
rounds): 12 candidates, one best (true mean 0), several close (0.15, 0.2, 0.25), the rest
0.5 to 1.0 worse; a run's value is its candidate's mean + a seed effect shared by every
candidate on that seed (sd 0.3: seeds make some problems harder) + its own noise (sd 0.1);
12 seed values; the race starts with 3 seeds and adds 3 a round (alpha 0.05).

The baseline spends every seed on every candidate (144 runs) and picks the best mean.
Printed, over N_RACES independent races (default 200):

- how often each picks the true best (the race: at least as often as the baseline),
- the race's runs as a share of the baseline's (at most one half),
- how often the race eliminates the true best (at most 5 %).
"""

from __future__ import annotations

import random
import statistics
import sys

from mlflow_sweep_plugin.search.race import Race
from mlflow_sweep_plugin.search.space import config_key
from mlflow_sweep_plugin.search.spec import parse_search

MEANS = [0.0, 0.15, 0.2, 0.25, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 0.95, 1.0]
SEEDS = list(range(12))
SEED_SD, NOISE_SD = 0.3, 0.1


def spec():
    return parse_search({"grid": {"c": list(range(len(MEANS)))}, "seeds": len(SEEDS),
                         "objective": {"metric": "loss", "mode": "min"},
                         "race": {"initial": 3, "step": 3, "alpha": 0.05}})


def world(rng: random.Random) -> dict:
    effects = {s: rng.gauss(0, SEED_SD) for s in SEEDS}
    return {(c, s): MEANS[c] + effects[s] + rng.gauss(0, NOISE_SD) for c in range(len(MEANS)) for s in SEEDS}


def race_once(values: dict) -> tuple[int | None, int, bool]:
    s = spec()
    race = Race(s, s.race, [(c, {"c": c}) for c in range(len(MEANS))], s.seeds.values)
    runs = 0
    while not race.done():
        proposal = race.propose()
        if proposal is None:
            break
        runs += 1
        race.record(proposal.index, "FINISHED", [(0, 0, values[(proposal.config["c"], proposal.seed)])])
    best = race.best_config()
    eliminated = race.cands[config_key({"c": 0})].left_in is not None
    return (best[1]["c"] if best else None), runs, eliminated


def baseline(values: dict) -> tuple[int, int]:
    means = {c: statistics.fmean(values[(c, s)] for s in SEEDS) for c in range(len(MEANS))}
    return min(means, key=means.get), len(values)


def main(n: int = 200) -> None:
    rng = random.Random(0)
    race_right = base_right = eliminated = 0
    race_runs = base_runs = 0
    for _ in range(n):
        values = world(rng)
        pick, runs, out = race_once(values)
        race_right += pick == 0
        race_runs += runs
        eliminated += out
        pick, runs = baseline(values)
        base_right += pick == 0
        base_runs += runs
    share = race_runs / base_runs
    print(f"{n} races of {len(MEANS)} candidates over {len(SEEDS)} seeds")
    print(f"picks the true best: race {race_right / n:.1%}, every seed on every candidate {base_right / n:.1%}"
          f"  -> {'ok' if race_right >= base_right else 'WORSE'}")
    print(f"runs: race {race_runs / n:.1f} per race, baseline {base_runs / n:.0f}: {share:.1%} of the runs"
          f"  -> {'ok' if share <= 0.5 else 'MORE THAN HALF'}")
    print(f"the true best eliminated in {eliminated / n:.1%} of races"
          f"  -> {'ok' if eliminated / n <= 0.05 else 'ABOVE 5 %'}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
