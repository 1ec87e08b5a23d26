"""The output of a sweep backend child: still on the console, and its tail kept for MLflow.

MLflow's local backend starts the entry point with ``subprocess.Popen`` and no
``stdout``/``stderr``, so the child writes to the file descriptors 1 and 2 of the
process running ``mlflow run``. While a child is started (under the backend's lock, in
the one thread that starts children) :func:`capturing_output` points descriptors 1 and
2 at pipes; the child inherits them, and the process gets its own descriptors back
before MLflow's call returns. A thread per pipe copies what the child writes to the
real stdout/stderr as it comes and keeps its last lines: :class:`OutputTail`, whose
``lines`` tell why a child failed (``mlflow_sweep.error``, ``logs/stderr.txt``).

Only on POSIX; elsewhere, or if anything about the descriptors fails, the child writes
to the console as before and nothing is kept.
"""

from __future__ import annotations

import collections
import contextlib
import os
import sys
import threading

TAIL_LINES = 200
_MAX_LINE_BYTES = 64 * 1024


class OutputTail:
    """One pipe: what comes in is written to ``target_fd`` and its last lines kept."""

    def __init__(self, target_fd: int, max_lines: int = TAIL_LINES):
        self.lines: collections.deque = collections.deque(maxlen=max_lines)
        self._target = os.dup(target_fd)
        self.read_fd, self.write_fd = os.pipe()
        self._thread = threading.Thread(target=self._pump, name="mlflow-sweep-output", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        pending = b""
        try:
            while True:
                try:
                    chunk = os.read(self.read_fd, 65536)
                except InterruptedError:
                    continue
                if not chunk:
                    break
                self._copy(chunk)
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for line in complete:
                    self.lines.append(line.decode("utf-8", "replace").rstrip("\r"))
                if len(pending) > _MAX_LINE_BYTES:  # no line end in sight (binary output)
                    self.lines.append(pending.decode("utf-8", "replace"))
                    pending = b""
            if pending:
                self.lines.append(pending.decode("utf-8", "replace").rstrip("\r"))
        finally:
            for fd in (self.read_fd, self._target):
                with contextlib.suppress(OSError):
                    os.close(fd)

    def _copy(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = os.write(self._target, view)
            except InterruptedError:
                continue
            except OSError:
                return  # the console went away: keep the tail anyway
            view = view[n:]

    def close_writer(self) -> None:
        """Drop our copy of the pipe's write end (the child holds its own)."""
        if self.write_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.write_fd)
            self.write_fd = None

    def finish(self, timeout: float = 10.0) -> list[str]:
        """The last lines, once the child (and whatever it started that still holds the
        pipe) is done writing, or after ``timeout`` seconds."""
        self.close_writer()
        self._thread.join(timeout)
        return list(self.lines)


@contextlib.contextmanager
def capturing_output():
    """Inside, processes started get pipes as stdout and stderr; yields ``(out, err)``
    :class:`OutputTail` objects, or ``(None, None)`` when output cannot be captured.
    Call it where nothing else of this process writes to the console meanwhile."""
    if os.name != "posix":
        yield None, None
        return
    out = err = None
    try:
        out = OutputTail(1)
        err = OutputTail(2)
    except OSError:
        if out is not None:
            out.close_writer()  # its thread ends at the pipe's end
        yield None, None
        return
    saved = []
    try:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        saved = [os.dup(1), os.dup(2)]
        os.dup2(out.write_fd, 1)
        os.dup2(err.write_fd, 2)
    except OSError:
        for fd, target in zip(saved, (1, 2)):
            with contextlib.suppress(OSError):
                os.dup2(fd, target)
                os.close(fd)
        out.close_writer()
        err.close_writer()
        yield None, None
        return
    try:
        yield out, err
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        for fd, target in zip(saved, (1, 2)):
            with contextlib.suppress(OSError):
                os.dup2(fd, target)
            with contextlib.suppress(OSError):
                os.close(fd)
        out.close_writer()
        err.close_writer()
