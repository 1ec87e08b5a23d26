"""Replay spooled runs into the tracking store, exactly once.

``mlflow-sweep sync`` may run twice, run while the job is still spooling, or die in
the middle; none of that may create a second run, param or metric point. So every
step is idempotent:

1. **The run.** A spool from a run that started online already names its run. For
   one that started offline, the run is created with the tag
   ``mlflow_sweep.spool_id=<spool id>`` and its id is written into ``run.json`` right
   away; if a sync died between the two, the next one finds the run by that tag
   instead of creating another.
2. **Params** are immutable in MLflow: re-logging the same value is a no-op (a value
   that differs from the server's is reported, and the spool is kept).
3. **Metrics** are points ``(key, step, timestamp, value)``. When the run existed
   before this sync (a run that went offline mid-way, or a resumed sync), the
   history of each spooled key is read once and points already there are skipped.
4. **Tags** are overwritten with the same value, **artifacts** uploaded again to the
   same path, and the **end** sets the same status and end time.

``sync.json`` records how many events were applied, so a resumed sync skips them;
the checks above cover the group of events that was in flight when a sync died.
A spool whose job has ended (an ``end`` event) is moved to ``<spool_dir>/.synced/``
once replayed; one still open is replayed as far as it goes and kept. A spool only
completes the run it started and uploads only its own files (:mod:`.spool_checks`). A spool with no
``end`` whose writer lock nobody holds belongs to a job that died: its run is ended as
KILLED (at the time of the job's last write) and the spool is done.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass

from ..errors import SweepError, TrackingUnreachable, UsageError
from ..stores import require_store
from ..uri import redact_uri
from .metrics import stored_value
from .params import log_params_checked
from .sink import (
    MAX_METRICS_PER_BATCH,
    MAX_PARAMS_TAGS_PER_BATCH,
    ClientSink,
    get_or_create_experiment,
)
from .spool import SPOOL_ID_TAG, SYNCED_DIR, Spool, list_spools, lock_file, spool_root
from .spool_checks import ForeignRun, artifact_file, check_run


@dataclass
class SyncResult:
    """What ``sync`` did with one spool."""

    spool_id: str
    run_id: str | None = None
    status: str = ""  # synced | open | locked | failed
    applied: int = 0  # events applied by this sync
    skipped_points: int = 0  # metric points that were already in the store
    message: str = ""

    def __str__(self) -> str:
        run = f"run {self.run_id}" if self.run_id else "no run"
        text = f"{self.spool_id}: {self.status} ({run}, {self.applied} events applied"
        if self.skipped_points:
            text += f", {self.skipped_points} metric points already there"
        text += ")"
        return text + (f": {self.message}" if self.message else "")


@contextlib.contextmanager
def _locked(spool: Spool):
    """An exclusive, non-blocking lock on the spool (one sync at a time)."""
    try:
        fh = lock_file(spool.path / ".lock")
    except ImportError:  # pragma: no cover - Windows: no cross-process lock
        yield True
        return
    except OSError:  # held by another sync (or no lock to be had): do not replay
        yield False
        return
    try:
        yield True
    finally:
        fh.close()


def _groups(events: list[dict], start: int):
    """Consecutive events of one kind, as (first index, end index, op, events);
    metrics and params groups stay within one log_batch request's limits."""
    i = start
    while i < len(events):
        op = events[i].get("op")
        j = i + 1
        if op in ("metrics", "params", "tags"):
            size = _size(events[i])
            limit = MAX_METRICS_PER_BATCH if op == "metrics" else MAX_PARAMS_TAGS_PER_BATCH
            while j < len(events) and events[j].get("op") == op and size + _size(events[j]) <= limit:
                size += _size(events[j])
                j += 1
        yield i, j, op, events[i:j]
        i = j


def _size(event: dict) -> int:
    op = event.get("op")
    return len(event.get("metrics" if op == "metrics" else op, ()) or ())


def _point(key, value, ts, step) -> tuple:
    return (key, int(step), int(ts), stored_value(value))


class _Replayer:
    def __init__(self, client, spool: Spool, result: SyncResult):
        self.client = client
        self.spool = spool
        self.result = result
        self._history: dict[str, set] = {}

    def run_id(self, meta: dict, events: list) -> tuple[str, bool]:
        """The run to replay into, and whether it existed before this sync; a run the
        spool did not start is :class:`~.spool_checks.ForeignRun` (nothing written)."""
        if meta.get("run_id"):
            check_run(self.client, self.spool, meta["run_id"], events)
            return meta["run_id"], True
        exp_id = self._experiment(meta)
        found = self.client.search_runs(
            [exp_id], filter_string=f"tags.`{SPOOL_ID_TAG}` = '{self.spool.spool_id}'",
            max_results=2)
        if found:
            run_id, existed = found[0].info.run_id, True
            check_run(self.client, self.spool, run_id, events)
        else:
            tags = dict(meta.get("tags") or {})
            tags[SPOOL_ID_TAG] = self.spool.spool_id
            run = self.client.create_run(exp_id, start_time=meta.get("start_time"), tags=tags,
                                         run_name=meta.get("run_name"))
            run_id, existed = run.info.run_id, False
        self.spool.update_meta(run_id=run_id)
        return run_id, existed

    def _experiment(self, meta: dict) -> str:
        if meta.get("experiment_id"):
            return str(meta["experiment_id"])
        name = meta.get("experiment_name")
        return get_or_create_experiment(self.client, name) if name else "0"

    def _existing_points(self, run_id: str, key: str) -> set:
        if key not in self._history:
            self._history[key] = {_point(m.key, m.value, m.timestamp, m.step)
                                  for m in self.client.get_metric_history(run_id, key)}
        return self._history[key]

    def apply(self, run_id: str, op: str, events: list[dict], check: bool) -> None:
        """Apply a group of events of one kind; safe to repeat (module docstring)."""
        sink = ClientSink(run_id, self.client)
        if op == "params":
            log_params_checked(sink, {k: v for e in events for k, v in e["params"].items()})
        elif op == "tags":
            sink.log_batch(tags={k: v for e in events for k, v in e["tags"].items()})
        elif op == "metrics":
            points = [tuple(p) for e in events for p in e["metrics"]]
            if check:
                fresh = [p for p in points if _point(*p) not in self._existing_points(run_id, p[0])]
                self.result.skipped_points += len(points) - len(fresh)
                points = fresh
            sink.log_batch(metrics=points)
        elif op == "artifact":
            for e in events:
                checked = artifact_file(self.spool, e)
                if checked is not None:
                    sink.log_artifact(*checked)
        elif op == "end":
            sink.end(events[-1]["status"], events[-1].get("end_time"))
        else:
            raise SweepError(f"spool {self.spool.path}: unknown event {op!r}")


def _client_uri(spool: Spool, tracking_uri: str | None) -> str:
    if tracking_uri:
        return tracking_uri
    meta = spool.meta
    if meta.get("tracking_uri") and not meta.get("uri_redacted"):
        return meta["tracking_uri"]
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    raise UsageError(f"spool {spool.spool_id} was logged for {meta.get('tracking_uri')} whose "
                     "credentials are not stored: give --tracking-uri or set MLFLOW_TRACKING_URI")


def _replay(client, spool: Spool, result: SyncResult) -> bool:
    """Apply the spool's events not applied yet; True when the job has ended."""
    replayer = _Replayer(client, spool, result)
    events = spool.events()
    result.run_id, existed = replayer.run_id(spool.meta, events)
    applied = int(spool.state.get("applied", 0))
    for _, end, op, group in _groups(events, applied):
        replayer.apply(result.run_id, op, group, check=existed)
        result.applied += len(group)
        spool.write_state(applied=end, run_id=result.run_id)
    return bool(events) and events[-1].get("op") == "end"


def sync_one(spool: Spool, tracking_uri: str | None = None) -> SyncResult:
    """Replay one spool (see the module docstring)."""
    from ..failures import probe

    result = SyncResult(spool.spool_id)
    with _locked(spool) as got:
        if not got:
            result.status, result.message = "locked", "another sync is replaying it"
            return result
        uri = require_store(_client_uri(spool, tracking_uri))  # replay into it, never create it
        reason = probe(uri)  # seconds, not MLflow's minutes of retries
        if reason is not None:
            raise TrackingUnreachable(f"tracking store {redact_uri(uri)} is unreachable "
                                      f"({reason}); spool {spool.spool_id} kept")
        ended = _replay_into(uri, spool, result)
        if ended is False and spool.writer_alive() is False:
            # no process holds the spool and it has no end: the job died (killed, out of
            # memory, node lost). The run is ended once, through the spool, as KILLED.
            spool.end_abandoned()
            ended = _replay_into(uri, spool, result)
            if ended:
                result.message = "its job died without ending the run: ended as KILLED"
        if ended is None:
            return result
        if not ended:
            result.status = "open"
            result.message = "the job has not ended yet; sync again later"
            return result
        result.status = "synced"
        done = spool.path.parent / SYNCED_DIR
        done.mkdir(exist_ok=True)
        shutil.move(str(spool.path), str(done / spool.spool_id))
    return result


def _replay_into(uri: str, spool: Spool, result: SyncResult) -> bool | None:
    """:func:`_replay` against ``uri``; None (and ``result`` says why) when it failed."""
    from mlflow.tracking import MlflowClient

    from ..failures import describe_error, fail_fast_http, is_offline
    from .sink import tracking_uri_set_to

    try:  # fail fast: a server that resets or never answers is given up in bounded time
        with tracking_uri_set_to(uri), fail_fast_http():
            return _replay(MlflowClient(uri), spool, result)
    except ForeignRun as exc:
        result.run_id, result.status, result.message = None, "failed", str(exc)
        return None
    except Exception as exc:  # noqa: BLE001 - classified just below
        if is_offline(exc):
            raise TrackingUnreachable(
                f"tracking store {redact_uri(uri)} is unreachable "
                f"({describe_error(exc, 300)}); spool {spool.spool_id} kept") from None
        result.status, result.message = "failed", str(exc)
        return None


def sync_spool(spool_dir=None, tracking_uri: str | None = None, spool_ids=()) -> list[SyncResult]:
    """Replay every spool under ``spool_dir`` (default as for :func:`sweep_run`), or the
    ones named, into the tracking store. Returns one :class:`SyncResult` each.

    Raises :class:`~mlflow_sweep_plugin.errors.TrackingUnreachable` when the store is
    still down (nothing is lost: the spools stay).
    """
    root = spool_root(spool_dir)
    if root.exists() and not root.is_dir():
        raise UsageError(f"--spool-dir {root} is not a directory")
    spools = list_spools(root)
    if spool_ids:
        wanted = set(spool_ids)
        unknown = wanted - {s.spool_id for s in spools}
        if unknown:
            raise UsageError(f"no spool {', '.join(sorted(unknown))} under {root}")
        spools = [s for s in spools if s.spool_id in wanted]
    return [sync_one(s, tracking_uri) for s in spools]
