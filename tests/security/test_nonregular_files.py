"""A FIFO, a socket or a device where a parser's pattern matches is not read: one
warning naming the run and the path, never a reader blocked in ``open()``."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from mlflow_sweep_plugin.export.paths import local_path_of
from mlflow_sweep_plugin.export.readers import LocalArtifactReader, NotRegularFile

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX only")


def _unblock_later(fifo: str, after: float = 5.0) -> threading.Thread:
    """Open the FIFO for writing after ``after`` seconds, so that a reader blocked in
    ``open()`` (the bug) returns and the test fails instead of hanging."""

    def run():
        time.sleep(after)
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            return  # nobody is blocked on it: the fix works
        os.close(fd)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_fifo_in_a_run_is_one_warning_and_never_blocks(make_sweep, sweep_exporter):
    sweep = make_sweep([{"artifacts": {"notes.txt": "x"}}, {"artifacts": {"notes.txt": "y"}}])
    run_id = sweep.run_ids[0]
    root = local_path_of(sweep.store.client.get_run(run_id).info.artifact_uri)
    os.makedirs(os.path.join(root, "layer_0"))
    fifo = os.path.join(root, "layer_0", "cluster_summary.json")
    os.mkfifo(fifo)
    _unblock_later(fifo)
    started = time.monotonic()
    result = sweep_exporter(cache=False)
    assert time.monotonic() - started < 4.5, "the reader blocked on the FIFO"
    assert set(result.df["run_id"]) == set(sweep.run_ids)  # no run lost its row
    ours = [w for w in result.warnings if w.run_id == run_id]
    assert len(ours) == 1, [str(w) for w in result.warnings]
    text = str(ours[0])
    assert run_id in text and "layer_0/cluster_summary.json" in text
    assert "not a regular file" in text and "FIFO" in text
    assert not [w for w in result.warnings if w.run_id == sweep.run_ids[1]]


def test_local_reader_refuses_fifo_socket_and_device(tmp_path):
    root = tmp_path / "artifacts"
    root.mkdir()
    os.mkfifo(root / "pipe.json")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock_path = root / "sock.json"
    try:
        sock.bind(str(sock_path))
    except OSError:  # pragma: no cover - path too long for AF_UNIX
        sock_path = None
    os.symlink("/dev/zero", root / "zero.json")  # a device, through a link inside the root
    (root / "ok.json").write_text("{}")
    reader = LocalArtifactReader(str(root))
    _unblock_later(str(root / "pipe.json"))
    with pytest.raises(NotRegularFile, match="FIFO"):
        reader.read("pipe.json")
    if sock_path is not None:
        with pytest.raises(NotRegularFile, match="socket"):
            reader.read("sock.json")
    sock.close()
    # /dev/zero lies outside the root: refused either way, never read (it has no end)
    with pytest.raises(ValueError):
        reader.read("zero.json")
    assert reader.read("ok.json") == b"{}"
    assert reader.read_errors == 0  # not a failed fetch: a file that is not one


def test_device_inside_the_root_is_refused(tmp_path, monkeypatch):
    """A character device reached inside the run's root (here: the root is /dev)."""
    if not os.path.exists("/dev/zero"):  # pragma: no cover
        pytest.skip("no /dev/zero")
    reader = LocalArtifactReader("/dev")
    with pytest.raises(NotRegularFile, match="character device"):
        reader.read("zero")
