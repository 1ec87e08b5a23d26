"""What a sweep's parent run shows of the search: the spec (``mlflow_sweep/sweep.json``
and ``mlflow_sweep.strategy``), the best so far (metric ``mlflow_sweep.best.<metric>``,
one point per improvement, and tags ``mlflow_sweep.best.<param>``), the pruned count.
Launch-independent: the backend and the Hydra sweeper both call these with a client.
"""

from __future__ import annotations

import json
import time

from ..report.parent import mlflow_key
from ..tags import SPEC_ARTIFACT, TAG_N_PRUNED, TAG_STRATEGY, best_key
from .space import value_text


def log_spec(client, parent_id: str, spec, **context) -> None:
    """The normalised spec plus ``context`` (project URI, entry point, ``-P`` params, ...)
    as ``mlflow_sweep/sweep.json`` on the parent, and the strategy tag."""
    import os
    import tempfile

    client.set_tag(parent_id, TAG_STRATEGY, spec.strategy)
    directory, name = os.path.split(SPEC_ARTIFACT)
    with tempfile.TemporaryDirectory(prefix="mlflow-sweep-spec-") as tmp:
        path = os.path.join(tmp, name)
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({**spec.to_dict(), **context}, fh, indent=2, sort_keys=True, default=str)
        client.log_artifact(parent_id, path, directory)


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
