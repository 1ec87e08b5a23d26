"""expected_shd / edge_auroc against hand-computed cases and scikit-learn."""

from __future__ import annotations

import math
import pathlib

import numpy as np
import pytest

from mlflow_sweep_causal.graph_metrics import (edge_auroc, edge_marginals, expected_shd,
                                               shd)

DATA = pathlib.Path(__file__).parent / "data" / "causal_run"

TRUTH_4 = np.array([[0, 1, 0, 0],
                    [0, 0, 1, 1],
                    [0, 0, 0, 0],
                    [0, 0, 1, 0]])


def g(n, *edges):
    out = np.zeros((n, n), dtype=np.int8)
    for i, j in edges:
        out[i, j] = 1
    return out


def test_reversed_edge_counts_once():
    truth = g(3, (0, 1))
    assert shd(g(3, (1, 0)), truth) == 1           # reversed
    assert shd(g(3, (0, 1), (1, 0)), truth) == 1   # both directions vs one: one pair
    assert shd(g(3), truth) == 1                   # missing
    assert shd(g(3, (0, 1), (1, 2)), truth) == 1   # extra
    assert shd(g(3, (1, 0), (2, 1), (0, 2)), truth) == 3
    assert shd(truth, truth) == 0
    # a self-loop is not a node pair
    assert shd(g(3, (0, 1), (2, 2)), truth) == 0


def test_single_particle():
    truth = g(3, (0, 1), (1, 2))
    graphs = g(3, (1, 0), (1, 2))[None]
    assert expected_shd(graphs, truth) == 1.0
    # marginals are the graph itself: positives (0,1)=0, (1,2)=1; negatives include (1,0)=1
    # pairs pos x neg: (0,1)=0 vs [0,0,0,1]: 3 ties, 1 loss -> 1.5; (1,2)=1 vs: 3 wins + 1 tie -> 3.5
    assert edge_auroc(graphs, truth) == pytest.approx(5 / 8)
    # a (d, d) array is one particle too
    assert expected_shd(graphs[0], truth) == 1.0
    assert edge_auroc(truth, truth) == 1.0 and expected_shd(truth, truth) == 0.0


def test_weighted_hand_case():
    truth = g(3, (0, 1), (1, 2))
    graphs = np.stack([g(3, (0, 1), (0, 2)),   # SHD 2: extra 0-2, missing 1-2
                       g(3, (1, 2)),           # SHD 1: missing 0-1
                       g(3, (2, 1)),           # SHD 2: missing 0-1, reversed 1-2 (once)
                       g(3)])                  # SHD 2
    weights = np.array([0.5, 0.2, 0.2, 0.1])
    assert expected_shd(graphs, truth, weights) == pytest.approx(0.5 * 2 + 0.2 + 0.2 * 2 + 0.1 * 2)
    # marginals: p01=.5 p12=.2 | negatives p02=.5 p10=0 p20=0 p21=.2
    # p01: tie, win, win, win = 3.5; p12: loss, win, win, tie = 2.5 -> 6/8
    assert edge_auroc(graphs, truth, weights) == pytest.approx(0.75)
    np.testing.assert_allclose(edge_marginals(graphs, weights),
                               [[0, .5, .5], [0, 0, .2], [0, .2, 0]])
    # uniform weights when absent: every marginal is .25 except p10 = p20 = 0
    assert expected_shd(graphs, truth) == pytest.approx((2 + 1 + 2 + 2) / 4)
    # each positive: tie(p02), win, win, tie(p21) -> 3; two positives => 6/8
    assert edge_auroc(graphs, truth) == pytest.approx(6 / 8)
    # moving G2's weight up makes p12 the largest marginal: p12 = .4 wins all 4 -> 4;
    # p01 = .3 ties p02 = .3, beats 0, 0 and p21 = .2 -> 3.5  => 7.5/8
    w2 = np.array([0.3, 0.4, 0.2, 0.1])
    assert edge_auroc(graphs, truth, w2) == pytest.approx(7.5 / 8)


def test_all_equal_marginals_give_one_half():
    truth = g(3, (0, 1))
    graphs = np.stack([np.ones((3, 3), dtype=int) - np.eye(3, dtype=int), np.zeros((3, 3), int)])
    assert edge_auroc(graphs, truth) == 0.5
    assert edge_auroc(np.zeros((2, 3, 3), int), truth) == 0.5
    # float noise in the weights is still a tie (0.1 + 0.2 vs 0.3)
    graphs = np.stack([g(3, (0, 1), (0, 2)), g(3, (0, 1), (0, 2)), g(3, (0, 1)), g(3, (0, 2))])
    w = np.array([0.1, 0.2, 0.35, 0.35])
    # p01 = .65 = p02 -> the only positive ties with one negative, beats the 4 zeros
    assert edge_auroc(graphs, truth, w) == pytest.approx((4 + 0.5) / 5)


def test_one_class_truth_is_nan():
    graphs = np.stack([g(3, (0, 1)), g(3)])
    assert math.isnan(edge_auroc(graphs, g(3)))
    full = np.ones((3, 3), int) - np.eye(3, dtype=int)
    assert math.isnan(edge_auroc(graphs, full))
    assert expected_shd(graphs, full) == 3.0  # every pair differs in both particles


def test_the_example_particles():
    with np.load(DATA / "SVGD" / "particles.npz", allow_pickle=False) as z:
        svgd = (z["graphs"], z["weights"])
    with np.load(DATA / "Ensemble" / "particles.npz", allow_pickle=False) as z:
        ens = z["graphs"]
        assert "weights" not in z.files
    # SVGD: truth, missing 0->1, reversed 1->2, extra 0->3 => 0.4*0 + 0.3 + 0.2 + 0.1
    assert expected_shd(svgd[0], TRUTH_4, svgd[1]) == pytest.approx(0.6)
    assert edge_auroc(svgd[0], TRUTH_4, svgd[1]) == 1.0
    assert expected_shd(ens, TRUTH_4) == pytest.approx(2 / 3)
    assert edge_auroc(ens, TRUTH_4) == 1.0


def test_agrees_with_scikit_learn():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    for _ in range(50):
        d = int(rng.integers(2, 7))
        truth = (rng.random((d, d)) < 0.3).astype(int)
        np.fill_diagonal(truth, 0)
        off = ~np.eye(d, dtype=bool)
        if truth[off].min() == truth[off].max():
            continue
        n = int(rng.integers(1, 6))
        graphs = (rng.random((n, d, d)) < 0.4).astype(int)
        weights = rng.dirichlet(np.ones(n)) if rng.random() < 0.5 else None
        p = edge_marginals(graphs, weights)
        expected = sklearn_metrics.roc_auc_score(truth[off], np.round(p[off], 12))
        assert edge_auroc(graphs, truth, weights) == pytest.approx(expected)


@pytest.mark.parametrize("graphs, truth, weights, message", [
    (np.zeros((2, 3, 4)), np.zeros((3, 3)), None, "shape"),
    (np.zeros((2, 4, 4)), np.zeros((3, 3)), None, "ground truth has 3"),
    (np.full((1, 3, 3), 2), np.zeros((3, 3)), None, "0 or 1"),
    (np.zeros((2, 3, 3)), np.zeros((3, 2)), None, "square"),
    (np.zeros((2, 3, 3)), np.zeros((3, 3)), [0.5, 0.6], "sum to 1"),
    (np.zeros((2, 3, 3)), np.zeros((3, 3)), [1.5, -0.5], "non-negative"),
    (np.zeros((2, 3, 3)), np.zeros((3, 3)), [1.0], "shape (2,)"),
    (np.zeros((0, 3, 3)), np.zeros((3, 3)), None, "no particles"),
])
def test_bad_input_is_a_value_error(graphs, truth, weights, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        expected_shd(graphs, truth, weights)
