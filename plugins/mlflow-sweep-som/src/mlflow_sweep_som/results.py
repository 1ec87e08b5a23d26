"""``results/som_results.json`` -> one record per run.

Columns (``som_results.md``): every ``training_stats`` and ``data_stats`` field under its
own name (``quantization_error``, ``num_clusters``, ..., ``num_samples``, ...), each
``config`` field as ``config.<key>``, and the derived ``som_grid_size`` (``x_dim *
y_dim``) and ``cluster_size_variance`` (``cluster_size_std ** 2``). The three sections
are required; fields the format names must have the right type; other scalar fields
are kept as they are. ``clusters`` (sizes per winning neuron) is checked, not exported:
the per-run statistics above summarise it.
"""

from __future__ import annotations

from mlflow_sweep_plugin.errors import BadArtifact
from mlflow_sweep_plugin.parsers.checks import mapping, number, section

PATTERN = "results/som_results.json"
PARSER_VERSION = "1"

SECTIONS = ("config", "training_stats", "data_stats")
TRAINING_FIELDS = ("quantization_error", "topographic_error", "num_clusters",
                   "largest_cluster_size", "smallest_cluster_size", "mean_cluster_size",
                   "cluster_size_std")
DATA_FIELDS = ("num_samples", "num_features", "unique_users", "total_tweets",
               "avg_engagement_per_tweet")
INT_FIELDS = frozenset(("num_clusters", "largest_cluster_size", "smallest_cluster_size",
                        "num_samples", "num_features", "unique_users", "total_tweets"))
DERIVED = ("som_grid_size", "cluster_size_variance")

_SCALARS = (str, int, float, bool, type(None))


def _stats(fields: dict, name: str, known: tuple) -> dict:
    out = {}
    for key, value in fields.items():
        where = f"{name}.{key}"
        if key in known or key in INT_FIELDS:
            out[key] = number(value, where, integer=key in INT_FIELDS)
        elif isinstance(value, _SCALARS):
            out[key] = value
        else:
            raise BadArtifact(f"{where}: expected a number or text, got {type(value).__name__}")
    return out


def _config(config: dict) -> dict:
    from mlflow_sweep_plugin.parsers.generic import flatten_record

    for key in ("x_dim", "y_dim", "num_iterations"):
        if key in config:
            value = number(config[key], f"config.{key}", integer=True)
            if value is not None and value < 1:
                raise BadArtifact(f"config.{key}: must be positive, got {value}")
    for key in ("learning_rate", "sigma"):
        if key in config:
            number(config[key], f"config.{key}")
    return flatten_record(config, prefix="config")


def _clusters(value) -> None:
    if value is None:
        return
    for key, cluster in mapping(value, "clusters").items():
        parts = key.split(",") if isinstance(key, str) else []
        if len(parts) != 2 or not all(p.strip().lstrip("-").isdigit() for p in parts):
            raise BadArtifact(f"clusters: key {key!r} is not 'row,col'")
        if not isinstance(cluster, dict):
            raise BadArtifact(f"clusters.{key}: expected an object")
        number(cluster.get("size"), f"clusters.{key}.size", integer=True)


def som_record(data) -> dict:
    """The export record of one loaded ``som_results.json``."""
    mapping(data, "top level")
    config, training, stats = (section(data, name) for name in SECTIONS)
    record = _stats(training, "training_stats", TRAINING_FIELDS)
    data_stats = _stats(stats, "data_stats", DATA_FIELDS)
    clash = sorted(set(record) & set(data_stats) | (set(record) | set(data_stats)) & set(DERIVED))
    if clash:
        raise BadArtifact(f"field(s) {', '.join(clash)} appear twice (training_stats, "
                          "data_stats or derived)")
    record.update(data_stats)
    record.update(_config(config))
    _clusters(data.get("clusters"))
    x_dim, y_dim = config.get("x_dim"), config.get("y_dim")
    record["som_grid_size"] = x_dim * y_dim if x_dim is not None and y_dim is not None else None
    std = record.get("cluster_size_std")
    record["cluster_size_variance"] = std ** 2 if std is not None else None
    return record


def parse_som_results(data, ctx) -> list[dict]:
    """One record per run: training and data statistics, config, grid size."""
    return [som_record(data)]
