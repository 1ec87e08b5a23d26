"""``summary/metrics_summary.json`` -> one record per (seed, k) execution.

Columns (``hamming_metrics_summary.md``): ``method``, ``layer``, ``component`` (from
``config``), ``matrix`` (``matrix.name``), then per execution ``seed``, ``k``,
``feature_idx``, ``min_hamming``, ``max_hamming``, ``hamming_range`` (max - min),
``mean_within_cluster_distance``, ``mean_between_cluster_distance``,
``separation_ratio``, ``separation_quality`` (band of the ratio), ``total_inertia``,
``cluster_balance`` (population std of ``cluster_sizes``), ``cluster_sizes`` (a JSON
list string), ``n_iter`` and ``converged`` (empty when absent, as in older files).

The ``matrix``, ``config`` and ``executions`` sections are required; an execution may
lack any field. A value of the wrong type makes the file bad input (one warning, no
rows from it).
"""

from __future__ import annotations

import json

from mlflow_sweep_plugin.errors import BadArtifact
from mlflow_sweep_plugin.parsers.checks import floating, integer, mapping, section, show, text

from .hamming_metrics import cluster_balance, separation_quality

PATTERN = "summary/metrics_summary.json"
PARSER_VERSION = "1"

INT_FIELDS = ("seed", "k", "feature_idx", "min_hamming", "max_hamming", "n_iter")
FLOAT_FIELDS = ("mean_within_cluster_distance", "mean_between_cluster_distance",
                "separation_ratio", "total_inertia")
COLUMNS = ("method", "layer", "component", "matrix", "seed", "k", "feature_idx",
           "min_hamming", "max_hamming", "hamming_range", "mean_within_cluster_distance",
           "mean_between_cluster_distance", "separation_ratio", "separation_quality",
           "total_inertia", "cluster_balance", "cluster_sizes", "n_iter", "converged")
#: the fields' roles for reports (``hookspecs.ParserRegister``): the analysed matrix and k
#: group, the seed is the replicate, the clustering quality is summarised; what describes
#: one execution (its chosen row, the cluster sizes, the iterations) is not
KEYS = ("method", "layer", "component", "matrix", "k")
OUTCOMES = ("mean_within_cluster_distance", "mean_between_cluster_distance", "separation_ratio",
            "total_inertia")
DESCRIPTORS = ("feature_idx", "min_hamming", "max_hamming", "hamming_range", "separation_quality",
               "cluster_balance", "cluster_sizes", "n_iter", "converged")


def execution_record(execution, where: str) -> dict:
    """The per-execution columns of one ``executions`` entry."""
    mapping(execution, where)
    rec = {name: integer(execution.get(name), f"{where}.{name}") for name in INT_FIELDS}
    rec.update({name: floating(execution.get(name), f"{where}.{name}") for name in FLOAT_FIELDS})
    lo, hi = rec["min_hamming"], rec["max_hamming"]
    rec["hamming_range"] = hi - lo if lo is not None and hi is not None else None
    rec["separation_quality"] = separation_quality(rec["separation_ratio"])
    sizes = execution.get("cluster_sizes")
    if sizes is not None:
        if not isinstance(sizes, list):
            raise BadArtifact(f"{where}.cluster_sizes: expected a list, got {show(sizes)}")
        sizes = [integer(s, f"{where}.cluster_sizes") for s in sizes]
        if any(s is None or s < 0 for s in sizes):
            raise BadArtifact(f"{where}.cluster_sizes: sizes must be non-negative integers")
        rec["cluster_balance"] = cluster_balance(sizes)
        rec["cluster_sizes"] = json.dumps(sizes)
    else:
        rec["cluster_balance"] = rec["cluster_sizes"] = None
    converged = execution.get("converged")
    if converged is not None and not isinstance(converged, bool):
        raise BadArtifact(f"{where}.converged: expected true or false, got {show(converged)}")
    rec["converged"] = converged
    return rec


def hamming_records(data) -> list[dict]:
    """All records of one loaded ``metrics_summary.json``, in file order."""
    mapping(data, "top level")
    matrix, config, executions = (section(data, name, types=(dict, list))
                                  for name in ("matrix", "config", "executions"))
    if not isinstance(matrix, dict) or not isinstance(config, dict):
        raise BadArtifact("matrix and config must be objects")
    if not isinstance(executions, list):
        raise BadArtifact(f"executions: expected a list, got {type(executions).__name__}")
    common = {
        "method": text(config.get("method"), "config.method"),
        "layer": integer(config.get("layer"), "config.layer"),
        "component": text(config.get("component"), "config.component"),
        "matrix": text(matrix.get("name"), "matrix.name"),
    }
    records = []
    for i, execution in enumerate(executions):
        rec = dict(common)
        rec.update(execution_record(execution, f"executions[{i}]"))
        records.append({name: rec[name] for name in COLUMNS})
    return records


def parse_metrics_summary(data, ctx) -> list[dict]:
    """One record per (seed, k) execution of a multi-seed Hamming k-means analysis."""
    return hamming_records(data)
