"""The ``local`` executor: each child a process of this machine, started by MLflow's own
``LocalBackend`` (so ``--env-manager``, conda/virtualenv/docker projects behave as with
``mlflow run``), its output still on the console and its tail kept
(:mod:`~mlflow_sweep_plugin.backend.output`)."""

from __future__ import annotations

import contextlib
import threading

from mlflow.projects.backend.local import LocalBackend

from ...envvars import scoped_environ
from ..orphans import process_tag
from ..output import capturing_output

#: MLflow's local backend copies ``os.environ`` into the child and has no other way to
#: add variables: one child is started at a time, with its variables set meanwhile
_ENV_LOCK = threading.Lock()


@contextlib.contextmanager
def environ(updates: dict):
    """``updates`` in ``os.environ`` while a child is started (under the lock)."""
    with _ENV_LOCK, scoped_environ(updates):
        yield


class LocalChild:
    """A child process started by MLflow's ``LocalBackend``."""

    def __init__(self, submitted, output):
        self.submitted = submitted
        self.output = output  # (OutputTail, OutputTail) or (None, None)

    def poll(self):
        code = self.submitted.command_proc.poll()
        if code is None:
            return None
        return ("FINISHED" if code == 0 else "FAILED"), code, None

    def cancel(self) -> None:
        self.submitted.cancel()

    def tails(self, killed: bool = False):
        out, err = self.output
        timeout = 1 if killed else 10
        return (out.finish(timeout=timeout) if out else [], err.finish(timeout=timeout) if err else [])

    def tags(self) -> dict:
        """Its process (host, pid, start time): a resumed sweep stops it if this
        controller dies first (:mod:`~mlflow_sweep_plugin.backend.orphans`)."""
        return process_tag(self.submitted.command_proc.pid)

    def describe(self) -> None:
        return None


class LocalExecutor:
    name = "local"

    def start(self, *, work_dir, entry_point, params, local_config, tracking_uri, experiment_id,
              env) -> LocalChild:
        with environ(env), capturing_output() as output:
            submitted = LocalBackend().run(work_dir, entry_point, params, None, local_config,
                                           tracking_uri, experiment_id)
        return LocalChild(submitted, output)
