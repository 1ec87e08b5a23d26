"""Hamming k-means metrics on small hand-made masks (numbers worked out by hand)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlflow_sweep_clustering.hamming_metrics import (cluster_balance, cluster_distances,
                                                     cluster_sizes, execution_metrics,
                                                     hamming_matrix, hamming_to, inertia,
                                                     separation_quality, separation_ratio)

MASKS = np.array([[1, 1, 0, 0],
                  [1, 1, 1, 0],
                  [0, 0, 1, 1],
                  [0, 0, 0, 1],
                  [0, 1, 1, 1]], dtype=bool)
LABELS = np.array([0, 0, 1, 1, 1])


def test_hamming_matrix_and_distances_to_a_row():
    expected = np.array([[0, 1, 4, 3, 3],
                         [1, 0, 3, 4, 2],
                         [4, 3, 0, 1, 1],
                         [3, 4, 1, 0, 2],
                         [3, 2, 1, 2, 0]])
    np.testing.assert_array_equal(hamming_matrix(MASKS), expected)
    np.testing.assert_array_equal(hamming_matrix(MASKS.astype(int)), expected)
    np.testing.assert_array_equal(hamming_to([1, 1, 0, 0], MASKS), [0, 1, 4, 3, 3])


def test_within_between_pairwise_hamming():
    within, between = cluster_distances(MASKS, LABELS)
    # same-cluster pairs (0,1)=1 (2,3)=1 (2,4)=1 (3,4)=2; cross pairs 4,3,3,3,4,2
    assert within == pytest.approx(5 / 4)
    assert between == pytest.approx(19 / 6)
    assert separation_ratio(within, between) == pytest.approx((19 / 6) / (5 / 4))
    # one cluster: no between pairs; all singletons: no within pairs
    assert math.isnan(cluster_distances(MASKS, [0] * 5)[1])
    assert math.isnan(cluster_distances(MASKS, [0, 1, 2, 3, 4])[0])


def test_within_between_centroid_variant():
    within, between = cluster_distances(MASKS, LABELS, distance="centroid")
    # centres [1, 1, .5, 0] and [0, 1/3, 2/3, 1]
    assert within == pytest.approx((0.5 + 0.5 + math.sqrt(2 / 9) + 2 * math.sqrt(5 / 9)) / 5)
    assert between == pytest.approx(math.sqrt(89) / 6)
    with pytest.raises(ValueError, match="hamming"):
        cluster_distances(MASKS, LABELS, distance="cosine")


def test_inertia_sizes_balance():
    assert inertia(MASKS, LABELS) == pytest.approx(0.5 + 4 / 3)
    assert cluster_sizes(LABELS) == [2, 3]
    assert cluster_sizes(LABELS, k=4) == [2, 3, 0, 0]   # empty clusters count
    assert cluster_balance([2, 3]) == 0.5
    assert cluster_balance([40, 30, 33, 25]) == pytest.approx(np.std([40, 30, 33, 25]))
    assert cluster_balance([7]) == 0.0 and cluster_balance([]) is None
    with pytest.raises(ValueError, match="k is 1"):
        cluster_sizes(LABELS, k=1)


@pytest.mark.parametrize("ratio, quality", [
    (2.01, "excellent"), (2.0, "good"), (1.01, "good"), (1.0, "moderate"), (0.51, "moderate"),
    (0.5, "poor"), (0.0, "poor"), (math.inf, "excellent"), (math.nan, None), (None, None)])
def test_quality_bands(ratio, quality):
    assert separation_quality(ratio) == quality


def test_separation_ratio_edges():
    assert separation_ratio(0.0, 3.0) == math.inf
    assert math.isnan(separation_ratio(0.0, 0.0))
    assert math.isnan(separation_ratio(math.nan, 1.0))


def test_execution_metrics_by_hand():
    ex = execution_metrics(MASKS[1:], LABELS[1:], reference=MASKS[0], k=3, seed=4,
                           feature_idx=17, n_iter=6, converged=True)
    # rows 1..4 with labels 0,1,1,1 against the reference row 0
    assert ex["min_hamming"] == 1 and ex["max_hamming"] == 4
    assert ex["cluster_sizes"] == [1, 3, 0]
    assert ex["mean_within_cluster_distance"] == pytest.approx(4 / 3)   # 1, 1, 2
    assert ex["mean_between_cluster_distance"] == pytest.approx(3)      # 3, 4, 2
    assert ex["separation_ratio"] == pytest.approx(9 / 4)
    assert ex["total_inertia"] == pytest.approx(4 / 3)
    assert (ex["seed"], ex["k"], ex["feature_idx"], ex["n_iter"], ex["converged"]) == (4, 3, 17, 6, True)
    assert "converged" not in execution_metrics(MASKS, LABELS)


def test_execution_metrics_from_scikit_learn_kmeans():
    cluster = pytest.importorskip("sklearn.cluster")
    rng = np.random.default_rng(0)
    protos = rng.random((3, 40)) < 0.5
    masks = protos[rng.integers(0, 3, 60)] ^ (rng.random((60, 40)) < 0.05)
    km = cluster.KMeans(n_clusters=3, n_init=3, random_state=0).fit(masks.astype(float))
    ex = execution_metrics(masks, km.labels_, reference=masks[0], kmeans=km, seed=0)
    assert ex["k"] == 3 and ex["n_iter"] == km.n_iter_
    assert ex["total_inertia"] == pytest.approx(km.inertia_, rel=1e-6)
    assert ex["total_inertia"] == pytest.approx(inertia(masks, km.labels_), rel=1e-6)
    assert sum(ex["cluster_sizes"]) == 60 and ex["min_hamming"] == 0
    assert ex["separation_ratio"] > 2  # three well separated prototypes


def test_bad_masks_and_labels():
    with pytest.raises(ValueError, match="0/1"):
        hamming_matrix([[0, 2], [1, 0]])
    with pytest.raises(ValueError, match="2-D"):
        hamming_matrix([0, 1, 1])
    with pytest.raises(ValueError, match="labels"):
        cluster_distances(MASKS, [0, 1])
