"""Read a run's artifacts: directly from disk when local, through one artifact
repository per run when remote.

Every path a reader accepts is relative to the run's artifact root and normalised;
``..``, absolute paths and symlinks that leave the root are refused, because an
artifact listing comes from whoever could write to the tracking server.

Readers list only the directories the parser patterns can match (:class:`ListingPlan`),
remember each listed file's size (and mtime, locally) so the export cache can tell
whether a run's artifacts changed, and record what parsers read outside that listing.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import shutil
import tempfile
import threading
import time
from urllib.parse import unquote, urlparse

from ..parsers.base import compiled_pattern
from ..parsers.pattern import ArtifactPattern
from .retry import with_retries


class UnsafeArtifactPath(ValueError):
    """An artifact path that would leave the run's artifact root."""


def safe_relpath(path: str) -> str:
    """Normalise an artifact path; refuse anything outside the root."""
    if not isinstance(path, str) or not path or "\x00" in path:
        raise UnsafeArtifactPath(f"invalid artifact path {path!r}")
    p = path.replace("\\", "/")
    if p.startswith("/") or (len(p) > 1 and p[1] == ":"):
        raise UnsafeArtifactPath(f"absolute artifact path {path!r}")
    norm = posixpath.normpath(p)
    if norm == ".." or norm.startswith("../") or norm == ".":
        raise UnsafeArtifactPath(f"artifact path {path!r} leaves the run's root")
    return norm


def local_path_of(artifact_uri: str) -> str | None:
    """The local directory of a ``file://`` or plain-path artifact URI, else None."""
    if not artifact_uri:
        return None
    if artifact_uri.startswith("/") and os.name != "nt":
        return artifact_uri  # the common local case, without parsing it as a URL
    parsed = urlparse(artifact_uri)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            return None
        return unquote(parsed.path)
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):
        return artifact_uri
    return None


def _unbounded(segment: str) -> bool:
    return "**" in segment or ":path}" in segment


def _has_token(segment: str) -> bool:
    return "*" in segment or "{" in segment


class ArtifactMissing(FileNotFoundError):
    """A file guessed from a literal pattern (never listed) is not there: no file, no row."""


class ListingPlan:
    """Which directories the parser patterns can match, so listings stay small.

    ``roots()`` gives where to start; ``may_contain(dir)`` prunes every directory no
    pattern can reach (``checkpoints/``, ``plots/``...), which matters most remotely,
    where each directory listed is one request.
    """

    def __init__(self, patterns):
        self.patterns = [p if isinstance(p, ArtifactPattern) else compiled_pattern(p) for p in patterns]
        self._roots: list | None = None
        # answers per path: a sweep's runs share their layout, so these repeat run after run
        self._contain_memo: dict[str, bool] = {}
        self._match_memo: dict[str, bool] = {}
        self._literal_memo: dict[str, tuple | None] = {}
        self._segments = []
        for pat in self.patterns:
            segs = pat.pattern.split("/")
            cut = next((i for i, s in enumerate(segs) if _unbounded(s)), None)
            fixed = segs if cut is None else segs[:cut]
            regexes = [compiled_pattern(s).regex for s in fixed]
            self._segments.append((regexes, cut, len(segs)))

    def roots(self) -> list[tuple[str, int | None]]:
        """(directory, max remaining depth) pairs to list; depth None means unbounded."""
        if self._roots is None:
            self._roots = self._compute_roots()
        return list(self._roots)

    def _compute_roots(self) -> list[tuple[str, int | None]]:
        out: dict[str, int | None] = {}
        for pat in self.patterns:
            prefix = pat.fixed_prefix
            depth = pat.depth
            remaining = None if depth is None else depth - (prefix.count("/") + 1 if prefix else 0)
            if prefix in out:
                old = out[prefix]
                out[prefix] = None if old is None or remaining is None else max(old, remaining)
            else:
                out[prefix] = remaining
        # drop roots nested in an ancestor root that already covers them
        keep: dict[str, int | None] = {}
        for root, depth in sorted(out.items(), key=lambda kv: (kv[0].count("/") if kv[0] else -1, kv[0])):
            covered = False
            for r, d in keep.items():
                if r == "" or root.startswith(r + "/"):
                    extra = (root.count("/") + 1) - (r.count("/") + 1 if r else 0)
                    if d is None or (depth is not None and extra + depth <= d):
                        covered = True
                        break
            if not covered:
                keep[root] = depth
        return sorted(keep.items())

    def matches_any(self, path: str) -> bool:
        return _remember(self._match_memo, path, lambda p: any(pat.regex.fullmatch(p) for pat in self.patterns))

    def literal_files(self, directory: str) -> list[str] | None:
        """The files under ``directory`` the patterns can match, when every pattern that
        reaches it continues with literal names only (``layer_0`` for
        ``layer_{layer}/cluster_summary.json`` -> ``layer_0/cluster_summary.json``), so
        they can be fetched without listing the directory; else None."""
        found = _remember(self._literal_memo, directory, self._literal_files)
        return None if found is None else list(found)

    def _literal_files(self, directory: str) -> tuple | None:
        parts = directory.split("/") if directory else []
        k = len(parts)
        out = []
        for pat, (regexes, cut, n_segments) in zip(self.patterns, self._segments):
            if cut is not None and cut <= k:
                return None  # an unbounded pattern reaches in here
            if k >= n_segments:
                continue
            if not all(rx.fullmatch(part) for rx, part in zip(regexes, parts)):
                continue
            rest = pat.pattern.split("/")[k:]
            if cut is not None or any(_has_token(seg) for seg in rest):
                return None
            out.append("/".join(parts + rest))
        return tuple(sorted(set(out)))

    def may_contain(self, directory: str) -> bool:
        """Whether a file under ``directory`` (relative, no trailing slash) can match."""
        if not directory:
            return True
        return _remember(self._contain_memo, directory, self._may_contain)

    def _may_contain(self, directory: str) -> bool:
        parts = directory.split("/")
        k = len(parts)
        for regexes, cut, n_segments in self._segments:
            if cut is None and k >= n_segments:
                continue
            check = parts if cut is None else parts[:cut]
            if all(rx.fullmatch(part) for rx, part in zip(regexes, check)):
                return True
        return False


_MEMO_LIMIT = 100_000
_MISSING = object()


def _remember(memo: dict, key: str, compute):
    """``compute(key)``, remembered in ``memo`` (up to :data:`_MEMO_LIMIT` keys)."""
    value = memo.get(key, _MISSING)
    if value is _MISSING:
        value = compute(key)
        if len(memo) < _MEMO_LIMIT:
            memo[key] = value
    return value
#: a listing whose newest change is younger than this gets no quick (stat-only) cache check
RACY_NS = 2_000_000_000


def _stat_digest(values) -> str:
    return hashlib.sha1(repr(values).encode()).hexdigest()


def listing_fingerprint(stats: dict) -> str:
    """One digest of a listing: every path with its size (and mtime when known)."""
    h = hashlib.sha1()
    for path in sorted(stats):
        h.update(path.encode("utf-8", "surrogateescape"))
        h.update(b"\0")
        h.update(repr(stats[path]).encode())
        h.update(b"\n")
    return h.hexdigest()


class _BaseReader:
    """What both readers share: plan-aware listing, stats, scope and fingerprints."""

    is_local = False

    def __init__(self, plan: ListingPlan | None):
        self.plan = plan
        self._listing: list[str] | None = None
        self._full: list[str] | None = None
        self.stats: dict[str, object] = {}  # path -> (size, mtime_ns) or size
        self.accessed: set[str] = set()
        self.missing: set[str] = set()   # literal guesses that turned out absent
        self.read_errors = 0              # fetches that failed (a result with any is not cached)
        self.listed_all = False
        self.dir_stats: dict[str, int | None] = {}  # directory -> mtime_ns before it was listed

    # --- listing -------------------------------------------------------------------------
    def _list_tree(self, directory: str, depth: int | None, prune: bool, out: dict) -> None:
        raise NotImplementedError

    def list(self) -> list[str]:
        """The files the patterns may match (everything when there is no plan)."""
        if self._listing is None:
            if self.plan is None:
                self._listing = self.list_all()
            else:
                out: dict = {}
                for root, depth in self.plan.roots():
                    self._list_tree(root, depth, True, out)
                self.stats.update(out)
                self._listing = sorted(out)
        return self._listing

    def list_all(self) -> list[str]:
        """Every artifact path of the run (what :meth:`ParseContext.list` promises)."""
        if self._full is None:
            out: dict = {}
            self._list_tree("", None, False, out)
            self.stats.update(out)
            self._full = sorted(out)
            self.listed_all = True
        return self._full

    # --- cache support -------------------------------------------------------------------
    def scope(self) -> dict:
        """What a cached result of this run depended on beyond the plan's listing."""
        known = set(self._full or ()) | set(self._listing or ())
        extra_dirs = sorted({posixpath.dirname(p) for p in self.accessed if p not in known})
        return {"full": self.listed_all, "dirs": extra_dirs}

    def snapshot(self, scope: dict | None = None) -> dict:
        """path -> stat of every file the patterns match (every file, when a parser
        listed the run), plus the directories ``scope`` adds."""
        scope = scope or {"full": False, "dirs": []}
        stats: dict = {}
        if scope.get("full"):
            paths = self.list_all()
        else:
            paths = self.list()
            if self.plan is not None:
                paths = [p for p in paths if self.plan.matches_any(p)]
        for p in paths:
            if p in self.missing:
                continue
            stats[p] = self.stats.get(p)
        for d in scope.get("dirs", ()):
            out: dict = {}
            try:
                self._list_tree(d, 1, False, out)
            except FileNotFoundError:
                pass
            stats.update(out)
            stats[f"{d}/"] = "dir"
        return stats

    def fingerprint_listing(self, scope: dict | None = None) -> str:
        return listing_fingerprint(self.snapshot(scope))

    def manifest(self, scope: dict | None = None) -> dict | None:
        """What a later cache check may stat instead of listing (local stores only)."""
        return self._manifest(self.snapshot(scope))

    def cache_state(self, scope: dict | None = None) -> tuple[str, dict | None]:
        """The listing fingerprint and the manifest, from one snapshot (one listing)."""
        snap = self.snapshot(scope)
        return listing_fingerprint(snap), self._manifest(snap)

    def _manifest(self, snap: dict) -> dict | None:
        return None


class LocalArtifactReader(_BaseReader):
    """Lists and reads files under a local artifact root with no temp-dir round trip."""

    is_local = True

    def __init__(self, root: str, plan: ListingPlan | None = None):
        super().__init__(plan)
        self._root = root
        self._real_root: str | None = None

    @property
    def root(self) -> str:
        """The real path of the run's root (resolved on first use: reads need it, a
        cache check only lists)."""
        if self._real_root is None:
            self._real_root = os.path.realpath(self._root)
        return self._real_root

    def _list_tree(self, directory: str, depth: int | None, prune: bool, out: dict) -> None:
        top = self._real_root or self._root
        base = top if not directory else os.path.join(top, *directory.split("/"))
        self._scan(base, directory, depth, prune, out)

    def _scan(self, base: str, directory: str, depth: int | None, prune: bool, out: dict) -> None:
        # the directory's mtime *before* listing it: whatever is added or removed later moves it
        try:
            self.dir_stats[directory] = os.stat(base).st_mtime_ns
        except OSError:
            self.dir_stats[directory] = None
        try:
            entries = list(os.scandir(base))
        except (FileNotFoundError, NotADirectoryError):
            return
        prefix = directory + "/" if directory else ""
        for entry in entries:
            rel = prefix + entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                if (depth is None or depth > 1) and (not prune or self.plan.may_contain(rel)):
                    self._scan(entry.path, rel, None if depth is None else depth - 1, prune, out)
                continue
            try:
                st = entry.stat()
                out[rel] = (st.st_size, st.st_mtime_ns)
            except OSError:
                out[rel] = None

    # --- the quick cache check: stat what was listed instead of listing it again ----------
    def _manifest(self, snap: dict) -> dict | None:
        """Every directory listed (with its mtime from before the listing) and every file
        of the snapshot, and a digest of their stats; :meth:`matches_manifest` re-stats
        them. A file added to or removed from a listed directory moves the directory's
        mtime, a rewrite moves the file's, so equal stats mean an equal listing.

        None (no quick check; the listing is compared) when anything changed less than
        :data:`RACY_NS` ago: a file-system timestamp tick could hide a change made in the
        same tick (git's "racy clean" problem)."""
        files = sorted(p for p in snap if not p.endswith("/"))
        dirs = sorted(self.dir_stats)
        values = ([self.dir_stats[d] for d in dirs], [snap[p] for p in files])
        newest = max([m for m in values[0] if m is not None]
                     + [v[1] for v in values[1] if isinstance(v, tuple)], default=0)
        if newest > time.time_ns() - RACY_NS:
            return None
        return {"dirs": dirs, "files": files, "digest": _stat_digest(values)}

    def matches_manifest(self, manifest: dict) -> bool:
        """Whether the directories and files of ``manifest`` still have the same stats."""
        top = self._real_root or self._root
        stat = os.stat
        if os.sep == "/":  # every run's check comes through here: no join/split on POSIX
            prefix = top.rstrip("/") + "/"

            def full(rel):
                return prefix + rel if rel else top
        else:  # pragma: no cover - Windows
            def full(rel):
                return os.path.join(top, *rel.split("/")) if rel else top
        dir_values = []
        for d in manifest["dirs"]:
            try:
                dir_values.append(stat(full(d)).st_mtime_ns)
            except OSError:
                dir_values.append(None)
        file_values = []
        for p in manifest["files"]:
            try:
                st = stat(full(p))
                file_values.append((st.st_size, st.st_mtime_ns))
            except OSError:
                file_values.append(None)
        return _stat_digest((dir_values, file_values)) == manifest["digest"]

    def _full_path(self, path: str) -> str:
        rel = safe_relpath(path)
        full = os.path.realpath(os.path.join(self.root, *rel.split("/")))
        if full != self.root and not full.startswith(self.root + os.sep):
            raise UnsafeArtifactPath(f"artifact path {path!r} resolves outside the run's root")
        return full

    def read(self, path: str) -> bytes:
        full = self._full_path(path)
        self.accessed.add(safe_relpath(path))
        try:
            with open(full, "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            raise  # an answer, not a failure: its directory is part of the fingerprint
        except OSError:
            self.read_errors += 1
            raise



class LiteralGuesses:
    """Whether literal paths may still be fetched without listing (shared by an export's
    readers; switched off when the server does not answer 404 for a missing file)."""

    def __init__(self):
        self.enabled = True


class ScratchFiles:
    """One reusable download file per thread, in one temp dir removed by :meth:`close`.

    MLflow repositories download to a path; creating and unlinking a temp file per
    artifact costs more than the download itself on some filesystems.
    """

    def __init__(self):
        self._local = threading.local()
        self._lock = threading.Lock()
        self._dir: str | None = None

    def path(self) -> str:
        p = getattr(self._local, "path", None)
        if p is None:
            with self._lock:
                if self._dir is None:
                    self._dir = tempfile.mkdtemp(prefix="mlflow-sweep-")
            fd, p = tempfile.mkstemp(dir=self._dir, suffix=".part")
            os.close(fd)
            self._local.path = p
        return p

    def close(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def _repository(artifact_uri: str, tracking_uri: str | None):
    """One artifact repository for a run's artifact URI.

    ``mlflow-artifacts:/`` URIs are resolved against the export's tracking URI (not the
    process-global one) into the plain HTTP repository they stand for: same requests,
    but no ``/server-info`` capability probe per run, and the same on MLflow 2.x and 3.x.
    """
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    scheme = urlparse(artifact_uri).scheme
    if scheme == "mlflow-artifacts" and tracking_uri and urlparse(tracking_uri).scheme in ("http", "https"):
        from mlflow.store.artifact.http_artifact_repo import HttpArtifactRepository
        from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository

        # what MlflowArtifactsRepository itself does: the same URL, the same checks
        return HttpArtifactRepository(MlflowArtifactsRepository.resolve_uri(artifact_uri, tracking_uri))
    if tracking_uri:
        try:
            return get_artifact_repository(artifact_uri, tracking_uri=tracking_uri)
        except TypeError:  # MLflow 2.x: no tracking_uri argument
            pass
    return get_artifact_repository(artifact_uri)


class RemoteArtifactReader(_BaseReader):
    """One MLflow artifact repository per run; lists only what the patterns can match.

    Every list and download call is retried with backoff while it fails transiently
    (see :mod:`.retry`); reads are thread-safe, so a run's files can be fetched in
    parallel.
    """

    def __init__(self, artifact_uri: str, plan: ListingPlan | None = None, repository=None,
                 tracking_uri: str | None = None,
                 guess_literals: bool = True, scratch: ScratchFiles | None = None,
                 guesses: "LiteralGuesses | None" = None):
        super().__init__(plan)
        self.scratch = scratch
        self.guesses = guesses or LiteralGuesses()
        self.artifact_uri = artifact_uri
        self.repo = repository or _repository(artifact_uri, tracking_uri)
        # Over HTTP a missing file is a clean 404, so a directory whose matching files
        # have literal names is not listed: its files are fetched directly (one request
        # per file instead of one more per directory). Sizes come from the bytes read.
        self.guess_literals = guess_literals and _is_http_repository(self.repo)
        self._guessed: set[str] = set()

    def _call(self, fn):
        return with_retries(fn)

    def _list_tree(self, directory: str, depth: int | None, prune: bool, out: dict) -> None:
        if prune and self.guess_literals and self.guesses.enabled:
            literal = self.plan.literal_files(directory)
            # one guess replaces a listing; more would cost as many requests as they save
            if literal is not None and len(literal) <= 1:
                for path in literal:
                    out[path] = None
                    self._guessed.add(path)
                return
        infos = self._call(lambda: self.repo.list_artifacts(directory or None))
        for info in infos:
            rel = safe_relpath(info.path)
            if info.is_dir:
                if (depth is None or depth > 1) and (not prune or self.plan.may_contain(rel)):
                    self._list_tree(rel, None if depth is None else depth - 1, prune, out)
            else:
                out[rel] = info.file_size

    def read(self, path: str) -> bytes:
        rel = safe_relpath(path)
        self.accessed.add(rel)
        download = getattr(self.repo, "_download_file", None)
        if download is None:  # pragma: no cover - every MLflow repository has it
            return self._call(lambda: self._read_via_download_artifacts(rel))
        if self.scratch is not None:
            tmp = self.scratch.path()
        else:
            fd, tmp = tempfile.mkstemp(prefix="mlflow-sweep-", suffix=".part")
            os.close(fd)
        try:
            try:
                if rel in self._guessed:
                    self._fetch_guess(rel, download, tmp)
                else:
                    self._call(lambda: download(remote_file_path=rel, local_path=tmp))
            except ArtifactMissing:
                raise
            except Exception as exc:  # noqa: BLE001
                if not _is_not_found(exc):
                    self.read_errors += 1
                raise
            with open(tmp, "rb") as fh:
                data = fh.read()
            if rel in self._guessed:
                self.stats[rel] = len(data)
            return data
        finally:
            if self.scratch is None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass

    def _fetch_guess(self, rel: str, download, tmp: str) -> None:
        """Fetch a path that was guessed, not listed: a 404 means "not there". A server
        that answers otherwise for a missing file (MLflow 2.x says 500) gets its
        directory listed to tell, and no more guesses for the rest of the export."""
        try:
            download(remote_file_path=rel, local_path=tmp)
            return
        except Exception as exc:  # noqa: BLE001
            if _is_not_found(exc):
                self.missing.add(rel)
                raise ArtifactMissing(rel) from None
        directory = posixpath.dirname(rel)
        infos = self._call(lambda: self.repo.list_artifacts(directory or None))
        sizes = {safe_relpath(i.path): i.file_size for i in infos if not i.is_dir}
        if rel not in sizes:
            self.guesses.enabled = False
            self.missing.add(rel)
            raise ArtifactMissing(rel)
        self.stats[rel] = sizes[rel]
        self._call(lambda: download(remote_file_path=rel, local_path=tmp))

    def _read_via_download_artifacts(self, rel: str) -> bytes:  # pragma: no cover
        tmp = tempfile.mkdtemp(prefix="mlflow-sweep-")
        try:
            local = self.repo.download_artifacts(rel, dst_path=tmp)
            if not os.path.realpath(local).startswith(os.path.realpath(tmp) + os.sep):
                raise UnsafeArtifactPath(f"artifact path {rel!r} was written outside the temp dir")
            with open(local, "rb") as fh:
                return fh.read()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def _is_http_repository(repo) -> bool:
    try:
        from mlflow.store.artifact.http_artifact_repo import HttpArtifactRepository
    except ImportError:  # pragma: no cover
        return False
    return isinstance(repo, HttpArtifactRepository)


def _is_not_found(exc: BaseException) -> bool:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None) == 404


def reader_for(artifact_uri: str, plan: ListingPlan | None = None, tracking_uri: str | None = None,
               guess_literals: bool = True, scratch: ScratchFiles | None = None,
               guesses: LiteralGuesses | None = None):
    """A local reader when the artifact URI is on this machine, else a remote one.

    ``guess_literals=False`` makes a remote reader list every directory it needs (the
    cache check does: it must see sizes without downloading)."""
    local = local_path_of(artifact_uri)
    if local is not None:
        return LocalArtifactReader(local, plan)
    return RemoteArtifactReader(artifact_uri, plan, tracking_uri=tracking_uri,
                                guess_literals=guess_literals, scratch=scratch, guesses=guesses)
