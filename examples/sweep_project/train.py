"""A tiny clustering "training" job for ``mlflow run . --backend sweep``.

It logs what the SAE clustering pipeline logs: a metric per epoch and one
``layer_<L>/cluster_summary.json`` per layer (read by the clustering plugin, so the sweep
backend flattens it into metrics such as ``layer_0.energy_contrast_ratio``). It fails
(exit code 1) when the effective step ``lr * layers`` is above ``max_lr``, as a
diverging run would.

Try it::

    mlflow run examples/sweep_project --env-manager local --backend sweep \
        --backend-config '{"grid": {"lr": [0.1, 0.5], "layers": [1, 2]}, "max_parallel": 2}'
"""

import argparse
import json
import math
import os
import sys
import tempfile

import mlflow


def cluster_summary(layer: int, lr: float, layers: int) -> dict:
    ecr = round(0.3 + 0.5 * math.exp(-abs(math.log10(lr) + 1)) / (1 + layer), 4)
    return {
        "layer": layer,
        "n_clusters": 2 + layers,
        "energy_contrast_ratio": ecr,
        "component_assignment": {"assignments": {"mess3": 0, "tom_quantum": 1},
                                 "scores": {"mess3": 0.9, "tom_quantum": round(ecr, 2)},
                                 "noise_clusters": []},
        "geometry_fits": {"0": {"best_geometry": "simplex_2", "best_optimal_distance": 0.01 * (layer + 1),
                                "distances": {"simplex_1": 0.4, "simplex_2": 0.01 * (layer + 1)}}},
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--max-lr", type=float, default=0.8)
    p.add_argument("--eval-run", type=int, default=0)
    args = p.parse_args(argv)

    with mlflow.start_run():  # mlflow run: resumes the run it made for this job
        for epoch in range(3):
            mlflow.log_metric("loss", 1.0 / (1 + epoch * args.lr), step=epoch)
        if args.lr * args.layers > args.max_lr:
            print(f"diverged: lr {args.lr} x {args.layers} layers > {args.max_lr}", file=sys.stderr)
            return 1
        with tempfile.TemporaryDirectory() as tmp:
            for layer in range(args.layers):
                os.makedirs(os.path.join(tmp, f"layer_{layer}"))
                with open(os.path.join(tmp, f"layer_{layer}", "cluster_summary.json"), "w") as fh:
                    json.dump(cluster_summary(layer, args.lr, args.layers), fh)
            mlflow.log_artifacts(tmp)
        if args.eval_run:
            # a separate run the job makes itself: the sweep tags reach it through the
            # environment (mlflow-sweep's run context provider)
            with mlflow.start_run(run_name="eval", nested=True):
                mlflow.log_metric("eval_loss", 0.5 * args.lr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
