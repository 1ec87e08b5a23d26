"""One controller per sweep, the lock on the parent run of a real sqlite store; the
spec and the best so far on the parent."""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from mlflow_sweep_plugin.search import controller as ctl
from mlflow_sweep_plugin.search.engine import Engine
from mlflow_sweep_plugin.search.progress import log_best, log_pruned, log_spec
from mlflow_sweep_plugin.search.spec import parse_search
from mlflow_sweep_plugin.tags import (SPEC_ARTIFACT, TAG_CONTROLLER_HOST, TAG_CONTROLLER_PID,
                                      TAG_HEARTBEAT, TAG_N_PRUNED, TAG_STRATEGY)


@pytest.fixture
def parent(sweep_store):
    client = sweep_store.client
    exp = sweep_store.create_experiment("search")
    return client, client.create_run(exp).info.run_id


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def record(client, run_id, host, pid, beat):
    client.set_tag(run_id, TAG_CONTROLLER_HOST, host)
    client.set_tag(run_id, TAG_CONTROLLER_PID, str(pid))
    client.set_tag(run_id, TAG_HEARTBEAT, repr(beat))


def test_a_fresh_sweep_is_claimed_and_recorded(parent):
    client, run_id = parent
    mine = ctl.claim(client, run_id, "s", settle_s=0)
    tags = client.get_run(run_id).data.tags
    assert (tags[TAG_CONTROLLER_HOST], tags[TAG_CONTROLLER_PID]) == (socket.gethostname(), str(os.getpid()))
    assert ctl.recorded(tags) is not None and ctl.is_alive(ctl.recorded(tags))
    assert mine.pid == os.getpid()
    ctl.claim(client, run_id, "s", settle_s=0)  # the same process again: fine


def test_a_live_controller_on_this_host_is_never_taken_over(parent):
    client, run_id = parent
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        record(client, run_id, socket.gethostname(), live.pid, time.time() - 3600)  # old beat: still alive
        with pytest.raises(ctl.ControllerBusy) as info:
            ctl.claim(client, run_id, "my sweep", settle_s=0)
        assert f"host {socket.gethostname()}, process {live.pid}" in str(info.value)
        assert info.value.exit_code == 2
    finally:
        live.kill()
        live.wait()


def test_a_dead_controller_on_this_host_is_taken_over_at_once(parent):
    client, run_id = parent
    record(client, run_id, socket.gethostname(), dead_pid(), time.time())
    ctl.claim(client, run_id, "s", settle_s=0)
    assert client.get_run(run_id).data.tags[TAG_CONTROLLER_PID] == str(os.getpid())


def test_another_hosts_controller_counts_as_alive_until_its_heartbeat_is_stale(parent):
    client, run_id = parent
    record(client, run_id, "other-node", 4242, time.time())
    with pytest.raises(ctl.ControllerBusy, match="host other-node, process 4242"):
        ctl.claim(client, run_id, "s", settle_s=0)
    record(client, run_id, "other-node", 4242, time.time() - ctl.STALE_AFTER_S - 1)
    ctl.claim(client, run_id, "s", settle_s=0)


@pytest.mark.slow
def test_two_claims_at_once_one_wins(parent):
    client, run_id = parent
    script = ("import sys; from mlflow.tracking import MlflowClient; "
              "from mlflow_sweep_plugin.search import controller as c\n"
              "try:\n    c.claim(MlflowClient(sys.argv[1]), sys.argv[2], 's', settle_s=1.0); print('won')\n"
              "except c.ControllerBusy as e:\n    print('busy')\n"
              "import time; time.sleep(2)")
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    procs = [subprocess.Popen([sys.executable, "-c", script, client.tracking_uri, run_id],
                              stdout=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    outs = sorted(p.communicate(timeout=120)[0].strip() for p in procs)
    assert outs == ["busy", "won"]


def test_the_heartbeat_thread_renews_the_heartbeat_until_it_ends(parent):
    client, run_id = parent
    client.set_tag(run_id, TAG_HEARTBEAT, "0.0")
    with ctl.Heartbeat(client, run_id, every_s=0.05):
        deadline = time.time() + 30
        while float(client.get_run(run_id).data.tags[TAG_HEARTBEAT]) == 0.0 and time.time() < deadline:
            time.sleep(0.05)
    last = float(client.get_run(run_id).data.tags[TAG_HEARTBEAT])
    assert last > 0.0
    time.sleep(0.2)
    assert float(client.get_run(run_id).data.tags[TAG_HEARTBEAT]) == last  # the thread has ended


def test_spec_and_best_so_far_on_the_parent(parent):
    client, run_id = parent
    spec = parse_search({"grid": {"lr": [0.1, 0.01]}, "objective": {"metric": "val_loss"}})
    log_spec(client, run_id, spec, entry_point="main", params={"epochs": "3"})
    engine = Engine(spec)
    for step, value in enumerate((2.0, 1.0)):
        p = engine.propose()
        assert engine.record(p.index, "FINISHED", [(0, 0, value)], run_id=f"r{step}")
        log_best(client, run_id, engine, step)
    log_pruned(client, run_id, engine)
    run = client.get_run(run_id)
    assert run.data.tags[TAG_STRATEGY] == "grid" and run.data.tags["mlflow_sweep.best.lr"] == "0.01"
    assert run.data.tags[TAG_N_PRUNED] == "0"
    history = client.get_metric_history(run_id, "mlflow_sweep.best.val_loss")
    assert [(m.step, m.value) for m in history] == [(0, 2.0), (1, 1.0)]
    path = client.download_artifacts(run_id, SPEC_ARTIFACT)
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    assert data["grid"] == {"lr": [0.1, 0.01]} and data["entry_point"] == "main"
    assert parse_search({k: v for k, v in data.items() if k not in ("entry_point", "params")}).to_dict() \
        == spec.to_dict()
