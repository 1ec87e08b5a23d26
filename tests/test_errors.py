"""mlflow_sweep_plugin.errors: each SweepError's documented exit code, through the one
mapping (console.sweep_errors)."""

from __future__ import annotations

import pytest

from mlflow_sweep_plugin import errors
from mlflow_sweep_plugin.console import sweep_errors
from mlflow_sweep_plugin.errors import (BadArtifact, NoTrackingStore, SearchSpecError, SweepError,
                                        TrackingUnreachable, UnknownExperiment, UsageError)

# README / docs "Exit codes": 2 usage or bad input, 3 no store / unreachable
DOCUMENTED = {UsageError: 2, UnknownExperiment: 2, TrackingUnreachable: 3, NoTrackingStore: 3, SweepError: 2}


@pytest.mark.parametrize("cls, code", sorted(DOCUMENTED.items(), key=lambda kv: kv[0].__name__))
def test_each_sweep_error_exits_with_its_documented_code_and_one_line(cls, code, capsys):
    with pytest.raises(SystemExit) as exited:
        with sweep_errors():
            raise cls("the store at http://u:secret@host is gone")
    assert exited.value.code == code
    err = capsys.readouterr().err
    assert err == "mlflow-sweep: error: the store at http://***@host is gone\n"


def test_every_sweep_error_class_has_a_documented_code():
    classes = {obj for obj in vars(errors).values()
               if isinstance(obj, type) and issubclass(obj, SweepError)}
    assert classes == set(DOCUMENTED)
    assert all(cls.exit_code in (2, 3) for cls in classes)


@pytest.mark.parametrize("cls", [BadArtifact, SearchSpecError])
def test_errors_that_are_not_sweep_errors_are_unexpected_exit_4(cls, capsys):
    with pytest.raises(SystemExit) as exited:
        with sweep_errors():
            raise cls("boom")
    assert exited.value.code == 4
    assert f"unexpected {cls.__name__}" in capsys.readouterr().err


def test_search_spec_error_is_a_value_error():
    assert issubclass(SearchSpecError, ValueError)
    assert not issubclass(BadArtifact, SweepError)
