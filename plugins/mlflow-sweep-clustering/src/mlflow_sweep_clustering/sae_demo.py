"""A seeded SAE training sweep for ``mlflow-sweep demo`` (its default demo).

What a report is for, on a sweep small enough to log in seconds: a 2 x 2 grid (SAE type x
dictionary size ``force_k``), each configuration trained with several seeds, each run
logging ``val_loss`` per epoch (a history: learning curves) and its final ``recon_loss``
and ``sparsity``. The last run crashes part-way (FAILED, with its error), so the run matrix
shows a missing (configuration, seed) pair. The report ranks configurations by the final
``val_loss`` (lower is better): a best configuration, its best set, bands over seeds.

Run ``i`` is configuration ``i mod 4`` with seed ``i div 4`` (12 runs: 4 x 3 seeds).
The report should find topk, 16 best with topk, 4 in its best set (final losses about
0.261 and 0.262), and relu, 16 / relu, 4 worse.
"""

from __future__ import annotations

import itertools
import math
import random

#: in logging order (the report's level order): the crashed last run is relu, 4's
CONFIGS = list(itertools.product(("topk", "relu"), (16, 4)))
#: the loss each configuration converges to; force_k = 16 then overfits (+0.003 per epoch
#: after epoch 12), so its best epoch is not its last and topk, 4 ends level with it
FLOOR = {("relu", 4): 0.34, ("relu", 16): 0.30, ("topk", 4): 0.262, ("topk", 16): 0.24}
EPOCHS = 20
#: the report options ``mlflow-sweep demo`` uses for this sweep
REPORT = {"objective": "metrics.val_loss", "mode": "min"}


def log_sae_sweep(experiment_name: str, n_runs: int = 12, seed: int = 0) -> None:
    """Log ``n_runs`` SAE training runs into the current tracking store."""
    import mlflow

    from mlflow_sweep_plugin.tags import TAG_ERROR

    rng = random.Random(seed)
    mlflow.set_experiment(experiment_name)
    seed_effect = [rng.gauss(0, 0.01) for _ in range(n_runs // len(CONFIGS) + 1)]
    for i in range(n_runs):
        sae_type, k = CONFIGS[i % len(CONFIGS)]
        run_seed = i // len(CONFIGS)
        crash = i == n_runs - 1 and n_runs > len(CONFIGS)
        with mlflow.start_run(run_name=f"{sae_type}_k{k}_seed{run_seed}"):
            mlflow.log_params({"sae_type": sae_type, "force_k": k, "seed": run_seed,
                               "epochs": EPOCHS, "lr": 0.001})
            floor = FLOOR[(sae_type, k)] + seed_effect[run_seed]
            loss = math.nan
            for epoch in range(EPOCHS):
                overfit = 0.003 * max(0, epoch - 12) if k == 16 else 0.0
                loss = floor + 0.6 * math.exp(-epoch / 4) + overfit + rng.gauss(0, 0.004)
                mlflow.log_metric("val_loss", loss, step=epoch)
                if crash and epoch == 7:
                    mlflow.set_tag(TAG_ERROR, "CUDA out of memory (demo)")
                    mlflow.end_run(status="FAILED")
                    break
            else:
                mlflow.log_metrics({"recon_loss": loss * 0.8 + rng.gauss(0, 0.005),
                                    "sparsity": k / 64 + rng.gauss(0, 0.01)})
