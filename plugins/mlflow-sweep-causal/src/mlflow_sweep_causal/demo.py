"""A small causal-discovery sweep for ``mlflow-sweep demo --kind causal``.

Each run draws a random DAG, makes SVGD-like weighted particles and an unweighted
bootstrap ensemble around it, and logs what the team's experiment script logs:
``config.yaml``, ``ground_truth.yaml``, ``metrics.yaml`` (the learners' own numbers,
where ``Ensemble`` has no interventional NLL), ``<learner>/particles.npz``, learner-
prefixed metrics, and a plot that the selective artifact logging leaves out.
"""

from __future__ import annotations

import itertools
import tempfile

LEARNERS = ("SVGD", "Ensemble")


def random_dag(rng, d: int, p_edge: float):
    """A random DAG: upper-triangular edges under a random node order."""
    import numpy as np

    order = rng.permutation(d)
    upper = np.triu(rng.random((d, d)) < p_edge, k=1).astype(np.int8)
    return upper[np.ix_(np.argsort(order), np.argsort(order))]


def noisy_particles(rng, truth, n: int, flip: float):
    """``n`` graphs that each flip a few off-diagonal entries of the truth."""
    import numpy as np

    d = truth.shape[0]
    flips = (rng.random((n, d, d)) < flip) & ~np.eye(d, dtype=bool)[None]
    return np.where(flips, 1 - truth[None], truth[None]).astype(np.int8)


def write_run(directory, rng, d: int, n_particles: int, flip: float) -> dict:
    """Write one run's result files into ``directory``; return the metrics reported."""
    import pathlib

    import numpy as np
    import yaml

    from .graph_metrics import edge_auroc, expected_shd

    out = pathlib.Path(directory)
    truth = random_dag(rng, d, 0.4)
    (out / "ground_truth.yaml").write_text(yaml.safe_dump(
        {"nodes": [f"X{i}" for i in range(d)], "adjacency": truth.tolist()},
        default_flow_style=None))
    reported = {}
    for learner in LEARNERS:
        (out / learner).mkdir(parents=True, exist_ok=True)
        graphs = noisy_particles(rng, truth, n_particles, flip if learner == "SVGD" else flip * 1.5)
        arrays = {"graphs": graphs}
        weights = None
        if learner == "SVGD":
            logits = rng.normal(size=n_particles)
            weights = np.exp(logits) / np.exp(logits).sum()
            arrays["weights"] = weights
        np.savez(out / learner / "particles.npz", **arrays)
        auroc = edge_auroc(graphs, truth, weights)
        metrics = {"eshd": round(expected_shd(graphs, truth, weights), 4),
                   "negll_obs": round(float(1500 + 40 * rng.random()), 1)}
        if auroc == auroc:  # undefined for a graph without (or with only) edges
            metrics["auroc"] = round(auroc, 4)
        if learner == "SVGD":
            metrics["negll_intrv"] = round(float(1600 + 40 * rng.random()), 1)
        reported[learner] = metrics
    (out / "metrics.yaml").write_text(yaml.safe_dump(reported, sort_keys=False))
    (out / "plots").mkdir(exist_ok=True)
    (out / "plots" / "marginals.png").write_bytes(b"\x89PNG\r\n\x1a\n")  # excluded from logging
    return reported


def log_demo_sweep(experiment_name: str, n_runs: int = 12, seed: int = 0) -> None:
    """Log ``n_runs`` causal-discovery runs into the current tracking store."""
    import mlflow
    import numpy as np
    import yaml

    from .tracking import log_causal_run

    rng = np.random.default_rng(seed)
    mlflow.set_experiment(experiment_name)
    grid = itertools.cycle(itertools.product((4, 6), (8, 16), (0.05, 0.15)))
    for i in range(n_runs):
        d, n_particles, flip = next(grid)
        config = {"seed": seed + i, "data": {"n_vars": d, "n_observations": 200},
                  "svgd": {"n_particles": n_particles, "steps": 1000},
                  "ensemble": {"n_bootstrap": n_particles}, "noise": flip}
        with mlflow.start_run(run_name=f"d{d}_p{n_particles}_flip{flip}_{i}"):
            with tempfile.TemporaryDirectory() as tmp:
                with open(f"{tmp}/config.yaml", "w") as fh:
                    yaml.safe_dump(config, fh)
                write_run(tmp, rng, d, n_particles, flip)
                log_causal_run(tmp, config=config)
