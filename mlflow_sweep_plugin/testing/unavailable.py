"""A production store that cannot be started: the test skips with the reason (or fails,
with ``$MLFLOW_SWEEP_REQUIRE_STORES`` set, as CI sets it).

What the research teams run (``mlflow server --backend-store-uri postgresql://...
--default-artifact-root s3://...``) is made here of throwaway parts: a PostgreSQL cluster in a
temp dir (:mod:`.postgres`), an S3 endpoint from moto's server mode (:mod:`.s3`), and
MLflow talking to them through psycopg (``postgresql+psycopg://``) and boto3
(:mod:`.deployments`). Each part is started once per session, when a test first asks for it.
"""

from __future__ import annotations

import os

import pytest


#: set to 1 to fail, not skip, a test whose PostgreSQL or S3 cannot be started
REQUIRE_STORES_ENV = "MLFLOW_SWEEP_REQUIRE_STORES"


class StoreUnavailable(RuntimeError):
    """A PostgreSQL cluster or an S3 endpoint could not be started (the reason)."""


def _unavailable(reason: str):
    """Skip the test with ``reason`` (fail it when ``$MLFLOW_SWEEP_REQUIRE_STORES`` is set)."""
    __tracebackhide__ = True
    if os.environ.get(REQUIRE_STORES_ENV, "").strip() not in ("", "0"):
        pytest.fail(f"{reason} (and {REQUIRE_STORES_ENV} is set)", pytrace=False)
    pytest.skip(reason)


def started(part, name: str):
    """``part`` (a :class:`~.postgres.PostgresCluster`, a :class:`~.s3.MotoS3Server`) after
    ``part.start()``; the test skips (or fails, see :func:`_unavailable`) with ``name``
    and the reason when it cannot be started."""
    __tracebackhide__ = True
    try:
        part.start()
    except StoreUnavailable as exc:
        _unavailable(f"{name}: {exc}")
    return part
