"""val_loss at step s = (x - 0.3)^2 + 0.05 (y - 2)^2 + [opt == sgd] 0.2 + 1 / (s + 1)
(+ Gaussian noise drawn from ``seed``), logged at every step, ``sleep`` seconds apart."""

import argparse
import random
import time

import mlflow

p = argparse.ArgumentParser()
p.add_argument("--x", type=float)
p.add_argument("--y", type=int)
p.add_argument("--opt")
p.add_argument("--seed", type=int)
p.add_argument("--steps", type=int)
p.add_argument("--sleep", type=float)
p.add_argument("--noise", type=float)
args = p.parse_args()
target = (args.x - 0.3) ** 2 + 0.05 * (args.y - 2) ** 2 + (0.2 if args.opt == "sgd" else 0.0)
rnd = random.Random(args.seed)
with mlflow.start_run():
    for step in range(args.steps):
        loss = target + 1.0 / (step + 1) + args.noise * rnd.gauss(0.0, 1.0)
        mlflow.log_metric("val_loss", loss, step=step)
        if step < args.steps - 1:
            time.sleep(args.sleep)
