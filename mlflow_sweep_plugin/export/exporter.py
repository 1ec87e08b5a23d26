"""The export pipeline: runs -> artifacts -> parsers -> records -> table.

One implementation behind ``mlflow-sweep export``, ``mlflow sweep-export``,
``python -m mlflow_sweep_plugin export`` and the pytest harness's exporter fixture.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

from ..errors import BadArtifact
from ..parsers import ParseContext, Parser
from .artifacts import ListingPlan, UnsafeArtifactPath, reader_for
from .table import TableBuilder


@dataclass
class SweepWarning:
    """A problem with one run or one artifact; the export went on without it."""

    run_id: str
    path: str
    message: str
    parser: str = ""

    def __str__(self) -> str:
        where = f"run {self.run_id}"
        if self.path:
            where += f", artifact {self.path}"
        if self.parser:
            where += f" (parser {self.parser})"
        return f"{where}: {self.message}"


@dataclass
class ExportResult:
    """What an export produced: the table, the warnings, and how many runs it read."""

    df: object
    warnings: list = field(default_factory=list)
    n_runs: int = 0
    path: str | None = None
    format: str | None = None

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
        return (f"mlflow-sweep: exported {self.n_runs} runs, {self.n_rows} rows, "
                f"{self.n_columns} columns, {n_warnings} warnings -> {dest}")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, (BadArtifact, UnsafeArtifactPath)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def parse_artifact(parser: Parser, reader, run, path: str, captures: dict) -> list[dict]:
    """Load one file and run one parser on it; raises on bad input."""
    data = reader.read(path)
    content = parser.load(data)
    ctx = ParseContext(run_id=run.info.run_id, path=path, captures=dict(captures),
                       params=dict(run.data.params), tags=dict(run.data.tags), _reader=reader)
    out = []
    result = parser.parse(content, ctx)
    if result is None:
        return out
    if isinstance(result, dict):
        result = [result]
    for rec in result:
        if not isinstance(rec, dict):
            raise BadArtifact(f"parser returned a {type(rec).__name__}, expected a dict per record")
        row = dict(captures)
        row.update(rec)
        out.append(row)
    return out


def records_for_run(run, parsers: list[Parser], reader=None,
                    warn: Callable[[SweepWarning], None] = lambda w: None) -> tuple[list[dict], list[str]]:
    """All records the parsers find in one run's artifacts, and the capture names seen.

    A file that fails yields a warning and no rows; the run's other files still count.
    """
    run_id = run.info.run_id
    plan = ListingPlan([p.compiled for p in parsers])
    try:
        reader = reader or reader_for(run.info.artifact_uri, plan)
        paths = reader.list()
    except Exception as exc:  # noqa: BLE001 - one unreadable run never stops the export
        warn(SweepWarning(run_id, "", f"artifacts could not be listed: {_reason(exc)}"))
        return [], []
    records, captures_order = [], []
    for parser in parsers:
        regex = parser.compiled.regex
        for path in paths:
            m = regex.fullmatch(path)
            if m is None:
                continue
            captures = parser.compiled.match(path)
            for name in captures:
                if name not in captures_order:
                    captures_order.append(name)
            try:
                records.extend(parse_artifact(parser, reader, run, path, captures))
            except Exception as exc:  # noqa: BLE001 - bad input: warn, keep going
                warn(SweepWarning(run_id, path, _reason(exc), parser.name))
    return records, captures_order


def export_runs(runs: Iterable, parsers: list[Parser],
                warn: Callable[[SweepWarning], None] | None = None,
                progress: Callable[[int], None] | None = None) -> ExportResult:
    """Build the table for the given runs. Warnings go to ``warn`` as they happen and are
    also collected on the result."""
    collected: list[SweepWarning] = []

    def _warn(w: SweepWarning):
        collected.append(w)
        if warn is not None:
            warn(w)

    builder = TableBuilder()
    n = 0
    for run in runs:
        records, captures = records_for_run(run, parsers, warn=_warn)
        builder.add_run(run, records, captures)
        n += 1
        if progress is not None:
            progress(n)
    return ExportResult(df=builder.frame(), warnings=collected, n_runs=n)
