"""mlflow_sweep_plugin.parsers.bounds: a tree measured as a walk sees it, at the cost of
its distinct objects; a preview of any size of value."""

from __future__ import annotations

import json

import pytest

from mlflow_sweep_plugin.errors import BadArtifact
from mlflow_sweep_plugin.parsers.bounds import (MAX_NODES, MAX_NODES_ENV, TooManyNodes, count_nodes,
                                                max_nodes, preview)


def _walk(value):
    """An independent count: the nodes a plain recursive walk visits."""
    if isinstance(value, dict):
        return 1 + sum(_walk(v) for v in value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return 1 + sum(_walk(v) for v in value)
    return 1


@pytest.mark.parametrize("value", [3, "s", [], {}, [1, [2, 3]], {"a": {"b": [1, 2]}, "c": (4, 5)},
                                   {1, 2}, [None, {"x": frozenset({1})}]])
def test_count_nodes_agrees_with_a_walk(value):
    assert count_nodes(value) == _walk(value)


def test_a_shared_object_counts_each_time_it_is_reached():
    leaf = [1, 2, 3]
    level = [leaf] * 4
    top = {"a": level, "b": level}
    assert count_nodes(top) == _walk(top) == 1 + 2 * (1 + 4 * 4)


def test_a_bomb_is_refused_cheaply():
    value = [0]
    for _ in range(30):
        value = [value] * 9  # 9^30 nodes as a tree, 31 objects
    with pytest.raises(TooManyNodes, match="more than 1,000 values"):
        count_nodes(value, limit=1000)
    assert issubclass(TooManyNodes, BadArtifact)


def test_a_tree_that_contains_itself_is_refused():
    loop = []
    loop.append([loop])
    with pytest.raises(TooManyNodes, match="contains itself"):
        count_nodes(loop)


def test_max_nodes_reads_the_environment(monkeypatch):
    monkeypatch.delenv(MAX_NODES_ENV, raising=False)
    assert max_nodes() == MAX_NODES
    monkeypatch.setenv(MAX_NODES_ENV, "5")
    assert max_nodes() == 5
    with pytest.raises(TooManyNodes):
        count_nodes([1, 2, 3, 4, 5])
    monkeypatch.setenv(MAX_NODES_ENV, "five")
    assert max_nodes() == MAX_NODES


@pytest.mark.parametrize("value", [{"a": 1, "b": [1.5, None, True]}, [1, "x"], "short", {1: "k"}])
def test_preview_of_a_small_value_is_its_json(value):
    assert preview(value) == json.dumps(value, default=str)[:60]


def test_preview_of_a_huge_value_is_short_and_a_prefix_of_its_json():
    big = {"k": list(range(10_000)), "s": "x" * 10_000}
    out = preview(big, chars=40)
    assert len(out) == 40 and json.dumps(big).startswith(out)
    bomb = [0]
    for _ in range(40):
        bomb = [bomb] * 9
    assert len(preview(bomb)) <= 60
