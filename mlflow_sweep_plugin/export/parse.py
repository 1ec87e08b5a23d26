"""Parse one run: match its listed files to parsers, fetch them, turn them into records.

Why a stage of its own: this is the one place a parser's code runs, and so the one
place bad input is contained. A file that fails to parse is a warning naming the run,
the path and the parser; a file that cannot be fetched is a ``"read"`` warning (the run
is then not cached); neither stops the run's other files or the export.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

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
    ctx = ParseContext(run_id=run.info.run_id, path=path, captures=dict(captures),
                       params=dict(run.data.params), tags=dict(run.data.tags),
                       _reader=ctx_reader or _ContextReader(reader))
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
    outcome = RunOutcome(run, [], [], [])
    try:
        reader = reader or session.reader(run.info.artifact_uri)
        paths = reader.list()
    except Exception as exc:  # noqa: BLE001 - one unreadable run never stops the export
        outcome.warnings.append(SweepWarning.for_run(
            run_id, "", f"artifacts could not be listed: {_reason(exc)}", kind="read"))
        outcome.read_failed = True
        outcome.unreachable = is_unreachable(exc)
        return outcome
    outcome.reader = reader
    ctx_reader = _ContextReader(reader)
    matches = _matches(parsers, paths)
    unique = list(dict.fromkeys(path for _, path, _ in matches))
    fetched: dict = {}
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
                if isinstance(data, UnsafeArtifactPath):
                    raise data
                raise _ReadFailed(data)
            outcome.records.extend(parse_artifact(parser, reader, run, path, captures, data, ctx_reader))
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
