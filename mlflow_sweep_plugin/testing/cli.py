"""The ``sweep_cli`` fixture: the ``mlflow-sweep`` command run in-process, its outcome a
:class:`CliResult`.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import pytest


@dataclass
class CliResult:
    """What ``sweep_cli`` saw: the exit code, both streams, and an exception the command
    raised (other than ``SystemExit``)."""

    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None = None

    def assert_success(self) -> "CliResult":
        """Assert the command exited 0 (the failure shows its output); returns ``self``,
        so ``sweep_cli("plugins", "--json").assert_success().stdout`` reads on."""
        __tracebackhide__ = True
        if self.exit_code != 0:
            shown = [f"mlflow-sweep exited with {self.exit_code}, not 0",
                     f"--- stdout ---\n{self.stdout.rstrip()}",
                     f"--- stderr ---\n{self.stderr.rstrip()}"]
            if self.exception is not None:
                shown.append(f"--- exception ---\n{self.exception!r}")
            raise AssertionError("\n".join(shown))
        return self


@pytest.fixture
def sweep_cli(sweep_store):
    """``sweep_cli(*args, env=None) -> CliResult``: run ``mlflow-sweep`` in-process."""
    from click.testing import CliRunner  # only when a test uses it (pytest runs without click)

    from ..cli import main  # loads click and the command group: only when a test uses it
    from ..plugins import reset_plugin_manager  # loads pluggy and the plugins: only when a test uses it

    kwargs = {}
    if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters:
        kwargs["mix_stderr"] = False  # click < 8.2

    def run(*args, env=None) -> CliResult:
        reset_plugin_manager()
        runner = CliRunner(**kwargs)
        result = runner.invoke(main, [str(a) for a in args], env=env, catch_exceptions=True)
        reset_plugin_manager()
        exc = result.exception if not isinstance(result.exception, SystemExit) else None
        return CliResult(result.exit_code, result.stdout, result.stderr, exc)

    return run
