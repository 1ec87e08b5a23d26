"""What an export produced: the table, the warnings, how many runs it read."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ExportResult:
    """The table (``df``), the warnings (:class:`~mlflow_sweep_plugin.warning_types.
    SweepWarning`, in run order), the run count and the path written.

    ``stats`` counts ``cache_hits``, ``cache_misses`` (ended runs read afresh),
    ``uncached`` (running runs, or the cache off), ``files_read`` and ``left_out`` (sweep
    parents without a record, superseded retries), and gives the
    cache's ``cache_path`` (and ``cache_error`` when it could not be used).
    """

    df: object
    warnings: list = field(default_factory=list)
    n_runs: int = 0
    path: str | None = None
    format: str | None = None
    stats: dict = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return len(self.df)

    @property
    def n_columns(self) -> int:
        return len(self.df.columns)

    def summary(self, n_warnings: int | None = None) -> str:
        """The one-line summary the CLI ends with (``n_warnings`` may add plugin ones)."""
        dest = self.path or "(not written)"
        n_warnings = len(self.warnings) if n_warnings is None else n_warnings
        hits = self.stats.get("cache_hits", 0)
        cached = f" ({hits} of {self.n_runs} runs from the cache)" if hits else ""
        left = self.stats.get("left_out", 0)
        left_out = f"; {left} sweep parent or superseded run(s) left out (--include)" if left else ""
        return (f"mlflow-sweep: exported {self.n_runs} runs, {self.n_rows} rows, "
                f"{self.n_columns} columns, {n_warnings} warnings -> {dest}{cached}{left_out}")
