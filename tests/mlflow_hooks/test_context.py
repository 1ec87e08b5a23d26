"""The ``mlflow.run_context_provider`` entry point: sweep tags on runs a job creates
when the sweep environment is set, nothing otherwise, and never a broken ``import mlflow``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from mlflow_sweep_plugin.mlflow_hooks.context import SweepRunContextProvider, sweep_tags

SWEEP_ENV = {"MLFLOW_SWEEP_ID": "abc123", "MLFLOW_SWEEP_INDEX": "7",
             "MLFLOW_SWEEP_PARENT_RUN_ID": "0" * 32, "MLFLOW_SWEEP_NAME": "my sweep"}


def test_sweep_tags_from_environment():
    assert sweep_tags({}) == {}
    assert sweep_tags(SWEEP_ENV) == {"mlflow_sweep.sweep_id": "abc123", "mlflow_sweep.index": "7",
                                     "mlflow_sweep.sweep_name": "my sweep",
                                     "mlflow.parentRunId": "0" * 32}


def test_provider_is_registered_with_mlflow():
    from mlflow.tracking.context.registry import _run_context_provider_registry

    assert any(isinstance(p, SweepRunContextProvider) for p in _run_context_provider_registry)


def test_start_run_is_tagged_only_inside_a_sweep(sweep_store, monkeypatch):
    import mlflow

    mlflow.set_experiment("ctx")
    parent = sweep_store.client.create_run(mlflow.get_experiment_by_name("ctx").experiment_id)
    with mlflow.start_run() as run:
        pass
    tags = sweep_store.client.get_run(run.info.run_id).data.tags
    assert not any(k.startswith("mlflow_sweep.") for k in tags) and "mlflow.parentRunId" not in tags

    for key, value in dict(SWEEP_ENV, MLFLOW_SWEEP_PARENT_RUN_ID=parent.info.run_id).items():
        monkeypatch.setenv(key, value)
    with mlflow.start_run() as run:
        pass
    tags = sweep_store.client.get_run(run.info.run_id).data.tags
    assert tags["mlflow_sweep.sweep_id"] == "abc123"
    assert tags["mlflow_sweep.index"] == "7"
    assert tags["mlflow.parentRunId"] == parent.info.run_id
    # a nested run keeps the parent the user asked for; the sweep tags still apply
    with mlflow.start_run() as outer:
        with mlflow.start_run(nested=True) as inner:
            pass
    tags = sweep_store.client.get_run(inner.info.run_id).data.tags
    assert tags["mlflow.parentRunId"] == outer.info.run_id
    assert tags["mlflow_sweep.sweep_id"] == "abc123"


# A sitecustomize that makes reading any MLFLOW_SWEEP_* variable raise inside the
# provider (os.environ replaced by a mapping that fails for those keys), so the
# provider's own code raises while MLflow resolves a new run's tags.
FAULTY_ENVIRON = r'''
import os
from collections.abc import MutableMapping

FAIL = ["MLFLOW_SWEEP_"]  # the probe changes it between runs


def _from_our_code():
    import sys
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals.get("__name__", "").startswith("mlflow_sweep_plugin"):
            return True
        frame = frame.f_back
    return False


class FaultyEnviron(MutableMapping):
    def __init__(self, real):
        self._real = real
    def __getitem__(self, key):
        # only our provider's reads fail: other libraries may walk the whole environment
        # at import time (tqdm does, under mlflow.genai)
        if any(str(key).startswith(p) for p in FAIL) and _from_our_code():
            raise RuntimeError("injected fault reading " + str(key))
        return self._real[key]
    def __setitem__(self, key, value):
        self._real[key] = value
    def __delitem__(self, key):
        del self._real[key]
    def __iter__(self):
        return iter(self._real)
    def __len__(self):
        return len(self._real)
    def copy(self):
        return dict(self._real)


os.environ = FaultyEnviron(os.environ)
'''

PROBE = r'''
import json, sys
import sitecustomize
import mlflow
from mlflow.tracking.context.registry import _run_context_provider_registry as reg
ours = [p for p in reg if type(p).__name__ == "SweepRunContextProvider"]
mlflow.set_experiment("faulty")
out = {"registered": len(ours), "runs": []}
# every sweep variable raising (in_context fails), then only the index (tags fails)
for fail in (["MLFLOW_SWEEP_"], ["MLFLOW_SWEEP_INDEX"]):
    sitecustomize.FAIL[:] = fail
    with mlflow.start_run() as run:
        mlflow.log_param("a", 1)
    got = mlflow.get_run(run.info.run_id)
    out["runs"].append([got.info.status, sorted(k for k in got.data.tags if k.startswith("mlflow_sweep."))])
print(json.dumps(out))
'''


def test_import_mlflow_and_start_run_survive_a_raising_provider(sweep_store, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(FAULTY_ENVIRON)
    # create the database and experiment first: MLflow's own first-use messages aside,
    # the probe must print nothing (MLflow would log a warning if the provider raised)
    sweep_store.create_experiment("faulty")
    env = dict(os.environ, PYTHONPATH=str(site), MLFLOW_TRACKING_URI=sweep_store.tracking_uri,
               **SWEEP_ENV)
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=180)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)  # nothing printed but the probe's line
    assert out["registered"] == 1
    # in_context() or tags() raised inside the provider: no sweep tags, nothing else lost
    assert out["runs"] == [["FINISHED", []], ["FINISHED", []]]
    assert proc.stderr == "", proc.stderr  # no warning, no traceback


def test_provider_registers_when_its_module_is_imported_before_mlflow():
    code = ("import warnings; warnings.simplefilter('error')\n"
            "import mlflow_sweep_plugin.mlflow_hooks.context\n"
            "import mlflow\n"
            "from mlflow.tracking.context.registry import _run_context_provider_registry as r\n"
            "print(sum(type(p).__name__ == 'SweepRunContextProvider' for p in r))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["1"]
    assert "Failure attempting to register context provider" not in proc.stderr
