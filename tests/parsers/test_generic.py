"""`--artifact PATTERN`: any JSON or YAML summary flattened without writing a plugin."""

from __future__ import annotations

import json

import pandas as pd

from mlflow_sweep_plugin.parsers.generic import flatten_record


def test_flatten_record():
    assert flatten_record({"a": {"b": 1, "c": [1, 2]}, "d": [{"e": 1}, {"e": 2}], "f": {}}) == {
        "a.b": 1, "a.c": "[1, 2]", "d.0.e": 1, "d.1.e": 2, "f": "{}"}


def test_artifact_option_exports_json_and_yaml(make_sweep, sweep_cli, tmp_path):
    make_sweep([
        {"run_name": "a", "artifacts": {"eval/val/scores.json": {"acc": 0.9, "per_class": [0.8, 1.0],
                                                                  "loss": {"ce": 0.3}},
                                        "eval/test/scores.json": {"acc": 0.7}}},
        {"run_name": "b", "artifacts": {"eval/val/scores.yaml": "acc: 0.5\nloss:\n  ce: .nan\n"}},
        {"run_name": "c", "artifacts": {"eval/val/scores.json": "[1, 2"}},
    ])
    out = tmp_path / "g.csv"
    res = sweep_cli("export", "--experiment-name", "sweep", "-o", out,
                    "--artifact", "eval/{split}/scores.json", "--artifact", "eval/{split}/scores.yaml",
                    env={"MLFLOW_SWEEP_DISABLE_PLUGINS": "*"}).assert_success()  # only the generic parser
    df = pd.read_csv(out).sort_values(["run_name", "split"])
    a = df[df.run_name == "a"]
    assert a["split"].tolist() == ["test", "val"] and a["acc"].tolist() == [0.7, 0.9]
    a_val = df[(df.run_name == "a") & (df.split == "val")].iloc[0]
    assert a_val["loss.ce"] == 0.3 and json.loads(a_val["per_class"]) == [0.8, 1.0]
    assert df[df.run_name == "b"].iloc[0]["acc"] == 0.5
    assert pd.isna(df[df.run_name == "b"].iloc[0]["loss.ce"])
    c = df[df.run_name == "c"]
    assert len(c) == 1 and pd.isna(c.iloc[0]["acc"])  # bad file: no record, the run keeps its row
    assert "eval/val/scores.json" in res.stderr and "1 warnings" in res.stderr
    assert len(df) == 4
