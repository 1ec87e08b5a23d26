"""What ``mlflow-sweep status`` knows of a sweep, as data (the command only renders it).

Read from the store, nothing written: the parent runs (one search), the sweeps' child
runs (one search, every page), the stored spec of each sweep with one (one artifact
request, :mod:`.stored_spec`) and, only for an objective aggregated over its history
(``agg`` other than ``last``), the history of each finished run.

- **Runs by state** (children a resumed sweep superseded left out): ``pruned``
  (``mlflow_sweep.pruned`` set), else ``finished``, ``failed``, ``killed`` by the run's
  status, ``running`` (RUNNING or SCHEDULED). ``missing`` (grids): the planned
  configuration × seed pairs (the grid's first ``max_trials`` points × the seed values)
  with no run yet, a pruned configuration's other seeds left out, at most the runs
  ``max_runs`` still allows.
- **Best so far**: the search engine's own choice (:func:`~..search.race.make_engine`:
  rebuilt from the runs, as a resumed sweep rebuilds it: a configuration counts once all
  its seed runs ended; its value is the mean of its finished runs' objectives,
  :func:`~..search.seeds.config_value`; a run's objective is
  :func:`~..search.objective.run_value` of the metric's history). ``std`` is the sample
  standard deviation (divisor ``n - 1``) of those runs' objectives, ``None`` for
  ``n = 1``; ``n`` how many runs gave a value.
- **Controller**: the one the parent records (:mod:`..search.controller`): alive when
  its process exists (same host) or its heartbeat is recent (other host).
- **A Hydra study over several sessions** (each multirun has its own parent; a resumed
  one tags its parent ``mlflow_sweep.study`` with the study's first parent run id) is one
  sweep: its newest parent (state, controller, the command that continues it), the
  children of every session, and ``sessions``, its parents oldest first.
"""

from __future__ import annotations

import datetime
import json
import math
import statistics
import time
from dataclasses import asdict, dataclass, field

from ..search import space as _space
from ..search.controller import is_alive, recorded
from ..search.objective import fetch_history, run_value
from ..search.race import STAGE_CONFIRM, Confirmed, Race, make_engine
from ..search.seeds import seed_text
from ..search.study import grid_configs, records_from_runs
from ..tags import (KIND_HYDRA, ROLE_CHILD, ROLE_PARENT, TAG_ERROR, TAG_EXIT_CODE, TAG_HYDRA_OVERRIDES,
                    TAG_HYDRA_SWEEP_DIR, TAG_HYDRA_SWEEPER, TAG_KIND, TAG_POINT, TAG_PRUNED, TAG_ROLE,
                    TAG_SEED, TAG_STRATEGY, TAG_SUPERSEDED, TAG_SWEEP_ID, TAG_SWEEP_NAME)
from .identity import start_order, study_key
from .query import find_runs
from .stored_spec import read_spec, search_spec

STATES = ("finished", "failed", "pruned", "killed", "running")
MATRIX_MAX_PARAMS = 3
_PRIORITY = ("finished", "running", "pruned", "failed", "killed")  # one run per cell: the first


def run_state(run) -> str:
    """A child's state for ``status`` (see the module docstring)."""
    if run.data.tags.get(TAG_PRUNED):
        return "pruned"
    status = run.info.status
    return {"FINISHED": "finished", "FAILED": "failed", "KILLED": "killed"}.get(status, "running")


@dataclass
class SweepStatus:
    name: str | None
    parent_run_id: str
    experiment_id: str
    kind: str | None
    strategy: str | None
    state: str
    start_time: str | None                       # ISO 8601, UTC
    controller: dict | None                      # host, pid, alive, last_seen (unix s), last_seen_ago_s
    runs: dict                                   # state -> count, plus "missing" (None: not known)
    budget: dict                                 # max_trials, max_runs, trials, runs
    objective: dict | None                       # the spec's: metric, mode, agg (None: no objective)
    best: dict | None                            # objective, mode, mean, std, n, params, trial
    failed_runs: list = field(default_factory=list)   # run_id, state, error, params
    resume_command: str | None = None
    matrix: dict | None = None                   # params, seeds, rows [{params, cells}]
    sessions: list = field(default_factory=list)  # the study's parents, oldest first: run_id, state, start_time

    def to_dict(self) -> dict:
        return asdict(self)


def _iso(ms) -> str | None:
    if not ms:
        return None
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).isoformat(timespec="seconds")


def _controller(tags: dict, now: float) -> dict | None:
    found = recorded(tags)
    if found is None:
        return None
    return {"host": found.host, "pid": found.pid, "alive": is_alive(found, now),
            "last_seen": found.heartbeat,
            "last_seen_ago_s": None if found.heartbeat is None else max(0.0, round(now - found.heartbeat, 1))}


def _params_of(run, spec) -> dict:
    """The run's swept values: the spec's params as logged, else its ``mlflow_sweep.point``."""
    if spec is not None:
        return {k: run.data.params[k] for k in spec.space if k in run.data.params}
    try:
        point = json.loads(run.data.tags.get(TAG_POINT) or "{}")
    except ValueError:
        point = {}
    return point if isinstance(point, dict) else {}


def _seed_of(run, spec) -> str | None:
    seed = run.data.tags.get(TAG_SEED)
    if seed is None and spec is not None and spec.seeds is not None:
        seed = run.data.params.get(spec.seeds.param)
    return seed


def _history(client, spec, runs_by_id: dict):
    """``history(run_id, metric)`` for :func:`records_from_runs`: for ``agg = last`` the
    run's latest value (MLflow's: highest step, then latest time) at no request; for other
    aggregates the whole history of a finished run (one request each)."""

    def history(run_id, metric):
        run = runs_by_id[run_id]
        if spec.objective.agg == "last":
            value = run.data.metrics.get(metric)
            return [] if value is None else [(0, 0, float(value))]
        if run.info.status != "FINISHED" or metric not in run.data.metrics:
            return []
        return fetch_history(client, run_id, metric)

    return history


def _engine(client, spec, children):
    """``(engine, records)``: the engine the spec asks for (a search, a race, a search then
    a confirmation race), rebuilt from the runs as a resumed sweep rebuilds it; ``(None,
    [])`` without an objective."""
    if spec is None or spec.objective is None or not children:
        return None, []
    by_id = {r.info.run_id: r for r in children}
    records = records_from_runs(children, spec, _history(client, spec, by_id))
    return make_engine(spec, records), records


def _best(spec, engine, records) -> dict | None:
    found = engine.best_config() if engine is not None else None
    if found is None:
        return None
    mean, config, trial = found
    key = _space.config_key(config)
    if isinstance(engine, Confirmed) and engine.race is not None:  # decided on the fresh seeds only
        records = [r for r in records if r.stage == STAGE_CONFIRM]
    values = []
    for record in records:
        if record.status != "FINISHED" or record.pruned:
            continue
        parsed = _space.parse_config(spec.space, record.config_texts)
        if parsed is not None and _space.config_key(parsed) == key:
            value = run_value(record.points, spec.objective.agg)
            if value is not None:
                values.append(value)
    return {"objective": spec.objective.metric, "mode": spec.objective.mode, "agg": spec.objective.agg,
            "mean": mean, "std": statistics.stdev(values) if len(values) > 1 else None, "n": len(values),
            "params": {k: _space.value_text(v) for k, v in config.items()}, "trial": trial}


def _plan(spec, children, engine) -> tuple[int | None, dict | None]:
    """``(missing, matrix)`` of a grid sweep or a race (``(None, None)`` for other
    strategies). A race's eliminated candidates are skipped like pruned configurations;
    a race that has ended misses nothing."""
    if spec is None or spec.strategy != "grid":
        return None, None
    race = engine if isinstance(engine, Race) else None
    configs = list(grid_configs(spec.space))[:spec.max_trials or None]
    seeds = [seed_text(s) for s in spec.seed_values()]
    cells: dict = {}
    pruned = {c.key for c in race.cands.values() if c.left_in is not None} if race else set()
    for run in children:
        values = _space.parse_config(spec.space, _params_of(run, spec))
        if values is None:
            continue
        key, state = _space.config_key(values), run_state(run)
        if state == "pruned":
            pruned.add(key)
        cell = (key, _seed_of(run, spec))
        old = cells.get(cell)
        if old is None or _PRIORITY.index(state) < _PRIORITY.index(old):
            cells[cell] = state
    keys = [_space.config_key(c) for c in configs]
    missing = sum(1 for k in keys if k not in pruned for s in seeds if (k, s) not in cells)
    if race is not None and race.finished:
        missing = 0
    if spec.max_runs is not None:
        missing = min(missing, max(0, spec.max_runs - len(children)))
    swept = [n for n, p in spec.space.items() if len(p.choices) > 1]
    matrix = None
    if len(swept) <= MATRIX_MAX_PARAMS:
        rows = [{"params": {n: _space.value_text(c[n]) for n in swept},
                 "cells": [cells.get((k, s), "skipped" if k in pruned else "missing") for s in seeds]}
                for c, k in zip(configs, keys)]
        matrix = {"params": swept, "seeds": seeds if spec.seeds else None, "rows": rows}
    return missing, matrix


def hydra_command(tags: dict) -> str:
    """The multirun command that continues a Hydra sweep: with the search sweeper
    (``mlflow_sweep.strategy`` on the parent), the same overrides with
    ``hydra.sweeper.resume=true`` (a new session continuing the study); else the same
    overrides in the same sweep directory (the callback reopens its parent)."""
    overrides = tags.get(TAG_HYDRA_OVERRIDES, "")
    where = tags.get(TAG_HYDRA_SWEEP_DIR)
    if tags.get(TAG_STRATEGY):
        last = "hydra.sweeper.resume=true"
    else:
        last = f"hydra.sweep.dir={where}" if where else ""
    return " ".join(p for p in ["python", "YOUR_APP.py", "--multirun", overrides, last] if p)


def _sessions(parents) -> list[dict]:
    return [{"run_id": p.info.run_id, "state": p.info.status, "start_time": _iso(p.info.start_time)}
            for p in sorted(parents, key=start_order)]


def sweep_status(client, parent, children, now: float | None = None, sessions=()) -> SweepStatus:
    """The status of the sweep of ``parent`` from its child runs (superseded ones included:
    they are left out here); ``sessions``: every parent of its study (``parent`` the newest)."""
    now = time.time() if now is None else now
    tags = parent.data.tags
    run_id = parent.info.run_id
    kind = tags.get(TAG_KIND)
    spec = search_spec(read_spec(client, parent), run_id) if kind != KIND_HYDRA or tags.get(TAG_STRATEGY) else None
    live = [r for r in children if TAG_SUPERSEDED not in r.data.tags]
    counts = dict.fromkeys(STATES, 0)
    for run in live:
        counts[run_state(run)] += 1
    engine, records = _engine(client, spec, live)
    missing, matrix = _plan(spec, live, engine)
    counts["missing"] = missing
    configs = {json.dumps(_params_of(r, spec), sort_keys=True) for r in live}
    failed = [{"run_id": r.info.run_id, "state": run_state(r),
               "error": r.data.tags.get(TAG_ERROR) or (f"exit code {r.data.tags[TAG_EXIT_CODE]}"
                                                       if r.data.tags.get(TAG_EXIT_CODE) else None),
               "params": _params_of(r, spec), "seed": _seed_of(r, spec)}
              for r in live if run_state(r) in ("failed", "killed")]
    strategy = tags.get(TAG_STRATEGY) or (spec.strategy if spec else None) or tags.get(TAG_HYDRA_SWEEPER)
    return SweepStatus(
        name=tags.get(TAG_SWEEP_NAME), parent_run_id=run_id, experiment_id=parent.info.experiment_id,
        kind=kind, strategy=strategy, state=parent.info.status, start_time=_iso(parent.info.start_time),
        controller=_controller(tags, now), runs=counts,
        budget={"max_trials": spec.max_trials if spec else None, "max_runs": spec.max_runs if spec else None,
                "trials": len(configs), "runs": len(live)},
        objective=(None if spec is None or spec.objective is None else
                   {"metric": spec.objective.metric, "mode": spec.objective.mode, "agg": spec.objective.agg}),
        best=_best(spec, engine, records), failed_runs=failed,
        resume_command=hydra_command(tags) if kind == KIND_HYDRA else f"mlflow-sweep resume {run_id}",
        matrix=matrix, sessions=_sessions(sessions or [parent]))


def _children_of(client, experiment_id, parents) -> list:
    out = []
    for parent in parents:
        sweep_id = parent.data.tags.get(TAG_SWEEP_ID)
        if sweep_id:
            out += find_runs(client, experiment_id, {TAG_SWEEP_ID: sweep_id, TAG_ROLE: ROLE_CHILD})
    return out


def _newest(parents):
    return max(parents, key=start_order)


def find_sweeps(client, experiment_ids, *, sweep_name: str | None = None,
                parent_run_id: str | None = None, now: float | None = None) -> list[SweepStatus]:
    """The status of every sweep in the experiments (``sweep_name``: those of that name;
    ``parent_run_id``: that one's), newest first; the sessions of a Hydra study are one."""
    if parent_run_id is not None:
        parent = client.get_run(parent_run_id)
        study = [parent]
        if parent.data.tags.get(TAG_KIND) == KIND_HYDRA and parent.data.tags.get(TAG_SWEEP_NAME):
            found = find_runs(client, parent.info.experiment_id,
                              {TAG_ROLE: ROLE_PARENT, TAG_KIND: KIND_HYDRA,
                               TAG_SWEEP_NAME: parent.data.tags[TAG_SWEEP_NAME]})
            study = [p for p in found if study_key(p) == study_key(parent)] or [parent]
        newest = _newest(study)
        return [sweep_status(client, newest, _children_of(client, parent.info.experiment_id, study), now, study)]
    out = []
    for experiment_id in experiment_ids:
        match = {TAG_ROLE: ROLE_PARENT, **({TAG_SWEEP_NAME: sweep_name} if sweep_name else {})}
        parents = find_runs(client, experiment_id, match)
        if not parents:
            continue
        if len(parents) == 1:
            children = _children_of(client, experiment_id, parents)
        else:
            children = find_runs(client, experiment_id, {TAG_ROLE: ROLE_CHILD})
        by_sweep: dict = {}
        for run in children:
            by_sweep.setdefault(run.data.tags.get(TAG_SWEEP_ID), []).append(run)
        studies: dict = {}  # newest first (the store's order reversed)
        for parent in reversed(parents):
            studies.setdefault(study_key(parent), []).append(parent)
        for study in studies.values():
            kids = [r for p in study for r in by_sweep.get(p.data.tags.get(TAG_SWEEP_ID), [])]
            out.append(sweep_status(client, _newest(study), kids, now, study))
    return out


def ago(seconds: float | None) -> str:
    """``"2 h"``, ``"5 min"``, ``"40 s"``, ``"3 d"`` (rounded down)."""
    if seconds is None or math.isnan(seconds):
        return "?"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds)} s"
