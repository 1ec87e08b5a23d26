"""The backend's plan: the search space as the entry point types it, and each proposed
run's params.

Values are passed and logged as the entry point's declared parameter types render them
(:func:`~.config.typed_value`): the grid's values and a space's listed (or fixed) values
once, before anything runs (:func:`typed_spec`), a sampled value when it is proposed
(:func:`run_params`). Keys the entry point does not declare are warned about before
anything runs. Which runs start, their indexes and what a resumed sweep keeps is the
search engine's business (:class:`~mlflow_sweep_plugin.search.engine.Engine`).
"""

from __future__ import annotations

import dataclasses
import os

from mlflow.exceptions import ExecutionException

from ..search import space as _space
from ..search.study import grid_configs
from ..warning_types import warn as _warn
from .config import typed_value


def run_name(point: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in point.items())


def declared_types(entry) -> dict:
    """``{param: declared type}`` of the entry point (empty when it declares nothing)."""
    return {} if entry is None else {name: p.type for name, p in dict(entry.parameters).items()}


def typed_spec(spec, entry, entry_point: str):
    """``spec`` with each listed or fixed value as the text its declared parameter type
    gives it, after warning about keys the entry point does not declare (MLflow passes
    them to the command as ``--key value``, which the script may ignore or refuse) and
    values that do not fit their type."""
    if entry is None:
        return spec
    declared = dict(entry.parameters)
    is_file = os.path.splitext(entry_point)[1] in (".py", ".sh", ".R")
    what = "grid" if spec.strategy == "grid" else "space"
    if declared or not is_file:  # a script run as a file declares nothing: no news
        names = ", ".join(declared) or "none"
        keys = list(spec.space) + ([spec.seeds.param] if spec.seeds else [])
        for key in keys:
            if key not in declared:
                _warn(f"{what} key {key!r} is not a parameter of entry point {entry_point!r} "
                      f"(it declares: {names}); MLflow passes it to the command as --{key} VALUE")
    space = {}
    for key, param in spec.space.items():
        declared_param = declared.get(key)
        if param.kind not in (_space.CATEGORICAL, _space.FIXED) or declared_param is None:
            space[key] = param
            continue
        texts = []
        for value in param.choices:
            text, problem = typed_value(value, declared_param.type)
            if problem:
                _warn(f"{what} value {value!r} of {key!r} {problem}, but entry point "
                      f"{entry_point!r} declares {key} as {declared_param.type}; passed as {text!r}")
            texts.append(text)
        space[key] = dataclasses.replace(param, choices=tuple(texts))
    return dataclasses.replace(spec, space=space)


def run_params(proposal, types: dict) -> dict:
    """A proposed run's swept values (and seed) as ``-P`` texts, by declared type."""
    out = {}
    for key, value in {**proposal.config, **proposal.params}.items():
        raw = proposal.config.get(key, value)
        out[key] = typed_value(raw, types[key])[0] if key in types else _space.value_text(raw)
    return out


def logged_params(entry, params: dict, label: str) -> dict:
    """What the entry point makes of ``params`` (declared ones checked, the rest passed
    through), as ``mlflow run`` would: ``ExecutionException`` naming ``label``."""
    if entry is None:
        return {}
    try:
        final, extra = entry.compute_parameters(dict(params), storage_dir=None)
    except ExecutionException as exc:
        raise ExecutionException(f"sweep {label}: {exc}") from None
    return {**final, **extra}


def samples(spec) -> list[dict]:
    """Configurations to check the entry point's parameters with before anything runs:
    every grid point; for a search space its lowest and highest values."""
    if spec.strategy == "grid":
        return list(grid_configs(spec.space))
    ends = []
    for pick in (0, -1):
        config = {}
        for key, param in spec.space.items():
            if param.kind in (_space.CATEGORICAL, _space.FIXED):
                config[key] = param.choices[pick]
            else:
                config[key] = _space.normalise(param, param.low if pick == 0 else param.high)
        ends.append(config)
    return ends
