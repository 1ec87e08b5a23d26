"""mlflow_sweep_plugin.testing.unavailable: a store part that cannot start skips the test,
or fails it when $MLFLOW_SWEEP_REQUIRE_STORES says it must run."""

from __future__ import annotations

import pytest

from mlflow_sweep_plugin.testing.unavailable import REQUIRE_STORES_ENV, StoreUnavailable, started


class _Part:
    def __init__(self, error=None):
        self.error = error
        self.started = False

    def start(self):
        if self.error:
            raise StoreUnavailable(self.error)
        self.started = True


def test_a_part_that_starts_is_returned_started():
    part = _Part()
    assert started(part, "PostgreSQL") is part and part.started


@pytest.mark.parametrize("required, outcome", [("", pytest.skip.Exception), ("0", pytest.skip.Exception),
                                               ("1", pytest.fail.Exception)])
def test_a_part_that_cannot_start_skips_or_fails_with_the_reason(monkeypatch, required, outcome):
    monkeypatch.setenv(REQUIRE_STORES_ENV, required)
    with pytest.raises(outcome, match="PostgreSQL: initdb not found"):
        started(_Part("initdb not found"), "PostgreSQL")
