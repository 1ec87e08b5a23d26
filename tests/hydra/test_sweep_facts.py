"""A sweep's name, sweeper and overrides from every record its directory holds."""

from __future__ import annotations

import yaml

from mlflow_sweep_plugin.hydra.record import read_record, write_record
from mlflow_sweep_plugin.hydra.sweep_facts import SweepFacts, from_hydra, read_sweep_facts

BASIC = {"job": {"name": "sphere"}, "runtime": {"choices": {"hydra/sweeper": "basic"}},
         "overrides": {"task": ["x=1,2"]}}


def _job(root, num, hydra):
    (root / str(num) / ".hydra").mkdir(parents=True)
    (root / str(num) / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump({"hydra": hydra}))
    return str(root / str(num))


def test_from_hydra_choice_else_the_sweeper_class():
    assert from_hydra(BASIC) == SweepFacts(job_name="sphere", sweeper="basic", overrides=["x=1,2"])
    optuna = {"job": {"name": "s"}, "sweeper": {"_target_": "hydra_plugins.x.OptunaSweeper"}}
    assert from_hydra(optuna).sweeper == "OptunaSweeper"
    assert from_hydra(BASIC, with_overrides=False).overrides is None
    assert from_hydra("not a dict") == SweepFacts()


def test_jobs_tell_what_no_multirun_yaml_tells(tmp_path):
    """(Optuna's sweeper writes no multirun.yaml; a job's own overrides are not the sweep's)"""
    jobs = [_job(tmp_path, 0, {"job": {"name": "sphere"}, "runtime": {"choices": {"hydra/sweeper": "optuna"}},
                               "overrides": {"task": ["x=0.3"]}})]
    facts = read_sweep_facts(str(tmp_path), None, jobs, [])
    assert facts == SweepFacts(job_name="sphere", sweeper="optuna")


def test_the_callback_s_record_comes_first_then_multirun_yaml(tmp_path):
    (tmp_path / "multirun.yaml").write_text(yaml.safe_dump({"hydra": BASIC}))
    jobs = [_job(tmp_path, 0, {"job": {"name": "other"}})]
    assert read_sweep_facts(str(tmp_path), None, jobs, []) == from_hydra(BASIC)
    write_record(str(tmp_path), {"parent_run_id": "p", "sweep_id": "s", "sweep_name": "mine"},
                 experiment_name="exp", sweeper="optuna", overrides=["a=1", "token=***"])
    facts = read_sweep_facts(str(tmp_path), read_record(str(tmp_path)), jobs, [])
    assert facts == SweepFacts(job_name="sphere", sweeper="optuna", overrides=["a=1", "token=***"],
                               sweep_name="mine", experiment_name="exp")


def test_a_bad_multirun_yaml_is_a_problem_not_an_error(tmp_path):
    (tmp_path / "multirun.yaml").write_text("hydra: [unclosed")
    problems = []
    assert read_sweep_facts(str(tmp_path), None, [], problems) == SweepFacts()
    assert problems and "multirun.yaml" in problems[0]
