"""What a parser is, and what it gets to see while parsing."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from .loaders import resolve_loader
from .pattern import ArtifactPattern


@dataclass(frozen=True)
class Parser:
    """A named artifact parser: which files (``pattern``) and how to read them (``parse``).

    ``plugin`` is the name of the plugin that registered it (for ``mlflow-sweep plugins``
    and for cache keys, together with ``version``).

    The record fields' roles, for reports (:class:`~mlflow_sweep_plugin.hookspecs.ParserRegister`):
    ``keys`` tell a run's records (and runs) apart and group them, ``seed`` is the
    replicate axis averaged over, ``outcomes`` are summarised, ``descriptors`` are neither
    grouped by nor summarised by default. Fields not named keep the report's heuristics.
    """

    name: str
    pattern: str
    parse: Callable[[Any, "ParseContext"], Iterable[Mapping[str, Any]]]
    version: str = "1"
    loader: Any = None
    description: str = ""
    plugin: str = ""
    plugin_version: str = ""
    keys: tuple = ()
    seed: str | None = None
    outcomes: tuple = ()
    descriptors: tuple = ()

    def __post_init__(self):
        for role in ("keys", "outcomes", "descriptors"):
            value = getattr(self, role)
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise TypeError(f"parser {self.name!r}: {role} must be a sequence of field names")
            object.__setattr__(self, role, tuple(value))
        if self.seed is not None and not isinstance(self.seed, str):
            raise TypeError(f"parser {self.name!r}: seed must be a field name")
        if not self.name or not isinstance(self.name, str):
            raise ValueError("a parser needs a non-empty name")
        if not callable(self.parse):
            raise TypeError(f"parser {self.name!r}: parse must be callable")
        self.compiled.regex  # validate the pattern now, not at the first run
        resolve_loader(self.loader, self.pattern)

    @property
    def compiled(self) -> ArtifactPattern:
        return compiled_pattern(self.pattern)

    @property
    def load(self) -> Callable[[bytes], Any]:
        return resolve_loader(self.loader, self.pattern)

    @property
    def cache_key(self) -> str:
        """Changes whenever the rows this parser yields may change."""
        return f"{self.plugin}:{self.plugin_version}:{self.name}:{self.version}:{self.pattern}"

    def describe(self) -> dict:
        return {
            "name": self.name,
            "pattern": self.pattern,
            "version": self.version,
            "plugin": self.plugin,
            "description": self.description or (inspect.getdoc(self.parse) or "").split("\n")[0],
        }


_PATTERNS: dict[str, ArtifactPattern] = {}


def compiled_pattern(pattern: str) -> ArtifactPattern:
    """The :class:`ArtifactPattern` of ``pattern``, compiled once per process."""
    try:
        return _PATTERNS[pattern]
    except KeyError:
        return _PATTERNS.setdefault(pattern, ArtifactPattern(pattern))


@dataclass
class ParseContext:
    """What a parse function may know about the file it parses.

    ``read(path)`` returns the raw bytes of another artifact of the same run (paths are
    relative to the run's artifact root and may not leave it); ``list()`` returns every
    artifact path of the run. Parsers that combine several files (a metrics file plus
    per-learner arrays, say) use them.
    """

    run_id: str
    path: str
    captures: dict = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    _reader: Any = None

    def list(self) -> list[str]:
        return list(self._reader.list()) if self._reader is not None else []

    def read(self, path: str) -> bytes:
        if self._reader is None:
            raise FileNotFoundError(path)
        return self._reader.read(path)
