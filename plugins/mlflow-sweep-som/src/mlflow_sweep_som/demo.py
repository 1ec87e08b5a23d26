"""A small SOM sweep for ``mlflow-sweep demo --kind som``.

Trains MiniSom maps on a slice of scikit-learn's handwritten digits over a grid of
map sizes, sigmas and learning rates, and logs each run with :func:`.log_som_run`
(params, metrics, ``results/som_results.json``, the model under ``models/``). Runs
are kept small (a few hundred samples and iterations) so the demo takes seconds.
"""

from __future__ import annotations

import itertools


def log_demo_sweep(experiment_name: str, n_runs: int = 12, seed: int = 0) -> None:
    """Log ``n_runs`` SOM runs into the current tracking store."""
    import mlflow
    from minisom import MiniSom
    from sklearn.datasets import load_digits

    from .tracking import log_som_run

    digits = load_digits()
    x = digits.data[:400] / 16.0
    mlflow.set_experiment(experiment_name)
    grid = itertools.cycle(itertools.product((3, 5, 8), (1.0, 2.0), (0.2, 0.5)))
    for i in range(n_runs):
        dim, sigma, lr = next(grid)
        config = {"x_dim": dim, "y_dim": dim, "learning_rate": lr, "sigma": sigma,
                  "num_iterations": 300, "neighborhood_function": "gaussian",
                  "topology": "rectangular", "activation_distance": "euclidean",
                  "random_seed": seed + i, "normalize_features": True, "use_pca": False}
        som = MiniSom(dim, dim, x.shape[1], sigma=sigma, learning_rate=lr,
                      random_seed=seed + i)
        som.train(x, config["num_iterations"], random_order=True)
        with mlflow.start_run(run_name=f"som_{dim}x{dim}_s{sigma}_lr{lr}_{i}"):
            log_som_run(som, x, config, extra_data_stats={"num_classes": 10})
