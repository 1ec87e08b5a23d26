"""The ``submitit`` executor's settings (the backend config's ``"submitit": {...}``),
checked before any run is made: pure data handling, no submitit or MLflow import.

``"submitit": {...}`` holds submitit's parameters (``timeout_min``, ``mem_gb``,
``gpus_per_node``, ``cpus_per_task``, ``slurm_partition``, ``slurm_array_parallelism``,
...), with the short names ``partition``, ``time`` (minutes or ``[D-]HH:MM:SS``),
``gpus``, ``mem`` (GB or ``16G``/``500M``), ``cpus``, ``account``, ``qos``,
``constraint``, ``gres``, ``exclude`` for the SLURM ones, and ``cluster`` (``slurm``,
``local``, ``debug``; default: what submitit finds) and ``folder`` (default
``.submitit/%j`` under the current directory).
"""

from __future__ import annotations

import os
import re

#: short names -> submitit's parameter names
ALIASES = {"partition": "slurm_partition", "time": "timeout_min", "gpus": "gpus_per_node",
           "mem": "mem_gb", "cpus": "cpus_per_task", "account": "slurm_account",
           "qos": "slurm_qos", "constraint": "slurm_constraint", "gres": "slurm_gres",
           "exclude": "slurm_exclude"}
DEFAULT_FOLDER = os.path.join(".submitit", "%j")


class SubmititConfigError(ValueError):
    """The ``submitit`` settings are unusable; the message says which and why."""


def _minutes(value) -> int:
    """``90`` -> 90; ``"1:30:00"`` -> 90; ``"2-00:00:00"`` -> 2880 (SLURM's time format)."""
    if isinstance(value, bool):
        raise SubmititConfigError(f"time: {value!r} is not a duration")
    if isinstance(value, (int, float)):
        return max(1, int(round(value)))
    text = str(value).strip()
    m = re.fullmatch(r"(?:(\d+)-)?(\d+):(\d\d)(?::(\d\d))?", text)
    if text.isdigit():
        return int(text)
    if not m:
        raise SubmititConfigError(f"time: {value!r} is neither minutes nor [D-]HH:MM[:SS]")
    days, hours, minutes, seconds = (int(g) if g else 0 for g in m.groups())
    return max(1, days * 1440 + hours * 60 + minutes + (1 if seconds else 0))


def _gigabytes(value) -> float:
    """``16`` -> 16; ``"16G"``/``"16GB"`` -> 16; ``"500M"`` -> 0.5; ``"1T"`` -> 1024."""
    if isinstance(value, bool):
        raise SubmititConfigError(f"mem: {value!r} is not a size")
    if isinstance(value, (int, float)):
        return float(value)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)B?\s*", str(value), re.I)
    if not m:
        raise SubmititConfigError(f"mem: {value!r} is not a size (16, '16G', '500M')")
    number, unit = float(m.group(1)), m.group(2).upper()
    return number * {"": 1, "K": 1 / 1024 ** 2, "M": 1 / 1024, "G": 1, "T": 1024}[unit]


def submitit_parameters(settings: dict | None) -> tuple[str | None, str, dict]:
    """``(cluster, folder, parameters)`` from the backend config's ``"submitit"`` mapping,
    short names turned into submitit's."""
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        raise SubmititConfigError(f'"submitit" must be a mapping of submitit parameters, got {settings!r}')
    settings = dict(settings)
    cluster = settings.pop("cluster", None)
    folder = str(settings.pop("folder", None) or DEFAULT_FOLDER)
    params: dict = {}
    for key, value in settings.items():
        name = ALIASES.get(key, key)
        if name == "timeout_min":
            value = _minutes(value)
        elif name == "mem_gb":
            value = _gigabytes(value)
        if name in params:
            raise SubmititConfigError(f"submitit: {key!r} and another key both set {name}")
        params[name] = value
    return (str(cluster) if cluster else None), folder, params
