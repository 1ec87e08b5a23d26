"""report.manifest: report.json's content from a summary, a ranking and runs.csv."""

from __future__ import annotations

import json

from mlflow_sweep_plugin.report.best import rank
from mlflow_sweep_plugin.report.columns import ROLE_COLUMN
from mlflow_sweep_plugin.report.manifest import VERSION, manifest
from mlflow_sweep_plugin.report.matrix import cells, runs_table
from mlflow_sweep_plugin.report.stats import summarize
from report_test_helpers import table

LOSS = {("a", 0): 0.50, ("a", 1): 0.61, ("a", 2): 0.55, ("b", 0): 0.30, ("b", 1): 0.36, ("b", 2): 0.33}


def test_report_json_counts_the_runs_and_names_the_best_set():
    rows = [{"run": "parent", "params": {}}]
    rows += [{"run": f"{opt}{seed}", "params": {"opt": opt, "seed": seed}, "metrics": {"loss": loss}}
             for (opt, seed), loss in LOSS.items()]
    rows += [{"run": "b0-crash", "status": "FAILED", "params": {"opt": "b", "seed": 0}, "metrics": {"loss": 0.0}},
             {"run": "a1-again", "t": 0, "params": {"opt": "a", "seed": 1}, "metrics": {"loss": 0.9}}]
    df = table(rows)
    df[ROLE_COLUMN] = ["parent"] + [""] * (len(df) - 1)
    summary = summarize(df)
    best = rank(summary, "metrics.loss", "min")
    runs = runs_table(summary, best)
    doc = manifest(summary, best, runs, [], ["report.html", "report.json"], ["a <warning>"], cells(runs)[3])
    assert doc["version"] == VERSION
    assert doc["runs"]["considered"] == 9 and doc["runs"]["used"] == 6
    # the reasons grouped: the FAILED run, the sweep parent and the earlier of two (a, 1) runs
    assert doc["runs"]["left_out"] == {"FAILED": 1, "sweep parent": 1, "duplicate": 1}
    assert {r["run_id"]: r["reason"] for r in doc["runs"]["left_out_runs"]} == {
        "parent": "sweep parent", "b0-crash": "FAILED", "a1-again": "duplicate of a1"}
    assert doc["missing_pairs"] == []
    assert doc["groups"] == 2
    assert doc["grouping"]["by"] == ["opt"] and doc["grouping"]["over"] == "seed"
    assert doc["grouping"]["metrics"] == ["metrics.loss"]
    assert doc["best"]["objective"] == "metrics.loss" and doc["best"]["mode"] == "min"
    assert doc["best"]["best"] == {"opt": "b"} and doc["best"]["set"] == [{"opt": "b"}]
    assert doc["best"]["rule"] == "mcb-tukey" and doc["best"]["decided_by"] == "report"
    assert doc["warnings"] == ["a <warning>"] and doc["files"] == ["report.html", "report.json"]
    assert json.loads(json.dumps(doc, allow_nan=False)) == doc  # plain JSON throughout


def test_without_an_objective_there_is_no_best():
    df = table([{"run": f"r{s}", "params": {"seed": s}, "metrics": {"loss": s}} for s in range(2)])
    summary = summarize(df)
    doc = manifest(summary, None, runs_table(summary), [], [], [], [])
    assert doc["best"] is None and doc["runs"] == {"considered": 2, "used": 2, "left_out": {}, "left_out_runs": []}
