"""Strategy names -> Optuna samplers, seeded with the spec's ``sampler_seed``.

``grid`` has no sampler: the engine walks the grid in today's order (the cartesian
product, the last key varying fastest), so a grid sweep's ``mlflow_sweep.index`` is
unchanged. The other strategies are Optuna's own samplers (nothing here re-implements
them). Those that need packages beyond the default install say which extra to install,
before any run (:func:`check_available` looks the packages up without importing them).
"""

from __future__ import annotations

import importlib.util

import optuna

from ..errors import SearchSpecError

STRATEGIES = ("grid", "random", "tpe", "cmaes", "gp")
# strategy -> (python modules it needs beyond Optuna, the extra that installs them)
NEEDS = {"cmaes": (("cmaes",), "optuna"), "gp": (("torch", "scipy"), "gp")}


def _has_gp_sampler() -> bool:
    return hasattr(optuna.samplers, "GPSampler")  # Optuna >= 3.6


def check_available(strategy: str) -> None:
    """Raise :class:`~mlflow_sweep_plugin.errors.SearchSpecError` naming the extra to install when the strategy's
    packages are missing."""
    modules, extra = NEEDS.get(strategy, ((), None))
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if strategy == "gp" and not _has_gp_sampler():
        missing.insert(0, f"optuna>=3.6 (installed: {optuna.__version__})")
    if missing:
        raise SearchSpecError(f'"strategy": "{strategy}" needs {", ".join(missing)}: '
                              f'pip install "mlflow-sweep-plugin[{extra}]"')


def make_sampler(strategy: str, seed: int | None):
    """The Optuna sampler of a search strategy (``None`` for ``grid``)."""
    if strategy == "grid":
        return None
    if strategy == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if strategy == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if strategy == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if strategy == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    raise ValueError(f"unknown strategy {strategy!r}")  # parse_search refuses it first
