"""The ``mlflow.run_context_provider`` entry point.

MLflow imports this module on every ``import mlflow``. It must stay cheap and must
never raise or print. It does two things:

- :class:`SweepRunContextProvider` adds sweep tags (sweep id, index, parent, and
  ``mlflow_sweep.role = job``) to runs that a job creates with ``mlflow.start_run``
  while the sweep environment variables are set (by ``mlflow run --backend sweep`` or
  the Hydra callback), and nothing otherwise (a job resuming its own child run gets no
  context tags from MLflow);
- it asks :mod:`.mlflow_cli` to add ``sweep-export`` to the ``mlflow`` command.
"""

from __future__ import annotations

import os

# the tag and environment names (a tiny module: nothing for import mlflow)
from ..tags import (ENV_PARENT_RUN_ID, ENV_SWEEP_ID, ENV_SWEEP_INDEX, ENV_SWEEP_NAME, ROLE_JOB, TAG_PARENT,
                    TAG_ROLE, TAG_SWEEP_ID, TAG_SWEEP_INDEX, TAG_SWEEP_NAME)

# No ``import mlflow`` here, not even for MLflow's ``RunContextProvider`` base class
# (MLflow only calls ``in_context()`` and ``tags()``): when this module is imported
# before mlflow (``mlflow-sweep`` commands, tests), importing mlflow from its first lines
# made MLflow load our entry point from the half-initialised module, warn, and run
# without the provider.


def sweep_tags(environ=None) -> dict:
    """The tags the sweep environment variables ask for (empty when none are set)."""
    env = os.environ if environ is None else environ
    tags = {}
    if env.get(ENV_SWEEP_ID):
        tags[TAG_SWEEP_ID] = env[ENV_SWEEP_ID]
    if env.get(ENV_SWEEP_INDEX):
        tags[TAG_SWEEP_INDEX] = env[ENV_SWEEP_INDEX]
    if env.get(ENV_SWEEP_NAME):
        tags[TAG_SWEEP_NAME] = env[ENV_SWEEP_NAME]
    if env.get(ENV_PARENT_RUN_ID):
        tags[TAG_PARENT] = env[ENV_PARENT_RUN_ID]
    return tags


class SweepRunContextProvider:
    """Tags runs created inside a sweep job; a no-op outside sweeps. Never raises."""

    def in_context(self):
        try:
            return bool(os.environ.get(ENV_SWEEP_ID))
        except Exception:  # noqa: BLE001
            return False

    def tags(self):
        try:
            tags = sweep_tags()
            if tags:
                tags[TAG_ROLE] = ROLE_JOB
            return tags
        except Exception:  # noqa: BLE001
            return {}


try:
    from . import mlflow_cli as _mlflow_cli

    _mlflow_cli.install()
except Exception:  # noqa: BLE001 - import mlflow never fails because of us
    pass
