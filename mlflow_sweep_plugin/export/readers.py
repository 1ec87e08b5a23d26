"""Read a run's artifacts: directly from disk when local (:class:`LocalArtifactReader`),
through one MLflow artifact repository per run when remote (:mod:`.remote`);
:meth:`.session.ReadSession.reader` picks one.

Readers read, and record what they listed and read: each listed file's stat (size, and
mtime locally), each listed directory's mtime taken before listing it, the paths
parsers read, guesses that were absent and fetches that failed. What that record
means for a cached entry is decided in :mod:`.cache`, not here.

Readers list only the directories the parser patterns can reach (:mod:`.plan`), and
accept only paths inside the run's root (:mod:`.paths`).
"""

from __future__ import annotations

import os
import stat as stat_module

from ..limits import ArtifactTooLarge
from .paths import UnsafeArtifactPath, resolve_inside, safe_relpath
from .plan import ListingPlan


class ArtifactMissing(FileNotFoundError):
    """A file guessed from a literal pattern (never listed) is not there: no file, no row."""


class NotRegularFile(UnsafeArtifactPath):
    """A FIFO, socket or device where a file was expected: never opened (a FIFO blocks
    ``open()`` for ever, a device never ends). Bad input: one warning, no row."""


def _kind(mode: int) -> str:
    for test, name in ((stat_module.S_ISFIFO, "a FIFO"), (stat_module.S_ISSOCK, "a socket"),
                       (stat_module.S_ISCHR, "a character device"),
                       (stat_module.S_ISBLK, "a block device"), (stat_module.S_ISDIR, "a directory")):
        if test(mode):
            return name
    return "not a file"


def read_regular_file(full: str, shown: str | None = None, max_bytes: int | None = None) -> bytes:
    """The bytes of the regular file ``full``; :class:`NotRegularFile` for anything else,
    :class:`~mlflow_sweep_plugin.limits.ArtifactTooLarge` for one larger than ``max_bytes``.

    Checked with ``stat`` before opening (a device is never opened), then again on the
    open descriptor (opened non-blocking, so a FIFO swapped in meanwhile cannot block);
    at most ``max_bytes`` + 1 bytes are read (a file growing meanwhile is refused too)."""
    shown = full if shown is None else shown
    st = os.stat(full)
    if not stat_module.S_ISREG(st.st_mode):
        raise NotRegularFile(f"artifact path {shown!r} is {_kind(st.st_mode)}, not a regular file: not read")
    if max_bytes is not None and st.st_size > max_bytes:
        raise ArtifactTooLarge(st.st_size, max_bytes)
    fd = os.open(full, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    with open(fd, "rb", closefd=True) as fh:
        st = os.fstat(fd)
        if not stat_module.S_ISREG(st.st_mode):
            raise NotRegularFile(f"artifact path {shown!r} is {_kind(st.st_mode)}, not a regular file: not read")
        if max_bytes is None:
            return fh.read()
        # read what stat said (a read's buffer is as large as asked for), then on, bounded,
        # in case the file grew since
        chunks, total, want = [], 0, min(st.st_size, max_bytes) + 1
        while True:
            chunk = fh.read(want)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise ArtifactTooLarge(max(total, os.fstat(fd).st_size), max_bytes)
            want = min(1 << 20, max_bytes + 1 - total)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class ArtifactReader:
    """Plan-aware listing and the record of what was listed and read (both readers)."""

    is_local = False
    #: the largest file :meth:`read` loads (None: no limit); set by the read session
    #: (:func:`~.parse.read_run`) from its :class:`~mlflow_sweep_plugin.limits.Limits`
    max_bytes: int | None = None

    def __init__(self, plan: ListingPlan | None):
        self.plan = plan
        self._listing: list[str] | None = None
        self._full: list[str] | None = None
        self.stats: dict[str, object] = {}  # path -> (size, mtime_ns) or size
        self.dir_stats: dict[str, int | None] = {}  # directory -> mtime_ns before it was listed
        self.accessed: set[str] = set()      # paths read (by parsers, through ctx.read too)
        self.missing: set[str] = set()       # literal guesses that turned out absent
        self.read_errors = 0                 # fetches that failed (a run with any is not cached)
        self.listed_all = False              # a parser listed the whole run (ctx.list())

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

    def listed(self) -> set[str]:
        """Every path listed so far."""
        return set(self._full or ()) | set(self._listing or ())

    def list_dir(self, directory: str) -> dict:
        """path -> stat of the files directly in ``directory`` ({} when it is not there)."""
        out: dict = {}
        try:
            self._list_tree(directory, 1, False, out)
        except FileNotFoundError:
            pass
        return out

    def read(self, path: str) -> bytes:
        raise NotImplementedError


class LocalArtifactReader(ArtifactReader):
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

    def restat(self, dirs, files) -> tuple[list, list]:
        """The mtimes of ``dirs`` and the (size, mtime) of ``files`` as they are now
        (None for what is gone): what a quick cache check compares."""
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
        for d in dirs:
            try:
                dir_values.append(stat(full(d)).st_mtime_ns)
            except OSError:
                dir_values.append(None)
        file_values = []
        for p in files:
            try:
                st = stat(full(p))
                file_values.append((st.st_size, st.st_mtime_ns))
            except OSError:
                file_values.append(None)
        return dir_values, file_values

    def read(self, path: str) -> bytes:
        full = resolve_inside(self.root, path)
        self.accessed.add(safe_relpath(path))
        try:
            return read_regular_file(full, path, self.max_bytes)
        except (FileNotFoundError, NotRegularFile):
            raise  # an answer, not a failure: its directory is part of the fingerprint
        except OSError:
            self.read_errors += 1
            raise
