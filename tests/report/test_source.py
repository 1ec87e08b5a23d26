"""report.source: the captures and declared roles of the parsers an export used, and the
tag columns a report keeps."""

from __future__ import annotations

import pandas as pd
import pytest

from mlflow_sweep_plugin.plugins import get_plugin_manager
from mlflow_sweep_plugin.report.columns import ERROR_COLUMN, ROLE_COLUMN
from mlflow_sweep_plugin.report.source import declared_roles, drop_empty_tag_columns, parser_captures


@pytest.fixture
def installed():
    """The example parsers (plugins/ in this repository; CI installs them)."""
    have = set(get_plugin_manager().parsers)
    wanted = {"cluster_summary", "causal_particles", "hamming_summary"}
    if not wanted <= have:
        pytest.skip(f"the example parser plugins are not installed ({', '.join(sorted(wanted - have))})")


def test_the_table_says_which_captures_matched():
    df = pd.DataFrame({"layer": [0]})
    df.attrs["captures"] = ["layer"]
    assert parser_captures(["cluster_summary"], ["eval/{split}/x.json"], df) == ["layer"]


def test_else_every_selected_patterns_captures(installed):
    assert parser_captures(["cluster_summary", "causal_particles"], ["eval/{split}/{layer}.json"]) == \
        ["layer", "learner", "split"]
    assert parser_captures(["hamming_summary"]) == []  # summary/metrics_summary.json: none


def test_an_unknown_parser_costs_its_captures_only():
    # the export has reported the unknown name already; the report goes on without it
    assert parser_captures(["no_such_parser"], ["runs/{fold}/m.json"]) == ["fold"]


def test_declared_roles_of_the_columns_the_table_has(installed):
    df = pd.DataFrame(columns=["layer", "k", "seed", "separation_ratio", "n_iter", "learner"])
    assert declared_roles(["hamming_summary", "causal_particles"], df) == {
        "keys": ["layer", "k", "learner"], "seed": ["seed"], "outcomes": ["separation_ratio"],
        "descriptors": ["n_iter"]}


def test_empty_tag_columns_are_dropped_and_the_others_kept():
    df = pd.DataFrame({"run_id": ["a", "b"], ROLE_COLUMN: ["parent", None], ERROR_COLUMN: [None, None]})
    assert list(drop_empty_tag_columns(df).columns) == ["run_id", ROLE_COLUMN]
