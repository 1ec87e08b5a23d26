"""The search benchmarks' toy objective with a known optimum, and the child process that
reports its learning curve (``python benchmarks/toy_objective.py CONFIG_JSON STEP_S``: one
``step value`` line per step). Tiny on purpose: a child must start fast."""

from __future__ import annotations

import json
import math
import sys
import time

STEPS = 20


def final_loss(c) -> float:
    """Known optimum 0 at lr=1e-2, wd=1e-4, dropout=0.2, layers=4."""
    return ((math.log10(c["lr"]) + 2) ** 2 + 0.5 * (math.log10(c["wd"]) + 4) ** 2
            + 10 * (c["dropout"] - 0.2) ** 2 + 0.1 * (c["layers"] - 4) ** 2)


def history(c, steps=STEPS):
    """A learning curve converging to ``final_loss(c) + 1`` (so within 10 % means <= 1.1)."""
    target = final_loss(c) + 1.0
    return [(s, s, target + 5.0 * math.exp(-0.3 * s)) for s in range(steps)]


if __name__ == "__main__":
    config, step_s = json.loads(sys.argv[1]), float(sys.argv[2])
    for step, _, value in history(config):
        print(step, value, flush=True)
        time.sleep(step_s)
