"""The ``sweep`` backend's configuration: what ``--backend-config`` may hold.

``mlflow run`` hands a backend either the parsed inline JSON (``-c '{"grid": ...}'``) or,
for a path ending in ``.json``, the parsed file. MLflow's CLI refuses any other path, so a
YAML file is named inside the JSON: ``-c '{"config_file": "sweep.yaml"}'``. Keys:

- ``grid`` (required): ``{param: [values...]}``; the sweep is the cartesian product, in
  the order the keys are given (the last key varies fastest). A scalar counts as a list of
  one value.
- ``max_parallel`` (default 1): how many grid points run at once.
- ``sweep_name`` (default ``<project dir name>:<entry point>``): names the parent run and
  identifies the sweep for ``resume``.
- ``resume`` (default false): skip grid points that already have a FINISHED child run of
  a sweep with the same ``sweep_name`` in the experiment (matched on the grid params).
- ``executor`` (default ``"local"``): where grid points run: ``"local"``, processes of
  this machine; ``"submitit"``, one submitit job each (``submitit.AutoExecutor``: SLURM
  on a cluster, submitit's local executor elsewhere), see :mod:`.executors.submitit`.
- ``submitit``: submitit's parameters for ``"executor": "submitit"`` (``partition``,
  ``time``, ``gpus``, ``mem``, ``cpus``, any of submitit's own names, ``cluster``,
  ``folder``).
- ``report`` (default true): when the sweep ends, its report is logged on the parent
  run under ``report/``; ``{"objective": COLUMN, "mode": "min"|"max"}`` also ranks the
  configurations (the best as parent tags ``mlflow_sweep.best.<param>``); false: none.
- ``config_file``: a JSON or YAML file holding any of the keys above; keys given inline
  win over the file's.

Pure data handling: no MLflow import, so it is cheap and easy to test.
"""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass, field

from .executors import EXECUTORS
from .executors.submitit_config import SubmititConfigError, submitit_parameters

KNOWN_KEYS = ("grid", "max_parallel", "sweep_name", "resume", "executor", "submitit", "report", "config_file")


class SweepConfigError(ValueError):
    """The backend config is unusable; the message says which key and why."""


@dataclass
class SweepConfig:
    grid: dict
    max_parallel: int = 1
    sweep_name: str | None = None
    resume: bool = False
    extra: dict = field(default_factory=dict)  # MLflow's own keys (ENV_MANAGER, ...)
    executor: str = "local"
    submitit: dict = field(default_factory=dict)
    report: dict | None = field(default_factory=dict)  # report_parent's objective/mode; None: no report

    def points(self) -> list[dict]:
        """Every grid point as ``{param: value-as-text}``, in sweep order."""
        return grid_points(self.grid)


def param_text(value) -> str:
    """How a grid value is passed with ``-P`` (booleans as JSON spells them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def typed_value(value, param_type: str | None) -> tuple[str, str | None]:
    """The text a grid value is passed (and logged) as, for an entry point parameter of
    ``param_type``: a ``float`` parameter gets ``str(float(value))`` (``1`` -> ``"1.0"``,
    as a script's ``mlflow.log_param("alpha", args.alpha)`` renders it; MLflow would
    refuse the second, different value), an ``int`` one ``str(int(value))`` when the value
    is whole (``2.0`` -> ``"2"``); other types as :func:`param_text`. Returns the text and,
    when the value does not fit the type (kept as written), why."""
    kind = str(param_type or "string").lower()
    text = param_text(value)
    if kind == "float":
        if isinstance(value, bool):
            return text, "is a boolean"
        try:
            return str(float(value if isinstance(value, (int, float)) else str(value).strip())), None
        except (TypeError, ValueError, OverflowError):
            return text, "is not a number"
    if kind in ("int", "integer"):
        if isinstance(value, bool):
            return text, "is a boolean"
        if isinstance(value, int):
            return str(value), None
        try:
            number = float(value if isinstance(value, float) else str(value).strip())
        except (TypeError, ValueError):
            return text, "is not a number"
        if not number.is_integer():
            return text, "is not a whole number"
        if isinstance(value, str):
            try:
                return str(int(value.strip())), None
            except ValueError:
                pass
        return str(int(number)), None
    return text, None


def grid_points(grid: dict) -> list[dict]:
    """The cartesian product of ``grid`` (``{"a": [1, 2], "b": ["x"]}`` -> 2 points)."""
    keys = list(grid)
    values = [[param_text(v) for v in grid[k]] for k in keys]
    return [dict(zip(keys, combo)) for combo in itertools.product(*values)]


def _load_file(path: str) -> dict:
    path = os.path.expanduser(path)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise SweepConfigError(f"config_file {path!r} cannot be read: {exc.strerror or exc}") from None
    try:
        if path.lower().endswith(".json"):
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # noqa: BLE001 - json/yaml errors: report which file
        raise SweepConfigError(f"config_file {path!r} is not valid JSON/YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SweepConfigError(f"config_file {path!r} must hold a mapping, got {type(data).__name__}")
    return data


def _check_grid(grid) -> dict:
    if not isinstance(grid, dict) or not grid:
        raise SweepConfigError('"grid" must be a non-empty mapping of param name -> list of values, '
                               'e.g. {"grid": {"lr": [0.1, 0.01]}}')
    out = {}
    for key, values in grid.items():
        if not isinstance(key, str) or not key:
            raise SweepConfigError(f"grid: param names must be non-empty strings, got {key!r}")
        if not isinstance(values, (list, tuple)):
            values = [values]
        if not values:
            raise SweepConfigError(f"grid: {key!r} has no values")
        for v in values:
            if v is None or isinstance(v, (dict, list, tuple)):
                raise SweepConfigError(f"grid: {key!r} has a value that is not a string, number or "
                                       f"boolean: {json.dumps(v)[:60]}")
        out[key] = list(values)
    return out


def parse_backend_config(config) -> SweepConfig:
    """Validate a backend config (a dict, as MLflow passes it) into a :class:`SweepConfig`.

    Keys in upper case (``ENV_MANAGER``, ``SYNCHRONOUS``, ...) and ``build_image`` /
    ``docker_auth`` are MLflow's own; they are kept in ``extra`` for the local backend.
    """
    if config is None:
        config = {}
    if isinstance(config, str):  # a path given through the Python API
        config = {"config_file": config}
    if not isinstance(config, dict):
        raise SweepConfigError(f"the backend config must be a mapping, got {type(config).__name__}")
    ours = {k: v for k, v in config.items() if k in KNOWN_KEYS}
    extra = {k: v for k, v in config.items() if k not in KNOWN_KEYS}
    if ours.get("config_file"):
        merged = _load_file(str(ours["config_file"]))
        unknown = sorted(k for k in merged if k not in KNOWN_KEYS or k == "config_file")
        if unknown:
            raise SweepConfigError(f"config_file {ours['config_file']!r}: unknown key(s) "
                                   f"{', '.join(unknown)}; known: grid, max_parallel, sweep_name, "
                                   "resume, executor, submitit, report")
        merged.update({k: v for k, v in ours.items() if k != "config_file"})
        ours = merged
    unknown = sorted(k for k in extra if not (k.isupper() or k.startswith("_")
                                              or k in ("build_image", "docker_auth")))
    if unknown:
        raise SweepConfigError(f"unknown backend config key(s) {', '.join(unknown)}; known: "
                               "grid, max_parallel, sweep_name, resume, executor, submitit, report, config_file")
    grid = _check_grid(ours.get("grid"))
    max_parallel = ours.get("max_parallel", 1)
    if isinstance(max_parallel, bool) or not isinstance(max_parallel, int) or max_parallel < 1:
        raise SweepConfigError(f'"max_parallel" must be an integer >= 1, got {max_parallel!r}')
    name = ours.get("sweep_name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise SweepConfigError(f'"sweep_name" must be a non-empty string, got {name!r}')
    resume = ours.get("resume", False)
    if not isinstance(resume, bool):
        raise SweepConfigError(f'"resume" must be true or false, got {resume!r}')
    executor = ours.get("executor", "local")
    if executor not in EXECUTORS:
        raise SweepConfigError(f'"executor" must be one of {", ".join(EXECUTORS)}, got {executor!r}')
    submitit = ours.get("submitit") or {}
    if not isinstance(submitit, dict):
        raise SweepConfigError(f'"submitit" must be a mapping of submitit parameters, got {submitit!r}')
    if submitit and executor != "submitit":
        raise SweepConfigError('"submitit" settings are given but "executor" is not "submitit"')
    if executor == "submitit":
        try:
            submitit_parameters(submitit)
        except SubmititConfigError as exc:
            raise SweepConfigError(str(exc)) from None
    return SweepConfig(grid=grid, max_parallel=max_parallel, sweep_name=name, resume=resume,
                       extra=extra, executor=executor, submitit=dict(submitit),
                       report=_check_report(ours.get("report", True)))


def _check_report(value) -> dict | None:
    """``true`` (a report, nothing ranked), ``false`` (none) or ``{"objective", "mode"}``."""
    if value is True:
        return {}
    if value is False or value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"objective", "mode"}:
        raise SweepConfigError('"report" must be true, false or {"objective": COLUMN, "mode": "min"|"max"}, '
                               f"got {value!r}")
    mode = value.get("mode", "min")
    if mode not in ("min", "max"):
        raise SweepConfigError(f'"report": "mode" must be "min" or "max", got {mode!r}')
    objective = value.get("objective")
    if objective is not None and (not isinstance(objective, str) or not objective):
        raise SweepConfigError(f'"report": "objective" must be a column name, got {objective!r}')
    return {"objective": objective, "mode": mode}
