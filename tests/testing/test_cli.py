"""mlflow_sweep_plugin.testing.cli: ``sweep_cli`` runs the command in-process; a failed
``assert_success`` shows both streams and the exception."""

from __future__ import annotations

import pytest

from mlflow_sweep_plugin.testing.cli import CliResult


def test_assert_success_returns_the_result_or_shows_what_went_wrong():
    ok = CliResult(0, "out", "")
    assert ok.assert_success() is ok
    failed = CliResult(2, "partial table", "mlflow-sweep: error: bad", ValueError("boom"))
    with pytest.raises(AssertionError) as raised:
        failed.assert_success()
    text = str(raised.value)
    assert "exited with 2, not 0" in text and "partial table" in text and "error: bad" in text
    assert "ValueError('boom')" in text


def test_sweep_cli_separates_the_streams_and_exit_code(sweep_cli):
    result = sweep_cli("plugins", "--json").assert_success()
    assert result.stdout.lstrip().startswith("[") and result.exception is None
    bad = sweep_cli("export")
    assert bad.exit_code == 2 and bad.stdout == "" and "--experiment-name" in bad.stderr
