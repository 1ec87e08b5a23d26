"""An attacker's scan: a full round of use against ``http://user:secret@127.0.0.1:<port>``
(a real loopback ``mlflow server``; MLflow sends the user-info as basic auth, which the
server ignores) leaves the word ``secret`` nowhere: not on stdout or stderr of any
command, not in the table, the report, the export cache, the spool (synced or not),
nor in any tag or param on the server.

The round: runs logged online, one of them with an artifact the server cannot serve
(so MLflow's ``API request to http://user:secret@... failed`` text reaches a warning);
``export``, ``flatten``, ``report``; ``sweep_run`` online, and one that goes offline when
the server dies mid-run (MLflow's ``... log-batch failed`` text becomes the spool's
reason), then ``sync`` once the server is back (MLflow prints "View run ... at: <URI>"
when a run ends); ``import-hydra`` of a sweep whose crashed job's log ends with an
exception quoting the URI (the ``mlflow_sweep.error`` tag).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

import pytest

from mlflow_sweep_plugin.testing import log_sweep
from mlflow_sweep_plugin.uri import redact_data, redact_text, redact_uri
from mlflow_sweep_plugin.warning_types import SweepWarning
from scale_test_helpers import tracking_uri_set_to

DATA = pathlib.Path(__file__).parent.parent / "data"
SUMMARY = {"layer": 0, "energy_contrast_ratio": 0.5, "geometry_fits": {}}
WORD = "secret"

SWEEP_RUN_SCRIPT = r"""
import os, sys, time, urllib.request
from mlflow_sweep_plugin import log_config, log_metrics, sweep_run

uri, flag = sys.argv[1], sys.argv[2]
# one run online from start to end (its end is where MLflow prints the run's URL)
with sweep_run("round", run_name="online", tracking_uri=uri) as run:
    log_config({"lr": 0.1})
    log_metrics({"loss": 1.0}, step=0)
# one run whose server dies mid-run: MLflow's failed request is the spool's reason
with sweep_run("round", run_name="offline", tracking_uri=uri) as run:
    log_config({"lr": 0.2})
    log_metrics({"loss": 1.0}, step=0)
    open(flag, "w").close()          # the test stops the server now
    while os.path.exists(flag):
        time.sleep(0.1)
    log_metrics({"loss": 0.5}, step=1)
    run.set_tag("phase", "offline")
    assert run.spooled, "the run should have gone to the spool"
print("sweep_run done", flush=True)
"""


def _env(tmp_path, uri):
    env = dict(os.environ)
    env.update({"MLFLOW_TRACKING_URI": uri, "MLFLOW_SWEEP_CACHE_DIR": str(tmp_path / "cache"),
                "MLFLOW_SWEEP_SPOOL_DIR": str(tmp_path / "spool"), "PYTHONUNBUFFERED": "1",
                "MLFLOW_SWEEP_DISABLE_PLUGINS": ""})
    for var in ("MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID"):
        env.pop(var, None)
    return env


def _run(args, env, cwd, timeout=300):
    proc = subprocess.run([sys.executable, *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)
    return proc


def _cli(env, cwd, *args):
    return _run(["-m", "mlflow_sweep_plugin", *map(str, args)], env, cwd)


def _files_with(root: pathlib.Path, word: str) -> list:
    hits = []
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            path = pathlib.Path(dirpath) / name
            if path.is_symlink():
                continue
            try:
                if word.encode() in path.read_bytes():
                    hits.append(str(path))
            except OSError:
                pass
    return hits


def _hydra_sweep(root: pathlib.Path, uri: str) -> pathlib.Path:
    sweep = root / "multirun" / "2025-11-01_10-00-00"
    shutil.copytree(DATA / "hydra_multirun", sweep)
    crashed = sweep / "1"
    (crashed / ".hydra").mkdir(parents=True)
    (crashed / ".hydra" / "overrides.yaml").write_text("- lr=0.01\n")
    (crashed / ".hydra" / "config.yaml").write_text("lr: 0.01\n")
    (crashed / ".hydra" / "hydra.yaml").write_text("hydra:\n  job:\n    name: train\n    num: 1\n")
    (crashed / "train.log").write_text(
        "[2025-11-01 10:00:01,000][__main__][INFO] - epoch 0\n"
        "Traceback (most recent call last):\n  File \"train.py\", line 9, in main\n    log()\n"
        f"mlflow.exceptions.MlflowException: API request to {uri}/api/2.0/mlflow/runs/log-batch "
        "failed with exception ConnectionError\n")
    return sweep


@pytest.mark.slow  # real processes for a minute or more: CI's slow group
@pytest.mark.server
def test_a_full_round_with_credentials_in_the_uri_leaves_them_nowhere(mlflow_server_factory, tmp_path):
    server = mlflow_server_factory()
    uri = server.url.replace("http://", f"http://user:{WORD}@")
    work = tmp_path / "work"
    work.mkdir()
    env = _env(tmp_path, uri)

    # runs logged online (plainly: what the test itself logs is not under test)
    runs = [{"params": {"i": i}, "artifacts": {"layer_0/cluster_summary.json": SUMMARY,
                                               "layer_1/cluster_summary.json": dict(SUMMARY, layer=1)}}
            for i in range(3)]
    with tracking_uri_set_to(server.url):
        sweep = log_sweep(None, runs, "round", tracking_uri=server.url)
    # one file the server cannot serve: its listing answers 500, MLflow's error quotes the URI
    broken = next(server.artifacts_dir.rglob(f"{sweep.run_ids[0]}/artifacts/layer_1/cluster_summary.json"))
    broken.unlink()
    broken.symlink_to(tmp_path / "nowhere")

    outputs = []
    export = _cli(env, work, "export", "--experiment-name", "round", "-o", work / "table.csv",
                  "--artifact", "layer_{layer}/cluster_summary.json")
    outputs.append(export)
    assert export.returncode == 0, export.stderr
    assert "could not be" in export.stderr and "http://***@127.0.0.1" in export.stderr, export.stderr
    flatten = _cli(env, work, "flatten", "--experiment-name", "round")
    outputs.append(flatten)
    assert flatten.returncode == 0, flatten.stderr
    report = _cli(env, work, "report", "--experiment-name", "round", "-o", work / "report")
    outputs.append(report)
    assert report.returncode == 0, report.stderr

    # sweep_run online, then offline when the server dies mid-run; then sync
    flag = tmp_path / "stop-the-server"
    job = subprocess.Popen([sys.executable, "-c", SWEEP_RUN_SCRIPT, uri, str(flag)], env=env,
                           cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(1200):
            if flag.exists() or job.poll() is not None:
                break
            time.sleep(0.1)
        assert flag.exists(), job.communicate(timeout=10)
        server.stop()
        flag.unlink()
        out, err = job.communicate(timeout=180)
    finally:
        if job.poll() is None:
            job.kill()
    outputs.append(subprocess.CompletedProcess(job.args, job.returncode, out, err))
    assert job.returncode == 0, err
    assert "sweep_run done" in out and "unreachable" in err, err
    server.start()
    sync = _cli(env, work, "sync", "--tracking-uri", uri)
    outputs.append(sync)
    assert sync.returncode == 0, sync.stderr
    assert "1 synced" in sync.stderr, sync.stderr
    synced = list((tmp_path / "spool" / ".synced").iterdir())
    assert len(synced) == 1 and (synced[0] / "run.json").is_file()
    assert json.loads((synced[0] / "run.json").read_text())["reason"]  # the reason is kept, masked

    hydra = _cli(env, work, "import-hydra", _hydra_sweep(tmp_path / "hydra", uri),
                 "--experiment-name", "round-hydra")
    outputs.append(hydra)
    assert hydra.returncode == 0, hydra.stderr

    # the scan
    for proc in outputs:
        assert WORD not in proc.stdout, (proc.args, proc.stdout)
        assert WORD not in proc.stderr, (proc.args, proc.stderr)
    for root in (work, tmp_path / "cache", tmp_path / "spool"):
        assert root.is_dir()
        assert _files_with(root, WORD) == [], root
    from mlflow.tracking import MlflowClient

    client = MlflowClient(server.url)
    n_runs = 0
    for exp in client.search_experiments():
        for run in client.search_runs([exp.experiment_id]):
            n_runs += 1
            text = json.dumps([run.data.tags, run.data.params, run.info.run_name])
            assert WORD not in text, (run.info.run_id, text)
    assert n_runs >= 3 + 2 + 2
    errors = [r.data.tags.get("mlflow_sweep.error", "") for r in client.search_runs(
        [client.get_experiment_by_name("round-hydra").experiment_id])]
    assert any("http://***@127.0.0.1" in e for e in errors), errors


# -- the redaction itself -------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("API request to http://user:secret@127.0.0.1:5000/api/2.0/x?path=a failed",
     "API request to http://***@127.0.0.1:5000/api/2.0/x?path=a failed"),
    ("'postgresql://u:secret@db:5432/mlflow' and mysql+pymysql://root:secret@h/db",
     "'postgresql://***@db:5432/mlflow' and mysql+pymysql://***@h/db"),
    ("http://u:p@ss@host/x", "http://***@host/x"),  # an unescaped @ in the password
    ("https://acct.blob.core.windows.net/c/b?sv=2020-01&sig=secret%3D&se=1",
     "https://acct.blob.core.windows.net/c/b?sv=2020-01&sig=***&se=1"),
    ("s3://b/k?X-Amz-Credential=AKIA%2Fx&X-Amz-Signature=secret&x=1",
     "s3://b/k?X-Amz-Credential=***&X-Amz-Signature=***&x=1"),
    ("http://h:5000/?token=secret", "http://h:5000/?token=***"),
    ("next=http%3A%2F%2Fu%3Asecret%40h%2Fx", "next=http%3A%2F%2F***%40h%2Fx"),
    # nothing to hide: unchanged
    ("sqlite:////tmp/a@b/mlflow.db", "sqlite:////tmp/a@b/mlflow.db"),
    ("mail bob@example.com about http://host:5000/x", "mail bob@example.com about http://host:5000/x"),
    ("layer_0/cluster_summary.json: expected a number, got 'x'",
     "layer_0/cluster_summary.json: expected a number, got 'x'"),
])
def test_redact_text(text, expected):
    assert redact_text(text) == expected


def test_redact_text_agrees_with_redact_uri_and_walks_data():
    for uri in ("http://user:pw@host:5000/x?token=t", "postgresql://u:pw@db/mlflow",
                "https://host/x?sig=abc&a=1"):
        assert redact_text(uri) == redact_uri(uri)
    assert redact_data({"reason": "to http://u:pw@h/x", "tags": ["http://u:pw@h"], "n": 1}) == {
        "reason": "to http://***@h/x", "tags": ["http://***@h"], "n": 1}


def test_every_warning_and_printed_line_is_redacted(capsys):
    from mlflow_sweep_plugin.console import eprint, printing_warnings
    from mlflow_sweep_plugin.errors import TrackingUnreachable
    from mlflow_sweep_plugin.failures import describe_error
    from mlflow_sweep_plugin.warning_types import warn

    w = SweepWarning.for_run("r1", "a.json", "could not be read: API request to http://u:secret@h/x failed")
    assert WORD not in str(w) and WORD not in w.message and "http://***@h/x" in str(w)
    lines = []
    with printing_warnings(lines.append):
        warn("to http://u:secret@h/x")
    assert lines == ["mlflow-sweep: warning: to http://***@h/x"]
    eprint("mlflow-sweep: error: http://u:secret@h/?token=secret")
    assert capsys.readouterr().err == "mlflow-sweep: error: http://***@h/?token=***\n"
    assert describe_error(RuntimeError("API request to http://u:secret@h/x failed\nmore")) == \
        "RuntimeError: API request to http://***@h/x failed"
    with pytest.raises(SystemExit):
        from mlflow_sweep_plugin.console import sweep_errors

        with sweep_errors():
            raise TrackingUnreachable("store http://u:secret@h is gone")
    assert WORD not in capsys.readouterr().err
