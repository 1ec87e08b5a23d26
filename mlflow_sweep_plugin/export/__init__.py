"""Export an experiment's runs and their summary artifacts as one table.

The modules read as the data flow: ``runs`` (find the experiments, page through their
runs) -> ``session`` (what an export's reads share) -> ``plan`` (which directories the
patterns reach) -> ``readers`` / ``remote`` (list and fetch a run's files, record what
was listed and read; ``paths`` keeps them inside the run's root; ``retry`` retries
transient failures) -> ``parse`` (parsers turn files into records) -> ``cache`` (may a
stored run be served?) / ``cache_store`` (the SQLite file) -> ``pipeline`` (every run,
in order, into the ``table``) -> ``writers`` (CSV, Parquet, JSON, atomically).
``sweep.export_sweep`` is the whole flow.
"""

from __future__ import annotations

from ..warning_types import SweepWarning
from .parse import RunOutcome, read_run
from .pipeline import export_runs
from .result import ExportResult
from .session import ReadSession
from .sweep import default_output, export_sweep

__all__ = ["ExportResult", "ReadSession", "RunOutcome", "SweepWarning", "default_output", "export_runs",
           "export_sweep", "read_run"]
