"""mlflow_sweep_plugin.console: the one place that prints warnings and errors."""

from __future__ import annotations

import sys
import warnings

import click
import pytest

from mlflow_sweep_plugin.console import (INTERRUPTED, UNEXPECTED, eprint, printing_warnings, say,
                                         sweep_errors)
from mlflow_sweep_plugin.warning_types import SweepWarning


def test_eprint_writes_one_masked_line_on_stderr(capsys):
    eprint("at http://u:pw@host")
    eprint("two\n")
    assert capsys.readouterr() == ("", "at http://***@host\ntwo\n")


def test_say_prefixes_the_program_name(capsys):
    say("3 runs")
    assert capsys.readouterr().err == "mlflow-sweep: 3 runs\n"


def test_printing_warnings_prints_and_collects_sweep_warnings_only():
    lines, collected = [], []
    with printing_warnings(echo=lines.append, collected=collected):
        warnings.warn(SweepWarning("mlflow-sweep: run r1: bad file at http://a:b@h/x"))
        warnings.warn(SweepWarning("run r2: second"))
        with pytest.warns(UserWarning):  # other warnings keep Python's handling
            warnings.warn("not ours", UserWarning)
    assert lines == ["mlflow-sweep: warning: run r1: bad file at http://***@h/x",
                     "mlflow-sweep: warning: run r2: second"]
    assert [str(w) for w in collected][1] == "run r2: second"


def test_printing_warnings_restores_the_warning_hook():
    before = warnings.showwarning
    with printing_warnings(echo=lambda _line: None):
        assert warnings.showwarning is not before
    assert warnings.showwarning is before


def test_sweep_errors_turns_ctrl_c_into_130(capsys):
    with pytest.raises(SystemExit) as exited:
        with sweep_errors():
            raise KeyboardInterrupt
    assert exited.value.code == INTERRUPTED == 130
    assert capsys.readouterr().err == "mlflow-sweep: interrupted\n"


def test_sweep_errors_unexpected_is_4_with_a_masked_traceback(capsys):
    with pytest.raises(SystemExit) as exited:
        with sweep_errors():
            raise RuntimeError("store http://me:hunter2@db failed")
    assert exited.value.code == UNEXPECTED == 4
    err = capsys.readouterr().err
    assert "hunter2" not in err
    assert "Traceback" in err and "unexpected RuntimeError" in err


@pytest.mark.parametrize("exc", [click.UsageError("bad"), click.exceptions.Exit(0), click.Abort()])
def test_sweep_errors_leaves_clicks_own_exits_to_click(exc):
    with pytest.raises(type(exc)):
        with sweep_errors():
            raise exc


def test_sweep_errors_passes_a_clean_block_through(capsys):
    with sweep_errors():
        sys.stdout.write("ok")
    assert capsys.readouterr() == ("ok", "")
