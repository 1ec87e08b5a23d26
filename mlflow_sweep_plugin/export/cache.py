"""When a cached run may be served: the keys and the validity rules of the export cache.

Why: a sweep is exported again and again while it is analysed, and its ended runs do
not change; re-downloading and re-parsing them is most of an export's cost. The
entries live in one SQLite file (:mod:`.cache_store`); this module decides, as pure
functions over a reader's record (what it listed and read, :mod:`.readers`), whether
an entry still stands. Anything else is a miss, never a stale row:

- the **key** (:func:`run_key`): tracking store, run id, artifact URI, status, end
  time, a digest of the run's params and tags, and the parsers' :attr:`Parser.cache_key`
  (plugin, plugin version, parser name, version, pattern) plus this package's version
  and cache schema;
- the **listing fingerprint** (:func:`listing_fingerprint` of :func:`snapshot`): every
  path the patterns can match with its size (and mtime for local stores), plus any
  directory a parser read from outside its pattern (:func:`scope_of`). S3 gives sizes
  and ETags (a same-size rewrite is seen); an ``mlflow server`` gives sizes only (a
  same-size rewrite there is only seen with ``--refresh``);
- the **quick check** on local stores (:func:`manifest`): the directories listed (their
  mtime taken before listing) and the files of the snapshot are re-stat'ed instead of
  listed; a difference falls back to the listing. No quick check when anything changed
  less than :data:`RACY_NS` ago (git's "racy clean" rule: a timestamp tick could hide a
  change made in the same tick).
- the **shallow check** over an ``mlflow server`` (:func:`shallow_manifest`), whose API
  lists one directory per request: only the plan's roots are listed again (one request
  for ``layer_{layer}/cluster_summary.json``: the run's root), and the entry stands when
  each root still holds the same matching files with the same sizes and the same
  directories the patterns can reach. What is inside a directory that was there before
  is not looked at: a file added to or rewritten in ``layer_0/`` after the run ended is
  seen only with ``--refresh``; a new ``layer_3/`` is seen. A difference falls back to
  the full listing. S3 (:mod:`.s3`) needs none of this: its listing of a whole run,
  with ETags, is one request or a share of one.
- ``--trust-ended-runs`` (the session's ``trust_ended_runs``, checked in the pipeline):
  an ended run's entry is served without any listing at all.

Only runs whose status is FINISHED, FAILED or KILLED are cached (:func:`cacheable`),
and only when every file could be read.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import time

from .. import __version__
from ..uri import redact_uri
from .paths import local_path_of

ENDED = frozenset({"FINISHED", "FAILED", "KILLED"})
SCHEMA = 2
#: a listing whose newest change is younger than this gets no quick (stat-only) check
RACY_NS = 2_000_000_000
#: :func:`check`'s answer when the stored manifest needs no update
KEEP = object()


def store_identity(tracking_uri: str | None) -> str:
    """The tracking store as a cache-key component: credentials dropped, local paths
    made absolute (``sqlite:///mlflow.db`` means different stores in different dirs)."""
    uri = tracking_uri or ""
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        path = uri[len("sqlite:///"):]
        if path and path != ":memory:":
            uri = "sqlite:///" + os.path.abspath(path)
    elif uri and "://" not in uri:
        uri = os.path.abspath(uri)
    elif uri.startswith("file:"):
        local = local_path_of(uri)
        if local:
            uri = "file://" + os.path.abspath(local)
    return redact_uri(uri)


def parsers_key(parsers) -> str:
    """Changes whenever any selected parser (or this package) may yield other rows."""
    keys = sorted(p.cache_key for p in parsers)
    text = "\n".join([f"schema={SCHEMA}", f"core={__version__}", *keys])
    return hashlib.sha256(text.encode()).hexdigest()


def run_key(store_id: str, run, parsers_digest: str) -> str:
    """The key of one run's entry (see the module docstring)."""
    info, data = run.info, run.data
    h = hashlib.sha256()
    for part in (store_id, info.run_id, info.artifact_uri or "", info.status or "",
                 str(info.end_time), parsers_digest):
        h.update(str(part).encode("utf-8", "surrogateescape"))
        h.update(b"\0")
    h.update(repr((sorted(data.params.items()), sorted(data.tags.items()))).encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def cacheable(run) -> bool:
    return run.info.status in ENDED and run.info.end_time is not None


def storable(reader, read_failed: bool) -> bool:
    """Whether a fresh read may be stored: nothing failed to fetch, not even a file a
    parser read beside its own through ``ctx.read``."""
    return reader is not None and not read_failed and not reader.read_errors


# --- what a run's rows depended on -------------------------------------------------------
def scope_of(reader) -> dict:
    """What a result depended on beyond the plan's listing: the whole run when a parser
    listed it, and the directories of files parsers read outside the listing."""
    known = reader.listed()
    extra_dirs = sorted({posixpath.dirname(p) for p in reader.accessed if p not in known})
    return {"full": reader.listed_all, "dirs": extra_dirs}


def snapshot(reader, scope: dict | None = None) -> dict:
    """path -> stat of every file the patterns match (every file, when a parser listed
    the run), plus the directories ``scope`` adds (marked ``"<dir>/": "dir"``)."""
    scope = scope or {"full": False, "dirs": []}
    stats: dict = {}
    if scope.get("full"):
        paths = reader.list_all()
    else:
        paths = reader.list()
        if reader.plan is not None:
            paths = [p for p in paths if reader.plan.matches_any(p)]
    for p in paths:
        if p not in reader.missing:
            stats[p] = reader.stats.get(p)
    for d in scope.get("dirs", ()):
        stats.update(reader.list_dir(d))
        stats[f"{d}/"] = "dir"
    return stats


def listing_fingerprint(stats: dict) -> str:
    """One digest of a listing: every path with its size (and mtime when known)."""
    h = hashlib.sha1()
    for path in sorted(stats):
        h.update(path.encode("utf-8", "surrogateescape"))
        h.update(b"\0")
        h.update(repr(stats[path]).encode())
        h.update(b"\n")
    return h.hexdigest()


def _stat_digest(values) -> str:
    return hashlib.sha1(repr(values).encode()).hexdigest()


def manifest(reader, snap: dict, scope: dict | None = None) -> dict | None:
    """What a later check may stat instead of listing (local readers): every
    directory listed with its mtime from before the listing, every file of the snapshot,
    and a digest of their stats. A file added to or removed from a listed directory
    moves the directory's mtime, a rewrite moves the file's, so equal stats mean an
    equal listing. None when anything is younger than :data:`RACY_NS`. Remote readers
    that list directory by directory get a :func:`shallow_manifest` instead."""
    if not reader.is_local:
        return shallow_manifest(reader, scope)
    files = sorted(p for p in snap if not p.endswith("/"))
    dirs = sorted(reader.dir_stats)
    values = ([reader.dir_stats[d] for d in dirs], [snap[p] for p in files])
    newest = max([m for m in values[0] if m is not None]
                 + [v[1] for v in values[1] if isinstance(v, tuple)], default=0)
    if newest > time.time_ns() - RACY_NS:
        return None
    return {"dirs": dirs, "files": files, "digest": _stat_digest(values)}


def manifest_holds(reader, stored: dict) -> bool:
    """Whether the directories and files of a stored manifest still have the same stats."""
    return _stat_digest(reader.restat(stored["dirs"], stored["files"])) == stored["digest"]


def _root_digest(reader, root: str) -> str:
    """What a shallow check compares of one root: its files the patterns match, with
    their sizes, and its directories the patterns can reach (others do not matter)."""
    plan = reader.plan
    kept = sorted((path, is_dir, None if is_dir else size) for path, is_dir, size in reader.entries(root)
                  if (plan.may_contain(path) if is_dir else plan.matches_any(path)))
    return _stat_digest(kept)


def shallow_manifest(reader, scope: dict | None) -> dict | None:
    """The roots of the plan and a digest of each one's listing (see the module
    docstring), for readers that list one directory per request
    (:class:`~.remote.RemoteArtifactReader`). None when a root was not listed while
    reading (a literal path was fetched directly: checking it costs one listing anyway),
    or a parser listed the run or read beside its pattern (those need the full check)."""
    if getattr(reader, "dir_entries", None) is None or reader.plan is None:
        return None
    scope = scope or {}
    if scope.get("full") or scope.get("dirs"):
        return None
    roots = [root for root, _ in reader.plan.roots()]
    if not roots or any(root not in reader.dir_entries for root in roots):
        return None
    return {"shallow": {root: _root_digest(reader, root) for root in roots}}


def shallow_holds(reader, stored: dict) -> bool:
    """Whether each root of a stored shallow manifest lists as it did (one request each)."""
    roots = stored.get("shallow") or {}
    if getattr(reader, "entries", None) is None or reader.plan is None or not roots:
        return False
    if sorted(roots) != sorted(root for root, _ in reader.plan.roots()):
        return False
    return all(_root_digest(reader, root) == digest for root, digest in roots.items())


def record_state(reader, scope: dict) -> tuple[str, dict | None]:
    """The listing fingerprint and the manifest of a reader's record (one snapshot)."""
    snap = snapshot(reader, scope)
    return listing_fingerprint(snap), manifest(reader, snap, scope)


def check(reader, entry) -> tuple[bool, object]:
    """Whether ``entry`` (a :class:`~.cache_store.Entry`) still stands for the run
    ``reader`` reads, and the manifest to store with it (:data:`KEEP` when unchanged;
    a listing changed where no row looks, a file no pattern matches, renews it so the
    next check need not list again). Raises what listing raises."""
    stored = entry.manifest
    if stored is not None and reader.is_local and "digest" in stored and manifest_holds(reader, stored):
        return True, KEEP  # nothing listed has changed: no need to list
    if stored is not None and not reader.is_local and "shallow" in stored and shallow_holds(reader, stored):
        return True, KEEP  # the roots list as they did: their directories are not listed
    current, renewed = record_state(reader, entry.scope)
    if current != entry.fingerprint:
        return False, KEEP
    return True, (KEEP if renewed == entry.manifest else renewed)
