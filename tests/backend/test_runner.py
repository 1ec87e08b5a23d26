"""mlflow_sweep_plugin.backend.runner: one sweep run, recorded, and resumed — the runner
driven in-process (SweepBackend.prepare, then SweepSubmittedRun) with a fast entry point
(no mlflow import in the child), on a real sqlite store."""

from __future__ import annotations

import os
import sys

from mlflow_sweep_plugin.backend.project import SweepBackend
from mlflow_sweep_plugin.backend.runner import SweepRunner, SweepSubmittedRun
from mlflow_sweep_plugin.tags import (TAG_ERROR, TAG_EXECUTOR, TAG_EXIT_CODE, TAG_N_CHILDREN, TAG_N_FAILED,
                                      TAG_N_SKIPPED, TAG_ROLE, TAG_SUPERSEDED, TAG_SWEEP_INDEX)
from mlflow_sweep_plugin.testing import artifact_paths
from backend_test_helpers import code_project, local_backend_config

TRAIN = """import os, sys
code = int(sys.argv[1])
if code and not os.path.exists("fixed"):
    sys.stderr.write(f"RuntimeError: point {code} broke\\n")
    sys.exit(code)
print("ok", code)
"""


def _sweep(store, project, exp_id, **config):
    backend_config = {"grid": {"code": [0, 3]}, "sweep_name": "grid", "report": False, **local_backend_config(synchronous=False), **config}
    runner = SweepBackend.prepare(str(project), "main", {}, None, backend_config, store.tracking_uri, exp_id)
    assert isinstance(runner, SweepRunner)
    submitted = SweepSubmittedRun(runner)
    return runner, submitted, submitted.wait()


def test_a_sweep_then_its_resume(sweep_store, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    client = sweep_store.client
    project = code_project(tmp_path / "proj", TRAIN, "runner")
    exp_id = sweep_store.create_experiment("runner")

    runner, submitted, ok = _sweep(sweep_store, project, exp_id)
    assert ok is False and submitted.get_status() == "FAILED"
    parent = client.get_run(runner.parent_id)
    assert parent.info.status == "FAILED"
    assert (parent.data.tags[TAG_N_CHILDREN], parent.data.tags[TAG_N_FAILED]) == ("2", "1")
    children = {c.data.params["code"]: c for c in
                client.search_runs([exp_id], f"tags.`{TAG_ROLE}` = 'child'")}
    failed = children["3"]
    assert failed.info.status == "FAILED"
    assert failed.data.tags[TAG_ERROR] == "RuntimeError: point 3 broke"
    assert failed.data.tags[TAG_EXIT_CODE] == "3" and failed.data.tags[TAG_EXECUTOR] == "local"
    assert "logs/stderr.txt" in artifact_paths(client, failed.info.run_id)
    assert children["0"].info.status == "FINISHED"

    (project / "fixed").write_text("")
    resumed, submitted, ok = _sweep(sweep_store, project, exp_id, resume=True)
    assert ok is True and submitted.get_status() == "FINISHED"
    assert resumed.parent_id == runner.parent_id  # the same parent, reopened
    assert resumed.n_skipped == 1  # code=0 finished the first time
    assert [(c.point, c.index, c.status) for c in resumed.ran] == [({"code": "3"}, 1, "FINISHED")]
    retry = client.get_run(resumed.ran[0].run_id)
    assert retry.data.tags[TAG_SWEEP_INDEX] == "1"
    assert client.get_run(failed.info.run_id).data.tags[TAG_SUPERSEDED] == retry.info.run_id
    parent = client.get_run(runner.parent_id)
    assert parent.info.status == "FINISHED"
    assert (parent.data.tags[TAG_N_FAILED], parent.data.tags[TAG_N_SKIPPED]) == ("0", "1")
