"""Scoped changes to environment variables.

MLflow reads its HTTP retry and timeout settings from the environment on every request;
the export and ``sweep_run`` both need fail-fast values for the length of a call and the
user's own environment back afterwards. One helper does the save-and-restore for both.
"""

from __future__ import annotations

import contextlib
import os


@contextlib.contextmanager
def scoped_environ(values: dict, keep_existing: bool = False):
    """Set ``values`` in ``os.environ`` for the ``with`` block, then restore exactly.

    A value of ``None`` removes the variable for the block. ``keep_existing=True``
    leaves variables the user already set alone (theirs win).
    """
    saved: dict = {}
    for key, value in values.items():
        if keep_existing and key in os.environ:
            continue
        saved[key] = os.environ.get(key)
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = str(value)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
