"""report.options: the report's options are checked before any work; build re-exports them."""

from __future__ import annotations

import pytest

from mlflow_sweep_plugin.errors import UsageError
from mlflow_sweep_plugin.report import build
from mlflow_sweep_plugin.report.options import ReportOptions, check_options


def test_the_defaults_pass_and_build_offers_the_same_class():
    check_options(ReportOptions())
    check_options(ReportOptions(mode="max", band="ci", alpha=0.1, curves=["loss"], scales={"lr": "log"}))
    assert build.ReportOptions is ReportOptions


@pytest.mark.parametrize("options, message", [
    (ReportOptions(mode="lowest"), "--mode must be min or max, not 'lowest'"),
    (ReportOptions(band="iqr"), "--band must be one of std, sem, ci, not 'iqr'"),
    (ReportOptions(alpha=1.0), "alpha must be between 0 and 1"),
    (ReportOptions(alpha=0), "alpha must be between 0 and 1"),
    (ReportOptions(curves=["loss"], no_curves=True), "--curves and --no-curves do not go together"),
    (ReportOptions(scales={"lr": "sqrt"}), "--scale lr=sqrt: use one of levels, linear, log"),
])
def test_a_bad_option_is_a_usage_error_naming_it(options, message):
    with pytest.raises(UsageError) as caught:
        check_options(options)
    assert str(caught.value) == message


def test_a_bad_option_writes_nothing(tmp_path):
    with pytest.raises(UsageError):
        build.build_report(None, str(tmp_path / "rep"), ReportOptions(mode="lowest"))
    assert not (tmp_path / "rep").exists()
