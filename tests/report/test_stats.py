"""summarize(): every statistic against numpy/scipy on small hand-made export tables."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from mlflow_sweep_plugin.errors import UsageError
from mlflow_sweep_plugin.report.stats import TIDY_COLUMNS, summarize
from mlflow_sweep_plugin.warning_types import SweepWarning
from report_test_helpers import table


def expected(values):
    x = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    n = len(x)
    mean = x.mean()
    std = x.std(ddof=1) if n > 1 else math.nan
    sem = st.sem(x) if n > 1 else math.nan
    lo, hi = st.t.interval(0.95, n - 1, loc=mean, scale=sem) if n > 1 else (math.nan, math.nan)
    return {"n": n, "mean": mean, "std": std, "sem": sem, "ci_low": lo, "ci_high": hi,
            "min": x.min(), "max": x.max()}


def assert_stats(row, values):
    want = expected(values)
    for k, v in want.items():
        got = row[k]
        if isinstance(v, float) and math.isnan(v):
            assert math.isnan(got), (k, got)
        else:
            assert got == pytest.approx(v, rel=1e-12, abs=1e-15), (k, got, v)


def row_of(summary, metric, **group):
    t = summary.table
    mask = t["metric"] == metric
    for k, v in group.items():
        mask &= t[k].astype(str) == str(v)
    assert mask.sum() == 1, (group, t[mask])
    return t[mask].iloc[0]


LOSS = {("a", 0): 0.50, ("a", 1): 0.61, ("a", 2): 0.47, ("b", 0): 0.30, ("b", 1): 0.36, ("b", 2): 0.29}


def grid(values=LOSS, **extra):
    rows = []
    for i, ((opt, seed), loss) in enumerate(values.items()):
        rows.append({"run": f"r{i}", "params": {"opt": opt, "seed": seed, "epochs": 5, **extra},
                     "metrics": {"loss": loss, "acc": 1 - loss}})
    return rows


def test_defaults_and_every_statistic_against_numpy_and_scipy():
    s = summarize(table(grid()))
    assert s.over == "seed" and s.by == ["opt"] and s.metrics == ["metrics.acc", "metrics.loss"]
    assert list(s.table.columns) == ["opt", *TIDY_COLUMNS]
    assert s.table["opt"].tolist() == ["a", "b", "a", "b"]
    for opt in "ab":
        assert_stats(row_of(s, "metrics.loss", opt=opt), [v for (o, _), v in LOSS.items() if o == opt])
        assert_stats(row_of(s, "metrics.acc", opt=opt), [1 - v for (o, _), v in LOSS.items() if o == opt])
    assert not s.table["uneven"].any() and s.warnings == []
    wide = s.wide()
    assert wide.loc[0, "metrics.loss.mean"] == pytest.approx(np.mean([0.50, 0.61, 0.47]))
    assert s.counts["runs"] == s.counts["runs_used"] == 6


def test_uneven_seeds_are_flagged_in_a_column_and_a_warning():
    values = dict(LOSS)
    del values[("b", 2)]
    with pytest.warns(SweepWarning, match=r"1 of 2 group\(s\) have fewer seed values .*opt=b \(2\)"):
        s = summarize(table(grid(values)))
    b = row_of(s, "metrics.loss", opt="b")
    assert bool(b["uneven"]) and not bool(row_of(s, "metrics.loss", opt="a")["uneven"])
    assert_stats(b, [0.30, 0.36])
    assert s.groups["n_units"].tolist() == [3, 2]


def test_nan_values_are_left_out_and_counted():
    values = dict(LOSS)
    values[("a", 1)] = math.nan
    s = summarize(table(grid(values)))
    a = row_of(s, "metrics.loss", opt="a")
    assert_stats(a, [0.50, 0.47])
    assert a["n"] == 2 and a["n_nan"] == 1
    assert not bool(a["uneven"])  # the seed ran; only its value is missing


def test_all_nan_and_single_value_groups():
    values = {("a", 0): math.nan, ("a", 1): math.nan, ("b", 0): 0.4}
    with pytest.warns(SweepWarning, match="fewer seed values"):
        s = summarize(table(grid(values)))
    a = row_of(s, "metrics.loss", opt="a")
    assert a["n"] == 0 and a["n_nan"] == 2 and math.isnan(a["mean"]) and math.isnan(a["std"])
    b = row_of(s, "metrics.loss", opt="b")
    assert b["n"] == 1 and b["mean"] == 0.4 and math.isnan(b["std"]) and math.isnan(b["ci_low"])


def test_a_duplicate_config_seed_uses_the_latest_finished_run_and_says_so():
    rows = grid()
    rows.append({"run": "again", "t": 100, "params": {"opt": "a", "seed": 1, "epochs": 5},
                 "metrics": {"loss": 0.99, "acc": 0.01}})
    rows.append({"run": "later-failed", "t": 200, "status": "FAILED",
                 "params": {"opt": "a", "seed": 1, "epochs": 5}, "metrics": {"loss": 5.0, "acc": 0}})
    with pytest.warns(SweepWarning, match=r"1 \(configuration, seed\) pair\(s\) were logged by several "
                                          r"runs.*run again instead of run r1 \(seed 1\)"):
        s = summarize(table(rows))
    assert_stats(row_of(s, "metrics.loss", opt="a"), [0.50, 0.99, 0.47])
    assert s.counts["duplicates"] == 1 and s.counts["failed"] == 1
    # with the failed run kept, the latest FINISHED run still wins over it
    with pytest.warns(SweepWarning, match="latest FINISHED"):
        s = summarize(table(rows), include_failed=True)
    assert_stats(row_of(s, "metrics.loss", opt="a"), [0.50, 0.99, 0.47])
    assert s.counts["duplicates"] == 2


def test_failed_and_killed_runs_are_left_out_and_counted_unless_included():
    rows = grid()
    rows.append({"run": "f1", "status": "FAILED", "params": {"opt": "a", "seed": 3, "epochs": 5},
                 "metrics": {"loss": 9.0, "acc": 0}})
    rows.append({"run": "k1", "status": "KILLED", "params": {"opt": "b", "seed": 3, "epochs": 5},
                 "metrics": {"loss": 8.0, "acc": 0}})
    s = summarize(table(rows))
    assert s.counts["failed"] == 2 and s.counts["runs_used"] == 6
    assert_stats(row_of(s, "metrics.loss", opt="a"), [0.50, 0.61, 0.47])
    s = summarize(table(rows), include_failed=True)
    assert_stats(row_of(s, "metrics.loss", opt="a"), [0.50, 0.61, 0.47, 9.0])
    assert_stats(row_of(s, "metrics.loss", opt="b"), [0.30, 0.36, 0.29, 8.0])


def test_superseded_runs_and_sweep_parents_never_count():
    df = table(grid() + [{"run": "parent", "params": {}, "metrics": {"loss": 100.0}},
                         {"run": "old", "status": "FINISHED", "params": {"opt": "b", "seed": 7, "epochs": 5},
                          "metrics": {"loss": 50.0, "acc": 0}}])
    df["tags.mlflow_sweep.role"] = ["child"] * 6 + ["parent", "child"]
    df["tags.mlflow_sweep.superseded_by"] = [None] * 7 + ["new-run"]
    s = summarize(df, include_failed=True)
    assert s.counts["parents"] == 1 and s.counts["superseded"] == 1 and s.counts["runs_used"] == 6
    assert_stats(row_of(s, "metrics.loss", opt="b"), [0.30, 0.36, 0.29])
    assert "tags.mlflow_sweep.role" not in s.by


@pytest.mark.parametrize("name", ["seed", "random_seed", "trainer.seed", "seed_data", "SEED"])
def test_seed_like_names(name):
    rows = [{"run": f"r{i}", "params": {"opt": o, name: sd}, "metrics": {"loss": v}}
            for i, ((o, sd), v) in enumerate(LOSS.items())]
    s = summarize(table(rows))
    assert s.over == name and s.by == ["opt"]


def test_two_different_seed_columns_average_nothing_and_say_so():
    rows = [{"run": f"r{i}", "params": {"opt": o, "seed": sd, "data_seed": 0 if sd else 1, "seed_model": sd * 2},
             "metrics": {"loss": v}} for i, ((o, sd), v) in enumerate(LOSS.items())]
    with pytest.warns(SweepWarning, match="several seed-like columns"):
        s = summarize(table(rows))
    assert s.over is None
    # twin seed columns (the same values) are one seed
    rows = [{"run": f"r{i}", "params": {"opt": o, "seed": sd, "cfg.seed": sd}, "metrics": {"loss": v}}
            for i, ((o, sd), v) in enumerate(LOSS.items())]
    assert summarize(table(rows)).over == "seed"


def test_no_seed_every_run_is_its_own_group():
    rows = [{"run": f"r{i}", "params": {"opt": o, "lr": i}, "metrics": {"loss": v}}
            for i, ((o, _), v) in enumerate(LOSS.items())]
    s = summarize(table(rows))
    assert s.over is None and s.by == ["lr", "opt"] and (s.table["n"] == 1).all()
    rows = [{"run": f"r{i}", "params": {"opt": o}, "metrics": {"loss": v}}
            for i, ((o, _), v) in enumerate(LOSS.items())]
    with pytest.warns(SweepWarning, match="each run is its own group"):
        s = summarize(table(rows))
    assert s.by == ["opt", "run_id"] and len(s.groups) == 6
    s = summarize(table(grid()), over=False)  # seed ignored on purpose: one group per run
    assert s.over is None and "seed" in s.by and len(s.groups) == 6


def test_captures_group_records_and_explicit_by_averages_rows_per_seed():
    rows = [{"run": f"r{i}", "params": {"opt": o, "seed": sd}} for i, (o, sd) in enumerate(LOSS)]
    recs = {i: [{"layer": layer, "score": v + layer} for layer in (0, 1)] for i, v in enumerate(LOSS.values())}
    s = summarize(table(rows, recs), captures=["layer"])
    assert s.by == ["opt", "layer"] and s.metrics == ["score"]
    assert_stats(row_of(s, "score", opt="a", layer=1), [1.50, 1.61, 1.47])
    with pytest.warns(SweepWarning, match=r"6 \(group, seed\) unit\(s\) have several rows"):
        s = summarize(table(rows, recs), by=["opt"])
    assert_stats(row_of(s, "score", opt="a"), [1.0, 1.11, 0.97])  # per seed: mean of the layers


def test_record_keys_seed_and_k_like_a_hamming_summary():
    rng = np.random.default_rng(0)
    rows, recs = [], {}
    for i, method in enumerate(["wanda", "sparsegpt"]):
        rows.append({"run": f"r{i}", "params": {"method": method, "seeds": 3}})
        recs[i] = [{"feature_idx": int(rng.integers(0, 1000)), "k": k, "seed": sd,
                    "separation_ratio": float(rng.random())} for sd in range(3) for k in (2, 4)]
    df = table(rows, recs)
    s = summarize(df)
    assert s.roles.keys == ["k", "seed"] and s.over == "seed" and s.by == ["method", "k"]
    assert s.metrics == ["feature_idx", "separation_ratio"]
    sub = df[(df.method == "wanda") & (df.k == 4)]
    assert_stats(row_of(s, "separation_ratio", method="wanda", k=4), sub["separation_ratio"].tolist())


def test_echoes_and_flattened_copies_are_not_metrics():
    rows = [{"run": f"r{i}", "params": {"x_dim": 3 + i % 2, "seed": i},
             "metrics": {"qe": 0.1 * i, "SVGD.eshd": 0.5 * i}} for i in range(4)]
    recs = {i: [{"config.x_dim": 3 + i % 2, "qe": 0.1 * i, "eshd": 0.5 * i, "learner": "SVGD"}]
            for i in range(4)}
    s = summarize(table(rows, recs), captures=["learner"])
    assert s.roles.echoes == ["config.x_dim"]
    assert set(s.roles.flattened) == {"metrics.qe", "metrics.SVGD.eshd"}
    assert sorted(s.metrics) == ["eshd", "qe"]


def test_unknown_columns_are_usage_errors_with_suggestions():
    with pytest.raises(UsageError, match="did you mean metrics.loss"):
        summarize(table(grid()), metrics=["metrics.los"])
    with pytest.raises(UsageError, match="--over column 'sed'"):
        summarize(table(grid()), over="sed")
    with pytest.raises(UsageError, match="both a --by column and the --over"):
        summarize(table(grid()), by=["seed"], over="seed")


def test_empty_and_all_failed_tables_summarise_to_nothing():
    rows = [{**r, "status": "FAILED"} for r in grid()]
    s = summarize(table(rows))
    assert s.counts["failed"] == 6 and s.counts["runs_used"] == 0 and len(s.table) == 0
    s = summarize(table(grid()).iloc[:0])
    assert len(s.table) == 0


def test_the_newer_export_layout_experiment_sweep_index_tags_and_unsorted_params():
    df = table(grid())
    df.insert(2, "experiment_name", "exp")
    df.insert(3, "sweep_index", range(len(df)))
    params = ["seed", "opt", "epochs"]  # varied params first, then constant ones (not sorted)
    df = df[[c for c in df.columns if c not in params + ["metrics.acc", "metrics.loss"]]
            + params + ["metrics.acc", "metrics.loss"]]
    df["tags.team"] = "x"
    s = summarize(df)
    assert s.roles.params == params and "sweep_index" in s.roles.run_fields
    assert s.over == "seed" and s.by == ["opt"] and s.metrics == ["metrics.acc", "metrics.loss"]
    # two experiments are compared, not averaged together
    df.loc[df.index % 2 == 0, "experiment_name"] = "other"
    s = summarize(df)
    assert s.by == ["experiment_name", "opt"]


def test_over_run_id_averages_over_runs():
    rows = [{"run": f"r{i}", "params": {"opt": o}, "metrics": {"loss": v}}
            for i, ((o, _), v) in enumerate(LOSS.items())]
    s = summarize(table(rows), over="run_id")
    assert s.by == ["opt"] and s.over == "run_id"
    assert_stats(row_of(s, "metrics.loss", opt="a"), [0.50, 0.61, 0.47])
    assert list(s.observations.columns).count("run_id") == 1


def test_the_package_names_resolve():
    import mlflow_sweep_plugin as package

    names = ["summarize", "Summary", "rank", "Best", "build_report", "ReportOptions", "Report", "log_report",
             "report_parent", "add_history_columns"]
    assert set(names) <= set(package.__all__)
    assert [n for n in names if getattr(package, n, None) is None] == []
