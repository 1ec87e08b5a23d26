"""What a sweep's loop writes about each run, whatever launches it (the backend's
:mod:`~mlflow_sweep_plugin.backend.runner` and the Hydra sweeper's
:mod:`~mlflow_sweep_plugin.hydra.sweeper`): the engine's tags on a child (its trial,
seed, race round and stage) and a run's end given to the engine with the parent's best
so far (:func:`~.progress.log_best`) when it improved.
"""

from __future__ import annotations

import contextlib

from ..tags import TAG_RACE_ROUND, TAG_SEED, TAG_STAGE, TAG_TRIAL
from .progress import log_best

# the keys of ``Proposal.tags`` (search/race.py) and the run tags they become
PROPOSAL_TAGS = (("round", TAG_RACE_ROUND), ("stage", TAG_STAGE))


def child_tags(proposal) -> dict:
    """The engine's tags on the child of ``proposal``: ``mlflow_sweep.trial``, with seeds
    ``mlflow_sweep.seed``, in a race or confirmation ``mlflow_sweep.race.round`` and
    ``mlflow_sweep.stage``."""
    tags = {TAG_TRIAL: str(proposal.trial)}
    if proposal.seed is not None:
        tags[TAG_SEED] = str(proposal.seed)
    for key, tag in PROPOSAL_TAGS:
        if key in proposal.tags:
            tags[tag] = str(proposal.tags[key])
    return tags


def record_end(client, parent_id: str, engine, index: int, status: str, points, *, run_id=None,
               pruned=None) -> bool:
    """Give the engine a run's end; when its best improved, log the best so far on the
    parent (never the sweep's failure: progress for the UI). Returns whether it improved."""
    improved = engine.record(index, status, points, run_id=run_id, pruned=pruned)
    if improved:
        with contextlib.suppress(Exception):
            log_best(client, parent_id, engine, engine.counts()["complete"])
    return improved
