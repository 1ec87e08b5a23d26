"""Artifact path patterns: captures, numeric coercion, listing roots."""

from __future__ import annotations

import pytest

from mlflow_sweep_plugin.export.plan import ListingPlan
from mlflow_sweep_plugin.parsers.pattern import ArtifactPattern, coerce_capture


@pytest.mark.parametrize("pattern, path, expected", [
    ("layer_{layer}/cluster_summary.json", "layer_0/cluster_summary.json", {"layer": 0}),
    ("layer_{layer}/cluster_summary.json", "layer_12/cluster_summary.json", {"layer": 12}),
    ("layer_{layer}/cluster_summary.json", "layer_a/b/cluster_summary.json", None),
    ("layer_{layer}/cluster_summary.json", "xlayer_0/cluster_summary.json", None),
    ("{learner}/particles.npz", "SVGD/particles.npz", {"learner": "SVGD"}),
    ("seed_{seed}/k_{k}/m.json", "seed_3/k_8/m.json", {"seed": 3, "k": 8}),
    ("runs/{rest:path}/m.json", "runs/a/b/c/m.json", {"rest": "a/b/c"}),
    ("eval/*.json", "eval/x.json", {}),
    ("eval/*.json", "eval/a/x.json", None),
    ("**/summary.json", "a/b/summary.json", {}),
    ("lr_{lr}/m.json", "lr_0.5/m.json", {"lr": 0.5}),
    ("v{v}.txt", "v007.txt", {"v": "007"}),
])
def test_match(pattern, path, expected):
    assert ArtifactPattern(pattern).match(path) == expected


def test_duplicate_capture_is_an_error():
    with pytest.raises(ValueError, match="twice"):
        ArtifactPattern("{a}/{a}.json").regex


@pytest.mark.parametrize("text, value", [("3", 3), ("-2", -2), ("1e-3", 0.001), ("0", 0),
                                         ("abc", "abc"), ("01", "01"), ("1.50", 1.5)])
def test_coerce(text, value):
    assert coerce_capture(text) == value and type(coerce_capture(text)) is type(value)


def test_listing_plan_roots():
    plan = ListingPlan(["layer_{layer}/cluster_summary.json", "summary/metrics_summary.json",
                        "results/som_results.json", "results/deep/{x}/a.json"])
    assert plan.roots() == [("", 2), ("results/deep", 2)]
    assert ListingPlan(["summary/m.json", "a/{x}/y/{z}/f.json"]).roots() == [("a", 4), ("summary", 1)]
    assert ListingPlan(["**/x.json", "a/b.json"]).roots() == [("", None)]
