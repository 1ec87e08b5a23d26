"""Fast, clean failure in every command: a dead HTTP server is exit 3 within seconds
(``flatten``, ``import-hydra``, ``demo``); ``sync`` against a server that resets or
never answers gives up in bounded time; bad output paths, bad patterns and a spool
dir that is a file are exit 2 with a message, not a traceback; Ctrl-C is exit 130."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from mlflow_sweep_plugin.testing import free_port

DATA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data")


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MLFLOW_HTTP_REQUEST_") and not k.startswith("MLFLOW_SWEEP_HTTP_")}
    env.update(extra)
    return env


def run_cli(*args, cwd, timeout=90, **env) -> tuple[subprocess.CompletedProcess, float]:
    """``python -m mlflow_sweep_plugin ARGS`` in a subprocess: (result, seconds)."""
    started = time.monotonic()
    res = subprocess.run([sys.executable, "-m", "mlflow_sweep_plugin", *map(str, args)], cwd=cwd,
                         env=_env(**env), capture_output=True, text=True, timeout=timeout)
    return res, time.monotonic() - started


class TinyServer:
    """A socket server on a free 127.0.0.1 port: ``GET /health`` is 200, every other
    request is reset (``mode="reset"``) or never answered (``mode="hang"``)."""

    def __init__(self, mode: str, health: bool = True):
        self.mode, self.health = mode, health
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.stop_event = threading.Event()
        self.connected = threading.Event()  # an API request (not /health) has arrived
        self.held: list = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self.stop_event.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        conn.settimeout(5)
        try:
            head = conn.recv(65536)
        except OSError:
            head = b""
        if self.health and head.startswith(b"GET /health"):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK")
            conn.close()
            return
        self.connected.set()
        if self.mode == "hang":
            self.held.append(conn)  # accepted, read, never answered
            return
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        conn.close()  # a reset

    def close(self):
        self.stop_event.set()
        for conn in self.held:
            conn.close()
        self.sock.close()


@pytest.fixture
def work(tmp_path, monkeypatch):
    (tmp_path / "work").mkdir()
    monkeypatch.setenv("MLFLOW_SWEEP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MLFLOW_SWEEP_SPOOL_DIR", str(tmp_path / "work" / "spool"))
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path / "work"


# -- a dead server: exit 3 within seconds ---------------------------------------------------

def test_dead_server_is_exit_3_within_seconds_in_every_command(work):
    dead = f"http://alice:s3cr3t@127.0.0.1:{free_port()}"  # nothing listens there
    shown = dead.replace("alice:s3cr3t", "***")
    sweep = work / "sweep"
    shutil.copytree(os.path.join(DATA, "hydra_multirun"), sweep)
    commands = {
        "flatten": ["flatten", "0123456789abcdef0123456789abcdef", "--tracking-uri", dead],
        "flatten --experiment-name": ["flatten", "--experiment-name", "x", "--tracking-uri", dead],
        "import-hydra": ["import-hydra", sweep, "--tracking-uri", dead],
        "demo": ["demo", "--runs", "1", "--tracking-uri", dead],
    }
    for name, args in commands.items():
        res, took = run_cli(*args, cwd=work)
        assert res.returncode == 3, (name, res.returncode, res.stderr[-3000:])
        assert took < 30, (name, took)  # MLflow's own 7 retries take minutes
        assert shown in res.stderr and "unreachable" in res.stderr, (name, res.stderr[-2000:])
        assert "s3cr3t" not in res.stderr + res.stdout, name
        assert "Traceback" not in res.stderr, (name, res.stderr[-3000:])


def _spool_for(uri: str, with_run: bool):
    from mlflow_sweep_plugin.tracking.spool import Spool

    meta = {"experiment_id": "0", "tracking_uri": uri}
    if with_run:
        meta["run_id"] = "0123456789abcdef0123456789abcdef"
    spool = Spool.create(None, meta)
    spool.log_batch(metrics=[("loss", 0.5, 1_700_000_000_000, 0)])
    spool.end("FINISHED")
    return spool


@pytest.mark.parametrize("mode", ["reset", "hang"])
def test_sync_gives_up_on_a_server_that_resets_or_never_answers(work, mode):
    server = TinyServer(mode)
    try:
        spools = [_spool_for(server.url, with_run=True), _spool_for(server.url, with_run=False)]
        # a server that never answers is given up after the fail-fast timeout (default 30 s,
        # set short here), tried twice; one that resets, at once
        res, took = run_cli("sync", cwd=work, timeout=120, MLFLOW_SWEEP_HTTP_TIMEOUT="2")
    finally:
        server.close()
    assert server.connected.is_set()  # the health probe passed: the API calls were refused
    assert res.returncode == 3, (res.returncode, res.stderr[-3000:])
    assert took < 40, took  # MLflow's own retries ran past 200 s
    assert f"tracking store {server.url} is unreachable" in res.stderr, res.stderr[-2000:]
    assert "kept" in res.stderr and "Traceback" not in res.stderr
    for spool in spools:  # nothing lost
        assert (spool.path / "run.json").exists()


def test_sync_spool_dir_that_is_a_file_is_exit_2(work):
    (work / "file").write_text("x")
    res, _ = run_cli("sync", "--spool-dir", work / "file", cwd=work)
    assert res.returncode == 2, res.stderr
    assert "is not a directory" in res.stderr and "Traceback" not in res.stderr


# -- bad input: exit 2 with a message ---------------------------------------------------------

@pytest.fixture
def one_run(make_sweep):
    return make_sweep([{"params": {"lr": "0.1"}, "artifacts": {"notes.txt": "x"}}])


def test_bad_output_paths_are_exit_2(one_run, sweep_cli, tmp_path):
    (tmp_path / "a_dir").mkdir()
    (tmp_path / "a_file").write_text("x")
    cases = {
        "a directory": (tmp_path / "a_dir", "is a directory"),
        "a parent that is a file": (tmp_path / "a_file" / "out.csv", "is not a directory"),
        "a parent under a file": (tmp_path / "a_file" / "sub" / "out.csv", "is not a directory"),
        "under /proc": ("/proc/mlflow-sweep-out.csv", "cannot write"),
    }
    for name, (output, says) in cases.items():
        if name == "under /proc" and not os.path.isdir("/proc/self"):
            continue
        res = sweep_cli("export", "--experiment-name", "sweep", "-o", output)
        assert res.exit_code == 2, (name, res.exit_code, res.stderr, res.exception)
        assert res.exception is None and says in res.stderr, (name, res.stderr)
    assert (tmp_path / "a_file").read_text() == "x"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root ignores permissions (the parent-is-a-file and /proc cases cover it)")
def test_unwritable_output_directory_is_exit_2(one_run, sweep_cli, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        res = sweep_cli("export", "--experiment-name", "sweep", "-o", locked / "out.csv")
    finally:
        locked.chmod(0o700)
    assert res.exit_code == 2 and "no permission to write" in res.stderr, res.stderr


@pytest.mark.parametrize("pattern, says", [("", "empty pattern"), ("a/{x", "does not parse"),
                                           ("a}/b.json", "does not parse"), ("/abs.json", "matches no artifact"),
                                           ("{a}/{a}.json", "appears twice")])
def test_bad_artifact_patterns_are_exit_2_naming_them(one_run, sweep_cli, pattern, says):
    for command in ("export", "report"):
        res = sweep_cli(command, "--experiment-name", "sweep", "--artifact", pattern)
        assert res.exit_code == 2, (command, res.exit_code, res.stderr, res.exception)
        assert says in res.stderr and repr(pattern) in res.stderr, (command, res.stderr)


# -- Ctrl-C: exit 130, no traceback ------------------------------------------------------------

def test_sigint_is_exit_130_without_a_traceback(work):
    server = TinyServer("hang", health=False)  # accepts, reads, never answers
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlflow_sweep_plugin", "export", "--experiment-name", "x",
             "--tracking-uri", server.url], cwd=work, env=_env(), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        try:
            assert server.connected.wait(60), "the export never called the server"
            time.sleep(0.3)
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    finally:
        server.close()
    assert proc.returncode == 130, (proc.returncode, err[-3000:])
    assert "Traceback" not in err and "interrupted" in err, err[-3000:]


def test_keyboard_interrupt_in_a_command_is_130(one_run, sweep_cli, monkeypatch):
    import mlflow_sweep_plugin.export as export_pkg

    def interrupted(**_):
        raise KeyboardInterrupt

    monkeypatch.setattr(export_pkg, "export_sweep", interrupted)
    res = sweep_cli("export", "--experiment-name", "sweep")
    assert res.exit_code == 130 and "interrupted" in res.stderr, (res.exit_code, res.stderr)


@pytest.mark.parametrize("command", ["export", "report"])
def test_an_unexpected_error_is_exit_4_with_its_traceback_masked(one_run, sweep_cli, monkeypatch, command):
    import mlflow_sweep_plugin.export as export_pkg

    secret = "hunter2-never-printed"

    def broken(**_):
        raise RuntimeError(f"could not reach postgresql://admin:{secret}@db.internal:5432/mlflow")

    monkeypatch.setattr(export_pkg, "export_sweep", broken)
    res = sweep_cli(command, "--experiment-name", "sweep")
    assert res.exit_code == 4, (res.exit_code, res.stderr, res.exception)
    assert "Traceback (most recent call last)" in res.stderr
    assert "error: unexpected RuntimeError" in res.stderr
    assert "postgresql://***@db.internal:5432/mlflow" in res.stderr
    assert secret not in res.stderr + res.stdout
