"""The Hydra sweeper's controller take-over (``SweeperStore.take_over``) on a real sqlite
store, in process: the study's other parents with a live controller refuse the sweep,
those whose multirun is gone end KILLED with the reason; without ``resume`` the study is
this parent alone."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("hydra")

from mlflow_sweep_plugin.hydra.sweeper_store import SweeperStore  # noqa: E402
from mlflow_sweep_plugin.search.controller import ControllerBusy  # noqa: E402
from mlflow_sweep_plugin.tags import (KIND_HYDRA, ROLE_PARENT, TAG_CONTROLLER_HOST, TAG_CONTROLLER_PID,  # noqa: E402
                                      TAG_ERROR, TAG_HEARTBEAT, TAG_KIND, TAG_ROLE, TAG_STRATEGY,
                                      TAG_SWEEP_NAME)


def _parent(client, exp, name="study", pid=None):
    tags = {TAG_ROLE: ROLE_PARENT, TAG_KIND: KIND_HYDRA, TAG_SWEEP_NAME: name, TAG_STRATEGY: "grid"}
    if pid is not None:
        import socket

        tags.update({TAG_CONTROLLER_HOST: socket.gethostname(), TAG_CONTROLLER_PID: str(pid),
                     TAG_HEARTBEAT: "1.0"})
    return client.create_run(exp, tags=tags).info.run_id


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def study(sweep_store, tmp_path):
    client = sweep_store.client
    exp = sweep_store.create_experiment("app")

    def store(parent_id):
        return SweeperStore({"tracking_uri": sweep_store.tracking_uri, "parent_run_id": parent_id,
                             "experiment_id": exp, "sweep_name": "study", "sweep_dir": str(tmp_path)})
    return client, exp, store


def test_a_killed_multiruns_parent_ends_killed_with_the_reason(study):
    client, exp, store = study
    old = _parent(client, exp, pid=_dead_pid())
    other_study = _parent(client, exp, name="another", pid=_dead_pid())
    new = _parent(client, exp)
    store(new).take_over(True)
    run = client.get_run(old)
    assert run.info.status == "KILLED"
    assert "was gone when the sweep was resumed by parent run " + new in run.data.tags[TAG_ERROR]
    assert client.get_run(other_study).info.status == "RUNNING"  # not this study: untouched
    assert client.get_run(new).data.tags[TAG_CONTROLLER_PID] != ""


def test_a_live_multirun_of_the_study_refuses_the_sweep(study):
    client, exp, store = study
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        old = _parent(client, exp, pid=live.pid)
        new = _parent(client, exp)
        with pytest.raises(ControllerBusy, match=f"sweep 'study' is run by a live controller .*process {live.pid}"):
            store(new).take_over(True)
        assert client.get_run(old).info.status == "RUNNING"  # nothing touched
        store(new).take_over(None)  # without resume the study is this parent alone
    finally:
        live.kill()
        live.wait()
