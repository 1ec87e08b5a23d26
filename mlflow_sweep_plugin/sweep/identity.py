"""A sweep's identity: what its parent, its children and the jobs' own runs share."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from ..tags import (ENV_PARENT_RUN_ID, ENV_SWEEP_ID, ENV_SWEEP_INDEX, ENV_SWEEP_NAME, ROLE_CHILD,
                    ROLE_PARENT, TAG_KIND, TAG_PARENT, TAG_ROLE, TAG_RUN_NAME, TAG_STUDY, TAG_SWEEP_ID,
                    TAG_SWEEP_INDEX, TAG_SWEEP_NAME)


def new_sweep_id() -> str:
    return uuid.uuid4().hex


def point_key(values: dict) -> str:
    """A child's ``mlflow_sweep.point``: its swept values as JSON with sorted keys (the
    grid values of a backend child, the override params of a Hydra job), the same for
    the same point whatever the grid's order or size."""
    return json.dumps({str(k): str(v) for k, v in values.items()}, sort_keys=True)


def study_key(parent) -> str:
    """The Hydra study a parent belongs to: its ``mlflow_sweep.study`` (a resumed session's
    parent names the study's first parent), else its own run id."""
    return parent.data.tags.get(TAG_STUDY) or parent.info.run_id


def start_order(run) -> tuple:
    """Sort key of runs by start time (ties: run id): a study's sessions, oldest first."""
    return run.info.start_time or 0, run.info.run_id


@dataclass
class Sweep:
    """One sweep in one experiment: ``kind`` is ``mlflow-run`` (the backend) or ``hydra``;
    ``sweep_id`` and ``parent_run_id`` are known once its parent is open."""

    name: str
    kind: str
    experiment_id: str
    sweep_id: str | None = None
    parent_run_id: str | None = None

    def parent_tags(self) -> dict:
        return {TAG_SWEEP_ID: self.sweep_id, TAG_SWEEP_NAME: self.name, TAG_ROLE: ROLE_PARENT,
                TAG_KIND: self.kind, TAG_RUN_NAME: self.name}

    def child_tags(self, index, run_name: str) -> dict:
        tags = {TAG_SWEEP_ID: self.sweep_id, TAG_PARENT: self.parent_run_id, TAG_ROLE: ROLE_CHILD,
                TAG_KIND: self.kind, TAG_RUN_NAME: run_name}
        if index is not None:
            tags[TAG_SWEEP_INDEX] = str(index)
        if self.name:
            tags[TAG_SWEEP_NAME] = self.name
        return tags

    def env(self, index=None) -> dict:
        """The environment variables that make runs a job creates carry the sweep tags
        (read by :class:`~mlflow_sweep_plugin.mlflow_hooks.context.SweepRunContextProvider`)."""
        env = {ENV_SWEEP_ID: self.sweep_id, ENV_PARENT_RUN_ID: self.parent_run_id}
        if index is not None:
            env[ENV_SWEEP_INDEX] = str(index)
        if self.name:
            env[ENV_SWEEP_NAME] = self.name
        return env
