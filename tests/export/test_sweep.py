"""The table of a sweep made by the hooks: parents, children, retries and column order."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mlflow_sweep_plugin.errors import UsageError
from mlflow_sweep_plugin.export.sweep import check_output, default_output, export_sweep
from mlflow_sweep_plugin.tags import TAG_ROLE, TAG_SUPERSEDED, TAG_SWEEP_ID, TAG_SWEEP_INDEX

SUMMARY = {"layer": 0, "energy_contrast_ratio": 0.5, "geometry_fits": {}}


def doc(layer, ecr):
    return dict(SUMMARY, layer=layer, energy_contrast_ratio=ecr)


def child(index, lr, status="FINISHED", artifacts=True, **tags):
    spec = {"run_name": f"point-{index}", "status": status,
            "params": {"lr": lr, "seed": "0", "config.model.depth": "4", "config.data.path": "/d"},
            "tags": {TAG_ROLE: "child", TAG_SWEEP_ID: "s1", TAG_SWEEP_INDEX: str(index), **tags}}
    if artifacts:
        spec["artifacts"] = {"layer_0/cluster_summary.json": doc(0, 0.1 * (index + 1)),
                             "layer_1/cluster_summary.json": doc(1, 0.2 * (index + 1))}
    return spec


@pytest.fixture
def sweep(make_sweep):
    # started in this order; the sweep ran its points 2, 0, 1 (a resumed grid, say)
    return make_sweep([
        {"run_name": "parent", "tags": {TAG_ROLE: "parent", TAG_SWEEP_ID: "s1"}},
        child(2, "0.3"),
        child(0, "0.1", status="FAILED", artifacts=False, **{"mlflow_sweep.error": "boom"}),
        child(0, "0.1", **{TAG_SUPERSEDED: "later"}),  # an earlier try of point 0, re-run
        child(1, "0.2"),
        {"run_name": "loose", "params": {"lr": "9", "seed": "0"}},
    ], experiment_name="grid")


def test_parents_and_superseded_retries_are_left_out_by_default(sweep, sweep_exporter):
    result = sweep_exporter(experiment_names=("grid",))
    names = result.df["run_name"].tolist()
    assert "parent" not in names and sweep.run_ids[3] not in set(result.df["run_id"])
    assert result.stats["left_out"] == 2 and result.n_runs == 4
    assert "left out (--include)" in result.summary()

    everything = sweep_exporter(experiment_names=("grid",), include=["parents", "superseded"])
    assert {sweep.run_ids[0], sweep.run_ids[3]} <= set(everything.df["run_id"])
    assert everything.stats["left_out"] == 0
    assert set(sweep_exporter(experiment_names=("grid",), run_view="all").df["run_id"]) \
        == set(everything.df["run_id"])


def test_sweep_children_in_the_order_the_sweep_ran_them(sweep, sweep_exporter):
    df = sweep_exporter(experiment_names=("grid",)).df
    assert df["experiment_name"].unique().tolist() == ["grid"]
    assert str(df["sweep_index"].dtype) == "Int64"
    rows = list(zip(df["run_name"], df["sweep_index"].astype(object).where(df["sweep_index"].notna(), None)))
    # the children together, by index (two layers each; the failed point has one empty row),
    # then the run that is no sweep's
    assert rows == [("point-0", 0), ("point-1", 1), ("point-1", 1), ("point-2", 2), ("point-2", 2),
                    ("loose", None)]
    assert list(df.columns[:7]) == ["run_id", "run_name", "experiment_name", "sweep_index", "start_time",
                                    "end_time", "status"]


def test_swept_params_first_then_constant_then_config(sweep, sweep_exporter):
    df = sweep_exporter(experiment_names=("grid",)).df
    params = [c for c in df.columns if c in ("lr", "seed", "config.model.depth", "config.data.path")]
    assert params == ["lr", "seed", "config.data.path", "config.model.depth"]
    # a param absent from some runs varies too
    assert df.columns.get_loc("config.data.path") < df.columns.get_loc("layer")


def test_a_run_with_no_record_keeps_integer_columns_integers(sweep, sweep_exporter, tmp_path):
    result = sweep_exporter(experiment_names=("grid",), output=str(tmp_path / "t.csv"))
    assert str(result.df["layer"].dtype) == "Int64"
    failed = result.df[result.df["status"] == "FAILED"]
    assert len(failed) == 1 and failed["layer"].isna().all()
    # pandas reads an integer column with gaps back as integers when asked for nullable types
    back = pd.read_csv(tmp_path / "t.csv", dtype_backend="numpy_nullable")
    assert str(back["layer"].dtype) == "Int64" and back["layer"].isna().sum() == 2  # the failed and the loose run
    text = (tmp_path / "t.csv").read_text()
    assert ",0.0," not in text and ",1.0," not in text  # written as 0 and 1
    for fmt in ("json", "jsonl", "parquet"):
        out = tmp_path / f"t.{fmt}"
        sweep_exporter(experiment_names=("grid",), output=str(out))
        if fmt == "parquet":
            assert str(pd.read_parquet(out)["layer"].dtype) == "Int64"
        else:
            rows = json.loads(out.read_text()) if fmt == "json" else [json.loads(x) for x in out.read_text().splitlines()]
            assert {type(r["layer"]) for r in rows} <= {int, type(None)}


def test_tags_as_columns(sweep, sweep_exporter):
    df = sweep_exporter(experiment_names=("grid",), tags=["mlflow_sweep.error", "absent"]).df
    assert df.loc[df["status"] == "FAILED", "tags.mlflow_sweep.error"].tolist() == ["boom"]
    assert df["tags.absent"].isna().all()
    assert df.columns.get_loc("tags.mlflow_sweep.error") < df.columns.get_loc("layer")


def test_include_and_tag_on_the_command_line(sweep, sweep_store, tmp_path, sweep_cli):
    out = tmp_path / "t.csv"
    sweep_cli("export", "--experiment-name", "grid", "--tracking-uri", sweep_store.tracking_uri, "-o", str(out),
        "--include", "parents,superseded", "--tag", "mlflow_sweep.role").assert_success()
    df = pd.read_csv(out)
    assert "parent" in set(df["run_name"]) and "tags.mlflow_sweep.role" in df.columns
    bad = sweep_cli("export", "--experiment-name", "grid", "--tracking-uri", sweep_store.tracking_uri, "-o", str(out),
              "--include", "children")
    assert bad.exit_code == 2 and "--include" in bad.stderr


def test_default_output_is_a_timestamped_csv():
    name = default_output()
    assert name.startswith("mlflow_sweep_results_") and name.endswith(".csv")


def test_an_output_that_cannot_be_written_is_told_before_any_run_is_read(tmp_path):
    (tmp_path / "file").write_text("x")
    check_output(str(tmp_path / "new" / "deeper" / "t.csv"))  # the writer makes the folders
    with pytest.raises(UsageError, match="is a directory"):
        check_output(str(tmp_path))
    with pytest.raises(UsageError, match="is not a directory"):
        check_output(str(tmp_path / "file" / "t.csv"))


@pytest.mark.parametrize("options, match", [
    ({"workers": 0}, "--workers"), ({"fmt": "xlsx"}, "--format"), ({"include": ["children"]}, "--include"),
    ({"history": ["loss"]}, "--history"), ({"max_artifact_bytes": "lots"}, "--max-artifact-bytes"),
])
def test_bad_options_are_usage_errors_before_the_store_is_touched(options, match, tmp_path):
    missing = tmp_path / "never-created.db"
    with pytest.raises(UsageError, match=match):
        export_sweep(experiment_names=("grid",), tracking_uri=f"sqlite:///{missing}", **options)
    assert not missing.exists()


def test_export_sweep_writes_the_table_where_asked(sweep, sweep_store, tmp_path):
    out = tmp_path / "t" / "grid.csv"
    result = export_sweep(experiment_names=("grid",), tracking_uri=sweep_store.tracking_uri,
                          output=str(out), cache=False)
    assert result.path == str(out) and result.format == "csv"
    assert len(pd.read_csv(out)) == len(result.df)
