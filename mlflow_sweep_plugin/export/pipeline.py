"""The export pipeline: each run from the cache or read afresh, in listing order, into
one table.

Speed comes from three places, each kept out of the parsers' way:

- local artifact stores are read directly (no temp-dir download round trip);
- remote runs are read in parallel (a bounded pool over runs, plus the session's pool
  for a run's files), and the outcomes are put back in the order the runs were listed,
  so the table and the warnings are the same whatever the timing;
- ended runs come from the on-disk cache when their key and listing still stand
  (:mod:`.cache`).

When several runs in a row cannot connect, the tracking server is asked once
(``probe``): if it is gone the export stops with exit 3 instead of waiting on every
remaining run.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
from typing import Callable, Iterable

from ..errors import TrackingUnreachable
from ..failures import is_unreachable
from ..tags import ROLE_PARENT, TAG_ROLE, TAG_SUPERSEDED
from ..uri import redact_uri
from ..warning_types import SweepWarning, warn
from . import cache as cache_rules
from .cache_store import decode_payload, encode_payload, encode_warnings, unpack_payload
from .memo import TableMemo
from .parse import RunOutcome, read_run
from .result import ExportResult
from .session import ReadSession
from .table import TableBuilder, scalar

#: consecutive runs failing to connect before the exporter checks the tracking server
BREAKER_RUNS = 3


class _RunReader:
    """Per-run work: the cache check, else a fresh read (and store). Thread-safe."""

    def __init__(self, session: ReadSession):
        self.session = session

    def __call__(self, run) -> RunOutcome:
        s = self.session
        key = reader = None
        if s.cache is not None and cache_rules.cacheable(run):
            key = cache_rules.run_key(s.store_id, run, s.parsers_digest)
            entry = None if s.refresh else s.cache.get(key)
            if entry is not None:
                hit, reader = self._from_cache(run, key, entry)
                if hit is not None:
                    return hit
        return self._read(run, reader, key)

    def _from_cache(self, run, key, entry):
        """(the outcome served from ``entry``, None) when it stands, else (None, the
        reader that listed the run, to read it afresh with)."""
        s = self.session
        try:
            if s.trust_ended_runs:  # --trust-ended-runs: an ended run's entry stands unlisted
                valid, manifest = True, cache_rules.KEEP
            else:
                reader = s.reader(run.info.artifact_uri, guess_literals=False)
                valid, manifest = cache_rules.check(reader, entry)
        except Exception:  # noqa: BLE001 - the fresh read reports it
            return None, None
        if not valid:
            return None, reader
        if manifest is not cache_rules.KEEP:
            s.cache.set_manifest(key, manifest)
        try:  # checked here, parsed only if the table is built (not when it is memoised)
            doc = unpack_payload(entry.payload)
        except Exception:  # noqa: BLE001 - a damaged entry is a miss
            return None, None
        warnings = [SweepWarning.for_run(run.info.run_id, p, m, parser) for p, m, parser in entry.warnings]
        return RunOutcome(run, None, None, warnings, from_cache=True, cache_key=key,
                          fingerprint=entry.fingerprint, doc=doc), None

    def _read(self, run, reader, key: str | None) -> RunOutcome:
        """Read the run afresh; store it when ``key`` (its cache key) is given."""
        s = self.session
        outcome = read_run(run, s, reader)
        outcome.cache_key = key
        # a table cell holds scalars; do it here, off the main thread, and cache that form
        outcome.records = [{str(k): scalar(v) for k, v in rec.items()} for rec in outcome.records]
        reader, outcome.reader = outcome.reader, None
        if key is not None and cache_rules.storable(reader, outcome.read_failed):
            try:
                scope = cache_rules.scope_of(reader)
                fingerprint, manifest = cache_rules.record_state(reader, scope)
                blob = encode_payload(outcome.records, outcome.captures)
                warnings = encode_warnings(outcome.warnings)
            except Exception:  # noqa: BLE001 - not cached, still exported
                return outcome
            s.cache.put(key, run.info.run_id, fingerprint, scope, warnings, manifest, blob)
        return outcome


def _ordered_map(fn, items: Iterable, workers: int, window: int):
    """``map(fn, items)`` on a thread pool, yielding in input order, ``window`` ahead."""
    if workers <= 1:
        for item in items:
            yield fn(item)
        return
    pool = cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mlflow-sweep-run")
    pending: collections.deque = collections.deque()
    try:
        for item in items:
            pending.append(pool.submit(fn, item))
            while len(pending) >= window or (pending and pending[0].done()):
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for fut in pending:
            fut.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


class _Breaker:
    """Several runs in a row could not connect: stop (exit 3) if the store is gone."""

    def __init__(self, probe, tracking_uri):
        self.probe = probe
        self.tracking_uri = tracking_uri
        self.consecutive = 0
        self.any_success = False

    def observe(self, outcome: RunOutcome) -> None:
        if not outcome.unreachable:
            self.consecutive = 0
            self.any_success = self.any_success or not outcome.read_failed
            return
        self.consecutive += 1
        if self.consecutive < BREAKER_RUNS:
            return
        if self.probe is not None:
            try:
                self.probe()
            except TrackingUnreachable as exc:
                raise TrackingUnreachable(f"{exc} (it went away during the export); no output was written") from None
            except Exception as exc:  # noqa: BLE001
                if is_unreachable(exc):
                    raise TrackingUnreachable(
                        f"tracking store {redact_uri(self.tracking_uri)} became unreachable during the "
                        f"export ({type(exc).__name__}); no output was written") from None
                raise
        if not self.any_success and self.consecutive >= 10:
            raise TrackingUnreachable(
                f"artifact store {redact_uri(outcome.run.info.artifact_uri)} is unreachable "
                f"(the last {self.consecutive} runs could not connect); no output was written")


#: what ``include`` can bring back into a table
INCLUDABLE = ("parents", "superseded")


def left_out(run, include=()) -> bool:
    """Whether a run is left out before it is read: a superseded retry (its replacement
    is in the table) unless ``"superseded"`` is included."""
    return "superseded" not in include and TAG_SUPERSEDED in run.data.tags


def _empty_parent(outcome: RunOutcome, include) -> bool:
    """A sweep parent with no record of its own (its children are the rows)."""
    if "parents" in include or outcome.run.data.tags.get(TAG_ROLE) != ROLE_PARENT:
        return False
    if outcome.doc is not None:  # a hit: parents are few, parse its rows to tell
        return not decode_payload(outcome.doc, packed=False)["records"]
    return not outcome.records


def export_runs(runs: Iterable, session: ReadSession, progress: Callable[[int], None] | None = None,
                probe: Callable[[], None] | None = None, table: TableBuilder | None = None,
                include=(), memo: TableMemo | None = None) -> ExportResult:
    """Build the table for the given runs with ``session``'s parsers, cache and pools.

    Superseded retries and sweep parents without a record of their own are left out
    (counted in ``stats["left_out"]``) unless ``include`` names them (:data:`INCLUDABLE`);
    ``table`` is the :class:`TableBuilder` to fill (its experiment names, its tags);
    ``memo`` (:mod:`.memo`) serves the whole table when every run was a cache hit.

    Warnings go down the warning channel (:func:`~mlflow_sweep_plugin.warning_types.warn`)
    as they happen, in run order, and are also collected on the result. Remote runs are
    read ``session.workers`` at a time (local ones in this thread, where threads do not
    help). ``probe()`` should raise when the tracking server is gone (see the module
    docstring).
    """
    collected: list[SweepWarning] = []
    stats = collections.Counter(cache_hits=0, cache_misses=0, uncached=0, files_read=0, left_out=0)

    superseded = [0]

    def kept(all_runs):
        for run in all_runs:
            if left_out(run, include):
                superseded[0] += 1
            else:
                yield run

    runs = kept(runs)
    first = next(runs, None)
    session.start(first)
    run_workers = session.workers if session.remote else 1

    def all_runs():
        if first is not None:
            yield first
            yield from runs

    builder = table if table is not None else TableBuilder()
    breaker = _Breaker(probe, session.tracking_uri)
    n = 0
    outcomes = _ordered_map(_RunReader(session), all_runs(), run_workers, window=max(2 * run_workers, 4))
    try:
        for done, outcome in enumerate(outcomes, 1):
            for w in outcome.warnings:
                collected.append(w)
                warn(w)
            stats["files_read"] += outcome.files_read
            if outcome.from_cache:
                stats["cache_hits"] += 1
            elif outcome.cache_key is not None:  # an ended run read afresh for the cache
                stats["cache_misses"] += 1
            else:
                stats["uncached"] += 1
            breaker.observe(outcome)
            if memo is not None:
                memo.add(outcome)
            if _empty_parent(outcome, include):
                stats["left_out"] += 1
            elif outcome.doc is not None:
                builder.add_cached(outcome.run, outcome.doc)
                n += 1
            else:
                builder.add_run(outcome.run, outcome.records, outcome.captures, clean=True)
                n += 1
            if progress is not None:
                progress(done + superseded[0])
        df = memo.lookup(n) if memo is not None else None
        if df is None:
            df = builder.frame()
            if memo is not None:
                memo.store(df)
    finally:
        outcomes.close()
    stats["left_out"] += superseded[0]
    return ExportResult(df=df, warnings=collected, n_runs=n, stats=dict(stats))
