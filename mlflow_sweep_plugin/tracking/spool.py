"""The offline spool: what a run logged while the tracking store was unreachable.

One directory per run under ``MLFLOW_SWEEP_SPOOL_DIR`` (default
``./.mlflow-sweep/spool``)::

    <spool_dir>/<spool_id>/
        run.json        what the run is: experiment, run name, start time, initial tags,
                        tracking URI (never with credentials) and, once it exists on the
                        server, its run_id
        events.jsonl    append-only, one JSON object a line, in logging order:
                        {"op": "params", "params": {...}}
                        {"op": "metrics", "metrics": [[key, value, timestamp_ms, step], ...]}
                        {"op": "tags", "tags": {...}}
                        {"op": "artifact", "file": "artifacts/000001/x.json", "artifact_path": "dir"}
                        {"op": "end", "status": "FINISHED", "end_time": ms}
        artifacts/      copies of logged files, taken when they were logged
        sync.json       written by ``mlflow-sweep sync``: how many events are applied
        .writer.lock    locked (flock) by the job for as long as it writes the spool: a
                        sync that can take it knows the job is gone

Each line is flushed and fsynced as it is written; a torn last line (the job died
mid-write) is ignored. Synced spools are moved to ``<spool_dir>/.synced/``.

No URI credential is written: ``run.json`` and ``sync.json`` (the tracking URI, the
offline reason, the initial tags such as a git remote with a token in it) and the tag
values of ``events.jsonl`` pass through :func:`mlflow_sweep_plugin.uri.redact_data`.
Params are spooled as logged (they must match the server's when synced).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import socket
import time
import uuid

from ..tags import TAG_SPOOL_ID
from ..uri import redact_data

SPOOL_DIR_ENV = "MLFLOW_SWEEP_SPOOL_DIR"
DEFAULT_SPOOL_DIR = os.path.join(".", ".mlflow-sweep", "spool")
SYNCED_DIR = ".synced"
SPOOL_ID_TAG = TAG_SPOOL_ID  # kept under its old name
FORMAT = 1
WRITER_LOCK = ".writer.lock"


def spool_root(spool_dir=None) -> pathlib.Path:
    """The spool directory: the argument, else ``$MLFLOW_SWEEP_SPOOL_DIR``, else
    ``./.mlflow-sweep/spool``."""
    return pathlib.Path(spool_dir or os.environ.get(SPOOL_DIR_ENV) or DEFAULT_SPOOL_DIR).absolute()


def _write_json_atomic(path: pathlib.Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(redact_data(data), fh, indent=2, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class Spool:
    """One run's spool directory: the writer's side (a sink) and the reader's side."""

    def __init__(self, path, known_params: dict | None = None):
        self.path = pathlib.Path(path)
        self._known_params = dict(known_params or {})
        self._seq = None
        self._writer = None  # the open, locked .writer.lock of the job writing this spool

    # -- creating and reading -------------------------------------------------------
    @classmethod
    def create(cls, spool_dir, meta: dict, known_params: dict | None = None) -> "Spool":
        root = spool_root(spool_dir)
        spool_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}"
        path = root / spool_id
        (path / "artifacts").mkdir(parents=True)
        spool = cls(path, known_params)
        try:  # before run.json: a spool that sync can list is already locked
            spool._writer = lock_file(path / WRITER_LOCK)
        except ImportError:  # pragma: no cover - Windows: no flock; sync cannot tell
            pass
        meta = {"format": FORMAT, "spool_id": spool_id, "host": socket.gethostname(),
                "pid": os.getpid(), "created": int(time.time() * 1000), "run_id": None, **meta}
        _write_json_atomic(path / "run.json", meta)
        (path / "events.jsonl").touch()
        return spool

    @property
    def spool_id(self) -> str:
        return self.path.name

    @property
    def meta(self) -> dict:
        with open(self.path / "run.json", encoding="utf-8") as fh:
            return json.load(fh)

    def update_meta(self, **changes) -> None:
        meta = self.meta
        meta.update(changes)
        _write_json_atomic(self.path / "run.json", meta)

    @property
    def state(self) -> dict:
        try:
            with open(self.path / "sync.json", encoding="utf-8") as fh:
                return json.load(fh)
        except FileNotFoundError:
            return {"applied": 0}

    def write_state(self, **state) -> None:
        _write_json_atomic(self.path / "sync.json", state)

    def events(self) -> list[dict]:
        """Every complete event, in order (a torn last line is left out)."""
        out = []
        with open(self.path / "events.jsonl", encoding="utf-8") as fh:
            for line in fh:
                if not line.endswith("\n"):
                    break
                try:
                    out.append(json.loads(line))
                except ValueError:
                    break
        return out

    # -- the sink interface (see sink.py) ----------------------------------------------
    @property
    def run_id(self):
        return self.meta.get("run_id")

    def _append(self, event: dict) -> None:
        line = json.dumps(event, sort_keys=True) + "\n"  # NaN/Infinity tokens: json reads them
        with open(self.path / "events.jsonl", "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    def existing_params(self) -> dict:
        return dict(self._known_params)

    def log_batch(self, params=None, metrics=(), tags=None) -> None:
        if params:
            params = {str(k): str(v) for k, v in params.items()}
            self._append({"op": "params", "params": params})
            self._known_params.update(params)
        if tags:
            self._append({"op": "tags", "tags": redact_data({str(k): str(v) for k, v in tags.items()})})
        if metrics:
            self._append({"op": "metrics",
                          "metrics": [[k, float(v), int(ts), int(s)] for k, v, ts, s in metrics]})

    def log_artifact(self, local_path: str, artifact_path: str | None = None) -> None:
        if self._seq is None:
            self._seq = len(list((self.path / "artifacts").iterdir()))
        self._seq += 1
        rel = f"artifacts/{self._seq:06d}/{os.path.basename(local_path)}"
        (self.path / rel).parent.mkdir(parents=True)
        shutil.copyfile(local_path, self.path / rel)
        self._append({"op": "artifact", "file": rel, "artifact_path": artifact_path or None})

    def end(self, status: str = "FINISHED", end_time: int | None = None) -> None:
        self._append({"op": "end", "status": status,
                      "end_time": int(end_time if end_time is not None else time.time() * 1000)})
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def writer_alive(self) -> bool | None:
        """Whether a job still holds this spool: None when it cannot be told (a spool
        from before the writer lock, or no ``fcntl``), else whether its lock is taken."""
        if not (self.path / WRITER_LOCK).is_file():
            return None
        try:
            probe = lock_file(self.path / WRITER_LOCK)
        except BlockingIOError:
            return True
        except (ImportError, OSError):
            return None
        probe.close()
        return False

    def end_abandoned(self) -> None:
        """Record that the job died without ending its run: an ``end`` event with status
        KILLED at the time the job last wrote to the spool."""
        last = int(os.stat(self.path / "events.jsonl").st_mtime * 1000)
        self._append({"op": "end", "status": "KILLED", "end_time": last, "abandoned": True})


def lock_file(path: pathlib.Path):
    """``path`` opened and exclusively flock'ed without waiting (BlockingIOError if held).
    The lock lasts as long as the file stays open, and dies with the process."""
    import fcntl

    fh = open(path, "a+")
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException:
        fh.close()
        raise
    return fh


def list_spools(spool_dir=None) -> list[Spool]:
    """The spools not yet synced, oldest first."""
    root = spool_root(spool_dir)
    if not root.is_dir():
        return []
    return [Spool(p) for p in sorted(root.iterdir())
            if p.is_dir() and p.name != SYNCED_DIR and (p / "run.json").is_file()]
