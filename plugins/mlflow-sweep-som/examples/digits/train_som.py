"""Train a self-organizing map on scikit-learn's handwritten digits and log it.

The MLproject entry point of this folder; also runnable directly::

    python train_som.py --x-dim 6 --y-dim 6 --num-iterations 500

It logs through ``mlflow_sweep_som.log_som_run``: the config as params, the SOM's
errors and cluster/data statistics as metrics, ``results/som_results.json`` (what
``mlflow-sweep export`` reads), the model under ``models/`` and a U-matrix and a
cluster-size chart under ``visualizations/``. Under ``mlflow run`` it logs into the run
MLflow created; otherwise into a new run of ``$MLFLOW_EXPERIMENT_NAME``.
"""

from __future__ import annotations

import argparse
import os
import tempfile


def canonical_float(text: str) -> float:
    """A float written as Python writes it (``2.0``, not ``2``).

    Under ``mlflow run`` the parameters are already logged as the text given; the
    config logged again from this script must read the same, or MLflow refuses the
    changed param. Asking for the canonical spelling fails early and clearly instead.
    """
    value = float(text)
    if repr(value) != text:
        raise argparse.ArgumentTypeError(f"write {text!r} as {value!r}")
    return value


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--x-dim", type=int, default=8)
    p.add_argument("--y-dim", type=int, default=8)
    p.add_argument("--sigma", type=canonical_float, default=1.5)
    p.add_argument("--learning-rate", type=canonical_float, default=0.5)
    p.add_argument("--num-iterations", type=int, default=2000)
    p.add_argument("--neighborhood-function", default="gaussian")
    p.add_argument("--topology", default="rectangular")
    p.add_argument("--activation-distance", default="euclidean")
    p.add_argument("--random-seed", type=int, default=7)
    p.add_argument("--max-samples", type=int, default=0,
                   help="use only the first N digits (0: all 1797)")
    return p.parse_args(argv)


def load_digits_data(max_samples: int = 0):
    """Digits scaled to [0, 1] per feature, and their labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x, y = digits.data / 16.0, digits.target
    if max_samples:
        x, y = x[:max_samples], y[:max_samples]
    return x, y


def label_purity(som, x, y) -> float:
    """Share of samples whose neuron's majority label is their own label."""
    from collections import Counter

    winners = [som.winner(v) for v in x]
    by_neuron: dict = {}
    for w, label in zip(winners, y):
        by_neuron.setdefault(w, Counter())[int(label)] += 1
    return sum(c.most_common(1)[0][1] for c in by_neuron.values()) / len(x)


def write_figures(som, stats: dict, directory: str) -> list[str]:
    """A U-matrix and a cluster-size chart (PNG), and a short text report."""
    paths = []
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # matplotlib is optional: the run is still logged
        plt = None
    if plt is not None:
        fig, ax = plt.subplots(figsize=(4, 4))
        ax.imshow(som.distance_map().T, cmap="bone_r", origin="lower")
        ax.set_title("U-matrix")
        paths.append(os.path.join(directory, "som_topology.png"))
        fig.savefig(paths[-1], dpi=60)
        plt.close(fig)
        sizes = [c["size"] for c in stats["clusters"].values()]
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.bar(range(len(sizes)), sorted(sizes, reverse=True))
        ax.set_title("cluster sizes")
        paths.append(os.path.join(directory, "cluster_analysis.png"))
        fig.savefig(paths[-1], dpi=60)
        plt.close(fig)
    report = os.path.join(directory, "som_analysis_report.txt")
    with open(report, "w") as fh:
        for section in ("training_stats", "data_stats"):
            for key, value in stats[section].items():
                fh.write(f"{key}: {value}\n")
    paths.append(report)
    return paths


def main(argv=None) -> str:
    import mlflow
    from minisom import MiniSom

    from mlflow_sweep_plugin import log_metrics
    from mlflow_sweep_som import log_som_run

    args = parse_args(argv)
    x, y = load_digits_data(args.max_samples)
    config = {"x_dim": args.x_dim, "y_dim": args.y_dim, "learning_rate": args.learning_rate,
              "sigma": args.sigma, "num_iterations": args.num_iterations,
              "neighborhood_function": args.neighborhood_function, "topology": args.topology,
              "activation_distance": args.activation_distance, "random_seed": args.random_seed,
              "normalize_features": True, "use_pca": False, "dataset": "sklearn.digits"}
    som = MiniSom(args.x_dim, args.y_dim, x.shape[1], sigma=args.sigma,
                  learning_rate=args.learning_rate,
                  neighborhood_function=args.neighborhood_function, topology=args.topology,
                  activation_distance=args.activation_distance, random_seed=args.random_seed)
    som.pca_weights_init(x)
    som.train(x, args.num_iterations, random_order=True)

    with mlflow.start_run(run_name=f"som_{args.x_dim}x{args.y_dim}_s{args.sigma}") as run:
        with tempfile.TemporaryDirectory() as tmp:
            from mlflow_sweep_som.stats import som_results

            results = som_results(som, x, config, {"num_classes": int(len(set(y.tolist())))})
            log_som_run(som, x, config, results=results, artifacts=write_figures(som, results, tmp))
        log_metrics({"label_purity": label_purity(som, x, y)})
        return run.info.run_id


if __name__ == "__main__":
    print(main())
