"""The package mlflow_sweep_plugin.commands: one module per command (its docstring says
so), each command in the ``mlflow-sweep`` group; ``options`` holds shared options."""

from __future__ import annotations

import importlib
import pkgutil

import click

import mlflow_sweep_plugin.commands as package
from mlflow_sweep_plugin.cli import main


def _own_commands(module):
    return [v for v in vars(module).values()
            if isinstance(v, click.Command) and getattr(v.callback, "__module__", None) == module.__name__]


def test_one_command_per_module_and_each_in_the_group():
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        commands = _own_commands(module)
        if info.name == "options":
            assert commands == []
            continue
        assert len(commands) == 1, info.name
        assert main.commands[commands[0].name] is commands[0]
        assert commands[0].name.replace("-", "_") == info.name
    assert "options" in package.__doc__
