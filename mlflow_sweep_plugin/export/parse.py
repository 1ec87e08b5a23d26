"""Parse one run: match its listed files to parsers, fetch them, turn them into records.

Why a stage of its own: this is the one place a parser's code runs, and so the one
place bad input is contained. A file that fails to parse is a warning naming the run,
the path and the parser; a file that cannot be fetched is a ``"read"`` warning (the run
is then not cached); neither stops the run's other files or the export.

It is also where the work one file may cost is bounded (:mod:`mlflow_sweep_plugin.limits`,
the session's :class:`~mlflow_sweep_plugin.limits.Limits`): a file listed larger than
the artifact limit is not fetched, a fetched one over it is not parsed (the readers
check a local file's size before reading it, a download's before loading it), the
loaders see the limits while the parser runs, and a record with more columns than the
column limit gives no row. Each is one bad-input warning.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

from .. import limits as _limits
from ..errors import BadArtifact
from ..failures import is_unreachable
from ..parsers import ParseContext, Parser
from ..warning_types import SweepWarning
from .paths import UnsafeArtifactPath
from .readers import ArtifactMissing


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

    def __init__(self, reader, limits: _limits.Limits | None = None):
        self._reader = reader
        self._read: dict[str, bytes] = {}
        self._limits = limits or _limits.current()

    def list(self):
        return self._reader.list_all()

    def read(self, path: str) -> bytes:
        data = self._read.get(path)
        if data is None:
            self._limits.check_size(listed_size(self._reader, path))
            data = self._reader.read(path)
            self._limits.check_size(len(data))
            self._read[path] = data
        return data


def listed_size(reader, path: str) -> int | None:
    """The size a reader's listing gave ``path`` (None when it was not listed, or the
    listing had no size)."""
    st = reader.stats.get(path)
    if isinstance(st, tuple):
        st = st[0] if st else None
    return st if isinstance(st, int) else None


def parse_artifact(parser: Parser, reader, run, path: str, captures: dict, data: bytes | None = None,
                   ctx_reader=None, limits: _limits.Limits | None = None) -> list[dict]:
    """Load one file and run one parser on it; raises on bad input.

    ``data`` is the file's bytes when already fetched; a failure to fetch them is raised
    as :class:`_ReadFailed` so it is not mistaken for bad input. ``ctx_reader`` is what
    the parser's context reads other files through (one per run, see _ContextReader).
    ``limits`` bound the work (default: :func:`mlflow_sweep_plugin.limits.current`).
    """
    limits = limits or _limits.current()
    if data is None:
        limits.check_size(listed_size(reader, path))
        try:
            data = reader.read(path)
        except (UnsafeArtifactPath, _limits.ArtifactTooLarge):
            raise
        except Exception as exc:  # noqa: BLE001
            raise _ReadFailed(exc) from exc
    limits.check_size(len(data))
    with _limits.applied(limits):  # what the loaders (and ctx reads) obey
        content = parser.load(data)
        del data
        ctx = ParseContext(run_id=run.info.run_id, path=path, captures=dict(captures),
                           params=dict(run.data.params), tags=dict(run.data.tags),
                           _reader=ctx_reader or _ContextReader(reader, limits))
        out = []
        result = parser.parse(content, ctx)
        if result is None:
            return out
        if isinstance(result, dict):
            result = [result]
        for rec in result:
            if not isinstance(rec, dict):
                raise BadArtifact(f"parser returned a {type(rec).__name__}, expected a dict per record")
            limits.check_columns(len(rec) + len(captures))
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
    cache_key: str | None = None   # set when the run is one the cache holds (ended, cache on)
    fingerprint: str | None = None  # a hit's listing fingerprint
    doc: bytes | None = field(default=None, repr=False)  # a hit's rows as JSON text, not yet parsed
    reader: object = field(default=None, repr=False)


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
    """Iterate (path, bytes or exception) in ``paths`` order, ``window`` downloads ahead
    (bytes None: read it when parsing, as local readers do)."""
    if pool is None or reader.is_local or len(paths) < 2:
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


def read_run(run, session, reader=None, parsers=None) -> RunOutcome:
    """Read and parse one run's artifacts with ``session``'s parsers (or ``parsers``)
    and reader settings; never raises for bad or unreadable input."""
    run_id = run.info.run_id
    parsers = session.parsers if parsers is None else parsers
    limits = getattr(session, "limits", None) or _limits.current()
    outcome = RunOutcome(run, [], [], [])
    try:
        reader = reader or session.reader(run.info.artifact_uri)
        reader.max_bytes = limits.max_artifact_bytes  # what the reader checks before loading a file
        paths = reader.list()
    except Exception as exc:  # noqa: BLE001 - one unreadable run never stops the export
        outcome.warnings.append(SweepWarning.for_run(
            run_id, "", f"artifacts could not be listed: {_reason(exc)}", kind="read"))
        outcome.read_failed = True
        outcome.unreachable = is_unreachable(exc)
        return outcome
    outcome.reader = reader
    ctx_reader = _ContextReader(reader, limits)
    matches = _matches(parsers, paths)
    unique = list(dict.fromkeys(path for _, path, _ in matches))
    fetched: dict = {}
    for path in unique:  # listed larger than the limit: never fetched
        size = listed_size(reader, path)
        if size is not None and size > limits.max_artifact_bytes:
            fetched[path] = _limits.ArtifactTooLarge(size, limits.max_artifact_bytes)
    unique = [p for p in unique if p not in fetched]
    users = collections.Counter(path for _, path, _ in matches)
    fetch_iter = _fetch_all(reader, unique, session.pool, session.window)
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
                if isinstance(data, (UnsafeArtifactPath, _limits.ArtifactTooLarge)):
                    raise data
                raise _ReadFailed(data)
            outcome.records.extend(parse_artifact(parser, reader, run, path, captures, data, ctx_reader,
                                                  limits))
            outcome.files_read += 1
        except _ReadFailed as failed:
            if isinstance(failed.exc, ArtifactMissing):
                continue  # a literal path guessed, not listed, and not there: no file
            outcome.read_failed = True
            connection_failures += is_unreachable(failed.exc)
            outcome.warnings.append(SweepWarning.for_run(
                run_id, path, f"could not be read: {_reason(failed.exc)}", parser.name, kind="read"))
        except Exception as exc:  # noqa: BLE001 - bad input: warn, keep going
            outcome.warnings.append(SweepWarning.for_run(run_id, path, _reason(exc), parser.name))
    outcome.unreachable = bool(matches) and connection_failures == len(matches)
    return outcome
