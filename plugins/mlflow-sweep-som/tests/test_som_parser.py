"""The som_results parser on a real sqlite store: the example file and broken variants."""

from __future__ import annotations

import copy
import json
import pathlib

import pandas as pd
import pytest

from mlflow_sweep_som import plugin

EXAMPLE = pathlib.Path(__file__).parent / "data" / "som_run" / "results" / "som_results.json"
PATH = "results/som_results.json"


@pytest.fixture
def example():
    return json.loads(EXAMPLE.read_text())


def export(sweep_exporter):
    return sweep_exporter(plugins=[plugin], load_entry_points=False, parser_names=["som_results"])


def test_example_record(make_sweep, sweep_exporter, example):
    make_sweep([{"run_name": "example", "params": {"x_dim": 8},
                 "artifacts": {PATH: EXAMPLE, "results/som_analysis_report.txt": "report"}}])
    result = export(sweep_exporter)
    assert result.warnings == []
    assert len(result.df) == 1
    row = result.df.iloc[0]
    for section in ("training_stats", "data_stats"):
        for key, value in example[section].items():
            assert row[key] == value, key
    for key, value in example["config"].items():
        assert row[f"config.{key}"] == value, key
    assert row["som_grid_size"] == 64
    assert row["cluster_size_variance"] == pytest.approx(9.81 ** 2)
    assert row["x_dim"] == "8"  # the param keeps its bare name; the file's is config.x_dim
    assert not any(c.startswith("clusters") for c in result.df.columns)


def test_variations(make_sweep, sweep_exporter, example):
    extra = copy.deepcopy(example)
    extra["training_stats"]["silhouette"] = 0.31       # a field the format does not name
    extra["data_stats"]["source"] = "sample.jsonl"
    del extra["data_stats"]["unique_users"]            # a data set without users
    extra["config"]["random_seed"] = None
    no_std = copy.deepcopy(example)
    del no_std["training_stats"]["cluster_size_std"]
    del no_std["clusters"]
    make_sweep([{"run_name": "extra", "artifacts": {PATH: extra}},
                {"run_name": "no_std", "artifacts": {PATH: no_std}}])
    result = export(sweep_exporter)
    assert result.warnings == []
    df = result.df.set_index("run_name")
    assert df.loc["extra", "silhouette"] == 0.31 and df.loc["extra", "source"] == "sample.jsonl"
    assert pd.isna(df.loc["extra", "unique_users"]) and df.loc["no_std", "unique_users"] == 37
    assert pd.isna(df.loc["extra", "config.random_seed"])
    assert pd.isna(df.loc["no_std", "cluster_size_variance"])


def _broken(example):
    def changed(fn):
        doc = copy.deepcopy(example)
        fn(doc)
        return doc

    return {
        "truncated": EXAMPLE.read_text()[:200],
        "not_an_object": [1, 2, 3],
        "no_training_stats": changed(lambda d: d.pop("training_stats")),
        "no_config": changed(lambda d: d.pop("config")),
        "stats_is_list": changed(lambda d: d.__setitem__("data_stats", [450, 24])),
        "error_is_text": changed(lambda d: d["training_stats"].__setitem__("quantization_error", "low")),
        "clusters_is_float": changed(lambda d: d["training_stats"].__setitem__("num_clusters", 3.5)),
        "grid_is_text": changed(lambda d: d["config"].__setitem__("x_dim", "8")),
        "grid_is_zero": changed(lambda d: d["config"].__setitem__("y_dim", 0)),
        "nested_stat": changed(lambda d: d["data_stats"].__setitem__("per_user", {"a": 1})),
        "bad_cluster_key": changed(lambda d: d["clusters"].__setitem__("3", {"size": 1})),
        "duplicate_field": changed(lambda d: d["data_stats"].__setitem__("num_clusters", 3)),
    }


def test_bad_files_warn_and_lose_nothing_else(check_bad_artifacts, example):
    broken = _broken(example)
    report = check_bad_artifacts({name: {PATH: doc} for name, doc in broken.items()}, {PATH: example},
                                 paths={name: PATH for name in broken},
                                 plugins=[plugin], load_entry_points=False, parser_names=["som_results"])
    assert len(report.result.warnings) == len(broken)
    assert "JSON" in report.reason("truncated")
    assert "training_stats" in report.reason("no_training_stats")
    assert "quantization_error" in report.reason("error_is_text")
    assert "x_dim" in report.reason("grid_is_text") and "y_dim" in report.reason("grid_is_zero")
    assert "num_clusters" in report.reason("duplicate_field")
    df = report.result.df
    assert len(df) == len(broken) + 1  # every run keeps its one row
    good = report.rows("good").iloc[0]
    assert good["quantization_error"] == 0.4121 and good["som_grid_size"] == 64
    assert df[df["run_name"] != "good"]["quantization_error"].isna().all()
