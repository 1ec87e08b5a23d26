"""The one warning channel of the library: :class:`SweepWarning` through :mod:`warnings`.

Why one channel: a host application (a notebook, a Hydra app, ``mlflow run``) decides
with the standard ``warnings`` filters what it sees, and a test catches every warning
of ours with one ``pytest.warns(SweepWarning)``. The library never prints a warning
itself; the commands print them in one place (:func:`mlflow_sweep_plugin.console.
printing_warnings`), one ``mlflow-sweep: warning: ...`` line each on stderr.

A warning about one run or one artifact carries ``run_id``, ``path`` and ``parser``
so its text names them; ``kind`` is ``"artifact"`` for bad input (the same every
time) and ``"read"`` when a file or listing could not be fetched (a run with such a
warning is not cached).

Every warning's text is passed through :func:`mlflow_sweep_plugin.uri.redact_text` when
the warning is made: a URI with credentials inside an exception's message (MLflow's
``API request to http://user:pw@host/... failed``) is told as ``http://***@host/...``,
wherever the warning goes (printed, collected, cached).
"""

from __future__ import annotations

import contextlib
import warnings

from .uri import redact_text


class SweepWarning(UserWarning):
    """Something was skipped or could not be done; the rest went on without it."""

    def __init__(self, message: str, *, run_id: str = "", path: str = "", parser: str = "",
                 kind: str = "artifact"):
        message = redact_text(message)
        super().__init__(message)
        self.message = message
        self.run_id = run_id
        self.path = path
        self.parser = parser
        self.kind = kind

    @classmethod
    def for_run(cls, run_id: str, path: str, message: str, parser: str = "",
                kind: str = "artifact") -> "SweepWarning":
        """A warning about one run (and one of its artifacts when ``path``)."""
        return cls(message, run_id=run_id, path=path, parser=parser, kind=kind)

    def __str__(self) -> str:
        if not self.run_id:
            return self.message
        where = f"run {self.run_id}"
        if self.path:
            where += f", artifact {self.path}"
        if self.parser:
            where += f" (parser {self.parser})"
        return f"{where}: {self.message}"

    def __eq__(self, other) -> bool:
        return isinstance(other, SweepWarning) and (
            (self.run_id, self.path, self.message, self.parser, self.kind)
            == (other.run_id, other.path, other.message, other.parser, other.kind))

    def __hash__(self) -> int:
        return hash((self.run_id, self.path, self.message, self.parser, self.kind))


class PluginLoadWarning(SweepWarning):
    """A plugin could not be loaded; the others still work."""


def warn(warning: "SweepWarning | str", stacklevel: int = 2) -> None:
    """Send one warning down the channel (a plain text becomes a :class:`SweepWarning`)."""
    if not isinstance(warning, SweepWarning):
        warning = SweepWarning(str(warning))
    warnings.warn(warning, stacklevel=stacklevel + 1)


class TellOnce:
    """A scope in which each warning text goes down the channel once: a sweep's children
    are flattened, then its table exported from the same artifacts, and the report reads
    them again; the user hears of a bad artifact once. ``told`` holds the texts told."""

    def __init__(self):
        self.told: set = set()

    def tell(self, warning: "SweepWarning | str") -> None:
        """Send ``warning`` on unless its text was told in this scope."""
        text = str(warning)
        if text not in self.told:
            self.told.add(text)
            warn(warning if isinstance(warning, SweepWarning) else SweepWarning(text), stacklevel=3)

    @contextlib.contextmanager
    def catching(self):
        """Warnings sent inside go on down the channel when the block ends, except those
        already told; warnings not ours pass as if not caught."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SweepWarning)
            yield self
        for w in caught:
            if isinstance(w.message, SweepWarning):
                self.tell(w.message)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
