"""One read session per export: what every run's reading shares.

Why one object: the tracking URI, the client, the listing plan, the pool of file
downloads, the scratch files, whether literal paths may still be guessed, the cache
and its store identity and parser digest are decided once per export and needed by
every run's reader and by the cache check. :func:`~.sweep.export_sweep` builds one
session and the pipeline passes it down, instead of nine keywords through seven
signatures.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import hashlib
from dataclasses import dataclass, field

from ..limits import Limits, current as current_limits

from . import cache as cache_rules
from .cache_store import ExportCache
from .paths import local_path_of
from .plan import ListingPlan
from .readers import ArtifactReader, LocalArtifactReader
from .remote import RemoteArtifactReader, ScratchFiles
from . import s3

#: default parallelism for remote artifact stores (runs in flight, and file downloads)
DEFAULT_WORKERS = 8


@dataclass(eq=False)
class ReadSession:
    """The shared state of one export's reads (see the module docstring).

    ``cache`` is an :class:`ExportCache` (a disabled one counts as none); ``refresh``
    re-reads every run and replaces its entry; ``trust_ended_runs`` serves an ended run's
    entry without listing the run (an artifact logged after it ended is then missed
    until ``refresh``). :meth:`start` is called with the first
    run: remote stores get a pool of ``workers`` file downloads and scratch files.
    :meth:`close` releases them.
    """

    parsers: list
    tracking_uri: str | None = None
    client: object = None
    workers: int = DEFAULT_WORKERS
    cache: ExportCache | None = None
    refresh: bool = False
    #: serve an ended run's cache entry without listing it (``--trust-ended-runs``)
    trust_ended_runs: bool = False
    plan: ListingPlan = field(init=False)
    #: literal paths may be fetched without listing (off once a server answers a
    #: missing file with anything but 404)
    guess_literals: bool = True
    remote: bool = False
    pool: cf.ThreadPoolExecutor | None = field(default=None, init=False)
    scratch: ScratchFiles | None = field(default=None, init=False)
    store_id: str = field(default="", init=False)
    parsers_digest: str = field(default="", init=False)
    #: what one kind of reader shares across the export's runs (``"s3"``: the client and
    #: the experiments' shared listings, :class:`~.s3.S3Listings`)
    shared: dict = field(default_factory=dict, init=False)
    #: what one artifact may cost (:mod:`mlflow_sweep_plugin.limits`): every reader and
    #: loader of this session obeys them; default: those applied around it (``flatten``
    #: --max-artifact-bytes), else the environment's, else the defaults
    limits: Limits = field(default_factory=current_limits)

    def __post_init__(self):
        self.parsers = list(self.parsers)
        self.plan = ListingPlan([p.compiled for p in self.parsers])
        if self.cache is not None and not self.cache.enabled:
            self.cache = None
        if self.cache is not None:
            self.store_id = cache_rules.store_identity(self.tracking_uri)
            self.parsers_digest = cache_rules.parsers_key(self.parsers)
            if self.limits != Limits():  # other limits may give other rows: other entries
                self.parsers_digest = hashlib.sha256(
                    f"{self.parsers_digest}\0{self.limits!r}".encode()).hexdigest()

    @property
    def window(self) -> int:
        """How many downloads of one run may be in flight ahead of its parsing."""
        return self.workers

    def start(self, first_run) -> None:
        """Size the session for its runs: remote ones are read in parallel."""
        self.remote = first_run is not None and local_path_of(first_run.info.artifact_uri) is None
        if self.remote:
            self.scratch = ScratchFiles()
            if self.workers > 1:
                self.pool = cf.ThreadPoolExecutor(max_workers=self.workers,
                                                  thread_name_prefix="mlflow-sweep-file")

    def reader(self, artifact_uri: str, guess_literals: bool = True) -> ArtifactReader:
        return reader_for(artifact_uri, self.plan, self, guess_literals)

    def look_ahead(self, runs, n: int = 1000):
        """``runs``, unchanged, but read up to ``n`` ahead (a page of ``search_runs``,
        already in memory) so readers know which runs of the export share an artifact
        prefix (S3 lists such a prefix once for all of them, :mod:`.s3`)."""
        buffered: collections.deque = collections.deque()
        listings = None
        for run in runs:
            uri = run.info.artifact_uri
            if s3.is_s3_uri(uri):
                if listings is None:
                    listings = s3.listings_of(self)
                listings.expect(uri)
            buffered.append(run)
            if len(buffered) >= n:
                yield buffered.popleft()
        while buffered:
            yield buffered.popleft()

    def requests(self) -> dict:
        """Artifact requests counted by the readers that count them (``s3_list``, ``s3_get``)."""
        listings = self.shared.get("s3")
        return {f"s3_{k}": v for k, v in listings.requests.items()} if listings is not None else {}

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
        if self.scratch is not None:
            self.scratch.close()
            self.scratch = None


def reader_for(artifact_uri: str, plan: ListingPlan | None = None, session: ReadSession | None = None,
               guess_literals: bool = True) -> ArtifactReader:
    """A local reader when the artifact URI is on this machine, an S3 one for ``s3://``
    URIs (when boto3 is installed), else a remote one using ``session``'s tracking URI
    and scratch files.

    ``guess_literals=False`` makes a remote reader list every directory it needs (the
    cache check does: it must see sizes without downloading)."""
    local = local_path_of(artifact_uri)
    if local is not None:
        return LocalArtifactReader(local, plan)
    if s3.is_s3_uri(artifact_uri) and s3.boto3_available():
        return s3.S3ArtifactReader(artifact_uri, plan, session=session)  # one listing per run, or none
    return RemoteArtifactReader(artifact_uri, plan, session=session, guess_literals=guess_literals)
