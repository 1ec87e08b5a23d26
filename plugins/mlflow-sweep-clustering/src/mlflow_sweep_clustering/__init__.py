"""mlflow-sweep reference plugin for clustering sweeps.

Parses ``layer_<L>/cluster_summary.json`` (SAE clustering) into one row per layer per
run, with the columns the research team's analyses use, and
``summary/metrics_summary.json`` (multi-seed Hamming k-means of pruned-weight masks) into
one row per (seed, k) execution; :mod:`.hamming_metrics` computes those metrics from
binary masks and k-means labels, :mod:`.hamming_tracking` logs them.
"""

from .cluster_summary import parse_cluster_summary

__all__ = ["parse_cluster_summary"]
__version__ = "0.1.0"
