"""report.rows: which runs count (parents, superseded retries, FAILED runs left out and
counted; one run per (configuration, seed)), and the reasons runs.csv gives."""

from __future__ import annotations

from mlflow_sweep_plugin.report.columns import ERROR_COLUMN, ROLE_COLUMN, SUPERSEDED_COLUMN
from mlflow_sweep_plugin.report.rows import drop_duplicates, run_ids_of, runs_frame, select_rows
from report_test_helpers import table


def sweep():
    """A parent, a superseded retry, a FAILED run, a (configuration, seed) pair logged by
    two FINISHED runs and a later FAILED one, and plain runs."""
    rows = [{"run": "parent", "params": {"lr": 0.1, "seed": 0}},
            {"run": "a0", "params": {"lr": 0.1, "seed": 0}, "metrics": {"loss": 1.0}},
            {"run": "a1", "params": {"lr": 0.1, "seed": 1}, "metrics": {"loss": 1.1}},
            {"run": "a1-old", "params": {"lr": 0.1, "seed": 1}, "metrics": {"loss": 0.01}},
            {"run": "b0-fail", "t": 10, "status": "FAILED", "params": {"lr": 0.2, "seed": 0},
             "metrics": {"loss": 0.0}},
            {"run": "b0-early", "t": 5, "params": {"lr": 0.2, "seed": 0}, "metrics": {"loss": 0.5}},
            {"run": "b0-late", "t": 6, "params": {"lr": 0.2, "seed": 0}, "metrics": {"loss": 0.4}},
            {"run": "b1", "params": {"lr": 0.2, "seed": 1}, "metrics": {"loss": 0.45}}]
    df = table(rows)
    df[ROLE_COLUMN] = ["parent"] + ["child"] * 7
    df[SUPERSEDED_COLUMN] = [None, None, None, "a1", None, None, None, None]
    df[ERROR_COLUMN] = [None, None, None, None, "ValueError: nan loss", None, None, None]
    return df


def test_parents_superseded_and_failed_runs_are_left_out_with_their_reason():
    df = sweep()
    counts, reasons = {}, {}
    kept, ids, status = select_rows(df, run_ids_of(df), False, counts, reasons)
    assert list(ids) == ["a0", "a1", "b0-early", "b0-late", "b1"]
    assert len(kept) == len(status) == 5
    assert counts == {"parents": 1, "superseded": 1, "failed": 1, "failed_included": False, "runs_used": 5}
    assert reasons == {"parent": "sweep parent", "a1-old": "superseded by a1",
                       "b0-fail": "FAILED: ValueError: nan loss"}


def test_include_failed_keeps_failed_runs_and_still_counts_them():
    df = sweep()
    counts, reasons = {}, {}
    _, ids, status = select_rows(df, run_ids_of(df), True, counts, reasons)
    assert "b0-fail" in set(ids) and "b0-fail" not in reasons
    assert counts["failed"] == 1 and counts["failed_included"] is True and counts["runs_used"] == 6
    assert status[list(ids).index("b0-fail")] == "FAILED"


def test_a_pair_logged_twice_uses_the_latest_finished_run_and_says_so():
    df = sweep()
    counts, reasons, notes = {}, {}, []
    kept, ids, status = select_rows(df, run_ids_of(df), True, counts, reasons)
    values = {"metrics.loss": kept["metrics.loss"]}
    kept, ids, values = drop_duplicates(kept, ids, status, ["lr"], "seed", values, counts, reasons, notes.append)
    # the FAILED run started last, but a FINISHED run wins; of those, the later one
    assert list(ids) == ["a0", "a1", "b0-late", "b1"]
    assert list(values["metrics.loss"]) == [1.0, 1.1, 0.4, 0.45]
    assert counts["duplicates"] == 2 and counts["runs_used"] == 4
    assert reasons["b0-early"] == reasons["b0-fail"] == "duplicate of b0-late"
    assert len(notes) == 1 and "1 (configuration, seed) pair(s)" in notes[0]
    assert "run b0-late instead of run b0-early (seed 0)" in notes[0]


def test_without_a_seed_column_nothing_is_a_duplicate():
    df = sweep()
    counts, notes = {}, []
    kept, ids, _ = drop_duplicates(df, run_ids_of(df), df["status"], ["lr"], None, {}, counts, {}, notes.append)
    assert len(kept) == len(df) and counts["duplicates"] == 0 and notes == []


def test_runs_frame_is_one_row_per_run_with_why_it_is_left_out():
    df = sweep()
    reasons = {"parent": "sweep parent", "b0-early": "duplicate of b0-late"}
    runs = runs_frame(df, run_ids_of(df), ["lr"], "seed", reasons)
    assert list(runs.columns) == ["run_id", "run_name", "configuration", "seed", "status", "used", "reason"]
    assert len(runs) == 8
    row = runs.set_index("run_id").loc["b0-early"]
    assert (row["configuration"], row["seed"], row["used"], row["reason"]) == \
        ("lr=0.2", "0", False, "duplicate of b0-late")
    assert runs.set_index("run_id").loc["a0", "used"] and runs.set_index("run_id").loc["a0", "reason"] == ""


def test_rows_without_a_run_id_are_named_by_position():
    df = sweep().drop(columns=["run_id"])
    assert list(run_ids_of(df))[:2] == ["row-0", "row-1"]
