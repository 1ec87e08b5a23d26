"""The order of a factor's levels in plots, and how a numeric factor's axis is drawn.

Order: ``--order FACTOR=a,b,c`` (levels it does not name follow, in the default order);
else the sweep's order -- the grid's order where the sweep recorded one (the parent's tag
``mlflow_sweep.grid``), else, for a text factor, the order of first appearance (by run
start time); a numeric factor not in a grid goes by value.

Axis of a numeric factor (``--scale FACTOR=levels|linear|log`` chooses): ``levels`` --
evenly spaced labelled positions, points with intervals, no line between them -- when it
has at most :data:`FEW_LEVELS` levels that are not evenly spaced on a linear axis nor (all
positive) on a log axis (β ∈ {0, 1, 10}: a line from 1 to 10 would draw a trend never
measured); else ``log`` when the values are positive and span two decades or more; else
``linear``. Evenly spaced: the largest gap between neighbouring levels is at most 1.5
times the smallest.
"""

from __future__ import annotations

import json
import math

from ..errors import UsageError, did_you_mean
from .columns import bare_name, is_numeric_factor, value_key

SCALES = ("levels", "linear", "log")
#: a numeric factor with more levels than this is drawn on a number line
FEW_LEVELS = 8
_EVEN = 1.5


def grid_orders(grids) -> dict:
    """``{param: [value text, ...]}`` from grid tags (JSON ``{param: [values]}``); a tag
    that is not such JSON is skipped (the report is never refused for it)."""
    out: dict = {}
    for text in grids or ():
        try:
            grid = json.loads(text)
        except (TypeError, ValueError):
            continue
        if not isinstance(grid, dict):
            continue
        for param, values in grid.items():
            if isinstance(values, list):
                seen = out.setdefault(str(param), [])
                seen += [str(v) for v in values if str(v) not in seen]
    return out


def first_appearance(df, columns) -> dict:
    """``{column: [value text, ...]}`` in the order the runs started."""
    if "start_time" in df.columns:
        df = df.sort_values("start_time", kind="stable")
    return {c: list(dict.fromkeys(str(v) for v in df[c].dropna())) for c in columns if c in df.columns}


def parse_pairs(pairs, option: str) -> dict:
    """``["A=x,y"]`` -> ``{"A": ["x", "y"]}``; without ``=``: a usage error."""
    out = {}
    for pair in pairs or ():
        name, sep, values = str(pair).partition("=")
        if not sep or not name.strip() or not values.strip():
            raise UsageError(f"{option} takes FACTOR=VALUE[,VALUE...], not {pair!r}")
        out[name.strip()] = [v.strip() for v in values.split(",") if v.strip()]
    return out


def resolve(asked: dict, factors, option: str) -> dict:
    """``asked`` keyed by the factor columns (a bare name matches ``params.NAME``)."""
    out = {}
    for name, value in (asked or {}).items():
        column = name if name in factors else next((f for f in factors if bare_name(f) == name), None)
        if column is None:
            raise UsageError(f"{option} {name!r}: not a grouping factor of this report (factors: "
                             f"{', '.join(bare_name(f) for f in factors) or 'none'}){did_you_mean(name, factors)}")
        out[column] = value
    return out


class Levels:
    """Level order and axis per factor for one report (see the module docstring)."""

    def __init__(self, orders=None, grid=None, appearance=None, scales=None):
        self.orders = orders or {}  # --order, by column
        self.grid = grid or {}  # by bare param name
        self.appearance = appearance or {}
        self.scales = scales or {}  # --scale, by column

    def check(self, summary) -> None:
        """A usage error for an ``--order`` value that is not a level of its factor."""
        for column, values in self.orders.items():
            levels = {str(v) for v in summary.groups[column].dropna().unique()}
            bad = [v for v in values if v not in levels]
            if bad:
                raise UsageError(f"--order {bare_name(column)}: {bad[0]!r} is not one of its levels "
                                 f"({', '.join(sorted(levels, key=value_key))})")
        for column, scale in self.scales.items():
            if scale not in SCALES:
                raise UsageError(f"--scale {bare_name(column)}={scale}: use one of {', '.join(SCALES)}")

    def order(self, column, values) -> list:
        """``values`` (a factor's levels) in the report's order."""
        values = sorted(set(values), key=value_key)
        numeric = is_numeric_factor(values)
        wanted = self.orders.get(column) or self.grid.get(bare_name(column)) or \
            (None if numeric else self.appearance.get(column))
        if not wanted:
            return values
        rank = {v: i for i, v in enumerate(wanted)}
        return sorted(values, key=lambda v: (0, rank[str(v)]) if str(v) in rank else (1, values.index(v)))

    def scale(self, column, values) -> str:
        """``levels``, ``linear`` or ``log`` for a numeric factor (see the module docstring)."""
        if column in self.scales:
            return self.scales[column]
        xs = sorted({float(v) for v in values})
        if len(xs) <= 2:
            return "linear"
        positive = xs[0] > 0
        if len(xs) <= FEW_LEVELS and not _even(xs) and not (positive and _even([math.log(x) for x in xs])):
            return "levels"
        return "log" if positive and xs[-1] / xs[0] >= 100 else "linear"


def _even(xs) -> bool:
    gaps = [b - a for a, b in zip(xs, xs[1:])]
    return min(gaps) > 0 and max(gaps) <= _EVEN * min(gaps)
