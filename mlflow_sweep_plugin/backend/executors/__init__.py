"""Where the backend's runs execute: one class per executor behind one small interface.

An executor ``start``\\ s one child run of the project's entry point and returns a
:class:`RunningChild`; the runner polls it, cancels it, and reads the tails of its
output when it ends. A new executor is one module here and one name in
:data:`EXECUTORS` (the backend config's ``executor`` key).
"""

from __future__ import annotations

from typing import Protocol


class RunningChild(Protocol):
    """One child run executing somewhere."""

    def poll(self) -> "tuple[str, int | None, str | None] | None":
        """None while it runs; then ``(status, exit code, reason)``: FINISHED/FAILED/KILLED,
        the exit code when there is one, why the executor ended it (a cluster's reason)."""

    def cancel(self) -> None:
        """Stop it (its whole process group, or its scheduler job)."""

    def tails(self, killed: bool = False) -> tuple[list[str], list[str]]:
        """The last lines of its stdout and stderr."""

    def tags(self) -> dict:
        """Tags that say where it runs (a scheduler job id, its log folder); may be empty."""

    def describe(self) -> str | None:
        """One line for the console when it starts (None: nothing beyond the run id)."""


class Executor(Protocol):
    name: str

    def start(self, *, work_dir: str, entry_point: str, params: dict, local_config: dict,
              tracking_uri: str, experiment_id: str, env: dict) -> RunningChild:
        """Start the entry point with ``params`` in the child run named by
        ``local_config`` (MLflow's local backend settings), ``env`` added to its environment."""


def make_executor(name: str, settings: dict | None, sweep_name: str) -> Executor:
    """The executor the backend config names (``local`` or ``submitit``); submitit's
    settings are checked here, before any run is made (``SubmititConfigError``)."""
    if name == "submitit":
        from .submitit import SubmititExecutor  # submitit is an optional extra: loaded only when asked for

        return SubmititExecutor(settings, sweep_name)
    from .local import LocalExecutor

    return LocalExecutor()


EXECUTORS = ("local", "submitit")
