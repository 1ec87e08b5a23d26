"""``mlflow-sweep status`` on a real sqlite store: sweeps written with ``MlflowClient`` as
the backend and the Hydra callback write them (tests/sweep_status_helpers.py).

The grid (lr x layers, seeds 0 and 1; objective val_loss, min)::

    lr     layers  seed 0              seed 1
    0.1    1       finished 0.5 (*)    finished 0.7        (*) a superseded failed run before it
    0.1    2       finished 0.3        finished 0.5        <- best: mean 0.4, std 0.1414, n 2
    0.01   1       failed              finished 0.2        not ended (its failed run runs again)
    0.01   2       pruned              - (pruned config)
    0.001  1       running             missing
    0.001  2       missing             missing
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import time

import pytest
from mlflow.tracking import MlflowClient

from mlflow_sweep_plugin.commands.status import _number, _params_text, status_command
from mlflow_sweep_plugin.search.controller import claim
from mlflow_sweep_plugin.sweep.status import find_sweeps
from mlflow_sweep_plugin.tags import TAG_HEARTBEAT
from sweep_status_helpers import claiming_process, grid_sweep, hydra_sweep, status_json


@pytest.fixture
def sweeps(sweep_store, tmp_path):
    client = sweep_store.client
    exp = sweep_store.create_experiment("exp")
    return {"client": client, "exp": exp, "grid": grid_sweep(client, exp),
            "hydra": hydra_sweep(client, exp, str(tmp_path / "multirun" / "2026-01-01"))}


def by_name(found: list) -> dict:
    return {s["name"]: s for s in found}


def test_grid_counts_best_failed_and_missing_as_json(sweeps, sweep_cli):
    grid = by_name(status_json(sweep_cli, "--experiment-name", "exp"))["toy:main"]
    assert grid["parent_run_id"] == sweeps["grid"]["parent_id"]
    assert (grid["kind"], grid["strategy"], grid["state"]) == ("mlflow-run", "grid", "RUNNING")
    assert grid["runs"] == {"finished": 5, "failed": 1, "pruned": 1, "killed": 0, "running": 1, "missing": 3}
    assert grid["budget"] == {"max_trials": None, "max_runs": None, "trials": 5, "runs": 8}
    best = grid["best"]
    assert (best["objective"], best["mode"], best["n"], best["params"]) == ("val_loss", "min", 2,
                                                                            {"lr": "0.1", "layers": "2"})
    assert best["mean"] == pytest.approx(statistics.fmean([0.3, 0.5]))
    assert best["std"] == pytest.approx(0.1414213562, rel=1e-9)  # sqrt(((0.3-0.4)^2 + (0.5-0.4)^2) / 1)
    failed = grid["failed_runs"]
    assert [f["run_id"] for f in failed] == [sweeps["grid"]["runs"][("0.01", "1", 0)]]
    assert failed[0]["error"] == "ValueError: lr \x1b[2Jtoo small" and failed[0]["seed"] == "0"
    assert sweeps["grid"]["superseded"] not in json.dumps(grid)
    assert grid["resume_command"] == f"mlflow-sweep resume {grid['parent_run_id']}"
    assert grid["controller"] is None
    rows = {(r["params"]["lr"], r["params"]["layers"]): r["cells"] for r in grid["matrix"]["rows"]}
    assert rows == {("0.1", "1"): ["finished", "finished"], ("0.1", "2"): ["finished", "finished"],
                    ("0.01", "1"): ["failed", "finished"], ("0.01", "2"): ["pruned", "skipped"],
                    ("0.001", "1"): ["running", "missing"], ("0.001", "2"): ["missing", "missing"]}


def test_grid_as_text_with_its_matrix(sweeps, sweep_cli):
    out = sweep_cli("status", "--parent", sweeps["grid"]["parent_id"]).assert_success().stdout
    assert "runs: 5 finished, 1 failed, 1 pruned, 0 killed, 1 running, 3 missing" in out
    assert "best so far: val_loss min = 0.4 ± 0.141421 (n=2)" in out
    assert "ValueError: lr \\x1b[2Jtoo small" in out and "\x1b" not in out  # shown, never acted on
    assert f"continue: mlflow-sweep resume {sweeps['grid']['parent_id']}" in out
    # the swept params in the grid's order (lr, then layers), then one column per seed
    matrix = [line.split() for line in out.splitlines() if line.split()[:1] in (["0.01"], ["0.001"])]
    assert ["0.01", "2", "✂", "-"] in matrix and ["0.001", "1", "▶", "·"] in matrix
    assert "controller: none recorded" in out


def test_hydra_sweep_prints_its_multirun_command(sweeps, sweep_cli, tmp_path):
    hydra = by_name(status_json(sweep_cli, "--sweep", "my_app"))["my_app"]
    assert (hydra["kind"], hydra["strategy"], hydra["best"], hydra["matrix"]) == ("hydra", "basic", None, None)
    assert hydra["runs"] == {"finished": 1, "failed": 1, "pruned": 0, "killed": 0, "running": 0, "missing": None}
    assert hydra["failed_runs"][0]["error"] == "RuntimeError: CUDA out of memory"
    assert hydra["failed_runs"][0]["params"] == {"lr": "0.01", "model": "a"}
    sweep_dir = tmp_path / "multirun" / "2026-01-01"
    assert hydra["resume_command"] == f"python YOUR_APP.py --multirun lr=0.1,0.01 model=a hydra.sweep.dir={sweep_dir}"
    out = sweep_cli("status", "--parent", hydra["parent_run_id"]).assert_success().stdout
    assert "continue: python YOUR_APP.py --multirun" in out and "seed 0" not in out


def test_a_sigkilled_controller_is_dead_and_last_seen(sweeps, sweep_cli, sweep_store):
    parent_id = sweeps["grid"]["parent_id"]
    proc = claiming_process(sweep_store.tracking_uri, parent_id)
    alive = status_json(sweep_cli, "--parent", parent_id)[0]["controller"]
    assert (alive["host"], alive["pid"], alive["alive"]) == (socket.gethostname(), proc.pid, True)
    assert "controller: alive" in sweep_cli("status", "--parent", parent_id).stdout
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    beat = float(sweeps["client"].get_run(parent_id).data.tags[TAG_HEARTBEAT])
    dead = status_json(sweep_cli, "--parent", parent_id)[0]["controller"]
    assert (dead["alive"], dead["last_seen"]) == (False, beat)
    # two hours pass: its last beat is then that old
    sweeps["client"].set_tag(parent_id, TAG_HEARTBEAT, repr(time.time() - 7200 - 30))
    out = sweep_cli("status", "--parent", parent_id).assert_success().stdout
    assert f"controller: last seen 2 h ago (host {socket.gethostname()}, process {proc.pid}); " \
           "it stopped without ending the sweep" in out


def test_the_own_process_as_controller_is_alive(sweeps, sweep_cli):
    parent_id = sweeps["grid"]["parent_id"]
    claim(sweeps["client"], parent_id, "toy", settle_s=0)
    assert status_json(sweep_cli, "--parent", parent_id)[0]["controller"]["alive"] is True


class CountingClient(MlflowClient):
    """A real client that counts its calls to the store (no behaviour changed)."""

    COUNTED = ("search_runs", "get_run", "download_artifacts", "get_metric_history", "list_artifacts")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = dict.fromkeys(self.COUNTED, 0)

    def __getattribute__(self, name):
        if name in CountingClient.COUNTED:
            self.calls[name] += 1
        return super().__getattribute__(name)


def test_about_one_search_of_the_sweeps_runs(sweeps, sweep_store):
    client = CountingClient(sweep_store.tracking_uri)
    found = find_sweeps(client, [sweeps["exp"]])
    assert len(found) == 2
    # parents, then every child of the experiment: two searches (one page each here),
    # the grid's spec (one artifact), no metric history for agg "last"
    assert client.calls == {"search_runs": 2, "get_run": 0, "download_artifacts": 1, "get_metric_history": 0,
                            "list_artifacts": 0}
    client = CountingClient(sweep_store.tracking_uri)
    find_sweeps(client, (), parent_run_id=sweeps["grid"]["parent_id"])
    assert (client.calls["search_runs"], client.calls["get_run"]) == (1, 1)


def test_usage_errors_and_a_missing_store(sweeps, sweep_cli, tmp_path):
    assert sweep_cli("status").exit_code == 2
    result = sweep_cli("status", "--sweep", "nope", "--experiment-name", "exp")
    assert result.exit_code == 2 and "no sweep named 'nope'" in result.stderr
    child = sweeps["hydra"]["finished"]
    result = sweep_cli("status", "--parent", child)
    assert result.exit_code == 2 and "not a sweep's parent" in result.stderr
    assert sweep_cli("status", "--parent", "0" * 32).exit_code == 2
    assert sweep_cli("status", "--experiment-name", "nope").exit_code == 2
    missing = tmp_path / "none" / "mlflow.db"
    result = sweep_cli("status", "--experiment-name", "exp", "--tracking-uri", f"sqlite:///{missing}")
    assert result.exit_code == 3 and not missing.parent.exists()


def test_a_search_with_an_aggregated_objective(sweep_store, sweep_cli):
    """Random search, objective ``loss`` ``min`` over each run's history: the best is the
    configuration whose mean of per-run minima is lowest; one history request per finished
    run; no plan, so no ``missing``."""
    from mlflow.entities import Metric

    from mlflow_sweep_plugin.search.progress import log_spec
    from mlflow_sweep_plugin.search.spec import parse_search
    from sweep_status_helpers import make_child, make_parent

    client = sweep_store.client
    exp = sweep_store.create_experiment("search")
    parent_id, sweep_id = make_parent(client, exp, "rs")
    log_spec(client, parent_id, parse_search({
        "strategy": "random", "space": {"lr": {"low": 0.001, "high": 0.1, "log": True}}, "max_trials": 4,
        "max_runs": 10, "seeds": 2, "objective": {"metric": "loss", "mode": "min", "agg": "min"}}))
    histories = {("0.01", 0): [3.0, 1.0, 2.0], ("0.01", 1): [2.5, 1.5, 1.8],    # minima 1.0, 1.5
                 ("0.05", 0): [1.2, 1.1, 4.0], ("0.05", 1): [1.4, 1.3, 0.9]}    # minima 1.1, 0.9 <- best
    now = int(time.time() * 1000)
    for i, ((lr, seed), values) in enumerate(histories.items()):
        run_id = make_child(client, exp, parent_id, sweep_id, "rs", i, {"lr": lr}, "RUNNING", seed=seed,
                            trial=0 if lr == "0.01" else 1)
        client.log_batch(run_id, metrics=[Metric("loss", v, now + step, step) for step, v in enumerate(values)])
        client.set_terminated(run_id, "FINISHED")
    counting = CountingClient(sweep_store.tracking_uri)
    (found,) = find_sweeps(counting, [exp])
    assert counting.calls["get_metric_history"] == 4
    expected = statistics.fmean([min(histories[("0.05", 0)]), min(histories[("0.05", 1)])])
    assert found.best["params"] == {"lr": "0.05"} and found.best["mean"] == pytest.approx(expected)
    assert found.best["std"] == pytest.approx(statistics.stdev([1.1, 0.9]))
    assert found.runs["missing"] is None and found.matrix is None
    assert found.budget == {"max_trials": 4, "max_runs": 10, "trials": 2, "runs": 4}
    out = sweep_cli("status", "--experiment-name", "search").assert_success().stdout
    assert "strategy random" in out and "best so far: loss (min) min = 1" in out
    assert "budget: 4 run(s) of max_runs 10, 2 configuration(s) of max_trials 4" in out


@pytest.mark.parametrize("seconds, text", [(0, "0 s"), (59.9, "59 s"), (60, "1 min"), (7230, "2 h"),
                                           (3 * 86400 + 5, "3 d"), (None, "?")])
def test_ago_rounds_down_to_one_unit(seconds, text):
    from mlflow_sweep_plugin.sweep.status import ago

    assert ago(seconds) == text


def test_a_hydra_search_continues_with_the_sweepers_resume():
    from mlflow_sweep_plugin.sweep.status import hydra_command
    from mlflow_sweep_plugin.tags import TAG_HYDRA_OVERRIDES, TAG_HYDRA_SWEEP_DIR, TAG_STRATEGY

    tags = {TAG_HYDRA_OVERRIDES: "db=mysql", TAG_HYDRA_SWEEP_DIR: "/out/1", TAG_STRATEGY: "tpe"}
    assert hydra_command(tags) == "python YOUR_APP.py --multirun db=mysql hydra.sweeper.resume=true"
    assert hydra_command({TAG_HYDRA_SWEEP_DIR: "/out/1"}) == "python YOUR_APP.py --multirun hydra.sweep.dir=/out/1"


def test_a_race_skips_its_eliminated_candidates(sweep_store, sweep_cli):
    """A race over x in {1, 2, 3}, two seeds a round: after round 0, x=2 (far worse) is
    eliminated; its other seeds are skipped, not missing; the survivors miss seeds 2..5."""
    from mlflow_sweep_plugin.search.progress import log_spec
    from mlflow_sweep_plugin.search.spec import parse_search
    from sweep_status_helpers import make_child, make_parent

    client = sweep_store.client
    exp = sweep_store.create_experiment("race")
    parent_id, sweep_id = make_parent(client, exp, "race")
    log_spec(client, parent_id, parse_search({
        "grid": {"x": [1, 2, 3]}, "seeds": {"param": "seed", "values": [0, 1, 2, 3, 4, 5]},
        "race": {"initial": 2, "step": 2, "alpha": 0.05}, "objective": {"metric": "loss", "mode": "min"}}))
    values = {"1": [0.10, 0.11], "2": [5.0, 5.1], "3": [0.12, 0.14]}
    for trial, (x, losses) in enumerate(values.items()):
        for seed, loss in enumerate(losses):
            make_child(client, exp, parent_id, sweep_id, "race", 2 * trial + seed, {"x": x}, "FINISHED",
                       seed=seed, trial=trial, metrics={"loss": loss})
    sweep = status_json(sweep_cli, "--parent", parent_id)[0]
    rows = {r["params"]["x"]: r["cells"] for r in sweep["matrix"]["rows"]}
    assert rows["2"] == ["finished"] * 2 + ["skipped"] * 4
    assert rows["1"] == rows["3"] == ["finished"] * 2 + ["missing"] * 4
    assert sweep["runs"]["missing"] == 8
    assert sweep["best"]["params"] == {"x": "1"} and sweep["best"]["n"] == 2


def test_a_runs_params_as_text_and_numbers_in_six_digits():
    assert _params_text({"lr": "0.1", "depth": "2"}, seed=3) == "lr=0.1, depth=2, seed=3"
    assert _params_text({}) == "(no swept params)"
    assert (_number(1 / 3), _number(None), _number(12345678.0)) == ("0.333333", "?", "1.23457e+07")
    assert status_command.name == "status"


def test_the_sessions_of_a_resumed_hydra_study_are_one_sweep(sweep_store, sweep_cli):
    """Each multirun of a Hydra study has its own parent; status shows the study as one
    sweep (the newest parent, every session's runs, the sessions oldest first), and a
    study of the same name that did not resume stays apart."""
    from sweep_status_helpers import hydra_study

    client = sweep_store.client
    study = hydra_study(client, sweep_store.create_experiment("studies"))
    p1, p2 = study["sessions"]
    found = status_json(sweep_cli, "--sweep", "study_app")
    assert [s["parent_run_id"] for s in found] == [study["other"], p2]  # newest first
    other, resumed = found
    assert [(s["run_id"], s["state"]) for s in resumed["sessions"]] == [(p1, "KILLED"), (p2, "FINISHED")]
    assert resumed["state"] == "FINISHED"
    # every session's runs, the one the second session superseded left out
    assert resumed["runs"]["finished"] == 3 and resumed["runs"]["killed"] == 0
    assert resumed["budget"]["runs"] == 3 and resumed["budget"]["trials"] == 2
    # the best over the sessions: the configuration with all its seeds ended (lr=0.01 lacks seed 1)
    assert resumed["best"]["params"] == {"lr": "0.1", "layers": "1"} and resumed["best"]["mean"] == pytest.approx(0.6)
    assert resumed["best"]["n"] == 2
    cells = {tuple(r["params"].values()): r["cells"] for r in resumed["matrix"]["rows"]}
    assert cells[("0.1", "1")] == ["finished", "finished"] and cells[("0.01", "1")] == ["finished", "missing"]
    assert [s["run_id"] for s in other["sessions"]] == [study["other"]] and other["runs"]["finished"] == 1
    # asked by any session's parent: the whole study
    for parent in (p1, p2):
        (one,) = status_json(sweep_cli, "--parent", parent)
        assert one["parent_run_id"] == p2 and len(one["sessions"]) == 2 and one["runs"]["finished"] == 3
    out = sweep_cli("status", "--parent", p1).assert_success().stdout
    assert f"sessions: 2 (parent runs, oldest first): {p1} KILLED, {p2} FINISHED" in out
