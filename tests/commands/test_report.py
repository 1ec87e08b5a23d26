"""``mlflow-sweep report`` on a real sqlite store: output, exit codes, edge cases, --log-to."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mlflow_sweep_plugin.testing import free_port, report_files
from report_test_helpers import last_line

LOSS = {("a", 0): 0.50, ("a", 1): 0.61, ("a", 2): 0.47, ("b", 0): 0.30, ("b", 1): 0.36, ("b", 2): 0.29}


def loss_runs(values=LOSS, **extra):
    return [{"run_name": f"{o}-{s}", "params": {"opt": o, "seed": s, **extra}, "metrics": {"loss": v}}
            for (o, s), v in values.items()]


def test_report_writes_the_directory_and_prints_one_line(make_sweep, report_cli, tmp_path):
    make_sweep(loss_runs())
    out = tmp_path / "rep"
    res = report_cli("--experiment-name", "sweep", "--objective", "metrics.loss", "-o", out, "--max-plots", "1")
    assert res.exit_code == 0, (res.stderr, res.exception)
    assert res.exception is None
    line = last_line(res)
    assert line.startswith(f"mlflow-sweep: report -> {out / 'report.html'}; best metrics.loss (min): opt=b: ")
    assert line.endswith("(n=3), 0 tied")
    assert {p.name for p in out.iterdir()} - {".mlflow-sweep-report.json"} == {
        "report.html", "summary.csv", "best.json", "summary.md", "summary.tex", "plots", "runs.csv", "report.json"}
    csv = pd.read_csv(out / "summary.csv")
    assert csv.loc[csv.opt == "b", "mean"].iloc[0] == pytest.approx((0.30 + 0.36 + 0.29) / 3)
    assert json.loads((out / "best.json").read_text())["best"]["group"] == {"opt": "b"}


def test_strict_exits_1_on_warnings_and_still_writes(make_sweep, report_cli, tmp_path):
    values = dict(LOSS)
    del values[("b", 2)]
    make_sweep(loss_runs(values))
    res = report_cli("--experiment-name", "sweep", "-o", tmp_path / "r", "--strict", "--max-plots", "0")
    assert res.exit_code == 1
    assert "mlflow-sweep: warning: 1 of 2 group(s) have fewer seed values" in res.stderr
    assert "--strict: 1 warning(s); exiting with status 1" in res.stderr
    assert (tmp_path / "r" / "report.html").exists()
    res = report_cli("--experiment-name", "sweep", "-o", tmp_path / "r", "--max-plots", "0")
    assert res.exit_code == 0


USAGE_ERRORS = [
    ((), "give --experiment-name NAME or -x/--experiment-id ID"),
    (("--experiment-name", "nope"), "nope"),
    (("--experiment-name", "sweep", "--objective", "los"), "--objective 'los' is not a column"),
    (("--experiment-name", "sweep", "--objective", "opt"), "is a grouping column, not a metric"),
    (("--experiment-name", "sweep", "--history", "loss"), "expected METRIC:AGG"),
    (("--experiment-name", "sweep", "--history", "loss:median"), "unknown aggregate 'median'"),
    (("--experiment-name", "sweep", "--plot", "optimizer"), "--plot 'optimizer'"),
    (("--experiment-name", "sweep", "--over", "sed"), "--over column 'sed'"),
    (("--experiment-name", "sweep", "--mode", "lowest"), "lowest"),
    (("--experiment-name", "sweep", "--log-to", "0123456789abcdef0123456789abcdef"), "--log-to: no run"),
]


def test_usage_errors_exit_2_without_a_traceback(make_sweep, report_cli, tmp_path):
    make_sweep(loss_runs())
    for args, message in USAGE_ERRORS:
        res = report_cli(*args, "-o", tmp_path / "r", "--max-plots", "0")
        assert res.exit_code == 2, (args, res.stderr, res.exception)
        assert res.exception is None and "Traceback" not in res.stderr, args
        assert message in res.stderr, (args, res.stderr)


def test_unreachable_store_exits_3(report_cli, tmp_path):
    res = report_cli("--experiment-name", "sweep", "--tracking-uri", f"http://127.0.0.1:{free_port()}",
                     "-o", tmp_path / "r")
    assert res.exit_code == 3, res.stderr
    assert "unreachable" in res.stderr and res.exception is None


def test_every_run_failed_is_a_report_saying_so(make_sweep, report_cli, tmp_path):
    make_sweep([{**r, "status": "FAILED"} for r in loss_runs()])
    res = report_cli("--experiment-name", "sweep", "--objective", "metrics.loss", "-o", tmp_path / "r")
    assert res.exit_code == 0 and res.exception is None
    assert "warning: every run (6) FAILED or was KILLED: nothing to summarise (--include-failed" in res.stderr
    assert last_line(res).endswith("; no --objective, nothing ranked") or "nothing ranked" in last_line(res)
    res = report_cli("--experiment-name", "sweep", "--objective", "metrics.loss", "-o", tmp_path / "r",
                     "--include-failed", "--max-plots", "0")
    assert res.exit_code == 0 and "best metrics.loss (min): opt=b" in last_line(res)


def test_no_numeric_metric_and_one_run(make_sweep, report_cli, tmp_path):
    make_sweep([{"params": {"opt": "a"}}], experiment_name="empty")
    res = report_cli("--experiment-name", "empty", "-o", tmp_path / "e")
    assert res.exit_code == 0 and res.exception is None
    assert "warning: no numeric metric in the table" in res.stderr
    make_sweep([{"params": {"opt": "a"}, "metrics": {"loss": 0.4}}], experiment_name="one")
    res = report_cli("--experiment-name", "one", "--objective", "metrics.loss", "-o", tmp_path / "o")
    assert res.exit_code == 0 and "warning: only one run" in res.stderr
    assert "best metrics.loss (min): (all runs): 0.4 (n=1), 0 tied" in last_line(res)


def test_parents_and_superseded_retries_never_count(make_sweep, report_cli, tmp_path):
    runs = loss_runs()
    runs.append({"run_name": "parent", "params": {}, "metrics": {"loss": 100.0},
                 "tags": {"mlflow_sweep.role": "parent"}})
    runs.append({"run_name": "old-retry", "params": {"opt": "b", "seed": 2}, "metrics": {"loss": 9.0},
                 "tags": {"mlflow_sweep.superseded_by": "someone"}, "status": "FAILED"})
    make_sweep(runs)
    res = report_cli("--experiment-name", "sweep", "-o", tmp_path / "r", "--include-failed", "--max-plots", "0")
    assert res.exit_code == 0, res.stderr
    csv = pd.read_csv(tmp_path / "r" / "summary.csv")
    assert sorted(csv["opt"]) == ["a", "b"] and set(csv["n"]) == {3}
    html = (tmp_path / "r" / "report.html").read_text()
    # left out by the export itself (newer exports) or by the report (tag columns): 2 either way
    assert "sweep parents and superseded retries left out</th><td class=\"num\">2" in html


def test_log_to_puts_the_report_on_a_run(make_sweep, report_cli, sweep_store, tmp_path):
    make_sweep(loss_runs())
    target = make_sweep([{"run_name": "summary-holder"}], experiment_name="reports").run_ids[0]
    res = report_cli("--experiment-name", "sweep", "--objective", "metrics.loss", "-o", tmp_path / "r",
                     "--log-to", target, "--max-plots", "1")
    assert res.exit_code == 0, res.stderr
    assert f"report logged on run {target}" in res.stderr
    client = sweep_store.client
    files = report_files(client, target)
    assert {"report.html", "summary.csv", "best.json", "summary.md", "summary.tex"} <= files
    assert any(p.startswith("plots/") and p.endswith(".png") for p in files)
    run = client.get_run(target)
    assert run.data.tags["mlflow_sweep.best.opt"] == "b"
    assert run.data.tags["mlflow_sweep.report.objective"] == "metrics.loss"
    assert run.data.metrics["mlflow_sweep.best.metrics.loss"] == pytest.approx((0.30 + 0.36 + 0.29) / 3)


def test_trust_ended_runs_serves_the_cache_until_refresh(make_sweep, report_cli, sweep_store, tmp_path):
    sweep = make_sweep([{"run_name": f"{o}-{s}", "params": {"opt": o, "seed": s},
                         "artifacts": {"results/score.json": {"loss": v}}} for (o, s), v in LOSS.items()])
    args = ("--experiment-name", "sweep", "--artifact", "results/score.json", "--objective", "loss",
            "--max-plots", "0", "-o")
    assert "best loss (min): opt=b" in last_line(report_cli(*args, tmp_path / "r1"))
    # one of b's runs is rewritten after it ended: b is no longer the best
    late = tmp_path / "late" / "score.json"
    late.parent.mkdir()
    late.write_text(json.dumps({"loss": 50.0}))
    sweep_store.client.log_artifact(sweep.run_ids[3], str(late), "results")
    trusted = report_cli(*args, tmp_path / "r2", "--trust-ended-runs")
    assert trusted.exit_code == 0, trusted.stderr
    assert "best loss (min): opt=b" in last_line(trusted)  # the cached record, no listing
    sound = report_cli(*args, tmp_path / "r3")
    assert sound.exit_code == 0, sound.stderr
    assert "best loss (min): opt=a" in last_line(sound)


def test_report_command_without_an_experiment_is_a_usage_error(tmp_path):
    from click.testing import CliRunner

    from mlflow_sweep_plugin.commands.report import report_command

    res = CliRunner().invoke(report_command, ["-o", str(tmp_path / "rep")])
    assert res.exit_code == 2 and "give --experiment-name NAME or -x/--experiment-id ID" in res.output
    assert not (tmp_path / "rep").exists()
