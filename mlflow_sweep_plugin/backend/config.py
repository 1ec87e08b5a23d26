"""The ``sweep`` backend's configuration: what ``--backend-config`` may hold.

``mlflow run`` hands a backend either the parsed inline JSON (``-c '{"grid": ...}'``) or,
for a path ending in ``.json``, the parsed file. MLflow's CLI refuses any other path, so a
YAML file is named inside the JSON: ``-c '{"config_file": "sweep.yaml"}'``. Keys:

- the search keys (:data:`~mlflow_sweep_plugin.search.spec.SEARCH_KEYS`, docs/how-to/search.md):
  ``strategy`` (``grid``, the default when ``grid`` is given, ``random``, ``tpe``,
  ``cmaes``, ``gp``), ``grid`` (``{param: [values...]}``, the cartesian product in key
  order, the last key varying fastest; a scalar counts as a list of one value) or
  ``space``, ``max_trials``, ``max_runs``, ``seeds``, ``objective``, ``sampler_seed``,
  ``early_stop``, ``poll_s``; checked by :func:`~mlflow_sweep_plugin.search.spec.parse_search`.
- ``max_parallel`` (default 1): how many runs are in flight at once.
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
  win over the file's. Only a regular file of at most 4 MiB is read, and YAML aliases
  count as the values they expand to (at most ``$MLFLOW_SWEEP_MAX_NODES``, as for
  artifacts): a file over either limit is refused, and values in messages are shown
  bounded.

Pure data handling: no MLflow import, so it is cheap and easy to test. A bad value of
any key is a :class:`SweepConfigError` naming the key (the backend checks the config
before any run or parent is created).
"""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass, field

from ..search.space import space_size
from ..search.spec import SEARCH_KEYS, SearchSpec, SearchSpecError, parse_search
from .executors import EXECUTORS
from .executors.submitit_config import SubmititConfigError, submitit_parameters

BACKEND_KEYS = ("sweep_name", "resume", "executor", "submitit", "report", "config_file")
KNOWN_KEYS = (*SEARCH_KEYS, *BACKEND_KEYS)


class SweepConfigError(ValueError):
    """The backend config is unusable; the message says which key and why."""


@dataclass
class SweepConfig:
    spec: SearchSpec  # the search part (strategy, space or grid, budgets, seeds, objective, ...)
    sweep_name: str | None = None
    resume: bool = False
    extra: dict = field(default_factory=dict)  # MLflow's own keys (ENV_MANAGER, ...)
    executor: str = "local"
    submitit: dict = field(default_factory=dict)
    report: dict | None = field(default_factory=dict)  # report_parent's objective/mode; None: no report

    @property
    def grid(self) -> dict | None:
        """``{param: [values]}`` of a grid sweep (``None`` for a search strategy)."""
        if self.spec.strategy != "grid":
            return None
        return {name: list(p.choices) for name, p in self.spec.space.items()}

    def points(self) -> list[dict]:
        """Every grid point as ``{param: value-as-text}``, in sweep order."""
        return grid_points(self.grid or {})

    @property
    def max_parallel(self) -> int:
        return self.spec.max_parallel

    def backend_keys(self) -> dict:
        """The normalised config beyond the search keys, as a backend config spells it
        (stored with the spec on the parent, so that the sweep can be continued from it)."""
        out = {"executor": self.executor, "report": True if self.report == {} else
               (False if self.report is None else self.report)}
        if self.sweep_name:
            out["sweep_name"] = self.sweep_name
        if self.submitit:
            out["submitit"] = self.submitit
        out.update(self.extra)
        return out


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


#: the most grid points a sweep may have (each is a run; the plan is held in memory)
MAX_POINTS = 100_000
#: the largest ``config_file`` read (a grid of thousands of values is a few hundred KiB)
MAX_CONFIG_BYTES = 4 << 20


def _show(value, chars: int = 60) -> str:
    """A value for a message: bounded, however large a YAML alias bomb makes it."""
    from ..parsers.bounds import preview

    return preview(value, chars)


def _read_config(path: str) -> bytes:
    """The bytes of ``path``: a regular file (not a FIFO, device or ``/dev/zero``), at
    most :data:`MAX_CONFIG_BYTES`, checked on the open file."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise SweepConfigError(f"config_file {_show(path, 500)} cannot be read: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SweepConfigError(f"config_file {_show(path, 500)} is not a regular file")
        if st.st_size > MAX_CONFIG_BYTES:
            raise SweepConfigError(f"config_file {_show(path, 500)} is {st.st_size:,} bytes; a config file may "
                                   f"have at most {MAX_CONFIG_BYTES:,}")
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise SweepConfigError(f"config_file {_show(path, 500)} cannot be read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_CONFIG_BYTES:  # grew while read
        raise SweepConfigError(f"config_file {_show(path, 500)} has more than {MAX_CONFIG_BYTES:,} bytes")
    return data


def _load_file(path: str) -> dict:
    """A JSON or YAML config file, bounded: its size (:func:`_read_config`) and the
    values its YAML aliases expand to (the artifacts' node limit, :mod:`..parsers.bounds`)."""
    from ..errors import BadArtifact
    from ..parsers.bounds import count_nodes
    from ..parsers.loaders import load_yaml

    path = os.path.expanduser(path)
    data = _read_config(path)
    try:
        if path.lower().endswith(".json"):
            value = json.loads(data.decode("utf-8"))
        else:
            value = load_yaml(data)
        count_nodes(value)
    except (ValueError, BadArtifact) as exc:  # json/yaml errors, too many values: which file
        raise SweepConfigError(f"config_file {_show(path, 500)} is not usable JSON/YAML: {exc}") from None
    if not isinstance(value, dict):
        raise SweepConfigError(f"config_file {_show(path, 500)} must hold a mapping, got {type(value).__name__}")
    return value


def sweep_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a sweep, or None: MLflow's search filter, which finds
    a sweep's runs for ``resume``, cannot spell a value holding both ``'`` and ``"``."""
    if "'" in name and '"' in name:
        return (f"\"sweep_name\" {_show(name)} holds both quote characters (' and \"), which MLflow's run "
                "search cannot match: drop one of them")
    return None


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
        if not isinstance(ours["config_file"], str):
            raise SweepConfigError(f'"config_file" must be a path, got {_show(ours["config_file"])}')
        merged = _load_file(ours["config_file"])
        unknown = sorted(k for k in merged if k not in KNOWN_KEYS or k == "config_file")
        if unknown:
            raise SweepConfigError(f"config_file {_show(ours['config_file'], 500)}: unknown key(s) "
                                   f"{', '.join(map(str, unknown))[:300]}; known: "
                                   f"{', '.join(k for k in KNOWN_KEYS if k != 'config_file')}")
        merged.update({k: v for k, v in ours.items() if k != "config_file"})
        ours = merged
    unknown = sorted(k for k in extra if not (k.isupper() or k.startswith("_")
                                              or k in ("build_image", "docker_auth")))
    if unknown:
        raise SweepConfigError(f"unknown backend config key(s) {', '.join(unknown)[:300]}; known: "
                               f"{', '.join(KNOWN_KEYS)}")
    try:
        spec = parse_search({k: v for k, v in ours.items() if k in SEARCH_KEYS})
    except SearchSpecError as exc:
        raise SweepConfigError(str(exc)) from None
    if spec.strategy == "grid" and space_size(spec.space) > MAX_POINTS:
        raise SweepConfigError(f"grid: more than {MAX_POINTS:,} points (the product of "
                               f"{', '.join(str(len(p.choices)) for p in spec.space.values())[:200]} values); "
                               "split the sweep")
    name = ours.get("sweep_name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise SweepConfigError(f'"sweep_name" must be a non-empty string, got {_show(name)}')
    if name is not None and sweep_name_problem(name):
        raise SweepConfigError(sweep_name_problem(name))
    resume = ours.get("resume", False)
    if not isinstance(resume, bool):
        raise SweepConfigError(f'"resume" must be true or false, got {_show(resume)}')
    executor = ours.get("executor", "local")
    if executor not in EXECUTORS:
        raise SweepConfigError(f'"executor" must be one of {", ".join(EXECUTORS)}, got {_show(executor)}')
    submitit = ours.get("submitit") or {}
    if not isinstance(submitit, dict):
        raise SweepConfigError(f'"submitit" must be a mapping of submitit parameters, got {_show(submitit)}')
    if submitit and executor != "submitit":
        raise SweepConfigError('"submitit" settings are given but "executor" is not "submitit"')
    if executor == "submitit":
        try:
            submitit_parameters(submitit)
        except SubmititConfigError as exc:
            raise SweepConfigError(str(exc)) from None
    return SweepConfig(spec=spec, sweep_name=name, resume=resume,
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
                               f"got {_show(value)}")
    mode = value.get("mode", "min")
    if mode not in ("min", "max"):
        raise SweepConfigError(f'"report": "mode" must be "min" or "max", got {_show(mode)}')
    objective = value.get("objective")
    if objective is not None and (not isinstance(objective, str) or not objective):
        raise SweepConfigError(f'"report": "objective" must be a column name, got {_show(objective)}')
    return {"objective": objective, "mode": mode}
