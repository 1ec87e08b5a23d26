"""A search space: one :class:`Param` per swept name, and its Optuna distributions.

A param is written in the backend config as

- a list: categorical (``["adam", "sgd"]``),
- a scalar: fixed (passed to every run, never sampled),
- ``{"low", "high"}`` with optional ``"log": true`` and ``"step"``: a range; integer
  bounds (and an integer step) make an integer param, anything else a float one.

A configuration is ``{name: value}`` with Python values; :func:`value_text` is the one
way a value is rendered (the text passed with ``-P`` and compared for duplicates), and
:meth:`Param.parse` reads such a text back (a child's logged param on resume).

Optuna 2.10 (which ``hydra-optuna-sweeper`` pins) has ``UniformDistribution`` and
friends, Optuna 3+ ``FloatDistribution`` / ``IntDistribution``: :func:`distribution`
picks whichever the installed Optuna has.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import optuna.distributions as _dist

CATEGORICAL, FIXED, FLOAT, INT = "categorical", "fixed", "float", "int"


def value_text(value) -> str:
    """The text of a param value (``-P`` argument, duplicate key): booleans as JSON spells
    them, floats by ``repr`` (round-trips), the rest by ``str``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def config_key(config: dict) -> str:
    """One text per configuration, the same whatever the order of its names."""
    return json.dumps({str(k): value_text(v) for k, v in config.items()}, sort_keys=True)


@dataclass(frozen=True)
class Param:
    name: str
    kind: str                 # categorical | fixed | float | int
    choices: tuple = ()       # categorical: the values; fixed: the one value
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None

    def size(self) -> float:
        """How many distinct values (``math.inf`` for a continuous range)."""
        if self.kind in (CATEGORICAL, FIXED):
            return len(self.choices)
        if self.kind == INT:
            return (self.high - self.low) // (self.step or 1) + 1
        if self.step is not None:
            return math.floor((self.high - self.low) / self.step + 1e-9) + 1
        return math.inf if self.high > self.low else 1

    def parse(self, text: str):
        """The value whose text is ``text`` (as a child logged it), or ``None``."""
        text = str(text).strip()
        if self.kind in (CATEGORICAL, FIXED):
            for choice in self.choices:
                if text in (value_text(choice), str(choice)):
                    return choice
            for choice in self.choices:  # a float param's "1.0" for the choice 1
                try:
                    if not isinstance(choice, (bool, str)) and float(text) == float(choice):
                        return choice
                except ValueError:
                    pass
            return None
        try:
            number = float(text)
        except ValueError:
            return None
        if self.kind == INT:
            return int(number) if number.is_integer() else None
        return number

    def to_dict(self):
        """The normalised form written to the sweep's spec."""
        if self.kind == CATEGORICAL:
            return list(self.choices)
        if self.kind == FIXED:
            return self.choices[0]
        out = {"low": self.low, "high": self.high}
        if self.log:
            out["log"] = True
        if self.step is not None:
            out["step"] = self.step
        return out


def distribution(param: Param):
    """The Optuna distribution of a swept (not fixed) param."""
    if param.kind == CATEGORICAL:
        return _dist.CategoricalDistribution(list(param.choices))
    modern = hasattr(_dist, "FloatDistribution")  # Optuna >= 3.0
    if param.kind == INT:
        if modern:
            return _dist.IntDistribution(param.low, param.high, log=param.log, step=param.step or 1)
        if param.log:
            return _dist.IntLogUniformDistribution(param.low, param.high)
        return _dist.IntUniformDistribution(param.low, param.high, step=param.step or 1)
    if modern:
        return _dist.FloatDistribution(param.low, param.high, log=param.log, step=param.step)
    if param.log:
        return _dist.LogUniformDistribution(param.low, param.high)
    if param.step is not None:
        return _dist.DiscreteUniformDistribution(param.low, param.high, param.step)
    return _dist.UniformDistribution(param.low, param.high)


def normalise(param: Param, value):
    """A sampled value as the space means it: a stepped float rounded to 12 decimals
    (``0.1 * 3`` is ``0.3``, not ``0.30000000000000004``), an integer as ``int``."""
    if param.kind == FLOAT and param.step is not None:
        return round(float(value), 12)
    if param.kind == INT:
        return int(value)
    return value


def distributions(space: dict) -> dict:
    """``{name: distribution}`` of the params a sampler chooses (fixed ones left out)."""
    return {name: distribution(p) for name, p in space.items() if p.kind != FIXED}


def fixed_values(space: dict) -> dict:
    return {name: p.choices[0] for name, p in space.items() if p.kind == FIXED}


def space_size(space: dict) -> float:
    """How many configurations the space holds (``math.inf`` when a range is continuous)."""
    size = 1
    for param in space.values():
        size *= param.size()
    return size


def parse_config(space: dict, texts: dict) -> dict | None:
    """A configuration from a child's logged params (``{name: text}``), ``None`` when a
    swept name is missing or a text fits none of its values."""
    out = {}
    for name, param in space.items():
        if name not in texts:
            return None
        value = param.parse(texts[name])
        if value is None:
            return None
        out[name] = value
    return out
