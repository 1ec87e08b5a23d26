"""A job's ``facts/metrics.csv`` (PyTorch Lightning CSVLogger layout) as metric points."""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, field

from .jobs import outside, refused

METRICS_CSV = "facts/metrics.csv"


@dataclass
class MetricsTable:
    """``facts/metrics.csv`` as ``(key, value, step)`` points, and what was wrong with it."""

    points: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    complete: bool = False  # a well-formed file with at least one data row


def _number(text: str):
    try:
        value = float(text)
    except ValueError:
        return None
    return value


def parse_metrics_csv(text: str, where: str = METRICS_CSV) -> MetricsTable:
    """Lightning CSVLogger rows -> metric points; a row holds only the scalars logged at
    that step. ``epoch`` becomes a metric too (once per step). A last line without its
    line end (a job killed while writing it) is ignored; it, ragged rows and non-numeric
    cells are reported, not fatal."""
    table = MetricsTable()
    if not text.strip():
        table.problems.append(f"{where}: empty file")
        return table
    truncated_tail = not text.endswith("\n")
    rows = list(csv.reader(io.StringIO(text)))
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header):
        table.problems.append(f"{where}: duplicate column names in the header")
    step_col = header.index("step") if "step" in header else None
    epoch_col = header.index("epoch") if "epoch" in header else None
    data_rows = rows[1:]
    ok = True
    n_good = 0
    seen_epoch = set()
    for i, row in enumerate(data_rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        last = i == len(rows)
        if last and truncated_tail:
            # CSV writers end every line; a last line without its end was being written
            # when the job stopped, and any of its numbers may be cut ("0.6" of "0.62")
            ok = False
            table.problems.append(f"{where}: line {i} is cut short (the job stopped while writing it); ignored")
            continue
        if len(row) != len(header):
            ok = False
            table.problems.append(f"{where}: line {i} has {len(row)} fields, the header {len(header)}; ignored")
            continue
        if step_col is not None:
            step_val = _number(row[step_col])
            if step_val is None or not math.isfinite(step_val) or step_val != int(step_val):
                ok = False
                table.problems.append(f"{where}: line {i}: step {row[step_col]!r} is not an integer; row ignored")
                continue
            step = int(step_val)
        else:
            step = n_good
        n_good += 1
        for j, (name, cell) in enumerate(zip(header, row)):
            cell = cell.strip()
            if j == step_col or cell == "":
                continue
            value = _number(cell)
            if value is None:
                ok = False
                table.problems.append(f"{where}: line {i}, column {name!r}: {cell[:40]!r} is not a number; skipped")
                continue
            if j == epoch_col:
                if (step, value) in seen_epoch:
                    continue
                seen_epoch.add((step, value))
            table.points.append((name, value, step))
    table.complete = ok and n_good > 0
    if n_good == 0 and ok:
        table.problems.append(f"{where}: no data rows")
    return table


def read_metrics(job_path: str, root: str | None = None, problems: list | None = None) -> MetricsTable | None:
    """``facts/metrics.csv`` of a job, or None when the job has none. ``root``: the sweep
    directory (default: the job directory's parent); a file resolving outside it (itself
    or ``facts/`` a link to elsewhere) is not read: None, and why in ``problems``."""
    path = os.path.join(job_path, *METRICS_CSV.split("/"))
    if not os.path.isfile(path):
        return None
    real = outside(path, os.path.dirname(os.path.abspath(job_path)) if root is None else root)
    if real is not None:
        if problems is not None:
            problems.append(refused(METRICS_CSV, real))
        return None
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as fh:
            text = fh.read()
    except OSError as exc:
        table = MetricsTable()
        table.problems.append(f"{METRICS_CSV}: cannot be read ({exc.strerror or exc})")
        return table
    return parse_metrics_csv(text)


def metrics_file_state(metrics: MetricsTable | None) -> str:
    """The tag ``mlflow_sweep.metrics_file``: ``absent``, ``partial`` or ``complete``."""
    if metrics is None:
        return "absent"
    return "complete" if metrics.complete else "partial"
