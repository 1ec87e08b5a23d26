"""report.grouping: what a report groups by, averages over and summarises, for given roles."""

from __future__ import annotations

import pytest

from mlflow_sweep_plugin.errors import UsageError
from mlflow_sweep_plugin.report.columns import infer_roles
from mlflow_sweep_plugin.report.grouping import choose_by, choose_metrics, choose_over, drop_aliases
from report_test_helpers import table


def runs(**extra_params):
    """lr x seed; ``lr_label`` relabels lr; ``opt`` is the same everywhere."""
    rows = []
    for lr, label in ((0.1, "low"), (0.2, "high")):
        for seed in (0, 1):
            params = {"lr": lr, "lr_label": label, "opt": "adam", "seed": seed}
            params.update({k: v(lr, seed) for k, v in extra_params.items()})
            rows.append({"run": f"{label}-{seed}", "params": params,
                         "metrics": {"loss": lr + seed / 10, "acc": 1 - lr}})
    return table(rows)


def test_the_seed_column_is_averaged_over_and_the_varied_params_grouped_by():
    df = runs()
    roles = infer_roles(df)
    notes = []
    over = choose_over(df, roles, None, notes.append)
    by, aliases = choose_by(df, roles, over, None)
    assert over == "seed" and notes == []
    # opt does not vary; lr_label relabels lr: the numeric one is kept and the other named
    assert by == ["lr"] and aliases == {"lr": ["lr_label"]}
    assert choose_metrics(roles, by, over, None) == ["metrics.acc", "metrics.loss"]


def test_a_declared_seed_wins_and_over_can_be_turned_off_or_named():
    df = runs(replicate=lambda lr, seed: seed)
    roles = infer_roles(df, declared={"seed": ["replicate"]})
    assert choose_over(df, roles, None, print) == "replicate"
    assert choose_over(df, roles, False, print) is None
    assert choose_over(df, roles, "lr", print) == "lr"


def test_several_distinct_seed_columns_average_over_none_and_say_so():
    df = runs(seed_data=lambda lr, seed: 1 - seed if lr > 0.15 else seed)
    notes = []
    assert choose_over(df, infer_roles(df), None, notes.append) is None
    assert len(notes) == 1 and "seed, seed_data" in notes[0] and "--over" in notes[0]


def test_seed_columns_with_the_same_values_are_one_seed():
    df = runs(seed_data=lambda lr, seed: seed)
    notes = []
    assert choose_over(df, infer_roles(df), None, notes.append) == "seed" and notes == []


def test_several_experiments_are_compared():
    df = runs()
    df.insert(2, "experiment_name", ["e1", "e2", "e1", "e2"])
    by, _ = choose_by(df, infer_roles(df), "seed", None)
    assert by == ["experiment_name", "lr"]


def test_an_explicit_by_is_kept_and_checked():
    df = runs()
    roles = infer_roles(df)
    assert choose_by(df, roles, "seed", ["lr_label", "opt"]) == (["lr_label", "opt"], {})
    with pytest.raises(UsageError, match="'seed' is both a --by column and the --over column"):
        choose_by(df, roles, "seed", ["lr", "seed"])
    with pytest.raises(UsageError, match="'lr' is a grouping column, not a metric"):
        choose_metrics(roles, ["lr"], "seed", ["metrics.loss", "lr"])


def test_drop_aliases_keeps_a_numeric_factor_then_the_shortest_name():
    df = runs(grid=lambda lr, seed: f"{int(lr * 10)}x{int(lr * 10)}")
    kept, aliases = drop_aliases(df, ["lr_label", "grid", "lr", "seed"])
    assert kept == ["lr", "seed"] and aliases == {"lr": ["grid", "lr_label"]}


def test_a_hydra_jobs_config_copies_are_neither_the_kept_alias_nor_a_second_seed():
    """The callback logs the overrides (``db``, ``lr``, ``seed``) and the composed config as
    ``config.*`` params: ``config.seed`` is the seed again (not a factor), and the override
    ``db`` is kept over its numeric copy ``config.db.penalty``."""
    penalty = {"mysql": 0.5, "postgresql": 0.0}
    rows = []
    for lr in (0.01, 0.1):
        for db in ("mysql", "postgresql"):
            for seed in (0, 1):
                params = {"lr": lr, "db": db, "seed": seed, "config.lr": lr, "config.seed": seed,
                          "config.db.penalty": penalty[db], "config.steps": 3}
                rows.append({"run": f"{lr}-{db}-{seed}", "params": params, "metrics": {"loss": lr + seed}})
    df = table(rows)
    roles = infer_roles(df)
    over = choose_over(df, roles, None, print)
    by, aliases = choose_by(df, roles, over, None)
    assert over == "seed"
    assert sorted(by) == ["db", "lr"]
    assert aliases == {"db": ["config.db.penalty"], "lr": ["config.lr"]}
