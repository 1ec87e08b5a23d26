"""Retries with backoff for remote artifact calls.

Why at our level: MLflow's own HTTP retries are lowered during an export
(:func:`~mlflow_sweep_plugin.failures.fail_fast_http`) so a dead server is noticed in
seconds; a failure that can pass (:func:`~mlflow_sweep_plugin.failures.is_transient`:
a reset, a timeout, 429, a 5xx) is retried here, per artifact call, a few times.
"""

from __future__ import annotations

import random
import time
from typing import Callable, TypeVar

from ..failures import is_transient

T = TypeVar("T")

ATTEMPTS = 3
BACKOFF = 0.5  # seconds before the 2nd attempt; doubles each time (with jitter)


def with_retries(fn: Callable[[], T], attempts: int = ATTEMPTS, backoff: float = BACKOFF,
                 sleep: Callable[[float], None] = time.sleep) -> T:
    """``fn()``, tried up to ``attempts`` times while it fails transiently."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - re-raised unless transient
            if attempt >= attempts or not is_transient(exc):
                raise
            delay = backoff * (2 ** (attempt - 1))
            sleep(delay * (0.75 + 0.5 * random.random()))
    raise AssertionError("unreachable")  # pragma: no cover
