"""SOM statistics from a trained MiniSom, checked by hand on a map with set weights."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from minisom import MiniSom

from mlflow_sweep_som.results import som_record
from mlflow_sweep_som.stats import cluster_stats, som_config, som_results, winning_neurons


def hand_som():
    som = MiniSom(1, 3, 2, sigma=1.0, learning_rate=0.3, neighborhood_function="bubble",
                  activation_distance="manhattan", random_seed=0)
    som._weights = np.array([[[0.0, 0.0], [10.0, 10.0], [20.0, 0.0]]])
    return som


DATA = np.array([[0.0, 0.0], [1.0, 0.0], [9.0, 10.0], [10.0, 10.0], [11.0, 10.0], [0.0, 3.0]])


def test_winners_and_cluster_stats_by_hand():
    som = hand_som()
    winners = winning_neurons(som, DATA)
    assert winners == [(0, 0), (0, 0), (0, 1), (0, 1), (0, 1), (0, 0)]
    stats = cluster_stats(winners)
    # neurons (0,0) and (0,1) win 3 samples each; (0,2) wins none and is no cluster
    assert stats == {"num_clusters": 2, "largest_cluster_size": 3, "smallest_cluster_size": 3,
                     "mean_cluster_size": 3.0, "cluster_size_std": 0.0}
    sizes = cluster_stats([(0, 0)] * 5 + [(1, 2)] * 2 + [(3, 3)])
    assert sizes["mean_cluster_size"] == pytest.approx(8 / 3)
    assert sizes["cluster_size_std"] == pytest.approx(np.std([5, 2, 1]))  # population std
    assert cluster_stats([])["num_clusters"] == 0


def test_results_document_by_hand():
    som = hand_som()
    doc = som_results(som, DATA, {"x_dim": 1, "y_dim": 3, "num_iterations": 10},
                      extra_data_stats={"unique_users": 4})
    full = doc
    training = doc["training_stats"]
    # distances to the best unit (manhattan picks it; the error is euclidean): 0,1,1,0,1,3
    assert training["quantization_error"] == pytest.approx(6 / 6)
    # every sample's two best units are grid neighbours
    assert training["topographic_error"] == 0.0
    # (12, -6): best unit (0,2) at distance 10, second best (0,0): not neighbours
    doc = som_results(som, np.vstack([DATA, [[12.0, -6.0]]]))
    assert doc["training_stats"]["topographic_error"] == pytest.approx(1 / 7)
    assert doc["training_stats"]["quantization_error"] == pytest.approx((6 + 10) / 7)
    assert doc["clusters"]["0,2"] == {"size": 1}
    assert doc["training_stats"]["smallest_cluster_size"] == 1
    doc = full
    assert doc["data_stats"] == {"num_samples": 6, "num_features": 2, "unique_users": 4}
    assert doc["clusters"] == {"0,0": {"size": 3}, "0,1": {"size": 3}}
    cfg = doc["config"]
    assert cfg["learning_rate"] == 0.3 and cfg["sigma"] == 1.0
    assert cfg["neighborhood_function"] == "bubble" and cfg["activation_distance"] == "manhattan"
    assert cfg["topology"] == "rectangular" and cfg["num_iterations"] == 10
    # the document is valid input for the parser, with the derived columns
    rec = som_record(doc)
    assert rec["som_grid_size"] == 3 and rec["cluster_size_variance"] == 0.0
    assert rec["num_clusters"] == 2 and rec["config.activation_distance"] == "manhattan"


def test_config_from_dataclass_and_grid_mismatch():
    @dataclasses.dataclass
    class SOMTrainingConfig:
        x_dim: int = 1
        y_dim: int = 3
        learning_rate: float = 0.3
        normalize_features: bool = True

    cfg = som_config(hand_som(), SOMTrainingConfig())
    assert cfg["normalize_features"] is True and cfg["sigma"] == 1.0
    with pytest.raises(ValueError, match="grid"):
        som_config(hand_som(), {"x_dim": 8, "y_dim": 8})


def test_trained_som_matches_minisom():
    rng = np.random.default_rng(1)
    data = np.vstack([rng.normal(0, 0.1, (20, 3)), rng.normal(1, 0.1, (20, 3))])
    som = MiniSom(3, 3, 3, sigma=1.0, learning_rate=0.5, random_seed=3)
    som.train(data, 200)
    doc = som_results(som, data)
    assert doc["training_stats"]["quantization_error"] == pytest.approx(som.quantization_error(data))
    winners = som.win_map(data)
    assert doc["training_stats"]["num_clusters"] == len(winners)
    assert sum(c["size"] for c in doc["clusters"].values()) == 40
    assert doc["config"]["x_dim"] == 3 and doc["config"]["neighborhood_function"] == "gaussian"
