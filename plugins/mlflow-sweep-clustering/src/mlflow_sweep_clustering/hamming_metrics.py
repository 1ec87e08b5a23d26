"""Cluster metrics of binary sparsity masks, as the Hamming k-means analysis defines them.

The multi-seed analysis (seed 004) picks a row of a pruned weight matrix, takes the
rows whose sparsity masks are closest to it in Hamming distance, runs k-means on those
masks and reports, per (seed, k) execution:

- ``min_hamming`` / ``max_hamming``: the smallest and largest Hamming distance from the
  chosen row's mask to the analysed rows' masks; ``hamming_range`` = max - min.
- ``mean_within_cluster_distance``: mean Hamming distance over pairs of rows in the same
  cluster; ``mean_between_cluster_distance``: mean over pairs in different clusters
  (the multi-seed script's definition). ``distance="centroid"`` gives the older
  single-execution scripts' variant instead: mean Euclidean distance of each row to
  its cluster centre, and mean pairwise Euclidean distance between cluster centres.
- ``separation_ratio`` = between / within (``inf`` when within is 0 and between is
  not, ``nan`` when both are 0 or undefined), and its quality band: > 2.0 excellent,
  > 1.0 good, > 0.5 moderate, otherwise poor.
- ``total_inertia``: sum of squared Euclidean distances to the cluster centres (what
  k-means minimises; the fitted model's ``inertia_`` when it is given).
- ``cluster_sizes`` (a list of length k, empty clusters included) and
  ``cluster_balance`` = their population standard deviation.

So the analysis script can compute and log through these functions instead of its own
copies. numpy is imported inside the functions.
"""

from __future__ import annotations

import math

QUALITY_BANDS = ((2.0, "excellent"), (1.0, "good"), (0.5, "moderate"))


def _masks(masks):
    import numpy as np

    arr = np.asarray(masks)
    if arr.ndim != 2:
        raise ValueError(f"masks: expected a 2-D (rows, columns) array, got shape {arr.shape}")
    if arr.dtype != bool:
        if arr.size and not np.isin(arr, (0, 1)).all():
            raise ValueError("masks: entries must be 0/1 or booleans")
        arr = arr.astype(bool)
    return arr


def _labels(labels, n: int):
    import numpy as np

    lab = np.asarray(labels)
    if lab.shape != (n,):
        raise ValueError(f"labels: expected shape ({n},), got {lab.shape}")
    if lab.size and not np.issubdtype(lab.dtype, np.integer):
        raise ValueError("labels: expected integer cluster ids")
    if lab.size and lab.min() < 0:
        raise ValueError("labels: cluster ids must be >= 0")
    return lab


def hamming_matrix(masks):
    """Pairwise Hamming distances of the rows of a binary matrix, (n, n) ints."""
    import numpy as np

    m = _masks(masks).astype(np.int32)
    ones = m.sum(axis=1)
    common = m @ m.T
    return ones[:, None] + ones[None, :] - 2 * common


def hamming_to(reference, masks):
    """Hamming distance from one mask to every row of ``masks``."""
    import numpy as np

    m = _masks(masks)
    ref = _masks(np.asarray(reference)[None])[0]
    if ref.shape[0] != m.shape[1]:
        raise ValueError(f"reference has {ref.shape[0]} columns, masks have {m.shape[1]}")
    return (m != ref[None]).sum(axis=1)


def pairwise_cluster_distances(masks, labels) -> tuple[float, float]:
    """(mean within-cluster, mean between-cluster) Hamming distance over row pairs;
    ``nan`` for a side without pairs."""
    import numpy as np

    d = hamming_matrix(masks)
    lab = _labels(labels, d.shape[0])
    iu = np.triu_indices(d.shape[0], k=1)
    same = lab[iu[0]] == lab[iu[1]]
    dist = d[iu].astype(float)
    within = float(dist[same].mean()) if same.any() else math.nan
    between = float(dist[~same].mean()) if (~same).any() else math.nan
    return within, between


def _centres(m, lab):
    """(the centre of each cluster, the centre of each row's cluster)."""
    import numpy as np

    ids, which = np.unique(lab, return_inverse=True)
    centres = np.stack([m[lab == c].mean(axis=0) for c in ids])
    return centres, centres[which.reshape(-1)]


def centroid_cluster_distances(masks, labels) -> tuple[float, float]:
    """(mean distance of each row to its cluster centre, mean pairwise distance
    between centres), Euclidean; ``nan`` for between with fewer than two clusters."""
    import numpy as np

    m = _masks(masks).astype(float)
    lab = _labels(labels, m.shape[0])
    if m.shape[0] == 0:
        return math.nan, math.nan
    centres, own = _centres(m, lab)
    within = float(np.linalg.norm(m - own, axis=1).mean())
    if len(centres) < 2:
        return within, math.nan
    iu = np.triu_indices(len(centres), k=1)
    diffs = np.linalg.norm(centres[:, None, :] - centres[None, :, :], axis=2)
    return within, float(diffs[iu].mean())


def cluster_distances(masks, labels, distance: str = "hamming") -> tuple[float, float]:
    """(within, between) by the chosen definition: ``"hamming"`` or ``"centroid"``."""
    if distance == "hamming":
        return pairwise_cluster_distances(masks, labels)
    if distance == "centroid":
        return centroid_cluster_distances(masks, labels)
    raise ValueError(f"distance must be 'hamming' or 'centroid', not {distance!r}")


def separation_ratio(within: float, between: float) -> float:
    """between / within; ``inf`` for tight clusters apart, ``nan`` when undefined."""
    if within is None or between is None or math.isnan(within) or math.isnan(between):
        return math.nan
    if within == 0:
        return math.inf if between > 0 else math.nan
    return between / within


def separation_quality(ratio) -> str | None:
    """The report band of a separation ratio (``None`` when there is no ratio)."""
    if ratio is None or (isinstance(ratio, float) and math.isnan(ratio)):
        return None
    for bound, name in QUALITY_BANDS:
        if ratio > bound:
            return name
    return "poor"


def cluster_sizes(labels, k: int | None = None) -> list[int]:
    """Rows per cluster id 0..k-1 (k defaults to the largest id + 1)."""
    import numpy as np

    lab = np.asarray(labels)
    if lab.size and (not np.issubdtype(lab.dtype, np.integer) or lab.min() < 0):
        raise ValueError("labels: expected non-negative integer cluster ids")
    n = int(lab.max()) + 1 if lab.size else 0
    k = n if k is None else k
    if n > k:
        raise ValueError(f"labels use cluster id {n - 1} but k is {k}")
    return [int(c) for c in np.bincount(lab.astype(int), minlength=k)] if k else []


def cluster_balance(sizes) -> float | None:
    """Population standard deviation of the cluster sizes (``None`` for no clusters)."""
    sizes = [float(s) for s in sizes]
    if not sizes:
        return None
    mean = sum(sizes) / len(sizes)
    return math.sqrt(sum((s - mean) ** 2 for s in sizes) / len(sizes))


def inertia(masks, labels) -> float:
    """Sum of squared Euclidean distances of the rows to their cluster centres."""
    m = _masks(masks).astype(float)
    lab = _labels(labels, m.shape[0])
    if m.shape[0] == 0:
        return 0.0
    _, own = _centres(m, lab)
    return float(((m - own) ** 2).sum())


def execution_metrics(masks, labels, *, reference=None, k: int | None = None, kmeans=None,
                      seed=None, feature_idx=None, n_iter=None, converged=None,
                      distance: str = "hamming") -> dict:
    """One ``executions`` entry of ``metrics_summary.json`` for a k-means result.

    ``masks`` are the analysed rows' binary masks, ``labels`` their cluster ids and
    ``reference`` the chosen row's mask (for ``min_hamming``/``max_hamming``). A fitted
    scikit-learn ``KMeans`` may be passed as ``kmeans`` for ``inertia_``, ``n_iter_``
    and ``n_clusters``. ``converged`` is left out unless given (KMeans does not say).
    """
    if kmeans is not None:
        k = k if k is not None else int(getattr(kmeans, "n_clusters", 0)) or None
        n_iter = n_iter if n_iter is not None else getattr(kmeans, "n_iter_", None)
    within, between = cluster_distances(masks, labels, distance)
    sizes = cluster_sizes(labels, k)
    out = {"seed": seed, "k": k if k is not None else len(sizes), "feature_idx": feature_idx}
    if reference is not None:
        dist = hamming_to(reference, masks)
        out["min_hamming"] = int(dist.min()) if dist.size else None
        out["max_hamming"] = int(dist.max()) if dist.size else None
    total = getattr(kmeans, "inertia_", None) if kmeans is not None else None
    out.update({
        "mean_within_cluster_distance": within,
        "mean_between_cluster_distance": between,
        "separation_ratio": separation_ratio(within, between),
        "total_inertia": float(total) if total is not None else inertia(masks, labels),
        "cluster_sizes": sizes,
    })
    if n_iter is not None:
        out["n_iter"] = int(n_iter)
    if converged is not None:
        out["converged"] = bool(converged)
    return {key: value for key, value in out.items() if value is not None}
