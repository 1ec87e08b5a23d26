"""Read a run's artifacts: directly from disk when local, through one artifact
repository per run when remote.

Every path a reader accepts is relative to the run's artifact root and normalised;
``..``, absolute paths and symlinks that leave the root are refused, because an
artifact listing comes from whoever could write to the tracking server.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tempfile
from urllib.parse import unquote, urlparse

from ..parsers.pattern import ArtifactPattern


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
    parsed = urlparse(artifact_uri)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            return None
        return unquote(parsed.path)
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):
        return artifact_uri
    return None


class ListingPlan:
    """Which directories the parser patterns can match, so remote listings stay small."""

    def __init__(self, patterns):
        self.patterns = [p if isinstance(p, ArtifactPattern) else ArtifactPattern(p) for p in patterns]

    def roots(self) -> list[tuple[str, int | None]]:
        """(directory, max remaining depth) pairs to list; depth None means unbounded."""
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
        # drop roots that an ancestor's listing already covers
        keep: dict[str, int | None] = {}
        for root, depth in sorted(out.items(), key=lambda kv: kv[0].count("/") + bool(kv[0])):
            covered = False
            for anc, anc_depth in keep.items():
                if anc and not root.startswith(anc + "/"):
                    continue
                below = root.count("/") + 1 - (anc.count("/") + 1 if anc else 0)
                if anc_depth is None or (depth is not None and anc_depth >= below + depth):
                    covered = True
                    break
            if not covered:
                keep[root] = depth
        return sorted(keep.items())

    def matches_any(self, path: str) -> bool:
        return any(p.regex.fullmatch(path) for p in self.patterns)


class LocalArtifactReader:
    """Lists and reads files under a local artifact root with no temp-dir round trip."""

    is_local = True

    def __init__(self, root: str):
        self.root = os.path.realpath(root)
        self._listing: list[str] | None = None

    def list(self) -> list[str]:
        if self._listing is None:
            out = []
            if os.path.isdir(self.root):
                for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
                    rel = os.path.relpath(dirpath, self.root)
                    rel = "" if rel == "." else rel.replace(os.sep, "/")
                    for fn in filenames:
                        out.append(f"{rel}/{fn}" if rel else fn)
            out.sort()
            self._listing = out
        return self._listing

    def _full(self, path: str) -> str:
        rel = safe_relpath(path)
        full = os.path.realpath(os.path.join(self.root, *rel.split("/")))
        if full != self.root and not full.startswith(self.root + os.sep):
            raise UnsafeArtifactPath(f"artifact path {path!r} resolves outside the run's root")
        return full

    def read(self, path: str) -> bytes:
        with open(self._full(path), "rb") as fh:
            return fh.read()

    def fingerprint(self, path: str) -> str:
        st = os.stat(self._full(path))
        return f"{st.st_size}:{st.st_mtime_ns}"


class RemoteArtifactReader:
    """One MLflow artifact repository per run; lists only what the patterns can match."""

    is_local = False

    def __init__(self, artifact_uri: str, plan: ListingPlan | None = None, repository=None):
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        self.artifact_uri = artifact_uri
        self.repo = repository or get_artifact_repository(artifact_uri)
        self.plan = plan
        self._listing: list[str] | None = None
        self._sizes: dict[str, int | None] = {}

    def _walk(self, directory: str, depth: int | None, out: list[str]) -> None:
        for info in self.repo.list_artifacts(directory or None):
            rel = safe_relpath(info.path)
            if info.is_dir:
                if depth is None or depth > 1:
                    self._walk(rel, None if depth is None else depth - 1, out)
            else:
                out.append(rel)
                self._sizes[rel] = info.file_size

    def list(self) -> list[str]:
        if self._listing is None:
            out: list[str] = []
            roots = self.plan.roots() if self.plan is not None else [("", None)]
            for root, depth in roots:
                self._walk(root, depth, out)
            self._listing = sorted(set(out))
        return self._listing

    def read(self, path: str) -> bytes:
        rel = safe_relpath(path)
        tmp = tempfile.mkdtemp(prefix="mlflow-sweep-")
        try:
            local = self.repo.download_artifacts(rel, dst_path=tmp)
            real_tmp = os.path.realpath(tmp)
            if not os.path.realpath(local).startswith(real_tmp + os.sep):
                raise UnsafeArtifactPath(f"artifact path {path!r} was written outside the temp dir")
            with open(local, "rb") as fh:
                return fh.read()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def fingerprint(self, path: str) -> str:
        if self._listing is None:
            self.list()
        return f"{self._sizes.get(safe_relpath(path))}"


def reader_for(artifact_uri: str, plan: ListingPlan | None = None):
    """A local reader when the artifact URI is on this machine, else a remote one."""
    local = local_path_of(artifact_uri)
    if local is not None:
        return LocalArtifactReader(local)
    return RemoteArtifactReader(artifact_uri, plan)
