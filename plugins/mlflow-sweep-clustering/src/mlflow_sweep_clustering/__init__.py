"""mlflow-sweep reference plugin for clustering sweeps.

Parses ``layer_<L>/cluster_summary.json`` (SAE clustering) into one row per layer per
run, with the columns the research team's analyses use.
"""

from .cluster_summary import parse_cluster_summary

__all__ = ["parse_cluster_summary"]
__version__ = "0.1.0"
