"""A SQL tracking store that is not there: every command is exit 3 in seconds, naming the
URI without its credentials, instead of MLflow's ~110 s of retries and a SQLAlchemy
traceback; ``sweep_run`` goes to the spool.

Nothing listens on 127.0.0.1:1. The commands run as real processes with a deadline far
below MLflow's retry loop (a regression is a ``TimeoutExpired``, not a slow pass).
"""

from __future__ import annotations

import os
import pathlib
import shutil
import socket
import subprocess
import sys
import threading

import pytest

from mlflow_sweep_plugin.failures import is_database_uri, probe_database, refused_driver, require_reachable
from mlflow_sweep_plugin.errors import TrackingUnreachable, UsageError

DATA = pathlib.Path(__file__).parent.parent / "data"
DEAD = "postgresql://u:secret@127.0.0.1:1/db"
DEADLINE = 60  # seconds; MLflow's own loop takes ~110 s


def _env(tmp_path, **extra):
    env = dict(os.environ)
    env.update({"MLFLOW_SWEEP_CACHE_DIR": str(tmp_path / "cache"),
                "MLFLOW_SWEEP_SPOOL_DIR": str(tmp_path / "spool")})
    env.pop("MLFLOW_TRACKING_URI", None)
    env.update(extra)
    return env


def _cli(tmp_path, *args, env=None):
    return subprocess.run([sys.executable, "-m", "mlflow_sweep_plugin", *map(str, args)],
                          env=env or _env(tmp_path), cwd=tmp_path, capture_output=True, text=True,
                          timeout=DEADLINE)


def _assert_exit_3(proc, uri_shown="postgresql://***@127.0.0.1:1/db"):
    assert proc.returncode == 3, (proc.args, proc.stdout, proc.stderr)
    assert f"tracking store {uri_shown} is unreachable" in proc.stderr, proc.stderr
    assert "secret" not in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr


def _spool(tmp_path, uri=DEAD):
    """A run spooled because the SQL store was not there when it started."""
    from mlflow_sweep_plugin import log_metrics, sweep_run
    from mlflow_sweep_plugin.tracking.run import SpoolWarning

    with pytest.warns(SpoolWarning, match=r"postgresql://\*\*\*@127\.0\.0\.1:1/db is unreachable") as caught:
        with sweep_run("dead-sql", tracking_uri=uri, spool_dir=tmp_path / "spool") as run:
            log_metrics({"loss": 1.0}, step=0)
    assert run.spooled
    assert all("secret" not in str(w.message) for w in caught)
    return run


@pytest.mark.parametrize("command", [
    ["export", "--experiment-name", "x", "-o", "out.csv"],
    ["flatten", "--experiment-name", "x"],
    ["flatten", "0123456789abcdef"],
    ["report", "--experiment-name", "x", "-o", "report"],
    ["demo", "--runs", "1"],
])
def test_every_command_is_exit_3_in_seconds(tmp_path, command):
    proc = _cli(tmp_path, *command, "--tracking-uri", DEAD)
    _assert_exit_3(proc)
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "report").exists()


def test_from_the_environment_too(tmp_path):
    proc = _cli(tmp_path, "export", "--experiment-name", "x",
                env=_env(tmp_path, MLFLOW_TRACKING_URI=DEAD))
    _assert_exit_3(proc)


def test_import_hydra(tmp_path):
    sweep = tmp_path / "multirun" / "sweep"
    shutil.copytree(DATA / "hydra_multirun", sweep)
    proc = _cli(tmp_path, "import-hydra", sweep, "--experiment-name", "x", "--tracking-uri", DEAD)
    _assert_exit_3(proc)


def test_sweep_run_spools_and_sync_is_exit_3(tmp_path):
    run = _spool(tmp_path)
    proc = _cli(tmp_path, "sync", "--spool-dir", tmp_path / "spool", "--tracking-uri", DEAD)
    _assert_exit_3(proc)
    assert f"spool {run.spool_path.name} kept" in proc.stderr
    assert run.spool_path.is_dir()
    assert b"secret" not in (run.spool_path / "run.json").read_bytes()


@pytest.fixture
def silent_server():
    """A TCP port that accepts connections and never says a word (a firewall that
    swallows packets, a database host that hangs): only a connect timeout ends a wait."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held, stop = [], threading.Event()

    def accept():
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    sock.close()


def test_a_server_that_never_answers_is_bounded_by_the_connect_timeout(tmp_path, silent_server):
    from mlflow_sweep_plugin.testing import mlflow_postgres_driver

    driver = mlflow_postgres_driver()  # psycopg 3 on MLflow 3.x, psycopg2 on 2.x
    pytest.importorskip(driver)
    # the driver named: postgresql:// alone is psycopg2 before SQLAlchemy 2.1 (MLflow 2.x's)
    uri = f"postgresql+{driver}://u:secret@127.0.0.1:{silent_server}/db"
    proc = _cli(tmp_path, "export", "--experiment-name", "x", "--tracking-uri", uri,
                env=_env(tmp_path, MLFLOW_SWEEP_DB_CONNECT_TIMEOUT="2"))
    _assert_exit_3(proc, f"postgresql+{driver}://***@127.0.0.1:{silent_server}/db")


def test_psycopg_3_on_mlflow_2_is_exit_2_before_any_query():
    """MLflow 2.x's SQL store cannot run on psycopg 3 (its first query fails): refused up
    front naming the driver that works, without credentials; MLflow 3 uses it."""
    from mlflow_sweep_plugin.testing import mlflow_major

    uri = "postgresql+psycopg://u:secret@127.0.0.1:1/db"
    assert refused_driver("postgresql+psycopg2://u:secret@127.0.0.1:1/db") is None
    assert refused_driver("sqlite:///mlflow.db") is None
    if mlflow_major() >= 3:
        assert refused_driver(uri) is None
        return
    assert "use postgresql+psycopg2://" in refused_driver(uri)
    with pytest.raises(UsageError) as info:
        require_reachable(uri)
    assert info.value.exit_code == 2 and "secret" not in str(info.value) and "***@127.0.0.1:1" in str(info.value)


def test_a_database_driver_that_is_not_installed_is_exit_2_naming_it(tmp_path, silent_server):
    import importlib.util

    if importlib.util.find_spec("MySQLdb") is not None:
        pytest.skip("MySQLdb is installed here")
    uri = f"mysql://u:secret@127.0.0.1:{silent_server}/db"  # a server is there: only the driver is not
    proc = _cli(tmp_path, "export", "--experiment-name", "x", "--tracking-uri", uri,
                env=_env(tmp_path, MLFLOW_SWEEP_DB_CONNECT_TIMEOUT="2"))
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert f"the database driver for mysql://***@127.0.0.1:{silent_server}/db is not installed" in proc.stderr
    assert "No module named 'MySQLdb'" in proc.stderr and "Traceback" not in proc.stderr
    assert "secret" not in proc.stderr + proc.stdout


@pytest.mark.parametrize("uri", ["mysql://u:secret@127.0.0.1:1/db", "mysql+pymysql://u:secret@127.0.0.1:1/db",
                                 "mssql+pyodbc://u:secret@127.0.0.1:1/db", DEAD,
                                 "postgresql+psycopg://u:secret@127.0.0.1:1/db"])
def test_probe_database(uri):
    """With the driver installed a real connection, without it a TCP connection: either
    way the reason, without credentials, in seconds."""
    assert is_database_uri(uri)
    reason = probe_database(uri, timeout=2)
    assert reason and "secret" not in reason and "refused" in reason.lower(), reason
    if refused_driver(uri):
        pytest.skip("MLflow 2.x: psycopg 3 is refused before the probe (test_psycopg_3_on_mlflow_2_...)")
    with pytest.raises(TrackingUnreachable) as info:
        require_reachable(uri)
    assert info.value.exit_code == 3 and "secret" not in str(info.value) and "***@127.0.0.1:1" in str(info.value)


@pytest.mark.parametrize("uri", ["sqlite:///mlflow.db", "http://127.0.0.1:1", "file:///tmp/x", "databricks", ""])
def test_other_stores_are_not_probed_here(uri):
    assert not is_database_uri(uri)
    assert probe_database(uri) is None
    assert require_reachable(uri) == uri
