"""Write a report directory from an export table.

``<dir>/`` gets ``report.html`` (self-contained), ``summary.csv`` (tidy, one row per
(group, metric)), ``best.json`` (with an objective), ``summary.md`` / ``summary.tex``
and ``plots/*.png`` + ``.svg``. Files are written into a staging directory first and
moved into place, so a failed build leaves an earlier report intact; ``plots/`` is
replaced as a whole (it only ever holds the report's own plots).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from datetime import datetime

from ..errors import UsageError, did_you_mean
from ..export.writers import write_table
from ..warning_types import SweepWarning, warn
from .output import check_output_dir, make_stage, move_into_place, remove_stage, writing_errors
from .columns import bare_name, describe_key
from .options import ReportOptions, check_options
from .page import matrix_context, page_context, race_context
from .paper import decided_text, format_pm
from .race import decision, race_section, stage_of

#: the names this module has always offered (``ReportOptions`` lives in :mod:`.options`)
__all__ = ["Report", "ReportOptions", "build_report", "default_output_dir", "write_summary_csv"]


@dataclass
class Report:
    """A written report."""

    directory: str
    html: str
    files: list
    summary: object
    best: object = None
    plots: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    #: every file the report wrote, as paths relative to ``directory`` (plots one by one)
    written: list = field(default_factory=list)
    #: the learning-curve plots (also in ``plots``)
    curves: list = field(default_factory=list)

    def one_line(self) -> str:
        """The line the command prints: where the report is and the best configuration."""
        text = f"report -> {self.html}"
        b = self.best
        if b is not None and b.best is not None:
            label = describe_key([bare_name(k) for k in b.best["group"]], b.best["group"].values())
            text += (f"; best {b.objective} ({b.mode}): {label}: "
                     f"{format_pm(b.best['mean'], b.best['std'])} (n={b.best['n']}), {len(b.tied)} tied")
        elif b is not None:
            text += f"; no best configuration for {b.objective}"
        else:
            text += "; no --objective, nothing ranked"
        return text


def write_summary_csv(summary, path: str, spreadsheet_safe: bool = False) -> None:
    """summary.csv: plain numbers at full precision (``repr``), empty for NaN; with
    ``spreadsheet_safe``, text a spreadsheet would run as a formula gets a leading ``'``
    (the export's writer and rule)."""
    write_table(summary.table, path, "csv", spreadsheet_safe=spreadsheet_safe)


def _json_default(value):
    from .best import plain

    return plain(value)


def build_report(table, output_dir: str, options: ReportOptions | None = None, *, captures=None,
                 params=None, source=None, prior_warnings=(), histories=None) -> Report:
    """Summarise ``table``, rank it (with an objective), draw the plots and write the
    report directory ``output_dir``. ``prior_warnings`` (e.g. the export's) are listed in
    the page with the report's own. ``histories(run_ids, keys)`` reads metric histories
    for the learning curves (default: the ``source``'s; without either, no curves). Raises :class:`UsageError` for bad options and columns
    (nothing is written then); every data problem is a warning and a line in the page."""
    from .best import rank
    from .paper import MAX_COLUMNS
    from .select import choose_plots, metric_order, scores
    from .stats import summarize

    options = options or ReportOptions()
    check_options(options)
    messages: list[str] = []

    def note(message: str) -> None:
        messages.append(message)
        if not options.quiet:
            warn(SweepWarning(message), stacklevel=3)

    objective = options.objective
    summary = summarize(table, by=options.by, over=options.over, metrics=options.metrics,
                        include_failed=options.include_failed, params=params, captures=captures,
                        declared=getattr(source, "declared", None), keys=options.keys,
                        descriptors=options.descriptors)
    if objective is not None and objective not in table.columns:
        # suggested: only what --objective accepts (a metric the summary has), never a
        # column it would then refuse (a copy of a record field, a param)
        raise UsageError(f"--objective {objective!r} is not a column of the table"
                         f"{did_you_mean(objective, summary.metrics)}")
    levels = _levels(table, summary, options, source)
    counts = summary.counts
    empty = counts["runs_used"] == 0 or not len(summary.groups)
    sweep = getattr(source, "sweep", None)
    decided_by, deciding = decision(table, sweep)
    race = race_section((sweep or {}).get("race"))
    best = None
    if objective is not None and not empty and summary.metrics:
        best = rank(summary, objective, options.mode, options.alpha, runs=deciding, decided_by=decided_by)
    if counts["rows"] == 0:
        note("no runs match the selection: nothing to summarise")
    elif counts["runs_used"] == 0 and counts["failed"]:
        note(f"every run ({counts['failed']}) FAILED or was KILLED: nothing to summarise "
             f"(--include-failed keeps them)")
    elif counts["runs_used"] == 0:
        note("no run is left to summarise (only sweep parents and superseded retries)")
    elif not summary.metrics:
        note("no numeric metric in the table: nothing to summarise (the runs have no metrics and "
             "the parsers found no numeric field; --artifact PATTERN or --history METRIC:AGG may help)")
    elif counts["runs_used"] == 1:
        note("only one run: no spread (std, CI) and nothing to test")

    plot_notes: list[str] = []
    specs, table_scores = [], {}
    if not empty and summary.metrics:
        table_scores = scores(summary)
        specs, plot_notes = choose_plots(summary, objective if best is not None else None,
                                         options.max_plots, options.plot, table_scores)
        flat = [m for m in summary.metrics
                if all(math.isnan(s) for (mm, _), s in table_scores.items() if mm == m)]
        if flat and table_scores:
            shown = ", ".join(flat[:5]) + (f" and {len(flat) - 5} more" if len(flat) > 5 else "")
            plot_notes.append(f"{len(flat)} metric(s) constant across groups or without values: "
                              f"not plotted ({shown})")
    elif options.plot:
        plot_notes.append("nothing to plot")
    metrics_shown = metric_order(summary, best.objective if best is not None else None, table_scores) \
        [:MAX_COLUMNS] if summary.metrics else []

    earlier = check_output_dir(output_dir)
    stage = None
    with writing_errors(output_dir):
        try:
            stage = make_stage(output_dir)
            curve_plots, taken = [], set()
            if not empty:
                from .curves import curves_asked, draw_curves

                asks = curves_asked(objective if best is not None else None, options.mode,
                                    getattr(source, "history_specs", ()), options.curves, options.no_curves)
                fetch = histories or getattr(source, "histories", None)
                curve_plots, curve_notes = draw_curves(summary, best, asks, fetch, stage, options.band, taken)
                plot_notes += curve_notes
            files, plots = _write_files(stage, summary, best, options, source, specs, table_scores,
                                        plot_notes, metrics_shown, prior_warnings, messages, levels,
                                        curve_plots, taken, race, stage_of(table))
            written = move_into_place(stage, output_dir, earlier)
        finally:
            remove_stage(stage)
    directory = os.path.abspath(output_dir)
    return Report(directory=directory, html=os.path.join(directory, "report.html"), files=files,
                  summary=summary, best=best, plots=plots,
                  warnings=summary.warnings + (best.warnings if best else []) + messages,
                  notes=plot_notes, written=written, curves=curve_plots)


def _levels(table, summary, options, source):
    """The level order and axes of this report's plots (:mod:`.levels`)."""
    from .levels import Levels, first_appearance, grid_orders, resolve

    factors = [c for c in summary.by if c != "run_id"]
    levels = Levels(orders=resolve(options.order, factors, "--order"),
                    grid=grid_orders(getattr(source, "grids", ())),
                    appearance=first_appearance(table, factors),
                    scales=resolve(options.scales, factors, "--scale"))
    levels.check(summary)
    return levels


def _write_files(stage, summary, best, options, source, specs, table_scores, plot_notes, metrics_shown,
                 prior_warnings, messages, levels, curve_plots, taken, race=None, stages=None):
    """Write every file of the report into ``stage``; returns (files, plots). ``race``:
    the Race section (:func:`.race.race_section`); ``stages``: each run's stage (runs.csv)."""
    from .html import render_html
    from .manifest import manifest
    from .matrix import cells as matrix_cells
    from .matrix import draw as draw_matrix
    from .matrix import runs_table
    from .paper import column_label, to_latex, to_markdown
    from .plots import render, slug

    objective, mode = (best.objective, best.mode) if best is not None else (None, options.mode)
    plots = list(curve_plots) + [render(summary, spec, stage, options.band, table_scores, taken, objective, mode,
                                        levels) for spec in specs]
    files = []
    write_summary_csv(summary, os.path.join(stage, "summary.csv"), options.spreadsheet_safe)
    files.append("summary.csv")
    if best is not None:
        with open(os.path.join(stage, "best.json"), "w", encoding="utf-8") as fh:
            json.dump(best.to_json(), fh, indent=2, allow_nan=False, default=_json_default)
            fh.write("\n")
        files.append("best.json")
    if summary.metrics and len(summary.groups):
        with open(os.path.join(stage, "summary.md"), "w", encoding="utf-8") as fh:
            fh.write(to_markdown(summary, best, metrics_shown, labels=options.labels, race=race))
        with open(os.path.join(stage, "summary.tex"), "w", encoding="utf-8") as fh:
            fh.write(to_latex(summary, best, options.table_metrics or metrics_shown,
                              labels=options.labels, fit=not options.table_metrics,
                              label="tab:" + slug(column_label(best.objective, options.labels)
                                                 if best is not None else "sweep")))
        files += ["summary.md", "summary.tex"]
    runs = runs_table(summary, best)
    if stages:
        runs["stage"] = [stages.get(r) for r in runs["run_id"]]
    write_table(runs, os.path.join(stage, "runs.csv"), "csv", options.spreadsheet_safe)
    files.append("runs.csv")
    matrix_plot, matrix_note = draw_matrix(runs, stage) if summary.over else (None, None)
    if matrix_note:
        plot_notes.append(matrix_note)
    if plots or matrix_plot:
        files.append("plots/")
    all_warnings = [str(w) for w in prior_warnings] + summary.warnings + \
        (best.warnings if best is not None else []) + messages
    missing = matrix_cells(runs)[3] if summary.over else []
    files.insert(0, "report.json")
    files.insert(0, "report.html")
    context = page_context(summary, best, options, source, plot_notes, all_warnings, files, metrics_shown)
    context["matrix"] = matrix_context(runs, missing, matrix_plot)
    context["race"] = race_context(race)
    if context["best"] is not None:
        context["best"]["decided"] = decided_text(best)
    with open(os.path.join(stage, "report.html"), "w", encoding="utf-8") as fh:
        fh.write(render_html(context, plots))
    with open(os.path.join(stage, "report.json"), "w", encoding="utf-8") as fh:
        json.dump(manifest(summary, best, runs, ([matrix_plot] if matrix_plot else []) + plots, files,
                           all_warnings, missing, race), fh, indent=2, allow_nan=False, default=_json_default)
        fh.write("\n")
    return files, plots


def default_output_dir() -> str:
    return f"mlflow_sweep_report_{datetime.now().strftime('%Y%m%d_%H%M%S')}"
