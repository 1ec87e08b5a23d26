"""Error rates of the report's best-set rule (``report.bestset.best_set``) beside the old
rule (two-sided paired t against the best when every configuration has the same seeds,
else Welch's for all; no multiple-comparison control), on simulated replicate sweeps.

Each sweep: ``--configs`` configurations x ``--seeds`` seeds, value = config effect +
seed effect (shared by all configurations, sd 0.05) + noise (sd 0.05); optionally one
(configuration, seed) value missing (a FAILED run). Printed per scenario and rule:

- *all equal*: every configuration has the same true mean; the share of sweeps where the
  best set leaves out at least one configuration (family-wise error; target <= 5 %);
- *one best*: configuration 0 is 0.02 better than the rest; the share of sweeps where it
  is in the set (target >= 95 %) and the mean size of the set;
- *0.02 worse*: configuration 1 is 0.02 worse than the others (all equal otherwise); the
  share of sweeps where it is called tied.

Usage::

    python benchmarks/bench_best_set.py [--reps 400] [--configs 9] [--seeds 5]
        [--rng-seed 22] [--scenario "all equal"]... [--new-only]

(``--scenario`` repeatable: only those scenarios; ``--new-only``: the new rule alone, for
many replicate sweeps: 6000 take about 6 minutes per scenario and missing/complete case.)
"""

from __future__ import annotations

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mlflow_sweep_plugin.report.bestset import best_set  # noqa: E402


def old_rule(values, alpha=0.05):
    """The report's rule before issue 22: the set of configurations tied with the best."""
    import numpy as np
    from scipy import stats as st

    means = {c: np.mean(list(v.values())) for c, v in values.items()}
    order = sorted(means, key=means.get)
    best = order[0]
    same = len({frozenset(v) for v in values.values()}) == 1
    tied = {best}
    for c in order[1:]:
        a, b = values[best], values[c]
        if same:
            keys = sorted(a)
            p = st.ttest_rel([a[k] for k in keys], [b[k] for k in keys]).pvalue
        else:
            p = st.ttest_ind(list(a.values()), list(b.values()), equal_var=False).pvalue
        if not math.isnan(p) and p >= alpha:
            tied.add(c)
    return tied


def new_rule(values, alpha=0.05):
    return {c.config for c in best_set(values, "min", alpha) if c.in_set}


def sweep(rng, effects, n_seeds, missing):
    seed_effect = rng.normal(0, 0.05, n_seeds)
    values = {c: {s: float(e + seed_effect[s] + rng.normal(0, 0.05)) for s in range(n_seeds)}
              for c, e in enumerate(effects)}
    if missing:
        del values[len(effects) - 1][n_seeds - 1]
    return values


def main(argv=None) -> int:
    import numpy as np

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=400)
    ap.add_argument("--configs", type=int, default=9)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--rng-seed", type=int, default=22, help="the simulation's random seed")
    ap.add_argument("--scenario", action="append", choices=("all equal", "one best", "0.02 worse"),
                    help="only this scenario (repeatable)")
    ap.add_argument("--new-only", action="store_true", help="the new rule alone")
    args = ap.parse_args(argv)
    k, n = args.configs, args.seeds
    scenarios = {
        "all equal": [0.0] * k,
        "one best": [-0.02] + [0.0] * (k - 1),
        "0.02 worse": [0.0] + [0.02] + [0.0] * (k - 2),
    }
    scenarios = {name: e for name, e in scenarios.items() if not args.scenario or name in args.scenario}
    rules = (("new", new_rule),) if args.new_only else (("old", old_rule), ("new", new_rule))
    se = 1.96 * math.sqrt(0.05 * 0.95 / args.reps)
    print(f"{args.reps} sweeps per scenario, {k} configurations x {n} seeds "
          f"(simulation error at 5 %: +/- {se:.1%})")
    print(f"{'scenario':<12} {'missing':<8} {'rule':<5} {'excl. some':>10} {'best in':>8} "
          f"{'set size':>8} {'worse tied':>10}")
    ok = True
    for missing in (False, True):
        for name, effects in scenarios.items():
            rng = np.random.default_rng(args.rng_seed)
            stats = {rule: [] for rule, _ in rules}
            for _ in range(args.reps):
                values = sweep(rng, effects, n, missing)
                for rule, f in rules:
                    stats[rule].append(f(values))
            for rule, sets in stats.items():
                excluded = np.mean([len(s) < k for s in sets])
                best_in = np.mean([0 in s for s in sets])
                size = np.mean([len(s) for s in sets])
                worse_tied = np.mean([1 in s for s in sets])
                cells = [f"{excluded:>10.1%}" if name == "all equal" else f"{'':>10}",
                         f"{best_in:>8.1%}" if name == "one best" else f"{'':>8}",
                         f"{size:>8.2f}",
                         f"{worse_tied:>10.1%}" if name == "0.02 worse" else f"{'':>10}"]
                print(f"{name:<12} {str(missing):<8} {rule:<5} " + " ".join(cells))
                if rule == "new" and name == "all equal" and excluded > 0.05 + se:
                    ok = False
                if rule == "new" and name == "one best" and best_in < 0.95 - se:
                    ok = False
    print("new rule within its targets" if ok else "NEW RULE OUTSIDE ITS TARGETS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
