"""Read runs whose artifacts are on S3 (``s3://`` artifact URIs) straight through boto3.

Why our own reader and not MLflow's S3 repository: MLflow lists one directory per
request (``ListObjectsV2`` with ``Delimiter="/"``), so a 500-run sweep with three layer
directories per run costs 2,000 listing requests, and a warm export (whose cache check
is a listing) costs as many as a cold one. Here a run's keys are listed **without a
delimiter** over its prefix, 1,000 keys a request: a run costs one request, whatever its
depth. And when several runs of the export share an experiment's prefix
(``s3://bucket/<experiment>/<run_id>/artifacts``), that prefix is listed once for all of
them (:class:`S3Listings`, one per export): a 1,500-file sweep is two requests.

Listing a whole experiment could cost more than listing the runs one by one (a
``--filter`` that keeps 5 of 10,000 runs with checkpoints): it stops once it has made as
many requests as there are runs to read under that prefix, and the runs it did not get
to list their own prefix. Only keys in directories the parser patterns can reach are
kept from a shared listing (a parser listing its whole run gets a listing of its own).

Each key's size and ETag go into the reader's ``stats``, so the cache's fingerprint
sees a file rewritten with the same size. Files are fetched with ``GetObject`` straight
into memory (no scratch file), in parallel through the session's pool.

The client: boto3's usual credential chain (environment, profile, instance role), never
printed; MLflow's own S3 settings (``MLFLOW_S3_ENDPOINT_URL``, ``MLFLOW_S3_IGNORE_TLS``,
``MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE``, ``MLFLOW_S3_EXPECTED_BUCKET_OWNER``); timeouts from
the export's fail-fast HTTP policy and botocore's standard retries (3 attempts, for
throttling, 5xx and connection errors). Without boto3 the session falls back to MLflow's
repository (:mod:`.remote`).
"""

from __future__ import annotations

import collections
import importlib.util
import os
import posixpath
import threading
from urllib.parse import urlparse

from ..failures import is_not_found, s3_connection_error
from ..limits import ArtifactTooLarge
from .paths import UnsafeArtifactPath, safe_relpath
from .plan import ListingPlan
from .readers import ArtifactReader

#: keys per ListObjectsV2 request (S3's maximum)
PAGE_KEYS = 1000
#: a shared listing may always make this many requests, whatever the number of runs
MIN_SHARED_PAGES = 2
#: runs of one export under one prefix before that prefix is listed once for all
MIN_SHARED_RUNS = 2


def is_s3_uri(artifact_uri: str | None) -> bool:
    return bool(artifact_uri) and artifact_uri[:5].lower() == "s3://"


def boto3_available() -> bool:
    return importlib.util.find_spec("boto3") is not None


def split_uri(artifact_uri: str) -> tuple[str, str]:
    """(bucket, key prefix without slashes at either end) of an ``s3://`` URI."""
    parsed = urlparse(artifact_uri)
    return parsed.netloc, parsed.path.strip("/")


def _layout(prefix: str) -> tuple[str, int]:
    """(the prefix runs of one experiment share, how many key segments name a run under
    it): ``exp/<run_id>/artifacts`` -> (``exp/``, 2); any other layout -> (its parent, 1)."""
    parent, last = posixpath.split(prefix)
    if last == "artifacts" and parent:
        grand, _ = posixpath.split(parent)
        return (grand + "/" if grand else ""), 2
    return (parent + "/" if parent else ""), 1


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


def make_client(max_connections: int = 10):
    """A boto3 S3 client with MLflow's S3 settings and the export's timeouts."""
    import boto3  # optional and heavy: only for s3:// artifacts
    from botocore.config import Config  # (boto3's)

    try:
        timeout = float(os.environ.get("MLFLOW_HTTP_REQUEST_TIMEOUT", "") or 30)
    except ValueError:
        timeout = 30.0
    signature = os.environ.get("MLFLOW_EXPERIMENTAL_S3_SIGNATURE_VERSION", "s3v4")
    if signature.lower() == "unsigned":
        from botocore import UNSIGNED  # (boto3's)

        signature = UNSIGNED
    config = Config(signature_version=signature,
                    s3={"addressing_style": os.environ.get("MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE") or "auto"},
                    connect_timeout=min(timeout, 10.0), read_timeout=timeout,
                    retries={"max_attempts": 3, "mode": "standard"},
                    max_pool_connections=max(10, max_connections))
    return boto3.client("s3", endpoint_url=os.environ.get("MLFLOW_S3_ENDPOINT_URL") or None,
                        verify=False if _env_flag("MLFLOW_S3_IGNORE_TLS") else None, config=config)


class S3Listings:
    """What one export's S3 readers share: the client, how many runs of the export are
    under each experiment prefix (:meth:`expect`), the listings of those prefixes made
    once for all their runs, and a count of the requests made (``requests``)."""

    def __init__(self, plan: ListingPlan | None = None, workers: int = 8):
        self.plan = plan
        self.workers = workers
        self._lock = threading.Lock()
        self._client = None
        self._expected: collections.Counter = collections.Counter()
        self._groups: dict = {}
        self.requests: collections.Counter = collections.Counter()  # "list", "get"
        owner = os.environ.get("MLFLOW_S3_EXPECTED_BUCKET_OWNER")
        self.owner_params = {"ExpectedBucketOwner": owner} if owner else {}

    @property
    def client(self):
        with self._lock:
            if self._client is None:
                self._client = make_client(2 * self.workers + 2)
            return self._client

    def expect(self, artifact_uri: str) -> None:
        """A run under ``artifact_uri`` is coming in this export."""
        if is_s3_uri(artifact_uri):
            bucket, prefix = split_uri(artifact_uri)
            group, depth = _layout(prefix)
            with self._lock:
                self._expected[(bucket, group, depth)] += 1

    def count(self, kind: str, n: int = 1) -> None:
        with self._lock:
            self.requests[kind] += n

    def list_prefix(self, bucket: str, prefix: str, max_pages: int | None = None):
        """Iterate the pages of ``ListObjectsV2`` over ``prefix`` (no delimiter); each
        page is a list of S3 objects. Stops after ``max_pages`` pages."""
        token = None
        pages = 0
        while True:
            kwargs = dict(Bucket=bucket, Prefix=prefix, MaxKeys=PAGE_KEYS, **self.owner_params)
            if token:
                kwargs["ContinuationToken"] = token
            self.count("list")
            try:
                page = self.client.list_objects_v2(**kwargs)
            except Exception as exc:  # noqa: BLE001 - told as what it means
                err = s3_connection_error(exc)
                if err is None:
                    raise
                raise err from exc
            pages += 1
            yield page.get("Contents", [])
            if not page.get("IsTruncated"):
                return
            token = page.get("NextContinuationToken")
            if not token or (max_pages is not None and pages >= max_pages):
                if token:
                    raise _Truncated()
                return

    def shared_keys(self, bucket: str, prefix: str):
        """The keys of the run under ``prefix`` from its experiment's shared listing, as
        {relative path: (size, ETag)} of the directories the plan reaches; None when the
        run is not shared with others of the export, or the shared listing stopped before
        it (then the run lists its own prefix)."""
        group, depth = _layout(prefix)
        key = (bucket, group, depth)
        with self._lock:
            expected = self._expected.get(key, 0)
            if expected < MIN_SHARED_RUNS or self.plan is None:
                return None
            listing = self._groups.get(key)
            if listing is None:
                listing = self._groups[key] = _SharedListing(self, bucket, group, depth)
        return listing.keys_of(prefix, lambda: max(MIN_SHARED_PAGES, self._expected.get(key, 0)))

    def close(self) -> None:
        with self._lock:
            self._groups.clear()


class _Truncated(Exception):
    """A shared listing reached its budget of requests."""


class _SharedListing:
    """One experiment prefix listed once for every run of the export under it."""

    def __init__(self, owner: S3Listings, bucket: str, group: str, depth: int):
        self.owner = owner
        self.bucket = bucket
        self.group = group
        self.depth = depth
        self.lock = threading.Lock()
        self.done = False
        self.failed = False
        self.covered_to: str | None = None  # the last key listed when it stopped early
        self.runs: dict[str, dict] = {}

    def keys_of(self, prefix: str, budget) -> dict | None:
        with self.lock:
            if not self.done:
                self._list(budget())
            if self.failed:
                return None
            if self.covered_to is not None:
                start = prefix + "/"
                if not (self.covered_to > start and not self.covered_to.startswith(start)):
                    return None  # not reached before the listing stopped
            return self.runs.get(prefix, {})

    def _list(self, max_pages: int) -> None:
        plan = self.owner.plan
        depth = self.depth
        n = len(self.group)
        last = None
        try:
            for objects in self.owner.list_prefix(self.bucket, self.group, max_pages=max_pages):
                for obj in objects:
                    k = obj["Key"]
                    last = k
                    parts = k[n:].split("/", depth)
                    if len(parts) <= depth or (depth == 2 and parts[1] != "artifacts"):
                        continue
                    rel = parts[depth]
                    if not rel or rel.endswith("/"):
                        continue  # a directory marker
                    directory = posixpath.dirname(rel)
                    if directory and not plan.may_contain(directory):
                        continue  # never listed for a pattern: not kept
                    run_prefix = self.group + "/".join(parts[:depth])
                    self.runs.setdefault(run_prefix, {})[rel] = (int(obj.get("Size", 0)), obj.get("ETag"))
        except _Truncated:
            self.covered_to = last
        except Exception:  # noqa: BLE001 - each run lists its own and reports what it gets
            self.failed = True
        self.done = True


def listings_of(session) -> S3Listings:
    """The session's :class:`S3Listings` (made on first use)."""
    shared = session.shared
    listings = shared.get("s3")
    if listings is None:
        listings = shared.setdefault("s3", S3Listings(session.plan, session.workers))
    return listings


class S3ArtifactReader(ArtifactReader):
    """A run's artifacts under an ``s3://`` URI, listed in one request (or none: from
    its experiment's shared listing) and fetched with ``GetObject``. Thread-safe reads."""

    def __init__(self, artifact_uri: str, plan: ListingPlan | None = None, session=None,
                 listings: S3Listings | None = None):
        super().__init__(plan)
        self.artifact_uri = artifact_uri
        self.bucket, self.prefix = split_uri(artifact_uri)
        if listings is None:
            listings = listings_of(session) if session is not None else S3Listings(plan)
        self.listings = listings
        self._keys: dict | None = None  # relative path -> (size, ETag)
        self._complete = False          # every key of the run, not only those the plan reaches

    def _key(self, rel: str) -> str:
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def _run_keys(self, complete: bool) -> dict:
        if self._keys is None and not complete:
            shared = self.listings.shared_keys(self.bucket, self.prefix)
            if shared is not None:
                self._keys = shared
        if self._keys is None or (complete and not self._complete):
            start = self.prefix + "/" if self.prefix else ""
            keys: dict = {}
            for objects in self.listings.list_prefix(self.bucket, start):
                for obj in objects:
                    rel = obj["Key"][len(start):]
                    if not rel or rel.endswith("/"):
                        continue  # the prefix itself, or a directory marker
                    keys[rel] = (int(obj.get("Size", 0)), obj.get("ETag"))
            self._keys = keys
            self._complete = True
        return self._keys

    def _list_tree(self, directory: str, depth: int | None, prune: bool, out: dict) -> None:
        # only the directories the plan reaches are kept from a shared listing: that is
        # enough for a pruned walk, or one directory the plan reaches
        enough = prune or (depth == 1 and (self.plan is None or self.plan.may_contain(directory)))
        keys = self._run_keys(complete=not enough or self.plan is None)
        base = directory + "/" if directory else ""
        for rel, stat in keys.items():
            if base and not rel.startswith(base):
                continue
            safe = safe_relpath(rel)  # raises for '..' and absolute keys: never read
            if safe != rel:
                continue  # 'a//b', 'a/./b': not a path MLflow could log
            levels = rel.count("/") - (base.count("/"))
            if depth is not None and levels >= depth:
                continue
            if prune and levels and not self.plan.may_contain(posixpath.dirname(rel)):
                continue
            out[rel] = stat

    def read(self, path: str) -> bytes:
        rel = safe_relpath(path)
        self.accessed.add(rel)
        limit = getattr(self, "max_bytes", None)  # the session's artifact size limit, when set
        self.listings.count("get")
        try:
            reply = self.listings.client.get_object(Bucket=self.bucket, Key=self._key(rel),
                                                    **self.listings.owner_params)
            size = reply.get("ContentLength")
            if limit is not None and isinstance(size, int) and size > limit:
                reply["Body"].close()
                raise ArtifactTooLarge(size, limit)  # never loaded
            data = reply["Body"].read() if limit is None else reply["Body"].read(limit + 1)
        except ArtifactTooLarge:
            raise
        except Exception as exc:  # noqa: BLE001
            if is_not_found(exc):
                raise FileNotFoundError(f"no artifact {rel!r} in {self.artifact_uri}") from None
            self.read_errors += 1
            err = s3_connection_error(exc)
            if err is None:
                raise
            raise err from exc
        if rel in self.stats:  # what was read, so the fingerprint matches the rows
            self.stats[rel] = (len(data), reply.get("ETag"))
        return data


__all__ = ["S3ArtifactReader", "S3Listings", "UnsafeArtifactPath", "boto3_available", "is_s3_uri",
           "listings_of", "make_client", "split_uri"]
