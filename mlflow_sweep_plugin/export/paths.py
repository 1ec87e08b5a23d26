"""Artifact paths: normalised, relative to the run's root, never outside it.

Why a stage of its own: an artifact listing comes from whoever could write to the
tracking server, so every path a reader accepts passes through :func:`safe_relpath`
(``..``, absolute paths and NUL bytes are refused), and local reads resolve links and
refuse any that leave the root.
"""

from __future__ import annotations

import os
import posixpath
from urllib.parse import unquote, urlparse


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


def resolve_inside(root: str, path: str) -> str:
    """The real local path of ``path`` under the real directory ``root``; refuses a
    path (or a link on its way) that leads outside it."""
    rel = safe_relpath(path)
    full = os.path.realpath(os.path.join(root, *rel.split("/")))
    if full != root and not full.startswith(root + os.sep):
        raise UnsafeArtifactPath(f"artifact path {path!r} resolves outside the run's root")
    return full
