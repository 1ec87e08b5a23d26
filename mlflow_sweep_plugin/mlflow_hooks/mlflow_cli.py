"""Add ``sweep-export`` to the stock ``mlflow`` command, without replacing it.

MLflow has no entry point group for CLI commands. It does load
``mlflow.run_context_provider`` entry points eagerly on ``import mlflow`` (and the
``mlflow`` script imports ``mlflow`` before ``mlflow.cli``). Our provider module calls
:func:`install`, which puts a tiny finder on ``sys.meta_path`` that waits for
``mlflow.cli`` to be imported and then adds our click command to its group. Nothing
else is imported until ``mlflow.cli`` itself is, so ``import mlflow`` pays only for
this module. Every step is guarded: a failure here never breaks MLflow.

The same hook makes ``mlflow run ... --backend sweep`` safe on a new sqlite store: MLflow's
``run`` command resolves the experiment (opening, so creating, the store) before it loads
the backend, and two such commands started at once on a fresh file both ran MLflow's
migrations (alembic's "Online migration expected to match one row"). When the command
line is ``mlflow run`` with the ``sweep`` backend, :func:`prepare_sweep_store` creates the
store first, under the lock of :func:`~mlflow_sweep_plugin.stores.ensure_sqlite_store`,
before MLflow's CLI touches it.
"""

from __future__ import annotations

import importlib.abc
import sys

TARGET = "mlflow.cli"
COMMAND_NAME = "sweep-export"


def add_command(cli_module) -> None:
    """Attach ``sweep-export`` to ``mlflow.cli.cli`` (idempotent, never raises)."""
    try:
        group = getattr(cli_module, "cli", None)
        if group is None or COMMAND_NAME in getattr(group, "commands", {}):
            return
        # loaded only now, when mlflow.cli is: import mlflow pays nothing for our commands
        from ..commands.export import export_command

        group.add_command(export_command, name=COMMAND_NAME)
    except Exception:  # noqa: BLE001 - MLflow's CLI must work even if ours cannot load
        pass


def sweep_backend_requested(argv) -> bool:
    """Whether ``argv`` is ``mlflow run ... --backend sweep`` (``-b sweep``, ``--backend=sweep``)."""
    args = list(argv[1:])
    if not args or args[0] != "run":
        return False
    for i, arg in enumerate(args):
        if arg in ("--backend", "-b") and args[i + 1:i + 2] == ["sweep"]:
            return True
        if arg in ("--backend=sweep", "-bsweep"):
            return True
    return False


def prepare_sweep_store(argv=None) -> None:
    """For ``mlflow run --backend sweep``: create a new sqlite store under our lock before
    MLflow's CLI opens it (see the module docstring). Never raises."""
    try:
        if not sweep_backend_requested(sys.argv if argv is None else argv):
            return
        from mlflow.tracking import get_tracking_uri

        from ..stores import ensure_sqlite_store

        ensure_sqlite_store(get_tracking_uri())
    except Exception:  # noqa: BLE001 - MLflow's CLI must work even if this cannot
        pass


class _Loader(importlib.abc.Loader):
    def __init__(self, wrapped):
        self.wrapped = wrapped

    def create_module(self, spec):
        return self.wrapped.create_module(spec)

    def exec_module(self, module):
        self.wrapped.exec_module(module)
        add_command(module)
        prepare_sweep_store()

    def __getattr__(self, name):  # get_source, get_code, is_package ... for tools
        return getattr(self.wrapped, name)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds nothing itself; wraps the real loader of ``mlflow.cli`` once."""

    _busy = False

    def find_spec(self, fullname, path, target=None):
        if fullname != TARGET or self._busy:
            return None
        self._busy = True
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
            else:
                return None
        finally:
            self._busy = False
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _Loader(spec.loader)
        return spec


def install() -> None:
    """Arrange for ``sweep-export`` to appear in ``mlflow``'s CLI. Never raises."""
    try:
        if TARGET in sys.modules:
            add_command(sys.modules[TARGET])
            prepare_sweep_store()
            return
        if not any(isinstance(f, _Finder) for f in sys.meta_path):
            sys.meta_path.insert(0, _Finder())
    except Exception:  # noqa: BLE001
        pass
