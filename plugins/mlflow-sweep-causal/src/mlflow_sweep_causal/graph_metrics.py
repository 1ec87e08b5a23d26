"""Expected SHD and edge AUROC of a weighted set of graph particles.

These are the definitions of ``causal_results.md``, written once so the export
(``eshd_computed``, ``auroc_computed``) and the team's own evaluation agree:

- ``expected_shd`` = sum_k w_k * SHD(G_k, G*), where SHD counts the unordered node pairs
  {i, j} (i != j) whose edge differs; a reversed edge is one differing pair, so it
  counts once. The diagonal (self-loops) is not a node pair and is ignored.
- ``edge_auroc`` = ROC AUC of the edge marginals p_ij = sum_k w_k G_k[i, j] against
  G*[i, j] over all i != j. Ties count one half (the Mann-Whitney statistic, the same
  number as ``sklearn.metrics.roc_auc_score``). When G* has only edges or only
  non-edges off the diagonal, AUROC is undefined and ``nan`` is returned.

Weights default to uniform. Both functions raise :class:`ValueError` with the reason on
input that breaks the format (wrong shapes, entries other than 0/1, negative weights
or weights that do not sum to 1), so callers can report it.

numpy is imported inside the functions: this module is reachable from the plugin's
entry point, which MLflow-adjacent tools load eagerly.
"""

from __future__ import annotations

import math

WEIGHT_SUM_TOLERANCE = 1e-6
# Marginals are sums of float weights; round before ranking so that 0.1 + 0.2 and 0.3
# count as the tie they are meant to be.
MARGINAL_DECIMALS = 12


def _binary(array, what: str):
    import numpy as np

    arr = np.asarray(array)
    if arr.dtype == bool:
        return arr.astype(np.int8)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{what}: expected 0/1 numbers, got dtype {arr.dtype}")
    if arr.size and not np.isin(arr, (0, 1)).all():
        bad = arr[~np.isin(arr, (0, 1))].flat[0]
        raise ValueError(f"{what}: entries must be 0 or 1, found {bad!r}")
    return arr.astype(np.int8)


def check_truth(truth):
    """The ground-truth adjacency as a square 0/1 int array (``ValueError`` otherwise)."""
    arr = _binary(truth, "ground truth")
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] < 1:
        raise ValueError(f"ground truth: expected a square (d, d) matrix, got shape {arr.shape}")
    return arr


def check_particles(graphs, weights=None, d: int | None = None):
    """``(graphs, weights)`` as a (n, d, d) 0/1 array and (n,) float weights summing to 1.

    A single (d, d) graph is one particle. ``d``, when given, is the number of nodes the
    graphs must have (the ground truth's).
    """
    import numpy as np

    g = _binary(graphs, "graphs")
    if g.ndim == 2:
        g = g[None]
    if g.ndim != 3 or g.shape[1] != g.shape[2]:
        raise ValueError(f"graphs: expected shape (n_particles, d, d), got {g.shape}")
    if g.shape[0] < 1:
        raise ValueError("graphs: no particles")
    if d is not None and g.shape[1] != d:
        raise ValueError(f"graphs: particles have {g.shape[1]} nodes but the ground truth has {d}")
    n = g.shape[0]
    if weights is None:
        w = np.full(n, 1.0 / n)
    else:
        w = np.asarray(weights)
        if not (np.issubdtype(w.dtype, np.integer) or np.issubdtype(w.dtype, np.floating)):
            raise ValueError(f"weights: expected numbers, got dtype {w.dtype}")
        w = w.astype(float)
        if w.shape != (n,):
            raise ValueError(f"weights: expected shape ({n},) for {n} particles, got {w.shape}")
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError("weights: must be finite and non-negative")
        if abs(w.sum() - 1.0) > WEIGHT_SUM_TOLERANCE:
            raise ValueError(f"weights: must sum to 1, they sum to {w.sum():.9g}")
    return g, w


def shd(graph, truth) -> int:
    """Structural Hamming distance of one (d, d) graph: differing unordered node pairs."""
    import numpy as np

    t = check_truth(truth)
    if np.ndim(graph) != 2:
        raise ValueError(f"shd: expected one (d, d) graph, got shape {np.shape(graph)}")
    g, _ = check_particles(graph, d=t.shape[0])
    return int(_shd_per_particle(g, t)[0])


def _shd_per_particle(g, t):
    import numpy as np

    differs = (g != t[None]) | (g.transpose(0, 2, 1) != t.T[None])
    upper = np.triu(np.ones(t.shape, dtype=bool), k=1)
    return (differs & upper[None]).sum(axis=(1, 2))


def expected_shd(graphs, truth, weights=None) -> float:
    """Weighted mean SHD of the particles to the truth (uniform weights by default)."""
    t = check_truth(truth)
    g, w = check_particles(graphs, weights, d=t.shape[0])
    return float((w * _shd_per_particle(g, t)).sum())


def edge_marginals(graphs, weights=None):
    """p_ij = sum_k w_k G_k[i, j], a (d, d) float array."""
    import numpy as np

    g, w = check_particles(graphs, weights)
    return np.tensordot(w, g.astype(float), axes=1)


def _auc(labels, scores) -> float:
    """Mann-Whitney AUC with average ranks for ties."""
    import numpy as np

    labels = np.asarray(labels, dtype=bool)
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    starts = np.cumsum(counts) - counts  # 0-based rank where each tie group begins
    avg_rank = starts + (counts + 1) / 2.0  # 1-based average rank of the group
    ranks = avg_rank[inverse]
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def edge_auroc(graphs, truth, weights=None) -> float:
    """ROC AUC of the edge marginals against the truth over i != j (``nan`` when the
    truth has a single class off the diagonal)."""
    import numpy as np

    t = check_truth(truth)
    g, w = check_particles(graphs, weights, d=t.shape[0])
    p = np.round(np.tensordot(w, g.astype(float), axes=1), MARGINAL_DECIMALS)
    off = ~np.eye(t.shape[0], dtype=bool)
    return _auc(t[off] == 1, p[off])
