"""mlflow_sweep_plugin.commands.flatten: ``mlflow-sweep flatten`` logs artifacts' numeric
fields as metrics, once — in-process on a real sqlite store."""

from __future__ import annotations

import re

from mlflow_sweep_plugin.commands.flatten import flatten_command


def test_flatten_logs_metrics_once(make_sweep, example_summary, sweep_cli, sweep_store):
    sweep = make_sweep([{"artifacts": {"layer_0/cluster_summary.json": example_summary}}])
    first = sweep_cli("flatten", sweep.run_ids[0], "--parser", "cluster_summary").assert_success()
    n_new = int(re.search(r"flattened 1 runs: (\d+) new metrics, 0 unchanged", first.stderr).group(1))
    metrics = sweep_store.client.get_run(sweep.run_ids[0]).data.metrics
    assert n_new == len(metrics) > 0
    assert metrics["layer_0.energy_contrast_ratio"] == example_summary["energy_contrast_ratio"]
    again = sweep_cli("flatten", "--experiment-name", "sweep", "--parser", "cluster_summary").assert_success()
    assert f"flattened 1 runs: 0 new metrics, {n_new} unchanged, 0 warnings" in again.stderr


def test_what_to_flatten_must_be_said_and_exist(sweep_cli, make_sweep):
    make_sweep(1)
    nothing = sweep_cli("flatten")
    assert nothing.exit_code == 2 and "RUN_ID" in nothing.stderr
    unknown = sweep_cli("flatten", "0123456789abcdef0123456789abcdef")
    assert unknown.exit_code == 2 and "no run '0123456789abcdef0123456789abcdef'" in unknown.stderr
    bad_limit = sweep_cli("flatten", "--experiment-name", "sweep", "--max-artifact-bytes", "lots")
    assert bad_limit.exit_code == 2
    assert flatten_command.name == "flatten"
