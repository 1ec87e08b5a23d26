"""The Hydra sweeper's settings as the search engine's config (docs/how-to/hydra-sweeper.md).

``hydra.sweeper.params`` and the command line's overrides are parsed with Hydra's own
override parser (:class:`~hydra.core.override_parser.overrides_parser.OverridesParser`),
as Hydra's Optuna sweeper does, never by hand:

- ``a,b,c`` / ``choice(a, b, c)``: categorical (a config group sweeps like any param);
- ``range(1, 5)``: the values Hydra lists (1..4); under a search strategy an integer
  range ``{low: 1, high: 4, step: 1}``, a float range stays categorical;
- ``interval(a, b)``: a float range, ``tag(log, interval(a, b))`` on a log scale (only
  for a search strategy: a grid needs values);
- anything else: a fixed value passed to every job.

:func:`engine_config` returns the mapping :func:`~..search.spec.parse_search` checks
(``race`` and ``confirm`` included: the engine checks them, :mod:`..search.race_spec`); a
key that is neither the engine's nor the sweeper's is refused with one line naming it.
"""

from __future__ import annotations

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Transformer
from hydra.errors import OverrideParseException

from ..search.spec import SEARCH_KEYS, SearchSpecError, show
# the metric a ``{return: true}`` objective reads: the task's return value, logged on its
# child run under the callback's default name (the sweeper logs it when the callback did not)
from .job_status import RETURN_METRIC

#: the sweeper's own settings, not the engine's
SWEEPER_KEYS = ("params", "resume")
PREFIX = "hydra.sweeper"


def parse_params(overrides: list[str], strategy: str) -> tuple[dict, dict]:
    """``(space, keys)``: ``name -> engine param`` (a list, a range mapping or a fixed
    text) and ``name -> the override's key as written`` (``+x`` for ``x``)."""
    parser = OverridesParser.create()
    parsed = {}
    for text in overrides:
        try:
            override = parser.parse_overrides([text])[0]
        except OverrideParseException as exc:  # Hydra's error, naming the override as Hydra does
            raise OverrideParseException(override=text, message=f"{PREFIX}: Error parsing override "
                                                                f"'{text}'\n{exc.message}") from None
        parsed[override.get_key_element().lstrip("+~")] = override  # a later one wins
    space, keys = {}, {}
    for override in parsed.values():
        key = override.get_key_element()
        name = key.lstrip("+~")
        where = f"{PREFIX}.params.{name}"
        if override.is_delete():
            raise SearchSpecError(f"{where}: a deletion ({key}) cannot be swept; drop it")
        if not override.is_sweep_override():
            space[name] = override.get_value_element_as_str()
        elif override.is_interval_sweep():
            interval = override.value()
            if strategy == "grid":
                raise SearchSpecError(f"{where}: interval(...) is a continuous range; strategy grid needs "
                                      "values (a,b,c / choice / range): use a search strategy")
            log = "log" in interval.tags
            if log and interval.start <= 0:
                raise SearchSpecError(f"{where}: tag(log, interval({interval.start}, {interval.end})) "
                                      "needs a positive interval (low > 0)")
            space[name] = {"low": float(interval.start), "high": float(interval.end), "log": log}
        else:
            values = list(override.sweep_iterator(transformer=Transformer.encode))
            if override.is_range_sweep() and strategy != "grid" and len(values) > 1 \
                    and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                step = values[1] - values[0]
                space[name] = {"low": min(values), "high": max(values), "step": abs(step)}
            else:
                space[name] = values
        keys[name] = key
    return space, keys


def objective_config(raw) -> dict | None:
    """``{metric, mode, agg}`` or ``{return: true, mode}`` -> the engine's objective."""
    if raw is None or not isinstance(raw, dict) or "return" not in raw:
        return raw
    extra = sorted(str(k) for k in raw if k not in ("return", "mode"))
    if extra:
        raise SearchSpecError(f'{PREFIX}.objective: "return" takes only "mode" beside it; '
                              f"remove {', '.join(extra)}")
    if raw["return"] is not True:
        raise SearchSpecError(f"{PREFIX}.objective.return must be true (the task's return value), "
                              f"got {show(raw['return'])}")
    return {"metric": RETURN_METRIC, "mode": raw.get("mode", "min"), "agg": "last"}


def engine_config(settings: dict, arguments: list[str]) -> tuple[dict, dict]:
    """``(config for parse_search, override key of each param)`` from the sweeper's
    settings and the command line's overrides (they win over ``params``)."""
    unknown = sorted(k for k, v in settings.items()
                     if k not in SEARCH_KEYS and k not in SWEEPER_KEYS and v is not None)
    if unknown:
        raise SearchSpecError(f"{PREFIX}: {', '.join(unknown)} is not a setting of the sweeper "
                              "(docs/how-to/hydra-sweeper.md); remove "
                              f"{'it' if len(unknown) == 1 else 'them'}")
    strategy = settings.get("strategy") or "grid"
    params = [f"{k}={v}" for k, v in (settings.get("params") or {}).items()]
    space, keys = parse_params(params + list(arguments), strategy)
    if not space:
        raise SearchSpecError(f"{PREFIX}.params: nothing to sweep; give params (lr: interval(1e-4, 0.1), "
                              "db: choice(mysql, postgresql), ...) or sweep overrides on the command line")
    config = {k: v for k, v in settings.items() if k in SEARCH_KEYS and v is not None}
    config["strategy"] = strategy
    config["grid" if strategy == "grid" else "space"] = space
    config["objective"] = objective_config(settings.get("objective"))
    if config["objective"] is None:
        config.pop("objective")
    return config, keys
