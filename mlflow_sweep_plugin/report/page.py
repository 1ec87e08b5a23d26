"""What report.html shows: the template context of the page (header, best configuration
and its tied set, the summary table, the run matrix and race sections), from a summary,
a ranking and the report's options. :mod:`.html` renders it."""

from __future__ import annotations

import base64
from datetime import datetime, timezone

from .columns import bare_name, describe_key, group_label
from .html import MAX_ROWS, png_size
from .paper import format_pm, paper_table
from .race import race_text


def source_text(source) -> str:
    """Where the report's runs came from, one line (the store's address redacted)."""
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


def page_context(summary, best, options, source, plots_notes, warnings_list, files, metrics_shown):
    """The template context of report.html but its "matrix" and "race" sections."""
    from .. import __version__

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
            tied.append({"label": describe_key([bare_name(k) for k in c["group"]], c["group"].values()),
                         "n": c["n"], "mean": format_pm(c["mean"], c["std"] if c["n"] > 1 else None),
                         "shared": c["shared_seeds"], "test": {"paired-t": "paired", "welch-t": "Welch"}.get(
                             c["test"], "best" if c["rank"] == 1 else "not tested"),
                         "diff": diff, "p": p(c["p_raw"]), "p_adj": p(c["p_adjusted"]),
                         "mde": format_pm(c["mde"]) if c["mde"] is not None else "–",
                         "cls": "best" if c["rank"] == 1 else ("tied" if c["in_set"] else ""),
                         "in_set": "best" if c["rank"] == 1 else ("yes" if c["in_set"] else "no")})
        best_ctx = {
            "label": group_label(g.iloc[best.best_group], summary.by), "objective": best.objective,
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
        "title": title, "source": source_text(source), "version": __version__,
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "counts": summary.counts, "by": [bare_name(c) for c in summary.by], "over": summary.over,
        "aliases": [(bare_name(k), [bare_name(t) for t in v]) for k, v in summary.aliases.items()],
        "best": best_ctx, "objective_note": objective_note, "warnings": warnings_list,
        "notes": plots_notes, "table_header": header, "table_rows": table_rows,
        "rows_left": max(0, len(rows) - MAX_ROWS), "metrics_left": max(0, len(summary.metrics) - len(metrics_shown)),
        "files": files, "left_out": getattr(source, "left_out", 0) if source is not None else 0,
    }


def matrix_context(runs, missing, plot, limit: int = 50) -> dict:
    """The "Run matrix" section: the runs left out with why, the missing pairs, the picture."""
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


def race_context(race) -> dict | None:
    """The "Race" section: one line per candidate (:func:`.race.race_text`)."""
    if race is None:
        return None
    lines = [{"label": line["label"], "text": race_text(line, format_pm),
              "cls": "best" if line["winner"] else ("tied" if line["outcome"] == "survived" else "")}
             for line in race["candidates"]]
    return {"title": "Race (confirmation)" if race["stage"] == "confirm" else "Race", "lines": lines,
            "rounds": len(race["rounds"]), "alpha": race["alpha"],
            "seeds": ", ".join(str(s) for s in race["rounds"][-1]["seeds"]) if race["rounds"] else ""}
