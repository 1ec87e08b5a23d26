"""mlflow_sweep_plugin.commands.import_hydra: ``mlflow-sweep import-hydra`` logs a Hydra
multirun directory once — in-process on a real sqlite store."""

from __future__ import annotations

import pathlib
import shutil

from mlflow_sweep_plugin.commands.import_hydra import import_hydra_command
from mlflow_sweep_plugin.tags import ROLE_CHILD, TAG_ROLE

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"


def test_import_then_import_again_adds_nothing(sweep_cli, sweep_store, tmp_path):
    sweep_dir = tmp_path / "multirun"
    shutil.copytree(DATA / "hydra_multirun", sweep_dir)
    before = {p: p.read_bytes() for p in sweep_dir.rglob("*") if p.is_file()}
    first = sweep_cli("import-hydra", sweep_dir, "--experiment-name", "hydra", "--no-report").assert_success()
    assert "imported 1 job(s) (0 failed), skipped 0 already logged, of 1" in first.stderr
    again = sweep_cli("import-hydra", sweep_dir, "--experiment-name", "hydra", "--no-report").assert_success()
    assert "imported 0 job(s) (0 failed), skipped 1 already logged, of 1" in again.stderr
    exp = sweep_store.client.get_experiment_by_name("hydra")
    children = sweep_store.client.search_runs([exp.experiment_id], f"tags.`{TAG_ROLE}` = '{ROLE_CHILD}'")
    assert len(children) == 1
    after = {p: p.read_bytes() for p in sweep_dir.rglob("*") if p.is_file()}
    assert {p: after[p] for p in before} == before  # the job's files are not changed
    assert {p.name for p in set(after) - set(before)} <= {".mlflow_sweep.lock"}  # only our lock is added


def test_a_directory_that_is_not_a_sweep_is_exit_2(sweep_cli, tmp_path):
    result = sweep_cli("import-hydra", tmp_path, "--experiment-name", "hydra", "--no-report")
    assert result.exit_code == 2 and "mlflow-sweep: error:" in result.stderr
    assert sweep_cli("import-hydra", tmp_path / "absent").exit_code == 2
    assert import_hydra_command.name == "import-hydra"
