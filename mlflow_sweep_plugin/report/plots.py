"""The report's plots (matplotlib, headless): PNG + SVG files, PNG bytes for the HTML.

- **line** plots: a metric against one varied factor. A numeric factor gets lines with a
  band (``std``, ``sem`` or ``ci``: mean +/- std, +/- sem, or the 95 % t-interval) over
  the seeds, and a log axis when its values are positive and span two decades or more
  (max / min >= 100); a text factor gets bars with error bars. One line (or bar colour)
  per combination of the other factors' values when there are at most 10, else per
  value of the other factor that explains most, the rest pooled (the caption says so).
- **heatmaps**: the mean for a pair of factors (each at most 20 values), cells annotated
  ``mean ± std``; other factors pooled.

Only ``matplotlib.figure.Figure`` with the Agg canvas is used: no ``pyplot``, no global
backend switch, nothing shown on screen -- safe in notebooks, servers and CI.
"""

from __future__ import annotations

import io
import math
import os
import re
from dataclasses import dataclass, field

from .select import MAX_LINES, PlotSpec, is_numeric_factor, varied_factors
from .stats import bare_name, describe, value_key

BANDS = ("std", "sem", "ci")
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")
#: the longest name or value drawn (a 10 KB column name costs seconds per plot to lay out)
LABEL_CHARS = 60
#: how a factor's missing value (a param some runs do not have) is drawn
MISSING = "(not set)"


def clip(text, limit: int = LABEL_CHARS) -> str:
    """``text`` cut to ``limit`` characters (an ellipsis says so): every label drawn."""
    text = str(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


@dataclass
class Plot:
    spec: PlotSpec
    title: str
    caption: str
    png: str  # path relative to the report directory
    svg: str
    png_bytes: bytes
    pooled: list = field(default_factory=list)  # factors pooled over (report.json)
    n: int = 0  # the largest n of a point or cell (report.json)


def _figure(width=6.4, height=4.2):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _band(cells, band: str):
    import numpy as np

    mean = cells["mean"].to_numpy(dtype=float)
    if band == "ci":
        lo, hi = cells["ci_low"].to_numpy(dtype=float), cells["ci_high"].to_numpy(dtype=float)
    else:
        half = cells[band].to_numpy(dtype=float)
        lo, hi = mean - half, mean + half
    return np.where(np.isfinite(lo), lo, mean), np.where(np.isfinite(hi), hi, mean)


def _n_range(cells) -> str:
    ns = cells["n"].astype(int)
    lo, hi = int(ns.min()), int(ns.max())
    return f"n = {lo}" if lo == hi else f"n = {lo}–{hi}"


def _label(cols, values) -> str:
    return clip(", ".join(f"{bare_name(c)}={v}" for c, v in zip(cols, values)), 2 * LABEL_CHARS)


def _lines_for(summary, spec, scores):
    """(line columns, pooled columns) for a line plot of ``spec``."""
    f = spec.factors[0]
    others = [c for c in varied_factors(summary) if c != f]
    g = summary.groups
    if not others:
        return [], []
    if len(g[others].drop_duplicates()) <= MAX_LINES:
        return others, []
    ok = [c for c in others if g[c].nunique(dropna=False) <= MAX_LINES]
    if not ok:
        return [], others
    best = max(ok, key=lambda c: (scores.get((spec.metric, (c,)), -math.inf) if not
                                  math.isnan(scores.get((spec.metric, (c,)), math.nan)) else -math.inf))
    return [best], [c for c in others if c != best]


def _band_text(band: str, over: str | None) -> str:
    what = {"std": "± std", "sem": "± sem", "ci": "95 % CI"}[band]
    return f"mean {what} over {over}" if over else f"mean {what}"


def log_axis(values) -> bool:
    """A log axis for positive values spanning two decades or more (max / min >= 100)."""
    xs = [float(v) for v in values]
    return bool(xs) and min(xs) > 0 and max(xs) / min(xs) >= 100


def _sorted_values(values):
    return sorted(values, key=value_key)


def _line_plot(ax, cells, f, line_cols, band, numeric):
    import numpy as np

    keys = [()] if not line_cols else sorted({tuple(r) for r in cells[line_cols].itertuples(index=False)},
                                             key=lambda t: [value_key(v) for v in t])
    xs_all = _sorted_values(cells[f].dropna().unique().tolist())
    colors = [f"C{i % 10}" for i in range(len(keys))]
    if numeric:
        for key, color in zip(keys, colors):
            sub = cells if not line_cols else cells[np.logical_and.reduce(
                [cells[c].astype(str).to_numpy() == str(v) for c, v in zip(line_cols, key)])]
            sub = sub.assign(_x=sub[f].astype(float)).sort_values("_x")
            x = sub["_x"].to_numpy()
            lo, hi = _band(sub, band)
            ax.plot(x, sub["mean"].to_numpy(), marker="o", color=color,
                    label=_label(line_cols, key) if line_cols else None)
            if np.isfinite(lo).any() and (hi > lo).any():
                ax.fill_between(x, lo, hi, color=color, alpha=0.2, linewidth=0)
        if log_axis(xs_all):
            ax.set_xscale("log")
    else:
        positions = {v: i for i, v in enumerate(xs_all)}
        width = 0.8 / max(1, len(keys))
        for j, (key, color) in enumerate(zip(keys, colors)):
            sub = cells if not line_cols else cells[np.logical_and.reduce(
                [cells[c].astype(str).to_numpy() == str(v) for c, v in zip(line_cols, key)])]
            pos = np.array([positions[v] for v in sub[f]]) - 0.4 + width * (j + 0.5)
            mean = sub["mean"].to_numpy(dtype=float)
            lo, hi = _band(sub, band)
            ax.bar(pos, mean, width=width * 0.95, color=color,
                   yerr=np.vstack([mean - lo, hi - mean]), capsize=3,
                   label=_label(line_cols, key) if line_cols else None)
        ax.set_xticks(range(len(xs_all)))
        ax.set_xticklabels([clip(v) for v in xs_all], rotation=30 if len(xs_all) > 4 else 0,
                           ha="right" if len(xs_all) > 4 else "center")
    if line_cols:
        ax.legend(title=clip(", ".join(bare_name(c) for c in line_cols)), fontsize="x-small",
                  title_fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  frameon=False)


def _heatmap(fig, ax, cells, a, b):
    import numpy as np

    rows = _sorted_values(cells[a].dropna().unique().tolist())
    cols = _sorted_values(cells[b].dropna().unique().tolist())
    ri = {str(v): i for i, v in enumerate(rows)}
    ci = {str(v): j for j, v in enumerate(cols)}
    mean = np.full((len(rows), len(cols)), np.nan)
    std = np.full_like(mean, np.nan)
    for _, r in cells.iterrows():
        if str(r[a]) in ri and str(r[b]) in ci:
            mean[ri[str(r[a])], ci[str(r[b])]] = r["mean"]
            std[ri[str(r[a])], ci[str(r[b])]] = r["std"]
    image = ax.imshow(np.ma.masked_invalid(mean), cmap="viridis", aspect="auto")
    fig.colorbar(image, ax=ax)
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels([clip(v) for v in cols], rotation=30 if len(cols) > 4 else 0,
                       ha="right" if len(cols) > 4 else "center")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([clip(v) for v in rows])
    ax.set_xlabel(clip(bare_name(b)))
    ax.set_ylabel(clip(bare_name(a)))
    n_cells = len(rows) * len(cols)
    if n_cells <= 144:
        from .paper import format_pm

        size = 9 if n_cells <= 16 else (7 if n_cells <= 49 else 5)
        finite = mean[np.isfinite(mean)]
        mid = (finite.min() + finite.max()) / 2 if len(finite) else 0
        for i in range(len(rows)):
            for j in range(len(cols)):
                if np.isfinite(mean[i, j]):
                    ax.text(j, i, format_pm(mean[i, j], std[i, j]), ha="center", va="center",
                            fontsize=size, color="white" if mean[i, j] < mid else "black")


def slug(text: str) -> str:
    return _SLUG.sub("_", str(text)).strip("_")[:80] or "plot"


def render(summary, spec: PlotSpec, directory: str, band: str = "std", scores=None,
           taken: set | None = None) -> Plot:
    """Draw one plot into ``directory/plots/`` (PNG and SVG)."""
    scores = scores or {}
    obs = summary.observations
    metric = spec.metric
    over = summary.over
    if spec.kind == "line":
        f = spec.factors[0]
        line_cols, pooled = _lines_for(summary, spec, scores)
        cells = describe(obs, [f] + line_cols, metric)
        cells = cells[cells["n"] > 0]
        numeric = is_numeric_factor(cells[f].dropna().unique())
        # a param some runs lack: its own level for text factors, not placeable on a number line
        cells = cells[cells[f].notna()] if numeric else cells.assign(**{f: cells[f].where(cells[f].notna(), MISSING)})
        for c in line_cols:
            cells[c] = cells[c].where(cells[c].notna(), MISSING)
        fig = _figure(8.4 if line_cols else 6.4)
        ax = fig.subplots()
        _line_plot(ax, cells, f, line_cols, band, numeric)
        ax.set_xlabel(clip(bare_name(f)))
        ax.set_ylabel(clip(metric))
        ax.grid(True, alpha=0.3)
        title = f"{metric} vs {bare_name(f)}"
        parts = [_band_text(band, over), _n_range(cells) if len(cells) else "no values"]
        if line_cols:
            parts.append("one " + ("line" if numeric else "colour") + " per "
                         + ", ".join(bare_name(c) for c in line_cols))
        if pooled:
            parts.append("pooled over " + ", ".join(bare_name(c) for c in pooled))
        name = f"{slug(metric)}__vs__{slug(f)}"
    else:
        a, b = spec.factors
        pooled = [c for c in varied_factors(summary) if c not in (a, b)]
        cells = describe(obs, [a, b], metric)
        cells = cells[cells["n"] > 0]
        fig = _figure(max(6.4, 0.6 * cells[b].nunique() + 2.5), max(4.2, 0.35 * cells[a].nunique() + 1.5))
        ax = fig.subplots()
        _heatmap(fig, ax, cells, a, b)
        title = f"{metric}: {bare_name(a)} × {bare_name(b)}"
        parts = ["mean ± std" + (f" over {over}" if over else ""),
                 _n_range(cells) if len(cells) else "no values"]
        if pooled:
            parts.append("pooled over " + ", ".join(bare_name(c) for c in pooled))
        name = f"{slug(metric)}__{slug(a)}__x__{slug(b)}"
    ax.set_title(clip(title, 2 * LABEL_CHARS), fontsize="medium")
    plot = save(fig, directory, name, spec, title, "; ".join(parts), taken if taken is not None else set())
    plot.pooled = list(pooled)
    plot.n = int(cells["n"].max()) if len(cells) else 0
    return plot


def save(fig, directory: str, name: str, spec, title: str, caption: str, taken: set) -> Plot:
    """Write ``fig`` as ``plots/<name>.png`` and ``.svg`` (a unique name in ``taken``)."""
    base, i = name, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    taken.add(name)
    plots_dir = os.path.join(directory, "plots")
    os.makedirs(plots_dir, exist_ok=True)
    fig.set_dpi(100)
    fig.draw_without_rendering()  # lay out once (constrained), then keep it for both files
    fig.set_layout_engine("none")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    png_bytes = buf.getvalue()
    png = f"plots/{name}.png"
    svg = f"plots/{name}.svg"
    with open(os.path.join(directory, png), "wb") as fh:
        fh.write(png_bytes)
    fig.savefig(os.path.join(directory, svg), format="svg", metadata={"Date": None, "Creator": None})
    return Plot(spec=spec, title=title, caption=caption, png=png, svg=svg, png_bytes=png_bytes)
