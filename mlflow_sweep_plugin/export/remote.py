"""Read a remote run's artifacts through one MLflow artifact repository per run.

Why our own reader and not ``mlflow.artifacts.download_artifacts``: it lists only the
directories the patterns can reach, fetches one file at a time into a reused scratch
file (no temp dir per artifact), retries transient failures per call (:mod:`.retry`),
and over HTTP fetches a file whose path a pattern names literally without listing its
directory (a 404 means "not there"). Reads are thread-safe, so a run's files can be
fetched in parallel.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tempfile
import threading
from urllib.parse import urlparse

from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
from mlflow.store.artifact.http_artifact_repo import HttpArtifactRepository
from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository
from mlflow.utils.rest_utils import augmented_raise_for_status, http_request

from ..failures import is_not_found
from ..limits import ArtifactTooLarge
from .paths import safe_relpath
from .plan import ListingPlan
from .readers import ArtifactMissing, ArtifactReader
from .retry import with_retries


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


def repository(artifact_uri: str, tracking_uri: str | None):
    """One artifact repository for a run's artifact URI.

    ``mlflow-artifacts:/`` URIs are resolved against the export's tracking URI (not the
    process-global one) into the plain HTTP repository they stand for: same requests,
    but no ``/server-info`` capability probe per run, and the same on MLflow 2.x and 3.x.
    """
    scheme = urlparse(artifact_uri).scheme
    if scheme == "mlflow-artifacts" and tracking_uri and urlparse(tracking_uri).scheme in ("http", "https"):
        # what MlflowArtifactsRepository itself does: the same URL, the same checks
        return HttpArtifactRepository(MlflowArtifactsRepository.resolve_uri(artifact_uri, tracking_uri))
    if tracking_uri:
        try:
            return get_artifact_repository(artifact_uri, tracking_uri=tracking_uri)
        except TypeError:  # MLflow 2.x: no tracking_uri argument
            pass
    return get_artifact_repository(artifact_uri)


def fetch_http(repo: HttpArtifactRepository, rel: str, local_path: str, limit: int) -> None:
    """``repo._download_file(rel, local_path)`` that stops past ``limit`` bytes.

    A file fetched without a listing (a guessed literal path) has no size before its
    GET: MLflow's download would write all of it to disk first, a 50 GB file under a
    summary's name included. Here the download stops at the declared length, or once
    ``limit`` bytes have come, with what was written (at most ``limit``) left behind."""
    resp = http_request(repo._host_creds, posixpath.join("/", rel), "GET", stream=True)
    try:
        augmented_raise_for_status(resp)
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise ArtifactTooLarge(int(declared), limit)
        got = 0
        with open(local_path, "wb") as fh:
            for chunk in resp.iter_content(chunk_size=1 << 20):
                got += len(chunk)
                if got > limit:
                    raise ArtifactTooLarge(got, limit)
                fh.write(chunk)
    finally:
        resp.close()


class RemoteArtifactReader(ArtifactReader):
    """One MLflow artifact repository per run; lists only what the patterns can match.

    ``session`` (a :class:`~.session.ReadSession`) gives the tracking URI, the scratch
    files and whether literal paths may still be guessed (it is switched off for the
    whole export when the server does not answer 404 for a missing file).
    """

    def __init__(self, artifact_uri: str, plan: ListingPlan | None = None, session=None,
                 guess_literals: bool = True, repo=None):
        super().__init__(plan)
        self.session = session
        self.artifact_uri = artifact_uri
        self.repo = repo or repository(artifact_uri, getattr(session, "tracking_uri", None))
        # Over HTTP a missing file is a clean 404, so a directory whose matching files
        # have literal names is not listed: its files are fetched directly (one request
        # per file instead of one more per directory). Sizes come from the bytes read.
        self.guess_literals = guess_literals and isinstance(self.repo, HttpArtifactRepository)
        self._guessed: set[str] = set()
        # directory -> its listing, each directory listed once per reader; what a shallow
        # cache check compares (:func:`~.cache.shallow_manifest`)
        self.dir_entries: dict[str, list] = {}

    def _guessing(self) -> bool:
        return self.guess_literals and getattr(self.session, "guess_literals", True)

    def _list_tree(self, directory: str, depth: int | None, prune: bool, out: dict) -> None:
        if prune and self._guessing():
            literal = self.plan.literal_files(directory)
            # one guess replaces a listing; more would cost as many requests as they save
            if literal is not None and len(literal) <= 1:
                for path in literal:
                    out[path] = None
                    self._guessed.add(path)
                return
        for rel, is_dir, size in self.entries(directory):
            if is_dir:
                if (depth is None or depth > 1) and (not prune or self.plan.may_contain(rel)):
                    self._list_tree(rel, None if depth is None else depth - 1, prune, out)
            else:
                out[rel] = size

    def entries(self, directory: str) -> list:
        """(path, is_dir, size) of what is directly in ``directory``: one request, the first
        time a reader asks."""
        found = self.dir_entries.get(directory)
        if found is None:
            infos = with_retries(lambda: self.repo.list_artifacts(directory or None))
            found = self.dir_entries[directory] = [(safe_relpath(i.path), bool(i.is_dir), i.file_size)
                                                   for i in infos]
        return found

    def read(self, path: str) -> bytes:
        rel = safe_relpath(path)
        self.accessed.add(rel)
        listed = self.stats.get(rel)
        if self.max_bytes is not None and isinstance(listed, int) and listed > self.max_bytes:
            raise ArtifactTooLarge(listed, self.max_bytes)  # listed too large: never fetched
        download = self.repo._download_file  # every MLflow repository has it: one file to one path
        if self.max_bytes is not None and not isinstance(listed, int) and hasattr(self.repo, "_host_creds") \
                and isinstance(self.repo, HttpArtifactRepository):
            limit = self.max_bytes

            def download(remote_file_path, local_path):  # no size known: stop at the limit
                fetch_http(self.repo, remote_file_path, local_path, limit)
        scratch = getattr(self.session, "scratch", None)
        if scratch is not None:
            tmp = scratch.path()
        else:
            fd, tmp = tempfile.mkstemp(prefix="mlflow-sweep-", suffix=".part")
            os.close(fd)
        try:
            try:
                if rel in self._guessed:
                    self._fetch_guess(rel, download, tmp)
                else:
                    with_retries(lambda: download(remote_file_path=rel, local_path=tmp))
            except ArtifactMissing:
                raise
            except ArtifactTooLarge as exc:  # stopped while fetching (fetch_http)
                if rel in self._guessed:
                    self.stats[rel] = exc.size
                raise
            except Exception as exc:  # noqa: BLE001
                if not is_not_found(exc):
                    self.read_errors += 1
                raise
            size = os.path.getsize(tmp)
            if self.max_bytes is not None and size > self.max_bytes:
                if rel in self._guessed:
                    self.stats[rel] = size
                raise ArtifactTooLarge(size, self.max_bytes)  # on disk, never loaded
            with open(tmp, "rb") as fh:
                data = fh.read()
            if rel in self._guessed:
                self.stats[rel] = len(data)
            return data
        finally:
            if scratch is None:
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
        except ArtifactTooLarge:
            raise  # there, and too large: no listing will change that
        except Exception as exc:  # noqa: BLE001
            if is_not_found(exc):
                self.missing.add(rel)
                raise ArtifactMissing(rel) from None
        directory = posixpath.dirname(rel)
        infos = with_retries(lambda: self.repo.list_artifacts(directory or None))
        sizes = {safe_relpath(i.path): i.file_size for i in infos if not i.is_dir}
        if rel not in sizes:
            self.guess_literals = False
            if self.session is not None:
                self.session.guess_literals = False
            self.missing.add(rel)
            raise ArtifactMissing(rel)
        self.stats[rel] = sizes[rel]
        with_retries(lambda: download(remote_file_path=rel, local_path=tmp))
