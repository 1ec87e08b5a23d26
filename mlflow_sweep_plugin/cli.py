"""The ``mlflow-sweep`` command line: the group and its commands, one module each in
:mod:`mlflow_sweep_plugin.commands` (``export`` is also ``mlflow sweep-export``, see
``mlflow_hooks/mlflow_cli.py``). Heavy imports (mlflow, pandas) happen inside the
commands, so ``--help`` is fast and the module is cheap to load from MLflow's own CLI.
"""

from __future__ import annotations

import click

from .commands.demo import demo_command
from .commands.export import EXIT_CODES_HELP, export_command
from .commands.flatten import flatten_command
from .commands.import_hydra import import_hydra_command
from .commands.plugins import plugins_command
from .commands.report import report_command
from .commands.resume import resume_command
from .commands.status import status_command
from .commands.sync import sync_command
from .console import exit_interrupted

__all__ = ["EXIT_CODES_HELP", "export_command", "main"]


class _Commands(click.Group):
    """The group: Ctrl-C anywhere in a command is exit 130 with one line, no traceback
    (click's own handling would print "Aborted!" and exit 1)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            exit_interrupted()


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mlflow-sweep-plugin", prog_name="mlflow-sweep")
def main():
    """Export, log and automate hyperparameter sweeps tracked in MLflow."""


for _command in (export_command, plugins_command, demo_command, flatten_command, sync_command,
                 import_hydra_command, report_command, status_command, resume_command):
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    main()
