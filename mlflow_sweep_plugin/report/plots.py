"""The report's plots (matplotlib, headless): PNG + SVG files, PNG bytes for the HTML.

- **line** plots: a metric against one varied factor, the mean with its band (``std``,
  ``sem`` or ``ci``: mean +/- std, +/- sem, or the 95 % t-interval) over the seeds. A
  numeric factor on a number line (linear, or log: :mod:`.levels`) gets lines with a
  band; a text factor, or a numeric one with few unevenly spaced levels, gets points with
  interval bars at evenly spaced labelled positions (never bars from zero, never a line
  between levels). Levels go in the sweep's order (:mod:`.levels`). One line (or colour)
  per combination of the other factors' values when there are at most 10, else per value
  of the other factor that explains most, the rest pooled.
- **heatmaps**: the mean for a pair of factors (each at most 20 values), cells annotated
  ``mean ± std`` and ``n``; other factors pooled.
- **pooled** factors are averaged within each seed first: a point is the mean over seeds
  of the per-seed mean over the pooled levels, so its band is a spread over seeds and its
  ``n`` the number of seeds (the caption says so). Without a seed column the pooled
  levels' runs are the units (the caption says the spread includes their effect).
- The objective's axis says "lower is better" / "higher is better".

Only ``matplotlib.figure.Figure`` with the Agg canvas is used: no ``pyplot``, no global
backend switch, nothing shown on screen -- safe in notebooks, servers and CI.
"""

from __future__ import annotations

import io
import math
import os
import re
from dataclasses import dataclass, field

from .columns import bare_name, is_numeric_factor
from .levels import Levels
from .select import MAX_LINES, PlotSpec, varied_factors
from .stats import describe

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
    extra: dict = field(default_factory=dict)  # more report.json fields of this kind of plot


def figure(width=6.4, height=4.2):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def band_limits(cells, band: str):
    """The band's (low, high) per row of ``cells`` (the mean where it has none)."""
    import numpy as np

    mean = cells["mean"].to_numpy(dtype=float)
    if band == "ci":
        lo, hi = cells["ci_low"].to_numpy(dtype=float), cells["ci_high"].to_numpy(dtype=float)
    else:
        half = cells[band].to_numpy(dtype=float)
        lo, hi = mean - half, mean + half
    return np.where(np.isfinite(lo), lo, mean), np.where(np.isfinite(hi), hi, mean)


def band_text(band: str, over: str | None) -> str:
    what = {"std": "± std", "sem": "± sem", "ci": "95 % CI"}[band]
    return f"mean {what} over {over}" if over else f"mean {what}"


def better_text(mode: str) -> str:
    return "lower is better" if mode == "min" else "higher is better"


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


def cells_for(summary, cols, metric, pooled):
    """The statistics of ``metric`` per value of ``cols``: over the units when nothing is
    pooled; with pooled factors and a seed column, over the seeds of the per-seed means
    (the pooled levels averaged within each seed first)."""
    obs = summary.observations
    if pooled and summary.over is not None:
        per_seed = obs.groupby(list(cols) + [summary.over], dropna=False, sort=False)[metric].mean().reset_index()
        return describe(per_seed, cols, metric)
    return describe(obs, cols, metric)


def _line_plot(ax, cells, f, line_cols, band, scale, levels: Levels):
    import numpy as np

    keys = [()] if not line_cols else [tuple(r) for r in cells[line_cols].drop_duplicates().itertuples(index=False)]
    if line_cols:  # legend in the sweep's order of the line factors
        orders = [levels.order(c, cells[c].unique().tolist()) for c in line_cols]
        keys.sort(key=lambda t: [o.index(v) for o, v in zip(orders, t)])
    xs_all = levels.order(f, cells[f].dropna().unique().tolist())
    colors = [f"C{i % 10}" for i in range(len(keys))]

    def rows_of(key):
        if not line_cols:
            return cells
        return cells[np.logical_and.reduce([cells[c].astype(str).to_numpy() == str(v) for c, v in zip(line_cols, key)])]

    if scale in ("linear", "log"):
        for key, color in zip(keys, colors):
            sub = rows_of(key)
            sub = sub.assign(_x=sub[f].astype(float)).sort_values("_x")
            x = sub["_x"].to_numpy()
            lo, hi = band_limits(sub, band)
            ax.plot(x, sub["mean"].to_numpy(), marker="o", color=color,
                    label=_label(line_cols, key) if line_cols else None)
            if np.isfinite(lo).any() and (hi > lo).any():
                ax.fill_between(x, lo, hi, color=color, alpha=0.2, linewidth=0)
        if scale == "log":
            ax.set_xscale("log")
    else:  # points with intervals at evenly spaced, labelled positions
        positions = {str(v): i for i, v in enumerate(xs_all)}
        step = 0.6 / max(1, len(keys))
        for j, (key, color) in enumerate(zip(keys, colors)):
            sub = rows_of(key)
            pos = np.array([positions[str(v)] for v in sub[f]]) - 0.3 + step * (j + 0.5)
            mean = sub["mean"].to_numpy(dtype=float)
            lo, hi = band_limits(sub, band)
            ax.errorbar(pos, mean, yerr=np.vstack([mean - lo, hi - mean]), fmt="o", color=color, capsize=3,
                        linestyle="none", label=_label(line_cols, key) if line_cols else None)
        ax.set_xticks(range(len(xs_all)))
        ax.set_xticklabels([clip(v) for v in xs_all], rotation=30 if len(xs_all) > 4 else 0,
                           ha="right" if len(xs_all) > 4 else "center")
        ax.set_xlim(-0.6, len(xs_all) - 0.4)
    if line_cols:
        ax.legend(title=clip(", ".join(bare_name(c) for c in line_cols)), fontsize="x-small",
                  title_fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  frameon=False)


def _heatmap(fig, ax, cells, a, b, levels: Levels, colorbar_label: str):
    import numpy as np

    rows = levels.order(a, cells[a].dropna().unique().tolist())
    cols = levels.order(b, cells[b].dropna().unique().tolist())
    ri = {str(v): i for i, v in enumerate(rows)}
    ci = {str(v): j for j, v in enumerate(cols)}
    mean = np.full((len(rows), len(cols)), np.nan)
    std = np.full_like(mean, np.nan)
    count = np.zeros_like(mean, dtype=int)
    for va, vb, m, s, n in zip(cells[a], cells[b], cells["mean"], cells["std"], cells["n"]):
        if str(va) in ri and str(vb) in ci:
            i, j = ri[str(va)], ci[str(vb)]
            mean[i, j], std[i, j], count[i, j] = m, s, n
    image = ax.imshow(np.ma.masked_invalid(mean), cmap="viridis", aspect="auto")
    fig.colorbar(image, ax=ax, label=clip(colorbar_label))
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

        size = 8 if n_cells <= 16 else (6 if n_cells <= 49 else 4.5)
        finite = mean[np.isfinite(mean)]
        mid = (finite.min() + finite.max()) / 2 if len(finite) else 0
        for i in range(len(rows)):
            for j in range(len(cols)):
                if np.isfinite(mean[i, j]):
                    ax.text(j, i, f"{format_pm(mean[i, j], std[i, j])}\nn={count[i, j]}", ha="center",
                            va="center", fontsize=size, color="white" if mean[i, j] < mid else "black")


def slug(text: str) -> str:
    return _SLUG.sub("_", str(text)).strip("_")[:80] or "plot"


def _pooled_text(pooled, over) -> str:
    names = ", ".join(bare_name(c) for c in pooled)
    if over:
        return f"pooled over {names}: averaged within each {over} first, so the band is a spread over {over}"
    return f"pooled over {names}: the spread includes their effect (no seed column)"


def render(summary, spec: PlotSpec, directory: str, band: str = "std", scores=None,
           taken: set | None = None, objective: str | None = None, mode: str = "min",
           levels: Levels | None = None) -> Plot:
    """Draw one plot into ``directory/plots/`` (PNG and SVG)."""
    scores = scores or {}
    levels = levels or Levels()
    metric = spec.metric
    over = summary.over
    axis_label = metric + (f" ({better_text(mode)})" if metric == objective else "")
    if spec.kind == "line":
        f = spec.factors[0]
        line_cols, pooled = _lines_for(summary, spec, scores)
        cells = cells_for(summary, [f] + line_cols, metric, pooled)
        cells = cells[cells["n"] > 0]
        numeric = is_numeric_factor(cells[f].dropna().unique())
        # a param some runs lack: its own level for text factors, not placeable on a number line
        cells = cells[cells[f].notna()] if numeric else cells.assign(**{f: cells[f].where(cells[f].notna(), MISSING)})
        for c in line_cols:
            cells[c] = cells[c].where(cells[c].notna(), MISSING)
        scale = levels.scale(f, cells[f].unique()) if numeric and len(cells) else "levels"
        fig = figure(8.4 if line_cols else 6.4)
        ax = fig.subplots()
        _line_plot(ax, cells, f, line_cols, band, scale, levels)
        ax.set_xlabel(clip(bare_name(f)) + (" (evenly spaced levels)" if numeric and scale == "levels" else ""))
        ax.set_ylabel(clip(axis_label, 2 * LABEL_CHARS))
        ax.grid(True, alpha=0.3)
        title = f"{metric} vs {bare_name(f)}"
        parts = [band_text(band, over), _n_range(cells) if len(cells) else "no values"]
        if line_cols:
            parts.append("one " + ("line" if scale != "levels" else "colour") + " per "
                         + ", ".join(bare_name(c) for c in line_cols))
        name = f"{slug(metric)}__vs__{slug(f)}"
        extra = {"scale": scale if numeric else "levels",
                 "levels": [str(v) for v in levels.order(f, cells[f].dropna().unique().tolist())]}
    else:
        a, b = spec.factors
        pooled = [c for c in varied_factors(summary) if c not in (a, b)]
        cells = cells_for(summary, [a, b], metric, pooled)
        cells = cells[cells["n"] > 0]
        fig = figure(max(6.4, 0.7 * cells[b].nunique() + 2.5), max(4.2, 0.4 * cells[a].nunique() + 1.5))
        ax = fig.subplots()
        _heatmap(fig, ax, cells, a, b, levels, axis_label)
        title = f"{metric}: {bare_name(a)} × {bare_name(b)}"
        parts = ["mean ± std" + (f" over {over}" if over else "") + " and n per cell",
                 _n_range(cells) if len(cells) else "no values"]
        name = f"{slug(metric)}__{slug(a)}__x__{slug(b)}"
        extra = {"rows": [str(v) for v in levels.order(a, cells[a].dropna().unique().tolist())],
                 "columns": [str(v) for v in levels.order(b, cells[b].dropna().unique().tolist())]}
    if pooled:
        parts.append(_pooled_text(pooled, over))
    if metric == objective:
        parts.append(better_text(mode))
    ax.set_title(clip(title, 2 * LABEL_CHARS), fontsize="medium")
    plot = save(fig, directory, name, spec, title, "; ".join(parts), taken if taken is not None else set())
    plot.pooled = list(pooled)
    plot.n = int(cells["n"].max()) if len(cells) else 0
    plot.extra = extra
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
