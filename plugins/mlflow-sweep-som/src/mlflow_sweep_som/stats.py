"""What a trained SOM's results say, computed the way ``som_results.md`` defines it.

- ``quantization_error`` and ``topographic_error`` come from MiniSom itself (mean
  distance to the best-matching unit; share of samples whose two best units are not
  grid neighbours), so the numbers match what the team's analyzer reported.
- A *cluster* is a neuron that wins at least one sample. ``num_clusters`` counts them;
  ``largest/smallest/mean_cluster_size`` and ``cluster_size_std`` (population standard
  deviation, numpy's default) describe their sizes; ``clusters`` maps ``"row,col"`` to
  ``{"size": n}``.
- ``num_samples`` and ``num_features`` are the data's shape; callers add their own data
  statistics (``unique_users``, ...).

numpy is imported inside the functions (this package is loaded by an entry point).
"""

from __future__ import annotations

from collections import Counter

# config keys logged as params (som_results.md / the team's analyzer), in this order
PARAM_KEYS = ("x_dim", "y_dim", "learning_rate", "sigma", "num_iterations",
              "neighborhood_function", "topology", "activation_distance")


def winning_neurons(som, data) -> list[tuple[int, int]]:
    """The (row, col) of each sample's best-matching unit."""
    return [tuple(int(c) for c in som.winner(x)) for x in data]


def cluster_sizes(winners) -> dict[str, dict]:
    """``{"row,col": {"size": n}}`` for every neuron that won a sample, in grid order."""
    counts = Counter(tuple(w) for w in winners)
    return {f"{r},{c}": {"size": counts[(r, c)]} for r, c in sorted(counts)}


def cluster_stats(winners) -> dict:
    """Cluster count and size statistics from the winning neurons."""
    import numpy as np

    sizes = np.array(sorted(Counter(tuple(w) for w in winners).values()), dtype=float)
    if sizes.size == 0:
        return {"num_clusters": 0, "largest_cluster_size": None, "smallest_cluster_size": None,
                "mean_cluster_size": None, "cluster_size_std": None}
    return {"num_clusters": int(sizes.size),
            "largest_cluster_size": int(sizes.max()),
            "smallest_cluster_size": int(sizes.min()),
            "mean_cluster_size": float(sizes.mean()),
            "cluster_size_std": float(sizes.std())}


def data_stats(data, extra: dict | None = None) -> dict:
    """``num_samples`` and ``num_features`` of the training data, plus ``extra``."""
    import numpy as np

    arr = np.asarray(data)
    out = {"num_samples": int(arr.shape[0]),
           "num_features": int(arr.shape[1]) if arr.ndim > 1 else 1}
    out.update(extra or {})
    return out


def _method_name(fn, suffix: str = "") -> str | None:
    name = getattr(fn, "__name__", None)
    if not name:
        return None
    name = name.lstrip("_")
    return name[: -len(suffix)] if suffix and name.endswith(suffix) else name


def _plain(config) -> dict:
    import dataclasses

    if config is None:
        return {}
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config)
    try:  # OmegaConf DictConfig
        from omegaconf import DictConfig, OmegaConf

        if isinstance(config, DictConfig):
            return OmegaConf.to_container(config, resolve=True)
    except ImportError:
        pass
    if hasattr(config, "items"):
        return dict(config.items())
    raise TypeError(f"config: expected a mapping or a dataclass, got {type(config).__name__}")


def som_config(som, config=None) -> dict:
    """The run's config as a plain dict, completed from the SOM where it is silent
    (grid size, learning rate, sigma, topology, neighbourhood and distance names).
    A config whose grid disagrees with the SOM's is a ``ValueError``."""
    cfg = _plain(config)
    weights = som.get_weights()
    found = {
        "x_dim": int(weights.shape[0]),
        "y_dim": int(weights.shape[1]),
        "learning_rate": getattr(som, "_learning_rate", None),
        "sigma": getattr(som, "_sigma", None),
        "neighborhood_function": _method_name(getattr(som, "neighborhood", None)),
        "topology": getattr(som, "topology", None),
        "activation_distance": _method_name(getattr(som, "_activation_distance", None),
                                            "_distance"),
    }
    for key, value in found.items():
        if cfg.get(key) is None and value is not None:
            cfg[key] = value
    if cfg.get("x_dim") != found["x_dim"] or cfg.get("y_dim") != found["y_dim"]:
        raise ValueError(f"config says a {cfg.get('x_dim')}x{cfg.get('y_dim')} grid but the SOM "
                         f"is {found['x_dim']}x{found['y_dim']}")
    return cfg


def som_results(som, data, config=None, extra_data_stats: dict | None = None) -> dict:
    """The ``som_results.json`` document for a trained MiniSom and its training data."""
    import numpy as np

    arr = np.asarray(data, dtype=float)
    cfg = som_config(som, config)
    winners = winning_neurons(som, arr)
    training = {"quantization_error": float(som.quantization_error(arr)),
                "topographic_error": float(som.topographic_error(arr))}
    training.update(cluster_stats(winners))
    return {"config": cfg, "training_stats": training,
            "data_stats": data_stats(arr, extra_data_stats),
            "clusters": cluster_sizes(winners)}
