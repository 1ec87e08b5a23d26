"""mlflow_sweep_plugin.commands.export: ``mlflow-sweep export`` in-process on a real
sqlite store — the table written, one summary line, --strict, the exit codes."""

from __future__ import annotations

import re

import pandas as pd

from mlflow_sweep_plugin.cli import main
from mlflow_sweep_plugin.commands.export import EXIT_CODES_HELP, export_command


def _sweep(make_sweep, example_summary):
    bad = dict(example_summary, energy_contrast_ratio="not a number")
    return make_sweep([{"params": {"lr": "0.1"}, "artifacts": {"layer_0/cluster_summary.json": example_summary}},
                       {"params": {"lr": "0.2"}, "artifacts": {"layer_0/cluster_summary.json": bad}}])


def test_export_writes_the_table_and_one_summary_line(make_sweep, example_summary, sweep_cli, tmp_path):
    sweep = _sweep(make_sweep, example_summary)
    out = tmp_path / "t.csv"
    result = sweep_cli("export", "--experiment-name", "sweep", "-o", out).assert_success()
    assert result.stdout == ""
    summary = result.stderr.strip().splitlines()[-1]
    assert re.match(r"mlflow-sweep: exported 2 runs, \d+ rows, \d+ columns, 1 warnings -> ", summary)
    assert summary.endswith(str(out))
    assert "warning: run " + sweep.run_ids[1] in result.stderr
    assert sorted(pd.read_csv(out)["run_id"].unique()) == sorted(sweep.run_ids)


def test_strict_exits_1_with_a_warning_and_still_writes(make_sweep, example_summary, sweep_cli, tmp_path):
    _sweep(make_sweep, example_summary)
    out = tmp_path / "t.parquet"
    result = sweep_cli("export", "--experiment-name", "sweep", "-o", out, "--strict", "-q")
    assert result.exit_code == 1 and "--strict: 1 warning(s)" in result.stderr
    assert "exported" not in result.stderr  # -q: no summary
    assert len(pd.read_parquet(out)) >= 2


def test_usage_errors_and_an_unknown_experiment_are_exit_2(sweep_cli, make_sweep):
    make_sweep(1, experiment_name="grid")
    no_experiment = sweep_cli("export")
    assert no_experiment.exit_code == 2 and "--experiment-name" in no_experiment.stderr
    unknown = sweep_cli("export", "--experiment-name", "gird")
    assert unknown.exit_code == 2 and "similar names: grid" in unknown.stderr


def test_a_store_that_is_not_there_is_exit_3_and_is_not_created(sweep_cli, tmp_path):
    missing = tmp_path / "none.db"
    result = sweep_cli("export", "--experiment-name", "x", "--tracking-uri", f"sqlite:///{missing}")
    assert result.exit_code == 3 and not missing.exists()


def test_the_help_lists_every_documented_exit_code():
    codes = re.findall(r"^\s+(\d+)\s{2,}", EXIT_CODES_HELP, re.M)
    assert codes == ["0", "1", "2", "3", "4", "130"]
    assert main.commands["export"] is export_command
