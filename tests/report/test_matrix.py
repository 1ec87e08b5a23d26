"""report.matrix: the configuration x seed cells (done, failed, superseded, missing) and
when the picture is not drawn."""

from __future__ import annotations

import pandas as pd

from mlflow_sweep_plugin.report.matrix import MAX_CONFIGS, cells, draw


def runs_csv(rows):
    return pd.DataFrame(rows, columns=["configuration", "seed", "used", "reason"])


def test_each_pair_gets_the_best_state_of_its_runs_and_the_rest_are_missing():
    runs = runs_csv([("a", 0, True, ""),
                     ("a", 1, False, "FAILED: boom"),
                     ("a", 1, False, "superseded by r9"),   # failed outranks superseded
                     ("b", 0, False, "duplicate of r1"),
                     ("b", None, False, "sweep parent"),   # no seed: not in the matrix
                     ("c", 1, False, "objective missing (metrics.loss)"),
                     ("c", 2, False, "KILLED")])
    configs, seeds, state, missing = cells(runs)
    assert configs == ["a", "b", "c"] and seeds == [0, 1, 2]
    assert state == {("a", 0): "done", ("a", 1): "failed", ("b", 0): "superseded",
                     ("c", 1): "failed", ("c", 2): "failed"}
    assert missing == [("a", 1, "failed"), ("a", 2, "missing"), ("b", 0, "superseded"), ("b", 1, "missing"),
                       ("b", 2, "missing"), ("c", 0, "missing"), ("c", 1, "failed"), ("c", 2, "failed")]


def test_a_done_run_makes_its_pair_done_whatever_else_ran():
    runs = runs_csv([("a", "s1", False, "FAILED"), ("a", "s1", True, ""), ("a", "s2", True, "")])
    assert cells(runs)[2:] == ({("a", "s1"): "done", ("a", "s2"): "done"}, [])


def test_no_picture_for_one_seed_and_a_note_when_too_large(tmp_path):
    assert draw(runs_csv([("a", 0, True, ""), ("b", 0, True, "")]), str(tmp_path)) == (None, None)
    big = runs_csv([(f"c{i}", s, True, "") for i in range(MAX_CONFIGS + 1) for s in (0, 1)])
    plot, note = draw(big, str(tmp_path))
    assert plot is None and f"{MAX_CONFIGS + 1} configurations x 2 seeds" in note
    assert list(tmp_path.iterdir()) == []
