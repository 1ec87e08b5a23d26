"""The backend's plan: which grid points run, with which params, under which index.

The grid's values are passed and logged as the entry point's declared parameter types
render them (:func:`~.config.typed_value`); a resumed sweep keeps each point's index and
skips the points that already have a FINISHED child (matched on ``mlflow_sweep.point``).
"""

from __future__ import annotations

import os

from mlflow.exceptions import ExecutionException

from ..sweep.identity import point_key
from ..tags import TAG_POINT, TAG_SUPERSEDED, TAG_SWEEP_ID, TAG_SWEEP_INDEX
from ..warning_types import warn as _warn
from .config import grid_points, typed_value


def run_name(point: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in point.items())


class Child:
    """One grid point of the sweep, and what became of it."""

    def __init__(self, index: int, point: dict, params: dict):
        self.index = index
        self.point = point
        self.key = point_key(point)  # the tag mlflow_sweep.point
        self.params = params  # grid values merged over -P
        self.logged_params: dict = {}  # what the entry point makes of them (logged on the run)
        self.run_id: str | None = None
        self.running = None  # the executor's RunningChild while it runs
        self.status: str | None = None
        self.supersedes: list = []  # earlier failed runs of this point (resume)

    @property
    def name(self) -> str:
        return run_name(self.point)


def plan_children(project, entry_point: str, params: dict, grid: dict) -> list[Child]:
    """One :class:`Child` per grid point, in grid order, its params computed (and checked)
    by the entry point as ``mlflow run`` would: ``ExecutionException`` naming the point."""
    entry = project.get_entry_point(entry_point)
    children = []
    for index, point in enumerate(grid_points(checked_grid(grid, entry, entry_point))):
        merged = dict(params)
        merged.update(point)
        child = Child(index, point, merged)
        if entry is not None:
            try:
                final, extra = entry.compute_parameters(merged, storage_dir=None)
            except ExecutionException as exc:
                raise ExecutionException(f"sweep grid point {index} ({child.name}): {exc}") from None
            child.logged_params = {**final, **extra}
        children.append(child)
    return children


def checked_grid(grid: dict, entry, entry_point: str) -> dict:
    """The grid with each value as the text its declared parameter type gives it, after
    warning about keys the entry point does not declare (MLflow passes them to the
    command as ``--key value``, which the script may ignore or refuse) and values that
    do not fit their type."""
    if entry is None:
        return grid
    declared = dict(entry.parameters)
    is_file = os.path.splitext(entry_point)[1] in (".py", ".sh", ".R")
    if declared or not is_file:  # a script run as a file declares nothing: no news
        names = ", ".join(declared) or "none"
        for key in grid:
            if key not in declared:
                _warn(f"grid key {key!r} is not a parameter of entry point {entry_point!r} "
                      f"(it declares: {names}); MLflow passes it to the command as --{key} VALUE")
    out = {}
    for key, values in grid.items():
        param = declared.get(key)
        texts = []
        for value in values:
            text, problem = typed_value(value, param.type if param is not None else None)
            if problem:
                _warn(f"grid value {value!r} of {key!r} {problem}, but entry point "
                      f"{entry_point!r} declares {key} as {param.type}; passed as {text!r}")
            texts.append(text)
        out[key] = texts
    return out


def resume_plan(children: list[Child], runs, sweep_id: str | None) -> tuple[list[Child], list[Child]]:
    """A resumed sweep, from its earlier children ``runs`` (oldest first): each point keeps
    the index it first got in this sweep, points new to the grid get indexes after the
    highest used (so indexes never collide, however the grid grows or is reordered).
    Returns ``(to run, already finished)``; a point to run again records the failed runs
    it supersedes."""
    keep_indexes(children, runs, sweep_id)
    done, failed = {}, {}
    for run in runs:
        key = run.data.tags.get(TAG_POINT)
        if key is None or TAG_SUPERSEDED in run.data.tags:
            continue
        if run.info.status == "FINISHED":
            done.setdefault(key, run.info.run_id)
        else:
            failed.setdefault(key, []).append(run.info.run_id)
    todo, skipped = [], []
    for child in children:
        if child.key in done:
            child.run_id, child.status = done[child.key], "FINISHED"
            skipped.append(child)
        else:
            child.supersedes = failed.get(child.key, [])
            todo.append(child)
    return todo, skipped


def keep_indexes(children: list[Child], runs, sweep_id: str | None) -> None:
    first: dict = {}
    highest = -1
    for run in runs:  # oldest first
        if sweep_id is None or run.data.tags.get(TAG_SWEEP_ID) != sweep_id:
            continue
        try:
            index = int(run.data.tags.get(TAG_SWEEP_INDEX, ""))
        except ValueError:
            continue
        highest = max(highest, index)
        key = run.data.tags.get(TAG_POINT)
        if key is not None:
            first.setdefault(key, index)
    for child in children:
        if child.key in first:
            child.index = first[child.key]
        else:
            highest += 1
            child.index = highest
