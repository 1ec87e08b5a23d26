"""mlflow_sweep_plugin.limits: sizes parsed, limits from options/env/defaults, checks,
and the limits of the read in progress."""

from __future__ import annotations

import threading

import pytest

from mlflow_sweep_plugin.errors import BadArtifact, UsageError
from mlflow_sweep_plugin.limits import (MAX_ARTIFACT_BYTES, MAX_ARTIFACT_BYTES_ENV, MAX_COLUMNS,
                                        MAX_COLUMNS_ENV, ArtifactTooLarge, Limits, TooManyColumns,
                                        applied, current, parse_size, show_size)


@pytest.mark.parametrize("text, size", [
    (1073741824, 1 << 30), ("1GiB", 1 << 30), ("500MB", 500 * 10**6), ("2g", 2 * 10**9),
    (" 1.5 KiB ", 1536), ("7", 7), ("3tb", 3 * 10**12),
])
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "GiB", "1 parsec", "-3", "0", "1e9", 0])
def test_parse_size_refuses_what_is_not_a_size(text):
    with pytest.raises(ValueError):
        parse_size(text)


def test_show_size():
    assert show_size(1 << 30) == "1,073,741,824 bytes (1.0 GiB)"
    assert show_size(1536) == "1,536 bytes (1.5 KiB)"
    assert show_size(12) == "12 bytes"


@pytest.fixture
def clean_env(monkeypatch):
    monkeypatch.delenv(MAX_ARTIFACT_BYTES_ENV, raising=False)
    monkeypatch.delenv(MAX_COLUMNS_ENV, raising=False)
    return monkeypatch


def test_given_values_win_over_the_environment_which_wins_over_defaults(clean_env):
    assert Limits.from_env() == Limits(MAX_ARTIFACT_BYTES, MAX_COLUMNS)
    clean_env.setenv(MAX_ARTIFACT_BYTES_ENV, "2MB")
    clean_env.setenv(MAX_COLUMNS_ENV, "50")
    assert Limits.from_env() == Limits(2 * 10**6, 50)
    assert Limits.from_env(max_artifact_bytes="1KiB", max_columns=3) == Limits(1024, 3)


def test_an_unreadable_environment_value_falls_back_to_the_default(clean_env):
    clean_env.setenv(MAX_ARTIFACT_BYTES_ENV, "lots")
    clean_env.setenv(MAX_COLUMNS_ENV, "many")
    assert Limits.from_env() == Limits()


def test_requested_bad_values_are_usage_errors(clean_env):
    with pytest.raises(UsageError, match="--max-artifact-bytes"):
        Limits.requested(max_artifact_bytes="huge")
    with pytest.raises(UsageError, match="--max-columns"):
        Limits.requested(max_columns=0)
    assert Limits.requested(max_artifact_bytes="10MB").max_artifact_bytes == 10**7


def test_checks_raise_bad_artifact_naming_the_numbers():
    limits = Limits(max_artifact_bytes=1000, max_columns=2)
    limits.check_size(1000)
    limits.check_size(None)
    with pytest.raises(ArtifactTooLarge, match="1,001 bytes.*1,000 bytes") as too_large:
        limits.check_size(1001, what="x.npz")
    assert isinstance(too_large.value, BadArtifact) and str(too_large.value).startswith("x.npz is")
    assert (too_large.value.size, too_large.value.limit) == (1001, 1000)
    limits.check_columns(2)
    with pytest.raises(TooManyColumns, match="3 columns"):
        limits.check_columns(3)


def test_applied_sets_the_current_limits_for_the_block_only(clean_env):
    outer, inner = Limits(10, 10), Limits(20, 20)
    assert current() == Limits()
    with applied(outer):
        assert current() == outer
        with applied(inner):
            assert current() == inner
        with applied(None):
            assert current() == outer
    assert current() == Limits()


def test_current_limits_are_per_thread(clean_env):
    seen = []
    with applied(Limits(10, 10)):
        thread = threading.Thread(target=lambda: seen.append(current()))
        thread.start()
        thread.join()
    assert seen == [Limits()]
