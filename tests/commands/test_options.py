"""mlflow_sweep_plugin.commands.options: the options several commands share, the same
on each, and what they accept."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from mlflow_sweep_plugin.cli import main
from mlflow_sweep_plugin.commands.options import limit_options


@click.command()
@limit_options
def probe(max_artifact_bytes, max_columns):
    click.echo(f"{max_artifact_bytes!r} {max_columns!r}")


def test_the_options_reach_the_command_as_named():
    assert CliRunner().invoke(probe, []).output == "None None\n"
    assert CliRunner().invoke(probe, ["--max-artifact-bytes", "2GiB", "--max-columns", "7"]).output == "'2GiB' 7\n"


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_max_columns_must_be_a_positive_integer(value):
    assert CliRunner().invoke(probe, ["--max-columns", value]).exit_code == 2


def test_every_command_with_the_options_says_the_same():
    helps = {}
    for name, command in main.commands.items():
        options = {o.name: o.help for o in command.params if o.name in ("max_artifact_bytes", "max_columns")}
        if options:
            helps[name] = options
    assert {"export", "flatten"} <= set(helps)
    assert len({tuple(sorted(h.items())) for h in helps.values()}) == 1
