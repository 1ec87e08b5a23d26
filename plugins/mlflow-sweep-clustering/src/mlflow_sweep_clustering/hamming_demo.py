"""A small multi-seed Hamming k-means analysis for ``mlflow-sweep demo --kind hamming``.

One run per analysed matrix (method x layer x component), as the team's script does:
a synthetic pruned weight matrix whose row masks come from a few sparsity prototypes
plus noise; per seed a random row and its nearest rows by Hamming distance; per k a
k-means (a small Lloyd's loop, so the demo needs no scikit-learn); and the
``summary/metrics_summary.json`` it writes, computed with :mod:`.hamming_metrics` and
logged with :func:`.hamming_tracking.log_hamming_summary`.
Older-format runs leave out ``n_iter``/``converged``.
"""

from __future__ import annotations

import itertools


def synthetic_masks(rng, rows: int, cols: int, prototypes: int, noise: float):
    """Row sparsity masks drawn around a few prototype masks."""
    protos = rng.random((prototypes, cols)) < 0.5
    which = rng.integers(0, prototypes, size=rows)
    flips = rng.random((rows, cols)) < noise
    return protos[which] ^ flips


def lloyd_kmeans(rng, x, k: int, max_iter: int = 50):
    """(labels, n_iter, converged) of plain k-means on the rows of ``x``."""
    import numpy as np

    x = x.astype(float)
    centres = x[rng.choice(len(x), size=k, replace=False)]
    labels = np.zeros(len(x), dtype=int)
    for it in range(1, max_iter + 1):
        dist = ((x[:, None, :] - centres[None]) ** 2).sum(axis=2)
        new = dist.argmin(axis=1)
        if it > 1 and (new == labels).all():
            return labels, it, True
        labels = new
        for c in range(k):
            if (labels == c).any():
                centres[c] = x[labels == c].mean(axis=0)
    return labels, max_iter, False


def analyse(rng, masks, seeds: int, n_similar: int, k_values) -> list[dict]:
    """The ``executions`` list of one matrix."""
    from .hamming_metrics import execution_metrics, hamming_to

    executions = []
    for seed in range(seeds):
        feature = int(rng.integers(0, len(masks)))
        dist = hamming_to(masks[feature], masks)
        dist[feature] = dist.max() + 1  # the chosen row itself is not among its neighbours
        nearest = dist.argsort(kind="stable")[:n_similar]
        for k in k_values:
            labels, n_iter, converged = lloyd_kmeans(rng, masks[nearest], k)
            executions.append(execution_metrics(
                masks[nearest], labels, reference=masks[feature], k=k, seed=seed,
                feature_idx=feature, n_iter=n_iter, converged=converged))
    return executions


def log_hamming_sweep(experiment_name: str, n_runs: int = 12, seed: int = 0) -> None:
    """Log ``n_runs`` analysed matrices into the current tracking store."""
    import mlflow
    import numpy as np

    from .hamming_tracking import log_hamming_summary

    rng = np.random.default_rng(seed)
    mlflow.set_experiment(experiment_name)
    grid = itertools.cycle((m, layer, c) for layer, c, m in itertools.product(
        (1, 2), ("mlp.down_proj", "self_attn.q_proj"), ("wanda", "sparsegpt")))
    seeds, n_similar, k_values = 3, 32, [2, 4]
    for i in range(n_runs):
        method, layer, component = next(grid)
        name = f"layer{layer}-{component}"
        masks = synthetic_masks(rng, 160, 96, prototypes=int(rng.integers(2, 6)),
                                noise=0.05 if method == "wanda" else 0.15)
        executions = analyse(rng, masks, seeds, n_similar, k_values)
        if i % 4 == 3:  # an older file: no n_iter / converged
            for ex in executions:
                ex.pop("n_iter", None)
                ex.pop("converged", None)
        summary = {
            "matrix": {"path": f"clustering_characterization/{method}/{name}.pt", "name": name,
                       "shape": list(masks.shape)},
            "config": {"method": method, "layer": layer, "component": component,
                       "seeds": seeds, "n_similar": n_similar, "k_values": k_values},
            "executions": executions,
        }
        with mlflow.start_run(run_name=f"{method}_{name}_{i}"):
            log_hamming_summary(summary)
