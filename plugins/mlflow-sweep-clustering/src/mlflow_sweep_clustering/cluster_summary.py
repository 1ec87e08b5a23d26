"""``layer_<L>/cluster_summary.json`` -> one record per layer.

Columns follow the format contract (``cluster_summary.md``) exactly, and everything
that file says may vary is tolerated: any component names, an absent refined section,
``null`` assignments and scores, clusters without a geometry fit, partial distance
tables, bare ``NaN`` tokens, any number of layers and clusters. Anything else is bad
input and raises :class:`~mlflow_sweep_plugin.BadArtifact` with the reason.
"""

from __future__ import annotations

import json

from mlflow_sweep_plugin.errors import BadArtifact
from mlflow_sweep_plugin.parsers.checks import integer, mapping, number, show

PATTERN = "layer_{layer}/cluster_summary.json"
PARSER_VERSION = "1"


def _assignment(section, where: str, prefix_assign: str, prefix_score: str, noise_col: str) -> dict:
    section = mapping(section, where)
    out = {}
    assignments = mapping(section.get("assignments", {}) or {}, f"{where}.assignments")
    scores = mapping(section.get("scores", {}) or {}, f"{where}.scores")
    for comp, cluster in assignments.items():
        out[f"{prefix_assign}{comp}"] = integer(cluster, f"{where}.assignments.{comp}")
    for comp, score in scores.items():
        out[f"{prefix_score}{comp}"] = number(score, f"{where}.scores.{comp}")
    noise = section.get("noise_clusters", [])
    if noise is None:
        noise = []
    if not isinstance(noise, list):
        raise BadArtifact(f"{where}.noise_clusters: expected a list, got {type(noise).__name__}")
    out[noise_col] = json.dumps([integer(n, f"{where}.noise_clusters", allow_none=False) for n in noise])
    return out


def parse_cluster_summary(data, ctx) -> list[dict]:
    """One record per layer: assignments, noise clusters and per-cluster geometry fits."""
    data = mapping(data, "top level")
    layer = ctx.captures.get("layer")
    if not isinstance(layer, int):
        raise BadArtifact(f"layer directory {layer!r} is not a layer number")
    if "layer" in data and integer(data["layer"], "layer") != layer:
        raise BadArtifact(f"file says layer {data['layer']!r} but its path says layer {layer}")

    rec: dict = {"layer": layer}
    ecr = data.get("energy_contrast_ratio")
    rec["energy_contrast_ratio"] = number(ecr, "energy_contrast_ratio")

    if "component_assignment" in data and data["component_assignment"] is not None:
        rec.update(_assignment(data["component_assignment"], "component_assignment",
                               "soft_assignments_", "soft_assignment_scores_", "soft_noise_clusters"))
    refined = data.get("component_assignment_refined")
    if refined is not None:
        rec.update(_assignment(refined, "component_assignment_refined",
                               "refined_assignments_", "refined_assignment_scores_",
                               "refined_noise_clusters"))

    fits = mapping(data.get("geometry_fits", {}) or {}, "geometry_fits")
    for cluster_id, fit in fits.items():
        try:
            n = int(cluster_id)
        except (TypeError, ValueError):
            raise BadArtifact(f"geometry_fits: cluster id {cluster_id!r} is not an integer") from None
        if fit is None:
            continue
        fit = mapping(fit, f"geometry_fits.{cluster_id}")
        where = f"geometry_fits.{cluster_id}"
        best = fit.get("best_geometry")
        if best is not None and not isinstance(best, str):
            raise BadArtifact(f"{where}.best_geometry: expected a string, got {show(best)}")
        rec[f"cluster_{n}_best_geometry"] = best
        rec[f"cluster_{n}_best_optimal_distance"] = number(
            fit.get("best_optimal_distance"), f"{where}.best_optimal_distance")
        distances = mapping(fit.get("distances", {}) or {}, f"{where}.distances")
        for geometry, dist in distances.items():
            value = number(dist, f"{where}.distances.{geometry}")
            rec[f"cluster_{n}_{geometry}_dist"] = value
    return [rec]
