"""How much work one artifact may cost: bounded, whatever a hostile file claims.

Artifacts come from whoever could write to the run, so every read is bounded before it
is done, and a file over a limit is bad input (one warning naming run, path and the
number; the run's other files and the other runs are exported):

- **bytes per artifact** (``--max-artifact-bytes``, ``$MLFLOW_SWEEP_MAX_ARTIFACT_BYTES``,
  default 1 GiB): a listed size is checked before the file is fetched, a local file's
  size before it is read, a download's size before it is loaded; an ``.npz``'s declared
  member sizes and array shapes before anything is inflated (a zip bomb of 2 MB that
  inflates to 2 GiB is refused unopened).
- **values per YAML document**: the node limit of :mod:`mlflow_sweep_plugin.parsers.bounds`
  (``$MLFLOW_SWEEP_MAX_NODES``, default 2,000,000), which every walk over a loaded tree
  obeys, is also the YAML loader's: aliases are counted as what they expand to, on the
  composed document, before anything is built (a "billion laughs" file is refused in
  milliseconds).
- **columns per record** (``--max-columns``, ``$MLFLOW_SWEEP_MAX_COLUMNS``, default
  10,000): a record with more fields (a JSON object of 10^6 keys) gives no row.

The export, ``flatten`` and the report read through one
:class:`~mlflow_sweep_plugin.export.session.ReadSession`, whose :class:`Limits` every
reader (local, remote, S3) and loader of that read obeys; the loaders see them through
:func:`current` (set by :func:`applied` around each parser call).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
from dataclasses import dataclass

from .errors import BadArtifact, UsageError

MAX_ARTIFACT_BYTES = 1 << 30  # 1 GiB
MAX_COLUMNS = 10_000
MAX_ARTIFACT_BYTES_ENV = "MLFLOW_SWEEP_MAX_ARTIFACT_BYTES"
MAX_COLUMNS_ENV = "MLFLOW_SWEEP_MAX_COLUMNS"

_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "m": 10**6, "mb": 10**6, "mib": 2**20,
          "g": 10**9, "gb": 10**9, "gib": 2**30, "t": 10**12, "tb": 10**12, "tib": 2**40}


def parse_size(text) -> int:
    """``1073741824``, ``"1GiB"``, ``"500MB"``, ``"2g"`` -> bytes; ValueError otherwise."""
    if isinstance(text, int):
        value = text
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(text))
        if not m or m.group(2).lower() not in _UNITS:
            raise ValueError(f"not a size: {text!r} (e.g. 1073741824, 500MB, 1GiB)")
        value = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if value < 1:
        raise ValueError(f"a size must be at least 1 byte, not {text!r}")
    return value


def _env_int(name: str, default: int, parse=int) -> int:
    raw = os.environ.get(name, "")
    if not raw:
        return default
    try:
        return max(1, parse(raw))
    except ValueError:
        return default


def show_size(n: int) -> str:
    """``1073741824`` -> ``"1,073,741,824 bytes (1.0 GiB)"``."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n:,} bytes ({n / size:.1f} {unit})"
    return f"{n:,} bytes"


@dataclass(frozen=True)
class Limits:
    """The bounds of one read (see the module docstring)."""

    max_artifact_bytes: int = MAX_ARTIFACT_BYTES
    max_columns: int = MAX_COLUMNS

    @classmethod
    def from_env(cls, max_artifact_bytes=None, max_columns=None) -> "Limits":
        """The given values, else the environment's, else the defaults."""
        return cls(
            max_artifact_bytes=parse_size(max_artifact_bytes) if max_artifact_bytes is not None
            else _env_int(MAX_ARTIFACT_BYTES_ENV, MAX_ARTIFACT_BYTES, parse_size),
            max_columns=int(max_columns) if max_columns is not None
            else _env_int(MAX_COLUMNS_ENV, MAX_COLUMNS),
        )

    @classmethod
    def requested(cls, max_artifact_bytes=None, max_columns=None) -> "Limits":
        """:meth:`from_env` for what a user gave (``--max-artifact-bytes``,
        ``--max-columns``): a value that does not parse is a usage error (exit 2)."""
        try:
            limits = cls.from_env(max_artifact_bytes=max_artifact_bytes, max_columns=max_columns)
        except ValueError as exc:
            raise UsageError(f"--max-artifact-bytes: {exc}") from None
        if limits.max_columns < 1:
            raise UsageError("--max-columns must be at least 1")
        return limits

    def check_size(self, size, what: str = "the file") -> None:
        """:class:`ArtifactTooLarge` when ``size`` (bytes, None: unknown) is over the limit."""
        if size is not None and size > self.max_artifact_bytes:
            raise ArtifactTooLarge(size, self.max_artifact_bytes, what)

    def check_columns(self, n: int) -> None:
        """:class:`TooManyColumns` when a record of ``n`` fields is over the limit."""
        if n > self.max_columns:
            raise TooManyColumns(n, self.max_columns)


class ArtifactTooLarge(BadArtifact):
    """An artifact (or what it inflates to) is larger than ``--max-artifact-bytes``."""

    def __init__(self, size: int, limit: int, what: str = "the file"):
        super().__init__(f"{what} is {show_size(size)}, more than the limit of {show_size(limit)} "
                         f"(--max-artifact-bytes / ${MAX_ARTIFACT_BYTES_ENV}): not read")
        self.size = size
        self.limit = limit


class TooManyColumns(BadArtifact):
    """A record with more fields than ``--max-columns``."""

    def __init__(self, n: int, limit: int):
        super().__init__(f"a record with {n:,} columns, more than the limit of {limit:,} "
                         f"(--max-columns / ${MAX_COLUMNS_ENV}): no row")
        self.n = n
        self.limit = limit


_CURRENT: contextvars.ContextVar[Limits | None] = contextvars.ContextVar("mlflow_sweep_limits", default=None)


def current() -> Limits:
    """The limits of the read in progress in this thread (:func:`applied`), else the
    environment's."""
    limits = _CURRENT.get()
    return limits if limits is not None else Limits.from_env()


@contextlib.contextmanager
def applied(limits: Limits | None):
    """``limits`` are :func:`current` inside (nothing changes for ``None``)."""
    if limits is None:
        yield
        return
    token = _CURRENT.set(limits)
    try:
        yield
    finally:
        _CURRENT.reset(token)
