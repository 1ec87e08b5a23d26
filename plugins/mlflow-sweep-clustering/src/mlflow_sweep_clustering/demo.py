"""A small, realistic SAE clustering sweep for ``mlflow-sweep demo``.

It logs what the research pipeline logs: one run per hyperparameter combination, with
``layer_<L>/cluster_summary.json`` for each processed layer. Some runs lack a layer,
some fits fail (NaN distances), some runs have refinement disabled, and one run fails
before writing anything, so the exported table shows every case the format allows.
"""

from __future__ import annotations

import itertools
import random

COMPONENTS = ("mess3", "tom_quantum", "fanizza")
GEOMETRIES = [f"simplex_{k}" for k in range(1, 9)] + ["circle"]


def make_cluster_summary(rng: random.Random, layer: int, n_clusters: int, refine: bool) -> dict:
    """A cluster_summary.json document in the producer's format."""
    comps = rng.sample(COMPONENTS, k=rng.randint(2, 3))
    assignments = {c: rng.randrange(n_clusters) for c in comps}
    scores = {c: round(rng.uniform(0.3, 0.99), 4) for c in comps}
    noise = sorted(rng.sample(range(n_clusters), k=rng.randint(0, 1)))
    summary = {
        "layer": layer,
        "n_clusters": n_clusters,
        "energy_contrast_ratio": round(rng.uniform(0.2, 0.9), 4),
        "component_assignment": {"assignments": assignments, "scores": scores,
                                 "noise_clusters": noise},
        "geometry_fits": {},
    }
    if refine:
        refined_assign = {c: (None if rng.random() < 0.2 else a) for c, a in assignments.items()}
        summary["component_assignment_refined"] = {
            "assignments": refined_assign,
            "scores": {c: (None if refined_assign[c] is None else min(0.999, round(s + 0.02, 4)))
                       for c, s in scores.items()},
            "noise_clusters": sorted(set(noise) | {rng.randrange(n_clusters)}),
        }
    for cluster in range(n_clusters):
        if cluster in noise:
            continue  # noise clusters often have no fit
        dists = {g: round(rng.uniform(0.005, 0.7), 4) for g in GEOMETRIES}
        if rng.random() < 0.1:
            dists["circle"] = float("nan")  # a failed fit: json.dump writes NaN
        best = min((g for g in dists if dists[g] == dists[g]), key=dists.get)
        summary["geometry_fits"][str(cluster)] = {
            "best_geometry": best, "best_optimal_distance": dists[best], "distances": dists}
    return summary


def log_demo_sweep(experiment_name: str, n_runs: int = 12, seed: int = 0) -> None:
    """Log ``n_runs`` clustering runs into the current tracking store."""
    import mlflow

    rng = random.Random(seed)
    mlflow.set_experiment(experiment_name)
    grid = itertools.cycle(itertools.product(("relu", "topk", "jumprelu"), (3, 4, 6), (0.01, 0.1)))
    for i in range(n_runs):
        sae_type, force_k, force_lambda = next(grid)
        params = {"sae_type": sae_type, "force_k": force_k, "force_lambda": force_lambda,
                  "clustering_method": rng.choice(["spectral", "kmeans"]),
                  "cosine_dedup_threshold": 0.95, "sim_metric": "cosine"}
        name = f"{sae_type}_k{force_k}_l{force_lambda}_{i}"
        with mlflow.start_run(run_name=name):
            mlflow.log_params(params)
            if i == n_runs - 1 and n_runs > 2:
                mlflow.end_run(status="FAILED")  # crashed before writing any summary
                continue
            refine = rng.random() < 0.7
            for layer in range(4):
                if layer == 3 and rng.random() < 0.3:
                    continue  # this run did not process the last layer
                doc = make_cluster_summary(rng, layer, force_k, refine)
                mlflow.log_dict(doc, f"layer_{layer}/cluster_summary.json")
            mlflow.log_metric("n_layers", 4)
