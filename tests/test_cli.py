"""mlflow_sweep_plugin.cli: the group lists every command; Ctrl-C is 130."""

from __future__ import annotations

import importlib
import pkgutil

import click
import pytest
from click.testing import CliRunner

import mlflow_sweep_plugin.commands as commands_package
from mlflow_sweep_plugin.cli import main


def _command_modules_commands():
    found = {}
    for info in pkgutil.iter_modules(commands_package.__path__):
        module = importlib.import_module(f"{commands_package.__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, click.Command):
                if getattr(value.callback, "__module__", None) == module.__name__:
                    found[value.name] = value
    return found


def test_the_group_lists_every_command_of_the_commands_package():
    commands = _command_modules_commands()
    assert set(commands) == {"export", "plugins", "demo", "flatten", "sync", "import-hydra", "report",
                             "status", "resume"}
    assert {name: cmd for name, cmd in main.commands.items()} == commands


def test_help_lists_the_commands():
    result = CliRunner().invoke(main, ["-h"])
    assert result.exit_code == 0
    for name in main.commands:
        assert name in result.output


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("mlflow-sweep, version ")


def test_ctrl_c_in_a_command_is_exit_130_with_one_line(monkeypatch):
    @click.command("interrupt-me")
    def interrupt_me():
        raise KeyboardInterrupt

    monkeypatch.setitem(main.commands, "interrupt-me", interrupt_me)
    result = CliRunner().invoke(main, ["interrupt-me"])
    assert result.exit_code == 130
    assert "mlflow-sweep: interrupted" in result.output
    assert "Aborted" not in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("args", [["no-such-command"], ["export", "--no-such-option"]])
def test_usage_errors_are_exit_2(args):
    assert CliRunner().invoke(main, args).exit_code == 2
