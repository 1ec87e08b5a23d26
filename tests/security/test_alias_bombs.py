"""Alias bombs: loading one is cheap, walking it is not. Messages show a bounded
preview, flattening measures the tree first and refuses more than the node limit, a
recursive alias is refused; nothing walks the expanded tree."""

from __future__ import annotations

import json
import time

import pytest

from mlflow_sweep_plugin.errors import BadArtifact
from mlflow_sweep_plugin.parsers import bounds, checks
from mlflow_sweep_plugin.parsers.generic import flatten_record
from mlflow_sweep_plugin.parsers.loaders import load_yaml
from sweep_test_helpers import yaml_bomb


def shared_tree(levels: int = 9, width: int = 9, mapping: bool = False):
    """What a loader makes of :func:`~sweep_test_helpers.yaml_bomb`: ``levels`` objects, each ``width`` times the last."""
    node = {f"k{j}": 1 for j in range(width)} if mapping else [1] * width
    for _ in range(levels - 1):
        node = {f"k{j}": node for j in range(width)} if mapping else [node] * width
    return node


LIMIT = f"more than {bounds.MAX_NODES:,}"


@pytest.mark.parametrize("mapping", [False, True])
def test_messages_show_a_bounded_preview(mapping):
    tree = shared_tree(mapping=mapping)
    started = time.monotonic()
    with pytest.raises(BadArtifact) as info:
        checks.number(tree, "eshd")
    assert time.monotonic() - started < 0.5
    text = str(info.value)
    assert text.startswith("eshd: expected a number, got " + ("{" if mapping else "[[[[")) and len(text) < 120
    for value in ({"a": [1, 2.5, None, True, "x"], 1: {}, None: [], 2.5: ()}, "x" * 500, [float("nan")],
                  {"s": {1, 2}}, object):
        assert checks.show(value) == json.dumps(value, default=str)[:60]  # the same text as before


@pytest.mark.parametrize("mapping", [False, True])
def test_flattening_measures_first_and_refuses_a_bomb(mapping):
    tree = shared_tree(mapping=mapping)
    started = time.monotonic()
    with pytest.raises(bounds.TooManyNodes, match=LIMIT + " values"):
        flatten_record({"a": tree})
    assert time.monotonic() - started < 0.5
    small = load_yaml(yaml_bomb(levels=3, width=3, mapping=mapping))
    assert len(flatten_record(small)) > 0  # shared, but small: flattened as before
    assert bounds.count_nodes(small) == 1 + (1 + 3) + (1 + 3 * 4) + (1 + 3 * 13)


def test_recursive_alias_is_refused_not_walked():
    inner = [1]
    inner.append(inner)
    tree = {"a": inner}  # what a loader makes of "a: &a [1, *a]"
    with pytest.raises(bounds.TooManyNodes, match="contains itself"):
        flatten_record(tree)
    assert checks.show(tree).startswith('{"a": [1, [1, [1,')


def test_node_limit_from_the_environment(monkeypatch):
    monkeypatch.setenv(bounds.MAX_NODES_ENV, "10")
    assert flatten_record({"a": list(range(8))})
    with pytest.raises(bounds.TooManyNodes, match="more than 10 values"):
        flatten_record({"a": list(range(9)), "b": 1})


def test_export_of_bombs_is_one_warning_each_and_fast(check_bad_artifacts):
    started = time.monotonic()
    report = check_bad_artifacts(
        {"generic list bomb": {"eval/scores.yaml": yaml_bomb()},
         "generic mapping bomb": {"eval/scores.yaml": yaml_bomb(mapping=True)},
         "generic top-level list": {"eval/scores.yaml": "- &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
             f"- &{c} [" + ", ".join([f"*{p}"] * 9) + "]\n" for p, c in zip("abcdefgh", "bcdefghi"))},
         "causal number check": {"metrics.yaml": "DiBS:\n  eshd: [&l0 [1, 1, 1, 1, 1, 1, 1, 1, 1], " + ", ".join(
             f"&l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)) + "]\n"}},
        good={"eval/scores.yaml": "acc: 0.5\n", "metrics.yaml": "DiBS:\n  eshd: 1.5\n"},
        artifact_patterns=["eval/scores.yaml"], cache=False)
    assert time.monotonic() - started < 60  # the old code ran for hours (and 13 GB)
    # refused by the flattener's measure (or, earlier, by the YAML loader's own node limit)
    assert LIMIT in report.reason("generic list bomb")
    assert LIMIT in report.reason("generic mapping bomb")
    assert LIMIT in report.reason("generic top-level list")
    causal = report.reason("causal number check")
    assert "DiBS.eshd: expected a number, got [[1, 1, 1" in causal or LIMIT in causal, causal
    assert len(causal) < 300
    assert report.rows("good")["acc"].dropna().tolist() == [0.5]
