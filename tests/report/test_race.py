"""The report of a raced or confirmed sweep (report/race.py, issue 26): the Race section
from the parent's ``mlflow_sweep/race.json`` in report.html, report.json and summary.md,
``decided_by`` in best.json and on the parent, and a confirmation sweep's best decided on
the confirm runs only. Real sqlite store; the sweeps are tagged as the backend tags them
(search/race.py, backend/runner.py); a real raced sweep through ``mlflow run`` is in
tests/backend/test_runner_search.py (slow)."""

from __future__ import annotations

import html
import json
import re
import pathlib
import tempfile

import pandas as pd
import pytest

from mlflow_sweep_plugin.report.parent import report_parent
from mlflow_sweep_plugin.report.race import decision, race_lines

HOSTILE = "<b>x</b>|*"  # a candidate's value: escaped in every format
# race: val_loss per (x, seed); "c" leaves in round 0, HOSTILE in round 1, "a" wins
RACE_VALUES = {("a", 0): 0.10, ("a", 1): 0.12, ("a", 2): 0.11, ("a", 3): 0.13,
               (HOSTILE, 0): 0.20, (HOSTILE, 1): 0.22, (HOSTILE, 2): 0.21, (HOSTILE, 3): 0.23,
               ("c", 0): 0.90, ("c", 1): 0.95}
RACE_JSON = {
    "stage": "race", "initial": 2, "step": 2, "alpha": 0.05, "winner": {"x": "a"}, "left": [{"x": "a"}],
    "rounds": [
        {"round": 0, "seeds": ["0", "1"], "survivors": [{"x": "a"}, {"x": HOSTILE}],
         "eliminated": [{"config": {"x": "c"}, "diff": 0.815, "ci": [0.7, 0.93], "p_adjusted": 0.004,
                         "test": "paired-t"}]},
        {"round": 1, "seeds": ["0", "1", "2", "3"], "survivors": [{"x": "a"}],
         "eliminated": [{"config": {"x": HOSTILE}, "diff": 0.1, "ci": [0.09, 0.11], "p_adjusted": 0.0001,
                         "test": "paired-t"}]}]}
# confirmation: the search's one run per x (no seed) and the confirm runs on fresh seeds;
# on every run x=0.1 is best (winner's curse: its search value 0.01), on the confirm runs x=0.5
SEARCH = {"0.1": 0.01, "0.5": 0.30, "0.9": 0.50}
CONFIRM = {("0.1", 100): 0.25, ("0.1", 101): 0.26, ("0.1", 102): 0.27,
           ("0.5", 100): 0.20, ("0.5", 101): 0.21, ("0.5", 102): 0.22}


def _log_json(client, run_id, artifact, data) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / pathlib.Path(artifact).name
        path.write_text(json.dumps(data))
        client.log_artifact(run_id, str(path), str(pathlib.Path(artifact).parent))


def make_sweep(store, experiment: str, runs, race=None, strategy="grid"):
    """A parent and its children as the backend makes them: ``runs`` are (params, stage,
    round, val_loss[, trial]); ``race``: the parent's race.json."""
    from mlflow.entities import Metric, Param

    client = store.client
    exp = store.create_experiment(experiment)
    sweep_id = f"sweep-{experiment}"
    parent = client.create_run(exp, run_name=experiment, tags={
        "mlflow_sweep.sweep_id": sweep_id, "mlflow_sweep.role": "parent",
        "mlflow_sweep.strategy": strategy}).info.run_id
    for i, (params, stage, rnd, loss, *trial) in enumerate(runs):
        tags = {"mlflow_sweep.sweep_id": sweep_id, "mlflow_sweep.role": "child", "mlflow.parentRunId": parent,
                "mlflow_sweep.index": str(i)}
        if trial:
            tags["mlflow_sweep.trial"] = str(trial[0])
        if stage:
            tags["mlflow_sweep.stage"] = stage
        if rnd is not None:
            tags["mlflow_sweep.race.round"] = str(rnd)
        rid = client.create_run(exp, run_name=f"run-{i}", tags=tags).info.run_id
        client.log_batch(rid, params=[Param(k, str(v)) for k, v in params.items()],
                         metrics=[Metric("val_loss", loss, 0, 0)])
        client.set_terminated(rid, "FINISHED")
    if race is not None:
        _log_json(client, parent, "mlflow_sweep/race.json", race)
    client.set_terminated(parent, "FINISHED")
    return exp, parent


def race_runs():
    return [({"x": x, "seed": s}, "race", 0 if s < 2 else 1, v) for (x, s), v in RACE_VALUES.items()]


def confirm_runs():
    return [({"x": x}, "search", None, v) for x, v in SEARCH.items()] + \
        [({"x": x, "seed": s}, "confirm", None, v) for (x, s), v in CONFIRM.items()]


def test_race_lines_one_per_candidate():
    lines = {line["label"]: line for line in race_lines(RACE_JSON)}
    assert set(lines) == {"x=a", "x=c", f"x={HOSTILE}"}
    assert lines["x=a"]["outcome"] == "survived" and lines["x=a"]["winner"]
    assert (lines["x=c"]["round"], lines["x=c"]["diff"], lines["x=c"]["ci_low"], lines["x=c"]["p_adjusted"]) \
        == (0, 0.815, 0.7, 0.004)
    assert lines[f"x={HOSTILE}"]["round"] == 1


@pytest.mark.parametrize("stages, strategy, expected", [
    (["search", "confirm", None], "random", "confirm"), (["race", "race"], "grid", "race"),
    (["search"], "tpe", "search"), ([None], "random", "search"), ([None], "grid", "report"), ([None], None, "report")])
def test_decided_by(stages, strategy, expected):
    df = pd.DataFrame({"run_id": [f"r{i}" for i in range(len(stages))], "tags.mlflow_sweep.stage": stages})
    decided_by, runs = decision(df, {"tags": {"mlflow_sweep.strategy": strategy}} if strategy else None)
    assert decided_by == expected
    assert runs == ({f"r{i}" for i, s in enumerate(stages) if s == "confirm"} if expected == "confirm" else None)


def test_the_command_shows_the_race_of_a_raced_sweep(sweep_store, report_cli, tmp_path):
    make_sweep(sweep_store, "race", race_runs(), RACE_JSON)
    out = tmp_path / "rep"
    res = report_cli("--experiment-name", "race", "-o", out, "--objective", "metrics.val_loss",
                     "--max-plots", "0", "--no-curves")
    assert res.exit_code == 0, res.stderr
    best = json.loads((out / "best.json").read_text())
    assert best["decided_by"] == "race" and best["decided_on_runs"] is None
    assert best["best"]["group"] == {"x": "a"}
    manifest = json.loads((out / "report.json").read_text())
    assert manifest["best"]["decided_by"] == "race"
    race = manifest["race"]
    assert race["stage"] == "race" and race["winner"] == {"x": "a"} and len(race["rounds"]) == 2
    by_label = {c["label"]: c for c in race["candidates"]}
    assert by_label["x=c"]["outcome"] == "eliminated" and by_label["x=c"]["round"] == 0
    assert by_label["x=c"]["p_adjusted"] == 0.004 and by_label["x=c"]["ci_high"] == 0.93
    assert by_label["x=a"]["outcome"] == "survived"
    page = (out / "report.html").read_text()
    assert '<h2>Race</h2>' in page and 'id="race-lines"' in page
    assert "left in round 0: difference from the best 0.815 [0.7, 0.93], adjusted p = 0.004" in page
    assert "survived (the winner)" in page
    assert HOSTILE not in page and html.escape(f"x={HOSTILE}") in page  # escaped, never markup
    md = (out / "summary.md").read_text()
    assert "<b>" not in md and "\\<b\\>x\\</b\\>\\|\\*" in md  # Markdown-escaped
    md = re.sub(r"\\(.)", r"\1", md)
    assert "## Race" in md and "survived (the winner)" in md
    assert "left in round 1: difference from the best 0.1 [0.09, 0.11], adjusted p = 0.0001" in md
    runs = pd.read_csv(out / "runs.csv")
    assert set(runs["stage"]) == {"race"}


def test_a_confirmation_sweep_is_decided_on_the_confirm_runs_only(sweep_store, report_cli, tmp_path):
    confirm_race = {"stage": "confirm", "initial": 3, "step": 3, "alpha": 0.05, "winner": {"x": "0.5"},
                    "left": [{"x": "0.5"}], "rounds": [
                        {"round": 0, "seeds": ["100", "101", "102"], "survivors": [{"x": "0.5"}],
                         "eliminated": [{"config": {"x": "0.1"}, "diff": 0.05, "ci": [0.05, 0.05],
                                         "p_adjusted": 0.0, "test": "paired-t"}]}]}
    exp, parent = make_sweep(sweep_store, "confirm", confirm_runs(), confirm_race, strategy="random")
    out = tmp_path / "rep"
    res = report_cli("--experiment-name", "confirm", "-o", out, "--objective", "metrics.val_loss",
                     "--max-plots", "0", "--no-curves")
    assert res.exit_code == 0, res.stderr
    best = json.loads((out / "best.json").read_text())
    assert best["decided_by"] == "confirm" and best["decided_on_runs"] == 6
    # every run would pick x=0.1 (its search value 0.01); the confirm runs pick x=0.5
    assert best["best"]["group"] == {"x": "0.5"}
    assert best["best"]["n"] == 3 and best["best"]["mean"] == pytest.approx(0.21)
    ranked = {c["group"]["x"]: c for c in best["comparisons"]}
    assert set(ranked) == {"0.5", "0.1"}  # x=0.9 was never confirmed: not ranked
    assert ranked["0.1"]["mean"] == pytest.approx(0.26) and ranked["0.1"]["n"] == 3
    assert ranked["0.1"]["diff"] == pytest.approx(0.05)
    runs = pd.read_csv(out / "runs.csv")
    assert sorted(runs["stage"]) == ["confirm"] * 6 + ["search"] * 3  # the search's runs stay, marked
    page = (out / "report.html").read_text()
    assert "Race (confirmation)" in page and "Decided by the confirmation stage" in page
    assert "Decided by the confirmation stage" in (out / "summary.md").read_text()
    # the sweep's own report on its parent: the best tags and decided_by say the same
    report = report_parent(sweep_store.client, parent, exp, objective="metrics.val_loss", max_plots=0,
                           no_curves=True)
    assert report is not None and report.best.decided_by == "confirm"
    tags = sweep_store.client.get_run(parent).data.tags
    assert tags["mlflow_sweep.decided_by"] == "confirm" and tags["mlflow_sweep.best.x"] == "0.5"


# "d" leaves in round 0 (worse than "a" on seeds 0 and 1); "a" then meets hard seeds 2 and 3
# and wins, with a mean (0.255) above d's (0.205, on the easy seeds only)
DRIFT = {("a", 0): 0.10, ("a", 1): 0.11, ("a", 2): 0.40, ("a", 3): 0.41,
         ("b", 0): 0.12, ("b", 1): 0.13, ("b", 2): 0.50, ("b", 3): 0.51,
         ("d", 0): 0.20, ("d", 1): 0.21}
TRIALS = {"a": 0, "b": 1, "d": 2}


def drift_race(finished: bool) -> dict:
    race = {"stage": "race", "initial": 2, "step": 2, "alpha": 0.05, "winner": {"x": "a"}, "left": [{"x": "a"}],
            "rounds": [
                {"round": 0, "seeds": ["0", "1"], "survivors": [{"x": "a"}, {"x": "b"}],
                 "eliminated": [{"config": {"x": "d"}, "diff": 0.1, "ci": [0.09, 0.11], "p_adjusted": 0.001,
                                 "test": "paired-t"}]},
                {"round": 1, "seeds": ["0", "1", "2", "3"], "survivors": [{"x": "a"}],
                 "eliminated": [{"config": {"x": "b"}, "diff": 0.06, "ci": [0.0, 0.12], "p_adjusted": 0.04,
                                 "test": "paired-t"}]}]}
    if finished:
        race.update(finished=True, left_trials=[TRIALS["a"]])
    return race


@pytest.mark.parametrize("finished, expected", [(True, "a"), (False, "d")])
def test_the_report_names_the_race_winner_not_an_eliminated_candidate(sweep_store, report_cli, tmp_path,
                                                                      finished, expected):
    """An eliminated candidate's mean over its few seeds can beat the winner's; once the race
    has finished, the report decides on the candidates it left and names its winner on the
    parent as the race does (race.json without ``finished``, as before: every run)."""
    runs = [({"x": x, "seed": s}, "race", 0 if s < 2 else 1, v, TRIALS[x]) for (x, s), v in DRIFT.items()]
    exp, parent = make_sweep(sweep_store, f"drift-{finished}", runs, drift_race(finished))
    out = tmp_path / "rep"
    res = report_cli("--experiment-name", f"drift-{finished}", "-o", out, "--objective", "metrics.val_loss",
                     "--max-plots", "0", "--no-curves")
    assert res.exit_code == 0, res.stderr
    best = json.loads((out / "best.json").read_text())
    assert best["decided_by"] == "race"
    assert best["best"]["group"] == {"x": expected}
    if finished:
        assert best["decided_on_runs"] == 4 and best["best"]["mean"] == pytest.approx(0.255)
        assert [c["group"]["x"] for c in best["comparisons"]] == ["a"]  # d and b: the Race section
        by_label = {c["label"]: c for c in json.loads((out / "report.json").read_text())["race"]["candidates"]}
        assert by_label["x=d"]["round"] == 0 and by_label["x=a"]["winner"]
        # the sweep's report on its parent writes the race's winner (the sweeper's tags stay right)
        report = report_parent(sweep_store.client, parent, exp, objective="metrics.val_loss", max_plots=0,
                               no_curves=True)
        assert report is not None
        tags = sweep_store.client.get_run(parent).data.tags
        assert tags["mlflow_sweep.best.x"] == "a" and tags["mlflow_sweep.decided_by"] == "race"


def test_a_plain_sweep_is_decided_by_the_report_and_has_no_race(sweep_store, report_cli, tmp_path):
    runs = [({"x": x, "seed": s}, None, None, v) for (x, s), v in RACE_VALUES.items()]
    make_sweep(sweep_store, "plain", runs)
    out = tmp_path / "rep"
    res = report_cli("--experiment-name", "plain", "-o", out, "--objective", "metrics.val_loss",
                     "--max-plots", "0", "--no-curves")
    assert res.exit_code == 0, res.stderr
    assert json.loads((out / "best.json").read_text())["decided_by"] == "report"
    assert json.loads((out / "report.json").read_text())["race"] is None
    assert "<h2>Race" not in (out / "report.html").read_text()
    assert "stage" not in pd.read_csv(out / "runs.csv").columns


@pytest.mark.slow
def test_a_real_confirmation_sweep_reports_its_race_on_the_parent(sweep_store):
    """``mlflow run --backend sweep``: random search then a confirmation race, with the
    sweep's report on the parent (real child processes: the slow group)."""
    from sweep_test_helpers import mlflow_run

    from mlflow_sweep_plugin.testing import report_files

    project = pathlib.Path(__file__).resolve().parents[2] / "examples" / "search_project"
    config = {"strategy": "random", "space": {"x": {"low": 0.0, "high": 1.0}}, "max_trials": 3,
              "sampler_seed": 0, "objective": {"metric": "val_loss", "mode": "min"},
              "confirm": {"top": 2, "seeds": [100, 101]}, "max_parallel": 2, "sweep_name": "confirm",
              "report": {"objective": "metrics.val_loss", "mode": "min"}}
    proc = mlflow_run(sweep_store, project, config, "steps=1", "noise=0.01")
    assert proc.returncode == 0, proc.stderr[-3000:]
    client = sweep_store.client
    exp = client.get_experiment_by_name("grid").experiment_id
    (parent,) = client.search_runs([exp], "tags.`mlflow_sweep.role` = 'parent'")
    tags = parent.data.tags
    assert tags["mlflow_sweep.decided_by"] == "confirm"
    where = tags["mlflow_sweep.report.path"]
    assert {"best.json", "report.json", "report.html"} <= report_files(client, parent.info.run_id)
    with tempfile.TemporaryDirectory() as tmp:
        best = json.loads(pathlib.Path(client.download_artifacts(
            parent.info.run_id, f"{where}/best.json", tmp)).read_text())
        manifest = json.loads(pathlib.Path(client.download_artifacts(
            parent.info.run_id, f"{where}/report.json", tmp)).read_text())
    assert manifest["race"]["stage"] == "confirm" and len(manifest["race"]["candidates"]) == 2
    left = [c for c in manifest["race"]["candidates"] if c["outcome"] == "survived"]
    # decided on the confirm runs (two seeds) of the candidates the confirmation left
    assert best["decided_by"] == "confirm" and best["decided_on_runs"] == 2 * len(left)
    children = client.search_runs([exp], "tags.`mlflow_sweep.role` = 'child'")
    means: dict = {}
    for c in children:
        if c.data.tags.get("mlflow_sweep.stage") == "confirm":
            means.setdefault(c.data.params["x"], []).append(c.data.metrics["val_loss"])
    best_x = min(means, key=lambda x: sum(means[x]) / len(means[x]))
    assert best["best"]["group"] == {"x": best_x} and tags["mlflow_sweep.best.x"] == best_x
    assert best["best"]["mean"] == pytest.approx(sum(means[best_x]) / len(means[best_x]))
