"""The export pipeline: runs -> artifacts -> parsers -> records -> table.

One implementation behind ``mlflow-sweep export``, ``mlflow sweep-export``,
``python -m mlflow_sweep_plugin export`` and the pytest harness's exporter fixture.

Speed comes from three places, each kept out of the parsers' way:

- local artifact stores are read directly (no temp-dir download round trip);
- remote runs are read in parallel (a bounded pool over runs, plus a bounded pool for a
  run's files), and the results are put back in the order the runs were listed, so the
  table and the warnings are the same whatever the timing;
- ended runs come from the on-disk cache (:mod:`.cache`) when their key and artifact
  listing are unchanged.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
from dataclasses import dataclass, field
from typing import Callable, Iterable

from ..errors import BadArtifact, TrackingUnreachable
from ..parsers import ParseContext, Parser
from .artifacts import (ArtifactMissing, ListingPlan, LiteralGuesses, ScratchFiles, UnsafeArtifactPath,
                        local_path_of, reader_for)
from .retry import is_connection_failure
from .table import TableBuilder, scalar

#: default parallelism for remote artifact stores (runs in flight, and file downloads)
DEFAULT_WORKERS = 8
#: consecutive runs failing to connect before the exporter checks the tracking server
BREAKER_RUNS = 3


@dataclass
class SweepWarning:
    """A problem with one run or one artifact; the export went on without it.

    ``kind`` is ``"artifact"`` for bad input (the same every time) and ``"read"`` when
    the file or listing could not be fetched (a run with such a warning is not cached).
    """

    run_id: str
    path: str
    message: str
    parser: str = ""
    kind: str = "artifact"

    def __str__(self) -> str:
        where = f"run {self.run_id}"
        if self.path:
            where += f", artifact {self.path}"
        if self.parser:
            where += f" (parser {self.parser})"
        return f"{where}: {self.message}"


@dataclass
class ExportResult:
    """What an export produced: the table, the warnings, and how many runs it read.

    ``stats`` counts ``cache_hits``, ``cache_misses`` (ended runs read afresh),
    ``uncached`` (running runs, cache off) and ``files_read``; ``table_memo`` is
    ``"hit"`` or ``"stored"`` when every run came from the cache, and ``output_memo`` is
    ``"hit"`` when the file's bytes were those written before from the same table.
    """

    df: object
    warnings: list = field(default_factory=list)
    n_runs: int = 0
    path: str | None = None
    format: str | None = None
    stats: dict = field(default_factory=dict)
    #: the key of the memoised table when every run came from the cache (see ``_TableMemo``)
    table_key: str | None = field(default=None, repr=False)

    @property
    def n_rows(self) -> int:
        return len(self.df)

    @property
    def n_columns(self) -> int:
        return len(self.df.columns)

    def summary(self, n_warnings: int | None = None) -> str:
        """The one-line summary the CLI ends with (``n_warnings`` may add plugin ones)."""
        dest = self.path or "(not written)"
        n_warnings = len(self.warnings) if n_warnings is None else n_warnings
        hits = self.stats.get("cache_hits", 0)
        cached = f" ({hits} of {self.n_runs} runs from the cache)" if hits else ""
        return (f"mlflow-sweep: exported {self.n_runs} runs, {self.n_rows} rows, "
                f"{self.n_columns} columns, {n_warnings} warnings -> {dest}{cached}")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, (BadArtifact, UnsafeArtifactPath)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class _ReadFailed(Exception):
    """Wraps an exception raised while fetching a file (not while parsing it)."""

    def __init__(self, exc: BaseException):
        super().__init__(str(exc))
        self.exc = exc


class _ContextReader:
    """What :class:`ParseContext` sees of a run's reader: ``list()`` is every artifact
    path, and a file read through ``read()`` is fetched once per run, however many parsers
    read it beside their own file (the causal parsers all read ``ground_truth.yaml``).
    Those bytes are kept until the run is done; a parser's own file is not kept."""

    def __init__(self, reader):
        self._reader = reader
        self._read: dict[str, bytes] = {}

    def list(self):
        return self._reader.list_all()

    def read(self, path: str) -> bytes:
        data = self._read.get(path)
        if data is None:
            data = self._read[path] = self._reader.read(path)
        return data


def parse_artifact(parser: Parser, reader, run, path: str, captures: dict, data: bytes | None = None,
                   ctx_reader=None) -> list[dict]:
    """Load one file and run one parser on it; raises on bad input.

    ``data`` is the file's bytes when already fetched; a failure to fetch them is raised
    as :class:`_ReadFailed` so it is not mistaken for bad input. ``ctx_reader`` is what
    the parser's context reads other files through (one per run, see _ContextReader).
    """
    if data is None:
        try:
            data = reader.read(path)
        except UnsafeArtifactPath:
            raise
        except Exception as exc:  # noqa: BLE001
            raise _ReadFailed(exc) from exc
    content = parser.load(data)
    del data
    if ctx_reader is None:
        ctx_reader = _ContextReader(reader) if hasattr(reader, "list_all") else reader
    ctx = ParseContext(run_id=run.info.run_id, path=path, captures=dict(captures),
                       params=dict(run.data.params), tags=dict(run.data.tags), _reader=ctx_reader)
    out = []
    result = parser.parse(content, ctx)
    if result is None:
        return out
    if isinstance(result, dict):
        result = [result]
    for rec in result:
        if not isinstance(rec, dict):
            raise BadArtifact(f"parser returned a {type(rec).__name__}, expected a dict per record")
        row = dict(captures)
        row.update(rec)
        out.append(row)
    return out


@dataclass
class RunOutcome:
    """One run's records, the capture names seen, and its warnings (not yet emitted)."""

    run: object
    records: list
    captures: list
    warnings: list
    from_cache: bool = False
    read_failed: bool = False      # some file or the listing could not be fetched
    unreachable: bool = False      # ...because the store could not be reached at all
    files_read: int = 0
    cached: bool = False           # stored in the cache
    reader: object = field(default=None, repr=False)
    payload: bytes | None = field(default=None, repr=False)  # a cache hit's rows, not yet decoded
    cache_key: str | None = None   # set when the run is one the cache holds (ended, cache on)
    fingerprint: str | None = None


def _matches(parsers, paths):
    """(parser, path, captures) for every file a parser wants, in parser then path order."""
    out = []
    for parser in parsers:
        pat = parser.compiled
        regex = pat.regex
        for path in paths:
            if regex.fullmatch(path) is not None:
                out.append((parser, path, pat.match(path)))
    return out


def _fetch_all(reader, paths, pool, window):
    """Iterate (path, bytes or exception) in ``paths`` order, ``window`` downloads ahead."""
    if pool is None or getattr(reader, "is_local", False) or len(paths) < 2:
        for p in paths:
            yield p, None
        return

    def fetch(p):
        try:
            return reader.read(p)
        except BaseException as exc:  # noqa: BLE001 - handed back to the parsing thread
            return exc

    pending = collections.deque()
    it = iter(paths)
    for p in it:
        pending.append((p, pool.submit(fetch, p)))
        if len(pending) >= window:
            break
    try:
        while pending:
            p, fut = pending.popleft()
            nxt = next(it, None)
            if nxt is not None:
                pending.append((nxt, pool.submit(fetch, nxt)))
            yield p, fut.result()
    finally:
        for _, fut in pending:
            fut.cancel()


def read_run(run, parsers: list[Parser], reader=None, *, plan: ListingPlan | None = None,
             tracking_uri: str | None = None, pool=None, window: int = DEFAULT_WORKERS,
             scratch=None, guesses=None) -> RunOutcome:
    """Read and parse one run's artifacts; never raises for bad or unreadable input."""
    run_id = run.info.run_id
    outcome = RunOutcome(run, [], [], [])
    plan = plan or ListingPlan([p.compiled for p in parsers])
    try:
        reader = reader or reader_for(run.info.artifact_uri, plan, tracking_uri=tracking_uri,
                                      scratch=scratch, guesses=guesses)
        paths = reader.list()
    except Exception as exc:  # noqa: BLE001 - one unreadable run never stops the export
        outcome.warnings.append(SweepWarning(run_id, "", f"artifacts could not be listed: {_reason(exc)}",
                                             kind="read"))
        outcome.read_failed = True
        outcome.unreachable = is_connection_failure(exc)
        return outcome
    outcome.reader = reader
    ctx_reader = _ContextReader(reader)
    matches = _matches(parsers, paths)
    unique = list(dict.fromkeys(path for _, path, _ in matches))
    fetched: dict = {}
    users = collections.Counter(path for _, path, _ in matches)
    fetch_iter = _fetch_all(reader, unique, pool, window)
    connection_failures = 0
    for parser, path, captures in matches:
        for name in captures:
            if name not in outcome.captures:
                outcome.captures.append(name)
        if path not in fetched:
            for p, data in fetch_iter:
                fetched[p] = data
                if p == path:
                    break
        data = fetched.get(path)
        users[path] -= 1
        if users[path] == 0:
            fetched.pop(path, None)  # hold no file's bytes longer than its parsers need
        try:
            if isinstance(data, BaseException):
                if isinstance(data, UnsafeArtifactPath):
                    raise data
                raise _ReadFailed(data)
            outcome.records.extend(parse_artifact(parser, reader, run, path, captures, data, ctx_reader))
            outcome.files_read += 1
        except _ReadFailed as failed:
            if isinstance(failed.exc, ArtifactMissing):
                continue  # a literal path guessed, not listed, and not there: no file
            outcome.read_failed = True
            connection_failures += is_connection_failure(failed.exc)
            outcome.warnings.append(SweepWarning(run_id, path, f"could not be read: {_reason(failed.exc)}",
                                                 parser.name, kind="read"))
        except Exception as exc:  # noqa: BLE001 - bad input: warn, keep going
            outcome.warnings.append(SweepWarning(run_id, path, _reason(exc), parser.name))
    outcome.unreachable = bool(matches) and connection_failures == len(matches)
    return outcome


def records_for_run(run, parsers: list[Parser], reader=None,
                    warn: Callable[[SweepWarning], None] = lambda w: None, *,
                    tracking_uri: str | None = None, pool=None) -> tuple[list[dict], list[str]]:
    """All records the parsers find in one run's artifacts, and the capture names seen.

    A file that fails yields a warning and no rows; the run's other files still count.
    ``pool`` (a ``concurrent.futures`` executor) fetches a remote run's files in parallel.
    """
    outcome = read_run(run, parsers, reader, tracking_uri=tracking_uri, pool=pool)
    for w in outcome.warnings:
        warn(w)
    return outcome.records, outcome.captures


class _RunProcessor:
    """Per-run work for the export: the cache check, else a fresh read (thread-safe).

    A cache hit comes back with its rows still encoded (``payload``): the exporter
    decodes them only if the whole table is not memoised (see :class:`_TableMemo`).
    """

    def __init__(self, parsers, cache=None, refresh=False, tracking_uri=None, pool=None,
                 window=DEFAULT_WORKERS, scratch=None):
        from . import cache as cache_mod

        self.scratch = scratch
        self.guesses = LiteralGuesses()
        self.parsers = list(parsers)
        self.plan = ListingPlan([p.compiled for p in self.parsers])
        self.cache = cache if cache is not None and getattr(cache, "enabled", False) else None
        self.refresh = refresh
        self.tracking_uri = tracking_uri
        self.pool = pool
        self.window = window
        self._cache_mod = cache_mod
        if self.cache is not None:
            self.store_id = cache_mod.store_identity(tracking_uri)
            self.parsers_digest = cache_mod.parsers_key(self.parsers)

    def __call__(self, run) -> RunOutcome:
        cm = self._cache_mod
        use_cache = self.cache is not None and cm.cacheable(run)
        reader = None
        key = None
        if use_cache:
            key = cm.run_key(self.store_id, run, self.parsers_digest)
            entry = None if self.refresh else self.cache.get(key)
            if entry is not None:
                fingerprint, scope, warnings, manifest, blob = entry
                try:
                    reader = reader_for(run.info.artifact_uri, self.plan, tracking_uri=self.tracking_uri,
                                        guess_literals=False, scratch=self.scratch)
                    if manifest is not None and reader.is_local and reader.matches_manifest(manifest):
                        current = fingerprint  # nothing listed has changed: no need to list
                    else:
                        current, renewed = reader.cache_state(scope)
                        if current == fingerprint and renewed != manifest:
                            self.cache.set_manifest(key, renewed)
                except Exception:  # noqa: BLE001 - the fresh read below reports it
                    current = None
                if current == fingerprint:
                    warnings = [SweepWarning(run.info.run_id, p, m, parser) for p, m, parser in warnings]
                    return RunOutcome(run, None, None, warnings, from_cache=True, payload=blob,
                                      cache_key=key, fingerprint=fingerprint)
                reader = None if current is None else reader
        return self.read(run, reader, key)

    def read(self, run, reader=None, key: str | None = None) -> RunOutcome:
        """Read the run afresh (and store it when ``key``, its cache key, is given)."""
        cm = self._cache_mod
        outcome = read_run(run, self.parsers, reader, plan=self.plan, tracking_uri=self.tracking_uri,
                           pool=self.pool, window=self.window, scratch=self.scratch,
                           guesses=self.guesses)
        outcome.cache_key = key
        # a table cell holds scalars; do it here, off the main thread, and cache that form
        outcome.records = [{str(k): scalar(v) for k, v in rec.items()} for rec in outcome.records]
        # not cached if anything could not be fetched, even by a parser through ctx.read
        if key is not None and not outcome.read_failed and outcome.reader is not None \
                and not getattr(outcome.reader, "read_errors", 0):
            try:
                scope = outcome.reader.scope()
                fingerprint, manifest = outcome.reader.cache_state(scope)
                blob = cm.encode_payload(outcome.records, outcome.captures)
                warnings = cm.encode_warnings(outcome.warnings)
            except Exception:  # noqa: BLE001 - not cached, still exported
                fingerprint = None
            if fingerprint is not None:
                self.cache.put(key, run.info.run_id, fingerprint, scope, warnings, manifest, blob)
                outcome.cached = True
        outcome.reader = None
        return outcome

    def materialize(self, outcome: RunOutcome) -> RunOutcome:
        """A cache hit with its rows decoded; an entry that cannot be decoded is read afresh."""
        if outcome.records is not None:
            return outcome
        try:
            doc = self._cache_mod.decode_payload(outcome.payload)
            outcome.records, outcome.captures = doc["records"], doc["captures"]
        except Exception:  # noqa: BLE001 - an unreadable entry is a miss
            return self.read(outcome.run, None, outcome.cache_key)
        outcome.payload = None
        return outcome


class _TableMemo:
    """The whole table of an export whose every run was a cache hit, memoised.

    Why: with every run's entry validated, the table is a pure function of those entries
    and of the run columns it shows; rebuilding it from per-run rows is most of a warm
    export's time. The key hashes, in run order, each run's entry key, listing
    fingerprint and payload, its name, times, params and metrics.
    """

    def __init__(self, process: _RunProcessor):
        import hashlib

        from . import frames

        self.cache = process.cache
        self._frames = frames
        self._h = hashlib.sha256(f"{frames.MAGIC!r}\0{process.store_id}\0{process.parsers_digest}".encode())
        self.key: str | None = None

    def add(self, outcome: RunOutcome) -> None:
        run = outcome.run
        h = self._h
        for part in (outcome.cache_key, outcome.fingerprint):
            h.update(part.encode())
            h.update(b"\0")
        h.update(outcome.payload)
        info = run.info  # status, end time, params and tags are in the entry's key already
        h.update(repr((getattr(info, "run_name", None), info.start_time,
                       sorted(run.data.metrics.items()))).encode("utf-8", "surrogateescape"))

    def lookup(self):
        """The memoised DataFrame, or None."""
        self.key = self._h.hexdigest()
        blob = self.cache.get_table(self.key)
        if blob is None:
            return None
        try:
            return self._frames.decode_frame(blob)
        except Exception:  # noqa: BLE001 - a bad memo is a miss
            return None

    def store(self, df) -> None:
        blob = self._frames.encode_frame(df)
        if blob is None:
            self.key = None
        else:
            self.cache.put_table(self.key, blob)


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


def _is_local_run(run) -> bool:
    return local_path_of(run.info.artifact_uri) is not None


def export_runs(runs: Iterable, parsers: list[Parser],
                warn: Callable[[SweepWarning], None] | None = None,
                progress: Callable[[int], None] | None = None, *,
                workers: int | None = None, cache=None, refresh: bool = False,
                tracking_uri: str | None = None, probe: Callable[[], None] | None = None) -> ExportResult:
    """Build the table for the given runs. Warnings go to ``warn`` as they happen (in
    run order) and are also collected on the result.

    ``workers`` bounds parallel reads for remote artifact stores (default
    :data:`DEFAULT_WORKERS`; local stores are read in this thread, where threads do not
    help). ``cache`` is an :class:`~.cache.ExportCache` (or None); ``refresh`` re-reads
    every run and re-stores it. ``probe()`` should raise when the tracking server is
    gone: when several runs in a row cannot connect, it decides between going on with
    warnings and stopping with :class:`TrackingUnreachable`.
    """
    collected: list[SweepWarning] = []
    stats = collections.Counter(cache_hits=0, cache_misses=0, uncached=0, files_read=0)

    def _warn(w: SweepWarning):
        collected.append(w)
        if warn is not None:
            warn(w)

    workers = DEFAULT_WORKERS if workers is None else max(1, int(workers))
    runs = iter(runs)
    first = next(runs, None)
    remote = first is not None and not _is_local_run(first)
    run_workers = workers if remote else 1
    file_pool = cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mlflow-sweep-file") \
        if remote and workers > 1 else None
    scratch = ScratchFiles() if remote else None
    process = _RunProcessor(parsers, cache, refresh, tracking_uri, pool=file_pool, window=workers,
                            scratch=scratch)

    def all_runs():
        if first is not None:
            yield first
            yield from runs

    builder = TableBuilder()
    n = 0
    consecutive_unreachable = 0
    any_success = False
    # while every run so far is a cache hit, rows stay encoded: the table may be memoised
    memo = _TableMemo(process) if process.cache is not None and not refresh else None
    deferred: list[RunOutcome] = []

    def take(outcome: RunOutcome) -> None:
        if outcome.records is None:
            fresh = process.materialize(outcome)
            if fresh is not outcome:  # its entry could not be decoded: it was read afresh
                stats["cache_hits"] -= 1
                stats["cache_misses"] += 1
                stats["files_read"] += fresh.files_read
                told = {str(w) for w in outcome.warnings}
                for w in fresh.warnings:
                    if str(w) not in told:
                        _warn(w)
                outcome = fresh
        builder.add_run(outcome.run, outcome.records, outcome.captures, clean=True)

    def flush() -> None:
        for outcome in deferred:
            take(outcome)
        deferred.clear()

    outcomes = _ordered_map(process, all_runs(), run_workers, window=max(2 * run_workers, 4))
    try:
        for outcome in outcomes:
            for w in outcome.warnings:
                _warn(w)
            if memo is not None and outcome.from_cache:
                memo.add(outcome)
                deferred.append(outcome)
            else:
                memo = None
                flush()
                take(outcome)
            n += 1
            stats["files_read"] += outcome.files_read
            if outcome.from_cache:
                stats["cache_hits"] += 1
            elif outcome.cache_key is not None:  # an ended run read afresh for the cache
                stats["cache_misses"] += 1
            else:
                stats["uncached"] += 1
            if outcome.unreachable:
                consecutive_unreachable += 1
                if consecutive_unreachable >= BREAKER_RUNS:
                    _check_store(probe, tracking_uri, outcome, any_success, consecutive_unreachable)
            else:
                consecutive_unreachable = 0
                any_success = any_success or not outcome.read_failed
            if progress is not None:
                progress(n)
        df = memo.lookup() if memo is not None and deferred else None
        if df is not None:
            stats["table_memo"] = "hit"
        else:
            flush()
            df = builder.frame()
            if memo is not None and n and stats["cache_misses"] == 0:
                memo.store(df)
                if memo.key:
                    stats["table_memo"] = "stored"
            elif memo is not None:
                memo.key = None
    finally:
        outcomes.close()
        if file_pool is not None:
            file_pool.shutdown(wait=True, cancel_futures=True)
        if scratch is not None:
            scratch.close()
    return ExportResult(df=df, warnings=collected, n_runs=n, stats=dict(stats),
                        table_key=memo.key if memo is not None else None)


def _check_store(probe, tracking_uri, outcome, any_success, consecutive):
    """Several runs in a row could not connect: stop (exit 3) if the store is gone."""
    from ..uri import redact_uri
    from .runs import is_unreachable

    if probe is not None:
        try:
            probe()
        except TrackingUnreachable as exc:
            raise TrackingUnreachable(f"{exc} (it went away during the export); no output was written") from None
        except Exception as exc:  # noqa: BLE001
            if is_unreachable(exc) or is_connection_failure(exc):
                raise TrackingUnreachable(
                    f"tracking store {redact_uri(tracking_uri)} became unreachable during the export "
                    f"({type(exc).__name__}); no output was written") from None
            raise
    if not any_success and consecutive >= 10:
        raise TrackingUnreachable(
            f"artifact store {redact_uri(outcome.run.info.artifact_uri)} is unreachable "
            f"(the last {consecutive} runs could not connect); no output was written")
