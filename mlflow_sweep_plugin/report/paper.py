"""``summary.md`` and ``summary.tex``: a paper-ready table, "mean ± std" per group.

Rows are the groups (best first by the objective's mean when there is one, else in the
natural order of their values), columns the factors that vary, ``n`` (seeds, or runs)
and the metrics shown (the objective first, then those with the most variance explained;
at most :data:`MAX_COLUMNS`; every metric is in ``summary.csv``). The std is rounded to
two significant digits and the mean to the same decimals; a group with one value shows
the mean alone. The objective's best value is in bold; a group with fewer seeds than the
most complete one is marked with a dagger.
"""

from __future__ import annotations

import math

MAX_COLUMNS = 8


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
        text = f"{mean:.4g}"
        return text if std is None or not math.isfinite(float(std)) else f"{text}{sep}0"
    std = float(std)
    if big_or_tiny or abs(std) < 1e-8:
        return f"{mean:.3g}{sep}{std:.2g}"
    d = _decimals(std)
    return f"{mean:.{d}f}{sep}{std:.{d}f}"


def paper_table(summary, best=None, metrics=None, limit: int = MAX_COLUMNS):
    """``(header, rows, bold)``: cell texts for the factors, ``n`` and the metrics; ``bold``
    holds (row, column) cells to emphasise; rows follow the ranking when ``best``."""
    from .select import metric_order, varied_factors
    from .stats import bare_name

    objective = best.objective if best is not None else None
    metrics = list(metrics or metric_order(summary, objective))[:limit]
    factors = varied_factors(summary) or [c for c in summary.by if c != "run_id"]
    if "run_id" in summary.by:
        factors = factors + ["run_id"]
    order = list(range(len(summary.groups)))
    if best is not None and len(best.ranking):
        ranked = [int(g) for g in best.ranking["group"]]
        order = ranked + [g for g in order if g not in set(ranked)]
    header = [bare_name(c) for c in factors] + ["n"] + metrics
    rows, bold = [], set()
    g = summary.groups
    for r, gi in enumerate(order):
        cells = [str(g.iloc[gi][c]) for c in factors]
        n = int(g.iloc[gi]["n_units"])
        cells.append(f"{n}†" if bool(g.iloc[gi]["uneven"]) else str(n))
        for m in metrics:
            st = summary.stats[m].iloc[gi]
            cells.append(format_pm(st["mean"], st["std"] if st["n"] > 1 else None))
        rows.append(cells)
    if best is not None and best.best is not None and objective in metrics:
        bold.add((0, len(factors) + 1 + metrics.index(objective)))
    return header, rows, bold


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|")


def to_markdown(summary, best=None, metrics=None, limit: int = MAX_COLUMNS) -> str:
    header, rows, bold = paper_table(summary, best, metrics, limit)
    out = []
    if best is not None and best.best is not None:
        out.append(f"Best by `{best.objective}` ({best.mode}): "
                   + ", ".join(f"{k}={v}" for k, v in best.best["group"].items())
                   + f" — {format_pm(best.best['mean'], best.best['std'])} (n = {best.best['n']}); "
                   + f"{len(best.tied)} configuration(s) tied "
                   + f"({'paired t-test over matching seeds' if best.test == 'paired-t' else 'Welch t-test'}, "
                   + f"α = {best.alpha}).")
        out.append("")
    out.append("| " + " | ".join(_md_escape(h) for h in header) + " |")
    out.append("|" + "|".join(["---"] * len(header)) + "|")
    for r, cells in enumerate(rows):
        shown = [f"**{_md_escape(c)}**" if (r, j) in bold else _md_escape(c) for j, c in enumerate(cells)]
        out.append("| " + " | ".join(shown) + " |")
    out.append("")
    over = summary.over or "runs"
    out.append(f"Mean ± std (sample, n − 1) over {over}; n = number of {over} values; "
               f"† fewer {over} values than the most complete group. All metrics: summary.csv.")
    return "\n".join(out) + "\n"


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


def to_latex(summary, best=None, metrics=None, limit: int = MAX_COLUMNS) -> str:
    """A ``booktabs`` table (``\\usepackage{booktabs}``)."""
    header, rows, bold = paper_table(summary, best, metrics, limit)
    n_factors = header.index("n")
    spec = "l" * n_factors + "r" + "c" * (len(header) - n_factors - 1)
    lines = [r"\begin{table}[ht]", r"\centering", f"\\begin{{tabular}}{{{spec}}}", r"\toprule",
             " & ".join(tex_escape(h) for h in header) + r" \\", r"\midrule"]
    for r, cells in enumerate(rows):
        out = []
        for j, c in enumerate(cells):
            cell = _tex_cell(c)
            if (r, j) in bold:
                cell = f"$\\mathbf{{{cell[1:-1]}}}$" if cell.startswith("$") and cell.endswith("$") \
                    else f"\\textbf{{{cell}}}"
            out.append(cell)
        lines.append(" & ".join(out) + r" \\")
    over = tex_escape(summary.over or "runs")
    lines += [r"\bottomrule", r"\end{tabular}",
              f"\\caption{{Mean $\\pm$ std over {over}; $n$ = number of {over} values"
              + (r"; $^\dagger$ fewer than the most complete group" if any("†" in c for row in rows for c in row)
                 else "") + ".}", r"\end{table}"]
    return "\n".join(lines) + "\n"
