"""A sweep as its parent run stores it: the spec ``mlflow_sweep/sweep.json`` (written by
:func:`~mlflow_sweep_plugin.search.progress.log_spec`: the normalised config plus the
project URI, entry point and ``-P`` params), or, for a grid sweep that predates the spec,
the parent's tags (``mlflow_sweep.grid``, ``mlflow_sweep.fixed_params``, MLflow's source
name and entry point). ``status`` reads it to know the plan; ``resume`` to run it again.

Read-only: one artifact request per parent, and only when the parent says it has a spec
(``mlflow_sweep.strategy``); the file is bounded (:data:`MAX_SPEC_BYTES`) and parsed as
JSON, nothing else.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field

from mlflow.utils.mlflow_tags import MLFLOW_PROJECT_ENTRY_POINT, MLFLOW_SOURCE_NAME

from ..envvars import scoped_environ
from ..search.spec import SEARCH_KEYS, SearchSpecError, parse_search
from ..tags import ENV_ARTIFACTS_PROGRESS_BAR, SPEC_ARTIFACT, TAG_FIXED_PARAMS, TAG_GRID, TAG_STRATEGY, TAG_SWEEP_NAME
from ..warning_types import warn

MAX_SPEC_BYTES = 4 * 1024 * 1024
#: what ``log_spec``'s callers add beside the search keys (read under either spelling)
PROJECT_KEYS = ("project_uri", "uri", "project")
ENTRY_POINT_KEYS = ("entry_point",)
PARAMS_KEYS = ("params", "parameters", "fixed_params")
CONFIG_KEY = "backend_config"  # the whole normalised backend config, when nested
_CONTEXT_KEYS = (*PROJECT_KEYS, *ENTRY_POINT_KEYS, *PARAMS_KEYS, CONFIG_KEY, "tracking_uri",
                 "experiment_id", "version", "env_manager")


def _json_tag(tags: dict, key: str):
    try:
        return json.loads(tags[key]) if tags.get(key) else None
    except ValueError:  # truncated at 5000 characters, or not ours
        return None


def read_spec(client, parent) -> dict | None:
    """The parent's ``mlflow_sweep/sweep.json`` as a mapping; for a grid sweep without one,
    the same shape rebuilt from the parent's tags; ``None`` when neither is there (a
    warning says why when the file is there but unusable)."""
    tags = parent.data.tags
    run_id = parent.info.run_id
    if tags.get(TAG_STRATEGY):
        with tempfile.TemporaryDirectory(prefix="mlflow-sweep-status-") as tmp:
            try:
                with scoped_environ({ENV_ARTIFACTS_PROGRESS_BAR: "false"}):  # no bar on stderr
                    path = client.download_artifacts(run_id, SPEC_ARTIFACT, tmp)
            except Exception as exc:  # noqa: BLE001 - no spec: the tags may still do
                path = None
                warn(f"run {run_id}: its spec {SPEC_ARTIFACT} could not be read ({type(exc).__name__}); "
                     "the plan is unknown")
            if path is not None:
                return _load(run_id, path)
    grid = _json_tag(tags, TAG_GRID)
    if isinstance(grid, dict) and grid:
        out = {"grid": grid}  # the backend before the search engine: grids only
        params = _json_tag(tags, TAG_FIXED_PARAMS)
        if isinstance(params, dict):
            out["params"] = params
        return out
    return None


def _load(run_id: str, path: str) -> dict | None:
    real = os.path.realpath(path)
    if not os.path.isfile(real) or os.path.getsize(real) > MAX_SPEC_BYTES:
        warn(f"run {run_id}: {SPEC_ARTIFACT} is not a file of at most {MAX_SPEC_BYTES} bytes; ignored")
        return None
    try:
        with open(real, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        warn(f"run {run_id}: {SPEC_ARTIFACT} is not valid JSON ({exc}); ignored")
        return None
    if not isinstance(data, dict):
        warn(f"run {run_id}: {SPEC_ARTIFACT} does not hold a mapping; ignored")
        return None
    return data


def search_spec(spec: dict | None, run_id: str = "?"):
    """The stored spec as a :class:`~mlflow_sweep_plugin.search.spec.SearchSpec`, or
    ``None`` (no spec, or one this installation cannot use: a warning says why)."""
    if not spec:
        return None
    config = spec.get(CONFIG_KEY) if isinstance(spec.get(CONFIG_KEY), dict) else spec
    try:
        return parse_search({k: v for k, v in config.items() if k in SEARCH_KEYS})
    except SearchSpecError as exc:
        warn(f"run {run_id}: its stored spec cannot be used here: {exc}")
        return None


def _first(spec: dict, keys, default=None):
    for key in keys:
        if spec.get(key) not in (None, ""):
            return spec[key]
    return default


@dataclass
class ResumeRequest:
    """What ``mlflow.projects.run`` is called with to continue a sweep."""

    project_uri: str | None
    entry_point: str
    params: dict
    backend_config: dict
    env_manager: str = "local"
    version: str | None = None        # the project's git version ``mlflow run`` was given
    notes: list = field(default_factory=list)  # what the extensions changed, one line each


def resume_request(parent, spec: dict | None) -> ResumeRequest:
    """The stored sweep of ``parent`` with ``"resume": true`` and its name (so the backend
    reopens this parent). ``spec`` from :func:`read_spec`; the parent's tags fill in what
    it lacks."""
    tags = parent.data.tags
    spec = dict(spec or {})
    if isinstance(spec.get(CONFIG_KEY), dict):
        config = dict(spec[CONFIG_KEY])
    else:
        config = {k: v for k, v in spec.items() if k not in _CONTEXT_KEYS}
    params = _first(spec, PARAMS_KEYS)
    if not isinstance(params, dict):
        params = _json_tag(tags, TAG_FIXED_PARAMS) or {}
    env_manager = spec.get("env_manager") or config.get("ENV_MANAGER") or "local"
    config = {k: v for k, v in config.items() if not k.isupper()}  # MLflow sets its own keys
    config["resume"] = True
    if tags.get(TAG_SWEEP_NAME):
        config["sweep_name"] = tags[TAG_SWEEP_NAME]
    return ResumeRequest(project_uri=_first(spec, PROJECT_KEYS) or tags.get(MLFLOW_SOURCE_NAME),
                         entry_point=_first(spec, ENTRY_POINT_KEYS) or tags.get(MLFLOW_PROJECT_ENTRY_POINT) or "main",
                         params={str(k): str(v) for k, v in params.items()}, backend_config=config,
                         env_manager=str(env_manager), version=spec.get("version") or None)


def extend(request: ResumeRequest, *, max_trials=None, max_runs=None, seeds=None, max_parallel=None,
           executor=None, submitit=None) -> ResumeRequest:
    """The request with the user's extensions: a higher ``max_trials``/``max_runs``, more
    seed values (``seeds``: a count N, values 0..N-1, or a list; the stored values are
    kept, new ones appended), another executor and its submitit settings."""
    config = request.backend_config
    for key, value in (("max_trials", max_trials), ("max_runs", max_runs), ("max_parallel", max_parallel)):
        if value is not None:
            request.notes.append(f"{key}: {config.get(key, 'unset')} -> {value}")
            config[key] = value
    if seeds is not None:
        old = config.get("seeds")
        if isinstance(old, dict):
            param, values = old.get("param", "seed"), list(old.get("values") or ())
        elif isinstance(old, int) and not isinstance(old, bool):
            param, values = "seed", list(range(old))
        else:
            param, values = "seed", []
        new = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
        texts = {str(v) for v in values}
        added = [v for v in new if str(v) not in texts]
        config["seeds"] = {"param": param, "values": values + added}
        request.notes.append(f"seeds: {len(added)} value(s) added ({', '.join(map(str, added)) or 'none'})")
    if executor is not None:
        config["executor"] = executor
        if executor != "submitit":
            config.pop("submitit", None)
        request.notes.append(f"executor: {executor}")
    if submitit:
        config["submitit"] = {**(config.get("submitit") or {}), **submitit}
    return request
