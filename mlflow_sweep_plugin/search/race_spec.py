"""The ``race`` and ``confirm`` keys of a sweep's config, checked (docs/how-to/racing.md,
"Racing" and "Confirmation").

- ``race``: ``{"initial": N, "step": M, "alpha": 0.05}`` with ``grid`` and ``seeds``:
  every grid point runs on the first ``initial`` seed values; after each round the
  candidates shown worse than the best by the report's best-set rule are eliminated;
  survivors run on the next ``step`` seed values.
- ``confirm``: ``{"top": K, "seeds": [...]}`` with a search strategy: when the search ends
  its top ``K`` configurations are raced on these seed values (never used by the search),
  and the sweep's best is decided on those runs only.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import SearchSpecError
from ..parsers.bounds import preview

DEFAULT_ALPHA = 0.05


@dataclass(frozen=True)
class RaceSpec:
    initial: int
    step: int
    alpha: float = DEFAULT_ALPHA

    def to_dict(self) -> dict:
        return {"initial": self.initial, "step": self.step, "alpha": self.alpha}


@dataclass(frozen=True)
class ConfirmSpec:
    top: int
    seeds: tuple

    def to_dict(self) -> dict:
        return {"top": self.top, "seeds": list(self.seeds)}


def _count(where: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SearchSpecError(f'"{where}" must be an integer >= {minimum}, got {preview(value, 60)}')
    return value


def _alpha(where: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise SearchSpecError(f'"{where}" must be a number in (0, 1), got {preview(value, 60)}')
    return float(value)


def parse_race(raw, *, strategy: str, seeds, objective, early_stop) -> RaceSpec | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - {"initial", "step", "alpha"}:
        raise SearchSpecError('"race" must be {"initial": N, "step": M, "alpha": 0.05}, '
                              f"got {preview(raw, 60)}")
    if strategy != "grid":
        raise SearchSpecError(f'"race" races the points of a "grid" (strategy "grid"), not strategy '
                              f'"{strategy}"; after a search use "confirm"')
    if seeds is None or objective is None:
        raise SearchSpecError('"race" needs "seeds" (the values it spends) and an "objective"')
    if early_stop is not None:
        raise SearchSpecError('"race" and "early_stop" cannot be combined: a race stops candidates itself')
    initial = _count("race.initial", raw.get("initial", min(3, len(seeds.values))), 1)
    step = _count("race.step", raw.get("step", initial), 1)
    if initial > len(seeds.values):
        raise SearchSpecError(f'"race.initial" ({initial}) is more than the {len(seeds.values)} seed values')
    return RaceSpec(initial, step, _alpha("race.alpha", raw.get("alpha", DEFAULT_ALPHA)))


def parse_confirm(raw, *, strategy: str, seeds, objective, seed_list) -> ConfirmSpec | None:
    """``seed_list``: the spec's check of a list of seed values (:func:`.spec.seed_list`)."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - {"top", "seeds"}:
        raise SearchSpecError(f'"confirm" must be {{"top": K, "seeds": [...]}}, got {preview(raw, 60)}')
    if strategy == "grid":
        raise SearchSpecError('"confirm" follows a search strategy (random, tpe, cmaes, gp); '
                              'a grid is raced with "race"')
    if objective is None:
        raise SearchSpecError('"confirm" needs an "objective"')
    top = _count("confirm.top", raw.get("top"), 1)
    values = seed_list("confirm.seeds", raw.get("seeds"))
    texts = [str(v) for v in values]
    used = {str(v) for v in seeds.values} if seeds else set()
    if used & set(texts):
        raise SearchSpecError(f'"confirm.seeds" must be values the search never used; '
                              f"{', '.join(sorted(used & set(texts)))[:100]} are in \"seeds\"")
    return ConfirmSpec(top, tuple(values))
