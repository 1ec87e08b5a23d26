"""``summary.md`` and ``summary.tex``: a paper-ready table, "mean ± std" per group.

Rows are the groups (best first by the objective's mean when there is one, else in the
natural order of their values), columns the factors that vary, ``n`` (seeds, or runs)
and the metrics shown (the objective first, then those with the most variance explained;
every metric is in ``summary.csv``). Column names are the bare names (``metrics.`` and
``params.`` dropped) unless ``labels`` (``--label COLUMN=TEXT``) name them.

Rounding: the std to two significant digits and the mean to the same decimals; a group
with one value, or a std of exactly 0, shows the mean alone (no "± 0"). Marks: the
objective's best value in bold; the other members of the best set (not distinguishable
from the best) underlined in LaTeX and in italics in Markdown; a group with fewer seeds
than the most complete one has a dagger.

``summary.tex`` fits one column of a 10-pt article (345 pt) by default: ``\\small``,
4 pt column separation, and as many metrics (objective first) as the estimated width
allows (:func:`tex_width`, 4.6 pt per character); ``table_metrics`` (``--table-metrics``)
chooses them instead, and a table still wider than the column is scaled down to it
(``\\resizebox``, ``graphicx``). The caption is above the table, with a ``\\label``.
"""

from __future__ import annotations

import math
import re

from .race import race_text

MAX_COLUMNS = 8
_LABEL = re.compile(r"[^A-Za-z0-9:._-]")
#: a 10-pt article's column (\\columnwidth of ``article``, one column), in pt
COLUMN_PT = 345.0
_CHAR_PT = 4.6  # a character of \\small Computer Modern, digits and lower case, about
_SEP_PT = 8.0  # 2 x \\tabcolsep (4 pt)


def _decimals(std: float) -> int:
    return max(0, min(10, 1 - int(math.floor(math.log10(abs(std))))))


def format_pm(mean, std=None, sep: str = " ± ") -> str:
    """``0.8123 ± 0.0312`` -> ``0.812 ± 0.031``; NaN -> ``–``."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    mean = float(mean)
    if math.isinf(mean):
        return "∞" if mean > 0 else "−∞"
    big_or_tiny = mean != 0 and (abs(mean) >= 1e6 or abs(mean) < 1e-4)
    if std is None or not math.isfinite(float(std)) or float(std) == 0:
        return f"{mean:.4g}"
    std = float(std)
    if big_or_tiny or abs(std) < 1e-8:
        return f"{mean:.3g}{sep}{std:.2g}"
    d = _decimals(std)
    return f"{mean:.{d}f}{sep}{std:.{d}f}"


def column_label(column: str, labels=None) -> str:
    """The name a table shows for ``column``: ``labels[column]``, else its bare name
    (``metrics.val_loss`` -> ``val_loss``)."""
    from .columns import bare_name

    if labels and column in labels:
        return str(labels[column])
    name = bare_name(column)
    return name[len("metrics."):] if name.startswith("metrics.") else name


def paper_table(summary, best=None, metrics=None, limit: int = MAX_COLUMNS, labels=None):
    """``(header, rows, bold, tied)``: cell texts for the factors, ``n`` and the metrics;
    ``bold`` holds the (row, column) cell of the best value, ``tied`` the (row, column)
    objective cells of the best set's other members; rows follow the ranking when ``best``."""
    from .select import metric_order, varied_factors

    objective = best.objective if best is not None else None
    metrics = list(metrics or metric_order(summary, objective))[:limit]
    factors = varied_factors(summary) or [c for c in summary.by if c != "run_id"]
    if "run_id" in summary.by:
        factors = factors + ["run_id"]
    order = list(range(len(summary.groups)))
    in_set: set = set()
    if best is not None and len(best.ranking):
        ranked = [int(g) for g in best.ranking["group"]]
        order = ranked + [g for g in order if g not in set(ranked)]
        in_set = {int(g) for g, t in zip(best.ranking["group"], best.ranking["tied"]) if t}
    header = [column_label(c, labels) for c in factors] + ["n"] + [column_label(m, labels) for m in metrics]
    rows, bold, tied = [], set(), set()
    g = summary.groups
    at = len(factors) + 1 + metrics.index(objective) if objective in metrics else None
    for r, gi in enumerate(order):
        cells = [str(g.iloc[gi][c]) for c in factors]
        n = int(g.iloc[gi]["n_units"])
        cells.append(f"{n}†" if bool(g.iloc[gi]["uneven"]) else str(n))
        for m in metrics:
            st = summary.stats[m].iloc[gi]
            cells.append(format_pm(st["mean"], st["std"] if st["n"] > 1 else None))
        rows.append(cells)
        if at is not None and gi in in_set:
            tied.add((r, at))
    if best is not None and best.best is not None and at is not None:
        bold.add((0, at))
    return header, rows, bold, tied


#: characters a Markdown cell shows literally (backslash-escaped: CommonMark escapes any
#: ASCII punctuation); ``<`` and ``&`` too, so no raw HTML, entity or autolink survives
_MD_SPECIAL = set("\\`*_[](){}#|~!<>&")


def _md_escape(text: str) -> str:
    """One table cell of plain text: line breaks and other control characters become
    spaces, Markdown and HTML punctuation is backslash-escaped (``# h``, ``<script>``,
    ``[x](javascript:...)`` and ``|`` are shown, not interpreted)."""
    out = []
    for ch in str(text):
        if ch in _MD_SPECIAL:
            out.append("\\" + ch)
        elif ord(ch) < 32 or 0x7f <= ord(ch) < 0xa0 or ch in "\u2028\u2029":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def decided_text(best) -> str:
    """Which runs decided the best (``best.json``'s ``decided_by``), in words; "" for a plain report."""
    if best is None or best.decided_by == "report":
        return ""
    if best.decided_by == "confirm":
        return (f"Decided by the confirmation stage: the best set is computed on its {best.decided_on} run(s) "
                "only, on seeds the search never used; the search's runs are in the table "
                "(stage search in runs.csv).")
    if best.decided_by == "race":
        return "Decided by the race (the Race section says which round each candidate left in)."
    return ("Decided by the search on the values it optimised (no confirmation stage: the best's "
            "mean may be optimistic).")


def to_markdown(summary, best=None, metrics=None, limit: int = MAX_COLUMNS, labels=None, race=None) -> str:
    """summary.md: the best, the table and, for a raced sweep, the Race section
    (``race``: :func:`.race.race_section`)."""
    header, rows, bold, tied = paper_table(summary, best, metrics, limit, labels)
    out = []
    if best is not None and best.best is not None:
        out.append(f"Best by {_md_escape(column_label(best.objective, labels))} ({best.mode}): "
                   + _md_escape(", ".join(f"{k}={v}" for k, v in best.best["group"].items()))
                   + f" — {format_pm(best.best['mean'], best.best['std'])} (n = {best.best['n']}); "
                   + f"{len(best.tied)} other configuration(s) in the best set "
                   + f"(not distinguishable from it: multiple comparisons with the best, α = {best.alpha}).")
        if decided_text(best):
            out.append(_md_escape(decided_text(best)))
        out.append("")
    out.append("| " + " | ".join(_md_escape(h) for h in header) + " |")
    out.append("|" + "|".join(["---"] * len(header)) + "|")
    for r, cells in enumerate(rows):
        shown = [f"**{_md_escape(c)}**" if (r, j) in bold else f"*{_md_escape(c)}*" if (r, j) in tied
                 else _md_escape(c) for j, c in enumerate(cells)]
        out.append("| " + " | ".join(shown) + " |")
    out.append("")
    over = _md_escape(summary.over or "runs")
    out.append(f"Mean ± std (sample, n − 1) over {over}; n = number of {over} values; "
               f"† fewer {over} values than the most complete group"
               + ("; bold: best; italics: in the best set" if bold else "") + ". All metrics: summary.csv.")
    if race is not None:
        out += ["", race_markdown(race)]
    return "\n".join(out) + "\n"


def race_markdown(race: dict) -> str:
    """The Race section of summary.md: one line per candidate (:func:`.race.race_text`)."""
    title = "Race (confirmation)" if race.get("stage") == "confirm" else "Race"
    out = [f"## {title}", "", "| candidate | outcome |", "|---|---|"]
    for line in race["candidates"]:
        out.append(f"| {_md_escape(line['label'])} | {_md_escape(race_text(line, format_pm))} |")
    return "\n".join(out)


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
        "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def tex_escape(text: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in str(text))


def _tex_cell(text: str) -> str:
    if " ± " in text:
        mean, std = text.split(" ± ", 1)
        return f"${tex_escape(mean)} \\pm {tex_escape(std)}$"
    if text.endswith("†"):
        return tex_escape(text[:-1]) + r"$^\dagger$"
    return tex_escape(text.replace("–", "--"))


def tex_width(header, rows) -> float:
    """The estimated width in pt of the tabular of ``header`` and ``rows``."""
    width = 0.0
    for j in range(len(header)):
        longest = max([len(header[j])] + [len(row[j]) for row in rows])
        width += longest * _CHAR_PT + _SEP_PT
    return width


def fit_metrics(summary, best=None, metrics=(), labels=None, width: float = COLUMN_PT) -> list:
    """The leading ``metrics`` (at least one) whose table fits ``width``."""
    chosen: list = []
    for m in metrics:
        header, rows, _, _ = paper_table(summary, best, chosen + [m], limit=len(chosen) + 1, labels=labels)
        if chosen and tex_width(header, rows) > width:
            break
        chosen.append(m)
    return chosen


def to_latex(summary, best=None, metrics=None, limit: int = MAX_COLUMNS, labels=None,
             fit: bool = True, label: str = "tab:sweep") -> str:
    """A ``booktabs`` table (``\\usepackage{booktabs,graphicx}``), caption above with
    ``\\label{label}``; with ``fit``, the metrics that fit one column (see above)."""
    from .select import metric_order

    objective = best.objective if best is not None else None
    metrics = list(metrics or metric_order(summary, objective))[:limit]
    if fit:
        metrics = fit_metrics(summary, best, metrics, labels)
    header, rows, bold, tied = paper_table(summary, best, metrics, len(metrics), labels)
    n_factors = header.index("n")
    spec = "l" * n_factors + "r" + "c" * (len(header) - n_factors - 1)
    over = tex_escape(summary.over or "runs")
    caption = f"Mean $\\pm$ std over {over}; $n$ = number of {over} values"
    if any("†" in c for row in rows for c in row):
        caption += r"; $^\dagger$ fewer than the most complete group"
    if bold:
        caption += (f"; bold: best {tex_escape(column_label(objective, labels))} ({best.mode}imised)"
                    + ("; underlined: not distinguishable from the best (multiple comparisons with "
                       f"the best, $\\alpha = {best.alpha}$)" if tied else ""))
    wide = tex_width(header, rows) > COLUMN_PT
    lines = [r"\begin{table}[ht]", r"\centering", r"\small", r"\setlength{\tabcolsep}{4pt}",
             f"\\caption{{{caption}.}}", f"\\label{{{_LABEL.sub('-', label)}}}"]
    if wide:
        lines.append(r"\resizebox{\columnwidth}{!}{%")
    lines += [f"\\begin{{tabular}}{{{spec}}}", r"\toprule",
              " & ".join(tex_escape(h) for h in header) + r" \\", r"\midrule"]
    for r, cells in enumerate(rows):
        out = []
        for j, c in enumerate(cells):
            cell = _tex_cell(c)
            if (r, j) in bold:
                cell = f"$\\mathbf{{{cell[1:-1]}}}$" if cell.startswith("$") and cell.endswith("$") \
                    else f"\\textbf{{{cell}}}"
            elif (r, j) in tied:
                cell = f"\\underline{{{cell}}}"
            out.append(cell)
        lines.append(" & ".join(out) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}" + ("}" if wide else ""), r"\end{table}"]
    return "\n".join(lines) + "\n"
