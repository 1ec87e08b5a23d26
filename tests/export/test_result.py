"""mlflow_sweep_plugin.export.result: the export's result and the CLI's last line."""

from __future__ import annotations

import pandas as pd

from mlflow_sweep_plugin.export.result import ExportResult


def _df():
    return pd.DataFrame({"run_id": ["a", "a", "b"], "x": [1, 2, 3]})


def test_counts_come_from_the_table():
    result = ExportResult(df=_df(), n_runs=2)
    assert (result.n_rows, result.n_columns) == (3, 2)


def test_summary_names_runs_rows_columns_warnings_and_destination():
    result = ExportResult(df=_df(), warnings=["w1"], n_runs=2, path="/tmp/out.csv")
    assert result.summary() == ("mlflow-sweep: exported 2 runs, 3 rows, 2 columns, 1 warnings "
                                "-> /tmp/out.csv")
    assert result.summary(n_warnings=5).endswith("5 warnings -> /tmp/out.csv")


def test_summary_tells_cache_hits_and_left_out_runs_only_when_there_are_some():
    result = ExportResult(df=_df(), n_runs=2, stats={"cache_hits": 1, "left_out": 3})
    assert result.summary().endswith("-> (not written) (1 of 2 runs from the cache); "
                                     "3 sweep parent or superseded run(s) left out (--include)")
    plain = ExportResult(df=_df(), n_runs=2, stats={"cache_hits": 0, "left_out": 0}).summary()
    assert "cache" not in plain and "left out" not in plain
