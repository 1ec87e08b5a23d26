"""Learning curves: a metric's history per configuration, the mean over seeds per step.

Which metrics: the ``--history`` metrics and the objective's metric (``metrics.KEY`` ->
``KEY``, ``KEY.min`` -> ``KEY``) when it was logged at more than one step; ``--curves
METRIC`` adds others; ``--no-curves`` draws none. A metric whose histories have one step
at most is not drawn (a note says so when it was asked for).

Which configurations: at most :data:`MAX_CURVES` lines -- with an objective, the best,
then the rest of its best set, then the others in rank order; without one, the groups
in the summary's order. Each line is one configuration's runs (one per seed, the runs
the summary used). At step ``s``, with ``x_1..x_n`` the values of the seeds that logged
step ``s`` (NaN left out): the mean, and the band of ``--band`` by the summary's
formulas (:func:`.stats.describe`: ``std`` sample, ``sem`` = std/sqrt(n), ``ci`` the 95 %
t-interval). The marked point of each line is the step of its best mean (the smallest
for ``min``, largest for ``max``; the first such step), direction: the objective's
``--mode`` for its metric; for a ``--history`` metric asked only with ``max``/``argmax``,
``max``; else ``min``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .columns import bare_name, group_label
from .plots import LABEL_CHARS, Plot, band_limits, band_text, better_text, clip, figure, save, slug
from .select import PlotSpec
from .stats import describe

#: lines per curve plot
MAX_CURVES = 10


@dataclass(frozen=True)
class CurveAsk:
    """A learning curve to draw: the history ``key``, its ``mode``, and whether it was
    asked for by name (``--curves``), so that its absence is told."""

    key: str
    mode: str
    asked: bool


def history_key(column: str) -> str:
    """``metrics.val_loss`` and ``val_loss.min`` -> ``val_loss`` (the logged metric's key)."""
    from ..export.history import AGGS

    column = str(column)
    if column.startswith("metrics."):
        return column[len("metrics."):]
    stem, dot, agg = column.rpartition(".")
    return stem if dot and agg in AGGS else column


def curves_asked(objective, mode, history_specs=(), curves=(), no_curves: bool = False) -> list:
    """The :class:`CurveAsk` list (see the module docstring), in order: ``--curves``, the
    objective's, the ``--history`` ones; each key once."""
    if no_curves:
        return []
    out: dict = {}
    objective_key = history_key(objective) if objective else None
    aggs: dict = {}
    for key, agg in history_specs or ():
        aggs.setdefault(key, set()).add(agg)

    def direction(key):
        if key == objective_key:
            return mode
        asked = aggs.get(key, set())
        return "max" if asked and asked <= {"max", "argmax"} else "min"

    for c in curves or ():
        key = history_key(c)
        out.setdefault(key, CurveAsk(key, direction(key), True))
    if objective_key:
        out.setdefault(objective_key, CurveAsk(objective_key, direction(objective_key), False))
    for key in aggs:
        out.setdefault(key, CurveAsk(key, direction(key), False))
    return list(out.values())


def curve_groups(summary, best, limit: int = MAX_CURVES) -> list[int]:
    """The rows of ``summary.groups`` drawn: the best and its set first (module docstring)."""
    if best is not None and len(best.ranking):
        ranking = best.ranking
        order = [int(g) for g, s in zip(ranking["group"], ranking["in_set"]) if s]
        order = [int(ranking["group"].iloc[0])] + [g for g in order if g != int(ranking["group"].iloc[0])]
        order += [int(g) for g in ranking["group"] if int(g) not in order]
        order += [g for g in range(len(summary.groups)) if g not in order]
    else:
        order = list(range(len(summary.groups)))
    return order[:limit]


def curve_frame(summary, groups, points, key):
    """One row per (group, seed, step): ``group``, ``unit``, ``step``, ``value``, from the
    runs the summary used for ``groups``."""
    import pandas as pd

    obs = summary.observations
    unit = summary.over if summary.over in obs.columns else "run_id"
    sub = obs[obs["group"].isin(groups)]
    rows = []
    for g, u, run in zip(sub["group"], sub[unit], sub["run_id"]):
        for step, value in points.get((run, key), ()):
            rows.append((int(g), u, step, value))
    frame = pd.DataFrame(rows, columns=["group", "unit", "step", "value"])
    # a step logged twice by one run: its last value (the points are in logging order)
    return frame.drop_duplicates(["group", "unit", "step"], keep="last")


def _best_step(steps, means, mode):
    import numpy as np

    ok = np.isfinite(means)
    if not ok.any():
        return None, None
    i = int(np.nanargmin(np.where(ok, means, np.nan)) if mode == "min" else np.nanargmax(np.where(ok, means, np.nan)))
    return steps[i], means[i]


def draw_curve(summary, best, ask: CurveAsk, points, directory: str, band: str, taken: set, groups):
    """The learning-curve plot of ``ask.key`` (a :class:`~.plots.Plot`, or ``None`` when
    no drawn configuration has a history of more than one step)."""
    frame = curve_frame(summary, groups, points, ask.key)
    if not len(frame) or frame.groupby(["group", "unit"])["step"].nunique().max() < 2:
        return None
    cells = describe(frame, ["group", "step"], "value")
    cells = cells[cells["n"] > 0]
    fig = figure(8.4)
    ax = fig.subplots()
    best_group = best.best_group if best is not None else None
    in_set = set()
    if best is not None and len(best.ranking):
        in_set = {int(g) for g, s in zip(best.ranking["group"], best.ranking["in_set"]) if s}
    labels, best_steps = [], []
    for i, g in enumerate(g for g in groups if g in set(cells["group"])):
        sub = cells[cells["group"] == g].sort_values("step")
        steps = sub["step"].to_numpy()
        mean = sub["mean"].to_numpy(dtype=float)
        lo, hi = band_limits(sub, band)
        label = group_label(summary.groups.iloc[g], summary.by) if summary.by else "(all runs)"
        tag = " (best)" if g == best_group else (" (best set)" if g in in_set else "")
        color = f"C{i % 10}"
        ax.plot(steps, mean, color=color, linewidth=2.2 if g == best_group else 1.2,
                label=clip(label + tag, LABEL_CHARS))
        if (hi > lo).any():
            ax.fill_between(steps, lo, hi, color=color, alpha=0.15, linewidth=0)
        step, value = _best_step(steps, mean, ask.mode)
        if step is not None:
            ax.plot([step], [value], marker="*", markersize=11, color=color, markeredgecolor="black",
                    markeredgewidth=0.6, linestyle="none")
        labels.append(label)
        best_steps.append(None if step is None else int(step))
    metric = f"metrics.{ask.key}" if f"metrics.{ask.key}" in summary.metrics else ask.key
    ax.set_xlabel("step")
    ax.set_ylabel(clip(f"{ask.key} ({better_text(ask.mode)})"))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    title = f"{ask.key}: learning curves"
    ax.set_title(clip(title, 2 * LABEL_CHARS), fontsize="medium")
    n_units = frame.groupby("group")["unit"].nunique()
    lo_n, hi_n = int(n_units.min()), int(n_units.max())
    shown = len(labels)
    parts = [band_text(band, summary.over) + " per step",
             f"n = {lo_n}" if lo_n == hi_n else f"n = {lo_n}–{hi_n}",
             f"{shown} of {len(summary.groups)} configuration(s)"
             + (" (the best and its best set first)" if best is not None else ""),
             f"★ the step of each line's best mean ({better_text(ask.mode)})"]
    spec = PlotSpec("curve", metric, tuple(summary.by), math.nan)
    plot = save(fig, directory, f"{slug(ask.key)}__curves", spec, title, "; ".join(parts), taken)
    plot.n = hi_n
    plot.extra = {"configurations": labels, "best_steps": best_steps, "mode": ask.mode, "band": band,
                  "steps": [int(frame["step"].min()), int(frame["step"].max())]}
    return plot


def draw_curves(summary, best, asks, fetch, directory: str, band: str, taken: set):
    """``(plots, notes)``: one curve plot per :class:`CurveAsk` that has histories.
    ``fetch(run_ids, keys)`` reads the histories (:meth:`.source.Source.histories`)."""
    if not asks or fetch is None or not len(summary.groups):
        return [], []
    groups = curve_groups(summary, best)
    obs = summary.observations
    run_ids = sorted(set(obs.loc[obs["group"].isin(groups), "run_id"]))
    points = fetch(run_ids, [a.key for a in asks])
    plots: list[Plot] = []
    notes = []
    for ask in asks:
        plot = draw_curve(summary, best, ask, points, directory, band, taken, groups)
        if plot is not None:
            plots.append(plot)
        elif ask.asked:
            notes.append(f"--curves {ask.key}: no run has a history of {bare_name(ask.key)} with more than "
                         f"one step: no learning curve")
    return plots, notes
