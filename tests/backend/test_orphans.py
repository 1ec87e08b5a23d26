"""backend/orphans.py: a resumed sweep stops what its dead controller left running --
real processes (a shell with a child of its own), a real sqlite store."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import psutil
import pytest

from mlflow_sweep_plugin.backend.orphans import process_tag, stop_orphans

TREE = "sleep 120 & exec " + sys.executable + " -c 'import time; time.sleep(120)'"


@pytest.fixture
def tree():
    """A process with a child of its own, as a child run's ``bash -c`` may be; killed after."""
    proc = subprocess.Popen(["bash", "-c", TREE])
    deadline = time.monotonic() + 10
    while not psutil.Process(proc.pid).children() and time.monotonic() < deadline:
        time.sleep(0.05)
    kids = psutil.Process(proc.pid).children()
    yield proc, kids
    for p in [psutil.Process(proc.pid)] + kids if psutil.pid_exists(proc.pid) else kids:
        try:
            p.kill()
        except psutil.Error:
            pass
    proc.wait()


def _running_child(store, tags: dict):
    client = store.client
    exp = store.create_experiment("orphans")
    return client.create_run(exp, tags=tags).info.run_id


def test_a_left_process_and_its_children_are_stopped_and_the_run_killed(sweep_store, tree):
    proc, kids = tree
    assert kids  # the shell's own child
    run_id = _running_child(sweep_store, process_tag(proc.pid))
    client = sweep_store.client
    ended = stop_orphans(client, [client.get_run(run_id)], grace_s=5)
    assert ended == [run_id]
    assert proc.wait(timeout=10) is not None  # the process ended
    assert all(not k.is_running() or k.status() == psutil.STATUS_ZOMBIE for k in kids)
    run = client.get_run(run_id)
    assert run.info.status == "KILLED"
    assert run.data.tags["mlflow_sweep.error"].startswith(f"stopped on resume: process {proc.pid} was left running")


def test_a_reused_pid_is_never_touched(sweep_store, tree):
    proc, _ = tree
    tag = json.loads(process_tag(proc.pid)["mlflow_sweep.process"])
    tag["started"] -= 100  # the pid, but another process's start time
    run_id = _running_child(sweep_store, {"mlflow_sweep.process": json.dumps(tag)})
    client = sweep_store.client
    assert stop_orphans(client, [client.get_run(run_id)], grace_s=5) == [run_id]
    assert proc.poll() is None  # still running
    run = client.get_run(run_id)
    assert run.info.status == "KILLED" and "its process" in run.data.tags["mlflow_sweep.error"]


def test_a_process_on_another_host_is_left_with_a_warning(sweep_store):
    tag = json.dumps({"host": "node-17.cluster", "pid": 4242, "started": 1.0})
    run_id = _running_child(sweep_store, {"mlflow_sweep.process": tag})
    client = sweep_store.client
    with pytest.warns(UserWarning, match=f"run {run_id}: its process 4242 on host 'node-17.cluster' may still run"):
        assert stop_orphans(client, [client.get_run(run_id)]) == []
    assert client.get_run(run_id).info.status == "RUNNING"


def test_ended_runs_and_runs_without_the_tag_are_not_touched(sweep_store):
    client = sweep_store.client
    plain = _running_child(sweep_store, {})
    ended = _running_child(sweep_store, process_tag(psutil.Process().pid))
    client.set_terminated(ended, "FINISHED")
    assert stop_orphans(client, [client.get_run(plain), client.get_run(ended)]) == []
    assert client.get_run(plain).info.status == "RUNNING"
    assert client.get_run(ended).info.status == "FINISHED" and "mlflow_sweep.error" not in client.get_run(ended).data.tags


def test_the_tag_of_a_process_that_has_ended_is_empty():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert process_tag(proc.pid) == {}
