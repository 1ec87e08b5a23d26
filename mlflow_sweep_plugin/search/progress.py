"""What a sweep's parent run shows of the search: the spec (``mlflow_sweep/sweep.json``
and ``mlflow_sweep.strategy``), the best so far (metric ``mlflow_sweep.best.<metric>``,
one point per improvement, and tags ``mlflow_sweep.best.<param>``), the pruned count.
Launch-independent: the backend and the Hydra sweeper both call these with a client.
"""

from __future__ import annotations

import json
import time

from ..report.parent import mlflow_key
from ..tags import RACE_ARTIFACT, SPEC_ARTIFACT, TAG_DECIDED_BY, TAG_N_PRUNED, TAG_STRATEGY, best_key
from .space import value_text


def _log_json(client, parent_id: str, artifact: str, data: dict) -> None:
    import os
    import tempfile

    directory, name = os.path.split(artifact)
    with tempfile.TemporaryDirectory(prefix="mlflow-sweep-spec-") as tmp:
        path = os.path.join(tmp, name)
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, default=str)  # key order kept: a grid runs in the order given
        client.log_artifact(parent_id, path, directory)


def log_spec(client, parent_id: str, spec, **context) -> None:
    """The normalised spec plus ``context`` (project URI, entry point, ``-P`` params, ...)
    as ``mlflow_sweep/sweep.json`` on the parent, and the strategy tag."""
    client.set_tag(parent_id, TAG_STRATEGY, spec.strategy)
    _log_json(client, parent_id, SPEC_ARTIFACT, {**spec.to_dict(), **context})


def log_race_rounds(client, parent_id: str, engine) -> None:
    """A race's (or confirmation's) rounds as ``mlflow_sweep/race.json`` (call before the
    sweep's report, whose Race section reads it)."""
    race = engine.to_json() if hasattr(engine, "to_json") else None
    if race is not None:
        _log_json(client, parent_id, RACE_ARTIFACT, race)


def log_race(client, parent_id: str, engine) -> None:
    """A race's (or confirmation's) winner as the parent's ``mlflow_sweep.best.<param>``
    tags, ``mlflow_sweep.decided_by`` naming the stage (call after the sweep's report,
    whose best tags it replaces)."""
    from mlflow.entities import RunTag

    race = engine.to_json() if hasattr(engine, "to_json") else None
    if race is None:
        return
    best = engine.best_config()
    if race.get("winner") is not None or best is not None:
        config = race["winner"] if race.get("winner") is not None else best[1]
        tags = [RunTag(mlflow_key(best_key(k)), value_text(v)) for k, v in config.items()]
        client.log_batch(parent_id, tags=[*tags, RunTag(TAG_DECIDED_BY, race["stage"])])


def log_best(client, parent_id: str, engine, step: int) -> None:
    """The engine's best so far on the parent (call when :meth:`Engine.record` says it improved)."""
    from mlflow.entities import Metric, RunTag

    best = engine.best_config()
    if best is None or engine.spec.objective is None:
        return
    value, config, trial = best
    metric = Metric(mlflow_key(best_key(engine.spec.objective.metric)), float(value),
                    int(time.time() * 1000), int(step))
    tags = [RunTag(mlflow_key(best_key(k)), value_text(v)) for k, v in config.items()]
    client.log_batch(parent_id, metrics=[metric], tags=tags)


def log_pruned(client, parent_id: str, engine) -> None:
    client.set_tag(parent_id, TAG_N_PRUNED, str(engine.n_pruned))
