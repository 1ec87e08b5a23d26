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
from datetime import datetime, timezone

from ..errors import UsageError, did_you_mean
from ..export.writers import write_table
from ..warning_types import SweepWarning, warn
from .output import check_output_dir, make_stage, move_into_place, remove_stage, writing_errors
from .columns import bare_name
from .paper import decided_text
from .race import decision, race_section, race_text, stage_of


@dataclass
class ReportOptions:
    """What to report (the ``mlflow-sweep report`` options)."""

    objective: str | None = None
    mode: str = "min"
    over: object = None  # None: the seed column; False: none; or a column name
    by: list | None = None
    metrics: list | None = None
    band: str = "std"
    plot: tuple = ()
    include_failed: bool = False
    max_plots: int = 12
    alpha: float = 0.05
    title: str | None = None
    #: column -> the name tables and plots show (``--label COLUMN=TEXT``)
    labels: dict = field(default_factory=dict)
    #: record fields to group by / to neither group by nor summarise (``--key`` / ``--descriptor``)
    keys: list = field(default_factory=list)
    descriptors: list = field(default_factory=list)
    #: the metrics of summary.tex (``--table-metrics``); default: those that fit a column
    table_metrics: list | None = None
    #: text cells a spreadsheet would run as formulas get a leading ``'`` (summary.csv)
    spreadsheet_safe: bool = False
    #: factor -> its levels in order (``--order FACTOR=a,b,c``); factor -> levels/linear/log (``--scale``)
    order: dict = field(default_factory=dict)
    scales: dict = field(default_factory=dict)
    #: more metrics with learning curves (``--curves``); none at all (``--no-curves``)
    curves: list = field(default_factory=list)
    no_curves: bool = False
    #: what could not be summarised is told in the report only, not as warnings (the
    #: automatic report on a sweep's parent, where nobody asked for a ranking)
    quiet: bool = False


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
            from .paper import format_pm

            label = ", ".join(f"{bare_name(k)}={v}" for k, v in b.best["group"].items()) or "(all runs)"
            text += (f"; best {b.objective} ({b.mode}): {label}: "
                     f"{format_pm(b.best['mean'], b.best['std'])} (n={b.best['n']}), {len(b.tied)} tied")
        elif b is not None:
            text += f"; no best configuration for {b.objective}"
        else:
            text += "; no --objective, nothing ranked"
        return text


def _check_options(options: ReportOptions) -> None:
    from .best import MODES
    from .plots import BANDS

    if options.mode not in MODES:
        raise UsageError(f"--mode must be min or max, not {options.mode!r}")
    if options.band not in BANDS:
        raise UsageError(f"--band must be one of {', '.join(BANDS)}, not {options.band!r}")
    if not 0 < float(options.alpha) < 1:
        raise UsageError("alpha must be between 0 and 1")
    if options.curves and options.no_curves:
        raise UsageError("--curves and --no-curves do not go together")
    from .levels import SCALES

    for factor, scale in (options.scales or {}).items():
        if scale not in SCALES:
            raise UsageError(f"--scale {factor}={scale}: use one of {', '.join(SCALES)}")


def write_summary_csv(summary, path: str, spreadsheet_safe: bool = False) -> None:
    """summary.csv: plain numbers at full precision (``repr``), empty for NaN; with
    ``spreadsheet_safe``, text a spreadsheet would run as a formula gets a leading ``'``
    (the export's writer and rule)."""
    write_table(summary.table, path, "csv", spreadsheet_safe=spreadsheet_safe)


def _json_default(value):
    from .best import plain

    return plain(value)


def _source_text(source) -> str:
    from ..uri import redact_uri

    if source is None:
        return "from a table"
    parts = [f"experiments {', '.join(source.experiments)}" if source.experiments else "",
             f"store {redact_uri(source.tracking_uri)}"]
    if source.filter_string:
        parts.append(f"filter {source.filter_string}")
    if source.parser_names:
        parts.append(f"parsers {', '.join(source.parser_names)}")
    if source.artifact_patterns:
        parts.append(f"artifacts {', '.join(source.artifact_patterns)}")
    return " · ".join(p for p in parts if p)


def _group_label(row, by) -> str:
    return ", ".join(f"{bare_name(c)}={row[c]}" for c in by) or "(all runs)"


def _context(summary, best, options, source, plots_notes, warnings_list, files, metrics_shown):
    from .. import __version__
    from .html import MAX_ROWS
    from .paper import format_pm, paper_table

    header, rows, bold, _ = paper_table(summary, best, metrics_shown, limit=len(metrics_shown),
                                        labels=options.labels) \
        if summary.metrics and len(summary.groups) else ([], [], set(), set())
    tied_groups = set()
    best_group = None
    if best is not None and best.best is not None:
        best_group = best.best_group
        tied_groups = {int(g) for g, t in zip(best.ranking["group"], best.ranking["tied"]) if t}
    order = [int(g) for g in best.ranking["group"]] if best is not None and len(best.ranking) else []
    order += [g for g in range(len(summary.groups)) if g not in set(order)]
    n_factors = header.index("n") if header else 0
    table_rows = []
    for r, cells in enumerate(rows[:MAX_ROWS]):
        gi = order[r]
        cls = "best" if gi == best_group else ("tied" if gi in tied_groups else "")
        table_rows.append({"cls": cls, "cells": [{"text": c, "num": j >= n_factors, "bold": (r, j) in bold}
                                                 for j, c in enumerate(cells)]})
    best_ctx = None
    objective_note = None
    if best is not None and best.best is not None:
        g = summary.groups
        top = best.best
        ci = (f"[{format_pm(top['ci_low'])}, {format_pm(top['ci_high'])}]"
              if top["ci_low"] is not None and top["ci_high"] is not None else "")
        tied = []
        for c in best.comparisons()[:MAX_ROWS]:
            p = (lambda v: f"{v:.3g}" if v is not None else "–")
            diff = "" if c["rank"] == 1 else (
                f"{format_pm(c['diff'])} [{format_pm(c['diff_ci_low'])}, {format_pm(c['diff_ci_high'])}]"
                if c["diff_ci_low"] is not None else format_pm(c["diff"]))
            tied.append({"label": ", ".join(f"{bare_name(k)}={v}" for k, v in c["group"].items()) or "(all runs)",
                         "n": c["n"], "mean": format_pm(c["mean"], c["std"] if c["n"] > 1 else None),
                         "shared": c["shared_seeds"], "test": {"paired-t": "paired", "welch-t": "Welch"}.get(
                             c["test"], "best" if c["rank"] == 1 else "not tested"),
                         "diff": diff, "p": p(c["p_raw"]), "p_adj": p(c["p_adjusted"]),
                         "mde": format_pm(c["mde"]) if c["mde"] is not None else "–",
                         "cls": "best" if c["rank"] == 1 else ("tied" if c["in_set"] else ""),
                         "in_set": "best" if c["rank"] == 1 else ("yes" if c["in_set"] else "no")})
        best_ctx = {
            "label": _group_label(g.iloc[best.best_group], summary.by), "objective": best.objective,
            "mode": best.mode, "value": format_pm(top["mean"], top["std"]), "n": top["n"],
            "mean": format_pm(top["mean"]), "ci": ci, "tied": tied,
            "test_text": (
                "It is the only configuration." if len(best.ranking) < 2 else
                f"No test against the others: it has a single value (n = 1){'' if best.over else ', and there is no seed column'}."
                if top["n"] < 2 else
                f"{len(best.tied)} other configuration(s) are not distinguishable from it with these "
                f"seeds (the best set: Hsu's multiple comparisons with the best, family-wise error "
                f"α = {best.alpha}; each compared on the seeds it shares with the best, paired when "
                f"at least two are shared, Welch otherwise). MDE: the smallest difference the sweep "
                f"would detect with 80 % power."),
        }
    elif best is not None:
        objective_note = f"No configuration could be ranked by {best.objective}."
    elif options.objective:
        objective_note = f"Nothing could be ranked by {options.objective}: there is nothing to summarise."
    experiments = ", ".join(source.experiments) if source is not None and source.experiments else ""
    title = options.title or (f"Sweep report: {experiments}" if experiments else "Sweep report")
    return {
        "title": title, "source": _source_text(source), "version": __version__,
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "counts": summary.counts, "by": [bare_name(c) for c in summary.by], "over": summary.over,
        "aliases": [(bare_name(k), [bare_name(t) for t in v]) for k, v in summary.aliases.items()],
        "best": best_ctx, "objective_note": objective_note, "warnings": warnings_list,
        "notes": plots_notes, "table_header": header, "table_rows": table_rows,
        "rows_left": max(0, len(rows) - MAX_ROWS), "metrics_left": max(0, len(summary.metrics) - len(metrics_shown)),
        "files": files, "left_out": getattr(source, "left_out", 0) if source is not None else 0,
    }


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
    _check_options(options)
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


def _matrix_context(runs, missing, plot, limit: int = 50) -> dict:
    """The "Run matrix" section: the runs left out with why, the missing pairs, the picture."""
    import base64

    from .html import png_size

    left = runs[~runs["used"]] if len(runs) else runs
    rows = [{"run_id": r, "name": n, "configuration": c, "seed": "" if s is None else s, "status": st, "reason": w}
            for r, n, c, s, st, w in zip(left["run_id"], left["run_name"], left["configuration"], left["seed"],
                                         left["status"], left["reason"])][:limit] if len(left) else []
    picture = None
    if plot is not None:
        w, h = png_size(plot.png_bytes)
        picture = {"data": base64.b64encode(plot.png_bytes).decode("ascii"), "width": w, "height": h,
                   "caption": plot.caption, "png": plot.png, "svg": plot.svg}
    return {"considered": len(runs), "used": int(runs["used"].sum()) if len(runs) else 0,
            "left": rows, "left_more": max(0, len(left) - limit),
            "missing": [f"{c}, seed {s} ({st})" for c, s, st in missing[:limit]],
            "missing_more": max(0, len(missing) - limit), "picture": picture}


def _race_context(race) -> dict | None:
    """The "Race" section: one line per candidate (:func:`.race.race_text`)."""
    from .paper import format_pm

    if race is None:
        return None
    lines = [{"label": line["label"], "text": race_text(line, format_pm),
              "cls": "best" if line["winner"] else ("tied" if line["outcome"] == "survived" else "")}
             for line in race["candidates"]]
    return {"title": "Race (confirmation)" if race["stage"] == "confirm" else "Race", "lines": lines,
            "rounds": len(race["rounds"]), "alpha": race["alpha"],
            "seeds": ", ".join(str(s) for s in race["rounds"][-1]["seeds"]) if race["rounds"] else ""}


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
    context = _context(summary, best, options, source, plot_notes, all_warnings, files, metrics_shown)
    context["matrix"] = _matrix_context(runs, missing, matrix_plot)
    context["race"] = _race_context(race)
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
