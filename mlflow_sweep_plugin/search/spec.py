"""The search part of a sweep's config, checked and normalised (docs/how-to/search.md).

:func:`parse_search` reads the keys in :data:`SEARCH_KEYS` from a config mapping (the
backend's ``--backend-config``, the Hydra sweeper's settings) and returns a
:class:`SearchSpec`, or raises :class:`SearchSpecError` with one line naming the key and
the allowed values. Other keys are left to the caller. Nothing here imports MLflow; the
only optional-package check (:func:`.strategies.check_available`) looks packages up
without importing them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import SearchSpecError
from ..export.history import AGGS as _HISTORY_AGGS
from ..parsers.bounds import preview
from . import space as _space
from .race_spec import ConfirmSpec, RaceSpec, parse_confirm, parse_race
from .strategies import STRATEGIES, check_available

SEARCH_KEYS = ("strategy", "grid", "space", "max_trials", "max_runs", "max_parallel", "seeds",
               "objective", "sampler_seed", "early_stop", "poll_s", "race", "confirm")
MODES = ("min", "max")
# the aggregates of ``export --history`` that are values (not steps), ``last`` the default
OBJECTIVE_AGGS = tuple(sorted((a for a in _HISTORY_AGGS if not a.startswith("arg")),
                              key=("last", "min", "max", "mean").index))
PRUNERS = {  # pruner -> the arguments it takes (docs/how-to/search.md, "Early stopping")
    "median": ("min_steps", "n_startup_trials", "interval_steps", "n_min_trials"),
    "percentile": ("percentile", "min_steps", "n_startup_trials", "interval_steps", "n_min_trials"),
    "asha": ("min_resource", "reduction_factor", "min_early_stopping_rate"),
    "hyperband": ("min_resource", "max_resource", "reduction_factor"),
}
DEFAULT_POLL_S = 5.0
_RANGE_KEYS = ("low", "high", "log", "step")


def show(value) -> str:
    """A bounded preview of a value for an error message (never the whole of a huge input,
    however many values a YAML alias stands for): the one preview of :mod:`..parsers.bounds`."""
    return preview(value, 60)


@dataclass(frozen=True)
class Objective:
    metric: str
    mode: str = "min"
    agg: str = "last"


@dataclass(frozen=True)
class Seeds:
    param: str
    values: tuple


@dataclass(frozen=True)
class EarlyStop:
    pruner: str
    args: dict = field(default_factory=dict)


@dataclass
class SearchSpec:
    strategy: str
    space: dict                      # name -> space.Param (grid: categorical, in grid order)
    max_trials: int | None = None    # configurations; grid: None = every point
    max_runs: int | None = None      # child runs in all, seeds included
    max_parallel: int = 1
    seeds: Seeds | None = None
    objective: Objective | None = None
    sampler_seed: int | None = None
    early_stop: EarlyStop | None = None
    poll_s: float = DEFAULT_POLL_S
    race: RaceSpec | None = None
    confirm: ConfirmSpec | None = None

    def seed_values(self) -> tuple:
        """The seed values every configuration runs with (``(None,)`` without seeds)."""
        return self.seeds.values if self.seeds else (None,)

    def to_dict(self) -> dict:
        """The normalised spec (JSON), as stored on the parent in ``mlflow_sweep/sweep.json``."""
        out = {"strategy": self.strategy, "max_parallel": self.max_parallel, "poll_s": self.poll_s}
        key = "grid" if self.strategy == "grid" else "space"
        out[key] = {name: p.to_dict() if key == "space" else list(p.choices) for name, p in self.space.items()}
        for name in ("max_trials", "max_runs", "sampler_seed"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.seeds:
            out["seeds"] = {"param": self.seeds.param, "values": list(self.seeds.values)}
        if self.objective:
            out["objective"] = {"metric": self.objective.metric, "mode": self.objective.mode,
                                "agg": self.objective.agg}
        if self.early_stop:
            out["early_stop"] = {"pruner": self.early_stop.pruner, **self.early_stop.args}
        for name in ("race", "confirm"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name).to_dict()
        return out


def _int(config: dict, key: str, *, minimum: int, default=None):
    value = config.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SearchSpecError(f'"{key}" must be an integer >= {minimum}, got {show(value)}')
    return value


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _scalar(value) -> bool:
    return isinstance(value, (str, bool)) or _number(value)


def _param(where: str, name, raw) -> _space.Param:
    if not isinstance(name, str) or not name:
        raise SearchSpecError(f"{where}: param names must be non-empty strings, got {show(name)}")
    if isinstance(raw, dict):
        return _range(f"{where}.{name}", name, raw)
    if isinstance(raw, (list, tuple)):
        if not raw:
            raise SearchSpecError(f"{where}.{name}: {name!r} has no values; give at least one")
        for value in raw:
            if not _scalar(value):
                raise SearchSpecError(f"{where}.{name}: {name!r} has a value that is not a string, number or "
                                      f"boolean: {show(value)}")
        keys = [_space.value_text(v) for v in raw]
        if len(set(keys)) != len(keys):
            raise SearchSpecError(f"{where}.{name}: a value is listed twice: {show(list(raw))}")
        return _space.Param(name, _space.CATEGORICAL, tuple(raw))
    if not _scalar(raw):
        raise SearchSpecError(f"{where}.{name}: expected a list (categorical), a scalar (fixed) or "
                              f'{{"low", "high", "log", "step"}} (a range), got {show(raw)}')
    return _space.Param(name, _space.FIXED, (raw,))


def _range(where: str, name: str, raw: dict) -> _space.Param:
    unknown = sorted(str(k) for k in raw if k not in _RANGE_KEYS)
    if unknown:
        raise SearchSpecError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(_RANGE_KEYS)}")
    if "low" not in raw or "high" not in raw:
        raise SearchSpecError(f'{where}: a range needs "low" and "high" (numbers), got {show(raw)}')
    low, high, log, step = raw["low"], raw["high"], raw.get("log", False), raw.get("step")
    for key, value in (("low", low), ("high", high)):
        if not _number(value):
            raise SearchSpecError(f'{where}.{key}: must be a finite number, got {show(value)}')
    if not isinstance(log, bool):
        raise SearchSpecError(f'{where}.log: must be true or false, got {show(log)}')
    if low > high:
        raise SearchSpecError(f"{where}: low ({low}) > high ({high}); low must be <= high")
    if log and low <= 0:
        raise SearchSpecError(f"{where}: log scale needs low > 0, got low = {low}")
    if step is not None and (not _number(step) or step <= 0):
        raise SearchSpecError(f"{where}.step: must be a number > 0, got {show(step)}")
    is_int = all(isinstance(v, int) for v in (low, high)) and (step is None or isinstance(step, int))
    if log and step is not None and not (is_int and step == 1):
        raise SearchSpecError(f'{where}: "log" and "step" cannot be combined (Optuna samples a log '
                              "range continuously); drop one")
    if is_int:
        return _space.Param(name, _space.INT, low=low, high=high, log=log, step=None if step in (None, 1) else step)
    return _space.Param(name, _space.FLOAT, low=float(low), high=float(high), log=log,
                        step=None if step is None else float(step))


def _space_of(config: dict, strategy: str) -> dict:
    key = "grid" if strategy == "grid" else "space"
    other = "space" if key == "grid" else "grid"
    if other in config and config[other] is not None:
        hint = ('"grid" is for strategy "grid"; a search strategy takes "space"' if key == "space"
                else 'strategy "grid" takes "grid" ({param: [values]}); "space" is for a search strategy')
        raise SearchSpecError(f'"{other}" given with strategy "{strategy}": {hint}')
    raw = config.get(key)
    if not isinstance(raw, dict) or not raw:
        example = '{"lr": [0.1, 0.01]}' if key == "grid" else '{"lr": {"low": 1e-4, "high": 0.1, "log": true}}'
        raise SearchSpecError(f'"{key}" must be a non-empty mapping of param name -> values, e.g. '
                              f'{{"{key}": {example}}}; got {show(raw)}')
    out = {}
    for name, values in raw.items():
        if key == "grid":
            if isinstance(values, dict):
                raise SearchSpecError(f"grid.{name}: a grid takes a list of values; ranges are for "
                                      'a search strategy ("space")')
            param = _param("grid", name, values if isinstance(values, (list, tuple)) else [values])
        else:
            param = _param("space", name, values)
        out[name] = param
    return out


def _seeds(raw, space: dict) -> Seeds | None:
    if raw is None:
        return None
    if not isinstance(raw, bool) and isinstance(raw, int):
        if raw < 1:
            raise SearchSpecError(f'"seeds": a count must be >= 1, got {raw}')
        raw = {"param": "seed", "values": list(range(raw))}
    if not isinstance(raw, dict) or set(raw) - {"param", "values"}:
        raise SearchSpecError('"seeds" must be a count N (param "seed", values 0..N-1) or '
                              f'{{"param": NAME, "values": [...]}}, got {show(raw)}')
    param, values = raw.get("param", "seed"), raw.get("values")
    if not isinstance(param, str) or not param:
        raise SearchSpecError(f'"seeds.param" must be a non-empty string, got {show(param)}')
    if param in space:
        raise SearchSpecError(f'"seeds.param" {param!r} is also a swept param; seeds are their own axis')
    return Seeds(param, seed_list("seeds.values", values))


def seed_list(where: str, values) -> tuple:
    """A checked list of seed values (integers or strings, none twice) for key ``where``."""
    if not isinstance(values, (list, tuple)) or not values:
        raise SearchSpecError(f'"{where}" must be a non-empty list of seed values, got {show(values)}')
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, str)) or value == "":
            raise SearchSpecError(f'"{where}": each must be an integer or a string, got {show(value)}')
    texts = [str(v) for v in values]
    if len(set(texts)) != len(texts):
        raise SearchSpecError(f'"{where}": a seed value is listed twice: {show(list(values))}')
    return tuple(values)


def _objective(raw) -> Objective | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = {"metric": raw}
    if not isinstance(raw, dict):
        raise SearchSpecError(f'"objective" must be {{"metric": NAME, "mode": "min"|"max", "agg": ...}}, '
                              f"got {show(raw)}")
    unknown = sorted(str(k) for k in raw if k not in ("metric", "mode", "agg"))
    if unknown:
        raise SearchSpecError(f'"objective": unknown key(s) {", ".join(unknown)}; allowed: metric, mode, agg')
    metric, mode, agg = raw.get("metric"), raw.get("mode", "min"), raw.get("agg", "last")
    if not isinstance(metric, str) or not metric.strip():
        raise SearchSpecError(f'"objective.metric" must name a metric the runs log, got {show(metric)}')
    if mode not in MODES:
        raise SearchSpecError(f'"objective.mode" must be one of {", ".join(MODES)}, got {show(mode)}')
    if agg not in OBJECTIVE_AGGS:
        raise SearchSpecError(f'"objective.agg" must be one of {", ".join(OBJECTIVE_AGGS)}, got {show(agg)}')
    return Objective(metric.strip(), mode, agg)


def _early_stop(raw) -> EarlyStop | None:
    if raw is None or raw is False:
        return None
    if isinstance(raw, str):
        raw = {"pruner": raw}
    if not isinstance(raw, dict):
        raise SearchSpecError(f'"early_stop" must be {{"pruner": NAME, ...arguments}}, got {show(raw)}')
    pruner = raw.get("pruner")
    if pruner not in PRUNERS:
        raise SearchSpecError(f'"early_stop.pruner" must be one of {", ".join(PRUNERS)}, got {show(pruner)}')
    args = {k: v for k, v in raw.items() if k != "pruner"}
    allowed = PRUNERS[pruner]
    unknown = sorted(str(k) for k in args if k not in allowed)
    if unknown:
        raise SearchSpecError(f'"early_stop": pruner {pruner!r} takes {", ".join(allowed)}; '
                              f"unknown: {', '.join(unknown)}")
    for key, value in args.items():
        if key == "percentile":
            if not _number(value) or not 0 <= value <= 100:
                raise SearchSpecError(f'"early_stop.percentile" must be a number in [0, 100], got {show(value)}')
        elif key in ("min_resource", "max_resource") and value == "auto":
            continue
        else:
            minimum = 2 if key == "reduction_factor" else (1 if key in ("interval_steps", "n_min_trials",
                                                                        "min_resource", "max_resource") else 0)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise SearchSpecError(f'"early_stop.{key}" must be an integer >= {minimum}, got {show(value)}')
    if pruner == "percentile" and "percentile" not in args:
        raise SearchSpecError('"early_stop": pruner "percentile" needs "percentile" (a number in [0, 100])')
    return EarlyStop(pruner, args)


def parse_search(config: dict) -> SearchSpec:
    """Check and normalise the search keys of ``config`` (see the module docstring)."""
    if not isinstance(config, dict):
        raise SearchSpecError(f"the sweep config must be a mapping, got {type(config).__name__}")
    strategy = config.get("strategy")
    if strategy is None:
        if config.get("space") is not None:
            raise SearchSpecError(f'"strategy" is required with "space": one of '
                                  f'{", ".join(s for s in STRATEGIES if s != "grid")}')
        strategy = "grid"
    if strategy not in STRATEGIES:
        raise SearchSpecError(f'"strategy" must be one of {", ".join(STRATEGIES)}, got {show(strategy)}')
    space = _space_of(config, strategy)
    max_trials = _int(config, "max_trials", minimum=1)
    if max_trials is None and strategy != "grid":
        raise SearchSpecError(f'"max_trials" is required with strategy "{strategy}": how many '
                              "configurations to try (an integer >= 1)")
    objective = _objective(config.get("objective"))
    if objective is None and strategy != "grid":
        raise SearchSpecError(f'"objective" is required with strategy "{strategy}": '
                              '{"metric": NAME, "mode": "min"|"max", "agg": "last"|"min"|"max"|"mean"}')
    early_stop = _early_stop(config.get("early_stop"))
    if early_stop is not None and objective is None:
        raise SearchSpecError('"early_stop" needs an "objective" (the metric the pruner watches)')
    sampler_seed = config.get("sampler_seed")
    if sampler_seed is not None and (isinstance(sampler_seed, bool) or not isinstance(sampler_seed, int)
                                     or sampler_seed < 0):
        raise SearchSpecError(f'"sampler_seed" must be an integer >= 0, got {show(sampler_seed)}')
    poll_s = config.get("poll_s", DEFAULT_POLL_S)
    if not _number(poll_s) or poll_s <= 0:
        raise SearchSpecError(f'"poll_s" must be a number of seconds > 0, got {show(poll_s)}')
    check_available(strategy)
    seeds = _seeds(config.get("seeds"), space)
    race = parse_race(config.get("race"), strategy=strategy, seeds=seeds, objective=objective,
                      early_stop=early_stop)
    confirm = parse_confirm(config.get("confirm"), strategy=strategy, seeds=seeds, objective=objective,
                            seed_list=seed_list)
    return SearchSpec(strategy=strategy, space=space, max_trials=max_trials,
                      max_runs=_int(config, "max_runs", minimum=1),
                      max_parallel=_int(config, "max_parallel", minimum=1, default=1),
                      seeds=seeds, objective=objective, sampler_seed=sampler_seed,
                      early_stop=early_stop, poll_s=float(poll_s), race=race, confirm=confirm)
